"""One dispatcher pass decides a whole batch from what it read once: what it hands over within the
pass counts at once (the frequency cap, one first message in flight per account), and a pool's
budgets are weighed together, so only the accounts with room get a first message."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from sqlalchemy import func, select

from app.blueprints.campaigns.models import CampaignSend, Enrollment
from app.db_types import utcnow
from app.extensions import db, redis_store
from app.integrations.telegram import budgets
from tests.campaigns.kit import campaign, dispatch, launch, manager
from tests.campaigns.test_crash_trials import ROOMY
from tests.factories import make_account, make_contact

SOON = timedelta(minutes=16)  # past a step's jitter inside an always-open window


def test_a_contact_due_in_two_campaigns_in_one_pass_gets_one_first_message():
    member = manager()
    accounts = [make_account(member.organization, config=ROOMY) for _ in range(2)]
    contact = make_contact(member, telegram_username="twice_due")
    one = campaign(member, [accounts[0]], [(0, ["From the first"])])
    launch(member, one, [contact])
    two = campaign(member, [accounts[1]], [(0, ["From the second"])], name="Second")
    # As if the contact had joined both before either was live (the audience check refuses it now).
    db.session.add(Enrollment(org_id=member.org_id, campaign_id=two.id, contact_id=contact.id,
                              status="waiting", due_at=utcnow(), enrolled_at=utcnow()))
    two.status = "running"
    db.session.commit()

    assert dispatch(utcnow() + SOON) == 2

    sends = db.session.scalars(select(CampaignSend).where(CampaignSend.contact_id == contact.id)).all()
    assert len(sends) == 1
    ended = db.session.scalar(select(Enrollment).where(Enrollment.contact_id == contact.id,
                                                       Enrollment.campaign_id != sends[0].campaign_id))
    assert (ended.status, ended.reason) == ("stopped", "frequency_cap")


def test_one_pass_gives_each_account_with_room_one_first_message_and_the_rest_wait():
    member = manager()
    accounts = [make_account(member.organization, config=ROOMY) for _ in range(5)]
    now = utcnow() + SOON
    for blocked in accounts[:2]:  # their gap after the last first message has not passed yet
        budgets.spend(redis_store.client, blocked.id, {**ROOMY, "new_chat_gap_min_seconds": 3600,
                                                       "new_chat_gap_max_seconds": 3600},
                      first_contact=True, now=now.timestamp())
    contacts = [make_contact(member, telegram_username=f"pool_due{n}") for n in range(10)]
    found = campaign(member, accounts, [(0, ["Hello {{first_name}}"])])
    launch(member, found, contacts)

    assert dispatch(now) == 10

    sends = db.session.scalars(select(CampaignSend).where(CampaignSend.campaign_id == found.id)).all()
    assert Counter(s.account_id for s in sends) == Counter({a.id: 1 for a in accounts[2:]})
    waiting = db.session.scalars(select(Enrollment).where(Enrollment.campaign_id == found.id,
                                                          Enrollment.status == "waiting")).all()
    assert len(waiting) == 7
    assert all(e.due_at > now for e in waiting)
    assert all(e.account_id is None for e in waiting)  # no account taken while none had room


def test_a_step_file_going_to_several_people_in_one_pass_is_hashed_and_stored_once(monkeypatch):
    from app.blueprints.campaigns import service
    from app.blueprints.messaging import blobs
    from app.blueprints.messaging.models import MessageFile, StoredBlob
    from app.blueprints.messaging.public import Attachment

    member = manager()
    accounts = [make_account(member.organization, config=ROOMY) for _ in range(3)]  # one each in flight
    deck = service.store_file(member, Attachment("deck.pdf", "application/pdf", b"%PDF-1.4 " + b"x" * 4096))
    found = campaign(member, accounts, [(0, ["Hello {{first_name}}"])])
    service.update_campaign(member, found, {"steps": [
        {"wait_minutes": 0, "variants": [{"text": "Hello {{first_name}}"}], "file_id": deck.id}]})
    db.session.commit()
    launch(member, found, [make_contact(member, telegram_username=f"deck_due{n}") for n in range(3)])
    hashed = []
    real = blobs.digest
    monkeypatch.setattr(blobs, "digest", lambda data: hashed.append(len(data)) or real(data))

    assert dispatch(utcnow() + SOON) == 3

    assert hashed == [4105]
    files = db.session.scalars(select(MessageFile)).all()
    assert len(files) == 3 and len({f.blob_id for f in files}) == 1
    assert db.session.scalar(select(func.count()).select_from(StoredBlob)) == 1
