"""Reusable message texts of an organization (variables and spintax allowed), for campaign steps
and the inbox composer. Names are unique per organization."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.blueprints.campaigns import rendering, variables
from app.blueprints.campaigns.models import MessageTemplate
from app.blueprints.team.public import Membership, Permission, can
from app.errors import DomainError, Forbidden, NotFound
from app.extensions import db

MAX_TEXT = 4096


def templates(org_id: int) -> list[MessageTemplate]:
    return list(db.session.scalars(select(MessageTemplate).where(MessageTemplate.org_id == org_id)
                                   .order_by(func.lower(MessageTemplate.name), MessageTemplate.id)))


def get_template(org_id: int, template_id: int) -> MessageTemplate:
    found = db.session.scalar(select(MessageTemplate).where(MessageTemplate.org_id == org_id,
                                                            MessageTemplate.id == template_id))
    if found is None:
        raise NotFound(_("Template not found."))
    return found


def _clean(org_id: int, name: str | None, text: str | None, *, exclude: int | None = None) -> tuple[str, str]:
    name = " ".join(str(name or "").split())
    if not name or len(name) > 120:
        message = _("Give the template a name (at most 120 characters).")
        raise DomainError(message, {"name": message})
    body = str(text or "").strip()
    if not body or len(body) > MAX_TEXT:
        message = _("Write the template's text (at most %(limit)s characters).", limit=MAX_TEXT)
        raise DomainError(message, {"text": message})
    problems = rendering.check(body, variables.names(org_id))
    if problems:
        from app.blueprints.campaigns.service import problem_text

        message = problem_text(problems[0])
        raise DomainError(message, {"text": message})
    taken = select(MessageTemplate.id).where(MessageTemplate.org_id == org_id,
                                             func.lower(MessageTemplate.name) == name.lower())
    if exclude is not None:
        taken = taken.where(MessageTemplate.id != exclude)
    if db.session.scalar(taken.limit(1)) is not None:
        raise _taken()
    return name, body


def _taken() -> DomainError:
    message = _("A template with this name already exists.")
    return DomainError(message, {"name": message})


def _flush(template: MessageTemplate) -> None:
    """Flush in a savepoint: a concurrent request taking the same name meanwhile is the same
    refusal as a name taken before."""
    try:
        with db.session.begin_nested():
            db.session.add(template)
    except IntegrityError:
        raise _taken() from None


def create_template(actor: Membership, name: str | None, text: str | None) -> MessageTemplate:
    """Any member may keep a template for the team (they are texts, not sends)."""
    name, body = _clean(actor.org_id, name, text)
    template = MessageTemplate(org_id=actor.org_id, name=name, text=body, created_by_id=actor.user_id)
    _flush(template)
    return template


def _check_edit(actor: Membership, template: MessageTemplate) -> None:
    if template.created_by_id != actor.user_id and not can(actor.role, Permission.CAMPAIGNS_MANAGE):
        raise Forbidden(_("Only its author or a manager can change this template."))


def update_template(actor: Membership, template_id: int, data: dict) -> MessageTemplate:
    """Its author, or managers and up, rename it or change its text (given keys only)."""
    template = get_template(actor.org_id, template_id)
    _check_edit(actor, template)
    name, body = _clean(actor.org_id, data.get("name", template.name), data.get("text", template.text),
                        exclude=template.id)
    template.name, template.text = name, body
    _flush(template)
    return template


def delete_template(actor: Membership, template_id: int) -> None:
    template = get_template(actor.org_id, template_id)
    _check_edit(actor, template)
    db.session.delete(template)
    db.session.flush()


def problems_of(org_id: int, text: str) -> list[str]:
    """What is wrong with ``text`` as a template, in the reader's language (unknown variables too)."""
    from app.blueprints.campaigns.service import problem_text

    return list(dict.fromkeys(problem_text(p) for p in rendering.check(text or "", variables.names(org_id))))


def render_for(org_id: int, template: MessageTemplate, contact_id: int | None, seed: str) -> str:
    """The template's text for one contact, to insert into a message being written: a variable
    with nothing to show and no fallback stays as ``{{name}}``, for the member to fill in (a
    fallback still shows where one is written)."""
    values = variables.values_for(org_id, [contact_id]).get(contact_id, {}) if contact_id is not None else {}
    parsed = rendering.parse(template.text)
    if not rendering.render(parsed, values, seed=seed).missing:
        return rendering.render(parsed, values, seed=seed).text
    # Each bare blank variable gets a fallback that marks its place, put back as {{name}} after.
    source, marks = template.text, {}
    for n, v in reversed(list(enumerate(parsed.occurrences))):
        if v.fallback is None and v.name and not str(values.get(v.name) or "").strip():
            mark = f"\x00{n}\x00"
            marks[mark] = "{{" + v.name + "}}"
            source = source[: v.start] + "{{" + v.name + "|" + mark + "}}" + source[v.end :]
    text = rendering.render(source, values, seed=seed).text
    for mark, shown in marks.items():
        text = text.replace(mark, shown)
    return text
