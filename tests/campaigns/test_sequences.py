"""Sequences through the real Telethon client against the sandbox: each step once, stop on reply
on any account, a reply racing a step, stickiness, people found by username, opt-outs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.blueprints.campaigns.models import CampaignSend, OutreachSettings, Suppression
from app.blueprints.messaging.models import Message
from app.db_types import utcnow
from app.extensions import db
from tests.campaigns.kit import campaign, contact_for, dispatch, enrollment_of, launch, manager, settle
from tests.integrations.telegram.conftest import PHONE, ann, world  # noqa: F401 - fixtures
from tests.integrations.telegram.runtime_kit import eventually, make_account, online, runtime  # noqa: F401

OTHER = "9996631234"
NO_GAP = {"new_chat_gap_min_seconds": 0, "new_chat_gap_max_seconds": 0}
SOON = timedelta(minutes=16)  # past a step's jitter inside its window


@pytest.fixture
def team(runtime, world):  # noqa: F811
    """A manager's organization with two sandbox accounts, online in a running runtime."""
    world.add_account(OTHER, first_name="Oleg", last_name="Sales", username="oleg_bd")
    member = manager()
    first = make_account(member.organization, world, PHONE, config=NO_GAP)
    second = make_account(member.organization, world, OTHER, config=NO_GAP)
    runtime()
    eventually(lambda: online(first.id) and online(second.id), what="both accounts online")
    return member, first, second


def people(world, count):  # noqa: F811
    return [world.add_person(f"Person{n}", "Prospect", username=f"prospect{n}", auto_reply=False)
            for n in range(count)]


def allow_two_first_messages(member):
    """The frequency cap (one first message a month by default) raised for a second campaign."""
    db.session.add(OutreachSettings(org_id=member.org_id, cap_messages=2, cap_days=30))
    db.session.commit()


def sent_to(world, phone, person):  # noqa: F811
    return [m for m in world.messages(phone, person.profile.id) if m.out]


def all_sent(found, count):
    db.session.rollback()
    rows = db.session.scalars(select(CampaignSend).where(CampaignSend.campaign_id == found.id)).all()
    return len([r for r in rows if r.status == "sent"]) >= count


def run_until(found, count, *, now=None):
    """Dispatch and settle until ``count`` steps went, the clock moving on a minute each round
    (an account busy with a first message frees soon; the step waiting for it is due again)."""
    rounds = iter(range(10_000))

    def step():
        dispatch((now or utcnow() + SOON) + timedelta(minutes=next(rounds)))
        settle()
        return all_sent(found, count)
    return eventually(step, timeout=20, what=f"{count} steps sent")


def test_a_two_step_campaign_writes_step_one_once_each_and_step_two_only_to_who_did_not_reply(team, world):  # noqa: F811
    member, first, second = team
    a, b, c = people(world, 3)
    contacts = [contact_for(member, p) for p in (a, b, c)]
    found = campaign(member, [first, second], [(0, ["Hi {{first_name}}, a quick question"]),
                                               (60, ["Following up, {{first_name|there}}"])])
    review = launch(member, found, contacts)
    assert len(review.writable) == 3

    run_until(found, 3)
    firsts = {p.profile.id: sent_to(world, PHONE, p) + sent_to(world, OTHER, p) for p in (a, b, c)}
    assert all(len(m) == 1 for m in firsts.values())
    assert firsts[a.profile.id][0].text == "Hi Person0, a quick question"

    account_of_b = PHONE if sent_to(world, PHONE, b) else OTHER
    world.person_writes(b.profile.id, account_of_b, "Yes, tell me more")
    eventually(lambda: db.session.scalar(select(Message.id).where(Message.out.is_(False))), what="the reply stored")
    settle()
    assert enrollment_of(found, contacts[1]).status == "replied"

    later = utcnow() + timedelta(minutes=61) + SOON
    run_until(found, 5, now=later)
    for _ in range(3):  # nothing more is due: further passes send nothing
        dispatch(later)
        settle()
    assert len(sent_to(world, PHONE, a) + sent_to(world, OTHER, a)) == 2
    assert len(sent_to(world, PHONE, b) + sent_to(world, OTHER, b)) == 1
    assert len(sent_to(world, PHONE, c) + sent_to(world, OTHER, c)) == 2
    assert {enrollment_of(found, x).status for x in (contacts[0], contacts[2])} == {"finished"}
    db.session.rollback()
    assert found.status == "finished"


def test_a_reply_on_another_account_of_the_organization_stops_the_sequence(team, world):  # noqa: F811
    member, first, second = team
    [person] = people(world, 1)
    contact = contact_for(member, person)
    found = campaign(member, [first], [(0, ["Hello"]), (1, ["Second"])])
    launch(member, found, [contact])
    run_until(found, 1)
    # they write to the organization's other account, not the one the campaign writes from
    world.person_writes(person.profile.id, OTHER, "Saw your message from a colleague")
    eventually(lambda: db.session.scalar(select(Message.id).where(Message.out.is_(False),
                                                                  Message.account_id == second.id)),
               what="the reply stored")
    settle()
    assert enrollment_of(found, contact).status == "replied"
    dispatch(utcnow() + timedelta(hours=1))
    assert len(sent_to(world, PHONE, person)) == 1


def test_a_reply_committed_before_the_step_goes_wins(team, world, monkeypatch):  # noqa: F811
    member, first, _ = team
    [person] = people(world, 1)
    contact = contact_for(member, person)
    found = campaign(member, [first], [(0, ["Hello"]), (1, ["Second step"])])
    launch(member, found, [contact])
    run_until(found, 1)
    later = utcnow() + timedelta(minutes=2) + SOON
    # the second step is written to the outbox, but its nudge is held back
    from app.integrations.telegram import dispatch as nudges

    monkeypatch.setattr(nudges, "send_soon", lambda *a, **k: True)
    dispatch(later)
    send = db.session.scalar(select(CampaignSend).where(CampaignSend.position == 1))
    assert send is not None and send.status == "queued"
    world.person_writes(person.profile.id, PHONE, "Please hold on")  # the reply is stored first
    eventually(lambda: db.session.scalar(select(Message.id).where(Message.out.is_(False))), what="the reply")
    monkeypatch.undo()
    settle()
    db.session.rollback()
    message = db.session.get(Message, send.message_id)
    eventually(lambda: db.session.get(Message, send.message_id).status == "cancelled", what="the step withdrawn")
    assert len(sent_to(world, PHONE, person)) == 1
    assert enrollment_of(found, contact).status == "replied"
    assert message is not None


def test_a_contact_already_talking_with_an_account_is_written_from_it(team, world):  # noqa: F811
    member, first, second = team
    [person] = people(world, 1)
    contact = contact_for(member, person)
    one = campaign(member, [second], [(0, ["From the second account"])])
    launch(member, one, [contact])
    run_until(one, 1)
    settle()
    allow_two_first_messages(member)
    two = campaign(member, [first, second], [(0, ["A later campaign"])], name="Later")
    launch(member, two, [contact])
    run_until(two, 1)
    assert [m.text for m in sent_to(world, OTHER, person)] == ["From the second account", "A later campaign"]
    assert sent_to(world, PHONE, person) == []


def test_a_contact_talking_with_an_account_outside_the_pool_is_skipped_with_the_reason(team, world):  # noqa: F811
    member, first, second = team
    [person] = people(world, 1)
    contact = contact_for(member, person)
    one = campaign(member, [second], [(0, ["Hello from two"])])
    launch(member, one, [contact])
    run_until(one, 1)
    settle()
    allow_two_first_messages(member)
    two = campaign(member, [first], [(0, ["Hello from one"])], name="Only the first account")
    review = launch(member, two, [contact])
    assert [(v.reason, v.detail) for v in review.skipped] == [("talks_elsewhere", str(second.id))]
    assert enrollment_of(two, contact).status == "skipped"


def test_someone_nobody_on_telegram_has_fails_with_the_reason(team, world):  # noqa: F811
    member, first, _ = team
    contact = contact_for_missing = None
    from tests.factories import make_contact

    contact = make_contact(member, first_name="Ghost", telegram_username="nobody_has_this")
    found = campaign(member, [first], [(0, ["Hello"])])
    launch(member, found, [contact])

    def failed():
        dispatch(utcnow() + SOON)
        settle()
        return enrollment_of(found, contact).status == "failed"
    eventually(failed, timeout=15, what="the enrollment failed")
    enrollment = enrollment_of(found, contact)
    assert enrollment.reason == "send_failed" and "Nobody on Telegram" in (enrollment.detail or "")
    assert contact_for_missing is None


@pytest.mark.parametrize("text", ["Пожалуйста, не пишите мне больше", "STOP", "please unsubscribe me"])
def test_an_opt_out_stops_the_sequence_and_lists_them(team, world, text):  # noqa: F811
    member, first, _ = team
    [person] = people(world, 1)
    contact = contact_for(member, person)
    found = campaign(member, [first], [(0, ["Hello"]), (1, ["Again"])])
    launch(member, found, [contact])
    run_until(found, 1)
    world.person_writes(person.profile.id, PHONE, text)
    eventually(lambda: db.session.scalar(select(Message.id).where(Message.out.is_(False))), what="the reply")
    settle()
    enrollment = enrollment_of(found, contact)
    assert (enrollment.status, enrollment.reason) == ("stopped", "opt_out")
    kinds = set(db.session.scalars(select(Suppression.kind).where(Suppression.org_id == member.org_id)))
    assert {"contact", "username"} <= kinds
    again = campaign(member, [first], [(0, ["A new campaign"])], name="Again")
    review = launch(member, again, [contact])
    assert [v.reason for v in review.skipped] == ["suppressed"]


def test_steps_with_files_reach_the_person_as_a_document_and_a_photo_with_their_captions(team, world):  # noqa: F811
    from app.blueprints.campaigns import service
    from app.blueprints.messaging.public import Attachment

    member, first, _ = team
    [person] = people(world, 1)
    contact = contact_for(member, person)
    deck = service.store_file(member, Attachment("deck.pdf", "application/pdf", b"%PDF-1.4 our deck"))
    office = service.store_file(member, Attachment("office.png", "image/png", b"\x89PNG our office"))
    found = campaign(member, [first], [(0, ["x"])])
    service.update_campaign(member, found, {"steps": [
        {"wait_minutes": 0, "variants": [{"text": "Hi {{first_name}}, the deck"}], "file_id": deck.id},
        {"wait_minutes": 60, "variants": [{"text": "Our office, {{first_name}}"}], "file_id": office.id}]})
    db.session.commit()
    launch(member, found, [contact])

    run_until(found, 1)
    [document] = sent_to(world, PHONE, person)
    assert (document.text, document.media.kind, document.media.file_name, document.media.data) == (
        "Hi Person0, the deck", "document", "deck.pdf", b"%PDF-1.4 our deck")

    run_until(found, 2, now=utcnow() + timedelta(minutes=61) + SOON)
    photo = sent_to(world, PHONE, person)[-1]
    assert (photo.text, photo.media.kind, photo.media.data) == (
        "Our office, Person0", "photo", b"\x89PNG our office")
    rows = db.session.scalars(select(Message).where(Message.out.is_(True)).order_by(Message.id)).all()
    assert [(m.status, m.media["kind"], m.media["file_name"]) for m in rows] == [
        ("sent", "document", "deck.pdf"), ("sent", "photo", "office.png")]
