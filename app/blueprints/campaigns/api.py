"""``/api/campaigns``, ``/api/templates``, ``/api/suppressions``: campaigns, their audience and
figures, message templates and the do-not-contact list, over the same services as the pages.

Managers and up build, launch and stop campaigns (403 otherwise); any member reads them. A change
to the steps, window or accounts of a sending campaign needs ``"confirm": true`` (409
``confirmation_needed`` without it).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, g, jsonify, request, url_for

from app.api.auth import per_member_limit, protect
from app.api.docs import ID, always, documented, integer, obj, query, string, text
from app.blueprints.campaigns import message_templates, service, stats, suppression
from app.blueprints.campaigns.models import (
    Campaign,
    CampaignStatus,
    Enrollment,
    EnrollmentStatus,
    MessageTemplate,
    Suppression,
    SuppressionKind,
)
from app.blueprints.campaigns.service import MAX_STEPS, MAX_TEXT, MAX_VARIANTS, MAX_WAIT_MINUTES
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
    "additionalProperties": text(200),
    "description": "the contact list's filters: q, owner, tag, company, created_from, created_to, "
    "custom.<key>",
}
ADD = obj(
    contact_ids=array(ID, minItems=1, maxItems=service.MAX_AUDIENCE),
    filter=FILTER,
    stage_id=ID,
    save_filter={"type": "boolean"},
)
LAUNCH = obj(starts_at=string(format="date-time"))

VARIANT = always(id=ID, letter=string(), text=string(), weight=integer())
STEP = always(
    id=ID, position=integer(), wait_minutes=integer(), winner_variant_id=NULLABLE_INT, variants=array(VARIANT)
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
TEMPLATE = always(id=ID, name=string(), text=string(), created_at=string())
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
PAGE = query("page", "1-based page (default 1)", integer(minimum=1, maximum=100_000))
PER_PAGE = query("per_page", "items per page (default 50)", integer(minimum=1, maximum=200))
STATUS = query("status", "only enrollments in this status", string(enum=[s.value for s in EnrollmentStatus]))


def _when(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def campaign_json(campaign: Campaign) -> dict[str, Any]:
    from app.blueprints.campaigns.audience import live_steps

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
        "steps": [
            {
                "id": s.id,
                "position": s.position,
                "wait_minutes": s.wait_minutes,
                "winner_variant_id": s.winner_variant_id,
                "variants": [
                    {"id": v.id, "letter": v.letter, "text": v.text, "weight": v.weight} for v in s.variants
                ],
            }
            for s in live_steps(campaign)
        ],
    }


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


# -- campaigns ---------------------------------------------------------------------------------


@bp.get("/campaigns")
@per_user
@documented(
    "Every campaign of the organization, newest first",
    tag="campaigns",
    responses={200: {"description": "Campaigns", "schema": always(items=array(CAMPAIGN))}},
)
def list_campaigns():
    from sqlalchemy import select

    rows = db.session.scalars(
        select(Campaign)
        .where(Campaign.org_id == g.membership.org_id)
        .order_by(Campaign.created_at.desc(), Campaign.id.desc())
        .limit(500)
    )
    return jsonify({"items": [campaign_json(c) for c in rows]})


@bp.post("/campaigns")
@per_user
@documented(
    "Create a campaign (a draft)",
    tag="campaigns",
    body=NEW_CAMPAIGN,
    responses={
        201: {"description": "The campaign", "schema": CAMPAIGN},
        403: MANAGERS,
        422: "A blank name, accounts or stages of another organization, an unknown variable",
    },
)
def create_campaign():
    campaign = service.create_campaign(g.membership, request.get_json())
    db.session.commit()
    return created(campaign_json(campaign), url_for(".read_campaign", campaign_id=campaign.id))


@bp.get("/campaigns/<int:campaign_id>")
@per_user
@documented(
    "A campaign with its steps",
    tag="campaigns",
    responses={200: {"description": "The campaign", "schema": CAMPAIGN}, 404: NOT_FOUND},
)
def read_campaign(campaign_id: int):
    return jsonify(campaign_json(_campaign(campaign_id)))


@bp.put("/campaigns/<int:campaign_id>")
@per_user
@documented(
    "Change a campaign (steps keep their ids by position)",
    tag="campaigns",
    body=CAMPAIGN_CHANGES,
    responses={
        200: {"description": "The campaign", "schema": CAMPAIGN},
        404: NOT_FOUND,
        403: MANAGERS,
        409: "It is sending and confirm is missing, or it has ended",
        422: "A blank name, accounts or stages of another organization, an unknown variable",
    },
)
def update_campaign(campaign_id: int):
    body = dict(request.get_json())
    confirm = bool(body.pop("confirm", False))
    campaign = service.update_campaign(g.membership, _campaign(campaign_id), body, confirmed=confirm)
    db.session.commit()
    return jsonify(campaign_json(campaign))


@bp.delete("/campaigns/<int:campaign_id>")
@per_user
@documented(
    "Delete a draft, or archive any other campaign (stopping whoever it still writes to)",
    tag="campaigns",
    responses={
        200: {"description": "What happened", "schema": always(result=string(enum=["deleted", "archived"]))},
        404: NOT_FOUND,
        403: MANAGERS,
    },
)
def delete_campaign(campaign_id: int):
    result = service.delete_campaign(g.membership, _campaign(campaign_id))
    db.session.commit()
    return jsonify({"result": result})


@bp.post("/campaigns/<int:campaign_id>/launch")
@per_user
@documented(
    "Launch a draft now (or at starts_at): its audience is checked, the skipped are named",
    tag="campaigns",
    body=LAUNCH,
    responses={
        200: {"description": "Who will be written to", "schema": REVIEW},
        404: NOT_FOUND,
        403: MANAGERS,
        409: "It is not a draft",
        422: "No steps or no accounts",
    },
)
def launch(campaign_id: int):
    raw = (request.get_json(silent=True) or {}).get("starts_at")
    starts_at = datetime.fromisoformat(raw) if raw else None
    if starts_at is not None and starts_at.tzinfo is None:
        from datetime import UTC

        starts_at = starts_at.replace(tzinfo=UTC)
    campaign = _campaign(campaign_id)
    review = service.launch(g.membership, campaign, starts_at=starts_at)
    db.session.commit()
    return jsonify(
        {"status": campaign.status, "will_write": len(review.writable), "skipped": review.counts()}
    )


@bp.post("/campaigns/<int:campaign_id>/pause")
@per_user
@documented(
    "Pause a running campaign",
    tag="campaigns",
    responses={
        200: {"description": "The campaign", "schema": CAMPAIGN},
        404: NOT_FOUND,
        403: MANAGERS,
        409: "It is not running",
    },
)
def pause(campaign_id: int):
    campaign = service.pause(g.membership, _campaign(campaign_id))
    db.session.commit()
    return jsonify(campaign_json(campaign))


@bp.post("/campaigns/<int:campaign_id>/resume")
@per_user
@documented(
    "Resume a paused campaign",
    tag="campaigns",
    responses={
        200: {"description": "The campaign", "schema": CAMPAIGN},
        404: NOT_FOUND,
        403: MANAGERS,
        409: "It is not paused",
    },
)
def resume(campaign_id: int):
    campaign = service.resume(g.membership, _campaign(campaign_id))
    db.session.commit()
    return jsonify(campaign_json(campaign))


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


# -- enrollments -------------------------------------------------------------------------------


@bp.get("/campaigns/<int:campaign_id>/enrollments")
@per_user
@documented(
    "The campaign's audience, page by page",
    tag="campaigns",
    params=[STATUS, PAGE, PER_PAGE],
    responses={
        200: {
            "description": "Enrollments",
            "schema": always(
                items=array(ENROLLMENT), total=integer(minimum=0), page=integer(), per_page=integer()
            ),
        },
        404: NOT_FOUND,
    },
)
def list_enrollments(campaign_id: int):
    from sqlalchemy import func, select

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


@bp.post("/campaigns/<int:campaign_id>/enrollments")
@per_user
@documented(
    "Add contacts (by ids, by the contact list's filters, or a deal stage's contacts); a "
    "sending campaign checks and starts them at once",
    tag="campaigns",
    body=ADD,
    responses={
        200: {"description": "How many joined", "schema": ADDED},
        404: NOT_FOUND,
        403: MANAGERS,
        409: "The campaign has ended",
    },
)
def add_enrollments(campaign_id: int):
    body = request.get_json()
    campaign = _campaign(campaign_id)
    result = service.add_contacts(
        g.membership,
        campaign,
        contact_ids=body.get("contact_ids"),
        filters=body.get("filter"),
        stage_id=body.get("stage_id"),
        save_filter=bool(body.get("save_filter")),
    )
    db.session.commit()
    return jsonify(result)


@bp.delete("/campaigns/<int:campaign_id>/enrollments/<int:enrollment_id>")
@per_user
@documented(
    "Stop a contact's sequence (a step already with Telegram still goes)",
    tag="campaigns",
    responses={
        200: {"description": "The enrollment", "schema": ENROLLMENT},
        404: "No such enrollment in this campaign",
        403: MANAGERS,
        409: "Their sequence has already ended",
    },
)
def stop_enrollment(campaign_id: int, enrollment_id: int):
    enrollment = service.get_enrollment(g.membership.org_id, campaign_id, enrollment_id)
    service.stop_enrollment(g.membership, enrollment)
    db.session.commit()
    return jsonify(enrollment_json(enrollment))


# -- templates ---------------------------------------------------------------------------------


def template_json(t: MessageTemplate) -> dict[str, Any]:
    return {"id": t.id, "name": t.name, "text": t.text, "created_at": t.created_at.isoformat()}


@bp.get("/templates")
@per_user
@documented(
    "The organization's message templates",
    tag="campaigns",
    responses={200: {"description": "Templates", "schema": always(items=array(TEMPLATE))}},
)
def list_templates():
    return jsonify({"items": [template_json(t) for t in message_templates.templates(g.membership.org_id)]})


@bp.post("/templates")
@per_user
@documented(
    "Keep a message template for the team",
    tag="campaigns",
    body=obj(["name", "text"], name=text(120, minLength=1), text=text(MAX_TEXT, minLength=1)),
    responses={
        201: {"description": "The template", "schema": TEMPLATE},
        422: "A blank or taken name, an empty text, an unknown variable",
    },
)
def create_template():
    body = request.get_json()
    template = message_templates.create_template(g.membership, body["name"], body["text"])
    db.session.commit()
    return created(template_json(template), url_for(".list_templates"))


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
        200: {"description": "Entries", "schema": always(items=array(SUPPRESSION), total=integer(minimum=0))}
    },
)
def list_suppressions():
    page, per_page = g.args.get("page", 1), g.args.get("per_page", 50)
    rows, total = suppression.entries(g.membership.org_id, limit=per_page, offset=(page - 1) * per_page)
    return jsonify({"items": [suppression_json(s) for s in rows], "total": total})


@bp.post("/suppressions")
@per_user
@documented(
    "Put a contact (every identity they have) or one identity on the list",
    tag="campaigns",
    body=NEW_SUPPRESSION,
    responses={
        201: {"description": "The entries", "schema": always(items=array(SUPPRESSION))},
        403: MANAGERS,
        404: "No such contact in your organization",
        422: "Neither a contact nor a kind with a value, or a value that is not one",
    },
)
def add_suppression():
    from app.blueprints.team.public import Permission, require
    from app.errors import DomainError

    body = request.get_json()
    require(g.membership, Permission.CAMPAIGNS_MANAGE)
    if body.get("contact_id"):
        entries = suppression.add_contact(g.membership, body["contact_id"], note=body.get("note"))
    elif body.get("kind") and body.get("value"):
        entries = [
            suppression.add_identity(
                g.membership, body["kind"], body["value"], reason="api", note=body.get("note")
            )
        ]
    else:
        from flask_babel import gettext as _

        message = _("Give a contact, or a kind and a value.")
        raise DomainError(message, {"contact_id": message})
    db.session.commit()
    response = jsonify({"items": [suppression_json(s) for s in entries]})
    response.status_code = 201
    return response


@bp.delete("/suppressions/<int:suppression_id>")
@per_user
@documented(
    "Take an entry off the list",
    tag="campaigns",
    responses={
        200: {"description": "Removed", "schema": always(removed={"type": "boolean"})},
        403: MANAGERS,
        404: "No such entry",
    },
)
def remove_suppression(suppression_id: int):
    suppression.remove(g.membership, suppression_id)
    db.session.commit()
    return jsonify({"removed": True})
