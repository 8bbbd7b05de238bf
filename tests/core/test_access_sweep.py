"""Every route, swept: anonymous callers are turned away; another organization's ids are 404."""

import re

import pytest
from sqlalchemy import select

from app.blueprints.auth import tokens
from app.blueprints.auth.models import UserSession
from app.blueprints.auth.tokens import TokenSettings
from app.blueprints.crm.models import CustomField, Import
from app.blueprints.team.permissions import Role
from app.extensions import db
from tests.conftest import TEST_SECRET, csrf_token, open_browser_session, sign_in_as
from tests.factories import (
    add_member,
    make_account,
    make_chat,
    make_company,
    make_contact,
    make_deal,
    make_member,
    make_message,
    make_org,
)

PUBLIC = {"static", "core.index", "core.healthz", "core.readyz", "auth.sign_in", "auth.sign_up",
          "core.language",  # the language switcher: on the sign-in page too
          # what a visitor reaches from a mailed link, or on the way to one
          "auth.sign_up_sent", "auth.verify_email", "auth.forgot_password", "auth.forgot_password_sent",
          "auth.reset_password", "auth.accept_invitation"}
NOT_IDS = {"token"}  # a signed token in the path names no row: it is checked, not looked up
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def _rules(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC:
            continue
        meta = getattr(app.view_functions[rule.endpoint], "__openapi__", {}) or {}
        if meta.get("public"):
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


ENTITY_WORDS = {"contact": "contact", "compan": "company", "deal": "deal"}


def _url(rule, values):
    """Fill ``rule`` from ``values``; ``record_id`` picks the id of the entity the path names, and
    ``any(...)`` converters take their first choice."""
    filled = {}
    for name in rule.arguments:
        converter = rule._converters[name]
        if converter.__class__.__name__ == "AnyConverter":
            filled[name] = sorted(converter.items)[0]
    for name in rule.arguments:
        if name in filled:
            continue
        value = values[name]
        if isinstance(value, dict):  # per-entity ids: choose by the words in the path
            path = re.sub(r"<[^>]*>", "", rule.rule) + " ".join(str(v) for v in filled.values())
            value = next(v for word, key in ENTITY_WORDS.items() if word in path for v in [value[key]])
        filled[name] = value
    return re.sub(r"<(?:[\w(), ]+:)?(\w+)>", lambda m: str(filled[m.group(1)]), rule.rule)


def test_every_non_public_route_refuses_anonymous_callers(app, client):
    token = csrf_token(client)  # a valid anonymous token, so what refuses is the sign-in check
    checked = 0
    for rule, method in _rules(app):
        url = _url(rule, dict.fromkeys(rule.arguments, 1))
        # Our own origin, so that what refuses /ws is the sign-in check, not the Origin check
        response = client.open(url, method=method, headers={"X-CSRFToken": token, "Origin": "http://localhost"})
        if rule.rule.startswith("/api/") or rule.rule == "/ws":
            assert response.status_code == 401, (method, url, response.status_code)
        else:
            assert response.status_code == 302, (method, url, response.status_code)
            assert "/auth/signin" in response.location
        checked += 1
    assert checked >= 8


@pytest.fixture
def foreign_ids():
    """One row of every id-addressed kind, in an organization the signed-in user is not part of."""
    other = make_org("Elsewhere")
    member = add_member(other, role=Role.AGENT)
    contact, company, deal = make_contact(member), make_company(member), make_deal(member)
    field = CustomField(org_id=other.id, entity="contact", key="tier", label="Tier")
    db.session.add(field)
    imp = Import(org_id=other.id, entity="contact", filename="theirs.csv", headers=["Email"], mapping={})
    db.session.add(imp)
    db.session.commit()
    account = make_account(other)
    chat = make_chat(account)
    message = make_message(chat)
    open_browser_session(member.user)
    session_id = db.session.scalar(select(UserSession.id).where(UserSession.user_id == member.user_id))
    from app.blueprints.team.invitations import invite
    from app.integrations.mail import OutboundMail

    owner = add_member(other, role=Role.OWNER)
    invitation = invite(owner, email="theirs@example.com", role="agent", language="en", secret="s",
                        link=lambda endpoint, **values: "http://elsewhere.example")
    db.session.commit()
    mail_id = db.session.scalar(select(OutboundMail.id).where(OutboundMail.org_id == other.id))
    campaign_id, step_id, enrollment_id = _foreign_campaign(owner, contact)
    template_id, suppression_id = _foreign_template_and_suppression(owner)
    file_id = _foreign_campaign_file(owner)
    return {"file_id": file_id, "template_id": template_id, "suppression_id": suppression_id, "campaign_id": campaign_id, "step_id": step_id, "enrollment_id": enrollment_id, "invitation_id": invitation.id, "mail_id": mail_id, "session_id": session_id, "account_id": account.id, "chat_id": chat.id, "message_id": message.id,
            "member_id": member.id, "org_id": other.id, "field_id": field.id, "import_id": imp.id, "name": "first_name",
            "record_id": {"contact": contact.id, "company": company.id, "deal": deal.id},
            "deal_id": deal.id, "pipeline_id": deal.pipeline_id, "stage_id": deal.stage_id}


def _foreign_campaign(owner, contact) -> tuple[int, int, int]:
    """A campaign of another organization with a step and one person in it: (campaign, step,
    enrollment) ids."""
    from app.blueprints.campaigns import service
    from app.blueprints.campaigns.models import Enrollment

    found = service.create_campaign(owner, {"name": "Theirs", "steps": [{"variants": [{"text": "Hi"}]}]})
    service.add_contacts(owner, found, contact_ids=[contact.id])
    db.session.commit()
    enrollment_id = db.session.scalar(select(Enrollment.id).where(Enrollment.campaign_id == found.id))
    return found.id, found.steps[0].id, enrollment_id


def _foreign_campaign_file(owner) -> int:
    """A campaign step's file of another organization."""
    from app.blueprints.campaigns import service
    from app.blueprints.messaging.public import Attachment

    kept = service.store_file(owner, Attachment("theirs.pdf", "application/pdf", b"%PDF-1.4 theirs"))
    db.session.commit()
    return kept.id


def _foreign_template_and_suppression(owner) -> tuple[int, int]:
    """A message template and a do-not-contact entry of another organization."""
    from app.blueprints.campaigns import message_templates, suppression

    template = message_templates.create_template(owner, "Theirs", "Hello")
    entry = suppression.add_identity(owner, "username", "their_person")
    db.session.commit()
    return template.id, entry.id


def minimal_body(schema: dict | None):
    """The smallest body the contract accepts: the required fields, each with a plain value (so
    what refuses a foreign id is the lookup, not the body's check)."""
    if not schema:
        return {}
    kind = schema.get("type")
    kind = next((k for k in kind if k != "null"), "null") if isinstance(kind, list) else kind
    if "enum" in schema:
        return schema["enum"][0]
    if "oneOf" in schema or "anyOf" in schema:
        option = (schema.get("oneOf") or schema.get("anyOf"))[0]
        if set(option) == {"required"}:  # which of the object's own properties must come
            rest = {k: v for k, v in schema.items() if k not in ("oneOf", "anyOf")}
            return minimal_body({**rest, "required": [*schema.get("required", []), *option["required"]]})
        return minimal_body(option)
    if kind == "object" or "properties" in schema:
        return {name: minimal_body(schema["properties"].get(name)) for name in schema.get("required", [])}
    return {"integer": schema.get("minimum", 1), "number": 1, "boolean": True, "array": [],
            "string": "x" * max(1, schema.get("minLength", 1)), "null": None}[kind]


def test_every_id_route_answers_404_for_another_organizations_ids(app, client, foreign_ids):
    me = make_member(Role.OWNER)
    sign_in_as(client, me)
    token = csrf_token(client, "/home")
    access = tokens.issue_pair(TokenSettings(secret=TEST_SECRET), me).access_token
    db.session.commit()
    checked = 0
    for rule, method in _rules(app):
        named = {a for a in rule.arguments if rule._converters[a].__class__.__name__ != "AnyConverter"} - NOT_IDS
        if not named:  # no id in the path (an any() converter only picks the entity)
            continue
        missing = named - set(foreign_ids)
        assert not missing, f"add foreign ids for {rule.rule}: {missing}"
        url = _url(rule, foreign_ids)
        data = {"role": "agent", "name": "x", "csrf_token": token} if method in UNSAFE else None
        if rule.rule.startswith("/api/"):
            meta = app.view_functions[rule.endpoint].__openapi__
            required = {p["name"]: minimal_body(p.get("schema")) for p in meta["params"]
                        if p["in"] == "query" and p.get("required")}  # so the lookup is what refuses
            response = client.open(url, method=method, json=minimal_body(meta["bodies"].get("application/json")),
                                   query_string=required, headers={"Authorization": f"Bearer {access}"})
        else:
            response = client.open(url, method=method, data=data, headers={"X-CSRFToken": token})
        assert response.status_code == 404, (method, url, response.status_code)
        checked += 1
    assert checked >= 2


@pytest.mark.parametrize("role", list(Role))
def test_every_page_renders_for_every_role(app, client, role):
    """No page a member can reach crashes: it renders, or says the role may not see it."""
    me = make_member(role)
    add_member(me.organization, role=Role.AGENT)
    sign_in_as(client, me)
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.arguments or rule.rule.startswith(("/api/", "/static")):
            continue
        if rule.rule == "/ws":
            continue
        response = client.get(rule.rule)
        assert response.status_code in (200, 302, 403), (rule.rule, response.status_code)


def test_sharing_and_client_routes_answer_404_for_another_organizations_ids(app, client, foreign_ids):
    """A contact's sharing card and the clients API, given ids of another organization."""
    from app.blueprints.crm.models import ContactShare

    me = make_member(Role.OWNER)
    mine = make_contact(me)
    sign_in_as(client, me)
    token = csrf_token(client, "/home")
    stranger = db.session.scalar(select(UserSession.user_id).where(UserSession.id == foreign_ids["session_id"]))
    contact_id = foreign_ids["record_id"]["contact"]
    for path in (f"/contacts/{contact_id}/shares", f"/contacts/{contact_id}/shares/remove"):
        response = client.post(path, data={"user_ids": [me.user_id], "user_id": me.user_id},
                               headers={"X-CSRFToken": token})
        assert response.status_code == 404, path
    response = client.post(f"/contacts/{mine.id}/shares", data={"user_ids": [stranger]},
                           headers={"X-CSRFToken": token})
    assert response.status_code == 422  # a member of another organization is nobody to share with
    access = tokens.issue_pair(TokenSettings(secret=TEST_SECRET), me).access_token
    db.session.commit()
    api = {"Authorization": f"Bearer {access}"}
    for body in ({"contact_ids": [contact_id]}, {"deal_ids": [foreign_ids["deal_id"]]},
                 {"chat_ids": [foreign_ids["chat_id"]]}):
        response = client.post("/api/team/clients/assign", json={"user_id": me.user_id, **body}, headers=api)
        assert response.status_code == 404, body
    assert client.get(f"/api/team/clients/shared?user_id={stranger}", headers=api).status_code == 404
    assert db.session.scalar(select(ContactShare.id)) is None
