"""The inbox page: the chat list, a chat's thread with its composer, and the side panel.

``/inbox/`` and ``/inbox/chats/<id>`` are one page (``inbox/index.html``): an HTMX filter request
gets the list (block ``chat_list``), opening a chat gets the conversation (block
``conversation``). Actions answer with the fragments they change, out of band; teammates' pages
follow through the live renderers (``live.py``).
"""

from __future__ import annotations

from typing import Any

from flask import Response, flash, g, make_response, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import login_required
from jinja2_fragments.flask import render_block

from app.blueprints.accounts.public import gateway, visible_accounts
from app.blueprints.messaging import bp, live, media, origins, panels, service  # noqa: F401 - live, panels: registered
from app.blueprints.messaging.models import Chat
from app.blueprints.team.public import Permission, can, people
from app.canonical import id_or_none
from app.errors import DomainError, Forbidden, NotFound, toast_header
from app.extensions import db
from app.htmx import is_partial_request, render

PAGE = "inbox/index.html"
FRAGMENTS = "inbox/_fragments.html"


def fragment(block: str, status: int = 200, toast: str | None = None, **context) -> Response:
    """One block of ``inbox/_fragments.html``, whoever asks (these answers are never pages)."""
    response = make_response(render_block(FRAGMENTS, block, **context), status)
    response.vary.add("HX-Request")
    if toast:
        response.headers["HX-Trigger"] = toast_header(toast, "success")
    return response


@bp.before_request
@login_required
def signed_in() -> None:
    """Every inbox page needs a signed-in member."""


def _list_context(flt: service.InboxFilter, active_id: int | None = None) -> dict[str, Any]:
    members = people(g.membership.org_id)
    rows, next_cursor = service.list_chats(g.membership, flt)
    unread_chats, unread_messages = service.unread_totals(g.membership)
    return {"rows": rows, "next_cursor": next_cursor, "flt": flt, "active_id": active_id,
            "names": {u.id: u.name for u in members}, "members": members,
            "accounts": visible_accounts(g.membership), "unread_chats": unread_chats,
            "unread_messages": unread_messages, "can_assign": can(g.membership.role, Permission.CHATS_ASSIGN)}


def _names() -> dict[int, str]:
    """The organization's members by user id: who is assigned, who wrote."""
    return {u.id: u.name for u in people(g.membership.org_id)}


def _conversation_context(chat: Chat, names: dict[int, str]) -> dict[str, Any]:
    messages, older = service.thread(chat)
    return {"chat": chat, "messages": messages, "older": older, "origins": origins.labels(messages),
            **_panel_context(chat), "names": names,
            "can_assign": can(g.membership.role, Permission.CHATS_ASSIGN)}


def _panel_context(chat: Chat) -> dict[str, Any]:
    org_id, contact = g.membership.org_id, service.panel_contact(chat)
    return {"contact": contact, "deals": service.open_deals(org_id, contact.id if contact else None),
            "pipelines": service.deal_stages(org_id)}


@bp.get("/", endpoint="index")
def index():
    """The inbox; an HTMX filter or search request gets only the list (block ``chat_list``)."""
    flt = service.InboxFilter.from_args(request.args)
    return render(PAGE, block="chat_list", chat=None, **_list_context(flt))


@bp.get("/chats/<int:chat_id>")
def chat(chat_id: int):
    """A chat opened: the whole page, or (opening it from the list) block ``conversation``."""
    try:
        found = service.get_chat(g.membership, chat_id)
    except NotFound:
        if not _refetching_open_chat():
            raise
        # The open chat's live re-fetch, and the chat is no longer this viewer's (taken by a
        # teammate, removed). The frame that said so may have been overtaken by an answer
        # rendered before the change: this answer settles the region.
        return render(PAGE, block="conversation", status=404, chat=None, gone_id=chat_id)
    flt = service.InboxFilter.from_args(request.args)
    if is_partial_request():
        return render(PAGE, block="conversation", flt=flt, **_conversation_context(found, _names()))
    context = _list_context(flt, active_id=found.id)
    return render(PAGE, **{**context, **_conversation_context(found, context["names"])})


def _refetching_open_chat() -> bool:
    """The open conversation re-fetching itself (``live:resync``), not a person opening a chat."""
    return is_partial_request() and request.headers.get("HX-Trigger") == "conversation"


@bp.get("/badge")
def badge():
    """The sidebar's unread badge (a page asks once; live pushes keep it current)."""
    unread_chats, _ = service.unread_totals(g.membership)
    return fragment("nav_badge", unread_chats=unread_chats)


@bp.get("/list")
def more_chats():
    """The next page of the chat list (infinite scroll)."""
    flt = service.InboxFilter.from_args(request.args)
    rows, next_cursor = service.list_chats(g.membership, flt, request.args.get("cursor"))
    return fragment("chat_rows", rows=rows, next_cursor=next_cursor, flt=flt,
                  names=_names())


@bp.get("/chats/<int:chat_id>/messages")
def messages(chat_id: int):
    """Older messages (``before``: scrolling back), or newer ones (``after``: a message id)."""
    found = service.get_chat(g.membership, chat_id)
    names = _names()
    after = request.args.get("after", "")
    if after.isdigit():
        newer = service.newer_messages(found, int(after))
        return fragment("newer", chat=found, names=names, messages=newer, origins=origins.labels(newer))
    found_messages, older = service.thread(found, request.args.get("before"))
    return fragment("older", chat=found, messages=found_messages, older=older, names=names,
                    origins=origins.labels(found_messages))


@bp.post("/chats/<int:chat_id>/messages")
def send(chat_id: int):
    """Queue a message: the composer comes back empty, the message joins the thread as "sending"."""
    found = service.get_chat(g.membership, chat_id)
    try:
        message = service.queue_message(g.membership, found, request.form.get("text"),
                                        media.attachment_from(request.files))
    except DomainError as err:
        db.session.rollback()
        if isinstance(err, Forbidden | NotFound):
            raise
        found = service.get_chat(g.membership, chat_id)
        return fragment("composer", status=422, chat=found, text=request.form.get("text", ""),
                      error=err.fields.get("text") or err.fields.get("file") or err.message)
    response = fragment("sent", chat=found, m=message, names=_names(),
                      row=service.chat_row(found), flt=service.InboxFilter())
    db.session.commit()
    return response


@bp.post("/messages/<int:message_id>/retry")
def retry(message_id: int):
    message = service.get_message(g.membership, message_id)
    service.retry_message(g.membership, message)
    found = db.session.get(Chat, message.chat_id)
    response = fragment("message", m=message, chat=found,
                      names=_names(), toast=_("Sending again."))
    db.session.commit()
    return response


def _row_update(found: Chat, names: dict[int, str] | None = None, toast: str | None = None) -> Response:
    """The chat's row and the unread figures, out of band (the action's own target stays)."""
    unread_chats, unread_messages = service.unread_totals(g.membership)
    return fragment("row_update", row=service.chat_row(found), flt=service.InboxFilter(),
                  unread_chats=unread_chats, unread_messages=unread_messages,
                  names=names if names is not None else _names(), toast=toast)


@bp.post("/chats/<int:chat_id>/read")
def read(chat_id: int):
    """Mark the chat read (here now, on Telegram soon); sent by the page when a chat is opened."""
    found = service.get_chat(g.membership, chat_id)
    service.mark_read(g.membership, found)
    db.session.commit()
    return _row_update(found)


@bp.post("/read-all")
def read_all():
    count = service.mark_all_read(g.membership)
    db.session.commit()
    flt = service.InboxFilter.from_args(request.form)
    open_id = request.form.get("open", "")
    toast = ngettext("Marked %(num)d chat read.", "Marked %(num)d chats read.", count)
    return render(PAGE, block="chat_list", chat=None, toast=toast,
                  **_list_context(flt, active_id=int(open_id) if open_id.isdigit() else None))


@bp.post("/chats/<int:chat_id>/assign")
def assign(chat_id: int):
    found = service.get_chat(g.membership, chat_id)
    raw = (request.form.get("assignee_id") or "").strip()
    service.assign(g.membership, found, int(raw) if raw.isdigit() else None)
    db.session.commit()
    names = _names()
    who = names.get(found.assignee_id) if found.assignee_id else None
    return _row_update(found, names, toast=_("Assigned to %(name)s.", name=who) if who else _("Unassigned."))


@bp.post("/assign")
def bulk_assign():
    """The chats ticked in the list, to one member (or nobody), all or none; the list again."""
    ids = [chat_id for raw in request.form.getlist("chat_ids") if (chat_id := id_or_none(raw)) is not None]
    assignee = id_or_none(request.form.get("assignee_id"))
    flt = service.InboxFilter.from_args(request.form)
    try:
        if not ids:
            raise DomainError(_("Tick the chats to assign first."))
        count = service.assign_chats(g.membership, ids, assignee)
    except Forbidden:
        raise
    except DomainError as err:  # the list as it was, and why (a toast: the list is no form to mark)
        db.session.rollback()
        if not is_partial_request():
            flash(err.message, "error")
        response = render(PAGE, block="chat_list", chat=None, **_list_context(flt))
        response.headers["HX-Trigger"] = toast_header(err.message)
        return response
    db.session.commit()
    who = _names().get(assignee) if assignee is not None else None
    if who:
        toast = ngettext("%(num)d chat assigned to %(name)s.", "%(num)d chats assigned to %(name)s.", count,
                         name=who)
    else:
        toast = ngettext("%(num)d chat unassigned.", "%(num)d chats unassigned.", count)
    return render(PAGE, block="chat_list", chat=None, toast=toast, **_list_context(flt))


@bp.post("/chats/<int:chat_id>/contact")
def add_contact(chat_id: int):
    """Put the person of the chat in the CRM (or link the contact they already are)."""
    found = service.get_chat(g.membership, chat_id)
    contact = service.contact_for_chat(g.membership, found)
    db.session.commit()
    return fragment("panel", chat=found, **_panel_context(found),
                  toast=_("%(name)s is in your contacts.", name=contact.name))


@bp.post("/chats/<int:chat_id>/deals")
def create_deal(chat_id: int):
    found = service.get_chat(g.membership, chat_id)
    stage = (request.form.get("stage_id") or "").strip()
    try:
        deal = service.create_deal_from_chat(g.membership, found, request.form.get("title"),
                                             int(stage) if stage.isdigit() else None,
                                             request.form.get("value"))
    except DomainError as err:
        db.session.rollback()
        if isinstance(err, Forbidden | NotFound):
            raise
        found = service.get_chat(g.membership, chat_id)
        return fragment("panel", status=422, chat=found, **_panel_context(found),
                      deal_error=err.message, deal_errors=err.fields, values=request.form)
    db.session.commit()
    return fragment("panel", chat=found, **_panel_context(found),
                    toast=_("Deal “%(title)s” created.", title=deal.title))


def _form_id(name: str) -> int | None:
    """A form field's id: digits naming a row (canonical's rule), else None."""
    return id_or_none(request.form.get(name, ""))


@bp.post("/contacts/<int:record_id>/chat")
def start_chat(record_id: int):
    """"Message on Telegram" on a contact's (or a deal's) page: the chat with the contact from the
    chosen account, opened by the telegram process when there is none, then the inbox on it. A
    refusal goes back to the record page, saying why; nothing changes. (``record_id``: a contact's id,
    named as the CRM's record routes name it.)"""
    try:
        found = service.start_chat(g.membership, record_id, _form_id("account_id"), gateway.telegram())
    except DomainError as err:
        db.session.rollback()
        if isinstance(err, Forbidden | NotFound):
            raise
        flash(str(err.message), "error")  # plain text: a lazy one would be stored as markup
        deal_id = _form_id("deal_id")
        back = (url_for("crm.detail", entities="deals", record_id=deal_id) if deal_id is not None
                else url_for("crm.detail", entities="contacts", record_id=record_id))
        return redirect(back)
    db.session.commit()  # a chat that had no contact is linked to this one
    return redirect(url_for(".chat", chat_id=found.id))


@bp.get("/messages/<int:message_id>/file")
def file(message_id: int):
    """A message's file: stored, or fetched from Telegram first (``media.fetch``)."""
    message = service.get_message(g.membership, message_id)
    return media.serve(message, gateway.telegram(timeout=30))

