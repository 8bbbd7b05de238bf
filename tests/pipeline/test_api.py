"""/api/pipeline over HTTP: pipelines, stages, rules, history, the board and moves."""

import pytest
from sqlalchemy import delete

from app.blueprints.crm.models import Deal
from app.blueprints.pipeline import service
from app.blueprints.pipeline.models import Pipeline, Stage
from app.blueprints.team.permissions import Role
from app.extensions import db
from tests.conftest import bearer
from tests.factories import add_member, make_deal, make_member


@pytest.fixture
def api(client, owner):
    headers = bearer(owner)

    def call(method: str, path: str = "", **kwargs):
        return client.open(f"/api/pipeline{path}", method=method, headers=headers, **kwargs)

    return call


@pytest.fixture
def sales(owner):
    pipeline = service.pipelines(owner.org_id)[0]
    db.session.commit()
    return pipeline


def stage_id(pipeline, name) -> int:
    return next(s.id for s in pipeline.stages if s.name == name)


def test_pipelines_crud(api, sales):
    listed = api("GET").get_json()["items"]
    assert [p["name"] for p in listed] == ["Sales"] and listed[0]["stages"][0]["name"] == "New lead"
    created = api("POST", json={"name": "Partners"})
    assert created.status_code == 201 and [s["kind"] for s in created.get_json()["stages"]] == [
        "open", "open", "won", "lost"]
    pid = created.get_json()["id"]
    renamed = api("PUT", f"/{pid}", json={"name": "Alliances", "position": 0})
    assert renamed.get_json()["name"] == "Alliances"
    assert [p["name"] for p in api("GET").get_json()["items"]] == ["Alliances", "Sales"]
    order = [s["id"] for s in renamed.get_json()["stages"]][::-1]
    assert [s["id"] for s in api("PUT", f"/{pid}", json={"stage_order": order}).get_json()["stages"]] == order
    assert api("DELETE", f"/{pid}").get_json() == {"deals_moved": 0}
    assert api("PUT", f"/{pid}", json={"name": "x"}).status_code == 404


def test_bodies_are_strict_and_errors_name_fields(api, sales):
    bad = api("POST", json={"name": "X", "colour": "red"})
    assert bad.status_code == 422 and bad.get_json()["error"]["fields"] == {"colour": "Unknown field."}
    dup = api("POST", json={"name": "sales"})
    assert dup.status_code == 422 and dup.get_json()["error"]["fields"] == {"name": "Pick another name."}
    stage = api("POST", "/stages", json={"pipeline_id": sales.id, "name": "Demo", "probability": 120})
    assert stage.status_code == 422 and "probability" in stage.get_json()["error"]["fields"]


def test_stages_with_rules(api, sales):
    proposal = stage_id(sales, "Proposal")
    created = api("POST", "/stages", json={
        "pipeline_id": sales.id, "name": "Legal review", "colour": "violet", "probability": 70,
        "wip_limit": 5, "required_fields": ["value", "expected_close"], "allowed_from": [proposal],
        "position": 4})
    assert created.status_code == 201
    body = created.get_json()
    assert (body["position"], body["wip_limit"], body["allowed_from"]) == (4, 5, [proposal])
    updated = api("PUT", f"/stages/{body['id']}", json={"wip_limit": None, "required_fields": []})
    assert updated.get_json()["wip_limit"] is None and updated.get_json()["required_fields"] == []
    names = [s["name"] for s in api("GET", f"/stages?pipeline_id={sales.id}").get_json()["items"]]
    assert names[4] == "Legal review"
    assert api("DELETE", f"/stages/{body['id']}").get_json() == {"deals_moved": 0}


def test_deleting_a_stage_with_deals_needs_move_to(api, owner, sales):
    deal = make_deal(owner, stage="Proposal")
    refused = api("DELETE", f"/stages/{stage_id(sales, 'Proposal')}")
    assert refused.status_code == 422 and "move_to" in refused.get_json()["error"]["fields"]
    moved = api("DELETE", f"/stages/{stage_id(sales, 'Proposal')}?move_to={stage_id(sales, 'Qualified')}")
    assert moved.get_json() == {"deals_moved": 1}
    assert db.session.get(Deal, deal.id).stage_id == stage_id(sales, "Qualified")


def test_moving_a_deal_obeys_rules_and_answers_with_the_history_entry(api, owner, sales):
    deal = make_deal(owner, stage="Qualified")
    won = stage_id(sales, "Won")
    service.update_stage(owner, won, {"required_fields": ["value"]})
    db.session.commit()
    refused = api("PUT", f"/clients/{deal.id}/stage", json={"stage_id": won})
    assert refused.status_code == 409
    assert refused.get_json()["error"]["code"] == "rule_broken"
    assert refused.get_json()["error"]["message"] == "“Won” requires Value before a deal can enter it."
    moved = api("PUT", f"/clients/{deal.id}/stage", json={"stage_id": stage_id(sales, "Proposal")})
    body = moved.get_json()
    assert moved.status_code == 200 and body["deal"]["stage"]["name"] == "Proposal"
    assert (body["move"]["from_stage"], body["move"]["to_stage"]) == ("Qualified", "Proposal")
    assert api("PUT", f"/clients/{deal.id}/stage", json={"stage": "Won"}).status_code == 422
    history = api("GET", f"/stages/{stage_id(sales, 'Qualified')}/history").get_json()
    assert history["total"] == 2 and history["items"][0]["to_stage"] == "Proposal"
    assert api("GET", f"/stages/{stage_id(sales, 'Qualified')}/history?per_page=500").status_code == 422


def test_the_crm_stage_endpoint_refuses_the_same_way(client, owner, sales):
    deal = make_deal(owner, stage="Qualified")
    service.update_stage(owner, stage_id(sales, "Won"), {"required_fields": ["expected_close"]})
    db.session.commit()
    response = client.patch(f"/api/crm/deals/{deal.id}/stage", json={"stage": "Won"}, headers=bearer(owner))
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "rule_broken"


def test_the_board_endpoint(api, owner, sales):
    for value in ("10", "20", "30"):
        make_deal(owner, stage="Proposal", value=value)
    board = api("GET", f"/{sales.id}/board?limit=2").get_json()
    proposal = next(c for c in board["columns"] if c["stage"]["name"] == "Proposal")
    assert proposal["count"] == 3 and len(proposal["cards"]) == 2 and proposal["has_more"] is True
    assert proposal["totals"] == {"USD": "60.00"} and proposal["weighted"] == {"USD": "36.00"}
    assert api("GET", f"/{sales.id}/board?limit=0").status_code == 422


def test_roles_and_tenancy(client, owner, sales):
    agent = add_member(owner.organization, role=Role.AGENT)
    refused = client.post("/api/pipeline", json={"name": "Mine"}, headers=bearer(agent))
    assert refused.status_code == 403
    theirs = make_member(Role.OWNER)
    their_pipeline = service.pipelines(theirs.org_id)[0]
    db.session.commit()
    for method, path in (("GET", f"/{their_pipeline.id}/board"), ("DELETE", f"/{their_pipeline.id}"),
                         ("GET", f"/stages/{their_pipeline.stages[0].id}/history")):
        assert client.open(f"/api/pipeline{path}", method=method, headers=bearer(owner)).status_code == 404
    assert client.get("/api/pipeline").status_code == 401


def test_every_pipeline_endpoint_is_in_the_openapi_document(client):
    paths = client.get("/api/openapi.json").get_json()["paths"]
    for path in ("/api/pipeline", "/api/pipeline/{pipeline_id}", "/api/pipeline/stages",
                 "/api/pipeline/stages/{stage_id}", "/api/pipeline/stages/{stage_id}/history",
                 "/api/pipeline/clients/{deal_id}/stage", "/api/pipeline/{pipeline_id}/board"):
        assert path in paths, path


# -- the contract: what is outside it is refused, and changes nothing ----------------------------

def refusal(response, status=422) -> tuple[str, dict]:
    assert response.status_code == status, response.get_data(as_text=True)
    error = response.get_json()["error"]
    return error["code"], error["fields"]


def read_stage(stage_id: int) -> Stage:
    db.session.expire_all()  # the row as committed, not as this session last saw it
    return db.session.get(Stage, stage_id)


@pytest.mark.parametrize(("move_to", "fields"), [
    ("0", {"move_to": "At least 1."}),
    (str(2**31), {"move_to": f"At most {2**31 - 1}."}),
    ("next", {"move_to": "A whole number."}),
    (["7", "7"], {"move_to": "Give it once."}),
])
def test_a_move_to_outside_the_document_is_refused_and_the_stage_stays(api, owner, sales, move_to, fields):
    deal = make_deal(owner, stage="Proposal")
    proposal = stage_id(sales, "Proposal")
    refused = api("DELETE", f"/stages/{proposal}", query_string={"move_to": move_to})
    assert refusal(refused) == ("invalid_request", fields)
    assert read_stage(proposal) is not None and db.session.get(Deal, deal.id).stage_id == proposal


@pytest.mark.parametrize(("query", "fields"), [
    ({"limit": "0"}, {"limit": "At least 1."}),
    ({"limit": "501"}, {"limit": "At most 500."}),
    ({"limit": ["5", "5"]}, {"limit": "Give it once."}),
    ({"owner": "me"}, {"owner": "A user id, or none."}),
    ({"owner": "³"}, {"owner": "A user id, or none."}),  # a digit to str.isdigit, not to int()
    ({"owner": str(2**31)}, {"owner": "A user id, or none."}),  # more than an id column holds
    ({"owner": ""}, {"owner": "A user id, or none."}),
    ({"q": "x" * 201}, {"q": "At most 200 characters."}),
    ({"tag": "x" * 65}, {"tag": "At most 64 characters."}),
])
def test_the_board_refuses_parameters_outside_the_document(api, sales, query, fields):
    assert refusal(api("GET", f"/{sales.id}/board", query_string=query)) == ("invalid_request", fields)


def test_the_board_filters_by_owner_none_or_an_id(api, owner, sales):
    mine = make_deal(owner, stage="Proposal", owner=owner.user_id)
    nobodys = make_deal(owner, stage="Proposal", owner=None)

    def card_ids(owner_arg: str) -> set[int]:
        board = api("GET", f"/{sales.id}/board", query_string={"owner": owner_arg}).get_json()
        return {card["id"] for column in board["columns"] for card in column["cards"]}

    assert card_ids(str(owner.user_id)) == {mine.id}
    assert card_ids("none") == {nobodys.id}
    assert card_ids(str(2**31 - 1)) == set()


@pytest.mark.parametrize(("query", "fields"), [
    ({"page": "0"}, {"page": "At least 1."}),
    ({"page": "1000001"}, {"page": "At most 1000000."}),
    ({"per_page": "201"}, {"per_page": "At most 200."}),
    ({"page": ["1", "2"], "per_page": "x"}, {"page": "Give it once.", "per_page": "A whole number."}),
])
def test_the_history_refuses_pages_outside_the_document(api, sales, query, fields):
    path = f"/stages/{stage_id(sales, 'Proposal')}/history"
    assert refusal(api("GET", path, query_string=query)) == ("invalid_request", fields)


def test_stages_of_one_pipeline_take_an_id_given_once(api, sales):
    assert refusal(api("GET", "/stages", query_string={"pipeline_id": [str(sales.id)] * 2})) == (
        "invalid_request", {"pipeline_id": "Give it once."})
    assert refusal(api("GET", "/stages?pipeline_id=-1")) == ("invalid_request", {"pipeline_id": "At least 1."})


def test_a_refused_stage_change_leaves_the_stage_as_it_was(api, sales):
    proposal = stage_id(sales, "Proposal")
    before = api("GET", f"/stages/{proposal}").get_json()
    outside = api("PUT", f"/stages/{proposal}", json={
        "name": "Offer", "probability": 101, "wip_limit": service.MAX_WIP_LIMIT + 1, "pipeline_id": sales.id,
        "required_fields": ["value", "notes"], "allowed_from": [0]})
    assert refusal(outside) == ("invalid_request", {
        "probability": "At most 100.", "wip_limit": "At most 10000.", "pipeline_id": "Unknown field.",
        "required_fields[1]": "One of: value, expected_close, contact, company, owner, custom.<key>.",
        "allowed_from[0]": "At least 1."})
    # Inside the document, refused by the data: a custom field the organization does not have.
    refused = api("PUT", f"/stages/{proposal}", json={"name": "Offer", "required_fields": ["custom.budget"]})
    assert refusal(refused) == ("invalid", {
        "required_fields": "Choose among: value, expected_close, contact, company, owner."})
    row = read_stage(proposal)
    assert (row.name, row.probability, row.wip_limit, row.required_fields) == ("Proposal", 60, None, [])
    assert api("GET", f"/stages/{proposal}").get_json() == before


def test_a_body_outside_the_document_creates_nothing(api, sales):
    bodies = [({"name": ""}, {"name": "Required."}), ({"name": "x" * 121}, {"name": "At most 120 characters."}),
              ({"name": 7}, {"name": "Must be text."}), ({}, {"name": "Required."})]
    for body, fields in bodies:
        assert refusal(api("POST", json=body)) == ("invalid_request", fields)
    stage = api("POST", "/stages", json={"pipeline_id": sales.id, "name": "Demo", "kind": "maybe",
                                         "colour": "pink", "position": 30})
    assert refusal(stage) == ("invalid_request", {
        "kind": "One of: open, won, lost.", "colour": "One of: slate, blue, indigo, violet, amber, green, red.",
        "position": "At most 29."})
    db.session.expire_all()
    assert [p.name for p in service.pipelines(sales.org_id)] == ["Sales"]
    assert "Demo" not in [s.name for s in db.session.get(Pipeline, sales.id).stages]


def test_a_move_outside_the_document_leaves_the_deal_where_it_was(api, owner, sales):
    deal = make_deal(owner, stage="Qualified")
    for body, fields in (({}, {"stage_id": "Required."}),
                         ({"stage_id": "Won"}, {"stage_id": "Must be a whole number."}),
                         ({"stage_id": stage_id(sales, "Won"), "above_id": 0}, {"above_id": "At least 1."}),
                         ({"stage_id": stage_id(sales, "Won"), "stage": "Won"}, {"stage": "Unknown field."})):
        assert refusal(api("PUT", f"/clients/{deal.id}/stage", json=body)) == ("invalid_request", fields)
    db.session.expire_all()
    assert db.session.get(Deal, deal.id).stage_id == stage_id(sales, "Qualified")


def test_an_id_that_names_nothing_is_a_422_on_its_field(api, owner, sales):
    theirs = make_member(Role.OWNER)
    their_pipeline = service.pipelines(theirs.org_id)[0]
    db.session.commit()
    for missing in (2**31 - 1, their_pipeline.id):
        stage = api("POST", "/stages", json={"pipeline_id": missing, "name": "Demo"})
        assert refusal(stage) == ("invalid", {"pipeline_id": "No such pipeline."})
        assert refusal(api("GET", f"/stages?pipeline_id={missing}")) == ("invalid", {"pipeline_id": "No such pipeline."})
    deal = make_deal(owner, stage="Qualified")
    for missing in (2**31 - 1, their_pipeline.stages[0].id):
        moved = api("PUT", f"/clients/{deal.id}/stage", json={"stage_id": missing})
        assert refusal(moved) == ("invalid", {"stage_id": "No such stage."})
    db.session.expire_all()
    assert db.session.get(Deal, deal.id).stage_id == stage_id(sales, "Qualified")
    assert [s.name for s in db.session.get(Pipeline, their_pipeline.id).stages].count("Demo") == 0


def test_created_pipelines_and_stages_are_readable_at_their_location(client, owner, api, sales):
    pipeline = api("POST", json={"name": "Partners"})
    assert pipeline.headers["Location"] == f"/api/pipeline/{pipeline.get_json()['id']}"
    assert client.get(pipeline.headers["Location"], headers=bearer(owner)).get_json() == pipeline.get_json()
    stage = api("POST", "/stages", json={"pipeline_id": pipeline.get_json()["id"], "name": "Demo",
                                         "wip_limit": 3, "required_fields": ["value"]})
    assert stage.headers["Location"] == f"/api/pipeline/stages/{stage.get_json()['id']}"
    read = client.get(stage.headers["Location"], headers=bearer(owner)).get_json()
    assert read == stage.get_json() and (read["name"], read["wip_limit"], read["position"]) == ("Demo", 3, 2)
    assert api("GET", f"/{pipeline.get_json()['id']}").get_json()["stages"][2] == read


def test_a_pipeline_deleted_while_another_moves_among_them_is_a_conflict(api, owner, sales, monkeypatch):
    partners = service.create_pipeline(owner, "Partners")
    db.session.commit()
    load = service.pipelines

    def deleted_meanwhile(org_id: int):
        found = load(org_id)  # then another request deletes Partners, before this one writes
        for rows in (delete(Stage).where(Stage.pipeline_id == partners.id),
                     delete(Pipeline).where(Pipeline.id == partners.id)):
            db.session.execute(rows.execution_options(synchronize_session=False))
        return found

    monkeypatch.setattr(service, "pipelines", deleted_meanwhile)
    answer = api("PUT", f"/{sales.id}", json={"position": 1})
    assert refusal(answer, 409)[0] == "conflict"
    monkeypatch.undo()
    db.session.expire_all()
    assert [(p.name, p.position) for p in service.pipelines(owner.org_id)] == [("Sales", 0), ("Partners", 1)]


def test_a_malformed_filter_is_explained_in_the_callers_language(client, owner, sales):
    path = f"/api/pipeline/{sales.id}/board?owner=someone"
    english = client.get(path, headers=bearer(owner))
    russian = client.get(path, headers={**bearer(owner), "Accept-Language": "ru"})
    assert english.status_code == russian.status_code == 422
    assert english.get_json()["error"]["fields"] == {"owner": "A user id, or none."}
    assert russian.get_json()["error"]["fields"] == {"owner": "Id пользователя или none."}
