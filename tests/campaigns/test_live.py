"""Live campaign pages: one doorbell per transaction and campaign; the pushed summary shows the
figures as they are now, for the viewer's role and language."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from app.blueprints.campaigns.events import EnrollmentStopped, StepSent
from app.blueprints.campaigns.live import KIND, campaign_changed
from app.blueprints.campaigns.models import CampaignSend
from app.blueprints.messaging import store
from app.db_types import utcnow
from app.events import emit
from app.extensions import db, redis_store
from app.realtime import Connection, read_event
from tests.campaigns.kit import campaign, dispatch, launch, manager, settle
from tests.factories import make_account, make_chat, make_contact

SOON = timedelta(minutes=16)


@pytest.fixture
def running():
    member = manager()
    account = make_account(member.organization)
    people = []
    for name in ("Anna", "Boris"):
        contact = make_contact(member, first_name=name, telegram_username=name.lower())
        make_chat(account, title=name, contact_id=contact.id, username=name.lower())
        people.append(contact)
    found = campaign(member, [account], [(0, ["Hi {{first_name}}", "Hello {{first_name}}"]), (60, ["Again"])])
    launch(member, found, people)
    dispatch(utcnow() + SOON)
    return member, found


@pytest.fixture
def rung(running):
    member, _ = running
    pubsub = redis_store.client.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(f"rt:org:{member.org_id}")
    pubsub.get_message(timeout=1)

    def doorbells() -> list[dict]:
        found = []
        while (message := pubsub.get_message(timeout=0.2)) is not None:
            event = read_event(message["data"])[1]
            if event["kind"] == KIND:
                found.append(event["data"])
        return found

    yield doorbells
    pubsub.close()


def viewer(member, role=None) -> Connection:
    return Connection(ws=None, user_id=member.user_id, org_id=member.org_id, role=role or member.role,
                      socket_id="test")


def step_sent(found, n: int) -> StepSent:
    return StepSent(org_id=found.org_id, actor_id=None, campaign_id=found.id, enrollment_id=n, contact_id=n,
                    step_id=1, position=0, variant_id=None, account_id=1, message_id=n)


def test_a_step_that_went_rings_the_campaign_once_after_the_commit(running, rung):
    _member, found = running
    rung()
    send = db.session.scalar(select(CampaignSend).where(CampaignSend.campaign_id == found.id))
    store.start_sending(send.message_id)
    store.record_sent(send.message_id, 901, utcnow())
    db.session.commit()
    assert rung() == []  # the step counts as sent once the campaigns queue heard the outbox
    settle()
    assert rung() == [{"campaign_id": found.id}]


def test_many_events_of_one_transaction_ring_once_per_campaign(running, rung):
    member, found = running
    other = campaign(member, [], [(0, ["Hello"])])
    rung()
    for n in range(5):
        emit(step_sent(found, n))
    emit(EnrollmentStopped(org_id=found.org_id, actor_id=None, campaign_id=found.id, enrollment_id=9,
                           contact_id=9, reason="teammate"))
    emit(step_sent(other, 7))
    db.session.commit()
    assert rung() == [{"campaign_id": found.id}, {"campaign_id": other.id}]


def test_a_rolled_back_change_rings_nothing(running, rung):
    _, found = running
    rung()
    emit(step_sent(found, 1))
    db.session.rollback()
    db.session.commit()
    assert rung() == []


def test_the_pushed_summary_shows_the_new_count(app, running):
    member, found = running
    send = db.session.scalar(select(CampaignSend).where(CampaignSend.campaign_id == found.id))
    with app.test_request_context("/"):
        before = campaign_changed({"campaign_id": found.id, "org_id": found.org_id}, viewer(member))
    assert 'id="count-sent"><dt>Messages sent</dt><dd>0</dd>' in before
    store.start_sending(send.message_id)
    store.record_sent(send.message_id, 902, utcnow())
    db.session.commit()
    settle()
    with app.test_request_context("/"):
        html = campaign_changed({"campaign_id": found.id, "org_id": found.org_id}, viewer(member))
    assert html.startswith('<div hx-swap-oob="true" id="campaign-summary"')
    assert 'id="count-sent"><dt>Messages sent</dt><dd>1</dd>' in html
    assert "Choose as winner" in html
    assert html.endswith(f'<div id="campaign-live-{found.id}" hx-swap-oob="innerHTML"></div>')  # the table re-fetches


def test_an_agent_gets_the_summary_without_controls_and_in_their_language(app, running):
    member, found = running
    with app.test_request_context("/"), force_locale("ru"):
        html = campaign_changed({"campaign_id": found.id, "org_id": found.org_id}, viewer(member, "agent"))
    assert "Choose as winner" not in html and "Pause" not in html
    assert 'id="count-enrolled"' in html


def test_another_organizations_viewer_gets_nothing(app, running):
    _, found = running
    with app.test_request_context("/"):
        assert campaign_changed({"campaign_id": found.id, "org_id": found.org_id + 1}, viewer(manager())) is None
