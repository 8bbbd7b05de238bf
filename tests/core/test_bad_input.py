"""Bad input never answers 500: deep or malformed JSON, text no column can hold, a failed flush.

Each answer is the error envelope (API), a toast (HTMX) or the error page, and nothing of the
refused request is stored.
"""

import json
import tracemalloc

import pytest
from flask import Blueprint, g
from sqlalchemy import func, select
from werkzeug.test import EnvironBuilder

from app import create_app, request_input
from app.blueprints.crm.models import Contact
from app.blueprints.crm.records.api import MAX_BULK
from app.blueprints.team.models import Membership, Organization
from app.extensions import db
from app.request_input import MAX_JSON_BYTES, find_unsafe_text
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


def wide_and_deep(email: str, last: str = "0") -> str:
    """A sign-in body of 0.8 MB: 900 nested lists around 400,000 zeros (``last`` is the final one)."""
    pad = "[" * 900 + "0," * 399_999 + last + "]" * 900
    return f'{{"email": "{email}", "password": "pw", "pad": {pad}}}'


def peak_allocation(call) -> int:
    """The most memory allocated at once while ``call`` ran, above what was allocated before."""
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        call()
        return tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("email", ["nobody@example.com", "nobody\\u0040example.com"])
def test_a_wide_and_deep_sign_in_body_is_answered_without_building_a_path_per_value(client, email):
    """Each value's path was built up front: 400,000 paths 2.7 KB long, 1.1 GB for a 0.8 MB body.
    (With an escape in the body its strings are walked; without one they need not be.)"""
    body = wide_and_deep(email)
    assert len(body) < MAX_JSON_BYTES
    answers = []
    peak = peak_allocation(lambda: answers.append(
        client.post("/api/auth/signin", data=body, content_type="application/json")))
    assert error_of(answers[0], 422)["fields"] == {"pad": "Unknown field."}  # sign-in takes no pad
    assert peak < 50 * 1024 * 1024, f"{peak / 2**20:.0f} MB allocated at once"


def test_the_path_to_a_nul_deep_in_a_wide_body_is_built_when_it_is_found(client):
    body = wide_and_deep("nobody@example.com", last='"a\\u0000"')
    error = error_of(client.post("/api/auth/signin", data=body, content_type="application/json"), 422)
    assert list(error["fields"]) == ["pad" + "[0]" * 899 + "[399999]"]


@pytest.fixture
def parses_and_walks(monkeypatch):
    """How often bodies were parsed and walked for unsafe text."""
    seen = {"parsed": 0, "walked": 0}
    loads, walk = request_input.safe_loads, request_input._first_refused

    def counting_loads(*args, **kwargs):
        seen["parsed"] += 1
        return loads(*args, **kwargs)

    def counting_walk(*args, **kwargs):
        seen["walked"] += 1
        return walk(*args, **kwargs)

    monkeypatch.setattr(request_input, "safe_loads", counting_loads)
    monkeypatch.setattr(request_input, "_first_refused", counting_walk)
    return seen


@pytest.mark.parametrize(("email", "walks"), [("nobody@example.com", 0), ("nobody\\u0040example.com", 1)])
def test_sign_in_parses_its_body_once_and_walks_it_only_when_it_holds_an_escape(client, parses_and_walks,
                                                                                email, walks):
    """The rate-limit keys and the route all read the body; it is parsed and checked once. Without a
    \\u escape it cannot hold a NUL or a lone surrogate, so it is not walked at all."""
    body = json.dumps({"email": "x", "password": "pw"}).replace('"x"', f'"{email}"')
    response = client.post("/api/auth/signin", data=body, content_type="application/json")
    assert parses_and_walks == {"parsed": 1, "walked": walks}  # (reading the answer parses again)
    error_of(response, 401)


def test_a_refused_body_is_walked_once_however_often_it_is_read(client, parses_and_walks):
    body = '{"email": "a\\u0000b@example.com", "password": "pw"}'
    response = client.post("/api/auth/signin", data=body, content_type="application/json")
    assert parses_and_walks == {"parsed": 1, "walked": 1}
    assert set(error_of(response, 422)["fields"]) == {"email"}


# Why a body without a \u escape need not be walked: Python's json refuses a raw control character
# in a string, and the body is decoded strictly (json.loads alone decodes bytes with surrogatepass,
# which would let a UTF-8 or UTF-16 encoded lone surrogate through as one).
@pytest.mark.parametrize(("raw", "message"), [
    (b'{"first_name": "a\x00b"}', "The body is not valid JSON: Invalid control character"),
    (b'{"first_name": "\xff"}', "The JSON body is not UTF-8 text."),
    (b'{"first_name": "\xed\xa0\x80"}', "The JSON body is not UTF-8 text."),  # a surrogate, UTF-8 encoded
    ('{"first_name": "\ud800"}'.encode("utf-16-le", "surrogatepass"), "The JSON body is not UTF-8 text."),
])
def test_a_raw_nul_or_invalid_text_in_a_body_is_refused_without_an_escape_to_find(api, parses_and_walks,
                                                                                  raw, message):
    assert b"\\u" not in raw
    response = api("POST", "/api/crm/contacts", data=raw, content_type="application/json")
    assert parses_and_walks["walked"] == 0
    assert error_of(response, 400)["message"].startswith(message)
    assert contacts_count() == 0


def test_a_json_body_over_the_limit_is_413_before_it_is_parsed(api, client, parses_and_walks):
    body = json.dumps({"first_name": "Ann", "notes": "n" * MAX_JSON_BYTES})
    response = api("POST", "/api/crm/contacts", data=body, content_type="application/json")
    signing_in = client.post("/api/auth/signin", data=body, content_type="application/json")
    assert parses_and_walks == {"parsed": 0, "walked": 0}
    assert error_of(response, 413) == {
        "code": "too_large", "fields": {}, "message": f"The JSON body is larger than {MAX_JSON_BYTES >> 20} MB."}
    error_of(signing_in, 413)
    assert contacts_count() == 0


def test_a_body_without_a_length_is_measured_as_it_is_read(client, owner):
    body = json.dumps({"first_name": "Ann", "notes": "n" * MAX_JSON_BYTES}).encode()
    environ = EnvironBuilder(path="/api/crm/contacts", method="POST", data=body, content_type="application/json",
                             headers=bearer(owner)).get_environ()
    del environ["CONTENT_LENGTH"]
    environ["wsgi.input_terminated"] = True  # as a server passes on a chunked body
    error_of(client.open(environ), 413)
    assert contacts_count() == 0


def test_the_largest_bulk_body_fits_well_inside_the_limit(api):
    body = json.dumps({"action": "trash", "ids": [2**63 - 1 - n for n in range(MAX_BULK)]})
    assert len(body) < MAX_JSON_BYTES // 4
    response = api("POST", "/api/crm/contacts/bulk", data=body, content_type="application/json")
    assert response.status_code not in (400, 413) and response.status_code < 500


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


def test_bad_input_is_explained_in_the_callers_language(client, owner, owner_client):
    russian = {**bearer(owner), "Accept-Language": "ru"}
    deep = client.post("/api/crm/contacts", data=NESTED, content_type="application/json", headers=russian)
    assert error_of(deep, 400)["message"] == "Слишком глубокая вложенность в теле запроса JSON."
    empty = client.post("/api/crm/contacts", data="", content_type="application/json", headers=russian)
    assert error_of(empty, 400)["message"] == "Отправьте JSON-объект с заголовком Content-Type: application/json."
    nul = client.post("/api/crm/contacts", json={"first_name": "A\x00"}, headers=russian)
    assert error_of(nul, 422)["fields"] == {
        "first_name": "Содержит символ NUL (\\u0000), который не может быть в тексте."}
    html = owner_client.get("/contacts?q=a%00", headers={"Accept-Language": "ru"}).get_data(as_text=True)
    assert "q: текст не может содержать символ NUL." in html
    english = client.post("/api/crm/contacts", data=NESTED, content_type="application/json", headers=bearer(owner))
    assert error_of(english, 400)["message"] == "The JSON body is nested too deeply."
