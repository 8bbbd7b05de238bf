"""Invitations: who may invite whom, the mailed link (single use, seven days, replaced by a resend,
ended by a revoke), and joining through it as a new person or with an existing account."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app import realtime
from app.audit import AuditEvent
from app.blueprints.auth.models import User
from app.blueprints.auth.passwords import verify_password
from app.blueprints.team import invitations
from app.blueprints.team.models import Invitation, Membership
from app.blueprints.team.permissions import Role
from app.extensions import db, redis_store
from tests.conftest import csrf_token, sign_in_as
from tests.factories import add_member, make_member, make_user
from tests.mailing import link_in, mails

INVITEE = "ben@example.com"


def invite(client, email=INVITEE, role="agent", language="en"):
    token = csrf_token(client, "/settings/members")
    return client.post("/settings/members/invite", data={"csrf_token": token, "email": email, "role": role,
                                                         "language": language})


def accept_link(email=INVITEE) -> str:
    return link_in(mails(to=email, template="team.invitation")[-1].text_body, "/auth/invitations/")


def pending() -> list[Invitation]:
    return list(db.session.scalars(select(Invitation).where(Invitation.accepted_at.is_(None),
                                                            Invitation.revoked_at.is_(None))))


@pytest.fixture
def frozen_later(monkeypatch):
    import itsdangerous.timed

    real = itsdangerous.timed.time.time
    return lambda seconds: monkeypatch.setattr(itsdangerous.timed.time, "time", lambda: real() + seconds)


def test_an_owner_invites_by_email_with_a_role_and_the_mail_is_in_the_chosen_language(owner_client, owner):
    response = invite(owner_client, role="manager", language="ru")
    assert response.status_code == 302
    [invitation] = pending()
    assert (invitation.email, invitation.role, invitation.org_id) == (INVITEE, "manager", owner.org_id)
    assert (invitation.expires_at - invitation.created_at) == invitations.MAX_AGE
    [mail] = mails(to=INVITEE)
    assert mail.language == "ru" and mail.org_id == owner.org_id and "/auth/invitations/" in mail.text_body
    audit = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "member.invited"))
    assert audit.detail == {"email": INVITEE, "role": "manager"} and audit.actor_id == owner.user_id
    page = owner_client.get("/settings/members").get_data(as_text=True)
    assert 'id="invitation-' in page and INVITEE in page


@pytest.mark.parametrize(("role", "asked"), [(Role.AGENT, "agent"), (Role.MANAGER, "agent"),
                                             (Role.ADMIN, "owner")])
def test_nobody_invites_without_the_right_or_above_their_role(client, role, asked):
    member = make_member(role=role)
    sign_in_as(client, member)
    assert invite(client, role=asked).status_code == 403
    assert pending() == [] and mails() == []


def test_an_admin_may_invite_an_admin(client):
    admin = make_member(role=Role.ADMIN)
    sign_in_as(client, admin)
    assert invite(client, role="admin").status_code == 302
    assert [i.role for i in pending()] == ["admin"]


def test_an_unverified_owner_cannot_invite_yet(owner_client, owner):
    owner.user.email_verified_at = None
    db.session.commit()
    response = invite(owner_client)
    assert response.status_code == 403 and "Confirm your own email address" in response.get_data(as_text=True)
    assert pending() == []


def test_an_address_already_in_the_organization_or_already_invited_is_refused(owner_client, owner):
    add_member(owner.organization, make_user(email=INVITEE))
    refused = invite(owner_client)
    assert refused.status_code == 422
    assert "ben@example.com is already a member of this organization." in refused.get_data(as_text=True)
    assert pending() == []

    assert invite(owner_client, email="cara@example.com").status_code == 302
    twice = invite(owner_client, email="Cara@Example.com")
    assert twice.status_code == 422 and "invited already" in twice.get_data(as_text=True)
    assert len(pending()) == 1 and len(mails(to="cara@example.com")) == 1


def test_an_expired_invitation_gives_way_to_a_new_one(owner_client):
    invite(owner_client)
    [old] = pending()
    old.expires_at = old.created_at - invitations.MAX_AGE
    db.session.commit()
    assert invite(owner_client).status_code == 302
    db.session.refresh(old)
    assert old.revoked_at is not None and len(pending()) == 1


def test_a_new_person_joins_with_a_name_and_password_and_lands_in_the_organization(owner_client, owner, client):
    invite(owner_client, role="manager")
    link = accept_link()
    newcomer = owner_client.application.test_client()
    page = newcomer.get(link)
    assert page.status_code == 200 and INVITEE in page.get_data(as_text=True)
    token = csrf_token(newcomer, link)
    joined = newcomer.post(link, data={"csrf_token": token, "name": "Ben Ito", "password": "a long enough secret"})
    assert joined.status_code == 302 and joined.location.endswith("/home")
    user = db.session.scalar(select(User).where(User.email == INVITEE))
    assert user.name == "Ben Ito" and verify_password(user.password_hash, "a long enough secret")
    assert user.email_verified_at is not None  # the link reached that inbox
    membership = db.session.scalar(select(Membership).where(Membership.user_id == user.id))
    assert (membership.org_id, membership.role) == (owner.org_id, "manager")
    assert owner.organization.name in newcomer.get("/home").get_data(as_text=True)
    assert pending() == []
    assert newcomer.application.test_client().get(link).status_code == 410  # spent


def test_a_weak_password_re_renders_the_join_form_and_makes_no_account(owner_client):
    invite(owner_client)
    link = accept_link()
    newcomer = owner_client.application.test_client()
    token = csrf_token(newcomer, link)
    response = newcomer.post(link, data={"csrf_token": token, "name": "Ben", "password": "short"})
    assert response.status_code == 422 and 'aria-invalid="true"' in response.get_data(as_text=True)
    assert db.session.scalar(select(User).where(User.email == INVITEE)) is None and len(pending()) == 1


def test_a_person_with_an_account_signs_in_and_joins_keeping_their_other_organization(owner_client, owner):
    ben = make_member()  # Ben owns an organization of his own
    ben.user.email = INVITEE
    db.session.commit()
    invite(owner_client)
    link = accept_link()
    browser = owner_client.application.test_client()
    page = browser.get(link).get_data(as_text=True)
    assert "Sign in to join" in page and "/auth/signin?next=" in page
    sign_in_as(browser, ben)
    token = csrf_token(browser, link)
    joined = browser.post(link, data={"csrf_token": token})
    assert joined.status_code == 302
    orgs = set(db.session.scalars(select(Membership.org_id).where(Membership.user_id == ben.user_id)))
    assert orgs == {ben.org_id, owner.org_id}
    assert owner.organization.name in browser.get("/home").get_data(as_text=True)  # switched to it


def test_someone_signed_in_as_another_address_cannot_take_the_invitation(owner_client, owner):
    invite(owner_client)
    link = accept_link()
    stranger = make_member()
    browser = owner_client.application.test_client()
    sign_in_as(browser, stranger)
    assert "You are signed in as" in browser.get(link).get_data(as_text=True)
    refused = browser.post(link, data={"csrf_token": csrf_token(browser, link)})
    assert refused.status_code == 403
    assert db.session.scalar(select(Membership).where(Membership.user_id == stranger.user_id,
                                                      Membership.org_id == owner.org_id)) is None
    assert len(pending()) == 1


def test_a_resend_replaces_the_link_and_a_revoke_ends_it(owner_client):
    invite(owner_client)
    first_link = accept_link()
    [invitation] = pending()
    token = csrf_token(owner_client, "/settings/members")
    assert owner_client.post(f"/settings/invitations/{invitation.id}/resend",
                             data={"csrf_token": token}).status_code == 302
    second_link = accept_link()
    assert first_link != second_link and len(mails(to=INVITEE)) == 2
    browser = owner_client.application.test_client()
    assert browser.get(first_link).status_code == 410
    assert browser.get(second_link).status_code == 200
    db.session.refresh(invitation)
    assert invitation.sent_count == 2

    owner_client.post(f"/settings/invitations/{invitation.id}/revoke", data={"csrf_token": token})
    gone = browser.get(second_link)
    assert gone.status_code == 410 and "withdrawn" in gone.get_data(as_text=True)
    assert pending() == []


def test_an_invitation_expires_after_seven_days(owner_client, frozen_later):
    invite(owner_client)
    link = accept_link()
    frozen_later(invitations.MAX_AGE.total_seconds() + 1)
    page = owner_client.application.test_client().get(link)
    assert page.status_code == 410 and "expired" in page.get_data(as_text=True)


def test_another_organizations_invitation_cannot_be_resent_or_revoked(owner_client):
    other = make_member()
    foreign = invitations.invite(other, email="x@example.com", role="agent", language="en", secret="s",
                                 link=lambda endpoint, **values: "http://x")
    db.session.commit()
    token = csrf_token(owner_client, "/settings/members")
    for action in ("resend", "revoke"):
        assert owner_client.post(f"/settings/invitations/{foreign.id}/{action}",
                                 data={"csrf_token": token}).status_code == 404
    db.session.refresh(foreign)
    assert foreign.pending and foreign.sent_count == 1


def test_a_join_rings_the_team_pages(owner_client, owner):
    pubsub = redis_store.client.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(f"{realtime.CHANNEL_PREFIX}{owner.org_id}")
    pubsub.get_message(timeout=1)
    invite(owner_client)
    newcomer = owner_client.application.test_client()
    link = accept_link()
    newcomer.post(link, data={"csrf_token": csrf_token(newcomer, link), "name": "Ben",
                              "password": "a long enough secret"})
    kinds = []
    while (message := pubsub.get_message(timeout=0.3)) is not None:
        kinds.append(realtime.read_event(message["data"])[1]["kind"])
    pubsub.close()
    assert "members.changed" in kinds
    assert db.session.scalar(select(func.count()).select_from(Membership)
                             .where(Membership.org_id == owner.org_id)) == 2
