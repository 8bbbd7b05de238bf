"""Live account statuses: the accounts domain's events ring the organization's doorbell.

``AccountStatusChanged`` (raised by the telegram process, and by the web when a member disconnects
an account) rings ``STATUS`` {account_id, status}, which redraws the status wherever an account is
shown: its pages, and the header of an open chat of the account. ``AccountSynced`` rings ``SYNCED``
{account_id}. One subscriber hears a transaction's events together (``batch``: one unit of work
after the commit, however many accounts changed) and rings in the order the changes happened.
"""

from __future__ import annotations

from jinja2_fragments.flask import render_block

from app.blueprints.accounts.events import AccountEvent, AccountStatusChanged, AccountSynced
from app.blueprints.accounts.models import BDAccount
from app.events import subscribe
from app.extensions import db
from app.realtime import Connection, oob, publish_now, renderer

STATUS = "account.status"
SYNCED = "inbox.synced"


def doorbell(event: AccountEvent) -> tuple[str, dict] | None:
    """The realtime kind and data an event rings (None: it rings nothing)."""
    if isinstance(event, AccountStatusChanged):
        return STATUS, {"account_id": event.account_id, "status": event.new_status}
    if isinstance(event, AccountSynced):
        return SYNCED, {"account_id": event.account_id}
    return None


def ring(events: list[AccountEvent]) -> None:
    """After the commit: each event's doorbell."""
    for event in events:
        found = doorbell(event)
        if found is not None:
            kind, data = found
            publish_now(event.org_id, kind, **data)


subscribe(AccountEvent, ring, batch=True)


@renderer(STATUS)
def account_status(event: dict, viewer: Connection) -> str | None:
    from app.blueprints.accounts.service import can_see_account

    account = db.session.get(BDAccount, int(event["account_id"]))
    if account is None or account.org_id != event["org_id"] or not can_see_account(viewer, account):
        return None
    return (oob(render_block("accounts/_status.html", "status", account=account))
            + oob(render_block("accounts/_chat_pill.html", "pill", account=account)))
