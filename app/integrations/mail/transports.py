"""Where a mail goes: an SMTP server (smtplib), or the development mailbox.

``SMTP_URL`` chooses: ``smtp://host:25`` (plain: a relay on the same host or network),
``smtp+starttls://user:password@host:587`` (STARTTLS, required, certificate checked) or
``smtps://user:password@host:465`` (TLS from the first byte). User and password are URL-encoded.
Without it, mail is kept in the database for the development mailbox page and its links logged.
"""

from __future__ import annotations

import logging
import re
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, formatdate
from urllib.parse import unquote, urlsplit

from app.integrations.mail.models import OutboundMail

log = logging.getLogger("app.mail")

TIMEOUT_SECONDS = 20
_LINK = re.compile(r"https?://\S+")


class PermanentFailure(Exception):
    """The server refused this mail for good (a 5xx answer): trying again would change nothing."""


def message_of(mail: OutboundMail, sender: str) -> EmailMessage:
    """The MIME message: plain text with an HTML alternative, the Message-ID every attempt reuses
    (so a receiver that saw an attempt whose answer we lost can tell the retry is the same mail)."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = mail.to_address
    message["Subject"] = mail.subject
    message["Message-ID"] = mail.message_id
    message["Date"] = format_datetime(mail.created_at) if mail.created_at else formatdate()
    message.set_content(mail.text_body or "")
    if mail.html_body:
        message.add_alternative(mail.html_body, subtype="html")
    message["Content-Language"] = mail.language  # after the bodies: setting them clears Content-*
    return message


@dataclass(frozen=True)
class SmtpTransport:
    host: str
    port: int
    security: str  # "plain", "starttls" or "ssl"
    username: str | None
    password: str | None
    sender: str
    name: str = "smtp"
    keeps_bodies: bool = False  # bodies hold sign-in links: dropped once the server has them

    @classmethod
    def from_url(cls, url: str, sender: str) -> SmtpTransport:
        parts = urlsplit(url)
        security = {"smtp": "plain", "smtp+starttls": "starttls", "smtps": "ssl"}.get(parts.scheme)
        if security is None or not parts.hostname:
            raise ValueError("SMTP_URL must look like smtp://, smtp+starttls:// or smtps://host[:port]")
        default_port = {"plain": 25, "starttls": 587, "ssl": 465}[security]
        return cls(host=parts.hostname, port=parts.port or default_port, security=security,
                   username=unquote(parts.username) if parts.username else None,
                   password=unquote(parts.password) if parts.password else None, sender=sender)

    def deliver(self, mail: OutboundMail) -> None:
        """Hand ``mail`` to the server. Raises PermanentFailure for a refusal that will not change,
        any other exception (connection, timeout, 4xx) for one worth retrying."""
        context = ssl.create_default_context()
        try:
            if self.security == "ssl":
                client = smtplib.SMTP_SSL(self.host, self.port, timeout=TIMEOUT_SECONDS, context=context)
            else:
                client = smtplib.SMTP(self.host, self.port, timeout=TIMEOUT_SECONDS)
            with client:
                if self.security == "starttls":
                    client.starttls(context=context)  # raises when the server offers none
                if self.username:
                    client.login(self.username, self.password or "")
                client.send_message(message_of(mail, self.sender))
        except smtplib.SMTPRecipientsRefused as err:
            codes = [code for code, _ in err.recipients.values()]
            if all(code >= 500 for code in codes):
                raise PermanentFailure(_described(err)) from err
            raise
        except smtplib.SMTPResponseException as err:
            if err.smtp_code >= 500 and not isinstance(err, smtplib.SMTPAuthenticationError):
                raise PermanentFailure(_described(err)) from err
            raise


def _described(err: Exception) -> str:
    return f"{type(err).__name__}: {err}"[:500]


@dataclass(frozen=True)
class MailboxTransport:
    """The development mailbox: the mail stays in the table for ``/dev/mailbox`` to show, and its
    links are printed in the log, so a flow that mails a link can be finished from the console."""

    name: str = "mailbox"
    keeps_bodies: bool = True

    def deliver(self, mail: OutboundMail) -> None:
        links = " ".join(_LINK.findall(mail.text_body or "")) or "-"
        log.info("development mailbox: %s to %s (%s), links: %s", mail.template, mail.to_address,
                 mail.subject, links)


def transport_for(smtp_url: str | None, sender: str) -> SmtpTransport | MailboxTransport:
    return SmtpTransport.from_url(smtp_url, sender) if smtp_url else MailboxTransport()
