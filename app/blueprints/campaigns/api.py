"""``/api/campaigns``, ``/api/campaign-files``, ``/api/templates``, ``/api/suppressions``:
campaigns, their audience and figures, the files their steps send, message templates and the
do-not-contact list, over the same services as the pages.

Managers and up build, launch and stop campaigns (403 otherwise); any member reads them. A change
to the steps, window or accounts of a sending campaign needs ``"confirm": true`` (409
``confirmation_needed`` without it).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import wraps
from typing import Any

from flask import Blueprint, g, jsonify, request, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import ObjectDeletedError

from app.api.auth import per_member_limit, protect
from app.api.docs import (
    ID,
    MULTIPART,
    NULL_ID,
    always,
    documented,
    integer,
    obj,
    query,
    string,
    text,
    whole_numbers_to,
)
from app.blueprints.campaigns import message_templates, service, stats, suppression
from app.blueprints.campaigns.audience import live_steps
from app.blueprints.campaigns.models import (
    Campaign,
    CampaignFile,
    CampaignStatus,
    CampaignStep,
    Enrollment,
    EnrollmentStatus,
    MessageTemplate,
    Suppression,
    SuppressionKind,
)
from app.blueprints.campaigns.service import MAX_STEPS, MAX_TEXT, MAX_VARIANTS, MAX_WAIT_MINUTES
from app.blueprints.messaging.public import MAX_CAPTION, attachment_from
from app.blueprints.team.public import Permission, require
from app.canonical import ID_MAX
from app.errors import Conflict, DomainError
from app.extensions import db

bp = protect(Blueprint("campaigns_api", __name__, url_prefix="/api"))
per_user = per_member_limit("campaigns_api")


def array(items: dict, **extra: Any) -> dict:
    return {"type": "array", "items": items, **extra}


NULLABLE_INT = {"type": ["integer", "null"]}
NULLABLE_TEXT = {"type": ["string", "null"]}
TIME = string(
    pattern=r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$", description="HH:MM, 24:00 for the day's end"
)
WINDOW = obj(
    ["days", "start", "end"],
    days=array(
        integer(minimum=1, maximum=7),
        minItems=1,
        maxItems=7,
        uniqueItems=True,
        description="ISO weekdays, 1 = Monday",
    ),
    start=TIME,
    end=TIME,
)
VARIANT_IN = obj(["text"], text=text(MAX_TEXT, minLength=1), weight=integer(minimum=0, maximum=100))
STEP_IN = obj(
    ["variants"],
    wait_minutes=integer(minimum=0, maximum=MAX_WAIT_MINUTES),
    variants=array(VARIANT_IN, minItems=1, maxItems=MAX_VARIANTS),
    file_id={
        **NULL_ID,
        "description": "a file kept with POST /api/campaign-files, sent with the text as its caption "
        f"(then at most {MAX_CAPTION:,} characters); null: none; absent: the file of the step now at "
        "this place stays",
    },
)
CAMPAIGN_FIELDS = {
    "name": text(120, minLength=1),
    "account_ids": array(ID, maxItems=500, uniqueItems=True),
    "steps": array(STEP_IN, maxItems=MAX_STEPS),
    "window": WINDOW,
    "stop_scope": string(enum=["campaign", "all"], description="a reply stops this campaign, or all"),
    "stop_stage_ids": array(ID, maxItems=100, uniqueItems=True),
    "stop_on_won": {"type": "boolean"},
    "stop_on_lost": {"type": "boolean"},
    "auto_winner": {"type": "boolean"},
    "min_sample": integer(minimum=10, maximum=100_000),
}
NEW_CAMPAIGN = obj(["name"], **CAMPAIGN_FIELDS)
CAMPAIGN_CHANGES = obj(
    **CAMPAIGN_FIELDS, confirm={"type": "boolean", "description": "apply to a sending campaign"}
)
FILTER = {
    "type": "object",
    "description": "the contact list's filters (as its query string names them)",
    "properties": {
        "q": text(200, description="search names, usernames, phones, e-mails"),
        "owner": string(pattern=f"^(none|{whole_numbers_to(ID_MAX)})$", description="a user id, or none"),
        "tag": text(64, description="a tag's name"),
        "company": text(200, description="a company's id or name"),
        "created_from": string(format="date"),
        "created_to": string(format="date"),
    },
    "patternProperties": {r"^custom\.[A-Za-z0-9_]{1,64}$": text(200, description="a custom field's value")},
    "additionalProperties": False,
}
ADD = {
    **obj(
        contact_ids=array(ID, minItems=1, maxItems=service.MAX_AUDIENCE),
        filter=FILTER,
        stage_id={**ID, "description": "the contacts of the open deals in this stage"},
        save_filter={"type": "boolean", "description": "with filter: new matches join later by themselves"},
    ),
    "oneOf": [{"required": ["stage_id"]}, {"required": ["contact_ids"]}, {"required": ["filter"]}],
    "description": "one of contact_ids, filter and stage_id",
}
LAUNCH = obj(starts_at=string(format="date-time", description="at most a year ahead; absent or past: now"))

VARIANT = always(id=ID, letter=string(), text=string(), weight=integer())
CAMPAIGN_FILE = always(id=ID, file_name=string(), mime_type=string(), size=integer(minimum=1))
STEP = always(
    id=ID,
    position=integer(),
    wait_minutes=integer(),
    winner_variant_id=NULLABLE_INT,
    variants=array(VARIANT),
    file={"anyOf": [CAMPAIGN_FILE, {"type": "null"}], "description": "the file sent with the text"},
)
CAMPAIGN = always(
    id=ID,
    name=string(),
    status=string(enum=[s.value for s in CampaignStatus]),
    owner_id=NULLABLE_INT,
    account_ids=array(ID),
    steps=array(STEP),
    window=WINDOW,
    stop_scope=string(),
    stop_stage_ids=array(ID),
    stop_on_won={"type": "boolean"},
    stop_on_lost={"type": "boolean"},
    auto_winner={"type": "boolean"},
    min_sample=integer(),
    created_at=string(format="date-time"),
    launched_at=NULLABLE_TEXT,
    finished_at=NULLABLE_TEXT,
)
ENROLLMENT = always(
    id=ID,
    contact_id=ID,
    status=string(enum=[s.value for s in EnrollmentStatus]),
    reason=NULLABLE_TEXT,
    detail=NULLABLE_TEXT,
    step_index=integer(),
    due_at=NULLABLE_TEXT,
    account_id=NULLABLE_INT,
    enrolled_at=string(),
    replied_at=NULLABLE_TEXT,
)
COUNTS = {"type": "object", "additionalProperties": integer()}
ADDED = always(added=integer(minimum=0), already=integer(minimum=0), skipped=COUNTS)
REVIEW = always(status=string(), will_write=integer(minimum=0), skipped=COUNTS)
SKIPPED_CONTACT = always(contact_id=ID, reason=string(), detail=NULLABLE_TEXT)
FULL_REVIEW = always(
    status=string(),
    will_write=integer(minimum=0),
    skipped=COUNTS,
    contacts=array(SKIPPED_CONTACT, description="this page of the skipped, in the order they joined"),
    total_skipped=integer(minimum=0),
    page=integer(),
    per_page=integer(),
)
VARIANT_FIGURES = always(
    variant_id=ID,
    letter=string(),
    weight=integer(),
    queued=integer(),
    sent=integer(),
    read=integer(),
    replied=integer(),
    failed=integer(),
    cancelled=integer(),
    reply_rate={"type": ["number", "null"]},
    interval=array({"type": "number"}, minItems=2, maxItems=2),
)
STEP_FIGURES = always(
    step_id=ID,
    position=integer(),
    winner_variant_id=NULLABLE_INT,
    decision={"type": ["object", "null"]},
    variants=array(VARIANT_FIGURES),
)
STATS = always(enrolled=integer(), statuses=COUNTS, reasons={"type": "object"}, steps=array(STEP_FIGURES))
TEMPLATE = always(id=ID, name=string(), text=string(), created_by_id=NULLABLE_INT, created_at=string())
TEMPLATE_FIELDS = {"name": text(120, minLength=1), "text": text(MAX_TEXT, minLength=1)}
SUPPRESSION = always(
    id=ID,
    kind=string(),
    value=string(),
    contact_id=NULLABLE_INT,
    reason=string(),
    note=NULLABLE_TEXT,
    created_at=string(),
)
NEW_SUPPRESSION = obj(
    kind=string(enum=[k.value for k in SuppressionKind if k != SuppressionKind.CONTACT]),
    value=text(64, minLength=1),
    contact_id=ID,
    note=text(200),
)

NOT_FOUND = "No such campaign in your organization"
MANAGERS = "Managers and above only"
CHANGED_MEANWHILE = "Someone changed or deleted it meanwhile: reload and try again"
LOCATION = {"Location": {"description": "where it can be read", "schema": string()}}
PAGE = query("page", "1-based page (default 1)", integer(minimum=1, maximum=100_000))
PER_PAGE = query("per_page", "items per page (default 50)", integer(minimum=1, maximum=200))
STATUS = query("status", "only enrollments in this status", string(enum=[s.value for s in EnrollmentStatus]))
FROM_BODY = "$response.body#/id"
CAMPAIGN_OPS = (
    "read_campaign",
    "update_campaign",
    "delete_campaign",
    "launch",
    "pause",
    "resume",
    "campaign_stats",
    "list_enrollments",
    "add_enrollments",
    "launch_review",
    "duplicate",
)


def links(parameter: str, value: str, *operations: str, **more: str) -> dict:
    """OpenAPI links to the operations that take ``parameter`` (with ``more`` parameters)."""
    return {
        op: {"operationId": f"campaigns_api.{op}", "parameters": {parameter: value, **more}}
        for op in operations
    }


CAMPAIGN_LINKS = links("campaign_id", FROM_BODY, *CAMPAIGN_OPS)
STEP_LINKS = links("campaign_id", FROM_BODY, "choose_winner", step_id="$response.body#/steps/0/id")


def meanwhile(view: Callable) -> Callable:
    """A unique key or a reference another request broke meanwhile (two adds of the same account,
    a campaign deleted under an add, a row gone under its answer): a 409, not a 500."""

    @wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        try:
            return view(*args, **kwargs)
        except (IntegrityError, ObjectDeletedError):
            db.session.rollback()
            raise Conflict(_("Someone changed this meanwhile. Reload and try again.")) from None

    return guarded


def _when(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def campaign_json(campaign: Campaign) -> dict[str, Any]:
    return {
        "id": campaign.id,
        "name": campaign.name,
        "status": campaign.status,
        "owner_id": campaign.owner_id,
        "account_ids": campaign.account_ids,
        "window": campaign.window,
        "stop_scope": campaign.stop_scope,
        "stop_stage_ids": list(campaign.stop_stage_ids or []),
        "stop_on_won": campaign.stop_on_won,
        "stop_on_lost": campaign.stop_on_lost,
        "auto_winner": campaign.auto_winner,
        "min_sample": campaign.min_sample,
        "created_at": campaign.created_at.isoformat(),
        "launched_at": _when(campaign.launched_at),
        "finished_at": _when(campaign.finished_at),
        "steps": [step_json(s) for s in live_steps(campaign)],
    }


def step_json(step: CampaignStep) -> dict[str, Any]:
    return {
        "id": step.id,
        "position": step.position,
        "wait_minutes": step.wait_minutes,
        "winner_variant_id": step.winner_variant_id,
        "variants": [
            {"id": v.id, "letter": v.letter, "text": v.text, "weight": v.weight} for v in step.variants
        ],
        "file": file_json(step.file) if step.file_id is not None and step.file is not None else None,
    }


def file_json(found: CampaignFile) -> dict[str, Any]:
    return {"id": found.id, "file_name": found.file_name, "mime_type": found.mime_type, "size": found.size}


def enrollment_json(e: Enrollment) -> dict[str, Any]:
    return {
        "id": e.id,
        "contact_id": e.contact_id,
        "status": e.status,
        "reason": e.reason,
        "detail": e.detail,
        "step_index": e.step_index,
        "due_at": _when(e.due_at),
        "account_id": e.account_id,
        "enrolled_at": e.enrolled_at.isoformat(),
        "replied_at": _when(e.replied_at),
    }


def created(body: dict[str, Any], location: str):
    response = jsonify(body)
    response.status_code = 201
    response.headers["Location"] = location
    return response


def _campaign(campaign_id: int) -> Campaign:
    return service.get_campaign(g.membership.org_id, campaign_id)


def _starts_at(raw: str | None) -> datetime | None:
    """``starts_at`` as an aware moment (RFC 3339; no offset: UTC), at most a year ahead; absent
    is now (an empty text is no moment: refused)."""
    if raw is None:
        return None
    try:
        moment = datetime.fromisoformat(raw.upper())
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        moment = moment.astimezone(UTC)
    except (ValueError, OverflowError):
        moment = None
    if moment is None or moment > datetime.now(UTC) + timedelta(days=366):
        message = _("Give a moment within the next year, such as 2030-01-31T09:00:00Z.")
        raise DomainError(message, {"starts_at": message})
    return moment


# -- campaigns ---------------------------------------------------------------------------------


@bp.get("/campaigns")
@per_user
@documented(
    "Every campaign of the organization, newest first",
    tag="campaigns",
    params=[PAGE, PER_PAGE],
    responses={
        200: {
            "description": "Campaigns",
            "schema": always(
                items=array(CAMPAIGN), total=integer(minimum=0), page=integer(), per_page=integer()
            ),
        }
    },
)
def list_campaigns():
    page, per_page = g.args.get("page", 1), g.args.get("per_page", 50)
    stmt = select(Campaign).where(Campaign.org_id == g.membership.org_id)
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = db.session.scalars(
        stmt.order_by(Campaign.created_at.desc(), Campaign.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    return jsonify(
        {"items": [campaign_json(c) for c in rows], "total": total, "page": page, "per_page": per_page}
    )


@bp.post("/campaigns")
@per_user
@documented(
    "Create a campaign (a draft); without a window it gets the organization's default",
    tag="campaigns",
    body=NEW_CAMPAIGN,
    responses={
        201: {
            "description": "The campaign",
            "schema": CAMPAIGN,
            "headers": LOCATION,
            "links": {**CAMPAIGN_LINKS, **STEP_LINKS},
        },
        403: MANAGERS,
        409: CHANGED_MEANWHILE,
        422: "A blank name, accounts, stages or files of another organization, an unknown variable, "
        "no variant with a weight above 0, a text too long (a caption, with a file), a window that "
        "ends before it starts",
    },
)
@meanwhile
def create_campaign():
    campaign = service.create_campaign(g.membership, request.get_json())
    answer = created(campaign_json(campaign), url_for(".read_campaign", campaign_id=campaign.id))
    db.session.commit()
    return answer


@bp.get("/campaigns/<int:campaign_id>")
@per_user
@documented(
    "A campaign with its steps",
    tag="campaigns",
    responses={200: {"description": "The campaign", "schema": CAMPAIGN, "links": STEP_LINKS}, 404: NOT_FOUND},
)
def read_campaign(campaign_id: int):
    return jsonify(campaign_json(_campaign(campaign_id)))


@bp.put("/campaigns/<int:campaign_id>")
@per_user
@documented(
    "Change a campaign (steps keep their ids by position; a removed step that was sent is kept, "
    "out of the sequence)",
    tag="campaigns",
    body=CAMPAIGN_CHANGES,
    responses={
        200: {"description": "The campaign", "schema": CAMPAIGN},
        404: NOT_FOUND,
        403: MANAGERS,
        409: "Its steps, window or accounts change while it is sending and confirm is missing (code "
        "confirmation_needed), it has ended, or someone changed it meanwhile",
        422: "A blank name, accounts, stages or files of another organization, an unknown variable, "
        "no variant with a weight above 0, a text too long (a caption, with a file), a window that "
        "ends before it starts",
    },
)
@meanwhile
def update_campaign(campaign_id: int):
    body = dict(request.get_json())
    confirm = bool(body.pop("confirm", False))
    campaign = service.update_campaign(g.membership, _campaign(campaign_id), body, confirmed=confirm)
    answer = jsonify(campaign_json(campaign))
    db.session.commit()
    return answer


@bp.delete("/campaigns/<int:campaign_id>")
@per_user
@documented(
    "Delete a draft. A campaign that has run is not deleted (its history stays): archive it",
    tag="campaigns",
    responses={
        204: "Deleted",
        404: NOT_FOUND,
        403: MANAGERS,
        409: "It is not a draft (archive it: POST /api/campaigns/{campaign_id}/archive), or someone "
             "changed it meanwhile",
    },
)
@meanwhile
def delete_campaign(campaign_id: int):
    service.delete_draft(g.membership, _campaign(campaign_id))
    db.session.commit()
    return "", 204


@bp.post("/campaigns/<int:campaign_id>/archive")
@per_user
@documented(
    "Archive a campaign that has run: its live sequences stop, steps still queued are withdrawn; "
    "its record and figures stay readable",
    tag="campaigns",
    responses={
        200: {"description": "The campaign", "schema": CAMPAIGN},
        404: NOT_FOUND,
        403: MANAGERS,
        409: "It is a draft (delete it instead), or someone changed it meanwhile",
    },
)
@meanwhile
def archive_campaign(campaign_id: int):
    campaign = service.archive_campaign(g.membership, _campaign(campaign_id))
    answer = jsonify(campaign_json(campaign))
    db.session.commit()
    return answer


@bp.post("/campaigns/<int:campaign_id>/duplicate")
@per_user
@documented(
    "A new draft with the campaign's steps, accounts, window and rules (not its audience)",
    tag="campaigns",
    responses={
        201: {
            "description": "The copy",
            "schema": CAMPAIGN,
            "headers": LOCATION,
            "links": {**CAMPAIGN_LINKS, **STEP_LINKS},
        },
        404: NOT_FOUND,
        403: MANAGERS,
        409: CHANGED_MEANWHILE,
    },
)
@meanwhile
def duplicate(campaign_id: int):
    copy = service.duplicate_campaign(g.membership, _campaign(campaign_id))
    answer = created(campaign_json(copy), url_for(".read_campaign", campaign_id=copy.id))
    db.session.commit()
    return answer


@bp.get("/campaigns/<int:campaign_id>/review")
@per_user
@documented(
    "The launch review: how many of the audience waiting for the launch will be written to, and "
    "who is skipped, by reason (a page of them)",
    tag="campaigns",
    params=[PAGE, PER_PAGE],
    responses={200: {"description": "The review", "schema": FULL_REVIEW}, 404: NOT_FOUND},
)
def launch_review(campaign_id: int):
    campaign = _campaign(campaign_id)
    page, per_page = g.args.get("page", 1), g.args.get("per_page", 50)
    review = service.launch_review(campaign)
    skipped = review.skipped
    shown = skipped[(page - 1) * per_page : page * per_page]
    return jsonify(
        {
            "status": campaign.status,
            "will_write": len(review.writable),
            "skipped": review.counts(),
            "contacts": [{"contact_id": v.contact_id, "reason": v.reason, "detail": v.detail} for v in shown],
            "total_skipped": len(skipped),
            "page": page,
            "per_page": per_page,
        }
    )


@bp.post("/campaigns/<int:campaign_id>/launch")
@per_user
@documented(
    "Launch a draft now (or at starts_at): its audience is checked, the skipped are named; with "
    "nobody to write to it finishes at once",
    tag="campaigns",
    body=LAUNCH,
    responses={
        200: {"description": "Who will be written to", "schema": REVIEW},
        404: NOT_FOUND,
        403: MANAGERS,
        409: "It is not a draft, or someone changed it meanwhile",
        422: "No steps, no accounts, or a starts_at more than a year ahead",
    },
)
@meanwhile
def launch(campaign_id: int):
    starts_at = _starts_at(request.get_json().get("starts_at"))
    campaign = _campaign(campaign_id)
    review = service.launch(g.membership, campaign, starts_at=starts_at)
    answer = jsonify(
        {"status": campaign.status, "will_write": len(review.writable), "skipped": review.counts()}
    )
    db.session.commit()
    return answer


@bp.post("/campaigns/<int:campaign_id>/pause")
@per_user
@documented(
    "Pause a running (or scheduled) campaign: nothing new goes until it resumes",
    tag="campaigns",
    responses={
        200: {"description": "The campaign", "schema": CAMPAIGN},
        404: NOT_FOUND,
        403: MANAGERS,
        409: "It is not running, or someone changed it meanwhile",
    },
)
@meanwhile
def pause(campaign_id: int):
    campaign = service.pause(g.membership, _campaign(campaign_id))
    answer = jsonify(campaign_json(campaign))
    db.session.commit()
    return answer


@bp.post("/campaigns/<int:campaign_id>/resume")
@per_user
@documented(
    "Resume a paused campaign",
    tag="campaigns",
    responses={
        200: {"description": "The campaign", "schema": CAMPAIGN},
        404: NOT_FOUND,
        403: MANAGERS,
        409: "It is not paused, or someone changed it meanwhile",
    },
)
@meanwhile
def resume(campaign_id: int):
    campaign = service.resume(g.membership, _campaign(campaign_id))
    answer = jsonify(campaign_json(campaign))
    db.session.commit()
    return answer


@bp.post("/campaigns/<int:campaign_id>/steps/<int:step_id>/winner")
@per_user
@documented(
    "Choose a step's winning variant (null: back to the split): everyone who has not had the step gets it",
    tag="campaigns",
    body=obj(["variant_id"], variant_id={**NULL_ID, "description": "one of the step's variants, or null"}),
    responses={
        200: {"description": "The step", "schema": STEP},
        404: "No such campaign in your organization, or no such step in it",
        403: MANAGERS,
        409: CHANGED_MEANWHILE,
        422: "Not a variant of this step with a weight above 0",
    },
)
@meanwhile
def choose_winner(campaign_id: int, step_id: int):
    step = service.choose_winner(
        g.membership, _campaign(campaign_id), step_id, request.get_json()["variant_id"]
    )
    answer = jsonify(step_json(step))
    db.session.commit()
    return answer


@bp.get("/campaigns/<int:campaign_id>/stats")
@per_user
@documented(
    "A campaign's figures: enrollments by status and reason; per step and variant sent, read, "
    "replied, the reply rate with its 95% Wilson interval and the A/B decision",
    tag="campaigns",
    responses={200: {"description": "Figures", "schema": STATS}, 404: NOT_FOUND},
)
def campaign_stats(campaign_id: int):
    found = stats.figures(_campaign(campaign_id))
    return jsonify(
        {
            "enrolled": found.enrolled,
            "statuses": found.statuses,
            "reasons": found.reasons,
            "steps": [
                {
                    "step_id": s.step_id,
                    "position": s.position,
                    "winner_variant_id": s.winner_variant_id,
                    "decision": None
                    if s.decision is None
                    else {
                        "state": s.decision.state,
                        "winner_id": s.decision.winner_id,
                        "p_value": s.decision.p_value,
                        "sends_needed": s.decision.sends_needed,
                    },
                    "variants": [
                        {
                            "variant_id": v.variant_id,
                            "letter": v.letter,
                            "weight": v.weight,
                            "queued": v.queued,
                            "sent": v.sent,
                            "read": v.read,
                            "replied": v.replied,
                            "failed": v.failed,
                            "cancelled": v.cancelled,
                            "reply_rate": v.rate,
                            "interval": list(v.interval),
                        }
                        for v in s.variants
                    ],
                }
                for s in found.steps
            ],
        }
    )


# -- files -------------------------------------------------------------------------------------


@bp.post("/campaign-files")
@per_user
@documented(
    "Keep a file for a campaign step (multipart/form-data, field file, up to 10 MB): give its id as "
    "a step's file_id. A file no step names is deleted a day later",
    tag="campaigns",
    body_type=MULTIPART,
    body=obj(["file"], file=string(format="binary", description="up to 10 MB")),
    responses={
        201: {"description": "The file", "schema": CAMPAIGN_FILE},
        403: MANAGERS,
        422: "No file, an empty one, or one over 10 MB",
    },
)
def create_file():
    attachment = attachment_from(request.files)
    if attachment is None:
        message = _("Choose a file.")
        raise DomainError(message, {"file": message})
    kept = service.store_file(g.membership, attachment)
    answer = jsonify(file_json(kept))
    answer.status_code = 201
    db.session.commit()
    return answer


# -- enrollments -------------------------------------------------------------------------------


@bp.get("/campaigns/<int:campaign_id>/enrollments")
@per_user
@documented(
    "The campaign's audience, page by page, in the order they joined",
    tag="campaigns",
    params=[STATUS, PAGE, PER_PAGE],
    responses={
        200: {
            "description": "Enrollments",
            "schema": always(
                items=array(ENROLLMENT), total=integer(minimum=0), page=integer(), per_page=integer()
            ),
            "links": links(
                "campaign_id",
                "$request.path.campaign_id",
                "stop_enrollment",
                enrollment_id="$response.body#/items/0/id",
            ),
        },
        404: NOT_FOUND,
    },
)
def list_enrollments(campaign_id: int):
    campaign = _campaign(campaign_id)
    page, per_page = g.args.get("page", 1), g.args.get("per_page", 50)
    stmt = select(Enrollment).where(Enrollment.campaign_id == campaign.id)
    if g.args.get("status"):
        stmt = stmt.where(Enrollment.status == g.args["status"])
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = db.session.scalars(stmt.order_by(Enrollment.id).limit(per_page).offset((page - 1) * per_page))
    return jsonify(
        {"items": [enrollment_json(e) for e in rows], "total": total, "page": page, "per_page": per_page}
    )


def _one_source(body: dict[str, Any]) -> None:
    given = [k for k in ("contact_ids", "filter", "stage_id") if body.get(k) is not None]
    if len(given) != 1:
        message = _("Give one of contact_ids, filter or stage_id.")
        raise DomainError(message, dict.fromkeys(given or ["contact_ids"], message))
    company = str((body.get("filter") or {}).get("company") or "")
    if company.isdigit() and not (company.isascii() and 0 < int(company) <= ID_MAX):
        message = _("No such company.")
        raise DomainError(message, {"filter.company": message})
    if body.get("stage_id") is not None:
        from app.blueprints.pipeline.public import Stage

        if (
            db.session.scalar(
                select(Stage.id).where(Stage.org_id == g.membership.org_id, Stage.id == body["stage_id"])
            )
            is None
        ):
            message = _("No such stage in your organization.")
            raise DomainError(message, {"stage_id": message})


@bp.post("/campaigns/<int:campaign_id>/enrollments")
@per_user
@documented(
    "Add contacts (by ids, by the contact list's filters, or a deal stage's contacts; one of the "
    "three); nobody joins twice. A sending campaign checks and starts them at once",
    tag="campaigns",
    body=ADD,
    responses={
        200: {"description": "How many joined", "schema": ADDED},
        404: NOT_FOUND,
        403: MANAGERS,
        409: "The campaign has ended, or someone changed or deleted it meanwhile",
        422: "None or several of contact_ids, filter and stage_id; a stage or company that is none "
        "of the organization's",
    },
)
@meanwhile
def add_enrollments(campaign_id: int):
    body = request.get_json()
    campaign = _campaign(campaign_id)
    require(g.membership, Permission.CAMPAIGNS_MANAGE)
    _one_source(body)
    result = service.add_contacts(
        g.membership,
        campaign,
        contact_ids=body.get("contact_ids"),
        filters=body.get("filter"),
        stage_id=body.get("stage_id"),
        save_filter=bool(body.get("save_filter")),
    )
    answer = jsonify(result)
    db.session.commit()
    return answer


@bp.delete("/campaigns/<int:campaign_id>/enrollments/<int:enrollment_id>")
@per_user
@documented(
    "Stop a contact's sequence (a step already with Telegram still goes; one still queued is withdrawn)",
    tag="campaigns",
    responses={
        200: {"description": "The enrollment", "schema": ENROLLMENT},
        404: "No such enrollment in this campaign",
        403: "Managers and above, or the contact's owner",
        409: "Their sequence has already ended, or someone changed it meanwhile",
    },
)
@meanwhile
def stop_enrollment(campaign_id: int, enrollment_id: int):
    enrollment = service.get_enrollment(g.membership.org_id, campaign_id, enrollment_id)
    service.stop_enrollment(g.membership, enrollment)
    answer = jsonify(enrollment_json(enrollment))
    db.session.commit()
    return answer


# -- templates ---------------------------------------------------------------------------------

TEMPLATE_NOT_FOUND = "No such template in your organization"
TEMPLATE_LINKS = links("template_id", FROM_BODY, "read_template", "update_template", "delete_template")


def template_json(t: MessageTemplate) -> dict[str, Any]:
    return {
        "id": t.id,
        "name": t.name,
        "text": t.text,
        "created_by_id": t.created_by_id,
        "created_at": t.created_at.isoformat(),
    }


@bp.get("/templates")
@per_user
@documented(
    "The organization's message templates, by name",
    tag="campaigns",
    responses={200: {"description": "Templates", "schema": always(items=array(TEMPLATE))}},
)
def list_templates():
    return jsonify({"items": [template_json(t) for t in message_templates.templates(g.membership.org_id)]})


@bp.post("/templates")
@per_user
@documented(
    "Keep a message template for the team (any member)",
    tag="campaigns",
    body=obj(["name", "text"], **TEMPLATE_FIELDS),
    responses={
        201: {
            "description": "The template",
            "schema": TEMPLATE,
            "headers": LOCATION,
            "links": TEMPLATE_LINKS,
        },
        422: "A blank or taken name, an empty text, an unknown variable",
    },
)
def create_template():
    body = request.get_json()
    template = message_templates.create_template(g.membership, body["name"], body["text"])
    answer = created(template_json(template), url_for(".read_template", template_id=template.id))
    db.session.commit()
    return answer


@bp.get("/templates/<int:template_id>")
@per_user
@documented(
    "A message template",
    tag="campaigns",
    responses={200: {"description": "The template", "schema": TEMPLATE}, 404: TEMPLATE_NOT_FOUND},
)
def read_template(template_id: int):
    return jsonify(template_json(message_templates.get_template(g.membership.org_id, template_id)))


@bp.put("/templates/<int:template_id>")
@per_user
@documented(
    "Rename a template or change its text (its author, or managers and above)",
    tag="campaigns",
    body=obj(**TEMPLATE_FIELDS),
    responses={
        200: {"description": "The template", "schema": TEMPLATE},
        403: "Its author, or managers and above",
        404: TEMPLATE_NOT_FOUND,
        409: CHANGED_MEANWHILE,
        422: "A blank or taken name, an empty text, an unknown variable",
    },
)
@meanwhile
def update_template(template_id: int):
    template = message_templates.update_template(g.membership, template_id, request.get_json())
    answer = jsonify(template_json(template))
    db.session.commit()
    return answer


@bp.delete("/templates/<int:template_id>")
@per_user
@documented(
    "Delete a template (steps that used its text keep it)",
    tag="campaigns",
    responses={
        204: "Deleted",
        403: "Its author, or managers and above",
        404: TEMPLATE_NOT_FOUND,
        409: CHANGED_MEANWHILE,
    },
)
@meanwhile
def delete_template(template_id: int):
    message_templates.delete_template(g.membership, template_id)
    db.session.commit()
    return "", 204


# -- the do-not-contact list -------------------------------------------------------------------


def suppression_json(s: Suppression) -> dict[str, Any]:
    return {
        "id": s.id,
        "kind": s.kind,
        "value": s.value,
        "contact_id": s.contact_id,
        "reason": s.reason,
        "note": s.note,
        "created_at": s.created_at.isoformat(),
    }


@bp.get("/suppressions")
@per_user
@documented(
    "The do-not-contact list, newest first",
    tag="campaigns",
    params=[PAGE, PER_PAGE],
    responses={
        200: {
            "description": "Entries",
            "schema": always(
                items=array(SUPPRESSION), total=integer(minimum=0), page=integer(), per_page=integer()
            ),
        }
    },
)
def list_suppressions():
    page, per_page = g.args.get("page", 1), g.args.get("per_page", 50)
    rows, total = suppression.entries(g.membership.org_id, limit=per_page, offset=(page - 1) * per_page)
    return jsonify(
        {"items": [suppression_json(s) for s in rows], "total": total, "page": page, "per_page": per_page}
    )


@bp.post("/suppressions")
@per_user
@documented(
    "Put a contact (every identity they have) or one identity (kind and value) on the list; an "
    "identity listed already stays as it was",
    tag="campaigns",
    body=NEW_SUPPRESSION,
    responses={
        201: {
            "description": "The entries",
            "schema": always(items=array(SUPPRESSION)),
            "headers": LOCATION,
            "links": links("suppression_id", "$response.body#/items/0/id", "remove_suppression"),
        },
        403: MANAGERS,
        404: "No such contact in your organization",
        409: CHANGED_MEANWHILE,
        422: "Neither a contact nor a kind with a value, both, or a value that is not one",
    },
)
@meanwhile
def add_suppression():
    body = request.get_json()
    require(g.membership, Permission.CAMPAIGNS_MANAGE)
    note = body.get("note")
    if body.get("contact_id") is not None and body.get("kind") is None and body.get("value") is None:
        entries = suppression.add_contact(g.membership, body["contact_id"], note=note)
    elif body.get("contact_id") is None and body.get("kind") and body.get("value"):
        entries = [
            suppression.add_identity(g.membership, body["kind"], body["value"], reason="api", note=note)
        ]
    else:
        message = _("Give a contact, or a kind and a value.")
        raise DomainError(
            message,
            {k: message for k in ("contact_id", "kind", "value") if k in body} or {"contact_id": message},
        )
    answer = created({"items": [suppression_json(s) for s in entries]}, url_for(".list_suppressions"))
    db.session.commit()
    return answer


@bp.delete("/suppressions/<int:suppression_id>")
@per_user
@documented(
    "Take an entry off the list",
    tag="campaigns",
    responses={
        200: {"description": "Removed", "schema": always(removed={"type": "boolean"})},
        403: MANAGERS,
        404: "No such entry",
        409: CHANGED_MEANWHILE,
    },
)
@meanwhile
def remove_suppression(suppression_id: int):
    suppression.remove(g.membership, suppression_id)
    answer = jsonify({"removed": True})
    db.session.commit()
    return answer
