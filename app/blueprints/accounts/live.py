"""Live account statuses: ``account.status`` (published by the telegram process, and by the web
when it disconnects an account) redraws the status wherever an account is shown: its pages, and
the header of an open chat of the account."""

from __future__ import annotations

from jinja2_fragments.flask import render_block

from app.blueprints.accounts.models import BDAccount
from app.extensions import db
from app.realtime import Connection, oob, publish, renderer

KIND = "account.status"


def announce(account: BDAccount) -> None:
    """Ring the doorbell once the current transaction commits."""
    publish(account.org_id, KIND, account_id=account.id)


@renderer(KIND)
def account_status(event: dict, viewer: Connection) -> str | None:
    from app.blueprints.accounts.service import can_see_account

    account = db.session.get(BDAccount, int(event["account_id"]))
    if account is None or account.org_id != event["org_id"] or not can_see_account(viewer, account):
        return None
    return (oob(render_block("accounts/_status.html", "status", account=account))
            + oob(render_block("accounts/_chat_pill.html", "pill", account=account)))
