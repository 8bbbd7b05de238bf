"""``/api/team/clients``: handing contacts, deals and chats to a member at once (all or nothing),
and the contacts shared with a member."""

import pytest
from sqlalchemy import select

from app.blueprints.crm.models import Activity, Contact, Deal
from app.blueprints.crm.records import service as crm_service
from app.blueprints.crm.records import sharing
from app.blueprints.messaging.models import Chat
from app.blueprints.team.permissions import Role
from app.extensions import db
from tests.conftest import bearer
from tests.factories import add_member, make_account, make_chat, make_contact, make_deal, make_member

ASSIGN = "/api/team/clients/assign"
SHARED = "/api/team/clients/shared"


@pytest.fixture
def book(owner):
    """A manager, two agents; Amy's two contacts with a deal each, two chats."""
    org = owner.organization
    manager, amy, ben = (add_member(org, role=r) for r in (Role.MANAGER, Role.AGENT, Role.AGENT))
    contacts = [make_contact(amy), make_contact(amy)]
    deals = [make_deal(amy, contact=c.id) for c in contacts]
    account = make_account(org)
    chats = [make_chat(account, contact_id=c.id) for c in contacts]
    return {"manager": manager, "amy": amy, "ben": ben, "contacts": contacts, "deals": deals, "chats": chats}


def owners(model, rows) -> list:
    db.session.expire_all()
    return [db.session.get(model, r.id).owner_id for r in rows]


def assignees(rows) -> list:
    db.session.expire_all()
    return [db.session.get(Chat, r.id).assignee_id for r in rows]


def ids(rows) -> list[int]:
    return [r.id for r in rows]


def test_a_manager_hands_contacts_deals_and_chats_to_a_member_at_once(client, book, doorbells):
    manager, ben = book["manager"], book["ben"]
    doorbells()
    response = client.post(ASSIGN, headers=bearer(manager), json={
        "user_id": ben.user_id, "contact_ids": ids(book["contacts"]), "deal_ids": ids(book["deals"]),
        "chat_ids": ids(book["chats"])})
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"contacts": 2, "deals": 2, "chats": 2}
    assert owners(Contact, book["contacts"]) == [ben.user_id] * 2
    assert owners(Deal, book["deals"]) == [ben.user_id] * 2
    assert assignees(book["chats"]) == [ben.user_id] * 2
    entry = db.session.scalar(select(Activity).where(Activity.subject_type == "contact", Activity.kind == "updated",
                                                     Activity.subject_id == book["contacts"][0].id))
    assert entry.data == {"changes": {"owner": [book["amy"].user_id, ben.user_id]}}
    rung = [data for kind, data in doorbells() if kind == "inbox.chat"]
    assert {d["chat_id"] for d in rung} == set(ids(book["chats"]))


def test_what_the_member_has_already_is_not_counted(client, book):
    amy = book["amy"]
    response = client.post(ASSIGN, headers=bearer(book["manager"]), json={
        "user_id": amy.user_id, "contact_ids": [*ids(book["contacts"]), book["contacts"][0].id]})
    assert response.get_json() == {"contacts": 0, "deals": 0, "chats": 0}


def test_one_foreign_id_fails_the_whole_request_naming_it(client, book):
    theirs = make_chat(make_account(make_member().organization))
    foreign_deal = make_deal(make_member())
    for body, field, named in (
            ({"chat_ids": [*ids(book["chats"]), theirs.id]}, "chat_ids", theirs.id),
            ({"deal_ids": [*ids(book["deals"]), foreign_deal.id]}, "deal_ids", foreign_deal.id),
            ({"contact_ids": [book["contacts"][0].id, 2_000_000]}, "contact_ids", 2_000_000)):
        response = client.post(ASSIGN, headers=bearer(book["manager"]), json={
            "user_id": book["ben"].user_id, "contact_ids": ids(book["contacts"]), **body})
        error = response.get_json()["error"]
        assert response.status_code == 404 and error["code"] == "not_found"
        assert str(named) in error["message"] and field in error["fields"]
    assert owners(Contact, book["contacts"]) == [book["amy"].user_id] * 2
    assert owners(Deal, book["deals"]) == [book["amy"].user_id] * 2
    assert assignees(book["chats"]) == [None, None]


def test_a_trashed_record_is_not_assigned(client, book):
    crm_service.trash_records(book["manager"], "deal", [book["deals"][1].id])
    db.session.commit()
    response = client.post(ASSIGN, headers=bearer(book["manager"]), json={
        "user_id": book["ben"].user_id, "deal_ids": ids(book["deals"])})
    assert response.status_code == 404 and str(book["deals"][1].id) in response.get_json()["error"]["message"]
    assert owners(Deal, book["deals"][:1]) == [book["amy"].user_id]


def test_an_agent_may_not_reassign_records_or_chats(client, book):
    amy = book["amy"]
    for body in ({"contact_ids": ids(book["contacts"])}, {"chat_ids": ids(book["chats"])}):
        response = client.post(ASSIGN, headers=bearer(amy), json={"user_id": book["ben"].user_id, **body})
        assert response.status_code == 403 and response.get_json()["error"]["code"] == "forbidden"
    assert owners(Contact, book["contacts"]) == [amy.user_id] * 2 and assignees(book["chats"]) == [None, None]


def test_refused_records_leave_the_chats_as_they_were_too(client, book):
    """The chats come last: a refusal of the records leaves them unassigned."""
    amy = book["amy"]
    response = client.post(ASSIGN, headers=bearer(amy), json={
        "user_id": amy.user_id, "chat_ids": ids(book["chats"]), "deal_ids": ids(book["deals"])})
    assert response.status_code == 403 and assignees(book["chats"]) == [None, None]


def test_the_member_must_belong_to_the_organization_and_something_must_be_named(client, book):
    stranger = make_member(Role.AGENT)
    response = client.post(ASSIGN, headers=bearer(book["manager"]), json={
        "user_id": stranger.user_id, "contact_ids": ids(book["contacts"])})
    assert response.status_code == 422 and "user_id" in response.get_json()["error"]["fields"]
    response = client.post(ASSIGN, headers=bearer(book["manager"]), json={"user_id": book["ben"].user_id})
    assert response.status_code == 422 and response.get_json()["error"]["code"] == "invalid"
    assert owners(Contact, book["contacts"]) == [book["amy"].user_id] * 2


def test_the_contract_bounds_the_lists(client, book):
    response = client.post(ASSIGN, headers=bearer(book["manager"]), json={
        "user_id": book["ben"].user_id, "contact_ids": list(range(1, 1002))})
    assert response.status_code == 422 and response.get_json()["error"]["code"] == "invalid_request"
    response = client.post(ASSIGN, headers=bearer(book["manager"]), json={"contact_ids": [1]})
    assert response.status_code == 422 and "user_id" in response.get_json()["error"]["fields"]


def test_the_routes_are_in_the_document(client):
    paths = client.get("/api/openapi.json").get_json()["paths"]
    assert "post" in paths[ASSIGN] and "get" in paths[SHARED]


# -- shared with a member -------------------------------------------------------------------------

def test_an_agent_lists_the_contacts_shared_with_them(client, book):
    amy, ben, manager = book["amy"], book["ben"], book["manager"]
    first, second = book["contacts"]
    sharing.share_contact(amy, first.id, [ben.user_id])
    db.session.commit()
    sharing.share_contact(manager, second.id, [ben.user_id])
    db.session.commit()
    body = client.get(SHARED, headers=bearer(ben)).get_json()
    assert body["total"] == 2 and body["pages"] == 1 and body["links"]["next"] is None
    assert [i["contact"]["id"] for i in body["items"]] == [second.id, first.id]  # the latest first
    assert body["items"][0]["shared_by"] == {"id": manager.user_id, "name": manager.user.name}
    assert body["items"][1]["shared_at"]
    assert client.get(SHARED, headers=bearer(amy)).get_json()["items"] == []


def test_the_listing_pages(client, book):
    amy, ben = book["amy"], book["ben"]
    for contact in book["contacts"]:
        sharing.share_contact(amy, contact.id, [ben.user_id])
        db.session.commit()
    body = client.get(f"{SHARED}?per_page=1", headers=bearer(ben)).get_json()
    assert body["pages"] == 2 and len(body["items"]) == 1 and "page=2" in body["links"]["next"]
    last = client.get(body["links"]["next"], headers=bearer(ben)).get_json()
    assert last["items"][0]["contact"]["id"] == book["contacts"][0].id and last["links"]["next"] is None


def test_managers_list_another_members_shares_and_agents_may_not(client, book):
    amy, ben, manager = book["amy"], book["ben"], book["manager"]
    sharing.share_contact(amy, book["contacts"][0].id, [ben.user_id])
    db.session.commit()
    body = client.get(f"{SHARED}?user_id={ben.user_id}", headers=bearer(manager)).get_json()
    assert [i["contact"]["id"] for i in body["items"]] == [book["contacts"][0].id]
    assert f"user_id={ben.user_id}" in body["links"]["self"]
    response = client.get(f"{SHARED}?user_id={ben.user_id}", headers=bearer(amy))
    assert response.status_code == 403
    assert client.get(f"{SHARED}?user_id={amy.user_id}", headers=bearer(amy)).status_code == 200
    stranger = make_member(Role.AGENT)
    assert client.get(f"{SHARED}?user_id={stranger.user_id}", headers=bearer(manager)).status_code == 404


def test_the_api_needs_a_token(client):
    assert client.get(SHARED).status_code == 401
    assert client.post(ASSIGN, json={"user_id": 1, "contact_ids": [1]}).status_code == 401
