"""``/api/team``: members, roles, invitations and removal, with the page's rules and answers in the
error envelope."""

from __future__ import annotations

from sqlalchemy import select

from app.blueprints.crm.models import Contact
from app.blueprints.team.models import Invitation, Membership
from app.blueprints.team.permissions import Role
from app.extensions import db
from tests.conftest import bearer
from tests.factories import add_member, make_contact, make_member, make_user
from tests.mailing import mails


def test_members_are_listed_by_name_with_their_roles(client, owner):
    add_member(owner.organization, make_user(name="Aaron"), role=Role.AGENT)
    body = client.get("/api/team/members", headers=bearer(owner)).get_json()
    assert (body["items"][0]["name"], body["items"][0]["role"]) == ("Aaron", "agent")
    assert {m["user_id"] for m in body["items"]} == {owner.user_id, body["items"][0]["user_id"]}


def test_an_invitation_is_made_and_mailed_and_a_member_cannot_be_invited_twice(client, owner):
    headers = bearer(owner)
    made = client.post("/api/team/members/invite", json={"email": "Ben@Example.com", "role": "manager",
                                                         "language": "ru"}, headers=headers)
    assert made.status_code == 201 and made.get_json()["email"] == "ben@example.com"
    assert [m.language for m in mails(to="ben@example.com")] == ["ru"]
    listed = client.get("/api/team/invitations", headers=headers).get_json()["items"]
    assert [i["id"] for i in listed] == [made.get_json()["id"]]
    again = client.post("/api/team/members/invite", json={"email": "ben@example.com", "role": "agent"},
                        headers=headers)
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "conflict"
    assert db.session.scalar(select(Invitation.role)) == "manager"


def test_an_agent_may_not_invite_and_the_refusal_is_the_envelope(client, owner):
    agent = add_member(owner.organization, role=Role.AGENT)
    refused = client.post("/api/team/members/invite", json={"email": "x@example.com", "role": "agent"},
                          headers=bearer(agent))
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "forbidden"
    assert db.session.scalar(select(Invitation)) is None


def test_a_role_is_changed_and_the_last_owner_keeps_theirs(client, owner):
    agent = add_member(owner.organization, role=Role.AGENT)
    changed = client.put(f"/api/team/members/{agent.id}/role", json={"role": "admin"}, headers=bearer(owner))
    assert changed.status_code == 200 and changed.get_json()["role"] == "admin"
    refused = client.put(f"/api/team/members/{owner.id}/role", json={"role": "agent"}, headers=bearer(owner))
    assert refused.status_code == 422
    db.session.expire_all()
    assert db.session.get(Membership, owner.id).role == "owner"


def test_removing_a_member_needs_an_heir_and_hands_over_their_records(client, owner):
    agent = add_member(owner.organization, role=Role.AGENT)
    contact = make_contact(agent)
    headers = bearer(owner)
    missing = client.delete(f"/api/team/members/{agent.id}", headers=headers)
    assert missing.status_code == 422 and "reassign_to" in missing.get_json()["error"]["fields"]
    assert client.delete(f"/api/team/members/{agent.id}?reassign_to={owner.user_id}",
                         headers=headers).status_code == 204
    db.session.expire_all()
    assert db.session.get(Membership, agent.id) is None
    assert db.session.get(Contact, contact.id).owner_id == owner.user_id


def test_another_organizations_member_is_not_found(client, owner):
    stranger = make_member()
    headers = bearer(owner)
    assert client.put(f"/api/team/members/{stranger.id}/role", json={"role": "agent"},
                      headers=headers).status_code == 404
    assert client.delete(f"/api/team/members/{stranger.id}?reassign_to={owner.user_id}",
                         headers=headers).status_code == 404
    assert db.session.get(Membership, stranger.id) is not None
