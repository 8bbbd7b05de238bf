"""/api/pipeline over HTTP: pipelines, stages, rules, history, the board and moves."""

import pytest

from app.blueprints.crm.models import Deal
from app.blueprints.pipeline import service
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
