"""The dispatcher's loop and its minute of housekeeping: scheduled launches start, due steps are
handed over within a pass, winners by the test, saved audiences growing."""

from __future__ import annotations

import threading
from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from app.blueprints.campaigns import housekeeping, runner, service
from app.blueprints.campaigns.models import CampaignSend, CampaignStep, Enrollment
from app.blueprints.messaging.models import Message
from app.db_types import utcnow
from app.extensions import db
from tests.campaigns.kit import ALWAYS, manager
from tests.factories import make_account, make_contact

NO_GAP = {"new_chat_gap_min_seconds": 0, "new_chat_gap_max_seconds": 0}


def draft(member, accounts, texts=("Hello {{first_name}}",), **fields):
    found = service.create_campaign(member, {
        "name": "Spring", "account_ids": [a.id for a in accounts], "window": ALWAYS,
        "steps": [{"wait_minutes": 0, "variants": [{"text": t} for t in texts]}], **fields})
    db.session.commit()
    return found


def due_now(found):
    """Bring every waiting enrollment's step to now (past the launch's jitter)."""
    db.session.execute(Enrollment.__table__.update().where(Enrollment.campaign_id == found.id,
                                                          Enrollment.status == "waiting")
                       .values(due_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()


def test_a_pass_in_its_own_unit_hands_due_steps_to_the_outbox():
    member = manager()
    account = make_account(member.organization, config=NO_GAP)
    contact = make_contact(member, telegram_username="nina_k")
    found = draft(member, [account])
    service.add_contacts(member, found, contact_ids=[contact.id])
    service.launch(member, found)
    db.session.commit()
    due_now(found)

    assert runner.run_once(current_app) == 1
    db.session.rollback()
    [message] = db.session.scalars(select(Message).where(Message.account_id == account.id)).all()
    assert (message.status, message.chat_id, message.text) == ("queued", None, "Hello Ann")
    assert message.recipient == {"contact_id": contact.id, "username": "nina_k", "phone": None}
    send = db.session.scalar(select(CampaignSend))
    assert (send.message_id, send.status, send.position) == (message.id, "queued", 0)


def test_a_campaign_launched_for_later_waits_then_starts_by_itself():
    member = manager()
    account = make_account(member.organization, config=NO_GAP)
    contact = make_contact(member, telegram_username="later_one")
    found = draft(member, [account])
    service.add_contacts(member, found, contact_ids=[contact.id])
    service.launch(member, found, starts_at=utcnow() + timedelta(hours=2))
    db.session.commit()
    assert found.status == "scheduled"
    assert runner.run_once(current_app) == 0
    enrollment = db.session.scalar(select(Enrollment))
    assert enrollment.due_at >= utcnow() + timedelta(hours=2) - timedelta(seconds=5)

    db.session.execute(Enrollment.__table__.update().values(due_at=utcnow() - timedelta(seconds=1)))
    db.session.execute(found.__table__.update().values(starts_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert runner.run_once(current_app) == 1
    db.session.rollback()
    assert db.session.get(type(found), found.id).status == "running"


def test_the_loop_runs_until_told_to_stop():
    member = manager()
    account = make_account(member.organization, config=NO_GAP)
    contact = make_contact(member, telegram_username="looped")
    found = draft(member, [account])
    service.add_contacts(member, found, contact_ids=[contact.id])
    service.launch(member, found)
    db.session.commit()
    due_now(found)
    stop = threading.Event()
    app = current_app._get_current_object()
    thread = threading.Thread(target=runner.run, args=(app, stop), kwargs={"idle": 0.05})
    thread.start()
    try:
        for _ in range(200):
            db.session.rollback()
            if db.session.scalar(select(CampaignSend.id)):
                break
            stop.wait(0.05)
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()
    assert db.session.scalar(select(CampaignSend.status)) == "queued"


def test_housekeeping_names_the_winner_the_test_finds_and_the_rest_get_it():
    member = manager()
    account = make_account(member.organization)
    found = draft(member, [account], texts=("Variant A", "Variant B"), auto_winner=True, min_sample=10)
    step = found.steps[0]
    a, b = step.variants
    contacts = [make_contact(member, telegram_username=f"abtest{n}") for n in range(60)]
    service.add_contacts(member, found, contact_ids=[c.id for c in contacts])
    service.launch(member, found)
    db.session.commit()
    enrollments = db.session.scalars(select(Enrollment).order_by(Enrollment.id)).all()
    now = utcnow()
    for n, enrollment in enumerate(enrollments[:40]):  # 20 sends each: A answered 12 times, B once
        variant = a if n % 2 == 0 else b
        replied = (variant is a and n < 24) or (variant is b and n == 1)
        db.session.add(CampaignSend(org_id=found.org_id, campaign_id=found.id, enrollment_id=enrollment.id,
                                    step_id=step.id, position=0, variant_id=variant.id,
                                    contact_id=enrollment.contact_id, account_id=account.id, status="sent",
                                    sent_at=now, replied_at=now if replied else None))
    db.session.commit()

    housekeeping.keep_house(utcnow())
    db.session.commit()
    chosen = db.session.get(CampaignStep, step.id)
    assert (chosen.winner_variant_id, chosen.winner_chosen_by) == (a.id, "test")


def test_a_saved_audience_enrolls_new_matches_once():
    member = manager()
    account = make_account(member.organization)
    first = make_contact(member, telegram_username="tagged1", tags=["founders"])
    found = draft(member, [account])
    service.add_contacts(member, found, filters={"tag": "founders"}, save_filter=True)
    service.launch(member, found)
    db.session.commit()
    second = make_contact(member, telegram_username="tagged2", tags=["founders"])
    make_contact(member, telegram_username="other_tag", tags=["investors"])

    housekeeping.keep_house(utcnow())
    housekeeping.keep_house(utcnow())
    db.session.commit()
    rows = db.session.execute(select(Enrollment.contact_id, Enrollment.status)
                              .where(Enrollment.campaign_id == found.id)).all()
    assert sorted(rows) == sorted([(first.id, "waiting"), (second.id, "waiting")])
