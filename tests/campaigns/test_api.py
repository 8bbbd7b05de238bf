"""/api/campaigns, /api/templates, /api/suppressions over HTTP: every route, what it wrote, its
refusals (agents 403 on writes, another organization's ids 404, bodies outside the document or
refused by the data 422 naming the field, conflicts 409)."""

from __future__ import annotations

from datetime import timedelta
from io import BytesIO

import pytest
from sqlalchemy import func, select

from app.blueprints.campaigns.models import (
    Campaign,
    CampaignFile,
    CampaignStep,
    Enrollment,
    MessageTemplate,
    Suppression,
)
from app.blueprints.team.permissions import Role
from app.db_types import utcnow
from app.extensions import db
from tests.campaigns.kit import ALWAYS
from tests.conftest import bearer
from tests.factories import add_member, make_account, make_contact, make_deal, make_member


@pytest.fixture
def boss():
    return make_member(Role.MANAGER)


@pytest.fixture
def api(client, boss):
    def call(method: str, path: str, as_member=None, **kwargs):
        headers = bearer(as_member or boss)
        return client.open(f"/api{path}", method=method, headers=headers, **kwargs)

    return call


@pytest.fixture
def agent(boss):
    return add_member(boss.organization, role=Role.AGENT)


@pytest.fixture
def stranger():
    """A manager of another organization."""
    return make_member(Role.MANAGER)


def body(account_ids, **fields):
    return {"name": "Spring", "account_ids": account_ids, "window": ALWAYS,
            "steps": [{"wait_minutes": 0, "variants": [{"text": "Hi {{first_name}}"}, {"text": "Hello"}]},
                      {"wait_minutes": 60, "variants": [{"text": "Again"}]}], **fields}


@pytest.fixture
def account(boss):
    return make_account(boss.organization)


@pytest.fixture
def made(api, account):
    response = api("POST", "/campaigns", json=body([account.id]))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def row(campaign_id) -> Campaign | None:
    db.session.expire_all()
    return db.session.get(Campaign, campaign_id)


def error(response):
    payload = response.get_json()["error"]
    return payload["code"], set(payload["fields"])


def launched(api, boss, made, n=2):
    contacts = [make_contact(boss, telegram_username=f"lead_{made['id']}_{i}") for i in range(n)]
    assert api("POST", f"/campaigns/{made['id']}/enrollments",
               json={"contact_ids": [c.id for c in contacts]}).status_code == 200
    assert api("POST", f"/campaigns/{made['id']}/launch", json={}).status_code == 200
    return contacts


# -- campaigns -----------------------------------------------------------------------------------


def test_a_manager_creates_a_campaign_and_reads_it_where_location_says(api, account, made):
    found = row(made["id"])
    assert (found.name, found.status, found.account_ids) == ("Spring", "draft", [account.id])
    assert [[v.text for v in s.variants] for s in found.steps] == [["Hi {{first_name}}", "Hello"], ["Again"]]
    assert made["steps"][0]["variants"][1]["letter"] == "B" and made["window"] == ALWAYS
    read = api("GET", f"/campaigns/{made['id']}")
    assert read.status_code == 200 and read.get_json() == made


def test_the_location_of_a_new_campaign_is_its_own(api, account):
    response = api("POST", "/campaigns", json={"name": "Bare"})
    assert response.headers["Location"].endswith(f"/api/campaigns/{response.get_json()['id']}")
    assert row(response.get_json()["id"]).window["days"] == [1, 2, 3, 4, 5]  # the default window


def test_campaigns_are_listed_newest_first_page_by_page(api, made):
    second = api("POST", "/campaigns", json={"name": "Later"}).get_json()
    listed = api("GET", "/campaigns?per_page=1").get_json()
    assert (listed["total"], [c["id"] for c in listed["items"]]) == (2, [second["id"]])
    assert [c["id"] for c in api("GET", "/campaigns?per_page=1&page=2").get_json()["items"]] == [made["id"]]


def test_an_agent_reads_campaigns_but_every_write_is_forbidden(api, agent, made):
    assert api("GET", f"/campaigns/{made['id']}", as_member=agent).status_code == 200
    cid = made["id"]
    writes = [("POST", "/campaigns", {"name": "Mine"}), ("PUT", f"/campaigns/{cid}", {"name": "Mine"}),
              ("DELETE", f"/campaigns/{cid}", None), ("POST", f"/campaigns/{cid}/duplicate", None),
              ("POST", f"/campaigns/{cid}/launch", {}), ("POST", f"/campaigns/{cid}/pause", None),
              ("POST", f"/campaigns/{cid}/resume", None),
              ("POST", f"/campaigns/{cid}/steps/{made['steps'][0]['id']}/winner", {"variant_id": None}),
              ("POST", f"/campaigns/{cid}/enrollments", {"contact_ids": [1]}),
              ("POST", "/suppressions", {"kind": "username", "value": "nina_k"})]
    for method, path, payload in writes:
        response = api(method, path, as_member=agent, json=payload)
        assert response.status_code == 403, (method, path, response.status_code)
    assert (row(cid).name, row(cid).status) == ("Spring", "draft")
    assert db.session.scalar(select(func.count()).select_from(Campaign)) == 1
    assert db.session.scalar(select(func.count()).select_from(Enrollment)) == 0
    assert db.session.scalar(select(func.count()).select_from(Suppression)) == 0


def test_another_organizations_campaign_is_not_found_on_any_route(api, stranger, made):
    cid, sid = made["id"], made["steps"][0]["id"]
    routes = [("GET", f"/campaigns/{cid}", None), ("PUT", f"/campaigns/{cid}", {"name": "Theirs"}),
              ("DELETE", f"/campaigns/{cid}", None), ("POST", f"/campaigns/{cid}/duplicate", None),
              ("GET", f"/campaigns/{cid}/review", None), ("POST", f"/campaigns/{cid}/launch", {}),
              ("POST", f"/campaigns/{cid}/pause", None), ("POST", f"/campaigns/{cid}/resume", None),
              ("GET", f"/campaigns/{cid}/stats", None), ("GET", f"/campaigns/{cid}/enrollments", None),
              ("POST", f"/campaigns/{cid}/enrollments", {"contact_ids": [1]}),
              ("POST", f"/campaigns/{cid}/steps/{sid}/winner", {"variant_id": None})]
    for method, path, payload in routes:
        response = api(method, path, as_member=stranger, json=payload)
        assert response.status_code == 404, (method, path, response.status_code)
    assert (row(cid).name, row(cid).status) == ("Spring", "draft")
    assert api("GET", "/campaigns", as_member=stranger).get_json()["items"] == []


def test_a_body_outside_the_document_is_refused_naming_each_field(api):
    response = api("POST", "/campaigns", json={"name": "X", "colour": "red", "window": {"days": [8],
                                                                                       "start": "9", "end": "18:00"}})
    assert response.status_code == 422
    assert error(response) == ("invalid_request", {"colour", "window.days[0]", "window.start"})
    assert db.session.scalar(select(func.count()).select_from(Campaign)) == 0


@pytest.mark.parametrize(("changes", "field"), [
    ({"name": "   "}, "name"),
    ({"steps": [{"variants": [{"text": "Hi {{nobody}}"}]}]}, "steps.0.variants.0.text"),
    ({"steps": [{"variants": [{"text": "A", "weight": 0}]}]}, "steps.0.variants"),
    ({"window": {"days": [1], "start": "18:00", "end": "09:00"}}, "window.end"),
    ({"stop_stage_ids": [2_000_000_000]}, "stop_stage_ids"),
])
def test_a_body_the_data_refuses_names_its_field_and_changes_nothing(api, made, changes, field):
    response = api("PUT", f"/campaigns/{made['id']}", json=changes)
    assert response.status_code == 422 and error(response) == ("invalid", {field})
    assert api("GET", f"/campaigns/{made['id']}").get_json() == made


def test_accounts_of_another_organization_are_refused(api, stranger):
    theirs = make_account(stranger.organization)
    response = api("POST", "/campaigns", json={"name": "X", "account_ids": [theirs.id]})
    assert response.status_code == 422 and error(response) == ("invalid", {"account_ids"})


def test_a_sending_campaign_s_steps_change_only_when_confirmed_and_keep_their_ids(api, boss, made):
    launched(api, boss, made)
    change = {"steps": [{"variants": [{"text": "New first"}]}]}
    refused = api("PUT", f"/campaigns/{made['id']}", json=change)
    assert refused.status_code == 409 and error(refused)[0] == "confirmation_needed"
    assert [v.text for v in row(made["id"]).steps[0].variants] == ["Hi {{first_name}}", "Hello"]

    renamed = api("PUT", f"/campaigns/{made['id']}", json={"name": "Renamed"})
    assert renamed.status_code == 200 and row(made["id"]).name == "Renamed"
    done = api("PUT", f"/campaigns/{made['id']}", json={**change, "confirm": True})
    assert done.status_code == 200
    assert [s["id"] for s in done.get_json()["steps"]] == [made["steps"][0]["id"]]
    assert [[v.text for v in s.variants] for s in row(made["id"]).steps] == [["New first"]]


def test_deleting_a_draft_removes_it_and_a_launched_one_is_archived_not_deleted(api, boss, account, made):
    other = api("POST", "/campaigns", json=body([account.id], name="Other")).get_json()
    launched(api, boss, other)
    deleted = api("DELETE", f"/campaigns/{made['id']}")
    assert deleted.status_code == 204 and row(made["id"]) is None
    refused = api("DELETE", f"/campaigns/{other['id']}")
    assert refused.status_code == 409 and error(refused)[0] == "conflict"
    assert row(other["id"]).status == "running"
    archived = api("POST", f"/campaigns/{other['id']}/archive")
    assert archived.status_code == 200 and archived.get_json()["status"] == "archived"
    assert row(other["id"]).status == "archived"
    assert set(db.session.scalars(select(Enrollment.status))) == {"stopped"}
    assert api("GET", f"/campaigns/{other['id']}").get_json()["status"] == "archived"  # its record stays
    changed = api("PUT", f"/campaigns/{other['id']}", json={"name": "Again"})
    assert changed.status_code == 409 and row(other["id"]).name == "Other"


def test_a_draft_is_deleted_not_archived(api, made):
    response = api("POST", f"/campaigns/{made['id']}/archive")
    assert response.status_code == 409 and row(made["id"]).status == "draft"


def test_duplicate_makes_a_new_draft_without_the_audience(api, boss, made):
    launched(api, boss, made)
    response = api("POST", f"/campaigns/{made['id']}/duplicate")
    assert response.status_code == 201
    copy = response.get_json()
    assert response.headers["Location"].endswith(f"/api/campaigns/{copy['id']}")
    assert (copy["name"], copy["status"]) == ("Spring (copy)", "draft")
    assert [[v["text"] for v in s["variants"]] for s in copy["steps"]] == [
        [v["text"] for v in s["variants"]] for s in made["steps"]]
    assert db.session.scalar(select(func.count()).where(Enrollment.campaign_id == copy["id"])) == 0


# -- review, launch, pause, resume ---------------------------------------------------------------


def test_the_review_counts_who_will_be_written_to_and_pages_the_skipped(api, boss, made):
    writable = make_contact(boss, telegram_username="fine_one")
    nobody = [make_contact(boss) for _ in range(3)]
    api("POST", f"/campaigns/{made['id']}/enrollments", json={"contact_ids": [writable.id, *(c.id for c in nobody)]})

    review = api("GET", f"/campaigns/{made['id']}/review?per_page=2").get_json()
    assert (review["status"], review["will_write"], review["skipped"], review["total_skipped"]) == (
        "draft", 1, {"no_identity": 3}, 3)
    assert [c["contact_id"] for c in review["contacts"]] == [nobody[0].id, nobody[1].id]
    page_two = api("GET", f"/campaigns/{made['id']}/review?per_page=2&page=2").get_json()
    assert page_two["contacts"] == [{"contact_id": nobody[2].id, "reason": "no_identity", "detail": None}]
    assert set(db.session.scalars(select(Enrollment.status))) == {"pending"}  # a review writes nothing


def test_launch_starts_the_audience_and_says_who_is_skipped(api, boss, made):
    fine, nobody = make_contact(boss, telegram_username="fine_two"), make_contact(boss)
    api("POST", f"/campaigns/{made['id']}/enrollments", json={"contact_ids": [fine.id, nobody.id]})
    response = api("POST", f"/campaigns/{made['id']}/launch", json={})
    assert response.get_json() == {"status": "running", "will_write": 1, "skipped": {"no_identity": 1}}
    assert row(made["id"]).status == "running"
    statuses = dict(db.session.execute(select(Enrollment.contact_id, Enrollment.status)).all())
    assert statuses == {fine.id: "waiting", nobody.id: "skipped"}
    again = api("POST", f"/campaigns/{made['id']}/launch", json={})
    assert again.status_code == 409 and row(made["id"]).status == "running"


def test_a_launch_at_a_later_moment_is_scheduled(api, boss, made):
    api("POST", f"/campaigns/{made['id']}/enrollments",
        json={"contact_ids": [make_contact(boss, telegram_username="later_two").id]})
    starts = (utcnow() + timedelta(days=3)).replace(microsecond=0)
    response = api("POST", f"/campaigns/{made['id']}/launch", json={"starts_at": starts.isoformat()})
    assert response.get_json()["status"] == "scheduled"
    assert (row(made["id"]).status, row(made["id"]).starts_at) == ("scheduled", starts)


@pytest.mark.parametrize("starts_at", ["not a moment", "", "2999-01-01T00:00:00Z"])
def test_a_starts_at_that_is_no_moment_or_too_far_is_refused(api, made, starts_at):
    response = api("POST", f"/campaigns/{made['id']}/launch", json={"starts_at": starts_at})
    assert response.status_code == 422 and error(response) == ("invalid", {"starts_at"})
    assert row(made["id"]).status == "draft"


def test_a_campaign_without_accounts_does_not_launch(api):
    bare = api("POST", "/campaigns", json={"name": "Bare", "steps": [{"variants": [{"text": "Hi"}]}]}).get_json()
    response = api("POST", f"/campaigns/{bare['id']}/launch", json={})
    assert response.status_code == 422 and error(response) == ("invalid", {"account_ids"})
    assert row(bare["id"]).status == "draft"


def test_pause_and_resume_move_a_running_campaign_and_refuse_otherwise(api, boss, made):
    assert api("POST", f"/campaigns/{made['id']}/pause").status_code == 409
    launched(api, boss, made)
    paused = api("POST", f"/campaigns/{made['id']}/pause")
    assert paused.get_json()["status"] == "paused" and row(made["id"]).status == "paused"
    assert api("POST", f"/campaigns/{made['id']}/pause").status_code == 409
    resumed = api("POST", f"/campaigns/{made['id']}/resume")
    assert resumed.get_json()["status"] == "running" and row(made["id"]).status == "running"
    assert api("POST", f"/campaigns/{made['id']}/resume").status_code == 409
    assert row(made["id"]).status == "running"


def test_a_step_s_winner_is_chosen_and_taken_back(api, made):
    step = made["steps"][0]
    b = step["variants"][1]["id"]
    path = f"/campaigns/{made['id']}/steps/{step['id']}/winner"
    chosen = api("POST", path, json={"variant_id": b})
    assert chosen.status_code == 200 and chosen.get_json()["winner_variant_id"] == b
    assert db.session.get(CampaignStep, step["id"]).winner_variant_id == b
    other_step = api("POST", path, json={"variant_id": made["steps"][1]["variants"][0]["id"]})
    assert other_step.status_code == 422 and error(other_step) == ("invalid", {"variant_id"})
    assert api("POST", f"/campaigns/{made['id']}/steps/{10**6}/winner", json={"variant_id": None}).status_code == 404
    assert api("POST", path, json={}).status_code == 422  # variant_id is required (null: the split)
    api("POST", path, json={"variant_id": None})
    db.session.expire_all()
    assert db.session.get(CampaignStep, step["id"]).winner_variant_id is None


def test_stats_count_the_audience_by_status_and_list_each_step_s_variants(api, boss, made):
    launched(api, boss, made, n=3)
    figures = api("GET", f"/campaigns/{made['id']}/stats").get_json()
    assert figures["enrolled"] == 3 and figures["statuses"] == {"waiting": 3}
    assert [s["step_id"] for s in figures["steps"]] == [s["id"] for s in made["steps"]]
    first = figures["steps"][0]["variants"]
    assert [(v["letter"], v["sent"], v["reply_rate"]) for v in first] == [("A", 0, None), ("B", 0, None)]


# -- enrollments ---------------------------------------------------------------------------------


def test_contacts_join_by_ids_filter_or_stage_and_never_twice(api, boss, made):
    vip = [make_contact(boss, telegram_username=f"vip_{n}", tags=["vip"]) for n in range(2)]
    deal = make_deal(boss)
    deal.contact_id = vip[0].id
    db.session.commit()
    path = f"/campaigns/{made['id']}/enrollments"
    assert api("POST", path, json={"contact_ids": [vip[0].id]}).get_json() == {
        "added": 1, "already": 0, "skipped": {}}
    assert api("POST", path, json={"filter": {"tag": "vip"}}).get_json() == {
        "added": 1, "already": 1, "skipped": {}}
    assert api("POST", path, json={"stage_id": deal.stage_id}).get_json() == {
        "added": 0, "already": 1, "skipped": {}}
    assert sorted(db.session.scalars(select(Enrollment.contact_id))) == sorted(c.id for c in vip)
    listed = api("GET", f"{path}?status=pending&per_page=1").get_json()
    assert (listed["total"], listed["items"][0]["contact_id"]) == (2, vip[0].id)
    assert api("GET", f"{path}?status=waiting").get_json()["total"] == 0


@pytest.mark.parametrize(("payload", "code", "fields"), [
    ({}, "invalid_request", None),
    ({"contact_ids": [1], "stage_id": 1}, "invalid_request", None),
    ({"filter": {"colour": "red"}}, "invalid_request", {"filter.colour"}),
    ({"filter": {"company": "99999999999999"}}, "invalid", {"filter.company"}),
    ({"stage_id": 2_000_000_000}, "invalid", {"stage_id"}),
])
def test_an_add_without_exactly_one_good_source_is_refused(api, boss, made, payload, code, fields):
    make_contact(boss, telegram_username="not_added")
    response = api("POST", f"/campaigns/{made['id']}/enrollments", json=payload)
    assert response.status_code == 422 and error(response)[0] == code, response.get_json()
    if fields:
        assert error(response)[1] == fields
    assert db.session.scalar(select(func.count()).select_from(Enrollment)) == 0


def test_another_organization_s_contacts_join_nobody(api, stranger, made):
    theirs = make_contact(stranger, telegram_username="their_lead")
    response = api("POST", f"/campaigns/{made['id']}/enrollments", json={"contact_ids": [theirs.id]})
    assert response.get_json() == {"added": 0, "already": 0, "skipped": {}}
    assert db.session.scalar(select(func.count()).select_from(Enrollment)) == 0


def test_nobody_joins_an_archived_campaign(api, boss, made):
    launched(api, boss, made)
    assert api("POST", f"/campaigns/{made['id']}/archive").status_code == 200
    late = make_contact(boss, telegram_username="too_late_api")
    response = api("POST", f"/campaigns/{made['id']}/enrollments", json={"contact_ids": [late.id]})
    assert response.status_code == 409
    assert db.session.scalar(select(func.count()).where(Enrollment.contact_id == late.id)) == 0


def test_stopping_a_sequence_ends_it_once_and_only_for_who_may(api, boss, agent, stranger, made):
    contacts = launched(api, boss, made)
    enrollment_id = db.session.scalar(select(Enrollment.id).where(Enrollment.contact_id == contacts[0].id))
    path = f"/campaigns/{made['id']}/enrollments/{enrollment_id}"
    assert api("DELETE", path, as_member=agent).status_code == 403
    assert api("DELETE", path, as_member=stranger).status_code == 404
    assert api("DELETE", f"/campaigns/{made['id']}/enrollments/{10**6}").status_code == 404
    assert db.session.get(Enrollment, enrollment_id).status == "waiting"
    stopped = api("DELETE", path)
    assert (stopped.status_code, stopped.get_json()["status"], stopped.get_json()["reason"]) == (
        200, "stopped", "teammate")
    db.session.expire_all()
    assert (db.session.get(Enrollment, enrollment_id).status, db.session.get(Enrollment, enrollment_id)
            .stopped_by_id) == ("stopped", boss.user_id)
    assert api("DELETE", path).status_code == 409


def test_an_agent_stops_the_sequence_of_a_contact_they_own(api, boss, agent, account):
    made = api("POST", "/campaigns", json=body([account.id])).get_json()
    mine = make_contact(agent, telegram_username="agents_own")
    api("POST", f"/campaigns/{made['id']}/enrollments", json={"contact_ids": [mine.id]})
    enrollment_id = db.session.scalar(select(Enrollment.id))
    response = api("DELETE", f"/campaigns/{made['id']}/enrollments/{enrollment_id}", as_member=agent)
    assert response.status_code == 200
    db.session.expire_all()
    assert db.session.get(Enrollment, enrollment_id).stopped_by_id == agent.user_id


# -- templates -----------------------------------------------------------------------------------


def test_templates_are_kept_read_changed_and_deleted(api, agent):
    created = api("POST", "/templates", as_member=agent, json={"name": "Intro", "text": "Hi {{first_name}}"})
    assert created.status_code == 201
    template = created.get_json()
    assert created.headers["Location"].endswith(f"/api/templates/{template['id']}")
    assert api("GET", f"/templates/{template['id']}").get_json() == template
    assert [t["name"] for t in api("GET", "/templates").get_json()["items"]] == ["Intro"]

    changed = api("PUT", f"/templates/{template['id']}", as_member=agent, json={"text": "Hello"})
    assert changed.get_json()["text"] == "Hello"
    assert db.session.get(MessageTemplate, template["id"]).text == "Hello"
    assert api("DELETE", f"/templates/{template['id']}").status_code == 204  # a manager may
    assert db.session.scalar(select(func.count()).select_from(MessageTemplate)) == 0
    assert api("GET", f"/templates/{template['id']}").status_code == 404


def test_template_refusals_name_the_field_and_keep_the_row(api, boss, stranger):
    kept = api("POST", "/templates", json={"name": "Intro", "text": "Hello"}).get_json()
    taken = api("POST", "/templates", json={"name": "intro", "text": "Hi"})
    assert taken.status_code == 422 and error(taken) == ("invalid", {"name"})
    unknown = api("PUT", f"/templates/{kept['id']}", json={"text": "Hi {{nobody}}"})
    assert unknown.status_code == 422 and error(unknown) == ("invalid", {"text"})
    missing = api("POST", "/templates", json={"name": "Only a name"})
    assert missing.status_code == 422 and error(missing) == ("invalid_request", {"text"})
    other_agent = add_member(boss.organization, role=Role.AGENT)
    assert api("PUT", f"/templates/{kept['id']}", as_member=other_agent, json={"text": "Mine"}).status_code == 403
    assert api("DELETE", f"/templates/{kept['id']}", as_member=other_agent).status_code == 403
    assert api("PUT", f"/templates/{kept['id']}", as_member=stranger, json={"text": "Theirs"}).status_code == 404
    assert api("DELETE", f"/templates/{kept['id']}", as_member=stranger).status_code == 404
    db.session.expire_all()
    assert (db.session.get(MessageTemplate, kept["id"]).text,
            db.session.scalar(select(func.count()).select_from(MessageTemplate))) == ("Hello", 1)


# -- the do-not-contact list ---------------------------------------------------------------------


def test_an_identity_is_listed_canonically_once_and_taken_off(api):
    first = api("POST", "/suppressions", json={"kind": "username", "value": "@Nina_K", "note": "asked"})
    assert first.status_code == 201
    [entry] = first.get_json()["items"]
    assert (entry["kind"], entry["value"], entry["reason"], entry["note"]) == ("username", "nina_k", "api", "asked")
    again = api("POST", "/suppressions", json={"kind": "username", "value": "nina_k"})
    assert again.get_json()["items"][0]["id"] == entry["id"]
    listed = api("GET", "/suppressions").get_json()
    assert (listed["total"], [e["id"] for e in listed["items"]]) == (1, [entry["id"]])
    assert api("DELETE", f"/suppressions/{entry['id']}").get_json() == {"removed": True}
    assert db.session.scalar(select(func.count()).select_from(Suppression)) == 0
    assert api("DELETE", f"/suppressions/{entry['id']}").status_code == 404


def test_a_contact_is_listed_with_every_identity_they_have(api, boss):
    contact = make_contact(boss, telegram_username="Whole_Person", phone="+442079460002")
    response = api("POST", "/suppressions", json={"contact_id": contact.id})
    assert response.status_code == 201
    stored = set(db.session.execute(select(Suppression.kind, Suppression.value)).all())
    assert stored == {("contact", str(contact.id)), ("username", "whole_person"), ("phone", "+442079460002")}


@pytest.mark.parametrize(("payload", "status", "fields"), [
    ({}, 422, {"contact_id"}),
    ({"kind": "username"}, 422, {"kind"}),
    ({"kind": "phone", "value": "call me"}, 422, {"value"}),
    ({"kind": "contact", "value": "1"}, 422, {"kind"}),
    ({"contact_id": 2_000_000_000}, 404, set()),
])
def test_a_suppression_that_names_nothing_is_refused(api, payload, status, fields):
    response = api("POST", "/suppressions", json=payload)
    assert response.status_code == status and error(response)[1] == fields, response.get_json()
    assert db.session.scalar(select(func.count()).select_from(Suppression)) == 0


def test_another_organization_s_entries_are_neither_seen_nor_removed(api, stranger):
    theirs = api("POST", "/suppressions", as_member=stranger, json={"kind": "username", "value": "their_one"})
    entry_id = theirs.get_json()["items"][0]["id"]
    assert api("GET", "/suppressions").get_json() == {"items": [], "total": 0, "page": 1, "per_page": 50}
    assert api("DELETE", f"/suppressions/{entry_id}").status_code == 404
    assert db.session.get(Suppression, entry_id) is not None


# -- files ---------------------------------------------------------------------------------------


def send_file(api, as_member=None, data=b"%PDF-1.4 deck", name="deck.pdf", mime="application/pdf"):
    return api("POST", "/campaign-files", as_member=as_member, content_type="multipart/form-data",
               data={"file": (BytesIO(data), name, mime)})


def test_a_file_is_kept_and_a_step_sends_it_then_keeps_drops_or_refuses_it(api, account, stranger):
    response = send_file(api)
    assert response.status_code == 201
    kept = response.get_json()
    assert kept == {"id": kept["id"], "file_name": "deck.pdf", "mime_type": "application/pdf", "size": 13}
    steps = [{"wait_minutes": 0, "variants": [{"text": "The deck"}], "file_id": kept["id"]},
             {"wait_minutes": 60, "variants": [{"text": "Again"}]}]
    made = api("POST", "/campaigns", json=body([account.id], steps=steps)).get_json()
    read = api("GET", f"/campaigns/{made['id']}").get_json()
    assert [s["file"] for s in read["steps"]] == [kept, None]

    # an update without file_id keeps the file at each place; null takes it away
    same = api("PUT", f"/campaigns/{made['id']}", json={"steps": [{"variants": [{"text": "The deck, again"}]}]})
    assert [s["file"] for s in same.get_json()["steps"]] == [kept]
    assert [s.file_id for s in row(made["id"]).steps] == [kept["id"]]

    theirs = send_file(api, as_member=stranger).get_json()
    refused = api("PUT", f"/campaigns/{made['id']}", json={"steps": [
        {"variants": [{"text": "Changed"}], "file_id": theirs["id"]}]})
    assert refused.status_code == 422 and error(refused) == ("invalid", {"steps.0.file_id"})
    found = row(made["id"])
    assert ([s.file_id for s in found.steps], found.steps[0].variants[0].text) == ([kept["id"]], "The deck, again")

    too_long = api("PUT", f"/campaigns/{made['id']}", json={"steps": [{"variants": [{"text": "y" * 1025}]}]})
    assert too_long.status_code == 422 and error(too_long) == ("invalid", {"steps.0.variants.0.text"})

    other = send_file(api, name="other.png", mime="image/png").get_json()
    swapped = api("PUT", f"/campaigns/{made['id']}", json={"steps": [{"variants": [{"text": "The office"}],
                                                                       "file_id": other["id"]}]})
    assert [s["file"] for s in swapped.get_json()["steps"]] == [other]
    assert [s.file_id for s in row(made["id"]).steps] == [other["id"]]

    gone = api("PUT", f"/campaigns/{made['id']}", json={"steps": [{"variants": [{"text": "y" * 1025}],
                                                                    "file_id": None}]})
    assert gone.status_code == 200 and [s["file"] for s in gone.get_json()["steps"]] == [None]
    assert [s.file_id for s in row(made["id"]).steps] == [None]


def test_a_duplicate_s_steps_name_the_same_files(api, account):
    kept = send_file(api).get_json()
    made = api("POST", "/campaigns", json=body([account.id], steps=[
        {"variants": [{"text": "The deck"}], "file_id": kept["id"]}])).get_json()
    copy = api("POST", f"/campaigns/{made['id']}/duplicate").get_json()
    assert [s["file"] for s in copy["steps"]] == [kept]
    assert db.session.scalar(select(func.count()).select_from(CampaignFile)) == 1


@pytest.mark.parametrize("data, fields", [
    ({"file": (BytesIO(b""), "empty.txt", "text/plain")}, {"file"}),
    ({"file": (BytesIO(b"x" * (10 * 1024 * 1024 + 1)), "big.bin", "application/octet-stream")}, {"file"}),
    ({"file": "not a file"}, {"file"}),
])
def test_no_file_an_empty_one_or_one_too_large_is_refused(api, data, fields):
    response = api("POST", "/campaign-files", content_type="multipart/form-data", data=data)
    assert response.status_code == 422 and error(response)[1] == fields
    assert db.session.scalar(select(func.count()).select_from(CampaignFile)) == 0


def test_an_agent_cannot_keep_a_file(api, agent):
    assert send_file(api, as_member=agent).status_code == 403
    assert db.session.scalar(select(func.count()).select_from(CampaignFile)) == 0
