"""The pages a BD lead builds campaigns on: the list, the editor and the launch review.

The editor is one form (``forms``): its steps block is re-rendered from the submitted state when a
step or variant is added, removed or moved (``steps``), a variant's text is checked while it is
typed (``check``), the preview renders the texts for a contact (``preview``). A file chosen for a
step is kept at once (``upload_file``), and the step's block then names it by id, so the file moves
with its step and is saved with it. The audience has its own form (``add_audience``, with a live
count). Saving goes through ``service.create_campaign`` / ``update_campaign``; a sending campaign's
change asks to be confirmed first. The review shows what ``service.launch_review`` found: who will
be written to, who is left out and why, how long it takes at the accounts' budgets; launching leads
to the campaign's page.
"""

from __future__ import annotations

from datetime import UTC, datetime
from io import BytesIO
from typing import Any
from zoneinfo import ZoneInfo

from babel.numbers import format_percent
from flask import Blueprint, current_app, flash, g, redirect, request, send_file, url_for
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import case, distinct, func, select

from app.blueprints.accounts.public import AccountStatus, BDAccount, effective
from app.blueprints.campaigns import audience, forms, rendering, service, variables
from app.blueprints.campaigns.labels import CAMPAIGN_STATUSES, REASONS, day_names
from app.blueprints.campaigns.models import (
    Campaign,
    CampaignSend,
    CampaignStatus,
    Enrollment,
    EnrollmentStatus,
    SendStatus,
)
from app.blueprints.crm.public import Contact, ListQuery, filtered, org_tags
from app.blueprints.messaging.public import MAX_ATTACHMENT_BYTES, MAX_CAPTION, attachment_from
from app.blueprints.pipeline.public import pipelines
from app.blueprints.team.public import Permission, can, people, require
from app.errors import DomainError, Forbidden, NotFound
from app.extensions import db
from app.htmx import render

bp = Blueprint("campaigns", __name__, url_prefix="/campaigns")

EDIT = "campaigns/edit.html"
STEP_FILE = "campaigns/_editor_file.html"
REVIEW = "campaigns/review.html"
SAMPLE = 8  # first names shown of those who will be written to
LISTED = 50  # contacts listed under each skip reason
PREVIEW_CHOICES = 25

ACCOUNT_STATUSES = {
    AccountStatus.ONLINE: _l("Online"),
    AccountStatus.OFFLINE: _l("Offline"),
    AccountStatus.CONNECTING: _l("Connecting"),
    AccountStatus.NEEDS_LOGIN: _l("Needs login"),
    AccountStatus.LIMITED: _l("Limited"),
    AccountStatus.BANNED: _l("Banned"),
    AccountStatus.DEACTIVATED: _l("Deactivated"),
}
UNIT_LABELS = {"now": _l("at once"), "minutes": _l("minutes"), "hours": _l("hours"), "days": _l("days")}
GROUP_LABELS = {"contact": _l("Contact"), "company": _l("Company"), "deal": _l("Deal"), "owner": _l("Owner")}


@bp.before_request
@login_required
def signed_in() -> None:
    """Every campaign page needs a signed-in member."""


def _may_manage() -> bool:
    return can(g.membership.role, Permission.CAMPAIGNS_MANAGE)


def _campaign(campaign_id: int) -> Campaign:
    return service.get_campaign(g.membership.org_id, campaign_id)


def rate_text(value: float | None) -> str:
    return "—" if value is None else format_percent(value, format="#,##0.#%", locale=get_locale())


def campaign_url(campaign: Campaign) -> str:
    """Where a campaign opens: a draft in the editor, the rest on their live page (once it exists)."""
    if campaign.status != CampaignStatus.DRAFT and "campaign_report.show" in current_app.view_functions:
        return url_for("campaign_report.show", campaign_id=campaign.id)
    return url_for("campaigns.edit", campaign_id=campaign.id)


# -- the list ----------------------------------------------------------------------------------


def _summaries(org_id: int) -> list[dict[str, Any]]:
    """Every campaign, newest first, with its figures: three grouped queries for all of them."""
    campaigns = list(db.session.scalars(
        select(Campaign).where(Campaign.org_id == org_id)
        .order_by(Campaign.created_at.desc(), Campaign.id.desc())))
    ids = [c.id for c in campaigns]
    enrolled: dict[int, int] = {}
    sent: dict[int, tuple[int, int, int]] = {}
    if ids:
        enrolled = dict(db.session.execute(
            select(Enrollment.campaign_id, func.count()).where(Enrollment.campaign_id.in_(ids))
            .group_by(Enrollment.campaign_id)).all())
        person = CampaignSend.enrollment_id
        answered = func.count(distinct(case((CampaignSend.replied_at.is_not(None), person))))
        for campaign_id, messages, people_written, people_replied in db.session.execute(
                select(CampaignSend.campaign_id, func.count(), func.count(distinct(person)), answered)
                .where(CampaignSend.campaign_id.in_(ids), CampaignSend.status == SendStatus.SENT.value)
                .group_by(CampaignSend.campaign_id)):
            sent[campaign_id] = (messages, people_written, people_replied)
    rows = []
    for campaign in campaigns:
        messages, written, replied = sent.get(campaign.id, (0, 0, 0))
        rows.append({"campaign": campaign, "url": campaign_url(campaign), "accounts": len(campaign.accounts),
                     "enrolled": enrolled.get(campaign.id, 0), "sent": messages, "replied": replied,
                     "rate": rate_text(replied / written) if written else "—",
                     "status": CAMPAIGN_STATUSES.get(campaign.status, campaign.status)})
    return rows


@bp.get("")
def index():
    return render("campaigns/index.html", rows=_summaries(g.membership.org_id), can_manage=_may_manage())


# -- the editor --------------------------------------------------------------------------------


def _accounts(org_id: int) -> list[dict[str, Any]]:
    found = db.session.scalars(select(BDAccount).where(BDAccount.org_id == org_id).order_by(BDAccount.id))
    return [{"account": a, "status": ACCOUNT_STATUSES.get(a.status, a.status),
             "budget": effective(a.config)["new_chats_per_day"]} for a in found]


def _variable_groups(org_id: int) -> list[tuple[str, list[variables.Variable]]]:
    groups: dict[str, list[variables.Variable]] = {}
    for variable in variables.available(org_id):
        groups.setdefault(variable.group, []).append(variable)
    return [(str(GROUP_LABELS.get(k, k)), v) for k, v in groups.items()]


def _problems(org_id: int):
    known = variables.names(org_id)

    def problems_of(text: str) -> list[str]:
        return list(dict.fromkeys(service.problem_text(p) for p in rendering.check(text or "", known)))

    return problems_of


def _preview_choices(org_id: int, campaign: Campaign | None) -> dict[str, list[Contact]]:
    """Contacts to preview with: some of the audience first, then any others."""
    live = select(Contact).where(Contact.org_id == org_id, Contact.deleted_at.is_(None))
    mine: list[Contact] = []
    if campaign is not None:
        mine = list(db.session.scalars(
            live.join(Enrollment, Enrollment.contact_id == Contact.id)
            .where(Enrollment.campaign_id == campaign.id).order_by(Enrollment.id)
            .limit(PREVIEW_CHOICES)).unique())
    taken = [c.id for c in mine]
    others = list(db.session.scalars(
        live.where(Contact.id.not_in(taken) if taken else True)
        .order_by(Contact.first_name, Contact.last_name, Contact.id).limit(PREVIEW_CHOICES)).unique())
    return {"audience": mine, "others": others}


def _audience_figures(campaign: Campaign | None) -> dict[str, int]:
    if campaign is None:
        return {}
    return dict(db.session.execute(
        select(Enrollment.status, func.count()).where(Enrollment.campaign_id == campaign.id)
        .group_by(Enrollment.status)).all())


def _audience_context(org_id: int, campaign: Campaign | None) -> dict[str, Any]:
    figures = _audience_figures(campaign)
    return {"campaign": campaign, "audience_total": sum(figures.values()),
            "audience_pending": figures.get(EnrollmentStatus.PENDING.value, 0), "tags": org_tags(org_id),
            "owners": people(org_id), "pipelines": pipelines(org_id),
            "saved_filter": campaign.audience_filter if campaign is not None else None}


def _editor_context(campaign: Campaign | None, state: forms.EditorState, **extra) -> dict[str, Any]:
    org_id = g.membership.org_id
    return {"campaign": campaign, "state": state, "accounts": _accounts(org_id), "units": UNIT_LABELS,
            "variable_groups": _variable_groups(org_id), "problems_of": _problems(org_id),
            "day_names": day_names("abbreviated"), "pipelines": pipelines(org_id),
            "statuses": CAMPAIGN_STATUSES,
            "preview_choices": _preview_choices(org_id, campaign), "max_steps": service.MAX_STEPS,
            "max_variants": service.MAX_VARIANTS, "errors": {}, **_file_limits(),
            "files": service.files_of(org_id, [step.file_id for step in state.steps]),
            "campaign_page": campaign_url(campaign) if campaign and campaign.status != CampaignStatus.DRAFT
            else None,
            **_audience_context(org_id, campaign), **extra}


def _editor(campaign: Campaign | None, state: forms.EditorState, status: int = 200, toast: str | None = None,
            **extra):
    return render(EDIT, block="editor", status=status, toast=toast,
                  **_editor_context(campaign, state, **extra))


@bp.get("/new")
def new():
    require(g.membership, Permission.CAMPAIGNS_MANAGE)
    return _editor(None, forms.new_state(audience.settings_for(g.membership.org_id).default_window))


@bp.post("/new")
def create():
    require(g.membership, Permission.CAMPAIGNS_MANAGE)
    state = forms.from_form(request.form)
    try:
        campaign = service.create_campaign(g.membership, forms.body(state))
    except DomainError as err:
        db.session.rollback()
        if isinstance(err, Forbidden | NotFound):
            raise
        return _editor(None, state, status=422, error=err.message, errors=err.fields)
    db.session.commit()
    flash(_("Campaign “%(name)s” created.", name=campaign.name), "success")
    return _to(url_for("campaigns.edit", campaign_id=campaign.id))


def _to(url: str):
    """A redirect; an HTMX request gets a whole page load there (the editor's script runs)."""
    if request.headers.get("HX-Request") == "true":
        response = current_app.response_class("", 204)
        response.headers["HX-Redirect"] = url
        return response
    return redirect(url)


@bp.get("/<int:campaign_id>/edit")
def edit(campaign_id: int):
    campaign = _campaign(campaign_id)
    require(g.membership, Permission.CAMPAIGNS_MANAGE)
    return _editor(campaign, forms.from_campaign(campaign, audience.live_steps(campaign)))


@bp.post("/<int:campaign_id>/edit")
def save(campaign_id: int):
    campaign = _campaign(campaign_id)
    require(g.membership, Permission.CAMPAIGNS_MANAGE)
    state = forms.from_form(request.form)
    confirmed = request.form.get("confirmed") == "1"
    try:
        service.update_campaign(g.membership, campaign, forms.body(state), confirmed=confirmed)
    except service.ConfirmationNeeded as err:
        db.session.rollback()
        return _editor(_campaign(campaign_id), state, status=422, confirm=err.message)
    except DomainError as err:
        db.session.rollback()
        if isinstance(err, Forbidden | NotFound) or (not err.fields and err.status != 422):
            raise
        return _editor(_campaign(campaign_id), state, status=422, error=err.message, errors=err.fields)
    db.session.commit()
    if request.headers.get("HX-Request") != "true":
        flash(_("Campaign saved."), "success")
        return redirect(url_for("campaigns.edit", campaign_id=campaign_id))
    campaign = _campaign(campaign_id)
    return _editor(campaign, forms.from_campaign(campaign, audience.live_steps(campaign)),
                   toast=_("Campaign saved."))


@bp.get("/files/<int:file_id>")
def download_file(file_id: int):
    """A step's file, as a download (never shown inline: a file is not one of our pages)."""
    found = service.get_file(g.membership.org_id, file_id)
    response = send_file(BytesIO(found.data), mimetype="application/octet-stream", as_attachment=True,
                         download_name=found.file_name, max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.post("/editor/steps")
def steps():
    """The steps block again, from the form as it stands, after one of its buttons (``op``)."""
    require(g.membership, Permission.CAMPAIGNS_MANAGE)
    state = forms.apply_op(forms.from_form(request.form), request.form.get("op", ""))
    return render("campaigns/_editor_steps.html", **_editor_context(None, state))


def _file_limits() -> dict[str, int]:
    return {"max_file_mb": MAX_ATTACHMENT_BYTES // (1024 * 1024), "max_caption": MAX_CAPTION}


@bp.post("/editor/file")
def upload_file():
    """Keep the file chosen for step ``step`` at once; its block comes back naming it (its id goes
    with the form, and the step keeps it once the campaign is saved)."""
    require(g.membership, Permission.CAMPAIGNS_MANAGE)
    raw = request.args.get("step", "")
    n = int(raw) if raw.isdigit() and len(raw) <= 2 else 0
    attachment = attachment_from(request.files)
    if attachment is None:  # the choice was cancelled
        return render(STEP_FILE, n=n, file_id=None, file=None, **_file_limits())
    try:
        kept = service.store_file(g.membership, attachment)
    except DomainError as err:
        db.session.rollback()
        return render(STEP_FILE, status=422, n=n, file_id=None, file=None,
                      file_error=err.fields.get("file", err.message), **_file_limits())
    db.session.commit()
    return render(STEP_FILE, n=n, file_id=kept.id, file=kept, **_file_limits())


@bp.post("/editor/check")
def check():
    """The problems of the one variant text sent (while it is typed)."""
    require(g.membership, Permission.CAMPAIGNS_MANAGE)
    text = next((v for k, v in request.form.items() if k.endswith("-text")), "")
    return render("campaigns/_editor_problems.html", problems=_problems(g.membership.org_id)(text))


@bp.post("/editor/preview")
def preview():
    """Each step's variants as the chosen contact would get them."""
    require(g.membership, Permission.CAMPAIGNS_MANAGE)
    org_id = g.membership.org_id
    state = forms.from_form(request.form)
    raw = request.form.get("preview_contact_id", "")
    contact = None
    if raw.isdigit():
        contact = db.session.scalar(select(Contact).where(Contact.org_id == org_id, Contact.id == int(raw),
                                                          Contact.deleted_at.is_(None)))
    rendered = []
    if contact is not None:
        values = variables.values_for(org_id, [contact.id]).get(contact.id, {})
        problems_of = _problems(org_id)
        for n, step in enumerate(state.steps):
            out = []
            for m, variant in enumerate(step.variants):
                result = rendering.render(variant.text, values, seed=f"preview:{contact.id}:{n}:{m}")
                out.append({"letter": chr(ord("A") + m), "text": result.text, "missing": result.missing,
                            "problems": problems_of(variant.text)})
            rendered.append(out)
    return render("campaigns/_editor_preview.html", contact=contact, rendered=rendered)


# -- the audience ------------------------------------------------------------------------------


def _filters(form) -> dict[str, str]:
    return {k: form.get(k, "").strip() for k in ("q", "tag", "owner") if form.get(k, "").strip()}


def _stage_id(form) -> int | None:
    raw = form.get("stage_id", "")
    return int(raw) if raw.isdigit() else None


@bp.get("/<int:campaign_id>/audience/count")
def audience_count(campaign_id: int):
    """How many contacts the audience form's choice would add (live, while it is filled in)."""
    campaign = _campaign(campaign_id)
    org_id = g.membership.org_id
    if request.args.get("source") == "stage":
        stage_id = _stage_id(request.args)
        count = len(audience.contacts_in_stage(org_id, stage_id, service.MAX_AUDIENCE)) if stage_id else None
    else:
        query = ListQuery.from_args(_filters(request.args))
        ids = filtered(org_id, "contact", query).with_only_columns(Contact.id).order_by(None).subquery()
        count = db.session.scalar(select(func.count()).select_from(ids))
    return render("campaigns/_editor_count.html", count=count, campaign=campaign)


@bp.post("/<int:campaign_id>/audience/add")
def add_audience(campaign_id: int):
    campaign = _campaign(campaign_id)
    form = request.form
    if form.get("source") == "stage":
        stage_id = _stage_id(form)
        if stage_id is None:
            raise DomainError(_("Choose a stage."), {"stage_id": _("Choose a stage.")})
        result = service.add_contacts(g.membership, campaign, stage_id=stage_id)
    else:
        result = service.add_contacts(g.membership, campaign, filters=_filters(form),
                                      save_filter=bool(form.get("save_filter")))
    db.session.commit()
    text = ngettext("%(num)d contact added.", "%(num)d contacts added.", result["added"])
    if result["already"]:
        text += " " + ngettext("%(num)d was already in.", "%(num)d were already in.", result["already"])
    skipped = sum(result["skipped"].values())
    if skipped:
        text += " " + ngettext("%(num)d left out (see the launch review).", "%(num)d left out.", skipped)
    campaign = _campaign(campaign_id)
    if request.headers.get("HX-Request") != "true":
        flash(text, "success")
        return redirect(url_for("campaigns.edit", campaign_id=campaign_id))
    return render("campaigns/_editor_audience.html", toast=text,
                  **_audience_context(g.membership.org_id, campaign))


# -- duplicate, delete -------------------------------------------------------------------------


@bp.post("/<int:campaign_id>/duplicate")
def duplicate(campaign_id: int):
    copy = service.duplicate_campaign(g.membership, _campaign(campaign_id))
    db.session.commit()
    flash(_("A copy was made: “%(name)s”.", name=copy.name), "success")
    return _to(url_for("campaigns.edit", campaign_id=copy.id))


@bp.post("/<int:campaign_id>/delete")
def delete(campaign_id: int):
    campaign = _campaign(campaign_id)
    name = campaign.name
    done = service.delete_campaign(g.membership, campaign)
    db.session.commit()
    flash(_("Campaign “%(name)s” deleted.", name=name) if done == "deleted"
          else _("Campaign “%(name)s” archived.", name=name), "success")
    return _to(url_for("campaigns.index"))


# -- the launch review -------------------------------------------------------------------------


def _names(org_id: int, ids: list[int]) -> dict[int, Contact]:
    if not ids:
        return {}
    return {c.id: c for c in db.session.scalars(select(Contact).where(Contact.org_id == org_id,
                                                                      Contact.id.in_(ids))).unique()}


def _pace(campaign: Campaign, writable: int) -> dict[str, Any]:
    """How long the first messages take at the pool's online accounts' daily budgets."""
    accounts = list(db.session.scalars(
        select(BDAccount).where(BDAccount.id.in_(campaign.account_ids or [0]))))
    online = [a for a in accounts if a.status == AccountStatus.ONLINE.value]
    per_day = sum(effective(a.config)["new_chats_per_day"] for a in online)
    days = writable / per_day if per_day and writable else None
    return {"accounts": len(accounts), "online": len(online), "per_day": per_day, "days": days,
            "seconds": days * 86400 if days else None}


def _my_zone() -> ZoneInfo:
    """The member's own time zone (their profile), else the organization's."""
    for name in (getattr(current_user, "timezone", None), g.membership.organization.timezone):
        if not name:
            continue
        try:
            return ZoneInfo(name)
        except (KeyError, ValueError):
            continue
    return ZoneInfo("UTC")


def _review_context(campaign: Campaign, **extra) -> dict[str, Any]:
    org_id = g.membership.org_id
    review = service.launch_review(campaign)
    writable = review.writable
    skipped: dict[str, list[int]] = {}
    for verdict in review.skipped:
        skipped.setdefault(verdict.reason, []).append(verdict.contact_id)
    shown = [v.contact_id for v in writable[:SAMPLE]] + [i for ids in skipped.values() for i in ids[:LISTED]]
    contacts = _names(org_id, shown)
    groups = [{"reason": reason, "label": REASONS.get(reason, reason), "count": len(ids),
               "contacts": [contacts[i] for i in ids[:LISTED] if i in contacts],
               "more": max(len(ids) - LISTED, 0)}
              for reason, ids in sorted(skipped.items(), key=lambda item: -len(item[1]))]
    zone = _my_zone()
    return {"campaign": campaign, "writable": len(writable), "skipped_total": len(review.skipped),
            "sample": [contacts[v.contact_id] for v in writable[:SAMPLE] if v.contact_id in contacts],
            "groups": groups, "pace": _pace(campaign, len(writable)), "steps": audience.live_steps(campaign),
            "zone": zone.key, "statuses": CAMPAIGN_STATUSES, "campaign_url": campaign_url(campaign),
            "can_launch": campaign.status == CampaignStatus.DRAFT, "errors": {}, **extra}


@bp.get("/<int:campaign_id>/review")
def review(campaign_id: int):
    campaign = _campaign(campaign_id)
    require(g.membership, Permission.CAMPAIGNS_MANAGE)
    return render(REVIEW, **_review_context(campaign))


def _starts_at(form) -> datetime | None:
    """The launch moment: now, or the date-time given on the member's own clock (in the future)."""
    if form.get("when") != "later":
        return None
    message = _("Choose a moment in the future.")
    try:
        local = datetime.fromisoformat(form.get("starts_at", "").strip())
    except ValueError:
        raise DomainError(message, {"starts_at": message}) from None
    moment = (local if local.tzinfo else local.replace(tzinfo=_my_zone())).astimezone(UTC)
    if moment <= datetime.now(UTC):
        raise DomainError(message, {"starts_at": message})
    return moment


@bp.post("/<int:campaign_id>/launch")
def launch(campaign_id: int):
    campaign = _campaign(campaign_id)
    try:
        result = service.launch(g.membership, campaign, starts_at=_starts_at(request.form))
    except DomainError as err:
        db.session.rollback()
        if not err.fields:
            raise
        return render(REVIEW, status=422, **_review_context(_campaign(campaign_id), error=err.message,
                                                            errors=err.fields, data=request.form))
    db.session.commit()
    campaign = _campaign(campaign_id)
    flash(ngettext("Campaign launched: %(num)d person will be written to.",
                   "Campaign launched: %(num)d people will be written to.", len(result.writable))
          if campaign.status == CampaignStatus.RUNNING.value
          else _("Campaign scheduled."), "success")
    return redirect(campaign_url(campaign))
