"""Argon2id password hashing with OWASP's parameters (19 MiB, 2 iterations, 1 lane).

Each hash or check holds 19 MiB and a core for tens of milliseconds, and a web process answers on
up to 200 threads: a flood of sign-ins (or sign-ups, resets) would otherwise hold 200 of them at
once, 3.7 GiB and every core. So at most ``ARGON2_CONCURRENCY`` run at a time per process (4 by
default); the others wait their turn, up to ``WAIT_SECONDS``, then are told to try again
(``PasswordCheckBusy``, a 503), while the rate limits and the lockout shed the rest.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_babel import lazy_gettext as _l

from app.errors import DomainError

_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
# Verified against when the email is unknown, so a miss costs the same time as a wrong password.
_DECOY = _hasher.hash("decoy password that matches nothing")

MIN_LENGTH = 10
CONCURRENCY = max(1, int(os.environ.get("ARGON2_CONCURRENCY", "4")))
WAIT_SECONDS = 10.0
_slots = threading.BoundedSemaphore(CONCURRENCY)
T = TypeVar("T")


class PasswordCheckBusy(DomainError):
    status, code = 503, "busy"


BUSY = _l("Too many people are signing in right now. Try again in a few seconds.")


def _in_a_slot(work: Callable[[], T]) -> T:
    if not _slots.acquire(timeout=WAIT_SECONDS):
        raise PasswordCheckBusy(str(BUSY))
    try:
        return work()
    finally:
        _slots.release()


def hash_password(password: str) -> str:
    return _in_a_slot(lambda: _hasher.hash(password))


def verify_password(password_hash: str | None, password: str) -> bool:
    def check() -> bool:
        try:
            return _hasher.verify(password_hash or _DECOY, password) and password_hash is not None
        except (VerificationError, InvalidHashError):
            return False

    return _in_a_slot(check)


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)
