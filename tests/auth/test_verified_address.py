"""What waits for a confirmed address: inviting, connecting Telegram accounts and exports (the app
is usable otherwise). Each refusal changes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.audit import AuditEvent
from app.blueprints.accounts.models import BDAccount
from app.extensions import db
from tests.conftest import bearer, csrf_token, sign_in_as
from tests.factories import make_contact, make_member


@pytest.fixture
def unverified():
    member = make_member()
    member.user.email_verified_at = None
    db.session.commit()
    return member


def test_an_unverified_member_works_in_the_app(client, unverified):
    sign_in_as(client, unverified)
    assert client.get("/contacts").status_code == 200
    assert "Confirm your email address" in client.get("/home").get_data(as_text=True)


def test_exports_wait_for_a_confirmed_address_and_are_audited_once_confirmed(client, unverified):
    make_contact(unverified)
    sign_in_as(client, unverified)
    assert client.get("/export/contacts").status_code == 403
    assert client.get("/api/crm/contacts/export", headers=bearer(unverified)).status_code == 403
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "export.downloaded")) is None
    unverified.user.email_verified_at = db.func.now()
    db.session.commit()
    response = client.get("/export/contacts?q=Ann")
    assert response.status_code == 200
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "export.downloaded"))
    assert event.detail == {"entity": "contact", "filters": "q=Ann"} and event.actor_id == unverified.user_id


def test_connecting_a_telegram_account_waits_for_a_confirmed_address(client, unverified):
    refused = client.post("/api/bd-accounts/connect", json={"phone": "+44 7700 900123"}, headers=bearer(unverified))
    assert refused.status_code == 403 and "Confirm your email address" in refused.get_json()["error"]["message"]
    sign_in_as(client, unverified)
    token = csrf_token(client, "/accounts/")
    page = client.post("/accounts/connect", data={"csrf_token": token, "phone": "+44 7700 900123"})
    assert page.status_code == 403
    assert db.session.scalar(select(BDAccount)) is None
