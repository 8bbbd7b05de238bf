"""Asking for a mail: templates, rendering in the recipient's language, the record, the job."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from email.utils import make_msgid
from typing import Any

from flask import current_app, has_request_context, render_template, url_for
from flask_babel import force_locale
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from app.db_types import utcnow
from app.extensions import db
from app.i18n import DEFAULT_LANGUAGE, LANGUAGES
from app.integrations.mail import delivery
from app.integrations.mail.models import MailStatus, OutboundMail
from app.jobs import Queues, enqueue_after_commit

SUBJECT_MAX = 255


@dataclass(frozen=True)
class MailTemplate:
    """A kind of mail: ``name`` ("team.invitation") finds its bodies, ``mail/team.invitation.html``
    and ``.txt``; ``subject`` is a lazy text its context's values fill ("%(org)s invited you")."""

    name: str
    subject: Any  # a lazy_gettext string: said in the recipient's language when rendered


_TEMPLATES: dict[str, MailTemplate] = {}


def register_template(name: str, subject: Any) -> MailTemplate:
    template = MailTemplate(name, subject)
    _TEMPLATES[name] = template
    return template


def templates() -> dict[str, MailTemplate]:
    return dict(_TEMPLATES)


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def render_mail(template: MailTemplate, language: str, context: dict[str, Any]) -> Rendered:
    """The mail's subject and bodies in ``language`` (whatever the request's own language is)."""
    with force_locale(language):
        subject = " ".join(str(template.subject % context).split())[:SUBJECT_MAX]
        values = {**context, "subject": subject, "language": language}
        return Rendered(subject=subject,
                        text=render_template(f"mail/{template.name}.txt", **values),
                        html=render_template(f"mail/{template.name}.html", **values))


def send_mail(template: MailTemplate, *, to: str, language: str | None, dedupe_key: str,
              context: dict[str, Any], org_id: int | None = None,
              user_id: int | None = None) -> OutboundMail:
    """Record a mail for the event ``dedupe_key`` names and deliver it once the caller commits.

    The event asking again (a retried job, a double click) gets the mail it already has, sent or
    not, and no second one: the key is unique in the table. Flushes, never commits.
    """
    existing = _by_key(dedupe_key)
    if existing is not None:
        return existing
    language = language if language in LANGUAGES else DEFAULT_LANGUAGE
    rendered = render_mail(template, language, context)
    values = {"org_id": org_id, "user_id": user_id, "to_address": to, "template": template.name,
                  "language": language, "dedupe_key": dedupe_key, "subject": rendered.subject,
                  "text_body": rendered.text, "html_body": rendered.html,
                  "message_id": make_msgid(idstring=secrets.token_hex(6), domain=_domain()),
                  "status": MailStatus.QUEUED, "attempts": 0, "created_at": utcnow()}
    # A concurrent ask for the same event may have taken the key since: then its mail is the one.
    insert = postgresql.insert if db.engine.dialect.name == "postgresql" else sqlite.insert
    mail_id = db.session.execute(insert(OutboundMail).values(**values).on_conflict_do_nothing()
                                 .returning(OutboundMail.id)).scalar()
    if mail_id is None:
        return _by_key(dedupe_key)
    mail = db.session.get(OutboundMail, mail_id)
    enqueue_after_commit(Queues.EMAIL, delivery.JOB, mail.id, job_id=delivery.job_id(mail.id),
                         retry=delivery.job_retry())
    return mail


def _by_key(dedupe_key: str) -> OutboundMail | None:
    return db.session.scalar(select(OutboundMail).where(OutboundMail.dedupe_key == dedupe_key))


def _domain() -> str:
    """The domain of Message-IDs: the sender's."""
    sender = current_app.config["SETTINGS"].mail_from
    address = sender.rsplit("<", 1)[-1].rstrip(">")
    return address.rpartition("@")[2] or "relay.localhost"


def external_url(endpoint: str, base: str | None = None, **values: Any) -> str:
    """An absolute link for a mail. It starts with ``PUBLIC_URL`` when set (always, in
    production): never with the Host a request claimed, or a password-reset mail asked for with a
    forged Host would carry its token to the forger's site. Without it (development), with
    ``base`` (the address the asking request came to, handed to a job), else the current
    request's, else localhost."""
    root = current_app.config["SETTINGS"].public_url or base
    if root is None and has_request_context():
        return url_for(endpoint, _external=True, **values)
    with current_app.test_request_context(base_url=root or "http://localhost:5000"):
        return url_for(endpoint, _external=True, **values)
