"""Delivering recorded mail: the ``email`` queue's job, its retries, and the sweep for lost jobs.

A mail is sent at most once per record unless an attempt dies between the server's acceptance
and our note of it (then the retry carries the same Message-ID). States: queued -> sending ->
sent, or back to queued with the error noted and a retry scheduled (10 s, 1 min, 5 min, 15 min,
1 h), or failed after ``MAX_ATTEMPTS`` or a permanent refusal.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import current_app
from rq import Retry
from sqlalchemy import or_, select

from app.db_types import utcnow
from app.extensions import db
from app.integrations.mail.models import MailStatus, OutboundMail
from app.integrations.mail.transports import PermanentFailure, transport_for
from app.jobs import Queues, enqueue_now

log = logging.getLogger("app.mail")

BACKOFF_SECONDS = (10, 60, 300, 900, 3600)
MAX_ATTEMPTS = len(BACKOFF_SECONDS) + 1
# A mail still queued this long after it was recorded lost its job (the process died between the
# commit and the enqueue); one "sending" this long lost its worker mid-attempt.
QUEUED_GRACE = timedelta(minutes=2)
SENDING_GRACE = timedelta(minutes=10)
# A mail waiting for a retry RQ scheduled: owed again once the longest wait has passed twice over
# (Redis, which holds the schedule, may be lost; the table is not).
RETRY_GRACE = timedelta(seconds=2 * max(BACKOFF_SECONDS))


JOB = "app.integrations.mail.delivery.deliver"


class RetryLater(Exception):
    """This attempt failed in a way worth retrying; RQ schedules the next attempt."""


def transport():
    settings = current_app.config["SETTINGS"]
    return transport_for(settings.smtp_url, settings.mail_from)


def deliver(mail_id: int) -> str:
    """The job: send mail ``mail_id`` unless it is sent already or another attempt is under way.
    Returns what happened; raises RetryLater for RQ to try again."""
    mail = _claim(mail_id)
    if mail is None:
        return "skipped"
    sender = transport()
    try:
        sender.deliver(mail)
    except PermanentFailure as err:
        _finish(mail_id, MailStatus.FAILED, error=str(err))
        log.warning("mail %s to %s refused for good: %s", mail_id, mail.to_address, err)
        return MailStatus.FAILED
    except Exception as err:  # connection, timeout, 4xx: all worth another attempt
        error = f"{type(err).__name__}: {err}"[:500]
        final = mail.attempts >= MAX_ATTEMPTS
        _finish(mail_id, MailStatus.FAILED if final else MailStatus.QUEUED, error=error)
        log.warning("mail %s to %s attempt %s failed: %s", mail_id, mail.to_address, mail.attempts, error)
        if final:
            return MailStatus.FAILED
        raise RetryLater(error) from err
    _finish(mail_id, MailStatus.SENT, transport_name=sender.name, scrub=not sender.keeps_bodies)
    return MailStatus.SENT


def _claim(mail_id: int) -> OutboundMail | None:
    """Mark the mail as being sent by this attempt, committed, so a concurrent copy of the job
    skips it; None when it is sent, failed, gone, or another attempt holds it."""
    mail = db.session.scalar(select(OutboundMail).where(OutboundMail.id == mail_id).with_for_update())
    if mail is None or mail.status in (MailStatus.SENT, MailStatus.FAILED) or (
            mail.status == MailStatus.SENDING and not _stale_attempt(mail)):
        db.session.rollback()
        return None
    mail.status = MailStatus.SENDING
    mail.attempts += 1
    mail.sending_since = utcnow()
    db.session.commit()
    return mail


def _stale_attempt(mail: OutboundMail) -> bool:
    return mail.sending_since is None or mail.sending_since < utcnow() - SENDING_GRACE


def _finish(mail_id: int, status: str, *, error: str | None = None, transport_name: str | None = None,
            scrub: bool = False) -> None:
    mail = db.session.get(OutboundMail, mail_id, populate_existing=True)
    mail.status = status
    mail.last_error = error
    if status == MailStatus.SENT:
        mail.sent_at, mail.transport = utcnow(), transport_name
        if scrub:
            mail.text_body = mail.html_body = None
    db.session.commit()


def job_retry() -> Retry:
    return Retry(max=len(BACKOFF_SECONDS), interval=list(BACKOFF_SECONDS))


def job_id(mail_id: int) -> str:
    return f"mail-{mail_id}"


def enqueue(mail_id: int) -> None:
    enqueue_now(Queues.EMAIL, JOB, mail_id, job_id=job_id(mail_id), retry=job_retry())


def sweep_mail() -> int:
    """The clock's minute job: re-enqueue mail whose job was lost (still queued past
    ``QUEUED_GRACE`` with no attempt or past ``RETRY_GRACE`` after one, or "sending" past
    ``SENDING_GRACE``). A copy of a job that
    was not lost finds the mail claimed or sent and skips. Returns how many it re-enqueued."""
    now = utcnow()
    owed = list(db.session.scalars(select(OutboundMail.id).where(or_(
        (OutboundMail.status == MailStatus.QUEUED) & (OutboundMail.attempts == 0)
        & (OutboundMail.created_at < now - QUEUED_GRACE),
        (OutboundMail.status == MailStatus.QUEUED) & (OutboundMail.attempts > 0)
        & (OutboundMail.sending_since < now - RETRY_GRACE),
        (OutboundMail.status == MailStatus.SENDING) & (OutboundMail.sending_since < now - SENDING_GRACE),
    )).order_by(OutboundMail.id).limit(500)))
    db.session.rollback()
    for mail_id in owed:
        enqueue(mail_id)
    return len(owed)
