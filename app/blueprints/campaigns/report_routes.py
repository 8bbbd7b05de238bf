"""The campaign page: its state, accounts and window, the figures (per status and reason, per step
and variant with the A/B decision), the audience paged and filtered by status, each person's
journey; pause, resume, archive, a winner chosen, a person's sequence stopped.

The page is three regions, each a block of ``campaigns/show.html`` re-fetched on its own:
``campaign_summary`` (the state and the figures; ``live.py`` pushes it when the campaign changes),
``campaign_audience`` (one page of the table, loaded with one query for its enrollments, one for
their contacts and one for their accounts) and a row's journey (``_journey.html``). Figures come
from ``stats.figures``'s grouped queries, never from the rows themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from babel.numbers import format_percent
from flask import Blueprint, Response, current_app, g, make_response, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required
from jinja2_fragments.flask import render_block
from sqlalchemy import func, select
from sqlalchemy.orm import lazyload

from app.blueprints.accounts.public import AccountStatus, BDAccount
from app.blueprints.auth.public import User
from app.blueprints.campaigns import audience, service, stats, variants
from app.blueprints.campaigns.labels import CAMPAIGN_STATUSES, ENROLLMENT_STATUSES, day_names, reason_text
from app.blueprints.campaigns.models import (
    Campaign,
    CampaignAccount,
    CampaignSend,
    Enrollment,
    EnrollmentStatus,
    SendStatus,
)
from app.blueprints.crm.public import Contact
from app.blueprints.team.public import Permission, can
from app.errors import BadRequest, NotFound, toast_header
from app.extensions import db
from app.htmx import render
from app.i18n import in_words

bp = Blueprint("campaign_report", __name__, url_prefix="/campaigns")

PAGE_SIZE = 50
POOL_LISTED = 12  # a larger pool is shown as counts and the accounts that cannot send
DASH = "\u2013"
PAGE = "campaigns/show.html"
LIVE = (EnrollmentStatus.WAITING.value, EnrollmentStatus.SENDING.value)

DECISIONS = {
    variants.SINGLE_VARIANT: _l("One variant: nothing to compare."),
    variants.NO_DIFFERENCE: _l("No difference yet."),
}
ACTIONS = {"pause": service.pause, "resume": service.resume, "archive": service.delete_campaign}
DONE = {"pause": _l("Campaign paused."), "resume": _l("Campaign resumed."),
        "archive": _l("Campaign archived.")}


@bp.before_request
@login_required
def signed_in() -> None:
    """Every campaign page needs a signed-in member."""


@bp.app_template_filter("campaign_rate")
def rate_text(value: float | None) -> str:
    """A share as a percentage in the viewer's language: 12.5 % or 12,5 %."""
    if value is None:
        return "—"
    return format_percent(value, format="#,##0.#%", locale=get_locale())


# -- what the regions show ---------------------------------------------------------------------


def window_text(window: dict[str, Any]) -> str:
    """Days and hours ("Mon-Fri, 10:00-19:00", with en dashes) in the viewer's language (days as
    codes 1..7, Monday first)."""
    names = day_names("abbreviated")
    days = sorted(int(d) for d in window.get("days") or [])
    spans: list[list[int]] = []
    for day in days:
        if spans and day == spans[-1][1] + 1:
            spans[-1][1] = day
        else:
            spans.append([day, day])
    said_days = ", ".join(
        names[a] if a == b else f"{names[a]}{', ' if b == a + 1 else DASH}{names[b]}"
        for a, b in spans)
    return f"{said_days}, {window.get('start', '')}{DASH}{window.get('end', '')}"


@dataclass
class Pool:
    """The campaign's accounts as the page shows them: each one in a small pool; in a large one
    how many are in each state, and the accounts that cannot send (someone has to act on those)."""

    total: int
    counts: list[tuple[str, int]]  # status, how many: the healthy first
    items: list[dict[str, Any]]
    unlisted: int  # accounts that cannot send and are not listed

    @property
    def summarized(self) -> bool:
        return self.total > POOL_LISTED


def pool(campaign: Campaign) -> Pool:
    """The pool in four small queries however large it is: its states counted, the accounts listed
    (all of a small pool; of a large one the first ``POOL_LISTED`` that cannot send) and, for those
    that cannot send, how many people wait on each."""
    linked = select(CampaignAccount.account_id).where(CampaignAccount.campaign_id == campaign.id)
    in_pool = (BDAccount.org_id == campaign.org_id, BDAccount.id.in_(linked))
    counted = dict(db.session.execute(
        select(BDAccount.status, func.count()).where(*in_pool).group_by(BDAccount.status)).all())
    total = sum(counted.values())
    listed = select(BDAccount).where(*in_pool)
    if total > POOL_LISTED:
        listed = listed.where(BDAccount.status != AccountStatus.ONLINE.value)
    accounts = list(db.session.scalars(listed.order_by(BDAccount.id).limit(POOL_LISTED)))
    down = [a.id for a in accounts if a.status != AccountStatus.ONLINE]
    waiting = dict(db.session.execute(
        select(Enrollment.account_id, func.count())
        .where(Enrollment.campaign_id == campaign.id, Enrollment.status.in_(LIVE),
               Enrollment.account_id.in_(down))
        .group_by(Enrollment.account_id)).all()) if down else {}
    unhealthy = total - counted.get(AccountStatus.ONLINE.value, 0)
    counts = sorted(counted.items(), key=lambda item: (item[0] != AccountStatus.ONLINE.value, item[0]))
    return Pool(
        total=total, counts=counts,
        items=[{"account": a, "healthy": a.status == AccountStatus.ONLINE, "waiting": waiting.get(a.id, 0)}
               for a in accounts],
        unlisted=max(0, unhealthy - len(down)) if total > POOL_LISTED else 0)


def decision_text(step: stats.StepFigures) -> str:
    decision = step.decision
    if step.winner_variant_id is not None:
        letter = next((v.letter for v in step.variants if v.variant_id == step.winner_variant_id), "?")
        if step.winner_chosen_by == "owner":
            return _("Variant %(letter)s, chosen by the owner: everyone who has not had this step gets it.",
                     letter=letter)
        return _("Variant %(letter)s won by the test: everyone who has not had this step gets it.",
                 letter=letter)
    if decision is None:
        return ""
    if decision.state == variants.COLLECTING:
        return _("Collecting: %(count)s more sends needed before the test.", count=decision.sends_needed)
    if decision.state == variants.WINNER:
        letter = next((v.letter for v in step.variants if v.variant_id == decision.winner_id), "?")
        return _("Variant %(letter)s leads by the test; it is chosen at the next check.", letter=letter)
    return str(DECISIONS.get(decision.state, ""))


def summary_data(campaign: Campaign) -> dict[str, Any]:
    """What the summary reads from the database, the same for every viewer: the figures (grouped
    queries), the accounts and the owner."""
    return {"figures": stats.figures(campaign), "pool": pool(campaign),
            "owner": db.session.get(User, campaign.owner_id) if campaign.owner_id else None}


def summary_context(campaign: Campaign, role: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
    """What ``campaign_summary`` shows, for the page, its HTMX answers and live pushes alike (``data``:
    ``summary_data`` read already), worded in the current language."""
    data = data or summary_data(campaign)
    found = data["figures"]
    return {"campaign": campaign, "figures": found, "pool": data["pool"], "owner": data["owner"],
            "manage": can(role, Permission.CAMPAIGNS_MANAGE), "window": window_text(campaign.window),
            "campaign_statuses": CAMPAIGN_STATUSES, "statuses": ENROLLMENT_STATUSES,
            "reason_text": reason_text, "decisions": {s.step_id: decision_text(s) for s in found.steps}}


def audience_context(campaign: Campaign, membership_role: str, user_id: int, status: str | None,
                     page: int, figures: stats.CampaignFigures | None = None) -> dict[str, Any]:
    """One page of the audience: its enrollments, their contacts and accounts (a query each); how
    many there are from ``figures`` when the page has read them already."""
    where = [Enrollment.campaign_id == campaign.id]
    if status:
        where.append(Enrollment.status == status)
    rows = list(db.session.scalars(
        select(Enrollment).where(*where).order_by(Enrollment.contact_id)  # the (campaign, contact) index
        .offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)))
    more, rows = len(rows) > PAGE_SIZE, rows[:PAGE_SIZE]
    if figures is not None:
        total = figures.statuses.get(status, 0) if status else figures.enrolled
    else:
        total = db.session.scalar(select(func.count()).select_from(Enrollment).where(*where)) or 0
    contact_ids = [e.contact_id for e in rows]
    contacts = {c.id: c for c in db.session.scalars(
        select(Contact).where(Contact.org_id == campaign.org_id, Contact.id.in_(contact_ids)))} \
        if contact_ids else {}
    account_ids = {e.account_id for e in rows if e.account_id}
    accounts = {a.id: a for a in db.session.scalars(
        select(BDAccount).where(BDAccount.org_id == campaign.org_id, BDAccount.id.in_(account_ids)))} \
        if account_ids else {}
    return {"campaign": campaign, "enrollments": rows, "contacts": contacts, "accounts": accounts,
            "steps": audience.live_steps(campaign), "filter_status": status or "", "page": page, "more": more,
            "total": total, "statuses": ENROLLMENT_STATUSES, "reason_text": reason_text,
            "manage": can(membership_role, Permission.CAMPAIGNS_MANAGE), "user_id": user_id, "live": LIVE}


def journey(enrollment: Enrollment, campaign: Campaign) -> list[dict[str, Any]]:
    """A person's way through the sequence, oldest first: enrolled, each step (variant, when it
    went, when they read it), their reply, the end."""
    letters = {v.id: v.letter for s in campaign.steps for v in s.variants}
    sends = db.session.scalars(select(CampaignSend).where(CampaignSend.enrollment_id == enrollment.id)
                               .order_by(CampaignSend.position))
    steps: list[dict[str, Any]] = [{"kind": "enrolled", "at": enrollment.enrolled_at}]
    if enrollment.started_at:
        steps.append({"kind": "started", "at": enrollment.started_at})
    for send in sends:
        steps.append({"kind": f"send_{send.status}", "at": send.sent_at or send.created_at,
                      "position": send.position + 1, "variant": letters.get(send.variant_id),
                      "reason": in_words(send.reason) if send.status != SendStatus.SENT else ""})
        if send.read_at and send.status == SendStatus.SENT:
            steps.append({"kind": "read", "at": send.read_at, "position": send.position + 1})
    if enrollment.replied_at:
        steps.append({"kind": "replied", "at": enrollment.replied_at})
    if enrollment.ended_at and enrollment.status != EnrollmentStatus.REPLIED:
        failed = enrollment.status == EnrollmentStatus.FAILED
        steps.append({"kind": enrollment.status, "at": enrollment.ended_at,
                      "reason": reason_text(enrollment.reason),
                      "detail": in_words(enrollment.detail) if failed else ""})
    return steps


# -- the routes --------------------------------------------------------------------------------


def _campaign(campaign_id: int) -> Campaign:
    """The organization's campaign, its pool left unloaded (``pool`` counts it instead: hundreds of
    accounts would be hundreds of objects per view)."""
    found = db.session.scalar(select(Campaign).where(Campaign.org_id == g.membership.org_id,
                                                     Campaign.id == campaign_id)
                              .options(lazyload(Campaign.accounts)))
    if found is None:
        raise NotFound(_("Campaign not found."))
    return found


def _audience_args() -> tuple[str | None, int]:
    status = request.values.get("status") or None
    if status is not None and status not in {s.value for s in EnrollmentStatus}:
        raise BadRequest(_("No such status."))
    try:
        page = max(1, int(request.values.get("page") or 1))
    except ValueError:
        page = 1
    return status, page


def _page_context(campaign: Campaign) -> dict[str, Any]:
    status, page = _audience_args()
    role = g.membership.role
    summary = summary_context(campaign, role)
    return {**audience_context(campaign, role, g.membership.user_id, status, page, summary["figures"]),
            **summary,
            "edit_url": url_for("campaigns.edit", campaign_id=campaign.id)
            if "campaigns.edit" in _endpoints() else None}


def _endpoints() -> set[str]:
    return set(current_app.view_functions)


def block(name: str, toast: str | None = None, **context) -> Response:
    """One region of the page (its HTMX requests, and the plain ones a region's links make)."""
    response = make_response(render_block(PAGE, name, **context))
    response.vary.add("HX-Request")
    if toast:
        response.headers["HX-Trigger"] = toast_header(toast, "success")
    return response


@bp.get("/<int:campaign_id>", endpoint="show")
def show(campaign_id: int):
    campaign = _campaign(campaign_id)
    return render(PAGE, **_page_context(campaign))


@bp.get("/<int:campaign_id>/summary")
def summary(campaign_id: int):
    """The state and figures again (the page's live region re-fetching itself)."""
    campaign = _campaign(campaign_id)
    return block("campaign_summary", **summary_context(campaign, g.membership.role))


@bp.get("/<int:campaign_id>/audience")
def audience_page(campaign_id: int):
    campaign = _campaign(campaign_id)
    status, page = _audience_args()
    return block("campaign_audience",
                 **audience_context(campaign, g.membership.role, g.membership.user_id, status, page))


@bp.get("/<int:campaign_id>/enrollments/<int:enrollment_id>")
def enrollment_journey(campaign_id: int, enrollment_id: int):
    campaign = _campaign(campaign_id)
    enrollment = service.get_enrollment(g.membership.org_id, campaign.id, enrollment_id)
    hide = bool(request.args.get("hide"))
    return render("campaigns/_journey.html", enrollment=enrollment, campaign=campaign, hide=hide,
                  journey=[] if hide else journey(enrollment, campaign), statuses=ENROLLMENT_STATUSES)


@bp.post("/<int:campaign_id>/status")
def change_status(campaign_id: int):
    """Pause, resume or archive (``action``); a refusal is a toast."""
    campaign = _campaign(campaign_id)
    action = request.form.get("action", "")
    if action not in ACTIONS:
        raise BadRequest(_("Choose pause, resume or archive."))
    ACTIONS[action](g.membership, campaign)
    db.session.commit()
    return block("campaign_summary", toast=str(DONE[action]), **summary_context(campaign, g.membership.role))


@bp.post("/<int:campaign_id>/steps/<int:step_id>/winner")
def choose_winner(campaign_id: int, step_id: int):
    campaign = _campaign(campaign_id)
    raw = request.form.get("variant_id") or None
    try:
        variant_id = int(raw) if raw is not None else None
    except ValueError:
        raise BadRequest(_("Choose one of the step's variants.")) from None
    service.choose_winner(g.membership, campaign, step_id, variant_id)
    db.session.commit()
    return block("campaign_summary", toast=_("Winner chosen.") if variant_id else _("Back to the split."),
                 **summary_context(campaign, g.membership.role))


@bp.post("/<int:campaign_id>/enrollments/<int:enrollment_id>/stop")
def stop(campaign_id: int, enrollment_id: int):
    """Stop one person's sequence (a step still in the outbox is withdrawn); the table answers."""
    campaign = _campaign(campaign_id)
    enrollment = service.get_enrollment(g.membership.org_id, campaign.id, enrollment_id)
    service.stop_enrollment(g.membership, enrollment)
    db.session.commit()
    status, page = _audience_args()
    return block("campaign_audience", toast=_("Sequence stopped."),
                 **audience_context(campaign, g.membership.role, g.membership.user_id, status, page))
