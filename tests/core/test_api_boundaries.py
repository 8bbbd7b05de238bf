"""The API at its edges: ids beyond what a database holds, and methods a route does not declare."""

import re

import pytest
from sqlalchemy import select

from app.blueprints.crm.models import Contact, Deal
from tests.conftest import bearer
from tests.factories import make_contact, make_deal

LARGEST = 2**63 - 1  # the largest integer a column holds (a JSON body may carry it)
ID_MAX = 2**31 - 1  # the largest id (INTEGER columns on PostgreSQL)


def id_routes(app):
    """(method, path with ``{id}`` for every id) of each API route with an integer in its path."""
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/") and "<int:" in rule.rule:
            path = re.sub(r"<int:\w+>", "{id}", rule.rule)
            path = re.sub(r"<any\(([^,)]+)[^>]*>", r"\1", path)  # the first of an any(...) choice
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield method, path


@pytest.mark.parametrize("raw", [str(ID_MAX), "0"])
def test_an_id_a_database_can_hold_but_nobody_has_is_not_found_on_every_route(app, client, owner, raw):
    routes = list(id_routes(app))
    assert len(routes) >= 20
    for method, path in routes:
        response = client.open(path.format(id=raw), method=method, headers=bearer(owner), json={})
        assert response.status_code in (404, 422), (method, path, response.status_code)
        assert response.get_json()["error"]["code"] in ("not_found", "invalid", "invalid_request")


@pytest.mark.parametrize("raw", [str(ID_MAX + 1), str(LARGEST), str(LARGEST + 1), "99999999999999999999999999", "-1", "-9223372036854775809",
                                 "abc", "1e3"])
def test_an_id_no_database_holds_or_no_number_at_all_is_no_route(app, client, owner, raw):
    contact = make_contact(owner, email="kept@example.com")
    for method, path in id_routes(app):
        response = client.open(path.format(id=raw), method=method, headers=bearer(owner),
                               json={"email": "changed@example.com"})
        assert response.status_code == 404, (method, path)
        assert response.get_json()["error"]["code"] == "not_found"
    assert db_email(contact.id) == "kept@example.com"


def db_email(contact_id):
    from app.extensions import db

    db.session.expire_all()
    return db.session.get(Contact, contact_id).email


@pytest.mark.parametrize("value", [LARGEST + 1, -(LARGEST + 2), 10**40])
def test_a_body_integer_no_column_holds_is_refused_on_its_field(client, owner, value):
    deal = make_deal(owner, title="Kept")
    response = client.patch(f"/api/crm/deals/{deal.id}", headers=bearer(owner),
                            json={"title": "Changed", "owner": value})
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "invalid" and "owner" in error["fields"]
    response = client.post("/api/crm/deals/bulk", headers=bearer(owner),
                           json={"action": "delete", "ids": [deal.id, value]})
    assert response.status_code == 422 and list(response.get_json()["error"]["fields"]) == ["ids[1]"]
    from app.extensions import db

    db.session.expire_all()
    kept = db.session.scalars(select(Deal).where(Deal.id == deal.id)).one()
    assert (kept.title, kept.deleted_at) == ("Kept", None)


def test_the_largest_integers_a_column_holds_pass_the_body_check(client, owner):
    deal = make_deal(owner, title="Kept")
    for value in (LARGEST, -(LARGEST + 1)):
        response = client.patch(f"/api/crm/deals/{deal.id}", headers=bearer(owner), json={"owner": value})
        assert response.status_code == 422  # no such member: the service's answer, not the body check's
        assert "owner" in response.get_json()["error"]["fields"]


@pytest.mark.parametrize("method", ["TRACE", "OPTIONS", "PUT", "PATCH"])
def test_a_method_a_route_does_not_declare_is_405_with_what_it_allows(client, owner, method):
    response = client.open("/api/crm/contacts", method=method, headers=bearer(owner))
    assert response.status_code == 405
    assert response.get_json()["error"]["code"] == "method_not_allowed"
    assert response.headers["Allow"] == "GET, HEAD, POST"


def test_options_on_an_item_route_lists_every_method_of_the_path(client, owner):
    contact = make_contact(owner)
    response = client.open(f"/api/crm/contacts/{contact.id}", method="OPTIONS", headers=bearer(owner))
    assert response.status_code == 405
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "PATCH", "DELETE"}
    assert "OPTIONS" not in response.headers["Allow"]
