"""The campaign page: figures, accounts and audience for managers and agents; pause, resume,
archive, a winner chosen and a sequence stopped change the rows."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.blueprints.campaigns.models import (
    Campaign,
    CampaignSend,
    CampaignStep,
    Enrollment,
    EnrollmentStatus,
    SendStatus,
)
from app.blueprints.messaging import store
from app.blueprints.messaging.models import Message
from app.blueprints.team.models import Role
from app.db_types import utcnow
from app.extensions import db
from tests.campaigns.kit import campaign, dispatch, launch, manager, settle
from tests.conftest import counting_statements, csrf_token, sign_in_as
from tests.factories import add_member, make_account, make_chat, make_contact

SOON = timedelta(minutes=16)  # past a step's jitter inside its window
HX = {"HX-Request": "true"}


def contact_with_chat(member, account, name):
    """A contact the account already talks with (the outbox writes into that chat)."""
    contact = make_contact(member, first_name=name, last_name="Prospect", telegram_username=name.lower())
    make_chat(account, title=name, contact_id=contact.id, username=name.lower())
    return contact


@pytest.fixture
def running(client):
    """A manager's running two-step campaign with three people; the first steps are in the outbox."""
    member = manager()
    account = make_account(member.organization, config={"new_chat_gap_min_seconds": 0,
                                                        "new_chat_gap_max_seconds": 0})
    people = [contact_with_chat(member, account, name) for name in ("Anna", "Boris", "Vera")]
    found = campaign(member, [account], [(0, ["Hi {{first_name}}", "Hello {{first_name}}"]), (60, ["Following up"])])
    launch(member, found, people)
    dispatch(utcnow() + SOON)
    return member, account, found, people


def signed_in(client, member) -> dict:
    """Sign ``member`` in; the headers an HTMX request of theirs sends (its CSRF token too)."""
    sign_in_as(client, member)
    return {**HX, "X-CSRFToken": csrf_token(client, "/home")}


def sent(message_id: int, telegram_id: int) -> None:
    """What the telegram process does once Telegram took the message; then the campaigns queue."""
    store.start_sending(message_id)
    store.record_sent(message_id, telegram_id, utcnow())
    db.session.commit()
    settle()


def sends(found) -> list[CampaignSend]:
    db.session.rollback()
    return list(db.session.scalars(select(CampaignSend).where(CampaignSend.campaign_id == found.id)
                                   .order_by(CampaignSend.id)))


def test_a_manager_sees_figures_accounts_audience_and_controls(client, running):
    member, _account, found, people = running
    first = sends(found)[0]
    sent(first.message_id, 501)
    signed_in(client, member)
    html = client.get(f"/campaigns/{found.id}").get_data(as_text=True)
    assert found.name in html and "Running" in html
    assert 'id="count-enrolled"><dt>Enrolled</dt><dd>3</dd>' in html
    assert 'id="count-sent"><dt>Messages sent</dt><dd>1</dd>' in html
    assert "Choose as winner" in html and "Pause" in html
    assert "every comparison with the others has p < 0.05 / (k − 1)" in html
    assert f"/contacts/{people[0].id}" in html  # the contact page
    assert html.count('class="campaign-enrollment ') == 3
    assert "Stop</button>" in html


def test_an_agent_sees_the_page_without_controls(client, running):
    member, _account, found, _people = running
    agent = add_member(member.organization, role=Role.AGENT)
    headers = signed_in(client, agent)
    response = client.get(f"/campaigns/{found.id}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and found.name in html
    assert "Choose as winner" not in html and "Pause</button>" not in html and "Stop</button>" not in html
    assert client.post(f"/campaigns/{found.id}/status", data={"action": "pause"}, headers=headers).status_code == 403
    assert db.session.get(Campaign, found.id).status == "running"


def test_another_organizations_campaign_is_not_found(client, running):
    _member, _account, found, _people = running
    stranger = manager()
    headers = signed_in(client, stranger)
    assert client.get(f"/campaigns/{found.id}").status_code == 404
    assert client.post(f"/campaigns/{found.id}/status", data={"action": "pause"}, headers=headers).status_code == 404
    db.session.rollback()
    assert db.session.get(Campaign, found.id).status == "running"


def test_pausing_and_resuming_change_the_campaign(client, running):
    member, _account, found, _people = running
    headers = signed_in(client, member)
    response = client.post(f"/campaigns/{found.id}/status", data={"action": "pause"}, headers=headers)
    assert response.status_code == 200 and "Resume" in response.get_data(as_text=True)
    db.session.rollback()
    assert db.session.get(Campaign, found.id).status == "paused"
    client.post(f"/campaigns/{found.id}/status", data={"action": "resume"}, headers=headers)
    db.session.rollback()
    assert db.session.get(Campaign, found.id).status == "running"


def test_resuming_a_running_campaign_is_refused_with_a_toast(client, running):
    member, _account, found, _people = running
    headers = signed_in(client, member)
    response = client.post(f"/campaigns/{found.id}/status", data={"action": "resume"}, headers=headers)
    assert response.status_code == 409 and "toast" in response.headers["HX-Trigger"]
    db.session.rollback()
    assert db.session.get(Campaign, found.id).status == "running"


def test_archiving_stops_everyone_still_in_it(client, running):
    member, _account, found, _people = running
    headers = signed_in(client, member)
    client.post(f"/campaigns/{found.id}/status", data={"action": "archive"}, headers=headers)
    db.session.rollback()
    assert db.session.get(Campaign, found.id).status == "archived"
    reasons = set(db.session.scalars(select(Enrollment.reason).where(Enrollment.campaign_id == found.id)))
    assert reasons == {"campaign_archived"}


def test_stopping_a_person_ends_their_sequence_and_withdraws_the_queued_step(client, running):
    member, _account, found, people = running
    headers = signed_in(client, member)
    enrollment = db.session.scalar(select(Enrollment).where(Enrollment.contact_id == people[0].id))
    assert enrollment.status == EnrollmentStatus.SENDING
    queued = sends(found)[0]
    assert queued.enrollment_id == enrollment.id and queued.status == SendStatus.QUEUED
    response = client.post(f"/campaigns/{found.id}/enrollments/{enrollment.id}/stop", data={"page": 1},
                           headers=headers)
    assert response.status_code == 200 and 'id="campaign-audience"' in response.get_data(as_text=True)
    db.session.rollback()
    stopped = db.session.get(Enrollment, enrollment.id)
    assert (stopped.status, stopped.reason, stopped.stopped_by_id) == ("stopped", "teammate", member.user_id)
    send = db.session.get(CampaignSend, queued.id)
    assert send.status == SendStatus.CANCELLED
    assert db.session.get(Message, send.message_id).status == "cancelled"
    again = client.post(f"/campaigns/{found.id}/enrollments/{enrollment.id}/stop", headers=headers)
    assert again.status_code == 409


def test_choosing_a_winner_records_it_on_the_step(client, running):
    member, _account, found, _people = running
    headers = signed_in(client, member)
    step = db.session.scalar(select(CampaignStep).where(CampaignStep.campaign_id == found.id,
                                                        CampaignStep.position == 0))
    b = step.variants[1]
    response = client.post(f"/campaigns/{found.id}/steps/{step.id}/winner", data={"variant_id": b.id}, headers=headers)
    assert "chosen by the owner" in response.get_data(as_text=True)
    db.session.rollback()
    step = db.session.get(CampaignStep, step.id)
    assert (step.winner_variant_id, step.winner_chosen_by) == (b.id, "owner")


def test_the_audience_filters_by_status_and_a_journey_lists_the_steps(client, running):
    member, _account, found, _people = running
    first = sends(found)[0]
    sent(first.message_id, 777)
    signed_in(client, member)
    html = client.get(f"/campaigns/{found.id}/audience?status=waiting", headers=HX).get_data(as_text=True)
    assert html.count('class="campaign-enrollment ') == 3 and html.count("Step 2") == 1  # the others: step 1
    html = client.get(f"/campaigns/{found.id}/audience?status=sending", headers=HX).get_data(as_text=True)
    assert "Nobody with this status." in html
    html = client.get(f"/campaigns/{found.id}/audience?status=replied", headers=HX).get_data(as_text=True)
    assert "Nobody with this status." in html
    db.session.get(CampaignSend, first.id).read_at = utcnow()  # what their read receipt records
    db.session.commit()
    journey = client.get(f"/campaigns/{found.id}/enrollments/{first.enrollment_id}", headers=HX)
    text = journey.get_data(as_text=True)
    assert "Enrolled" in text and "Step 1 sent (variant" in text and "Step 1 read" in text
    hidden = client.get(f"/campaigns/{found.id}/enrollments/{first.enrollment_id}?hide=1", headers=HX)
    assert "Step 1 sent" not in hidden.get_data(as_text=True)
    assert client.get(f"/campaigns/{found.id}/audience?status=nonsense", headers=HX).status_code == 400


def test_a_page_of_people_loads_its_contacts_and_accounts_in_one_query_each(client, running):
    member, _account, found, _people = running
    more = [make_contact(member, first_name=f"Extra{n}", telegram_username=f"extra{n}") for n in range(20)]
    from app.blueprints.campaigns import service

    service.add_contacts(member, db.session.get(Campaign, found.id), contact_ids=[c.id for c in more])
    db.session.commit()
    signed_in(client, member)
    with counting_statements() as statements:
        html = client.get(f"/campaigns/{found.id}/audience", headers=HX).get_data(as_text=True)
    assert html.count('class="campaign-enrollment ') == 23

    def reading(table):
        return [s for s in statements if f"\nFROM {table} " in s or f"\nFROM {table}\n" in s]
    assert len(reading("contact")) == 1
    assert len(reading("bd_account")) == 1
    assert len(reading("enrollment")) == 2  # the page and its count


def test_a_large_pool_is_counted_and_lists_only_the_accounts_that_cannot_send(client):
    member = manager()
    online = [make_account(member.organization) for _ in range(12)]
    limited = make_account(member.organization, status="limited", limited_until=utcnow() + timedelta(hours=2))
    logged_out = make_account(member.organization, status="needs_login")
    found = campaign(member, [*online, limited, logged_out], [(0, ["Hi {{first_name}}"])])
    waiting = contact_with_chat(member, limited, "Anna")
    launch(member, found, [waiting])
    signed_in(client, member)
    campaign_id, limited_id, logged_out_id = found.id, limited.id, logged_out.id
    online_ids = [a.id for a in online]
    db.session.remove()  # a request's own session, as in production (nothing loaded yet)

    with counting_statements() as statements:
        html = client.get(f"/campaigns/{campaign_id}").get_data(as_text=True)

    assert 'id="campaign-pool-counts">14 accounts:' in html
    assert "Online · 12" in html and "Limited · 1" in html
    assert f'id="pool-account-{limited_id}"' in html and f'id="pool-account-{logged_out_id}"' in html
    assert not any(f'id="pool-account-{i}"' in html for i in online_ids)
    assert "1 person waits for this account" in html
    assert not [s for s in statements if s.startswith("SELECT campaign_account.")]  # counted, never loaded
    russian = client.get(f"/campaigns/{campaign_id}", headers={"Accept-Language": "ru"}).get_data(as_text=True)
    assert 'id="campaign-pool-counts">14 аккаунтов:' in russian


def test_a_step_with_a_file_names_it_on_the_campaign_page_and_it_downloads(client, running):
    from app.blueprints.campaigns import service
    from app.blueprints.messaging.public import Attachment

    member, _account, found, _people = running
    deck = service.store_file(member, Attachment("deck.pdf", "application/pdf", b"%PDF-1.4 deck"))
    db.session.get(CampaignStep, found.steps[1].id).file_id = deck.id
    db.session.commit()
    signed_in(client, member)

    html = client.get(f"/campaigns/{found.id}").get_data(as_text=True)

    assert f'id="step-file-{found.steps[1].id}"' in html and "deck.pdf" in html
    assert f'id="step-file-{found.steps[0].id}"' not in html
    link = f'href="/campaigns/files/{deck.id}" download'
    assert link in html
    download = client.get(f"/campaigns/files/{deck.id}")
    assert download.status_code == 200 and download.data == b"%PDF-1.4 deck"
    assert download.mimetype == "application/octet-stream"  # never rendered by the browser
    assert download.headers["Content-Disposition"].startswith("attachment;") and "deck.pdf" in \
        download.headers["Content-Disposition"]
