"""The pool's rules: budgets hold over a day; windows in each person's own time zone; the A/B split and
its winner; the frequency cap across campaigns; a do-not-contact entry made mid-campaign.

Where Telegram matters (windows, the cap, the list) the steps go through the
real runtime to sandbox people; the day of budgets and the split over hundreds of people run the
dispatcher on a frozen clock with the test answering for the telegram process (each hand-off
spends its budget at that moment and is marked sent)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from sqlalchemy import select, update

from app import event_outbox
from app.blueprints.accounts.models import BDAccount
from app.blueprints.campaigns import dispatcher, service, suppression
from app.blueprints.campaigns.models import CampaignSend, Enrollment, OutreachSettings
from app.blueprints.messaging.models import Message
from app.db_types import utcnow
from app.extensions import db, redis_store
from app.integrations.telegram import budgets, control, leases
from tests.campaigns.kit import campaign, contact_for, enrollment_of, launch, manager
from tests.campaigns.test_crash_trials import ROOMY, poll, settle_owed
from tests.conftest import sign_in_as
from tests.factories import make_account as plain_account
from tests.factories import make_contact
from tests.integrations.telegram.conftest import PHONE, world  # noqa: F401 - fixtures
from tests.integrations.telegram.runtime_kit import eventually, make_account, on_loop, runtime  # noqa: F401

OTHER = "9996631234"
SOON = timedelta(minutes=16)  # past a step's jitter inside an always-open window


class Pool:
    def __init__(self, start, world) -> None:  # noqa: F811
        self.start, self.world = start, world
        world.add_account(OTHER, first_name="Oleg", last_name="Sales", username="oleg_bd")
        self.member = manager()
        self.a = make_account(self.member.organization, world, PHONE, config=ROOMY)
        self.b = make_account(self.member.organization, world, OTHER, config=ROOMY)
        self.phone = {self.a.id: PHONE, self.b.id: OTHER}
        self.rt = None
        self.up()

    def up(self) -> None:
        """A runtime holding the pool (after a crash of the last one: its leases expired)."""
        if self.rt is not None:
            self.rt.kill()
            for account in (self.a, self.b):
                redis_store.client.delete(leases.lease_key(account.id))
        self.rt = rt = self.start(sweep_seconds=0.1, supervise_seconds=0.05)
        eventually(lambda: all((c := rt.connections.get(i)) is not None and c.online
                               for i in self.runnable()), what="the runtime holding the pool")

    def runnable(self) -> list[int]:
        db.session.rollback()
        return [a.id for a in (self.a, self.b)
                if db.session.get(BDAccount, a.id).status not in ("needs_login", "banned")]

    def people(self, count: int, start: int = 0, **fields):
        out = []
        for n in range(start, start + count):
            person = self.world.add_prospect(f"Person{n}", "Prospect", username=f"pool_person{n}",
                                             persona="silent")
            out.append((person, contact_for(self.member, person, **fields)))
        return out

    def sent_to(self, person, phone=None) -> list:
        phones = [phone] if phone else [PHONE, OTHER]
        return [m for p in phones for m in self.world.messages(p, person.profile.id) if m.out]

    def rounds(self, until, now=None, limit: int = 40, held=()) -> None:
        """Dispatch (the clock a minute on each round), let the runtime send, work the campaigns
        queue, until ``until()`` holds (``held``: accounts whose outbox waits, not to be waited on)."""
        start = now or utcnow() + SOON
        for n in range(limit):
            dispatcher.dispatch_due(start + timedelta(minutes=n))
            db.session.commit()
            poll(lambda: quiet(self.member.org_id, held), "the pool's runtime")
            settle_owed()
            db.session.rollback()
            if until():
                return
        db.session.rollback()
        state = [(e.id, e.status, e.account_id, e.step_index, e.due_at) for e in db.session.scalars(select(Enrollment))]
        messages = [(m.id, m.account_id, m.status, m.send_after, m.error) for m in db.session.scalars(
            select(Message).where(Message.out.is_(True)))]
        raise AssertionError(f"the pool did not get there: {state} {messages}")


@pytest.fixture
def pool(runtime, world):  # noqa: F811
    return Pool(runtime, world)


def quiet(org_id: int, held=()) -> bool:
    """The runtime has done what it can now (``test_crash_trials.quiet``), a limited account's
    held outbox (``held``) not counted as work to wait for."""
    db.session.rollback()
    now = utcnow()
    busy = db.session.scalar(select(Message.id).where(
        Message.org_id == org_id, Message.status.in_(["queued", "sending"]), Message.account_id.not_in(held),
        Message.send_after.is_(None) | (Message.send_after <= now)).limit(1))
    owed = db.session.scalar(select(event_outbox.EventOutbox.event_id).limit(1))
    return busy is None and owed is None


def sends_of(enrollment) -> list[CampaignSend]:
    return list(db.session.scalars(select(CampaignSend).where(CampaignSend.enrollment_id == enrollment.id)
                                   .order_by(CampaignSend.position)))


def statuses(found) -> Counter:
    db.session.rollback()
    return Counter(db.session.scalars(select(Enrollment.status).where(Enrollment.campaign_id == found.id)))


def sent_count(found) -> int:
    db.session.rollback()
    return len(db.session.scalars(select(CampaignSend.id).where(CampaignSend.campaign_id == found.id,
                                                                CampaignSend.status == "sent")).all())


def test_budgets_hold_over_a_simulated_day():
    member = manager()
    config = {"new_chats_per_day": 5, "messages_per_hour": 2, "new_chat_gap_min_seconds": 600,
              "new_chat_gap_max_seconds": 600}
    accounts = [plain_account(member.organization, config=config) for _ in range(2)]
    contacts = [make_contact(member, telegram_username=f"budget_person{n}") for n in range(30)]
    found = campaign(member, accounts, [(0, ["Hello {{first_name}}"])])
    launch(member, found, contacts)
    start = utcnow() + SOON
    handed: list[tuple[int, datetime]] = []
    for minute in range(0, 24 * 60, 5):  # a pass every five minutes of a frozen day
        now = start + timedelta(minutes=minute)
        dispatcher.dispatch_due(now)
        db.session.commit()
        for send in db.session.scalars(select(CampaignSend).where(CampaignSend.status == "queued")):
            account = db.session.get(BDAccount, send.account_id)  # the telegram process sends it now
            budgets.spend(redis_store.client, account.id, config, first_contact=True, now=now.timestamp())
            send.status = "sent"
            db.session.get(Message, send.message_id).status = "sent"
            handed.append((send.account_id, now))
        db.session.commit()
    for account in accounts:
        times = sorted(t for a, t in handed if a == account.id)
        assert len(times) == 5  # new_chats_per_day: its day's five, then nothing more that day
        assert all(b - a >= timedelta(minutes=10) for a, b in pairwise(times))
        assert all(sum(1 for t in times if s <= t < s + timedelta(hours=1)) <= 2 for s in times)
    assert statuses(found)["waiting"] == 20


def test_steps_go_at_each_persons_local_time_in_vladivostok_and_kaliningrad(pool):
    [(far_person, far), (west_person, west)] = [
        (p, c) for (p, c), phone in zip(pool.people(2), ("+74232000001", "+74012000001"), strict=True)
        for _ in [db.session.execute(update(type(c)).where(type(c).id == c.id).values(phone=phone))]]
    db.session.commit()
    window = {"days": [1, 2, 3, 4, 5, 6, 7], "start": "09:00", "end": "12:00"}
    found = campaign(pool.member, [pool.a, pool.b], [(0, ["Good morning {{first_name}}"])], window=window)
    launch(pool.member, found, [far, west])
    from zoneinfo import ZoneInfo

    # 00:30 UTC: 10:30 in Vladivostok (UTC+10), 02:30 in Kaliningrad (UTC+2)
    day = (utcnow() + timedelta(days=2)).date()
    morning_far = datetime(day.year, day.month, day.day, 0, 30, tzinfo=UTC)
    db.session.execute(update(Enrollment).where(Enrollment.campaign_id == found.id)
                       .values(due_at=morning_far - timedelta(minutes=1)))
    db.session.commit()
    dispatcher.dispatch_due(morning_far)
    db.session.commit()
    poll(lambda: quiet(pool.member.org_id), "the runtime")
    assert len(pool.sent_to(far_person)) == 1 and pool.sent_to(west_person) == []
    moved = enrollment_of(found, west).due_at.astimezone(ZoneInfo("Europe/Kaliningrad"))
    assert moved.date() == day and 9 <= moved.hour < 12  # into Kaliningrad's own morning
    dispatcher.dispatch_due(enrollment_of(found, west).due_at)
    db.session.commit()
    poll(lambda: quiet(pool.member.org_id), "the runtime")
    assert len(pool.sent_to(west_person)) == 1


def test_the_split_follows_the_weights_and_after_a_winner_everyone_gets_it():
    member = manager()
    accounts = [plain_account(member.organization, config=ROOMY) for _ in range(8)]
    contacts = [make_contact(member, telegram_username=f"split_person{n}") for n in range(400)]
    found = service.create_campaign(member, {
        "name": "Split", "account_ids": [a.id for a in accounts],
        "window": {"days": [1, 2, 3, 4, 5, 6, 7], "start": "00:00", "end": "24:00"},
        "steps": [{"wait_minutes": 0, "variants": [{"text": "A {{first_name}}", "weight": 75},
                                                   {"text": "B {{first_name}}", "weight": 25}]}]})
    db.session.commit()
    launch(member, found, contacts)
    [a, b] = found.steps[0].variants
    now = utcnow() + SOON

    def handed_until(count: int) -> list[CampaignSend]:
        nonlocal now
        while True:
            dispatcher.dispatch_due(now, limit=500)
            db.session.execute(update(CampaignSend).where(CampaignSend.status == "queued").values(status="sent"))
            db.session.commit()
            now += timedelta(minutes=1)
            sends = list(db.session.scalars(select(CampaignSend).order_by(CampaignSend.id)))
            if len(sends) >= count:
                return sends

    first = handed_until(200)
    shares = Counter(s.variant_id for s in first)
    assert 150 - 25 <= shares[a.id] <= 150 + 25 and shares[a.id] + shares[b.id] == len(first)
    service.choose_winner(member, found, found.steps[0].id, b.id)
    db.session.commit()
    rest = handed_until(400)[len(first):]
    assert rest and {s.variant_id for s in rest} == {b.id}
    assert all(db.session.get(Message, s.message_id).text.startswith("B ") for s in rest)


def test_the_frequency_cap_counts_first_messages_of_every_campaign(pool):
    [(person, contact)] = pool.people(1)
    one = campaign(pool.member, [pool.a], [(0, ["From the first campaign"])])
    launch(pool.member, one, [contact])
    pool.rounds(lambda: statuses(one)["finished"] == 1)
    two = campaign(pool.member, [pool.b], [(0, ["From the second"])], name="Second")
    review = launch(pool.member, two, [contact])
    assert [v.reason for v in review.skipped] == ["frequency_cap"]
    assert enrollment_of(two, contact).status == "skipped"
    db.session.add(OutreachSettings(org_id=pool.member.org_id, cap_messages=2, cap_days=30))
    db.session.commit()
    three = campaign(pool.member, [pool.a], [(0, ["From the third"])], name="Third")
    launch(pool.member, three, [contact])
    pool.rounds(lambda: statuses(three)["finished"] == 1)
    assert [m.text for m in pool.sent_to(person)] == ["From the first campaign", "From the third"]


def test_a_do_not_contact_entry_made_mid_campaign_stops_the_first_step(pool):
    people = pool.people(3)
    found = campaign(pool.member, [pool.a, pool.b], [(0, ["Hello {{first_name}}"])])
    launch(pool.member, found, [c for _, c in people])
    listed_person, listed = people[2]
    suppression.suppress_contact(pool.member.org_id, listed, reason="manual")
    db.session.commit()
    pool.rounds(lambda: statuses(found)["finished"] == 2)
    enrollment = enrollment_of(found, listed)
    assert (enrollment.status, enrollment.reason) == ("stopped", "suppressed")
    assert pool.sent_to(listed_person) == [] and sends_of(enrollment) == []


def first_steps_from_both_accounts(pool):
    """A two-step campaign over both accounts whose first steps went to four people: the campaign
    and who is on which account."""
    people = pool.people(4)
    found = campaign(pool.member, [pool.a, pool.b],
                     [(0, ["Hello {{first_name}}"]), (60, ["Following up, {{first_name}}"])])
    launch(pool.member, found, [c for _, c in people])
    pool.rounds(lambda: sent_count(found) == 4)
    on = {account.id: [(p, c) for p, c in people if enrollment_of(found, c).account_id == account.id]
          for account in (pool.a, pool.b)}
    assert on[pool.a.id] and on[pool.b.id]
    return found, on


def assert_both_steps_from_their_own_account(pool, on) -> None:
    for account, phone, other in ((pool.a, PHONE, OTHER), (pool.b, OTHER, PHONE)):
        for person, _contact in on[account.id]:
            name = person.profile.first_name
            assert [m.text for m in pool.sent_to(person, phone)] == [f"Hello {name}", f"Following up, {name}"]
            assert pool.sent_to(person, other) == []


def test_peer_flood_mid_campaign_holds_the_accounts_people_on_it_and_new_people_go_from_the_rest(pool, client):
    found, on = first_steps_from_both_accounts(pool)

    pool.world.peer_flood(PHONE)  # account a writes on: Telegram limits it at its next message
    later = utcnow() + timedelta(hours=2)  # the second steps are due
    pool.rounds(lambda: sent_count(found) == 4 + len(on[pool.b.id])
                and db.session.get(BDAccount, pool.a.id).status == "limited", now=later, held=[pool.a.id])

    limited = db.session.get(BDAccount, pool.a.id)
    assert "PeerFlood" in limited.status_detail
    for person, contact in on[pool.a.id]:  # held on their account, never moved to the other one
        assert [m.text for m in pool.sent_to(person)] == [f"Hello {person.profile.first_name}"]
        enrollment = enrollment_of(found, contact)
        assert enrollment.status in ("waiting", "sending") and enrollment.account_id == pool.a.id
    sign_in_as(client, pool.member)
    page = client.get(f"/campaigns/{found.id}").get_data(as_text=True)
    waiting = len(on[pool.a.id])
    assert f'id="pool-account-{pool.a.id}"' in page and "Limited" in page
    assert (f"{waiting} people wait for this account" if waiting > 1 else "1 person waits for this account") in page

    [(newcomer, new_contact)] = pool.people(1, start=10)  # joins while a is limited: written from b
    service.add_contacts(pool.member, db.session.get(type(found), found.id), contact_ids=[new_contact.id])
    db.session.commit()
    pool.rounds(lambda: sent_count(found) == 5 + len(on[pool.b.id]), now=later, held=[pool.a.id])
    assert [m.text for m in pool.sent_to(newcomer, OTHER)] == [f"Hello {newcomer.profile.first_name}"]
    assert pool.sent_to(newcomer, PHONE) == []

    pool.world.peer_flood(PHONE, on=False)
    connection = pool.rt.connections[pool.a.id]

    async def the_day_passes():  # the limit's end, as its wake-up finds it
        connection.paused_until = utcnow() - timedelta(seconds=1)
        await connection.wake()
    on_loop(pool.rt, the_day_passes)
    pool.rounds(lambda: statuses(found)["finished"] == 5, now=later + timedelta(days=1, hours=1))

    assert db.session.get(BDAccount, pool.a.id).status == "online"
    assert_both_steps_from_their_own_account(pool, on)


def test_an_account_signed_out_mid_campaign_holds_its_people_until_it_signs_in_again(pool, client):
    found, on = first_steps_from_both_accounts(pool)

    pool.world.end_sessions(PHONE)  # its owner ended the session from their phone
    later = utcnow() + timedelta(hours=2)
    pool.rounds(lambda: sent_count(found) == 4 + len(on[pool.b.id])
                and db.session.get(BDAccount, pool.a.id).status == "needs_login", now=later, held=[pool.a.id])

    for person, contact in on[pool.a.id]:
        assert len(pool.sent_to(person)) == 1
        assert enrollment_of(found, contact).account_id == pool.a.id
    sign_in_as(client, pool.member)
    page = client.get(f"/campaigns/{found.id}").get_data(as_text=True)
    waiting = len(on[pool.a.id])
    assert (f"{waiting} people wait for this account" if waiting > 1 else "1 person waits for this account") in page

    assert control.call(redis_store.client, "login.start", account_id=pool.a.id, timeout=10) == {"next": "code"}
    assert control.call(redis_store.client, "login.code", account_id=pool.a.id, code="22222",
                        timeout=10) == {"next": "done"}
    eventually(lambda: db.session.get(BDAccount, pool.a.id).status == "online"
               or db.session.rollback(), what="signed in again")
    pool.rounds(lambda: statuses(found)["finished"] == 4, now=later + timedelta(minutes=10))

    assert_both_steps_from_their_own_account(pool, on)
