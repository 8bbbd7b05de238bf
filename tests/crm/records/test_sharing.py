"""Sharing a contact with teammates: who may, what it lets them edit, its page card."""

import json

import pytest
from sqlalchemy import func, select

from app.audit import AuditEvent
from app.blueprints.crm.bulk import service as bulk_service
from app.blueprints.crm.models import Activity, Contact, ContactShare, Deal
from app.blueprints.crm.records import service, sharing
from app.blueprints.team.permissions import Role
from app.errors import DomainError, Forbidden, NotFound
from app.events import bus
from app.extensions import db
from tests.conftest import csrf_token, sign_in_as
from tests.factories import add_member, make_contact, make_deal, make_member

HX = {"HX-Request": "true"}


@pytest.fixture
def team(owner):
    """An organization with a manager and two agents; Amy owns a contact with a deal."""
    org = owner.organization
    manager = add_member(org, role=Role.MANAGER)
    amy, ben = add_member(org, role=Role.AGENT), add_member(org, role=Role.AGENT)
    contact = make_contact(amy, first_name="Shared", last_name="Person")
    deal = make_deal(amy, title="Shared deal", contact=contact.id)
    return {"manager": manager, "amy": amy, "ben": ben, "contact": contact, "deal": deal}


def shared_with(contact) -> list[int]:
    return sorted(db.session.scalars(select(ContactShare.user_id).where(ContactShare.contact_id == contact.id)))


def test_an_owner_shares_their_contact_and_it_is_audited_and_on_the_timeline(team):
    amy, ben, contact = team["amy"], team["ben"], team["contact"]
    heard: list = []
    from app.blueprints.crm.events import ContactShared

    bus.subscribe(ContactShared, heard.append)
    try:
        assert sharing.share_contact(amy, contact.id, [ben.user_id], ip="127.0.0.1") == [ben.user_id]
        db.session.commit()
    finally:
        bus.unsubscribe(heard.append)
    assert shared_with(contact) == [ben.user_id]
    share = db.session.scalar(select(ContactShare).where(ContactShare.contact_id == contact.id))
    assert share.shared_by_id == amy.user_id and share.org_id == contact.org_id
    entry = db.session.scalar(select(Activity).where(Activity.subject_id == contact.id, Activity.kind == "shared"))
    assert entry.data == {"user_ids": [ben.user_id]} and entry.actor_id == amy.user_id
    audit = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "contact.shared"))
    assert (audit.target_type, audit.target_id, audit.detail) == ("contact", contact.id, {"user_id": ben.user_id})
    assert [(e.contact_id, e.user_ids) for e in heard] == [(contact.id, (ben.user_id,))]


def test_sharing_again_or_with_the_owner_changes_nothing(team):
    amy, ben, contact = team["amy"], team["ben"], team["contact"]
    sharing.share_contact(amy, contact.id, [ben.user_id])
    db.session.commit()
    assert sharing.share_contact(amy, contact.id, [str(ben.user_id), amy.user_id]) == []
    db.session.commit()
    assert shared_with(contact) == [ben.user_id]
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == 1


def test_an_agent_may_not_share_a_contact_someone_else_owns(team):
    ben, contact = team["ben"], team["contact"]
    with pytest.raises(Forbidden, match="owned by others"):
        sharing.share_contact(ben, contact.id, [ben.user_id])
    db.session.rollback()
    assert shared_with(contact) == []
    assert not sharing.may_share(ben, contact) and sharing.may_share(team["amy"], contact)


def test_a_manager_shares_any_contact(team):
    manager, ben, contact = team["manager"], team["ben"], team["contact"]
    assert sharing.may_share(manager, contact)
    sharing.share_contact(manager, contact.id, [ben.user_id, manager.user_id])
    db.session.commit()
    assert shared_with(contact) == sorted([ben.user_id, manager.user_id])


def test_sharing_with_someone_outside_the_organization_is_refused_and_writes_nothing(team):
    stranger = make_member(Role.AGENT)
    with pytest.raises(DomainError, match="Not members") as refused:
        sharing.share_contact(team["amy"], team["contact"].id, [team["ben"].user_id, stranger.user_id])
    db.session.rollback()
    assert "user_ids" in refused.value.fields
    assert shared_with(team["contact"]) == []
    with pytest.raises(DomainError, match="at least one"):
        sharing.share_contact(team["amy"], team["contact"].id, [])


def test_another_organizations_contact_is_not_found(team):
    elsewhere = make_member(Role.OWNER)
    theirs = make_contact(elsewhere)
    with pytest.raises(NotFound):
        sharing.share_contact(team["manager"], theirs.id, [team["ben"].user_id])
    with pytest.raises(NotFound):
        sharing.unshare_contact(team["manager"], theirs.id, team["ben"].user_id)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(ContactShare)) == 0


def test_a_shared_agent_edits_the_contact_and_its_deals_but_not_others(team):
    amy, ben, contact, deal = team["amy"], team["ben"], team["contact"], team["deal"]
    other_contact = make_contact(amy, first_name="Private")
    other_deal = make_deal(amy, title="Private deal")
    with pytest.raises(Forbidden):
        service.update_record(ben, "contact", contact.id, {"title": "CTO"})
    db.session.rollback()
    sharing.share_contact(amy, contact.id, [ben.user_id])
    db.session.commit()
    service.update_record(ben, "contact", contact.id, {"title": "CTO"})
    service.update_record(ben, "deal", deal.id, {"value": "1200"})
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Contact, contact.id).title == "CTO"
    assert str(db.session.get(Deal, deal.id).value) == "1200.00"
    for entity, record in (("contact", other_contact), ("deal", other_deal)):
        with pytest.raises(Forbidden):
            service.update_record(ben, entity, record.id, {"title": "Mine now"} if entity == "deal"
                                  else {"first_name": "Mine"})
        db.session.rollback()
    db.session.expire_all()
    assert db.session.get(Contact, other_contact.id).first_name == "Private"
    assert db.session.get(Deal, other_deal.id).title == "Private deal"
    with pytest.raises(Forbidden, match="reassign"):  # sharing is not ownership
        service.update_record(ben, "contact", contact.id, {"owner": ben.user_id})
    db.session.rollback()
    assert db.session.get(Contact, contact.id).owner_id == amy.user_id


def test_bulk_actions_follow_the_same_rule(team):
    amy, ben, contact, deal = team["amy"], team["ben"], team["contact"], team["deal"]
    other_deal = make_deal(amy, title="Private deal")
    sharing.share_contact(amy, contact.id, [ben.user_id])
    db.session.commit()
    assert bulk_service.bulk(ben, "deal", "add_tag", [deal.id], "warm") == 1
    db.session.commit()
    with pytest.raises(Forbidden):
        bulk_service.bulk(ben, "deal", "add_tag", [deal.id, other_deal.id], "hot")
    db.session.rollback()
    db.session.expire_all()
    assert [t.name for t in db.session.get(Deal, deal.id).tags] == ["warm"]
    assert db.session.get(Deal, other_deal.id).tags == []


def test_after_unsharing_the_agent_edits_it_no_more(team):
    amy, ben, contact = team["amy"], team["ben"], team["contact"]
    sharing.share_contact(amy, contact.id, [ben.user_id])
    db.session.commit()
    assert sharing.unshare_contact(amy, contact.id, ben.user_id) is True
    db.session.commit()
    assert shared_with(contact) == []
    assert not service.can_edit(ben, contact) and not service.can_edit(ben, team["deal"])
    assert db.session.scalar(select(AuditEvent.action).where(AuditEvent.action == "contact.unshared"))
    assert db.session.scalar(select(Activity.data).where(Activity.kind == "unshared")) == {"user_ids": [ben.user_id]}
    assert sharing.unshare_contact(amy, contact.id, ben.user_id) is False  # nothing left to remove


def test_a_member_takes_themselves_off_but_not_another(team):
    amy, ben, manager, contact = team["amy"], team["ben"], team["manager"], team["contact"]
    sharing.share_contact(amy, contact.id, [ben.user_id, manager.user_id])
    db.session.commit()
    with pytest.raises(Forbidden):
        sharing.unshare_contact(ben, contact.id, manager.user_id)
    db.session.rollback()
    assert shared_with(contact) == sorted([ben.user_id, manager.user_id])
    assert sharing.unshare_contact(ben, contact.id, ben.user_id)
    db.session.commit()
    assert shared_with(contact) == [manager.user_id]


def test_a_trashed_contact_gives_no_rights_and_a_merge_carries_the_shares(team):
    amy, ben, manager, contact = team["amy"], team["ben"], team["manager"], team["contact"]
    sharing.share_contact(amy, contact.id, [ben.user_id])
    keep = make_contact(manager, first_name="Keeper")
    db.session.commit()
    service.merge_contacts(manager, keep.id, [contact.id])
    db.session.commit()
    assert not service.is_shared_with(ben, contact.id)  # in the trash now
    assert shared_with(keep) == [ben.user_id] and service.can_edit(ben, keep)


# -- the contact page ------------------------------------------------------------------------------

def test_the_page_lists_who_it_is_shared_with_and_offers_the_rest_of_the_team(client, team):
    amy, ben, manager, contact = team["amy"], team["ben"], team["manager"], team["contact"]
    sharing.share_contact(manager, contact.id, [ben.user_id])
    db.session.commit()
    sign_in_as(client, amy)
    html = client.get(f"/contacts/{contact.id}").get_data(as_text=True)
    card = html[html.index('id="shared-with"'):]
    card = card[:card.index("</section>")]
    assert ben.user.name in card and f"shared by {manager.user.name}" in card
    assert f'name="user_ids" value="{manager.user_id}"' in card
    assert f'name="user_ids" value="{amy.user_id}"' not in card  # the owner
    assert f'name="user_ids" value="{ben.user_id}"' not in card  # already shared


def test_sharing_from_the_page_swaps_the_card_and_the_timeline(client, team):
    amy, ben, contact = team["amy"], team["ben"], team["contact"]
    sign_in_as(client, amy)
    token = csrf_token(client, f"/contacts/{contact.id}")
    response = client.post(f"/contacts/{contact.id}/shares", data={"user_ids": [ben.user_id]},
                           headers={**HX, "X-CSRFToken": token})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.lstrip().startswith('<section class="card" id="shared-with"')
    assert '<div hx-swap-oob="true" id="timeline">' in html and f"shared it with <strong>{ben.user.name}" in html
    assert json.loads(response.headers["HX-Trigger"])["toast"]["message"] == "Contact shared."
    assert shared_with(contact) == [ben.user_id]


def test_a_plain_form_post_shares_and_returns_to_the_page(client, team):
    amy, ben, contact = team["amy"], team["ben"], team["contact"]
    sign_in_as(client, amy)
    token = csrf_token(client, f"/contacts/{contact.id}")
    response = client.post(f"/contacts/{contact.id}/shares", data={"user_ids": [ben.user_id], "csrf_token": token})
    assert response.status_code == 302 and response.location.endswith(f"/contacts/{contact.id}")
    assert shared_with(contact) == [ben.user_id]
    response = client.post(f"/contacts/{contact.id}/shares/remove",
                           data={"user_id": ben.user_id, "csrf_token": token})
    assert response.status_code == 302 and shared_with(contact) == []


def test_a_refused_share_redraws_the_card_saying_why(client, team):
    amy, contact = team["amy"], team["contact"]
    stranger = make_member(Role.AGENT)
    sign_in_as(client, amy)
    token = csrf_token(client, f"/contacts/{contact.id}")
    response = client.post(f"/contacts/{contact.id}/shares", data={"user_ids": [stranger.user_id]},
                           headers={**HX, "X-CSRFToken": token})
    assert response.status_code == 422 and 'id="share-error"' in response.get_data(as_text=True)
    response = client.post(f"/contacts/{contact.id}/shares", data={"csrf_token": token})
    assert response.status_code == 422 and "at least one teammate" in response.get_data(as_text=True)
    assert shared_with(contact) == []


def test_an_agent_who_may_not_share_sees_no_form_and_is_refused(client, team):
    ben, manager, contact = team["ben"], team["manager"], team["contact"]
    sign_in_as(client, ben)
    html = client.get(f"/contacts/{contact.id}").get_data(as_text=True)
    assert 'id="shared-with"' in html and 'name="user_ids"' not in html
    token = csrf_token(client, f"/contacts/{contact.id}")
    response = client.post(f"/contacts/{contact.id}/shares", data={"user_ids": [manager.user_id]},
                           headers={**HX, "X-CSRFToken": token})
    assert response.status_code == 403 and shared_with(contact) == []


def test_removing_from_the_page_swaps_the_card(client, team):
    amy, ben, contact = team["amy"], team["ben"], team["contact"]
    sharing.share_contact(amy, contact.id, [ben.user_id])
    db.session.commit()
    sign_in_as(client, amy)
    token = csrf_token(client, f"/contacts/{contact.id}")
    response = client.post(f"/contacts/{contact.id}/shares/remove", data={"user_id": ben.user_id},
                           headers={**HX, "X-CSRFToken": token})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and f'id="share-{ben.user_id}"' not in html
    assert f"stopped sharing it with <strong>{ben.user.name}" in html
    assert shared_with(contact) == []


def test_the_card_needs_the_csrf_token(client, team):
    sign_in_as(client, team["amy"])
    response = client.post(f"/contacts/{team['contact'].id}/shares", data={"user_ids": [team["ben"].user_id]})
    assert response.status_code == 400 and shared_with(team["contact"]) == []


def test_another_organizations_contact_is_a_404_on_the_page_routes(client, team):
    theirs = make_contact(make_member(Role.OWNER))
    sign_in_as(client, team["manager"])
    token = csrf_token(client, "/contacts")
    for path in (f"/contacts/{theirs.id}/shares", f"/contacts/{theirs.id}/shares/remove"):
        response = client.post(path, data={"user_ids": [team["ben"].user_id], "user_id": team["ben"].user_id},
                               headers={"X-CSRFToken": token})
        assert response.status_code == 404
    assert db.session.scalar(select(func.count()).select_from(ContactShare)) == 0
