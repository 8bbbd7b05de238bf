"""Argon2 under a flood: at most ARGON2_CONCURRENCY hashes or checks at once per process, the others
wait their turn, and one that waits too long is told to try again (503), never run."""

from __future__ import annotations

import threading
import time

import pytest

from app.blueprints.auth import passwords
from app.blueprints.auth.passwords import PasswordCheckBusy, hash_password, verify_password


@pytest.fixture
def counted(monkeypatch):
    """Argon2 checks that take 50 ms and count how many run at once."""
    state = {"now": 0, "most": 0}
    lock = threading.Lock()
    real = passwords._hasher

    class Slow:
        hash = real.hash

        def verify(self, stored, password):
            with lock:
                state["now"] += 1
                state["most"] = max(state["most"], state["now"])
            try:
                time.sleep(0.05)
                return real.verify(stored, password)
            finally:
                with lock:
                    state["now"] -= 1

    monkeypatch.setattr(passwords, "_hasher", Slow())
    return state


def test_a_flood_of_checks_runs_at_most_the_cap_at_once_and_every_one_answers(counted):
    stored = hash_password("a long enough secret")
    answers = []

    def sign_in(password):
        answers.append(verify_password(stored, password))

    threads = [threading.Thread(target=sign_in, args=("a long enough secret" if n % 2 else "wrong",))
               for n in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert counted["most"] == passwords.CONCURRENCY
    assert sorted(answers) == [False] * 12 + [True] * 12


def test_a_check_that_cannot_get_a_turn_in_time_is_refused_not_run(monkeypatch, counted):
    monkeypatch.setattr(passwords, "WAIT_SECONDS", 0.05)
    for _ in range(passwords.CONCURRENCY):
        passwords._slots.acquire()
    try:
        with pytest.raises(PasswordCheckBusy) as refused:
            verify_password(None, "anything")
    finally:
        for _ in range(passwords.CONCURRENCY):
            passwords._slots.release()
    assert refused.value.status == 503 and counted["most"] == 0
