"""A sign-in the runtime finishes is audited as the member's who started it (issue 14, item 8)."""

from __future__ import annotations

from sqlalchemy import select

from app.audit import AuditEvent
from app.blueprints.accounts.models import BDAccount
from app.blueprints.team.permissions import Role
from app.extensions import db, redis_store
from app.integrations.telegram import control
from tests.factories import add_member, make_member
from tests.integrations.telegram.conftest import PHONE
from tests.integrations.telegram.runtime_kit import eventually, online


def connected_rows(account_id: int) -> list[AuditEvent]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == "account.connected",
                                                             AuditEvent.target_id == account_id)))


def test_a_finished_code_sign_in_is_audited_as_the_member_who_asked(runtime, world):
    adder = make_member()
    admin = add_member(adder.organization, role=Role.ADMIN)
    account = BDAccount(org_id=adder.org_id, phone=f"+{PHONE}", status="connecting", created_by_id=adder.user_id)
    db.session.add(account)
    db.session.commit()
    runtime()

    ask = {"account_id": account.id, "timeout": 10}
    assert control.call(redis_store.client, "login.start", by=admin.user_id, **ask) == {"next": "code"}
    assert control.call(redis_store.client, "login.code", code="22222", **ask) == {"next": "done"}

    eventually(lambda: online(account.id), what="online")
    [row] = connected_rows(account.id)
    assert (row.org_id, row.actor_id) == (adder.org_id, admin.user_id)
    assert row.detail["name"] == "Dana Sales" and row.detail["phone"] == f"+{PHONE}"
