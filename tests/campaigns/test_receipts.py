"""A step is read when Telegram's read receipt covers its message; the figures count it."""

from __future__ import annotations

from app.blueprints.campaigns import service, stats
from app.blueprints.campaigns.models import CampaignSend, Enrollment
from app.blueprints.messaging import store
from app.db_types import utcnow
from app.extensions import db
from tests.campaigns.kit import ALWAYS, manager, settle
from tests.factories import make_account, make_chat, make_contact, make_message


def test_a_read_receipt_marks_the_steps_it_covers_and_no_later_one():
    member = manager()
    account = make_account(member.organization)
    contact = make_contact(member, telegram_username="reader1")
    chat = make_chat(account, contact_id=contact.id)
    found = service.create_campaign(member, {"name": "Receipts", "account_ids": [account.id], "window": ALWAYS,
                                             "steps": [{"variants": [{"text": "One"}]},
                                                       {"wait_minutes": 5, "variants": [{"text": "Two"}]}]})
    db.session.flush()
    enrollment = Enrollment(org_id=member.org_id, campaign_id=found.id, contact_id=contact.id, status="waiting")
    db.session.add(enrollment)
    db.session.flush()
    sends = []
    for step, telegram_id in zip(found.steps, (101, 102), strict=True):
        message = make_message(chat, step.variants[0].text, out=True, telegram_id=telegram_id)
        send = CampaignSend(org_id=member.org_id, campaign_id=found.id, enrollment_id=enrollment.id,
                            step_id=step.id, position=step.position, variant_id=step.variants[0].id,
                            contact_id=contact.id, account_id=account.id, message_id=message.id, status="sent",
                            sent_at=utcnow())
        db.session.add(send)
        sends.append(send)
    db.session.commit()

    store.read(account.id, chat.peer_id, inbox=False, max_id=101)
    db.session.commit()
    settle()

    db.session.expire_all()
    first, second = (db.session.get(CampaignSend, s.id) for s in sends)
    assert first.read_at is not None and second.read_at is None
    figures = stats.figures(found)
    assert [v.read for step in figures.steps for v in step.variants] == [1, 0]
