import json
import logging

from flask import Blueprint

from app import create_app
from app.observability import JsonFormatter


def test_healthz_is_up_without_dependencies(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}


def test_readyz_checks_database_and_redis(client):
    body = client.get("/readyz").get_json()
    assert body == {"status": "ok", "checks": {"database": "ok", "redis": "ok"}}


def test_unknown_page_gets_the_404_page_in_the_layout(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert b"We could not find that page" in response.data and b"app.css" in response.data


def test_unknown_api_route_gets_the_error_envelope(client):
    response = client.get("/api/no-such-thing")
    assert response.status_code == 404
    assert response.get_json() == {"error": {"code": "not_found", "message": response.get_json()
                                             ["error"]["message"], "fields": {}}}


def test_a_crash_shows_a_friendly_500_without_a_stack_trace(settings):
    crashing = create_app(settings)
    bp = Blueprint("boom", __name__)

    @bp.get("/boom")
    def boom():
        raise RuntimeError("secret internals")

    crashing.register_blueprint(bp)
    client = crashing.test_client()
    page = client.get("/boom")
    assert page.status_code == 500
    assert b"secret internals" not in page.data and b"Traceback" not in page.data
    htmx = client.get("/boom", headers={"HX-Request": "true"})
    assert htmx.status_code == 500 and htmx.data == b""
    assert json.loads(htmx.headers["HX-Trigger"])["toast"]["level"] == "error"


def test_security_headers_are_strict(client):
    response = client.get("/auth/signin")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "style-src 'self'" in csp
    assert "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    cookie = response.headers.get("Set-Cookie", "")
    assert "SameSite=Lax" in cookie and "HttpOnly" in cookie


def test_pages_carry_no_inline_script_or_style(client):
    html = client.get("/auth/signup").get_data(as_text=True)
    assert "<script>" not in html and " style=" not in html and "<style" not in html
    assert " on" + "click=" not in html


def test_responses_carry_a_request_id_and_echo_a_sane_incoming_one(client):
    assert len(client.get("/healthz").headers["X-Request-ID"]) == 32
    echoed = client.get("/healthz", headers={"X-Request-ID": "abc12345-from-proxy"})
    assert echoed.headers["X-Request-ID"] == "abc12345-from-proxy"


def test_fragment_responses_vary_on_hx_request(client):
    assert "HX-Request" in client.get("/auth/signin").headers["Vary"]


def test_json_log_lines_carry_request_context():
    record = logging.LogRecord("app", logging.INFO, __file__, 1, "hello %s", ("world",), None)
    record.request_id, record.org_id, record.user_id, record.job_id = "r1", 7, 3, None
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "hello world"
    assert (line["request_id"], line["org_id"], line["user_id"]) == ("r1", 7, 3)
    assert "job_id" not in line
