"""Sending budgets in Redis: the hourly ceiling, the daily outreach budget and the gap between firsts."""

from __future__ import annotations

import random

from app.blueprints.accounts.config import effective
from app.extensions import redis_store
from app.integrations.telegram import budgets

NOW = 1_800_000_000.0


def test_the_hourly_ceiling_holds_a_message_until_the_oldest_leaves_the_hour(app):
    config = effective({"messages_per_hour": 2})
    redis = redis_store.client
    budgets.spend(redis, 1, config, first_contact=False, now=NOW)
    budgets.spend(redis, 1, config, first_contact=False, now=NOW + 10)

    assert budgets.allowed_at(redis, 1, config, first_contact=False, now=NOW + 20) == NOW + 3600
    assert budgets.allowed_at(redis, 1, config, first_contact=False, now=NOW + 3601) is None
    assert budgets.allowed_at(redis, 2, config, first_contact=False, now=NOW + 20) is None  # per account


def test_first_messages_keep_a_random_gap_and_a_daily_count(app):
    config = effective({"new_chats_per_day": 2, "new_chat_gap_min_seconds": 45,
                        "new_chat_gap_max_seconds": 90})
    redis = redis_store.client
    budgets.spend(redis, 1, config, first_contact=True, now=NOW, rng=random.Random(1))

    gap_until = budgets.allowed_at(redis, 1, config, first_contact=True, now=NOW + 1)
    assert NOW + 45 <= gap_until <= NOW + 90
    assert budgets.allowed_at(redis, 1, config, first_contact=False, now=NOW + 1) is None  # replies go

    budgets.spend(redis, 1, config, first_contact=True, now=NOW + 100)
    assert budgets.allowed_at(redis, 1, config, first_contact=True, now=NOW + 300) == NOW + 86400
