"""The development mailbox: where mail goes when no SMTP server is configured.

Registered only then, and never in production (``create_app``). A signed-in person sees the mail
sent to their own address and the mail their current organization sent (its invitations); a
stranger's reset link stays out of sight (the worker's log prints every link, for the console).
"""

from __future__ import annotations

import re

from flask import Blueprint, abort, g, make_response
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from markupsafe import Markup, escape
from sqlalchemy import or_, select

from app.extensions import db, talisman
from app.htmx import render
from app.integrations.mail import MailStatus, OutboundMail

bp = Blueprint("mailbox", __name__, url_prefix="/dev/mailbox")
PAGE = 100
# A mail's HTML is shown as mail clients show it: in a frame of its own that runs nothing, with
# the mail's inline styles (its only styling) allowed there and nowhere else.
MAIL_FRAME_CSP = {"default-src": "'none'", "style-src": "'unsafe-inline'", "img-src": "data:",
                  "frame-ancestors": "'self'", "sandbox": ""}


STATUSES = {MailStatus.QUEUED: _l("Queued"), MailStatus.SENDING: _l("Sending"),
            MailStatus.SENT: _l("Delivered here"), MailStatus.FAILED: _l("Failed")}
_LINK = re.compile(r"(https?://[^\s<>\"']+)")


@bp.app_template_filter("linked")
def linked(text: str | None) -> Markup:
    """Plain text, escaped, with its web addresses as links (the mail's links are what one opens)."""
    parts = _LINK.split(text or "")  # odd places hold the links
    return Markup("").join(Markup('<a href="{0}">{0}</a>').format(part) if i % 2 else escape(part)
                           for i, part in enumerate(parts))


@bp.before_request
@login_required
def signed_in() -> None:
    """Only a signed-in person reads the mailbox."""


def _readable():
    membership = g.get("membership")
    mine = OutboundMail.to_address == current_user.email
    return or_(mine, OutboundMail.org_id == membership.org_id) if membership else mine


@bp.get("/")
def inbox():
    mails = db.session.scalars(select(OutboundMail).where(_readable())
                               .order_by(OutboundMail.id.desc()).limit(PAGE))
    return render("core/mailbox.html", mails=list(mails), statuses=STATUSES)


def _mail(mail_id: int) -> OutboundMail:
    mail = db.session.scalar(select(OutboundMail).where(OutboundMail.id == mail_id, _readable()))
    if mail is None:
        abort(404)
    return mail


@bp.get("/<int:mail_id>")
def message(mail_id: int):
    return render("core/mailbox_message.html", mail=_mail(mail_id), statuses=STATUSES)


@bp.get("/<int:mail_id>/html")
@talisman(content_security_policy=MAIL_FRAME_CSP, frame_options="SAMEORIGIN")
def message_html(mail_id: int):
    response = make_response(_mail(mail_id).html_body or "")
    response.headers["Content-Type"] = "text/html; charset=utf-8"
    return response
