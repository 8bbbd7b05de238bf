"""Removing a member, or leaving: everything of theirs goes to the chosen heir in the same
transaction, their access to the organization ends at once, and the last owner cannot go."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from app.audit import AuditEvent
from app.blueprints.accounts.models import bd_account_agent
from app.blueprints.auth.models import RefreshToken
from app.blueprints.crm.models import Company, Contact, Deal
from app.blueprints.messaging.models import Chat
from app.blueprints.team.models import Membership
from app.blueprints.team.permissions import Role
from app.extensions import db, redis_store
from app.realtime import CLOSE_REMOVED, CONTROL_CHANNEL
from tests.conftest import bearer, csrf_token, sign_in_as
from tests.factories import (
    add_member,
    give_account,
    make_account,
    make_chat,
    make_company,
    make_contact,
    make_deal,
    make_member,
)


@pytest.fixture
def team(owner):
    """The owner, an agent who holds things (a contact, a company, a deal, a chat, an account) and
    a manager to hand them to."""
    org = owner.organization
    agent, manager = add_member(org, role=Role.AGENT), add_member(org, role=Role.MANAGER)
    contact, company, deal = make_contact(agent), make_company(agent), make_deal(agent)
    account = make_account(org)
    give_account(account, agent)
    chat = make_chat(account, assignee_id=agent.user_id)
    return {"agent": agent, "manager": manager, "records": [(Contact, contact.id), (Company, company.id),
                                                            (Deal, deal.id)],
            "chat": chat.id, "account": account.id}


def remove(client, member_id: int, heir: int | None):
    token = csrf_token(client, "/settings/members")
    data = {"csrf_token": token} | ({"reassign_to": str(heir)} if heir is not None else {})
    return client.post(f"/settings/members/{member_id}/remove", data=data)


def owners_of(team) -> list[int | None]:
    return [db.session.get(model, row_id).owner_id for model, row_id in team["records"]]


def agents_of(account_id: int) -> set[int]:
    return set(db.session.scalars(select(bd_account_agent.c.user_id)
                                  .where(bd_account_agent.c.account_id == account_id)))


def test_removing_a_member_hands_everything_to_the_heir_and_ends_their_access(owner_client, owner, team):
    agent, manager = team["agent"], team["manager"]
    agent_browser = owner_client.application.test_client()
    sign_in_as(agent_browser, agent)
    api = bearer(agent)
    control = redis_store.client.pubsub(ignore_subscribe_messages=True)
    control.subscribe(CONTROL_CHANNEL)
    control.get_message(timeout=1)

    response = remove(owner_client, agent.id, heir=manager.user_id)

    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Membership, agent.id) is None
    assert owners_of(team) == [manager.user_id] * 3
    assert db.session.get(Chat, team["chat"]).assignee_id == manager.user_id
    assert agents_of(team["account"]) == {manager.user_id}
    assert owner_client.get("/api/auth/verify", headers=api).status_code == 401
    assert db.session.scalar(select(func.count()).select_from(RefreshToken).where(
        RefreshToken.user_id == agent.user_id, RefreshToken.revoked_at.is_(None))) == 0
    order = json.loads(control.get_message(timeout=1)["data"])
    control.close()
    assert order == {"user_id": agent.user_id, "session_id": None, "org_id": owner.org_id, "code": CLOSE_REMOVED}
    assert agent_browser.get("/contacts").status_code in (302, 303)  # to their organizations page
    audit = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "member.removed"))
    assert audit.detail == {"user_id": agent.user_id, "role": "agent", "reassign_to": manager.user_id}


def test_a_removal_without_a_member_to_hand_to_changes_nothing(owner_client, team):
    agent = team["agent"]
    outsider = make_member()
    for heir in (None, outsider.user_id, agent.user_id):
        response = remove(owner_client, agent.id, heir=heir)
        assert response.status_code == 422
        assert "Choose who receives" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Membership, agent.id) is not None
    assert owners_of(team) == [agent.user_id] * 3 and agents_of(team["account"]) == {agent.user_id}


@pytest.mark.parametrize(("actor_role", "target_role"), [(Role.AGENT, Role.AGENT), (Role.MANAGER, Role.AGENT),
                                                         (Role.ADMIN, Role.OWNER)])
def test_nobody_removes_without_the_right_or_above_their_role(client, owner, actor_role, target_role):
    actor = add_member(owner.organization, role=actor_role)
    target = owner if target_role == Role.OWNER else add_member(owner.organization, role=target_role)
    sign_in_as(client, actor)
    assert remove(client, target.id, heir=actor.user_id).status_code == 403
    assert db.session.get(Membership, target.id) is not None


def test_the_last_owner_cannot_be_removed_nor_leave(client, owner):
    second = add_member(owner.organization, role=Role.OWNER)
    sign_in_as(client, second)
    assert remove(client, owner.id, heir=second.user_id).status_code == 302  # two owners: one may go
    third = add_member(owner.organization, role=Role.ADMIN)
    token = csrf_token(client, "/settings/members")
    refused = client.post("/settings/members/leave", data={"csrf_token": token, "reassign_to": third.user_id})
    assert refused.status_code == 422 and "last owner" in refused.get_data(as_text=True)
    assert db.session.get(Membership, second.id) is not None


def test_a_member_leaves_handing_their_things_on_and_keeps_their_account(client, owner, team):
    agent = team["agent"]
    sign_in_as(client, agent)
    token = csrf_token(client, "/settings/members")
    left = client.post("/settings/members/leave", data={"csrf_token": token, "reassign_to": owner.user_id})
    assert left.status_code == 302
    db.session.expire_all()
    assert db.session.get(Membership, agent.id) is None and owners_of(team) == [owner.user_id] * 3
    assert db.session.scalar(select(AuditEvent.action).where(AuditEvent.actor_id == agent.user_id,
                                                             AuditEvent.action.like("member.%"))) == "member.left"
    landing = client.get(left.location, follow_redirects=True)
    assert landing.status_code == 200 and "Create an organization" in landing.get_data(as_text=True)


def test_a_removed_member_with_another_organization_goes_on_working_there(owner_client, owner, team):
    agent = team["agent"]
    elsewhere = add_member(make_member().organization, agent.user, role=Role.OWNER)
    browser = owner_client.application.test_client()
    sign_in_as(browser, agent)
    remove(owner_client, agent.id, heir=owner.user_id)
    home = browser.get("/home")
    assert home.status_code == 200 and elsewhere.organization.name in home.get_data(as_text=True)
