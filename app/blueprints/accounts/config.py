"""Per-account settings: sending budgets and sync limits, with conservative defaults.

Stored on ``BDAccount.config`` as only what differs from the defaults; ``effective`` merges.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

DEFAULT_CONFIG: dict[str, int] = {
    # Outreach budget: first messages to people who never wrote to this account.
    "new_chats_per_day": 30,
    "new_chat_gap_min_seconds": 45,
    "new_chat_gap_max_seconds": 90,
    # Every outbound message (replies included): a ceiling against runaway automation.
    "messages_per_hour": 200,
    # First sync: how many recent dialogs, and how many recent messages of each.
    "sync_dialogs": 100,
    "sync_messages_per_dialog": 50,
}

LIMITS: dict[str, tuple[int, int]] = {
    "new_chats_per_day": (0, 500),
    "new_chat_gap_min_seconds": (0, 3600),
    "new_chat_gap_max_seconds": (0, 3600),
    "messages_per_hour": (1, 5000),
    "sync_dialogs": (0, 2000),
    "sync_messages_per_dialog": (0, 1000),
}


def effective(stored: dict[str, Any] | None) -> dict[str, int]:
    return {**DEFAULT_CONFIG, **{k: v for k, v in (stored or {}).items() if k in DEFAULT_CONFIG}}


def validate(changes: dict[str, Any],
             current: dict[str, Any] | None) -> tuple[dict[str, int], dict[str, str]]:
    """The stored config after ``changes``, and errors by field (an empty dict when valid)."""
    errors: dict[str, str] = {}
    merged = effective(current)
    for key, value in changes.items():
        if key not in DEFAULT_CONFIG:
            errors[key] = _("Unknown setting.")
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            errors[key] = _("Must be a whole number.")
            continue
        low, high = LIMITS[key]
        if not low <= value <= high:
            errors[key] = _("Must be between %(low)s and %(high)s.", low=low, high=high)
            continue
        merged[key] = value
    if not errors and merged["new_chat_gap_min_seconds"] > merged["new_chat_gap_max_seconds"]:
        errors["new_chat_gap_min_seconds"] = _("Must not exceed the maximum gap.")
    return {k: v for k, v in merged.items() if DEFAULT_CONFIG[k] != v}, errors
