"""Mail in tests: run the ``email`` queue, read what was recorded or what the SMTP server got, and
find a mail's link."""

from __future__ import annotations

import re
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default

from sqlalchemy import select

from app.extensions import db
from app.integrations.mail import OutboundMail
from app.jobs import Queues
from tests.queues import work

_LINK = re.compile(r"https?://\S+")


def work_mail() -> None:
    """Run every job waiting on the ``email`` queue (sign-ups, resets, deliveries), as a worker would."""
    db.session.commit()
    work(Queues.EMAIL)
    db.session.expire_all()


def mails(to: str | None = None, template: str | None = None) -> list[OutboundMail]:
    """The recorded mail, oldest first, narrowed to an address and a template."""
    stmt = select(OutboundMail).order_by(OutboundMail.id)
    if to is not None:
        stmt = stmt.where(OutboundMail.to_address == to)
    if template is not None:
        stmt = stmt.where(OutboundMail.template == template)
    return list(db.session.scalars(stmt))


def link_in(text: str, path: str) -> str:
    """The first address in ``text`` whose path starts with ``path`` ("/auth/verify/")."""
    for url in _LINK.findall(text):
        if re.match(r"https?://[^/]+" + re.escape(path), url):
            return url
    raise AssertionError(f"no {path} link in:\n{text}")


class SmtpInbox:
    """What a real SMTP server (aiosmtpd) received: envelopes and parsed messages."""

    def __init__(self) -> None:
        self.envelopes = []
        self.refuse_with: str | None = None  # "451 ..." or "550 ...": answer DATA with it

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        if self.refuse_with:
            return self.refuse_with
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    @property
    def messages(self) -> list[EmailMessage]:
        return [message_from_bytes(e.content, policy=default) for e in self.envelopes]

    def text_of(self, message: EmailMessage) -> str:
        return message.get_body(preferencelist=("plain",)).get_content()
