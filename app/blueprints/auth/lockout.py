"""Account lockout: five failed sign-ins within fifteen minutes lock the email for fifteen minutes.

Counted per email (hashed) whether or not an account exists, so the lockout itself reveals nothing.
Kept in Redis: sorted sets of failure times, expiring on their own.
"""

from __future__ import annotations

import hashlib
import math
import time

from app.extensions import redis_store

MAX_FAILURES = 5
WINDOW_SECONDS = 15 * 60
LOCK_SECONDS = 15 * 60


def _key(kind: str, email: str) -> str:
    digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]
    return f"lockout:{kind}:{digest}"


def locked_for(email: str) -> int:
    """Seconds the email stays locked (0 when not locked)."""
    ttl = redis_store.client.ttl(_key("locked", email))
    return max(ttl, 0)


def register_failure(email: str) -> bool:
    """Count a failed sign-in; returns True when this failure locks the email."""
    client = redis_store.client
    now = time.time()
    key = _key("fail", email)
    with client.pipeline() as pipe:
        pipe.zremrangebyscore(key, 0, now - WINDOW_SECONDS)
        pipe.zadd(key, {f"{now:.6f}": now})
        pipe.zcard(key)
        pipe.expire(key, WINDOW_SECONDS)
        _, _, failures, _ = pipe.execute()
    if failures >= MAX_FAILURES:
        client.set(_key("locked", email), "1", ex=LOCK_SECONDS)
        client.delete(key)
        return True
    return False


def clear(email: str) -> None:
    redis_store.client.delete(_key("fail", email))


def minutes(seconds: int) -> int:
    return max(1, math.ceil(seconds / 60))
