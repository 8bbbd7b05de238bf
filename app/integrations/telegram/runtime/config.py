"""How the telegram process paces itself: leases, supervision, reconnects, reconciles, logins."""

from __future__ import annotations

import os
from dataclasses import dataclass

from app.integrations.telegram import leases


@dataclass(frozen=True)
class RuntimeConfig:
    max_accounts: int = 500  # TELEGRAM_MAX_ACCOUNTS: accounts one process holds at most
    lease_ttl: int = leases.LEASE_TTL_SECONDS
    heartbeat_seconds: float = leases.HEARTBEAT_SECONDS
    supervise_seconds: float = 5.0  # look for accounts to take (sooner on a nudge)
    reconcile_seconds: float = 600.0  # TELEGRAM_RECONCILE_MINUTES: compare dialogs with Telegram
    sweep_seconds: float = 30.0  # look for outbox messages whose time has come
    connect_timeout: float = 30.0  # connect() can hang on a silent address despite its timeout
    backoff_base: float = 2.0  # reconnect after base * 2^attempt seconds (with jitter) ...
    backoff_max: float = 300.0  # ... at most this
    login_idle_seconds: float = 600.0  # a login nobody continues is dropped
    long_flood_seconds: int = 300  # a FloodWait at least this long shows the account as limited
    peer_flood_hours: int = 24
    reconcile_cap: int = 500  # messages fetched per dialog when catching up after an outage
    media_max_bytes: int = 20 * 1024 * 1024
    db_threads: int = 4

    @classmethod
    def from_env(cls) -> RuntimeConfig:
        return cls(
            max_accounts=int(os.environ.get("TELEGRAM_MAX_ACCOUNTS", "500")),
            reconcile_seconds=60.0 * float(os.environ.get("TELEGRAM_RECONCILE_MINUTES", "10")),
        )
