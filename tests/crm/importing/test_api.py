"""CSV import over the JSON API: 202 with the import's id, status polling, rejected rows, tenancy."""

import io
import json

import pytest
from rq import SimpleWorker
from sqlalchemy import func, select

from app.blueprints.crm.models import Company, Contact, Import, ImportChunk
from app.blueprints.team.permissions import Role
from app.extensions import db, redis_store
from app.jobs import Queues, queue
from tests.conftest import bearer
from tests.factories import add_member, make_member

CSV = b"Name,Email,Phone\nAda,ada@example.com,+442079460958\nBob,not-an-email,\n"


@pytest.fixture
def api(client, owner):
    headers = bearer(owner)

    def call(method: str, path: str, **kwargs):
        return client.open(path, method=method, headers=headers, **kwargs)

    return call


def post_csv(api, data=CSV, entities="contacts", **form):
    return api("POST", f"/api/crm/{entities}/import", data={"file": (io.BytesIO(data), "people.csv"), **form},
               content_type="multipart/form-data")


def work() -> None:
    SimpleWorker([queue(Queues.IMPORTS)], connection=redis_store.client).work(burst=True)
    db.session.expire_all()


def test_an_upload_is_accepted_with_202_and_runs_with_the_guessed_mapping(api, owner):
    response = post_csv(api)
    assert response.status_code == 202
    body = response.get_json()
    assert body["status"] == "queued"
    assert body["mapping"] == {"Name": "full_name", "Email": "email", "Phone": "phone"}  # a name is guessed
    assert body["links"]["self"] == f"/api/crm/imports/{body['id']}" == response.headers["Location"]
    assert api("GET", response.headers["Location"]).get_json() == body
    work()
    status = api("GET", body["links"]["self"]).get_json()
    assert status["status"] == "done" and status["total_rows"] == status["processed_rows"] == 2
    assert status["counts"] == {"created": 1, "updated": 0, "skipped": 0, "rejected": 1}
    rejected = api("GET", status["links"]["rejected"])
    assert rejected.mimetype == "text/csv"
    lines = rejected.get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert lines[0] == "Name,Email,Phone,row,reason" and lines[1].startswith("Bob,not-an-email,,3,")


def test_a_given_mapping_policy_and_dry_run_are_used(api, owner):
    mapping = json.dumps({"Name": "first_name", "Email": "email", "Phone": ""})
    body = post_csv(api, mapping=mapping, dedupe="update", dry_run="true").get_json()
    assert (body["mapping"], body["dedupe"], body["dry_run"]) == ({"Name": "first_name", "Email": "email"},
                                                                  "update", True)
    work()
    assert api("GET", body["links"]["self"]).get_json()["counts"]["created"] == 1
    assert db.session.scalar(select(func.count()).select_from(Contact)) == 0


def test_companies_and_deals_import_too(api, owner):
    post_csv(api, data=b"Company,Domain\nAcme,acme.com\n", entities="companies")
    post_csv(api, data=b"Deal,Amount\nPilot,100\n", entities="deals")
    work()
    assert db.session.scalar(select(Company.name)) == "Acme"
    assert db.session.scalar(select(func.count()).select_from(Company)) == 1


@pytest.mark.parametrize(("form", "code", "field"), [
    ({"mapping": "[1, 2]"}, "invalid", "mapping"),
    ({"mapping": "{not json"}, "invalid", "mapping"),
    ({"mapping": json.dumps({"Nope": "email"})}, "invalid", "mapping"),
    ({"mapping": json.dumps({"Email": "shoe_size"})}, "invalid", "mapping"),
    ({"dedupe": "merge"}, "invalid_request", "dedupe"),
    ({"dry_run": "yes"}, "invalid_request", "dry_run"),
    ({"dry_run": ["true", "false"]}, "invalid_request", "dry_run"),
    ({"colour": "red"}, "invalid_request", "colour"),
])
def test_bad_arguments_are_reported_in_the_error_envelope_and_nothing_is_stored(api, form, code, field):
    response = post_csv(api, **form)
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == code and list(error["fields"]) == [field]
    assert stored_imports() == 0


def test_the_202_answer_is_what_the_document_says(api, client):
    from jsonschema import Draft202012Validator, FormatChecker

    upload = client.get("/api/openapi.json").get_json()["paths"]["/api/crm/{entities}/import"]["post"]
    answer = upload["responses"]["202"]
    assert answer["headers"]["Location"]["required"] is True and "GetImport" in answer["links"]
    body = post_csv(api, dry_run="true").get_json()
    Draft202012Validator(answer["content"]["application/json"]["schema"],
                         format_checker=FormatChecker()).validate(body)


@pytest.mark.parametrize(("data", "message"), [
    (b"", "empty"), (b"Email\n", "no rows"), (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 10, "binary")])
def test_unusable_files_are_422_with_a_reason(api, data, message):
    response = post_csv(api, data=data)
    assert response.status_code == 422 and message in response.get_json()["error"]["message"]
    assert response.get_json()["error"]["fields"] == {"file": response.get_json()["error"]["message"]}


def test_a_missing_file_is_422(api):
    response = api("POST", "/api/crm/contacts/import", data={"dedupe": "skip"},
                   content_type="multipart/form-data")
    assert response.status_code == 422 and response.get_json()["error"]["fields"] == {"file": "Required."}
    as_text = api("POST", "/api/crm/contacts/import", data={"file": "Name\nAda\n"},
                  content_type="multipart/form-data")
    assert as_text.status_code == 422 and as_text.get_json()["error"]["fields"] == {"file": "Not a file."}
    assert stored_imports() == 0


def test_an_agent_cannot_use_the_update_policy(client, owner):
    agent = add_member(owner.organization, role=Role.AGENT)
    response = client.post("/api/crm/contacts/import", headers=bearer(agent), content_type="multipart/form-data",
                           data={"file": (io.BytesIO(CSV), "a.csv"), "dedupe": "update"})
    assert response.status_code == 403


def test_imports_of_another_organization_are_404(api, client):
    body = post_csv(api).get_json()
    stranger = bearer(make_member(Role.OWNER))
    assert client.get(body["links"]["self"], headers=stranger).status_code == 404
    assert client.get(body["links"]["rejected"], headers=stranger).status_code == 404


def test_the_routes_are_in_the_openapi_document(client):
    doc = client.get("/api/openapi.json").get_json()
    upload = doc["paths"]["/api/crm/{entities}/import"]["post"]
    assert "multipart/form-data" in upload["requestBody"]["content"] and "202" in upload["responses"]
    assert "/api/crm/imports/{import_id}" in doc["paths"]
    assert "/api/crm/imports/{import_id}/rejected.csv" in doc["paths"]


def test_the_api_needs_a_token(client):
    assert client.post("/api/crm/contacts/import").status_code == 401


def test_a_header_of_200_000_columns_is_422_on_the_file_field_and_stores_nothing(api):
    response = post_csv(api, data=b"x," * 200_000 + b"x\n" + b"1\n")
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["fields"] == {"file": error["message"]} and "columns" in error["message"]
    assert db.session.scalar(select(func.count()).select_from(Import)) == 0
    assert db.session.scalar(select(func.count()).select_from(ImportChunk)) == 0


def test_a_mapping_of_more_columns_than_a_file_may_have_is_refused_and_nothing_is_stored(api):
    mapping = json.dumps({f"column {n}": "" for n in range(10_000)} | {"Email": "email"})
    response = post_csv(api, mapping=mapping)
    assert response.status_code == 422 and "10,001 columns" in response.get_json()["error"]["fields"]["mapping"]
    assert db.session.scalar(select(func.count()).select_from(Import)) == 0


def stored_imports() -> int:
    db.session.commit()  # whatever the refused request left in the session would be written now
    return db.session.scalar(select(func.count()).select_from(Import))


def test_a_mapping_nested_too_deeply_is_422_on_the_mapping_field_not_a_500(api):
    response = post_csv(api, mapping="[" * 100_000)
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["fields"] == {"mapping": "The JSON is nested too deeply."}
    assert stored_imports() == 0


@pytest.mark.parametrize(("mapping", "field", "problem"), [
    ('{"Email": "email", "Na\\u0000me": ""}', "mapping.Na\ufffdme", "NUL"),
    ('{"Email": "\\ud800"}', "mapping.Email", "unpaired surrogate"),
])
def test_text_no_column_can_hold_in_the_mapping_is_refused_on_its_path(api, mapping, field, problem):
    response = post_csv(api, mapping=mapping)
    assert response.status_code == 422
    fields = response.get_json()["error"]["fields"]
    assert list(fields) == [field] and problem in fields[field]
    assert stored_imports() == 0


@pytest.mark.parametrize(("name", "filename"), [("file", "a\x00b.csv"), ("fi\x00le", "people.csv")])
def test_a_nul_in_an_upload_s_file_name_or_field_name_is_a_400_and_no_import_is_stored(api, name, filename):
    response = api("POST", "/api/crm/contacts/import", data={name: (io.BytesIO(CSV), filename)},
                   content_type="multipart/form-data")
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "bad_request" and list(error["fields"]) == [name.replace("\x00", "\ufffd")]
    assert "NUL" in error["message"]
    assert stored_imports() == 0
