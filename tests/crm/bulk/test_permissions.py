"""Every bulk action is allowed exactly when the same action on one record is, for every role.

The sweep asks the single-record API first (PATCH, DELETE, the stage move) what a role may do to a
record owned by itself, by a teammate or by nobody, then applies the bulk action (JSON API and the
list page) to an identical record and checks both the answer and the record afterwards.
"""

import pytest
from sqlalchemy import select

from app.blueprints.crm.bulk import jobs as bulk_jobs
from app.blueprints.crm.models import Contact
from app.blueprints.crm.records import service
from app.blueprints.crm.records.page_context import entity_of
from app.blueprints.pipeline.service import default_pipeline
from app.blueprints.team.permissions import Role
from app.extensions import db, redis_store
from app.jobs import queue
from tests.conftest import bearer, csrf_token, sign_in_as
from tests.factories import add_member, make_company, make_contact, make_deal

MAKERS = {"contacts": make_contact, "companies": make_company, "deals": make_deal}
HX = {"HX-Request": "true"}


def won_stage(org_id):
    return next(s for s in default_pipeline(org_id).stages if s.name == "Won")


def state(entities, record_id):
    db.session.expire_all()
    record = db.session.get(service.model_for(entity_of(entities)), record_id)
    return (sorted(t.name for t in record.tags), record.owner_id, record.deleted_at is not None,
            getattr(record, "stage_id", None))


def single(client, headers, entities, record, action, value):
    """The single-record action that matches a bulk action; its status."""
    url = f"/api/crm/{entities}/{record.id}"
    if action == "add_tag":
        return client.patch(url, json={"tags": ["vip"]}, headers=headers).status_code
    if action == "remove_tag":
        return client.patch(url, json={"tags": []}, headers=headers).status_code
    if action == "assign":
        return client.patch(url, json={"owner": value}, headers=headers).status_code
    if action == "move_stage":
        return client.patch(f"/api/crm/deals/{record.id}/stage", json={"stage_id": value},
                            headers=headers).status_code
    return client.delete(url, headers=headers).status_code  # delete, and restore (its undo)


def actions(entities, new_owner_id, stage_id):
    found = [("add_tag", "vip"), ("remove_tag", "vip"), ("assign", new_owner_id), ("delete", None),
             ("restore", None)]
    return [*found, ("move_stage", stage_id)] if entities == "deals" else found


@pytest.mark.parametrize("role", list(Role))
def test_bulk_actions_need_what_the_single_record_action_needs(client, owner, role):
    actor = add_member(owner.organization, role=role)
    mate = add_member(owner.organization, role=Role.AGENT)
    new_owner = add_member(owner.organization, role=Role.AGENT)  # owns none of the records
    headers = bearer(actor)
    stage_id = won_stage(owner.org_id).id
    for entities, make in MAKERS.items():
        for action, value in actions(entities, new_owner.user_id, stage_id):
            for owner_of in (actor, mate, None):
                fields = {"tags": "vip"} if action == "remove_tag" else {}
                if entities == "deals":
                    fields["value"], fields["expected_close"] = "100", "2027-01-31"  # Won's rule
                probe, target = (make(owner, owner=owner_of.user_id if owner_of else "", **fields)
                                 for _ in range(2))
                if action == "restore":
                    service.trash_records(owner, entity_of(entities), [target.id])
                    db.session.commit()
                allowed = single(client, headers, entities, probe, action, value) < 400
                before = state(entities, target.id)
                response = client.post(f"/api/crm/{entities}/bulk", headers=headers,
                                       json={"action": action, "ids": [target.id], "value": value})
                case = (role.value, entities, action, owner_of and owner_of.role)
                assert response.status_code == (200 if allowed else 403), case
                assert (state(entities, target.id) != before) is allowed, case


def test_an_agent_cannot_tag_a_teammates_contact_through_the_list_page_either(client, owner):
    agent = add_member(owner.organization, role=Role.AGENT)
    mine, theirs = make_contact(owner, owner=agent.user_id), make_contact(owner)
    sign_in_as(client, agent)
    token = csrf_token(client, "/contacts")
    response = client.post("/contacts/bulk", data={"action": "add_tag", "tag_name": "vip",
                                                   "ids": [mine.id, theirs.id]},
                           headers={**HX, "X-CSRFToken": token})
    assert response.status_code == 403
    assert "1 of the 2 selected belong to someone else" in response.headers["HX-Trigger"]
    db.session.expire_all()
    assert [t.name for t in db.session.get(Contact, mine.id).tags] == []  # nothing half-done
    assert [t.name for t in db.session.get(Contact, theirs.id).tags] == []


def test_all_matching_rows_are_checked_like_a_selection(client, owner):
    agent = add_member(owner.organization, role=Role.AGENT)
    for n in range(25):
        make_contact(owner, owner=agent.user_id if n % 2 else owner.user_id)
    response = client.post("/api/crm/contacts/bulk", headers=bearer(agent),
                           json={"action": "add_tag", "all": True, "value": "vip"})
    assert response.status_code == 403
    assert "13 of the 25 selected" in response.get_json()["error"]["message"]
    assert not any(c.tags for c in db.session.scalars(select(Contact)))


def test_a_large_bulk_action_an_agent_may_not_do_is_refused_before_it_is_queued(client, owner, monkeypatch):
    monkeypatch.setattr(bulk_jobs, "BACKGROUND_AT", 2)
    agent = add_member(owner.organization, role=Role.AGENT)
    ids = [make_deal(owner).id for _ in range(3)]
    sign_in_as(client, agent)
    token = csrf_token(client, "/deals")
    response = client.post("/deals/bulk", data={"action": "move_stage", "to_stage": won_stage(owner.org_id).id,
                                                "ids": ids}, headers={**HX, "X-CSRFToken": token})
    assert response.status_code == 403
    assert 'id="bulk-progress"' not in response.get_data(as_text=True)
    assert queue().count == 0 and not redis_store.client.keys("crm:bulk:*")  # nothing queued
