"""Settings → Outreach over HTTP: managers change the organization's rules, the rest read them,
bad input re-renders with field errors and changes nothing."""

from __future__ import annotations

import pytest

from app.blueprints.campaigns import audience
from app.blueprints.campaigns.models import OutreachSettings
from app.blueprints.team.permissions import Role
from app.extensions import db
from tests.conftest import csrf_token, sign_in_as
from tests.factories import add_member, make_member

PAGE = "/settings/outreach"


@pytest.fixture
def manager_client(app):
    member = make_member(Role.MANAGER)
    client = app.test_client()
    sign_in_as(client, member)
    return client, member


def form(token, **fields):
    base = {"csrf_token": token, "opt_out_phrases": "stop\nне пишите", "cap_messages": "2", "cap_days": "14",
            "days": ["1", "2", "3"], "start": "09:00", "end": "18:30"}
    return {**base, **fields}


def test_a_manager_sees_the_defaults_then_saves_new_rules(manager_client):
    client, member = manager_client
    html = client.get(PAGE).get_data(as_text=True)
    assert "unsubscribe" in html and 'value="30"' in html  # the default phrases and a 30-day cap

    response = client.post(PAGE, data=form(csrf_token(client, PAGE), opt_out_phrases="stop\nне пишите\nstop"))
    assert response.status_code == 302
    saved = db.session.get(OutreachSettings, member.org_id)
    assert (saved.opt_out_phrases, saved.cap_messages, saved.cap_days) == (["stop", "не пишите"], 2, 14)
    assert saved.default_window == {"days": [1, 2, 3], "start": "09:00", "end": "18:30"}


@pytest.mark.parametrize(("fields", "field_text"), [
    ({"opt_out_phrases": "  "}, "Keep at least one opt-out phrase."),
    ({"cap_messages": "0"}, "A whole number from 1 to 100."),
    ({"cap_days": "a week"}, "A whole number from 1 to 365."),
    ({"end": "08:00"}, "The window must end after it starts."),
    ({"days": []}, "Choose at least one day."),
])
def test_bad_rules_re_render_with_the_reason_and_change_nothing(manager_client, fields, field_text):
    client, member = manager_client
    response = client.post(PAGE, data=form(csrf_token(client, PAGE), **fields))
    assert response.status_code == 422
    assert field_text in response.get_data(as_text=True)
    db.session.rollback()
    assert db.session.get(OutreachSettings, member.org_id) is None
    assert audience.settings_for(member.org_id).cap_messages == 1


def test_an_agent_reads_the_rules_but_cannot_change_them(app, manager_client):
    _, member = manager_client
    agent = add_member(member.organization, role=Role.AGENT)
    client = app.test_client()
    sign_in_as(client, agent)
    html = client.get(PAGE).get_data(as_text=True)
    assert "Only managers and above can change these." in html and "<textarea" not in html
    token = csrf_token(client, PAGE)
    response = client.post(PAGE, data=form(token))
    assert response.status_code == 403
    assert db.session.get(OutreachSettings, member.org_id) is None


def test_new_campaigns_start_with_the_default_window(manager_client):
    from app.blueprints.campaigns import service

    client, member = manager_client
    client.post(PAGE, data=form(csrf_token(client, PAGE)))
    campaign = service.create_campaign(member, {"name": "Uses the default"})
    assert campaign.window == {"days": [1, 2, 3], "start": "09:00", "end": "18:30"}
