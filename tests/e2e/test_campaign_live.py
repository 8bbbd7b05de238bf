"""The campaign page in Chromium, live: steps go out through a real runtime and the sandbox, a person
replies, and the open page shows it without a reload while their second step never goes."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from rq import SimpleWorker
from rq.timeouts import TimerDeathPenalty
from sqlalchemy import select

from app.blueprints.campaigns import dispatcher
from app.blueprints.campaigns.models import Enrollment
from app.blueprints.messaging.models import Message
from app.db_types import utcnow
from app.extensions import db, redis_store
from app.jobs import Queues, queue
from tests.campaigns.kit import campaign, contact_for, launch, manager
from tests.e2e.conftest import sign_in
from tests.factories import PASSWORD
from tests.integrations.telegram.conftest import PHONE, world  # noqa: F401 - fixtures
from tests.integrations.telegram.runtime_kit import eventually, make_account, online, runtime  # noqa: F401

NO_GAP = {"new_chat_gap_min_seconds": 0, "new_chat_gap_max_seconds": 0}
SOON = timedelta(minutes=16)  # past a step's jitter inside its window


class ThreadWorker(SimpleWorker):
    """RQ's worker off the main thread (signal handlers, and so SIGALRM timeouts, are the main
    thread's)."""

    death_penalty_class = TimerDeathPenalty

    def _install_signal_handlers(self) -> None:
        pass


class Background:
    """The dispatcher and the campaigns queue worked in a thread. Its clock moves a minute a pass
    (a step waiting for the account to free is due again soon), up to ``until``; the test moves it."""

    def __init__(self, app, until) -> None:
        self.app, self.clock, self.until = app, utcnow() + SOON, until
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="campaign-work", daemon=True)

    def _run(self) -> None:
        with self.app.app_context():
            while not self.stop.is_set():
                dispatcher.dispatch_due(self.clock)
                db.session.commit()
                self.clock = min(self.clock + timedelta(minutes=1), self.until)
                ThreadWorker([queue(Queues.CAMPAIGNS)], connection=redis_store.client).work(burst=True)
                db.session.remove()
                self.stop.wait(0.05)

    def __enter__(self) -> Background:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join(timeout=20)


def sent_to(world, person):  # noqa: F811
    return [m for m in world.messages(PHONE, person.profile.id) if m.out]


@pytest.fixture
def running(app, runtime, world):  # noqa: F811
    """A manager's running two-step campaign to two sandbox people from one online account."""
    member = manager()
    account = make_account(member.organization, world, PHONE, config=NO_GAP)
    runtime()
    eventually(lambda: online(account.id), what="the account online")
    people = [world.add_person(name, "Prospect", username=f"{name.lower()}_prospect", auto_reply=False)
              for name in ("Alla", "Boris")]
    contacts = [contact_for(member, p) for p in people]
    found = campaign(member, [account], [(0, ["Hi {{first_name}}, a quick question"]),
                                         (60, ["Following up, {{first_name}}"])], name="Spring outreach")
    launch(member, found, contacts)
    enrollments = {c.id: db.session.scalar(select(Enrollment.id).where(Enrollment.contact_id == c.id))
                   for c in contacts}
    return member, found, people, contacts, enrollments


def test_the_page_shows_a_reply_without_reloading_and_the_second_step_never_goes(app, new_page, world,  # noqa: F811
                                                                                running):
    member, found, (alla, boris), (alla_contact, boris_contact), enrollments = running
    page = new_page()
    sign_in(page, member.user.email, PASSWORD)
    page.goto(f"/campaigns/{found.id}")
    expect(page.locator("body.is-live")).to_have_count(1)
    expect(page.locator("#count-sent dd")).to_have_text("0")
    page.evaluate("window.__notReloaded = true")
    alla_row = page.locator(f"#enrollment-{enrollments[alla_contact.id]}")
    boris_row = page.locator(f"#enrollment-{enrollments[boris_contact.id]}")

    # Until told otherwise, the clock stays well before any second step is due (an hour after the first).
    with Background(app, until=utcnow() + timedelta(minutes=50)) as work:
        eventually(lambda: len(sent_to(world, alla)) == 1 and len(sent_to(world, boris)) == 1, timeout=30,
                   what="both first steps sent")
        expect(page.locator("#count-sent dd")).to_have_text("2")  # pushed, not reloaded

        world.person_writes(alla.profile.id, PHONE, "Yes, tell me more")
        expect(alla_row.locator(".campaign-enrollment-status")).to_have_text("Replied")
        expect(page.locator("#count-replied dd")).to_have_text("1")
        expect(boris_row.locator(".campaign-enrollment-status")).to_have_text("Waiting")

        work.clock = work.until = utcnow() + timedelta(minutes=61) + SOON  # the second step is due for both
        eventually(lambda: len(sent_to(world, boris)) == 2, timeout=30, what="Boris's second step")
        expect(page.locator("#count-sent dd")).to_have_text("3")
        expect(boris_row.locator(".campaign-enrollment-status")).to_have_text("Finished")

    assert len(sent_to(world, alla)) == 1  # her second step never went
    db.session.rollback()
    assert db.session.scalar(select(Message.id).where(Message.out.is_(False))) is not None
    assert page.evaluate("window.__notReloaded") is True
    assert page.csp.errors == []
