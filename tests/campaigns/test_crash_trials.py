"""Exactly once, through crashes: a campaign's steps reach each person once and none is skipped,
whatever breaks between the claim and the step's outcome being applied.

Each trial enrolls fresh sandbox people (found by username) in a new two-step campaign whose
first step has two variants, arms one fault at a random point of one random step's journey
(claim -> outbox row -> hand-off -> Telegram -> record -> ``OutboxSettled`` handler), drives the
dispatcher, the real telegram runtime and the campaigns queue until every sequence ended, doing
what the system does to recover (the next pass, another runtime taking the accounts over, RQ's
retries, the event outbox's sweep), then checks the sandbox and the rows:

- every person got exactly one message per step, in order, with the text of the variant the
  step's ``CampaignSend`` names, from the account it names;
- every enrollment finished both steps; every ``CampaignSend`` is sent, its outbox message sent
  with the Telegram id the sandbox gave, and no other copy of it is stored.

The faults are in-process: patched functions that raise (a unit of work that raises after its
writes rolls them back), a ``Crash`` (a ``BaseException``: the dispatcher process dies, nothing of
its transaction commits), or a runtime killed as a crash kills it (no status, no lease released),
whose lease is then let expire. Time that would pass (a retry's backoff, a lease's TTL) is made to
pass by moving the moment the rows wait for, never by sleeping.

``TRIALS_SEED`` fixes the random choices (the seed is printed; a failure names it and the trial,
which ``TRIALS_ONLY=<n>`` runs alone; ``TRIALS_POINTS=a,b`` tries only those faults). By default
a sample of ``SAMPLE`` trials runs; ``-m trials`` runs ``TRIALS`` (CI: once, on PostgreSQL).
"""

from __future__ import annotations

import asyncio
import os
import random
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from rq import SimpleWorker
from sqlalchemy import select
from telethon import functions

from app import event_outbox
from app.blueprints.campaigns import dispatcher, outcomes
from app.blueprints.campaigns.models import Campaign, CampaignSend, Enrollment
from app.blueprints.messaging import store
from app.blueprints.messaging.models import Chat, Message
from app.db_types import utcnow
from app.events import deliver_queued
from app.extensions import db, redis_store
from app.integrations.telegram import dispatch as nudges
from app.integrations.telegram import leases
from app.integrations.telegram.runtime.clients import RuntimeClient
from app.jobs import Queues, queue
from tests.campaigns.kit import campaign, contact_for, launch, manager
from tests.integrations.telegram.conftest import PHONE, world  # noqa: F401 - fixtures
from tests.integrations.telegram.runtime_kit import eventually, make_account, runtime  # noqa: F401
from tests.queues import run_due_retries

OTHER = "9996631234"
ROOMY = {"new_chat_gap_min_seconds": 0, "new_chat_gap_max_seconds": 0, "new_chats_per_day": 500,
         "messages_per_hour": 5000}
TRIALS = 1000
SAMPLE = 50
ROUNDS = 60
STEP_ONE = ("Hello {{first_name}}, variant A", "Hi {{first_name}}, variant B")
STEP_TWO = "Following up, {{first_name}}"
SETTLED_HANDLER = f"{outcomes.on_outbox_settled.__module__}.{outcomes.on_outbox_settled.__qualname__}"

POINTS = (
    "none",
    "decision_fails",  # the decision raises: its savepoint rolls back, the enrollment is due later
    "pass_dies_before_outbox_row",  # the dispatcher process dies mid-decision
    "pass_dies_after_outbox_row",  # ... after the outbox row was written, before the commit
    "pass_dies_before_commit",  # ... after the whole pass, before its commit
    "nudge_lost",  # committed, but the nudge to the telegram process never left
    "request_lost",  # the send never reached Telegram (network), retried after its backoff
    "answer_lost",  # Telegram stored the message, its answer never came back
    "answer_lost_then_reply",  # ... and the person, who got it, answers before the retry
    "killed_after_lookup",  # the runtime dies after finding the person, before joining the chat
    "killed_before_send",  # the runtime dies with the row in sending, before Telegram saw it
    "killed_after_send",  # ... after Telegram stored it, before the answer was recorded
    "record_rolls_back",  # recording the answer raised after its writes: the unit rolled back
    "settled_not_enqueued",  # OutboxSettled committed, its job never enqueued (Redis refused)
    "handler_rolls_back",  # the OutboxSettled handler raised after its writes: the job is retried
    "handler_runs_twice",  # the OutboxSettled job delivered again after it was handled
)


class Crash(BaseException):
    """The process dies here: nothing after this point of its transaction happens."""


@dataclass
class Fault:
    point: str
    at: int  # fires the at-th time its point is reached
    seen: int = 0
    fired: threading.Event = field(default_factory=threading.Event)
    recovered: bool = False
    captured: list = field(default_factory=list)
    state: dict = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def hit(self) -> bool:
        with self.lock:
            self.seen += 1
            if self.seen == self.at:
                self.fired.set()
                return True
            return False


class Rig:
    """One organization, two pool accounts held by a runtime that trials reuse until one kills it."""

    def __init__(self, start, world) -> None:  # noqa: F811
        self.start, self.world = start, world
        world.add_account(OTHER, first_name="Oleg", last_name="Sales", username="oleg_bd")
        self.member = manager()
        self.accounts = [make_account(self.member.organization, world, phone, config=ROOMY)
                         for phone in (PHONE, OTHER)]
        self.phones = {a.id: phone for a, phone in zip(self.accounts, (PHONE, OTHER), strict=True)}
        self.people = 0
        self.rt = None
        self.restart()

    def restart(self) -> None:
        """A new runtime takes the accounts over (the last one's leases have expired)."""
        if self.rt is not None:
            self.rt.kill()
            for account in self.accounts:
                redis_store.client.delete(leases.lease_key(account.id))  # its TTL ran out
        self.rt = rt = self.start(sweep_seconds=0.1, supervise_seconds=0.05)

        def held() -> bool:
            return all((conn := rt.connections.get(a.id)) is not None and conn.online
                       and leases.holder(redis_store.client, a.id) == rt.worker_id for a in self.accounts)
        eventually(held, what="the runtime holding both accounts")

    def fresh_people(self, count: int):
        found = []
        for _ in range(count):
            self.people += 1
            person = self.world.add_prospect(f"Trial{self.people}", "Prospect",
                                             username=f"trial_person{self.people}", persona="silent")
            found.append((person, contact_for(self.member, person)))
        return found


@pytest.fixture
def rig(runtime, world):  # noqa: F811
    return Rig(runtime, world)


def install(fault: Fault, mp: pytest.MonkeyPatch) -> None:
    point = fault.point
    state = fault.state

    if point in ("decision_fails", "pass_dies_before_outbox_row", "pass_dies_after_outbox_row",
                 "pass_dies_before_commit"):
        real = dispatcher.queue_outreach

        def queue_outreach(**kwargs):
            if point == "decision_fails" and fault.hit():
                raise RuntimeError("the decision failed")
            if point == "pass_dies_before_outbox_row" and fault.hit():
                raise Crash()
            message = real(**kwargs)
            state["handed"] = True
            if point == "pass_dies_after_outbox_row" and fault.hit():
                raise Crash()
            return message
        mp.setattr(dispatcher, "queue_outreach", queue_outreach)

    if point == "nudge_lost":
        real_nudge = nudges.send_soon
        mp.setattr(nudges, "send_soon", lambda *a, **k: True if fault.hit() else real_nudge(*a, **k))

    if point in ("request_lost", "answer_lost", "answer_lost_then_reply", "killed_before_send",
                 "killed_after_send", "killed_after_lookup"):
        real_call = RuntimeClient.__call__

        async def call(self, request, *args, **kwargs):
            sending = isinstance(request, functions.messages.SendMessageRequest)
            looking = isinstance(request, functions.contacts.ResolveUsernameRequest)
            if sending and point in ("request_lost", "killed_before_send") and fault.hit():
                if point == "request_lost":
                    raise ConnectionError("the request was lost")
                await asyncio.Event().wait()  # stuck until the runtime is killed
            result = await real_call(self, request, *args, **kwargs)
            if sending and point in ("answer_lost", "answer_lost_then_reply", "killed_after_send") \
                    and fault.hit():
                if point != "killed_after_send":
                    raise ConnectionError("the answer was lost")
                await asyncio.Event().wait()
            if looking and point == "killed_after_lookup" and fault.hit():
                await asyncio.Event().wait()
            return result
        mp.setattr(RuntimeClient, "__call__", call)

    if point == "record_rolls_back":
        real_record = store.record_sent

        def record_sent(*args, **kwargs):
            real_record(*args, **kwargs)
            if fault.hit():
                raise RuntimeError("recording failed after writing")
        mp.setattr(store, "record_sent", record_sent)

    if point in ("settled_not_enqueued", "handler_runs_twice"):
        real_enqueue = event_outbox._enqueue

        def enqueue(entries):
            entries = list(entries)
            settled = [e for e in entries if e.handler == SETTLED_HANDLER]
            if settled and point == "settled_not_enqueued" and fault.hit():
                raise RuntimeError("Redis refused")
            if settled and point == "handler_runs_twice":
                fault.hit()
                fault.captured.extend(settled)
            return real_enqueue(entries)
        mp.setattr(event_outbox, "_enqueue", enqueue)

    if point == "handler_rolls_back":
        real_next = outcomes.schedule_next

        def schedule_next(*args, **kwargs):
            real_next(*args, **kwargs)
            if fault.hit():
                raise RuntimeError("the handler failed after writing")
        mp.setattr(outcomes, "schedule_next", schedule_next)


def dispatch_pass(fault: Fault, now) -> None:
    fault.state["handed"] = False
    try:
        dispatcher.dispatch_due(now)
        if fault.point == "pass_dies_before_commit" and fault.state["handed"] and fault.hit():
            raise Crash()
        db.session.commit()
    except Crash:
        db.session.rollback()  # the process died: its transaction never committed


def recover(rig: Rig, fault: Fault) -> None:
    """What the system does about a fault that fired (once): the rest is its normal course."""
    if not fault.fired.is_set() or fault.recovered:
        return
    if fault.point in ("killed_before_send", "killed_after_send", "killed_after_lookup"):
        rig.restart()
    elif fault.point in ("request_lost", "answer_lost", "answer_lost_then_reply"):
        db.session.rollback()
        if fault.point == "answer_lost_then_reply" and not fault.captured:
            lost = db.session.scalar(select(Message).where(
                Message.org_id == rig.member.org_id, Message.status == "sending",
                Message.send_after > utcnow()))
            if lost is None:
                return  # not requeued yet
            chat = db.session.get(Chat, lost.chat_id)
            fault.captured.append(chat.contact_id)
            rig.world.person_writes(chat.peer_id, rig.phones[lost.account_id], "Got it, thanks")
            eventually(lambda: db.session.scalar(select(Message.id).where(
                Message.chat_id == chat.id, Message.out.is_(False))), what="their answer stored")
            QuickWorker([queue(Queues.CAMPAIGNS)], connection=redis_store.client).work(burst=True)
        moved = db.session.execute(Message.__table__.update().where(  # the retry's backoff has passed
            Message.org_id == rig.member.org_id, Message.status.in_(["queued", "sending"]),
            Message.send_after > utcnow()).values(send_after=utcnow() - timedelta(seconds=1))).rowcount
        db.session.commit()
        if not moved:
            return  # not requeued yet
    elif fault.point == "settled_not_enqueued":
        event_outbox.sweep_outbox(now=utcnow() + event_outbox.SWEEP_GRACE + timedelta(seconds=1))
    elif fault.point == "handler_rolls_back":
        run_due_retries(Queues.CAMPAIGNS)
    fault.recovered = True


def quiet(org_id: int) -> bool:
    """The runtime has done what it can now: nothing due or being sent, no event owed to a queue."""
    db.session.rollback()
    now = utcnow()
    busy = db.session.scalar(select(Message.id).where(
        Message.org_id == org_id, Message.status.in_(["queued", "sending"]),
        Message.send_after.is_(None) | (Message.send_after <= now)).limit(1))
    owed = db.session.scalar(select(event_outbox.EventOutbox.event_id).limit(1))
    return busy is None and owed is None


def poll(check, label: str, timeout: float = 15.0) -> None:
    """``eventually`` with a finer grain: a trial waits on the runtime several times."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for the runtime ({label})")
        time.sleep(0.003)


class QuickWorker(SimpleWorker):
    """RQ's worker without its command channel, whose thread takes up to a second to end."""

    def subscribe(self) -> None:
        pass

    def unsubscribe(self) -> None:
        pass


def settle_owed() -> None:
    """Work the campaigns queue, as ``kit.settle`` does, when anything waits on it."""
    if queue(Queues.CAMPAIGNS).count:
        QuickWorker([queue(Queues.CAMPAIGNS)], connection=redis_store.client).work(burst=True)


def drive(rig: Rig, fault: Fault, found: Campaign, label: str) -> None:
    base = utcnow() + timedelta(minutes=16)  # past the launch's jitter
    for round_ in range(ROUNDS):
        dispatch_pass(fault, base + timedelta(minutes=10 * round_))

        def settled_down() -> bool:
            recover(rig, fault)
            return quiet(rig.member.org_id)
        poll(settled_down, label)
        settle_owed()
        db.session.rollback()
        live = db.session.scalar(select(Enrollment.id).where(
            Enrollment.campaign_id == found.id, Enrollment.status.in_(["waiting", "sending", "pending"]))
            .limit(1))
        if live is None:
            return
    raise AssertionError(f"sequences still running after {ROUNDS} rounds ({label})")


def check(rig: Rig, found: Campaign, people, fault: Fault, label: str) -> None:
    db.session.rollback()
    replied = set(fault.captured) if fault.point == "answer_lost_then_reply" else set()
    enrollments = {e.contact_id: e for e in db.session.scalars(
        select(Enrollment).where(Enrollment.campaign_id == found.id))}
    sends = list(db.session.scalars(select(CampaignSend).where(CampaignSend.campaign_id == found.id)))
    assert len({(s.enrollment_id, s.position) for s in sends}) == len(sends), label
    variants = {v.id: v.text for step in found.steps for v in step.variants}
    for person, contact in people:
        enrollment = enrollments[contact.id]
        mine = sorted((s for s in sends if s.enrollment_id == enrollment.id), key=lambda s: s.position)
        if contact.id in replied:  # they answered the step whose answer was lost: no step after it
            assert enrollment.status == "replied", label
            assert [s.position for s in mine] == list(range(len(mine))) and mine, label
        else:
            assert (enrollment.status, enrollment.step_index) == ("finished", 2), label
            assert [s.position for s in mine] == [0, 1], label
        got = [m for phone in (PHONE, OTHER) for m in rig.world.messages(phone, person.profile.id) if m.out]
        assert len(got) == len(mine), f"{label}: {person.profile.username} got {[m.text for m in got]}"
        for send in mine:
            message = db.session.get(Message, send.message_id)
            assert (send.status, message.status) == ("sent", "sent"), label
            [there] = [m for m in rig.world.messages(rig.phones[send.account_id], person.profile.id)
                       if m.out and m.id == message.telegram_id]
            expected = variants[send.variant_id].replace("{{first_name}}", person.profile.first_name)
            assert there.text == message.text == expected, label
        copies = db.session.scalar(select(db.func.count()).select_from(Message).join(Chat).where(
            Chat.contact_id == contact.id, Message.out.is_(True)))
        assert copies == len(mine), f"{label}: {copies} outgoing rows stored for {person.profile.username}"
    if fault.point == "handler_runs_twice":
        before = sorted((e.id, e.status, e.step_index) for e in enrollments.values())
        for entry in fault.captured:
            assert deliver_queued(entry.handler, entry.payload) is False, label
        db.session.rollback()
        assert sorted((e.id, e.status, e.step_index) for e in db.session.scalars(
            select(Enrollment).where(Enrollment.campaign_id == found.id))) == before, label


def run_trials(rig: Rig, count: int) -> None:
    seed = int(os.environ.get("TRIALS_SEED") or random.SystemRandom().randrange(10**9))
    print(f"\ncrash trials: {count}, TRIALS_SEED={seed}")
    points = tuple(p for p in os.environ.get("TRIALS_POINTS", "").split(",") if p) or POINTS
    only = os.environ.get("TRIALS_ONLY")  # one trial again: its number, with its TRIALS_SEED
    fired = {}
    for n in ([int(only)] if only else range(count)):
        rng = random.Random(f"{seed}:{n}")
        point = points[n % len(points)] if n < len(points) else rng.choice(points)
        batch = rng.choice((1, 1, 2, 3))
        reached = {"pass_dies_before_commit": 2, "handler_runs_twice": 2, "killed_after_lookup": batch}
        fault = Fault(point, at=rng.randint(1, reached.get(point, 2 * batch)))  # it always fires
        label = f"trial {n}, TRIALS_SEED={seed}: {point} at {fault.at} of {2 * batch}"
        for account in rig.accounts:  # a new day for the budgets: they are not what is tried here
            redis_store.client.delete(*(f"tg:budget:{account.id}:{k}" for k in ("sent", "new", "next_new")))
        people = rig.fresh_people(batch)
        found = campaign(rig.member, rig.accounts, [(0, list(STEP_ONE)), (0, [STEP_TWO])],
                         name=f"Trial {n}")
        launch(rig.member, found, [c for _, c in people])
        with pytest.MonkeyPatch.context() as mp:
            install(fault, mp)
            drive(rig, fault, found, label)
            check(rig, found, people, fault, label)
        assert point == "none" or fault.fired.is_set(), f"{label}: the fault never fired"
        fired[point] = fired.get(point, 0) + 1
    print(f"crash trials passed: {sum(fired.values())}; per fault: {fired}")


def _trials_asked(request) -> bool:
    return "trials" in (request.config.getoption("-m") or "")


@pytest.mark.trials
def test_a_thousand_crash_trials_each_step_reaches_each_person_exactly_once(request, rig):
    if not _trials_asked(request):
        pytest.skip("the full crash trials run with -m trials (the sample runs here)")
    run_trials(rig, TRIALS)


def test_a_sample_of_crash_trials_each_step_reaches_each_person_exactly_once(request, rig):
    if _trials_asked(request):
        pytest.skip("the full crash trials run instead")
    run_trials(rig, int(os.environ.get("TRIALS_SAMPLE") or SAMPLE))
