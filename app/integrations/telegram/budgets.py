"""Per-account sending budgets in Redis, so they hold across restarts and processes.

Two budgets (limits from ``accounts.config``):

- every outbound message counts against ``messages_per_hour`` (a sliding hour);
- a first message to someone who never wrote (outreach) also counts against ``new_chats_per_day``
  (a sliding day) and must come at least a random ``new_chat_gap_min..max_seconds`` after the
  previous one.

``allowed_at`` says when a message may go (None: now); ``spend`` books one that goes. A message
over budget is not failed: the outbox holds it until the budget allows. Only the process holding
the account sends for it, one message at a time, so check-then-spend needs no atomic script.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Sequence

from redis import Redis

HOUR = 3600
DAY = 86400


def _keys(account_id: int) -> tuple[str, str, str]:
    base = f"tg:budget:{account_id}"
    return f"{base}:sent", f"{base}:new", f"{base}:next_new"


def _oldest_to_expire(redis: Redis, key: str, since: float, over: int) -> float:
    """When the entry that must age out before one more fits was booked (``over``: how many past)."""
    return redis.zrangebyscore(key, since, "+inf", start=over, num=1, withscores=True)[0][1]


def allowed_at(redis: Redis, account_id: int, config: dict[str, int], *, first_contact: bool,
               now: float | None = None) -> float | None:
    """Epoch seconds when the message may go, or None when it may go now (one round trip unless
    a budget is full)."""
    return allowed_at_many(redis, [(account_id, config)], first_contact=first_contact, now=now)[account_id]


def allowed_at_many(redis: Redis, accounts: Sequence[tuple[int, dict[str, int]]], *, first_contact: bool,
                    now: float | None = None) -> dict[int, float | None]:
    """``allowed_at`` for several accounts (id, config) in one round trip (plus one per full
    budget): how the dispatcher weighs a pool of hundreds at once."""
    now = time.time() if now is None else now
    with redis.pipeline(transaction=False) as pipe:
        for account_id, _config in accounts:
            sent_key, new_key, gap_key = _keys(account_id)
            pipe.zcount(sent_key, now - HOUR, "+inf")
            if first_contact:
                pipe.zcount(new_key, now - DAY, "+inf")
                pipe.get(gap_key)
        replies = iter(pipe.execute())
    found: dict[int, float | None] = {}
    for account_id, config in accounts:
        sent = next(replies)
        outreach = (next(replies), next(replies)) if first_contact else None
        found[account_id] = _wait(redis, account_id, config, now, sent, outreach)
    return found


def _wait(redis: Redis, account_id: int, config: dict[str, int], now: float, sent: int,
          outreach: tuple[int, bytes | str | None] | None) -> float | None:
    sent_key, new_key, _gap_key = _keys(account_id)
    waits = []
    per_hour = config["messages_per_hour"]
    if sent >= per_hour:
        waits.append(_oldest_to_expire(redis, sent_key, now - HOUR, sent - per_hour) + HOUR)
    if outreach is not None:
        today, gap = outreach
        per_day = config["new_chats_per_day"]
        if per_day <= 0:
            waits.append(now + DAY)
        elif today >= per_day:
            waits.append(_oldest_to_expire(redis, new_key, now - DAY, today - per_day) + DAY)
        if gap is not None and float(gap) > now:
            waits.append(float(gap))
    later = max(waits, default=None)
    return later if later is not None and later > now else None


def spend(redis: Redis, account_id: int, config: dict[str, int], *, first_contact: bool,
          now: float | None = None, rng: random.Random | None = None) -> None:
    """Book one message that is going out now."""
    now = time.time() if now is None else now
    sent_key, new_key, gap_key = _keys(account_id)
    with redis.pipeline() as pipe:
        pipe.zadd(sent_key, {uuid.uuid4().hex: now})
        pipe.zremrangebyscore(sent_key, "-inf", now - HOUR)
        pipe.expire(sent_key, HOUR + 60)
        if first_contact:
            low, high = config["new_chat_gap_min_seconds"], config["new_chat_gap_max_seconds"]
            gap = (rng or random).uniform(low, max(low, high))
            pipe.zadd(new_key, {uuid.uuid4().hex: now})
            pipe.zremrangebyscore(new_key, "-inf", now - DAY)
            pipe.expire(new_key, DAY + 60)
            pipe.set(gap_key, now + gap, ex=int(gap) + 60)
        pipe.execute()
