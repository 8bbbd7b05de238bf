"""Which telegram process holds which account: Redis leases with a TTL, renewed by heartbeat.

A session must never be open in two places (Telegram logs both out, or worse, both receive and
race). A process may only connect an account after ``acquire`` succeeded, renews every lease it
holds well inside the TTL, and drops the client at once if a renewal fails. When a process dies
its leases expire and another process acquires the accounts.
"""

from __future__ import annotations

from redis import Redis

LEASE_TTL_SECONDS = 30
HEARTBEAT_SECONDS = 10

# Renew only while the lease is still ours (compare-and-set in one round trip).
_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""


def lease_key(account_id: int) -> str:
    return f"tg:lease:{account_id}"


def holder(redis: Redis, account_id: int) -> str | None:
    """The id of the process holding ``account_id``, or None."""
    value = redis.get(lease_key(account_id))
    return value.decode() if isinstance(value, bytes) else value


def acquire(redis: Redis, account_id: int, worker_id: str, ttl: int = LEASE_TTL_SECONDS) -> bool:
    return bool(redis.set(lease_key(account_id), worker_id, nx=True, px=ttl * 1000))


def renew(redis: Redis, account_ids: list[int], worker_id: str, ttl: int = LEASE_TTL_SECONDS) -> set[int]:
    """Renew these leases; returns the ids still ours (the others were lost: drop those clients)."""
    script = redis.register_script(_RENEW)
    with redis.pipeline(transaction=False) as pipe:
        for account_id in account_ids:
            script(keys=[lease_key(account_id)], args=[worker_id, ttl * 1000], client=pipe)
        results = pipe.execute()
    return {account_id for account_id, ok in zip(account_ids, results, strict=True) if ok}


def release(redis: Redis, account_id: int, worker_id: str) -> bool:
    return bool(redis.register_script(_RELEASE)(keys=[lease_key(account_id)], args=[worker_id]))
