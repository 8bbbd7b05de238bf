"""Campaign operations: build, change, duplicate, launch, pause, resume, archive; add contacts and
stop a contact's sequence. Flask-free: an explicit actor, flush, never commit.

A campaign's body (API and pages alike): ``name``, ``account_ids``, ``steps: [{wait_minutes,
variants: [{text, weight}], file_id}]``, ``window: {days, start, end}`` (omitted: the organization's
default), and its stop rules. A step's ``file_id`` names a file kept first (``store_file``), sent
with the step's text as its caption; a step without the key keeps the file of the step now at its
place. Changing the steps of a running campaign needs ``confirmed``: a step keeps
its id while it stays at its place, so contacts who have not reached it get the new text, and
contacts already past it keep what they were sent.
"""

from __future__ import annotations

import random
import re
import unicodedata
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from flask_babel import format_number
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from app.blueprints.accounts.public import BDAccount
from app.blueprints.campaigns import audience, rendering, variables, windows
from app.blueprints.campaigns.events import (
    CampaignLaunched,
    CampaignPaused,
    CampaignResumed,
    EnrollmentStarted,
)
from app.blueprints.campaigns.models import (
    Campaign,
    CampaignAccount,
    CampaignFile,
    CampaignStatus,
    CampaignStep,
    Enrollment,
    EnrollmentStatus,
    StepVariant,
)
from app.blueprints.campaigns.outcomes import end_enrollment
from app.blueprints.messaging.public import MAX_ATTACHMENT_BYTES, MAX_CAPTION, Attachment
from app.blueprints.team.public import Membership, Permission, require
from app.db_types import utcnow
from app.errors import Conflict, DomainError, NotFound
from app.events import emit
from app.extensions import db

MAX_STEPS = 10
MAX_VARIANTS = 5
MAX_TEXT = 4096
MAX_WAIT_MINUTES = 90 * 24 * 60
MAX_AUDIENCE = 100_000  # contacts added at once
LAUNCH_SPREAD = 60.0  # seconds over which a launch's first steps fall due
DEFAULT_WINDOW = {"days": [1, 2, 3, 4, 5], "start": "10:00", "end": "19:00"}
EDITABLE = (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED, CampaignStatus.PAUSED, CampaignStatus.RUNNING)

WINDOW_ERRORS = {
    "no_days": _l("Choose at least one day."),
    "bad_day": _l("Days are numbers from 1 (Monday) to 7 (Sunday)."),
    "bad_time": _l("Write the time as HH:MM (24:00 for the end of the day)."),
    "end_before_start": _l("The window must end after it starts."),
}
PROBLEMS = {
    "unknown_variable": _l("There is no variable %(name)s."),
    "unclosed_variable": _l("A variable is not closed: end it with }}."),
    "empty_variable": _l("A variable has no name."),
    "unclosed_choice": _l("A choice {…|…} is not closed."),
}


class ConfirmationNeeded(Conflict):
    code = "confirmation_needed"


def get_campaign(org_id: int, campaign_id: int) -> Campaign:
    campaign = db.session.scalar(
        select(Campaign).where(Campaign.org_id == org_id, Campaign.id == campaign_id)
    )
    if campaign is None:
        raise NotFound(_("Campaign not found."))
    return campaign


def problem_text(problem: rendering.Problem) -> str:
    return (
        str(PROBLEMS[problem.code]) % {"name": "{{" + problem.name + "}}"}
        if problem.code == "unknown_variable"
        else str(PROBLEMS[problem.code])
    )


# -- checking a body ---------------------------------------------------------------------------


def _clean_name(raw: Any) -> str:
    name = " ".join(str(raw or "").split())
    if not name:
        message = _("Give the campaign a name.")
        raise DomainError(message, {"name": message})
    if len(name) > 120:
        message = _("A name can be at most 120 characters.")
        raise DomainError(message, {"name": message})
    return name


def _clean_accounts(org_id: int, raw: Any) -> list[int]:
    ids = list(dict.fromkeys(int(i) for i in (raw or [])))
    if ids:
        found = set(
            db.session.scalars(select(BDAccount.id).where(BDAccount.org_id == org_id, BDAccount.id.in_(ids)))
        )
        if found != set(ids):
            message = _("Choose accounts of your organization.")
            raise DomainError(message, {"account_ids": message})
    return ids


def _clean_window(org_id: int, raw: Any) -> dict[str, Any]:
    if raw is None:
        from app.blueprints.campaigns.audience import settings_for

        return dict(settings_for(org_id).default_window or DEFAULT_WINDOW)
    try:
        return windows.SendWindow.parse(raw).to_json()
    except windows.WindowError as err:
        message = str(WINDOW_ERRORS.get(err.code, WINDOW_ERRORS["bad_time"]))
        raise DomainError(message, {f"window.{err.field}": message}) from None


def _clean_file_ids(org_id: int, steps: list[Any], current: Sequence[CampaignStep]) -> list[int | None]:
    """Each step's file: the one it names, else (no ``file_id`` key) the file of the step now at its
    place. A file that is not the organization's (or is gone) is a field error."""
    chosen = [step["file_id"] if "file_id" in step else (current[n].file_id if n < len(current) else None)
              for n, step in enumerate(steps)]
    found = files_of(org_id, [i for i in chosen if isinstance(i, int) and not isinstance(i, bool)])
    for n, file_id in enumerate(chosen):
        if file_id is not None and file_id not in found:
            message = _("This file is not among your organization's files: attach it again.")
            raise DomainError(message, {f"steps.{n}.file_id": message})
    return chosen


def _clean_steps(org_id: int, raw: Any, current: Sequence[CampaignStep] = ()) -> list[dict[str, Any]]:
    steps = list(raw or [])
    if len(steps) > MAX_STEPS:
        message = _("A campaign can have at most %(count)s steps.", count=MAX_STEPS)
        raise DomainError(message, {"steps": message})
    known = variables.names(org_id)
    file_ids = _clean_file_ids(org_id, steps, current)
    cleaned = []
    for n, step in enumerate(steps):
        # With a file the text goes as its caption, which Telegram keeps shorter than a message.
        limit = MAX_TEXT if file_ids[n] is None else MAX_CAPTION
        wait = int(step.get("wait_minutes") or 0)
        if wait < 0 or wait > MAX_WAIT_MINUTES:
            message = _("Wait between 0 minutes and 90 days.")
            raise DomainError(message, {f"steps.{n}.wait_minutes": message})
        options = list(step.get("variants") or [])
        if not options:
            message = _("Write the step's message.")
            raise DomainError(message, {f"steps.{n}.variants": message})
        if len(options) > MAX_VARIANTS:
            message = _("A step can have at most %(count)s variants.", count=MAX_VARIANTS)
            raise DomainError(message, {f"steps.{n}.variants": message})
        texts = []
        for m, option in enumerate(options):
            field = f"steps.{n}.variants.{m}"
            text = str(option.get("text") or "").strip()
            if not text:
                message = _("Write the step's message.")
                raise DomainError(message, {f"{field}.text": message})
            if len(text) > limit:
                message = (_("A message can be at most %(limit)s characters.", limit=format_number(limit))
                           if file_ids[n] is None else
                           _("With a file, the message is its caption: at most %(limit)s characters.",
                             limit=format_number(limit)))
                raise DomainError(message, {f"{field}.text": message})
            problems = rendering.check(text, known)
            if problems:
                message = problem_text(problems[0])
                raise DomainError(message, {f"{field}.text": message})
            weight = int(option.get("weight", 1) if option.get("weight") is not None else 1)
            if weight < 0 or weight > 100:
                message = _("A weight is a whole number from 0 to 100.")
                raise DomainError(message, {f"{field}.weight": message})
            texts.append({"text": text, "weight": weight})
        if not any(t["weight"] > 0 for t in texts):
            message = _("At least one variant needs a weight above 0.")
            raise DomainError(message, {f"steps.{n}.variants": message})
        cleaned.append({"wait_minutes": wait, "variants": texts, "file_id": file_ids[n]})
    return cleaned


def _stage_ids(org_id: int, raw: Any) -> list[int]:
    from app.blueprints.pipeline.public import Stage

    ids = list(dict.fromkeys(int(i) for i in (raw or [])))
    if ids and set(
        db.session.scalars(select(Stage.id).where(Stage.org_id == org_id, Stage.id.in_(ids)))
    ) != set(ids):
        message = _("Choose stages of your pipelines.")
        raise DomainError(message, {"stop_stage_ids": message})
    return ids


# -- building ----------------------------------------------------------------------------------


def _apply_steps(campaign: Campaign, steps: list[dict[str, Any]]) -> None:
    """Make the campaign's live steps ``steps``: a step at a place keeps its id and gets the new
    wait, texts and file; a variant at a place keeps its id; steps past the end are removed (kept, if
    something was sent for them, so their sends still name them)."""
    from app.blueprints.campaigns.models import CampaignSend

    live = audience.live_steps(campaign)
    now = utcnow()
    for n, body in enumerate(steps):
        step = live[n] if n < len(live) else None
        if step is None:
            step = CampaignStep(position=n)
            campaign.steps.append(step)
        step.position = n
        step.wait_minutes = body["wait_minutes"]
        # the relationship, not the column: what the step answers with afterwards names the new file
        step.file = db.session.get(CampaignFile, body["file_id"]) if body["file_id"] is not None else None
        for m, option in enumerate(body["variants"]):
            variant = step.variants[m] if m < len(step.variants) else None
            if variant is None:
                variant = StepVariant(position=m, text=option["text"], weight=option["weight"])
                step.variants.append(variant)
            variant.position, variant.text, variant.weight = m, option["text"], option["weight"]
        for extra in step.variants[len(body["variants"]) :]:
            variant_sent = db.session.scalar(
                select(CampaignSend.id).where(CampaignSend.variant_id == extra.id).limit(1)
            )
            if variant_sent is None:
                step.variants.remove(extra)
            else:
                extra.weight = 0
        if step.winner_variant_id is not None and not any(
            v.id == step.winner_variant_id and v.weight > 0 for v in step.variants
        ):
            step.winner_variant_id = None
    for extra in live[len(steps) :]:
        sent = db.session.scalar(select(CampaignSend.id).where(CampaignSend.step_id == extra.id).limit(1))
        if sent is None:
            campaign.steps.remove(extra)
        else:
            extra.removed_at = now
            extra.position = MAX_STEPS + extra.id  # out of the live order


def _apply_accounts(campaign: Campaign, account_ids: Sequence[int]) -> None:
    wanted = set(account_ids)
    for link in list(campaign.accounts):
        if link.account_id not in wanted:
            campaign.accounts.remove(link)
    have = {a.account_id for a in campaign.accounts}
    for account_id in account_ids:
        if account_id not in have:
            campaign.accounts.append(CampaignAccount(account_id=account_id))


def _apply(campaign: Campaign, org_id: int, data: dict[str, Any]) -> None:
    if "name" in data:
        campaign.name = _clean_name(data["name"])
    if "account_ids" in data:
        _apply_accounts(campaign, _clean_accounts(org_id, data["account_ids"]))
    if "window" in data:
        campaign.window = _clean_window(org_id, data["window"])
    if "steps" in data:
        _apply_steps(campaign, _clean_steps(org_id, data["steps"], audience.live_steps(campaign)))
    if "stop_scope" in data:
        campaign.stop_scope = "all" if data["stop_scope"] == "all" else "campaign"
    if "stop_stage_ids" in data:
        campaign.stop_stage_ids = _stage_ids(org_id, data["stop_stage_ids"])
    for flag in ("stop_on_won", "stop_on_lost", "auto_winner"):
        if flag in data:
            setattr(campaign, flag, bool(data[flag]))
    if "min_sample" in data:
        sample = int(data["min_sample"])
        if sample < 10 or sample > 100_000:
            message = _("The minimum sample is from 10 to 100,000 messages per variant.")
            raise DomainError(message, {"min_sample": message})
        campaign.min_sample = sample
    if "audience_filter" in data:
        campaign.audience_filter = data["audience_filter"] or None


def create_campaign(actor: Membership, data: dict[str, Any]) -> Campaign:
    require(actor, Permission.CAMPAIGNS_MANAGE)
    campaign = Campaign(
        org_id=actor.org_id,
        name=_clean_name(data.get("name")),
        owner_id=actor.user_id,
        created_by_id=actor.user_id,
        status=CampaignStatus.DRAFT.value,
        window=_clean_window(actor.org_id, data.get("window")),
        stop_stage_ids=[],
    )
    db.session.add(campaign)
    _apply(campaign, actor.org_id, {k: v for k, v in data.items() if k not in ("name", "window")})
    db.session.flush()
    return campaign


def update_campaign(
    actor: Membership, campaign: Campaign, data: dict[str, Any], *, confirmed: bool = False
) -> Campaign:
    require(actor, Permission.CAMPAIGNS_MANAGE)
    if campaign.status not in EDITABLE:
        raise Conflict(_("A finished or archived campaign cannot be changed; duplicate it instead."))
    if (
        campaign.status in (CampaignStatus.RUNNING, CampaignStatus.PAUSED)
        and not confirmed
        and ("steps" in data or "window" in data or "account_ids" in data)
    ):
        raise ConfirmationNeeded(
            _(
                "This campaign is sending: its changes reach the people who have not "
                "had those steps yet. Confirm to apply them."
            )
        )
    _apply(campaign, actor.org_id, data)
    db.session.flush()
    return campaign


def duplicate_campaign(actor: Membership, campaign: Campaign) -> Campaign:
    """A new draft with the campaign's steps (and their files), accounts, window and rules (not its
    audience)."""
    require(actor, Permission.CAMPAIGNS_MANAGE)
    copy = Campaign(
        org_id=campaign.org_id,
        name=_("%(name)s (copy)", name=campaign.name)[:120],
        owner_id=actor.user_id,
        created_by_id=actor.user_id,
        status=CampaignStatus.DRAFT.value,
        window=dict(campaign.window),
        stop_scope=campaign.stop_scope,
        stop_stage_ids=list(campaign.stop_stage_ids or []),
        stop_on_won=campaign.stop_on_won,
        stop_on_lost=campaign.stop_on_lost,
        auto_winner=campaign.auto_winner,
        min_sample=campaign.min_sample,
        audience_filter=campaign.audience_filter,
    )
    db.session.add(copy)
    _apply_accounts(copy, campaign.account_ids)
    _apply_steps(
        copy,
        [
            {
                "wait_minutes": s.wait_minutes,
                "variants": [{"text": v.text, "weight": v.weight} for v in s.variants if v.weight > 0]
                or [{"text": v.text, "weight": 1} for v in s.variants[:1]],
                "file_id": s.file_id,  # the same file: a copy shares it
            }
            for s in audience.live_steps(campaign)
        ],
    )
    db.session.flush()
    return copy


def delete_campaign(actor: Membership, campaign: Campaign) -> str:
    """A draft goes; any other campaign is archived (what it sent stays on record). Returns which."""
    require(actor, Permission.CAMPAIGNS_MANAGE)
    if campaign.status == CampaignStatus.DRAFT:
        db.session.delete(campaign)
        db.session.flush()
        return "deleted"
    if campaign.status in (CampaignStatus.RUNNING, CampaignStatus.SCHEDULED, CampaignStatus.PAUSED):
        _stop_everyone(campaign, "campaign_archived")
    campaign.status = CampaignStatus.ARCHIVED.value
    db.session.flush()
    return "archived"


def delete_draft(actor: Membership, campaign: Campaign) -> None:
    """Delete a draft; a campaign that has run keeps its history and is archived instead (the
    API says so, rather than archiving under a DELETE)."""
    if campaign.status != CampaignStatus.DRAFT:
        raise Conflict(_("Only a draft can be deleted. A campaign that has run keeps its history: "
                         "archive it instead."))
    delete_campaign(actor, campaign)


def archive_campaign(actor: Membership, campaign: Campaign) -> Campaign:
    """Archive a campaign that has run (its live sequences stop); a draft is deleted, not archived."""
    if campaign.status == CampaignStatus.DRAFT:
        raise Conflict(_("A draft is deleted, not archived."))
    delete_campaign(actor, campaign)
    return campaign


def _stop_everyone(campaign: Campaign, reason: str) -> None:
    now = utcnow()
    for enrollment in db.session.scalars(
        select(Enrollment).where(
            Enrollment.campaign_id == campaign.id,
            Enrollment.status.in_(
                [
                    EnrollmentStatus.WAITING.value,
                    EnrollmentStatus.SENDING.value,
                    EnrollmentStatus.PENDING.value,
                ]
            ),
        )
    ):
        end_enrollment(enrollment, EnrollmentStatus.STOPPED, reason, now)


# -- the audience ------------------------------------------------------------------------------


def add_contacts(
    actor: Membership,
    campaign: Campaign,
    *,
    contact_ids: Sequence[int] | None = None,
    filters: dict[str, Any] | None = None,
    stage_id: int | None = None,
    import_id: int | None = None,
    save_filter: bool = False,
) -> dict[str, Any]:
    """Enroll contacts (by ids, the contact list's filters, a deal stage or an import); a running campaign
    checks and starts them at once. Returns {added, already, skipped: {reason: count}}."""
    require(actor, Permission.CAMPAIGNS_MANAGE)
    if campaign.status in (CampaignStatus.FINISHED, CampaignStatus.ARCHIVED):
        raise Conflict(_("This campaign has ended; duplicate it to write to more people."))
    if contact_ids is not None:
        ids = [int(i) for i in contact_ids][:MAX_AUDIENCE]
        found = set(audience.load_contacts(actor.org_id, ids))
        ids = [i for i in ids if i in found]
    elif stage_id is not None:
        ids = audience.contacts_in_stage(actor.org_id, stage_id, MAX_AUDIENCE)
    elif import_id is not None:
        ids = audience.contacts_from_import(actor.org_id, import_id, MAX_AUDIENCE)
    else:
        ids = audience.contacts_matching(actor.org_id, filters or {}, MAX_AUDIENCE)
        if save_filter:
            campaign.audience_filter = filters or {}
    added = audience.insert_enrollments(campaign, ids, actor.user_id)
    skipped: dict[str, int] = {}
    if campaign.status in (CampaignStatus.RUNNING, CampaignStatus.PAUSED, CampaignStatus.SCHEDULED) and added:
        skipped = start_contacts(campaign, added, utcnow()).counts()
    return {"added": len(added), "already": len(set(ids)) - len(added), "skipped": skipped}


def stop_enrollment(actor: Membership, enrollment: Enrollment) -> Enrollment:
    """A teammate stops a contact's sequence (from the chat, the contact or the campaign)."""
    from app.blueprints.team.public import can

    if not (can(actor.role, Permission.CAMPAIGNS_MANAGE) or _owns_contact(actor, enrollment.contact_id)):
        require(actor, Permission.CAMPAIGNS_MANAGE)
    if not end_enrollment(enrollment, EnrollmentStatus.STOPPED, "teammate", utcnow(), by=actor.user_id):
        raise Conflict(_("This person's sequence has already ended."))
    return enrollment


def _owns_contact(actor: Membership, contact_id: int) -> bool:
    from app.blueprints.crm.public import Contact

    return db.session.scalar(select(Contact.owner_id).where(Contact.id == contact_id)) == actor.user_id


def get_enrollment(org_id: int, campaign_id: int, enrollment_id: int) -> Enrollment:
    found = db.session.scalar(
        select(Enrollment).where(
            Enrollment.org_id == org_id, Enrollment.campaign_id == campaign_id, Enrollment.id == enrollment_id
        )
    )
    if found is None:
        raise NotFound(_("Not in this campaign."))
    return found


# -- launching ---------------------------------------------------------------------------------


def _check_launchable(campaign: Campaign) -> None:
    if not audience.live_steps(campaign):
        message = _("Add a step first.")
        raise DomainError(message, {"steps": message})
    if not campaign.account_ids:
        message = _("Choose the accounts it writes from.")
        raise DomainError(message, {"account_ids": message})


def start_contacts(campaign: Campaign, contact_ids: Sequence[int], now: datetime) -> audience.Review:
    """Check pending enrollments and start the writable ones (their first step due within a
    minute of the start; the dispatcher moves each into its window in the contact's time zone when
    it first looks at it); the rest are skipped with the reason. Set-wise: one bulk update per kind."""
    review = audience.review(campaign, contact_ids, now=now)
    step = audience.first_step(campaign)
    begin = max(now, campaign.starts_at or now) + timedelta(minutes=step.wait_minutes if step else 0)
    ids = {
        e.contact_id: e.id
        for e in db.session.execute(
            select(Enrollment.contact_id, Enrollment.id).where(
                Enrollment.campaign_id == campaign.id, Enrollment.status == EnrollmentStatus.PENDING.value
            )
        )
    }
    started, skipped = [], []
    for verdict in review.verdicts:
        enrollment_id = ids.get(verdict.contact_id)
        if enrollment_id is None:
            continue
        if verdict.reason is None:
            spread = random.Random(f"{enrollment_id}:launch").uniform(0, LAUNCH_SPREAD)
            due = begin + timedelta(seconds=spread)
            started.append(
                {
                    "id": enrollment_id,
                    "status": EnrollmentStatus.WAITING.value,
                    "due_at": due,
                    "started_at": now,
                    "account_id": verdict.account_id,
                }
            )
        else:
            skipped.append(
                {
                    "id": enrollment_id,
                    "status": EnrollmentStatus.SKIPPED.value,
                    "reason": verdict.reason,
                    "detail": verdict.detail,
                    "ended_at": now,
                }
            )
    if started:
        db.session.execute(update(Enrollment), started)
    if skipped:
        db.session.execute(update(Enrollment), skipped)
    contact_of = {enrollment_id: contact_id for contact_id, enrollment_id in ids.items()}
    for row in started:
        emit(
            EnrollmentStarted(
                org_id=campaign.org_id,
                actor_id=None,
                campaign_id=campaign.id,
                enrollment_id=row["id"],
                contact_id=contact_of[row["id"]],
            )
        )
    return review


def launch_review(campaign: Campaign) -> audience.Review:
    pending = list(
        db.session.scalars(
            select(Enrollment.contact_id).where(
                Enrollment.campaign_id == campaign.id, Enrollment.status == EnrollmentStatus.PENDING.value
            )
        )
    )
    return audience.review(campaign, pending)


def launch(actor: Membership, campaign: Campaign, *, starts_at: datetime | None = None) -> audience.Review:
    require(actor, Permission.CAMPAIGNS_MANAGE)
    if campaign.status != CampaignStatus.DRAFT:
        raise Conflict(_("Only a draft can be launched."))
    _check_launchable(campaign)
    now = utcnow()
    campaign.starts_at = starts_at if starts_at and starts_at > now else None
    campaign.status = (CampaignStatus.SCHEDULED if campaign.starts_at else CampaignStatus.RUNNING).value
    campaign.launched_at = now
    pending = list(
        db.session.scalars(
            select(Enrollment.contact_id).where(
                Enrollment.campaign_id == campaign.id, Enrollment.status == EnrollmentStatus.PENDING.value
            )
        )
    )
    review = start_contacts(campaign, pending, now)
    db.session.flush()
    emit(
        CampaignLaunched(
            org_id=campaign.org_id,
            actor_id=actor.user_id,
            campaign_id=campaign.id,
            enrolled=len(review.writable),
            skipped=len(review.skipped),
        )
    )
    if not review.writable:
        from app.blueprints.campaigns.outcomes import finish_if_done

        finish_if_done(campaign.id, now)
    return review


def pause(actor: Membership, campaign: Campaign) -> Campaign:
    require(actor, Permission.CAMPAIGNS_MANAGE)
    if campaign.status not in (CampaignStatus.RUNNING, CampaignStatus.SCHEDULED):
        raise Conflict(_("Only a running campaign can be paused."))
    campaign.status = CampaignStatus.PAUSED.value
    db.session.flush()
    emit(CampaignPaused(org_id=campaign.org_id, actor_id=actor.user_id, campaign_id=campaign.id))
    return campaign


def resume(actor: Membership, campaign: Campaign) -> Campaign:
    require(actor, Permission.CAMPAIGNS_MANAGE)
    if campaign.status != CampaignStatus.PAUSED:
        raise Conflict(_("Only a paused campaign can be resumed."))
    campaign.status = CampaignStatus.RUNNING.value
    db.session.flush()
    emit(CampaignResumed(org_id=campaign.org_id, actor_id=actor.user_id, campaign_id=campaign.id))
    return campaign


def live_enrollments_of(org_id: int, contact_id: int) -> list[Enrollment]:
    return list(
        db.session.scalars(
            select(Enrollment)
            .where(Enrollment.org_id == org_id, Enrollment.contact_id == contact_id)
            .order_by(Enrollment.enrolled_at.desc())
        )
    )


def choose_winner(actor: Membership, campaign: Campaign, step_id: int,
                  variant_id: int | None) -> CampaignStep:
    """The owner picks a step's winner (None: back to the split): from now on everyone who has not
    had the step gets it."""
    require(actor, Permission.CAMPAIGNS_MANAGE)
    step = next((s for s in audience.live_steps(campaign) if s.id == step_id), None)
    if step is None:
        raise NotFound(_("No such step in this campaign."))
    if variant_id is not None and not any(v.id == variant_id and v.weight > 0 for v in step.variants):
        message = _("Choose one of the step's variants.")
        raise DomainError(message, {"variant_id": message})
    step.winner_variant_id = variant_id
    step.winner_chosen_by = "owner" if variant_id is not None else None
    db.session.flush()
    return step


# -- files -------------------------------------------------------------------------------------

_MIME_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]{0,62}/[a-z0-9][a-z0-9!#$&^_.+-]{0,62}")


def _file_name(raw: str) -> str:
    """The name a file is sent by: its last path part, without control characters."""
    name = re.split(r"[/\\]", raw or "")[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip()
    return name[:255] or "file"


def store_file(actor: Membership, attachment: Attachment) -> CampaignFile:
    """Keep a file for a step (the step names it once the campaign is saved; one no step names goes
    after a day). Raises DomainError on ``file``: empty or over messaging's size limit."""
    require(actor, Permission.CAMPAIGNS_MANAGE)
    if not attachment.data:
        message = _("That file is empty.")
        raise DomainError(message, {"file": message})
    if len(attachment.data) > MAX_ATTACHMENT_BYTES:
        message = _("Files can be at most %(size)s MB.", size=MAX_ATTACHMENT_BYTES // (1024 * 1024))
        raise DomainError(message, {"file": message})
    mime_type = (attachment.mime_type or "").strip().lower()
    if not _MIME_TYPE.fullmatch(mime_type):
        mime_type = "application/octet-stream"
    kept = CampaignFile(org_id=actor.org_id, file_name=_file_name(attachment.file_name), mime_type=mime_type,
                        size=len(attachment.data), data=attachment.data, created_by_id=actor.user_id)
    db.session.add(kept)
    db.session.flush()
    return kept


def get_file(org_id: int, file_id: int) -> CampaignFile:
    found = db.session.scalar(select(CampaignFile).where(CampaignFile.org_id == org_id,
                                                         CampaignFile.id == file_id))
    if found is None:
        raise NotFound(_("No such file."))
    return found


def files_of(org_id: int, ids: Sequence[int | None]) -> dict[int, CampaignFile]:
    """The organization's files among ``ids``, by id (their bytes are not read)."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {f.id: f for f in db.session.scalars(
        select(CampaignFile).where(CampaignFile.org_id == org_id, CampaignFile.id.in_(wanted)))}
