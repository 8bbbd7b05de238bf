"""Your organizations: the ones you are in, a new one, and which one this browser session is in.

The pages are auth's (a session's organization is an identity concern; team never imports auth),
at the settings addresses they always had.
"""

from flask import url_for
from sqlalchemy import func, select

from app.blueprints.team.models import Membership, Organization
from app.extensions import db
from tests.conftest import csrf_token
from tests.factories import add_member, make_org


def session_org(client) -> int | None:
    with client.session_transaction() as session:
        return session.get("org_id")


def test_user_creates_a_second_organization_and_switches_between_them(owner_client, owner):
    token = csrf_token(owner_client, "/settings/organizations")
    response = owner_client.post("/settings/organizations", data={"csrf_token": token, "name": "Side Co"})
    assert response.status_code == 302
    assert b"Side Co" in owner_client.get("/home").data
    side = db.session.scalar(select(Organization).where(Organization.name == "Side Co"))
    assert session_org(owner_client) == side.id
    mine = db.session.scalar(select(Membership).where(Membership.org_id == side.id))
    assert (mine.user_id, mine.role) == (owner.user_id, "owner")
    response = owner_client.post(f"/settings/organizations/{owner.org_id}/switch",
                                 data={"csrf_token": token})
    assert response.status_code == 302
    home = owner_client.get("/home").get_data(as_text=True)
    assert owner.organization.name in home
    assert session_org(owner_client) == owner.org_id


def test_switching_to_an_organization_you_do_not_belong_to_is_404(owner_client, owner):
    other = make_org()
    token = csrf_token(owner_client, "/home")
    response = owner_client.post(f"/settings/organizations/{other.id}/switch", data={"csrf_token": token})
    assert response.status_code == 404
    assert session_org(owner_client) == owner.org_id


def test_switching_moves_this_session_into_the_other_organization_and_lands_home(owner_client, owner):
    elsewhere = make_org("Elsewhere Ltd")
    add_member(elsewhere, user=owner.user)
    token = csrf_token(owner_client, "/home")
    response = owner_client.post(f"/settings/organizations/{elsewhere.id}/switch", data={"csrf_token": token})
    assert response.status_code == 302 and response.location.endswith("/home")
    assert session_org(owner_client) == elsewhere.id
    home = owner_client.get("/home").get_data(as_text=True)
    assert '<span id="org-name" class="org-name">Elsewhere Ltd</span>' in home


def test_a_blank_name_re_renders_the_page_with_a_field_error_and_creates_nothing(owner_client, owner):
    token = csrf_token(owner_client, "/settings/organizations")
    response = owner_client.post("/settings/organizations", data={"csrf_token": token, "name": "  "})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "field-error" in html and 'id="new-organization-form"' in html
    assert db.session.scalar(select(func.count()).select_from(Organization)) == 1
    assert session_org(owner_client) == owner.org_id


def test_the_pages_keep_their_settings_addresses_as_auth_endpoints(app):
    with app.test_request_context():
        assert url_for("auth.organizations") == "/settings/organizations"
        assert url_for("auth.create_organization") == "/settings/organizations"
        assert url_for("auth.switch_organization", org_id=7) == "/settings/organizations/7/switch"
    rules = {(r.rule, r.endpoint, frozenset(r.methods - {"HEAD", "OPTIONS"}))
             for r in app.url_map.iter_rules() if "organizations" in r.rule}
    assert rules == {("/settings/organizations", "auth.organizations", frozenset({"GET"})),
                     ("/settings/organizations", "auth.create_organization", frozenset({"POST"})),
                     ("/settings/organizations/<int:org_id>/switch", "auth.switch_organization",
                      frozenset({"POST"}))}


def test_every_switcher_posts_to_the_switch_route(owner_client, owner):
    elsewhere = make_org("Elsewhere Ltd")
    add_member(elsewhere, user=owner.user)
    action = f'action="/settings/organizations/{elsewhere.id}/switch"'
    home = owner_client.get("/home").get_data(as_text=True)
    assert action in home  # the sidebar's organization menu
    assert 'href="/settings/organizations"' in home
    page = owner_client.get("/settings/organizations")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert html.count(action) == 2  # the sidebar and the page's list
    assert 'href="/settings/organizations" class="nav-item is-active" aria-current="page"' in html
    assert 'id="new-organization-form"' in html and 'action="/settings/organizations"' in html


def test_signed_out_visitors_are_sent_to_sign_in(client):
    assert "/auth/signin" in client.get("/settings/organizations").location


def test_a_new_organization_takes_the_default_country_of_the_one_you_are_in(owner_client, owner):
    owner.organization.default_country = "RU"
    db.session.commit()
    token = csrf_token(owner_client, "/settings/organizations")
    owner_client.post("/settings/organizations", data={"csrf_token": token, "name": "Moscow Branch"})
    branch = db.session.scalar(select(Organization).where(Organization.name == "Moscow Branch"))
    assert branch.default_country == "RU"
