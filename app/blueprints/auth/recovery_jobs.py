"""The jobs behind sign-up and "forgot my password" (queue ``email``): the request that asked
answered at once, the same whoever's address it was; the job finds out and mails."""

from __future__ import annotations

from flask import current_app

from app.blueprints.auth import recovery
from app.extensions import db
from app.integrations.mail import external_url
from app.jobs import Queues, enqueue_after_commit

SIGN_UP_JOB = "app.blueprints.auth.recovery_jobs.complete_sign_up"
RESET_JOB = "app.blueprints.auth.recovery_jobs.request_password_reset"


def _secret() -> str:
    return current_app.config["SECRET_KEY"]


def _links(base: str | None):
    return lambda endpoint, **values: external_url(endpoint, base=base, **values)


def queue_sign_up(request: recovery.SignUpRequest, *, ip: str | None, base: str | None) -> None:
    enqueue_after_commit(Queues.EMAIL, SIGN_UP_JOB, request.as_job(), ip, base, retry=3)


def queue_password_reset(email: str, *, language: str | None, base: str | None) -> None:
    enqueue_after_commit(Queues.EMAIL, RESET_JOB, email, language, base, retry=3)


def complete_sign_up(request: dict, ip: str | None, base: str | None) -> bool:
    """Job: the account for a sign-up, or a word to the address's owner. True: an account made."""
    user = recovery.complete_sign_up(recovery.SignUpRequest(**request), secret=_secret(),
                                     link=_links(base), ip=ip)
    db.session.commit()
    return user is not None


def request_password_reset(email: str, language: str | None, base: str | None) -> None:
    """Job: the reset link for the address's account, or a word that it has none."""
    recovery.request_password_reset(email, secret=_secret(), link=_links(base), language=language)
    db.session.commit()
