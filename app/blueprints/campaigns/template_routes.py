"""Settings → Message templates: the organization's reusable texts (variables and spintax, checked
as a campaign step's are), and the inbox composer's "insert a template" (rendered for the chat's
contact, a blank variable left as ``{{name}}`` for the member to fill in)."""

from __future__ import annotations

from flask import Blueprint, flash, g, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from app.blueprints.campaigns import message_templates, variables
from app.blueprints.campaigns.models import MessageTemplate
from app.blueprints.messaging.public import get_chat
from app.blueprints.team.public import Permission, can, people
from app.errors import DomainError, Forbidden, NotFound
from app.extensions import db
from app.htmx import render

bp = Blueprint("message_templates", __name__, url_prefix="/settings/templates")
PAGE = "campaigns/templates.html"


@bp.before_request
@login_required
def signed_in() -> None:
    """Every template page needs a signed-in member."""


def may_change(template: MessageTemplate) -> bool:
    mine = template.created_by_id == g.membership.user_id
    return mine or can(g.membership.role, Permission.CAMPAIGNS_MANAGE)


def _page(status: int = 200, editing: MessageTemplate | None = None, **extra):
    org_id = g.membership.org_id
    found = message_templates.templates(org_id)
    return render(PAGE, status=status, templates=found, editing=editing, may_change=may_change,
                  problems={t.id: message_templates.problems_of(org_id, t.text) for t in found},
                  authors={u.id: u.name for u in people(org_id)}, variables=variables.available(org_id),
                  **extra)


@bp.get("", endpoint="index")
def index():
    return _page()


@bp.post("")
def create():
    form = request.form
    try:
        template = message_templates.create_template(g.membership, form.get("name"), form.get("text"))
    except DomainError as err:
        db.session.rollback()
        if isinstance(err, Forbidden | NotFound):
            raise
        return _page(status=422, errors=err.fields, error=None if err.fields else err.message, values=form)
    db.session.commit()
    flash(_("Template “%(name)s” saved.", name=template.name), "success")
    return redirect(url_for(".index"))


@bp.get("/<int:template_id>")
def edit(template_id: int):
    template = message_templates.get_template(g.membership.org_id, template_id)
    if not may_change(template):
        raise Forbidden(_("Only its author or a manager can change this template."))
    return _page(editing=template)


@bp.post("/<int:template_id>")
def update(template_id: int):
    form = request.form
    try:
        template = message_templates.update_template(
            g.membership, template_id, {"name": form.get("name"), "text": form.get("text")})
    except DomainError as err:
        db.session.rollback()
        if isinstance(err, Forbidden | NotFound):
            raise
        editing = message_templates.get_template(g.membership.org_id, template_id)
        return _page(status=422, editing=editing, errors=err.fields,
                     error=None if err.fields else err.message, values=form)
    db.session.commit()
    flash(_("Template “%(name)s” saved.", name=template.name), "success")
    return redirect(url_for(".index"))


@bp.post("/<int:template_id>/delete")
def delete(template_id: int):
    template = message_templates.get_template(g.membership.org_id, template_id)
    name = template.name
    message_templates.delete_template(g.membership, template_id)
    db.session.commit()
    flash(_("Template “%(name)s” deleted.", name=name), "success")
    return redirect(url_for(".index"))


@bp.post("/check")
def check():
    """The form's text checked as it is typed: its problems, or nothing (block ``template_problems``)."""
    found = message_templates.problems_of(g.membership.org_id, request.form.get("text", ""))
    return render(PAGE, block="template_problems", live_problems=found)


@bp.post("/<int:template_id>/insert/<int:chat_id>")
def insert(template_id: int, chat_id: int):
    """The composer's picker: the text box again, with the template (rendered for the chat's
    contact) after what was already written; the picker closes (out of band)."""
    chat = get_chat(g.membership, chat_id)
    template = message_templates.get_template(g.membership.org_id, template_id)
    written = request.form.get("text", "").rstrip()
    inserted = message_templates.render_for(g.membership.org_id, template, chat.contact_id,
                                            seed=f"{chat.id}:{template.id}")
    text = f"{written}\n{inserted}" if written else inserted
    from app.blueprints.campaigns.panels import composer_tool

    body = render_template("campaigns/_composer_insert.html", chat=chat, text=text[:4096],
                           tool={"context": composer_tool(g.membership, chat)})
    return make_response(body)
