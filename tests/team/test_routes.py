from sqlalchemy import select

from app.audit import AuditEvent
from app.blueprints.team.models import Membership
from app.blueprints.team.permissions import Role
from app.extensions import db
from tests.conftest import csrf_token, sign_in_as
from tests.factories import add_member, make_member, make_org


def test_owner_renames_the_organization(owner_client, owner):
    token = csrf_token(owner_client, "/settings/organization")
    response = owner_client.post("/settings/organization",
                                 data={"csrf_token": token, "name": "Acme BD", "timezone": "Asia/Dubai"})
    assert response.status_code == 302
    assert owner.organization.name == "Acme BD"


def test_blank_name_re_renders_the_form_with_a_field_error(owner_client):
    token = csrf_token(owner_client, "/settings/organization")
    response = owner_client.post("/settings/organization",
                                 data={"csrf_token": token, "name": "  ", "timezone": "UTC"})
    assert response.status_code == 422
    assert b"field-error" in response.data


def test_agent_sees_settings_read_only_and_a_forced_post_is_forbidden(client):
    agent = make_member(Role.AGENT)
    sign_in_as(client, agent)
    page = client.get("/settings/organization")
    assert b'id="organization-form"' not in page.data
    token = csrf_token(client, "/settings/organization")
    response = client.post("/settings/organization",
                           data={"csrf_token": token, "name": "Hijacked", "timezone": "UTC"})
    assert response.status_code == 403
    assert agent.organization.name != "Hijacked"


def test_changing_a_role_over_htmx_returns_the_cell_and_a_toast(owner_client, owner):
    agent = add_member(owner.organization, role=Role.AGENT)
    token = csrf_token(owner_client, "/settings/members")
    response = owner_client.post(f"/settings/members/{agent.id}/role", data={"role": "manager"},
                                 headers={"HX-Request": "true", "X-CSRFToken": token})
    assert response.status_code == 200
    assert f'id="member-role-{agent.id}"'.encode() in response.data
    assert b"<html" not in response.data
    assert "is now Manager" in response.headers["HX-Trigger"]
    assert db.session.get(Membership, agent.id).role == "manager"


def test_a_refused_htmx_change_gets_a_toast_and_no_body(client):
    admin = make_member(Role.ADMIN)
    owner = add_member(admin.organization, role=Role.OWNER)
    sign_in_as(client, admin)
    token = csrf_token(client, "/settings/members")
    response = client.post(f"/settings/members/{owner.id}/role", data={"role": "agent"},
                           headers={"HX-Request": "true", "X-CSRFToken": token})
    assert response.status_code == 403
    assert response.data == b""
    assert "owner role" in response.headers["HX-Trigger"]


def test_audit_log_lists_this_organizations_events_only(owner_client, owner):
    from app import audit

    audit.record("org.updated", org_id=owner.org_id, actor_id=owner.user_id, changes={})
    audit.record("org.updated", org_id=make_org().id, changes={"secret": 1})
    db.session.commit()
    page = owner_client.get("/settings/audit").get_data(as_text=True)
    assert "org.updated" in page and "secret" not in page
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.org_id == owner.org_id))


def test_members_page_lists_the_team_with_role_pickers_for_admins(owner_client, owner):
    agent = add_member(owner.organization, role=Role.AGENT)
    page = owner_client.get("/settings/members").get_data(as_text=True)
    assert agent.user.name in page and f'id="role-{agent.id}"' in page
    assert f'id="role-{owner.id}"' not in page  # nobody edits their own role


def test_agents_see_the_team_without_role_pickers(client):
    agent = make_member(Role.AGENT)
    sign_in_as(client, agent)
    page = client.get("/settings/members").get_data(as_text=True)
    assert "badge-agent" in page and "<select" not in page


def test_the_owner_picks_the_default_country_for_phone_numbers(owner_client, owner):
    page = owner_client.get("/settings/organization").get_data(as_text=True)
    assert 'name="default_country"' in page and '<option value="RU">Russia (+7)</option>' in page
    token = csrf_token(owner_client, "/settings/organization")
    response = owner_client.post("/settings/organization", data={
        "csrf_token": token, "name": owner.organization.name, "timezone": "UTC", "default_country": "RU"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Membership, owner.id).organization.default_country == "RU"
    page = owner_client.get("/settings/organization").get_data(as_text=True)
    assert '<option selected value="RU">Russia (+7)</option>' in page


def test_an_unknown_default_country_re_renders_the_form_with_a_field_error(owner_client, owner):
    token = csrf_token(owner_client, "/settings/organization")
    response = owner_client.post("/settings/organization", data={
        "csrf_token": token, "name": "Renamed", "timezone": "UTC", "default_country": "XX"})
    assert response.status_code == 422
    assert "Unknown country." in response.get_data(as_text=True)
    db.session.expire_all()
    organization = db.session.get(Membership, owner.id).organization
    assert organization.name != "Renamed" and organization.default_country is None


def test_members_who_cannot_edit_see_the_default_country(client):
    agent = make_member(Role.AGENT)
    agent.organization.default_country = "RU"
    db.session.commit()
    sign_in_as(client, agent)
    page = client.get("/settings/organization").get_data(as_text=True)
    assert "Default country for phone numbers" in page and "Russia (+7)" in page


def _save_organization(client, org, **fields):
    token = csrf_token(client, "/settings/organization")
    return client.post("/settings/organization", data={"csrf_token": token, "name": org.name,
                                                        "timezone": "UTC", **fields})


def test_new_deals_start_in_the_currency_the_owner_picks_else_the_countrys(owner_client, owner):
    from tests.factories import make_deal

    org_id = owner.org_id
    assert _save_organization(owner_client, owner.organization, default_country="RU",
                              default_currency="").status_code == 302
    assert make_deal(owner, title="Moscow").currency == "RUB"  # none picked: the country's
    assert _save_organization(owner_client, owner.organization, default_currency="usd").status_code == 302
    db.session.expire_all()
    assert db.session.get(Membership, owner.id).organization.default_currency == "USD"
    assert make_deal(owner, title="Dollars").currency == "USD"
    page = owner_client.get("/deals/new").get_data(as_text=True)
    assert '<option value="USD" selected>' in page
    changed = db.session.scalars(select(AuditEvent).where(AuditEvent.org_id == org_id,
                                                          AuditEvent.action == "org.updated")).all()
    assert any(e.detail["changes"].get("default_currency") == [None, "USD"] for e in changed)


def test_an_unknown_default_currency_is_a_field_error_and_changes_nothing(owner_client, owner):
    response = _save_organization(owner_client, owner.organization, default_currency="XYZ")
    assert response.status_code == 422
    assert "Unknown currency." in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Membership, owner.id).organization.default_currency is None


def test_members_who_cannot_edit_see_the_default_currency(client):
    agent = make_member(Role.AGENT)
    agent.organization.default_country = "KZ"
    db.session.commit()
    sign_in_as(client, agent)
    page = client.get("/settings/organization").get_data(as_text=True)
    assert "<dt>Default currency for deals</dt><dd>KZT</dd>" in page
