"""Bad input never answers 500: deep or malformed JSON, text no column can hold, a failed flush.

Each answer is the error envelope (API), a toast (HTMX) or the error page, and nothing of the
refused request is stored.
"""

import json

import pytest
from flask import Blueprint, g
from sqlalchemy import func, select

from app import create_app
from app.blueprints.crm.models import Contact
from app.blueprints.team.models import Membership, Organization
from app.extensions import db
from app.request_input import find_unsafe_text
from tests.conftest import bearer, csrf_token, sign_in_as
from tests.factories import make_contact

SEND_JSON = "Send a JSON object with Content-Type: application/json."
NESTED = "[" * 100_000


def error_of(response, status: int) -> dict:
    """The envelope's error, after checking the status and the envelope's exact shape."""
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    body = response.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "fields"}
    return body["error"]


def contacts_count() -> int:
    db.session.rollback()  # a fresh view of what the request committed
    return db.session.scalar(select(func.count()).select_from(Contact))


@pytest.fixture
def api(client, owner):
    headers = bearer(owner)

    def call(method: str, path: str, **kwargs):
        return client.open(path, method=method, headers={**headers, **kwargs.pop("headers", {})}, **kwargs)

    return call


# -- JSON bodies -------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/api/auth/signin", "/api/auth/signup", "/api/auth/refresh"])
def test_a_body_nested_too_deeply_is_a_400_even_where_rate_limits_read_it(client, path):
    error = error_of(client.post(path, data=NESTED, content_type="application/json"), 400)
    assert error == {"code": "bad_request", "message": "The JSON body is nested too deeply.", "fields": {}}


def test_an_authenticated_endpoint_refuses_a_deep_body_and_creates_nothing(api):
    error = error_of(api("POST", "/api/crm/contacts", data=NESTED, content_type="application/json"), 400)
    assert error["message"] == "The JSON body is nested too deeply."
    assert contacts_count() == 0


def test_malformed_json_says_what_is_wrong(client):
    error = error_of(client.post("/api/auth/signin", data='{"email": ', content_type="application/json"), 400)
    assert error["code"] == "bad_request" and error["message"].startswith("The body is not valid JSON: ")


@pytest.mark.parametrize(("data", "content_type"), [
    ("", "application/json"), ("[1, 2]", "application/json"), ('"text"', "application/json"),
    ("email=a@example.com", "application/x-www-form-urlencoded"),
])
def test_a_missing_or_non_object_body_asks_for_a_json_object(client, data, content_type):
    error = error_of(client.post("/api/auth/signin", data=data, content_type=content_type), 400)
    assert error["message"] == SEND_JSON


def test_a_lone_surrogate_is_refused_on_its_field_and_no_contact_is_created(api):
    raw = '{"first_name": "\\ud800", "last_name": "Lee"}'  # the escape as a client sends it
    error = error_of(api("POST", "/api/crm/contacts", data=raw, content_type="application/json"), 422)
    assert error["code"] == "invalid" and set(error["fields"]) == {"first_name"}
    assert "unpaired surrogate" in error["fields"]["first_name"]
    assert contacts_count() == 0


def test_a_nul_deep_in_a_body_is_refused_with_its_path(api):
    body = {"first_name": "Ann", "custom": {"notes": ["fine", "a\u0000b"]}}
    error = error_of(api("POST", "/api/crm/contacts", json=body), 422)
    assert set(error["fields"]) == {"custom.notes[1]"} and "NUL" in error["fields"]["custom.notes[1]"]
    assert contacts_count() == 0


def test_a_nul_in_a_field_name_is_refused_too(api):
    error = error_of(api("POST", "/api/crm/contacts", json={"first_name": "Ann", "x\u0000": 1}), 422)
    assert list(error["fields"]) == ["x\ufffd"]
    assert contacts_count() == 0


def test_a_valid_surrogate_pair_is_ordinary_text(api):
    created = api("POST", "/api/crm/contacts", data='{"first_name": "Ann \\ud83d\\ude00"}',
                  content_type="application/json")
    assert created.status_code == 201 and created.get_json()["first_name"] == "Ann \U0001f600"


def test_the_walk_over_a_body_is_not_recursive():
    deep: list = ["a\u0000"]
    for _ in range(5000):  # deeper than Python's recursion limit
        deep = [deep]
    path, problem = find_unsafe_text(deep)
    assert path.startswith("body[0][0]") and "NUL" in problem


# -- query strings and forms -------------------------------------------------------------------

def test_a_nul_in_a_search_is_a_400_envelope_not_a_full_text_search_crash(api, owner):
    make_contact(owner, first_name="Ann")
    error = error_of(api("GET", "/api/crm/contacts?q=a%00b"), 400)
    assert error["code"] == "bad_request" and set(error["fields"]) == {"q"}


def test_a_nul_in_a_pages_query_is_the_error_page(owner_client, owner):
    make_contact(owner, first_name="Ann")
    page = owner_client.get("/contacts?q=a%00b")
    assert page.status_code == 400
    html = page.get_data(as_text=True)
    assert "q: text may not contain a NUL character." in html and "Traceback" not in html


def test_a_nul_in_an_htmx_query_is_a_toast(owner_client, owner):
    response = owner_client.get("/contacts?q=%00", headers={"HX-Request": "true"})
    assert response.status_code == 400 and response.data == b""
    toast = json.loads(response.headers["HX-Trigger"])["toast"]
    assert toast == {"level": "error", "message": "q: text may not contain a NUL character."}


def test_a_nul_in_a_form_field_is_refused_and_no_contact_is_created(owner_client):
    token = csrf_token(owner_client, "/contacts")
    response = owner_client.post("/contacts/new", data={"csrf_token": token, "first_name": "Ann\u0000"})
    assert response.status_code == 400
    assert "first_name: text may not contain a NUL character." in response.get_data(as_text=True)
    assert contacts_count() == 0


# -- the error path ----------------------------------------------------------------------------

@pytest.fixture
def failing_app(settings):
    """An app with routes that fail the way real ones did: a flush that fails in the driver (text
    no encoding holds), with the membership expired or detached by then."""
    app = create_app(settings)
    bp = Blueprint("failing", __name__)

    def act_as(membership_id: int, *, detach: bool) -> None:
        g.membership = db.session.get(Membership, membership_id)
        db.session.expire(g.membership)
        if detach:
            db.session.expunge(g.membership)

    @bp.get("/api/failing/flush/<int:membership_id>")
    @bp.get("/failing/flush/<int:membership_id>")
    def failed_flush(membership_id: int):
        act_as(membership_id, detach=False)
        db.session.add(Organization(name="\ud800"))
        db.session.flush()

    @bp.get("/failing/detached/<int:membership_id>")
    def detached(membership_id: int):
        act_as(membership_id, detach=True)  # the error page's layout reads it, and fails
        raise RuntimeError("secret internals")

    app.register_blueprint(bp)
    return app


def organizations_count() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(Organization))


def test_a_failed_flush_answers_the_500_envelope_and_rolls_back(failing_app, owner):
    before = organizations_count()
    response = failing_app.test_client().get(f"/api/failing/flush/{owner.id}")
    error = error_of(response, 500)
    assert error["code"] == "server_error" and "Traceback" not in response.get_data(as_text=True)
    assert organizations_count() == before


def test_a_failed_flush_on_a_page_still_shows_the_error_page_in_the_layout(failing_app, owner):
    client = failing_app.test_client()
    sign_in_as(client, owner)
    page = client.get(f"/failing/flush/{owner.id}")
    assert page.status_code == 500
    html = page.get_data(as_text=True)
    assert "An unexpected error happened on our side" in html and "app.css" in html


def test_when_the_error_page_itself_fails_a_plain_500_goes_out(failing_app, owner):
    client = failing_app.test_client()
    sign_in_as(client, owner)
    page = client.get(f"/failing/detached/{owner.id}")
    assert page.status_code == 500 and page.mimetype == "text/plain"
    text = page.get_data(as_text=True)
    assert text.startswith("An unexpected error happened on our side")
    assert "secret internals" not in text and "Traceback" not in text


def test_log_lines_never_load_an_expired_or_detached_membership(app, owner):
    import logging

    from app.observability import ContextFilter

    record = logging.LogRecord("app", logging.ERROR, __file__, 1, "boom", (), None)
    with app.test_request_context("/"):
        g.membership = db.session.get(Membership, owner.id)
        ContextFilter().filter(record)
        assert (record.user_id, record.org_id) == (owner.user_id, owner.org_id)
        db.session.expire(g.membership)
        db.session.expunge(g.membership)  # expired and detached: loading would raise
        ContextFilter().filter(record)
        assert (record.user_id, record.org_id) == (None, None)
