"""The CRM JSON API: CRUD, validation, lists, bulk, stage moves, tenancy and roles over HTTP."""

from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from app.blueprints.crm.models import Contact, CustomField, Deal, Tag
from app.blueprints.team.permissions import Role
from app.extensions import db
from tests.conftest import bearer
from tests.factories import add_member, make_company, make_contact, make_deal, make_member


@pytest.fixture
def api(client, owner):
    """``api(method, path, **kwargs)``: a request as the owner, with a bearer token."""
    headers = bearer(owner)

    def call(method: str, path: str, **kwargs):
        return client.open(f"/api/crm{path}", method=method, headers=headers, **kwargs)

    return call


# -- CRUD --------------------------------------------------------------------------------------

def test_creating_reading_updating_and_trashing_a_contact(api, owner):
    created = api("POST", "/contacts", json={
        "first_name": "Ada", "last_name": "Lovelace", "email": "Ada@Example.com", "phone": "+44 20 7946 0958",
        "company": "Engines Ltd", "tags": ["vip", "london"]})
    assert created.status_code == 201
    body = created.get_json()
    assert body["email"] == "ada@example.com" and body["phone"] == "+442079460958"
    assert body["company"]["name"] == "Engines Ltd" and body["company_id"] == body["company"]["id"]
    assert body["tags"] == ["london", "vip"]
    assert body["owner"] == {"id": owner.user_id, "name": owner.user.name, "email": owner.user.email}
    assert body["created_at"].endswith("+00:00") and body["deleted_at"] is None

    path = f"/contacts/{body['id']}"
    assert api("GET", path).get_json()["last_name"] == "Lovelace"
    assert api("GET", f"/contacts/trash/{body['id']}").status_code == 404
    patched = api("PATCH", path, json={"title": "Countess"}).get_json()
    assert patched["title"] == "Countess" and patched["email"] == "ada@example.com"

    assert api("DELETE", path).status_code == 204
    assert api("GET", path).status_code == 404
    assert api("GET", f"/contacts/trash/{body['id']}").get_json()["deleted_at"] is not None
    assert api("GET", "/contacts?trashed=1").get_json()["total"] == 1


@pytest.mark.parametrize(("entities", "body", "field", "value"), [
    ("companies", {"name": "Acme", "domain": "https://www.acme.io/about"}, "domain", "acme.io"),
    ("deals", {"title": "Pilot", "value": 12500.5, "currency": "eur"}, "value", "12500.50"),
])
def test_companies_and_deals_have_the_same_crud(api, entities, body, field, value):
    created = api("POST", f"/{entities}", json=body)
    assert created.status_code == 201 and created.get_json()[field] == value
    path = f"/{entities}/{created.get_json()['id']}"
    listed = api("GET", f"/{entities}").get_json()
    assert [item["id"] for item in listed["items"]] == [created.get_json()["id"]]
    assert api("DELETE", path).status_code == 204
    assert api("GET", f"/{entities}").get_json()["total"] == 0


def test_a_deal_shows_its_stage_contact_and_company_as_ids_and_names(api, owner):
    contact = make_contact(owner, email="buyer@example.com")
    deal = api("POST", "/deals", json={"title": "Pilot", "contact": "buyer@example.com",
                                        "company": "Acme"}).get_json()
    assert deal["contact"] == {"id": contact.id, "name": contact.name} and deal["contact_id"] == contact.id
    assert deal["stage"]["name"] == "New lead" and deal["status"] == "open"
    assert deal["company"]["name"] == "Acme" and deal["value"] is None


def test_put_replaces_the_record_and_accepts_what_get_returned(api, owner):
    company = make_company(owner)
    contact = make_contact(owner, email="a@example.com", title="CTO", company=company.id, tags="vip")
    path = f"/contacts/{contact.id}"
    as_read = api("GET", path).get_json()
    resent = api("PUT", path, json={**as_read, "title": "CEO"})
    assert resent.status_code == 200, resent.get_json()
    body = resent.get_json()
    assert (body["title"], body["company_id"], body["tags"]) == ("CEO", company.id, ["vip"])

    replaced = api("PUT", path, json={"first_name": "Only", "email": "a@example.com"}).get_json()
    assert replaced["title"] is None and replaced["company"] is None and replaced["tags"] == []
    assert replaced["owner_id"] == owner.user_id  # the owner is kept, not cleared


def test_put_requires_the_required_fields(api, owner):
    company = make_company(owner)
    response = api("PUT", f"/companies/{company.id}", json={"industry": "Rail"})
    assert response.status_code == 422
    assert "name" in response.get_json()["error"]["fields"]


@pytest.mark.parametrize(("entities", "body"), [
    ("contacts", {"first_name": "Ada"}), ("companies", {"name": "Acme"}), ("deals", {"title": "Pilot"})])
def test_a_created_record_is_read_back_where_its_location_says(api, entities, body):
    created = api("POST", f"/{entities}", json=body)
    assert created.status_code == 201
    location = created.headers["Location"]
    assert location == f"/api/crm/{entities}/{created.get_json()['id']}"
    assert api("GET", location.removeprefix("/api/crm")).get_json() == created.get_json()


def test_put_accepts_what_get_returned_for_companies_and_deals(api, owner):
    contact = make_contact(owner, email="buyer@example.com")
    deal = make_deal(owner, title="Pilot", contact=contact.id, company="Acme", value="100", tags="hot",
                     expected_close="2027-01-31", probability=40)
    company_id = db.session.scalar(select(Deal.company_id).where(Deal.id == deal.id))
    for path in (f"/deals/{deal.id}", f"/companies/{company_id}"):
        as_read = api("GET", path).get_json()
        resent = api("PUT", path, json=as_read)
        assert resent.status_code == 200, resent.get_json()
        assert {k: v for k, v in resent.get_json().items() if k != "updated_at"} == {
            k: v for k, v in as_read.items() if k != "updated_at"}


def contact_row(contact_id: int) -> tuple:
    db.session.expire_all()
    row = db.session.get(Contact, contact_id)
    return row.first_name, row.email, row.title, [t.name for t in row.tags]


@pytest.mark.parametrize(("body", "code", "field"), [
    ({"title": "CEO", "email": 42}, "invalid_request", "email"),
    ({"title": "CEO", "value": 100}, "invalid_request", "value"),  # a deal's field
    ({"title": "CEO", "tags": ["x" * 65]}, "invalid_request", "tags[0]"),
    ({"title": "CEO", "company": 0}, "invalid_request", "company"),
    ({"title": "CEO", "email": "not-an-email"}, "invalid", "email"),
    ({"title": "CEO", "company": 999_999}, "invalid", "company"),
])
def test_a_refused_write_leaves_the_record_as_it_was(api, owner, body, code, field):
    contact = make_contact(owner, first_name="Ada", email="ada@example.com", tags="vip")
    before = contact_row(contact.id)
    for method in ("PATCH", "PUT"):
        response = api(method, f"/contacts/{contact.id}", json=body)
        assert response.status_code == 422
        error = response.get_json()["error"]
        assert (error["code"], list(error["fields"])) == (code, [field])
        assert contact_row(contact.id) == before


@pytest.mark.parametrize("value", ["999999999999.995", "-999999999999.999", 1e12])
def test_a_deal_value_that_rounds_past_what_the_column_holds_is_refused(api, owner, value):
    deal = make_deal(owner, value="10")
    response = api("PATCH", f"/deals/{deal.id}", json={"value": value})
    assert response.status_code == 422 and list(response.get_json()["error"]["fields"]) == ["value"]
    db.session.expire_all()
    assert str(db.session.get(Deal, deal.id).value) == "10.00"


def test_a_tag_named_in_letters_sqlite_does_not_fold_is_found_not_created_twice(api, owner):
    contact = make_contact(owner)
    for _ in range(2):
        response = api("PATCH", f"/contacts/{contact.id}", json={"tags": ["Ärzte", "ÉQUIPE"]})
        assert response.status_code == 200 and set(response.get_json()["tags"]) == {"ÉQUIPE", "Ärzte"}
    assert sorted(db.session.scalars(select(Tag.name))) == ["Ärzte", "ÉQUIPE"]


def test_responses_are_what_the_document_says(api, client, owner):
    from jsonschema import Draft202012Validator, FormatChecker

    paths = client.get("/api/openapi.json").get_json()["paths"]
    for entity in ("contact", "company", "deal"):
        db.session.add(CustomField(org_id=owner.org_id, entity=entity, key="score", label="Score", kind="number"))
    db.session.commit()
    contact = make_contact(owner, email="full@example.com", phone="+442079460958", telegram_user_id="42",
                           company="Acme", tags="vip", **{"custom.score": "7"})
    make_deal(owner, title="Pilot", contact=contact.id, company="Acme", value="1250.5", probability=40,
              expected_close="2027-01-31", **{"custom.score": "2.5"})
    for entities in ("contacts", "companies", "deals"):
        listed = api("GET", f"/{entities}")
        schema = paths[f"/api/crm/{entities}"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        Draft202012Validator(schema, format_checker=FormatChecker()).validate(listed.get_json())
        one = listed.get_json()["items"][0]
        read = paths[f"/api/crm/{entities}/{{record_id}}"]["get"]["responses"]["200"]["content"]
        Draft202012Validator(read["application/json"]["schema"], format_checker=FormatChecker()).validate(
            api("GET", f"/{entities}/{one['id']}").get_json())


# -- validation --------------------------------------------------------------------------------

def test_invalid_values_are_reported_field_by_field(api):
    response = api("POST", "/contacts", json={"email": "nope", "phone": "12"})
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "invalid" and set(error["fields"]) == {"email", "phone"}
    assert db.session.scalar(select(Contact)) is None


def test_unknown_fields_are_refused_by_name_not_ignored(api):
    response = api("POST", "/contacts", json={"first_name": "Ada", "emial": "ada@example.com"})
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["fields"] == {"emial": "Unknown field."} and "emial" in error["message"]


def test_unknown_custom_fields_are_refused_and_known_ones_are_saved(api, owner):
    db.session.add(CustomField(org_id=owner.org_id, entity="contact", key="tier", label="Tier"))
    db.session.commit()
    refused = api("POST", "/contacts", json={"first_name": "Ada", "custom": {"teir": "Gold"}})
    assert refused.get_json()["error"]["fields"] == {"custom.teir": "Unknown custom field."}
    saved = api("POST", "/contacts", json={"first_name": "Ada", "custom": {"tier": "Gold"}})
    assert saved.get_json()["custom"] == {"tier": "Gold"}


def test_a_body_that_is_not_a_json_object_is_400(api):
    assert api("POST", "/contacts", json=["first_name"]).status_code == 400
    assert api("POST", "/contacts", data="first_name=Ada").status_code == 400


def test_a_reference_to_a_missing_record_is_a_field_error(api):
    response = api("POST", "/deals", json={"title": "Pilot", "contact": 999})
    assert response.status_code == 422
    assert "contact" in response.get_json()["error"]["fields"]


# -- lists -------------------------------------------------------------------------------------

def test_lists_paginate_with_total_and_next_previous_links(api, owner):
    for n in range(5):
        make_company(owner, name=f"Company {n}")
    first = api("GET", "/companies?per_page=2").get_json()
    assert (first["total"], first["pages"], first["page"], len(first["items"])) == (5, 3, 1, 2)
    assert first["links"]["prev"] is None
    following = urlsplit(first["links"]["next"])
    assert parse_qs(following.query) == {"page": ["2"], "per_page": ["2"]}
    second = api("GET", f"{following.path.removeprefix('/api/crm')}?{following.query}").get_json()
    assert [c["name"] for c in second["items"]] == ["Company 2", "Company 3"]
    assert second["links"]["prev"] and second["links"]["next"]
    last = api("GET", "/companies?per_page=2&page=3").get_json()
    assert last["links"]["next"] is None and len(last["items"]) == 1


def test_links_keep_the_filters(api, owner):
    make_company(owner, name="Acme", tags="vip")
    links = api("GET", "/companies?tag=vip&q=acm&sort=-name&per_page=1").get_json()["links"]
    assert parse_qs(urlsplit(links["self"]).query) == {
        "tag": ["vip"], "q": ["acm"], "sort": ["-name"], "page": ["1"], "per_page": ["1"]}


@pytest.mark.parametrize(("query", "field"), [
    ("per_page=201", "per_page"), ("per_page=0", "per_page"), ("per_page=2&per_page=3", "per_page"),
    ("page=x", "page"), ("page=10001", "page"), ("sort=shoe_size", "sort"), ("sort=email", "sort"),
    ("created_from=01/02/2026", "created_from"), ("created_to=2026-02-30", "created_to"),
    ("status=maybe", "status"), ("owner=bob", "owner"), ("owner=12345678901", "owner"), ("company=0", "company"),
    ("stage=2147483648", "stage"), ("trashed=maybe", "trashed"), ("q=" + "x" * 201, "q"),
])
def test_list_arguments_outside_the_contract_are_422_naming_the_argument(api, owner, query, field):
    make_deal(owner)
    for path in ("/deals", "/deals/export"):
        if path.endswith("export") and field in ("page", "per_page"):
            continue  # an export is not paginated: those arguments are not its own
        response = api("GET", f"{path}?{query}")
        assert response.status_code == 422, (path, response.get_data(as_text=True))
        error = response.get_json()["error"]
        assert error["code"] == "invalid_request" and list(error["fields"]) == [field]


def test_each_kind_lists_by_its_own_sort_names(api, owner):
    make_contact(owner, first_name="Bea", email="b@example.com")
    make_contact(owner, first_name="Al", email="a@example.com")
    assert [c["first_name"] for c in api("GET", "/contacts?sort=email").get_json()["items"]] == ["Al", "Bea"]
    assert api("GET", "/companies?sort=email").get_json()["error"]["fields"] == {
        "sort": "One of: name, created, updated, domain, -name, -created, -updated, -domain."}


def test_a_filter_on_a_custom_field_that_does_not_exist_is_422_naming_it(api, owner):
    make_company(owner, name="Acme")
    response = api("GET", "/companies?custom.teir=Gold")
    assert response.status_code == 422
    assert response.get_json()["error"] == {"code": "invalid", "message": "No custom field has the key teir.",
                                            "fields": {"custom.teir": "Unknown custom field."}}
    repeated = api("GET", "/companies?custom.teir=a&custom.teir=b").get_json()["error"]
    assert (repeated["code"], repeated["fields"]) == ("invalid_request", {"custom.teir": "Give it once."})


def test_links_stop_at_the_deepest_page_a_list_serves(api, owner, monkeypatch):
    from app.blueprints.crm.records import api as crm_api

    monkeypatch.setattr(crm_api, "MAX_PAGE", 2)
    for n in range(3):
        make_company(owner, name=f"Company {n}")
    second = api("GET", "/companies?per_page=1&page=2").get_json()
    assert (second["pages"], second["links"]["next"]) == (3, None) and second["links"]["prev"]


def test_lists_filter_search_and_sort(api, owner):
    colleague = add_member(owner.organization, role=Role.MANAGER)
    acme = make_company(owner, name="Acme")
    make_contact(owner, first_name="Zed", last_name="Alpha", company=acme.id, tags="vip")
    make_contact(owner, first_name="Amy", last_name="Beta", email="amy@example.com")
    make_contact(colleague, first_name="Bob", last_name="Gamma", tags="vip")

    def names(query: str) -> list[str]:
        response = api("GET", f"/contacts?{query}")
        assert response.status_code == 200, response.get_json()
        return [c["first_name"] for c in response.get_json()["items"]]

    assert names("sort=name") == ["Zed", "Amy", "Bob"]
    assert names("sort=-name") == ["Bob", "Amy", "Zed"]
    assert names("tag=vip&sort=name") == ["Zed", "Bob"]
    assert names(f"company={acme.id}") == ["Zed"]
    assert names(f"owner={colleague.user_id}") == ["Bob"]
    assert names("q=amy@exa") == ["Amy"]


def test_deals_filter_by_stage_and_status(api, owner):
    won = make_deal(owner, title="Won one", stage="Won")
    make_deal(owner, title="Open one")
    assert [d["title"] for d in api("GET", "/deals?status=won").get_json()["items"]] == ["Won one"]
    stage_id = won.stage_id
    assert [d["title"] for d in api("GET", f"/deals?stage={stage_id}").get_json()["items"]] == ["Won one"]


def test_custom_field_filters(api, owner):
    db.session.add(CustomField(org_id=owner.org_id, entity="company", key="tier", label="Tier"))
    db.session.commit()
    make_company(owner, name="Gold Co", **{"custom.tier": "Gold"})
    make_company(owner, name="Plain Co")
    items = api("GET", "/companies?custom.tier=Gold").get_json()["items"]
    assert [c["name"] for c in items] == ["Gold Co"]


# -- stage moves and bulk ----------------------------------------------------------------------

def test_moving_a_deal_by_stage_id_or_name(api, owner):
    deal = make_deal(owner)
    won = api("PATCH", f"/deals/{deal.id}/stage", json={"stage": "won"})
    assert won.status_code == 200 and won.get_json()["status"] == "won"
    stage_id = db.session.scalar(select(Deal.stage_id).where(Deal.id == deal.id))
    assert won.get_json()["stage_id"] == stage_id
    first = api("GET", "/deals").get_json()["items"][0]
    back = api("PATCH", f"/deals/{deal.id}/stage", json={"stage_id": first["stage_id"]})
    assert back.get_json()["status"] == "won"  # same stage: nothing moves


def test_a_stage_move_needs_a_real_stage(api, owner):
    deal = make_deal(owner)
    assert api("PATCH", f"/deals/{deal.id}/stage", json={}).get_json()["error"]["fields"] == {
        "stage_id": "A stage id (or stage: a name)."}
    missing = api("PATCH", f"/deals/{deal.id}/stage", json={"stage": "Nowhere"})
    assert missing.status_code == 422 and "stage" in missing.get_json()["error"]["fields"]
    typo = api("PATCH", f"/deals/{deal.id}/stage", json={"stag": "Won"})
    assert typo.get_json()["error"]["fields"] == {"stag": "Unknown field."}


def test_bulk_by_ids_tags_and_restores(api, owner):
    a, b = make_contact(owner), make_contact(owner)
    tagged = api("POST", "/contacts/bulk", json={"action": "add_tag", "ids": [a.id, b.id], "value": "hot"})
    assert tagged.get_json() == {"changed": 2}
    assert api("GET", "/contacts?tag=hot").get_json()["total"] == 2
    api("POST", "/contacts/bulk", json={"action": "delete", "ids": [a.id]})
    assert api("GET", "/contacts").get_json()["total"] == 1
    restored = api("POST", "/contacts/bulk", json={"action": "restore", "ids": [a.id]})
    assert restored.get_json() == {"changed": 1}
    assert api("GET", "/contacts").get_json()["total"] == 2


def test_bulk_over_a_filter(api, owner):
    colleague = add_member(owner.organization, role=Role.MANAGER)
    make_company(owner, name="Acme One", tags="vip")
    make_company(owner, name="Acme Two", tags="vip")
    make_company(owner, name="Other")
    response = api("POST", "/companies/bulk", json={
        "action": "assign", "all": True, "filter": {"tag": "vip"}, "value": colleague.user.email})
    assert response.get_json() == {"changed": 2}
    owned = api("GET", f"/companies?owner={colleague.user_id}&sort=name").get_json()["items"]
    assert [c["name"] for c in owned] == ["Acme One", "Acme Two"]


def test_bulk_refuses_bad_bodies(api, owner):
    contact = make_contact(owner)
    assert "action" in api("POST", "/contacts/bulk", json={"action": "explode", "ids": [contact.id]}) \
        .get_json()["error"]["fields"]
    assert "ids" in api("POST", "/contacts/bulk", json={"action": "delete"}).get_json()["error"]["fields"]
    assert "filter.colour" in api("POST", "/contacts/bulk", json={
        "action": "delete", "all": True, "filter": {"colour": "red"}}).get_json()["error"]["fields"]
    too_many = api("POST", "/contacts/bulk", json={"action": "delete", "ids": list(range(1, 10_002))})
    assert too_many.status_code == 422 and too_many.get_json()["error"]["fields"] == {"ids": "At most 10,000 items."}
    assert api("GET", "/contacts").get_json()["total"] == 1


@pytest.mark.parametrize(("body", "field"), [
    ({"action": "move_stage", "ids": [1], "value": "Won"}, "action"),  # deals alone have stages
    ({"action": "delete", "all": True, "filter": {"owner": "bob"}}, "filter.owner"),
    ({"action": "delete", "all": True, "filter": {"created_from": "yesterday"}}, "filter.created_from"),
    ({"action": "delete", "ids": [0]}, "ids[0]"),
    ({"action": "add_tag", "ids": [1], "value": ["hot"]}, "value"),
])
def test_a_bulk_body_outside_the_contract_changes_nothing(api, owner, body, field):
    contact = make_contact(owner)
    body = {**body, "ids": [contact.id]} if body.get("ids") == [1] else body
    response = api("POST", "/contacts/bulk", json=body)
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert (error["code"], list(error["fields"])) == ("invalid_request", [field])
    assert api("GET", f"/contacts/{contact.id}").get_json()["deleted_at"] is None
    assert api("GET", f"/contacts/{contact.id}").get_json()["tags"] == []


def test_bulk_over_a_typed_filter(api, owner):
    make_contact(owner, tags="vip")
    make_contact(owner)
    changed = api("POST", "/contacts/bulk", json={"action": "add_tag", "all": True, "value": "hot",
                                                   "filter": {"tag": "vip", "owner": owner.user_id}})
    assert changed.get_json() == {"changed": 1}
    unowned = api("POST", "/contacts/bulk", json={"action": "delete", "all": True, "filter": {"owner": "none"}})
    assert unowned.get_json() == {"changed": 0}
    assert api("GET", "/contacts?tag=hot").get_json()["total"] == 1


def test_bulk_ignores_ids_of_other_organizations(api, owner):
    foreign = make_contact(make_member(Role.OWNER))
    response = api("POST", "/contacts/bulk", json={"action": "add_tag", "ids": [foreign.id], "value": "x"})
    assert response.get_json() == {"changed": 0}


# -- access ------------------------------------------------------------------------------------

def test_requests_without_a_token_are_401(client):
    response = client.get("/api/crm/contacts")
    assert response.status_code == 401 and response.get_json()["error"]["code"] == "unauthorized"


def test_another_organizations_records_are_404(api, owner):
    foreign = make_contact(make_member(Role.OWNER))
    assert api("GET", f"/contacts/{foreign.id}").status_code == 404
    assert api("PATCH", f"/contacts/{foreign.id}", json={"title": "x"}).status_code == 404
    assert api("DELETE", f"/contacts/{foreign.id}").status_code == 404
    assert api("GET", "/contacts").get_json()["total"] == 0


def test_agents_see_every_record_but_edit_only_their_own(client, owner):
    agent = add_member(owner.organization, role=Role.AGENT)
    theirs, mine = make_contact(owner), make_contact(agent)
    headers = bearer(agent)
    listed = client.get("/api/crm/contacts", headers=headers).get_json()
    assert listed["total"] == 2
    refused = client.patch(f"/api/crm/contacts/{theirs.id}", json={"title": "x"}, headers=headers)
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "forbidden"
    allowed = client.patch(f"/api/crm/contacts/{mine.id}", json={"title": "Mine"}, headers=headers)
    assert allowed.status_code == 200
    as_read = client.get(f"/api/crm/contacts/{mine.id}", headers=headers).get_json()
    assert client.put(f"/api/crm/contacts/{mine.id}", json=as_read, headers=headers).status_code == 200
    reassign = client.patch(f"/api/crm/contacts/{mine.id}", json={"owner": owner.user_id}, headers=headers)
    assert reassign.status_code == 403
    assert client.delete(f"/api/crm/contacts/{mine.id}", headers=headers).status_code == 403


def test_the_crm_api_is_rate_limited_per_user(client, owner):
    headers = bearer(owner)
    response = client.get("/api/crm/contacts", headers=headers)
    assert response.headers["X-RateLimit-Limit"] == "600"
    assert int(response.headers["X-RateLimit-Remaining"]) == 599
    other = bearer(make_member(Role.OWNER))
    assert client.get("/api/crm/contacts", headers=other).headers["X-RateLimit-Remaining"] == "599"


def test_the_openapi_document_describes_the_crm_api_per_kind_of_record(client):
    paths = client.get("/api/openapi.json").get_json()["paths"]
    for entities in ("contacts", "companies", "deals"):
        assert set(paths[f"/api/crm/{entities}"]) == {"get", "post"}
        assert set(paths[f"/api/crm/{entities}/{{record_id}}"]) == {"get", "patch", "put", "delete"}
        assert "post" in paths[f"/api/crm/{entities}/bulk"]
        export = paths[f"/api/crm/{entities}/export"]["get"]
        assert "text/csv" in export["responses"]["200"]["content"]
    assert not [path for path in paths if path.startswith("/api/crm/{entities}/") and "import" not in path]
    assert "patch" in paths["/api/crm/deals/{record_id}/stage"]
    deals = {p["name"]: p["schema"] for p in paths["/api/crm/deals"]["get"]["parameters"]}
    contacts = {p["name"]: p["schema"] for p in paths["/api/crm/contacts"]["get"]["parameters"]}
    assert {"page", "per_page", "q", "sort", "stage", "status"} <= set(deals)
    assert "status" not in contacts and "email" in contacts["sort"]["enum"] and "email" not in deals["sort"]["enum"]
    assert deals["per_page"] == {"type": "integer", "minimum": 1, "maximum": 200}
    created = paths["/api/crm/deals"]["post"]
    assert created["requestBody"]["content"]["application/json"]["schema"]["required"] == ["title"]
    assert "Location" in created["responses"]["201"]["headers"]
