"""/api/pipeline against its own OpenAPI document: the statuses it declares, the parameters it
bounds, and every answer it sends matching the schema it publishes for it."""

import re

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from app.blueprints.pipeline import service
from app.blueprints.pipeline.api import whole_numbers_to
from app.extensions import db
from tests.conftest import bearer
from tests.factories import make_company, make_contact, make_deal

PREFIX = "/api/pipeline"


@pytest.fixture
def document(client):
    return client.get("/api/openapi.json").get_json()


def operations(document):
    for path, methods in document["paths"].items():
        if path.startswith(PREFIX):
            for method, operation in methods.items():
                yield path, method, operation


def test_every_operation_declares_what_it_can_answer(document):
    found = list(operations(document))
    assert len(found) == 13
    for path, method, operation in found:
        statuses = set(operation["responses"])
        assert {"400", "401", "429"} <= statuses, (method, path)  # a NUL in any query value is a 400
        if "{" in path:
            assert "404" in statuses, (method, path)
        if method != "get":
            assert {"403", "422"} <= statuses, (method, path)


def test_every_query_parameter_is_bounded(document):
    for path, _, operation in operations(document):
        for param in operation.get("parameters", []):
            schema = param["schema"]
            if param["in"] == "query" and schema["type"] == "integer":
                assert {"minimum", "maximum"} <= set(schema), (path, param["name"])
            if param["in"] == "query" and schema["type"] == "string":
                assert "pattern" in schema, (path, param["name"])


def test_creations_give_a_location_and_links_to_what_follows(document):
    ids = {operation["operationId"] for _, _, operation in operations(document)}
    for path in (PREFIX, f"{PREFIX}/stages"):
        created = document["paths"][path]["post"]["responses"]["201"]
        assert "Location" in created["headers"]
        assert created["links"] and {link["operationId"] for link in created["links"].values()} <= ids


@pytest.mark.parametrize("limit", [1, 7, 9, 10, 99, 100, 250, 3050, 2**31 - 1])
def test_whole_numbers_to_matches_exactly_one_to_the_limit(limit):
    pattern = re.compile(f"(?:{whole_numbers_to(limit)})")
    probes = {*range(0, 3100), limit - 1, limit, limit + 1, 10 ** len(str(limit)), 2**31, 1999999999}
    assert [n for n in sorted(probes) if bool(pattern.fullmatch(str(n))) != (1 <= n <= limit)] == []
    assert not pattern.fullmatch("01") and not pattern.fullmatch("+1")


# -- every answer as documented ------------------------------------------------------------------

class Conformance:
    """Sends requests and checks each answer against the schema the document gives its status."""

    def __init__(self, client, headers, document):
        self.client, self.headers, self.document = client, headers, document
        self.checked: set[tuple[str, str, int]] = set()

    def __call__(self, method: str, path: str, template: str, **kwargs):
        response = self.client.open(f"{PREFIX}{path}", method=method, headers=self.headers, **kwargs)
        declared = self.document["paths"][f"{PREFIX}{template}"][method.lower()]["responses"]
        assert str(response.status_code) in declared, (method, path, response.get_data(as_text=True))
        schema = declared[str(response.status_code)]["content"]["application/json"]["schema"]
        if schema.get("$ref"):
            schema = self.document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in
                  Draft202012Validator(schema, format_checker=FormatChecker()).iter_errors(response.get_json())]
        assert errors == [], (method, path)
        self.checked.add((method, template, response.status_code))
        return response.get_json()


def test_every_answer_matches_its_documented_schema(client, owner, document):
    sales = service.pipelines(owner.org_id)[0]
    db.session.commit()
    call = Conformance(client, bearer(owner), document)
    stages = {s.name: s.id for s in sales.stages}
    contact, company = make_contact(owner), make_company(owner)
    valued = make_deal(owner, stage="Proposal", value="1200.50", contact=contact.id, company=company.id)
    unowned = make_deal(owner, stage="Proposal", owner=None)

    call("GET", "", "")
    created = call("POST", "", "", json={"name": "Partners"})
    pid = created["id"]
    call("GET", f"/{pid}", "/{pipeline_id}")
    call("PUT", f"/{pid}", "/{pipeline_id}", json={"name": "Alliances", "position": 0})
    board = call("GET", f"/{sales.id}/board?limit=5", "/{pipeline_id}/board")
    assert any(card["value"] == "1200.50" and card["company"] for c in board["columns"] for card in c["cards"])
    call("GET", f"/{sales.id}/board?owner=none&q=Deal&tag=vip", "/{pipeline_id}/board")
    call("GET", "/stages", "/stages")
    call("GET", f"/stages?pipeline_id={pid}", "/stages")
    stage = call("POST", "/stages", "/stages", json={
        "pipeline_id": sales.id, "name": "Legal", "wip_limit": 2, "allowed_from": [stages["Proposal"]],
        "required_fields": ["value"], "position": 4})
    call("GET", f"/stages/{stage['id']}", "/stages/{stage_id}")
    call("PUT", f"/stages/{stage['id']}", "/stages/{stage_id}", json={"colour": "amber", "wip_limit": None})
    moved = call("PUT", f"/clients/{valued.id}/stage", "/clients/{deal_id}/stage",
                 json={"stage_id": stage["id"]})
    assert moved["move"]["to_stage"] == "Legal"
    stayed = call("PUT", f"/clients/{valued.id}/stage", "/clients/{deal_id}/stage",
                  json={"stage_id": stage["id"], "above_id": None})
    assert stayed["move"] is None
    # The history outlives its stage: the entry into Legal keeps its name, its stage id goes null.
    call("DELETE", f"/stages/{stage['id']}?move_to={stages['Won']}", "/stages/{stage_id}")
    history = call("GET", f"/stages/{stages['Proposal']}/history?per_page=5", "/stages/{stage_id}/history")
    assert history["items"][0]["to_stage_id"] is None and history["items"][0]["to_stage"] == "Legal"
    call("DELETE", f"/{pid}", "/{pipeline_id}")

    # Refusals answer the error envelope, at the statuses declared for them.
    call("GET", "/stages?pipeline_id=0", "/stages")
    call("GET", f"/{2**31 - 1}", "/{pipeline_id}")
    call("DELETE", f"/stages/{stages['Proposal']}", "/stages/{stage_id}")  # it holds a deal: move_to
    service.update_stage(owner, stages["Won"], {"required_fields": ["expected_close"]})
    db.session.commit()
    call("PUT", f"/clients/{unowned.id}/stage", "/clients/{deal_id}/stage", json={"stage_id": stages["Won"]})
    call("GET", "/stages", "/stages", query_string={"x": "\x00"})
    assert {status for *_, status in call.checked} == {200, 201, 400, 404, 409, 422}
