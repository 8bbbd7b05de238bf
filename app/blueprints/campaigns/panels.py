"""Campaigns where the team works: what campaigns register into the CRM and the inbox, and the
small routes those pieces post to (blueprint ``campaign_panels``).

- a contact's page: the campaigns they are in (status, reason, step, account), Stop for a live
  sequence, and the do-not-contact toggle (``crm.public.register_panel``);
- the inbox: which campaign, step and variant queued an outbound message (``register_origin``, one
  query for a page of messages), and in the chat's side panel the contact's live sequences with
  Stop and the do-not-contact toggle (``register_chat_section``); the composer's template picker
  (``register_composer_tool``, its routes in ``template_routes``);
- the contacts list: the bulk action "Add to campaign" (``register_list_action``): a picker of the
  campaigns that still take people, then ``service.add_contacts`` with the selection.

The factory imports this module in every process that serves pages.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, g, make_response, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import login_required
from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from app.blueprints.accounts.public import BDAccount
from app.blueprints.campaigns import message_templates, service, suppression
from app.blueprints.campaigns.dispatcher import ORIGIN  # what it writes on its outbox messages
from app.blueprints.campaigns.labels import CAMPAIGN_STATUSES, ENROLLMENT_STATUSES, reason_text
from app.blueprints.campaigns.models import (
    ENDED,
    Campaign,
    CampaignSend,
    CampaignStatus,
    Enrollment,
    StepVariant,
)
from app.blueprints.crm.public import (
    Contact,
    Entity,
    ListAction,
    RecordPanel,
    list_selection,
    register_list_action,
    register_panel,
)
from app.blueprints.messaging.public import (
    Chat,
    ChatSection,
    ComposerTool,
    get_chat,
    register_chat_section,
    register_composer_tool,
    register_origin,
)
from app.blueprints.team.public import Membership, Permission, can, require
from app.errors import BadRequest, NotFound, toast_header
from app.extensions import db

bp = Blueprint("campaign_panels", __name__, url_prefix="/campaigns")

OPEN = (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED, CampaignStatus.RUNNING, CampaignStatus.PAUSED)
CONTACT_PANEL = "campaigns/_contact_panel.html"
CHAT_SECTION = "campaigns/_chat_origin.html"
COMPOSER_TOOL = "campaigns/_composer_templates.html"


@bp.before_request
@login_required
def signed_in() -> None:
    """Every panel action needs a signed-in member."""


# -- what a contact's page and a chat's panel show ---------------------------------------------


def enrollments_of(viewer: Membership, contact: Contact, *, live_only: bool = False) -> list[dict[str, Any]]:
    """The contact's enrollments, newest first, with their campaign, step and account, and whether
    ``viewer`` may stop each (two queries)."""
    rows = db.session.execute(
        select(Enrollment, Campaign).join(Campaign, Campaign.id == Enrollment.campaign_id)
        .where(Enrollment.org_id == viewer.org_id, Enrollment.contact_id == contact.id)
        .order_by(Enrollment.enrolled_at.desc(), Enrollment.id.desc())
    ).all()
    account_ids = {e.account_id for e, _c in rows if e.account_id}
    accounts = ({a.id: a for a in db.session.scalars(select(BDAccount).where(BDAccount.id.in_(account_ids)))}
                if account_ids else {})
    may_stop = can(viewer.role, Permission.CAMPAIGNS_MANAGE) or contact.owner_id == viewer.user_id
    found = []
    for enrollment, campaign in rows:
        live = enrollment.status not in ENDED
        if live_only and not live:
            continue
        steps = sum(1 for s in campaign.steps if s.removed_at is None)
        found.append({"enrollment": enrollment, "campaign": campaign, "live": live, "steps": steps,
                      "step": min(enrollment.step_index + 1, steps) if steps else 0,
                      "account": accounts.get(enrollment.account_id),
                      "status": str(ENROLLMENT_STATUSES.get(enrollment.status, enrollment.status)),
                      "reason": reason_text(enrollment.reason), "can_stop": live and may_stop})
    return found


def panel_context(viewer: Membership, contact: Contact, *, live_only: bool = False) -> dict[str, Any]:
    return {"contact": contact, "enrollments": enrollments_of(viewer, contact, live_only=live_only),
            "suppressed": suppression.is_suppressed(viewer.org_id, contact),
            "can_unlist": can(viewer.role, Permission.CAMPAIGNS_MANAGE),
            "report": "campaign_report.show" in current_app.view_functions}


def chat_section(viewer: Membership, chat: Chat, contact: Contact | None) -> dict[str, Any] | None:
    """The chat's side panel: the contact's live sequences and the do-not-contact toggle."""
    if contact is None:
        return None
    return {**panel_context(viewer, contact, live_only=True), "chat": chat}


def describe(message_ids: list[int]) -> dict[int, str]:
    """Where each campaign message came from, in the reader's language (one query)."""
    counted = aliased(StepVariant)
    variants = (select(func.count(counted.id)).where(counted.step_id == CampaignSend.step_id)
                .correlate(CampaignSend).scalar_subquery())
    rows = db.session.execute(
        select(CampaignSend.message_id, Campaign.name, CampaignSend.position, StepVariant.position, variants)
        .join(Campaign, Campaign.id == CampaignSend.campaign_id)
        .outerjoin(StepVariant, StepVariant.id == CampaignSend.variant_id)
        .where(CampaignSend.message_id.in_(message_ids))
    ).all()
    found = {}
    for message_id, name, position, variant, count in rows:
        if variant is not None and count and count > 1:
            letter = chr(ord("A") + variant) if variant < 26 else str(variant + 1)
            found[message_id] = _("Campaign “%(name)s” · step %(step)s · variant %(variant)s",
                                  name=name, step=position + 1, variant=letter)
        else:
            found[message_id] = _("Campaign “%(name)s” · step %(step)s", name=name, step=position + 1)
    return found


def composer_tool(viewer: Membership, chat: Chat) -> dict[str, Any]:
    manage = "message_templates.index" in current_app.view_functions
    return {"chat": chat, "templates": message_templates.templates(viewer.org_id),
            "manage_url": url_for("message_templates.index") if manage else None}


register_panel(Entity.CONTACT, RecordPanel(template=CONTACT_PANEL, load=panel_context))
register_origin(ORIGIN, describe)
register_chat_section(ChatSection(template=CHAT_SECTION, load=chat_section))
register_composer_tool(ComposerTool(template=COMPOSER_TOOL, load=composer_tool))
register_list_action(Entity.CONTACT, ListAction(
    "add_to_campaign", _l("Add to campaign"), "campaign_panels.add_to_campaign", Permission.CAMPAIGNS_MANAGE))


# -- the panels' actions -----------------------------------------------------------------------


def _contact(contact_id: int) -> Contact:
    found = db.session.scalar(select(Contact).where(Contact.org_id == g.membership.org_id,
                                                    Contact.id == contact_id, Contact.deleted_at.is_(None)))
    if found is None:
        raise NotFound(_("Contact not found."))
    return found


def _panel_answer(contact: Contact, toast: str) -> Response:
    """The piece the action came from, again: the chat's section (``chat_id`` posted) or the
    contact page's panel."""
    chat_id = request.form.get("chat_id", "")
    if chat_id.isdigit():
        chat = get_chat(g.membership, int(chat_id))
        body = render_template(CHAT_SECTION, section={"context": chat_section(g.membership, chat, contact)})
    else:
        body = render_template(CONTACT_PANEL, panel={"context": panel_context(g.membership, contact)})
    response = make_response(body)
    response.headers["HX-Trigger"] = toast_header(toast, "success")
    return response


@bp.post("/panel/enrollments/<int:enrollment_id>/stop")
def stop(enrollment_id: int):
    """Stop one person's sequence from their page or their chat (managers and the contact's owner)."""
    enrollment = db.session.scalar(select(Enrollment).where(Enrollment.org_id == g.membership.org_id,
                                                            Enrollment.id == enrollment_id))
    if enrollment is None:
        raise NotFound(_("Not in this campaign."))
    contact = _contact(enrollment.contact_id)
    service.stop_enrollment(g.membership, enrollment)
    db.session.commit()
    return _panel_answer(contact, _("Sequence stopped."))


@bp.post("/panel/contacts/<int:record_id>/do-not-contact")
def do_not_contact(record_id: int):
    """``listed=1`` puts the contact on the do-not-contact list (any member); ``listed=0`` takes
    them off it (managers and above)."""
    contact = _contact(record_id)
    if request.form.get("listed") == "1":
        suppression.add_contact(g.membership, contact.id)
        toast = _("%(name)s is on the do-not-contact list.", name=contact.name)
    else:
        suppression.remove_contact(g.membership, contact)
        toast = _("%(name)s is no longer on the do-not-contact list.", name=contact.name)
    db.session.commit()
    return _panel_answer(contact, toast)


# -- the contacts list's "Add to campaign" -----------------------------------------------------

HIDDEN_SKIP = {"csrf_token", "action", "campaign_id"}


def added_text(name: str, result: dict[str, Any]) -> str:
    """"Added 3 to “Q1”; 1 already in; skipped: 2 (no Telegram username, phone or id)."""
    parts = [ngettext("Added %(num)d contact to “%(name)s”.", "Added %(num)d contacts to “%(name)s”.",
                      result["added"], name=name)]
    if result["already"]:
        parts.append(ngettext("%(num)d was in it already.", "%(num)d were in it already.", result["already"]))
    for reason, count in sorted((result.get("skipped") or {}).items()):
        parts.append(ngettext("%(num)d skipped: %(reason)s.", "%(num)d skipped: %(reason)s.", count,
                              reason=reason_text(reason).lower()))
    return " ".join(parts)


@bp.post("/panel/add-contacts", endpoint="add_to_campaign")
def add_to_campaign():
    """The bulk bar's "Add to campaign": without ``campaign_id``, the picker (the selection kept in
    it); with one, the selection enrolled and a toast of what happened; the picker goes."""
    ids = list_selection(g.membership.org_id, Entity.CONTACT, request.form)
    if not ids:
        raise BadRequest(_("Select at least one row first."))
    campaign_id = request.form.get("campaign_id", "")
    if not campaign_id.isdigit():
        require(g.membership, Permission.CAMPAIGNS_MANAGE)
        campaigns = list(db.session.scalars(
            select(Campaign).where(Campaign.org_id == g.membership.org_id, Campaign.status.in_(OPEN))
            .order_by(Campaign.created_at.desc(), Campaign.id.desc())))
        keep = [(k, v) for k, values in request.form.lists() if k not in HIDDEN_SKIP for v in values]
        return render_template("campaigns/_add_to_campaign.html", campaigns=campaigns, keep=keep,
                               count=len(ids), new_url=_new_campaign_url(), statuses=CAMPAIGN_STATUSES)
    found = service.get_campaign(g.membership.org_id, int(campaign_id))
    result = service.add_contacts(g.membership, found, contact_ids=ids)
    db.session.commit()
    response = make_response("")
    response.headers["HX-Trigger"] = toast_header(added_text(found.name, result), "success")
    return response


@bp.get("/panel/add-contacts/close")
def close_picker():
    """The picker's Cancel: the panel emptied."""
    return ""


def _new_campaign_url() -> str | None:
    for endpoint in ("campaign_builder.new", "campaigns.new"):
        if endpoint in current_app.view_functions:
            return url_for(endpoint)
    return None
