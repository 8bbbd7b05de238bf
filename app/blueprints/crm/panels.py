"""What domains built on the CRM show on a record's page: a panel beside it, entries on its timeline.

The CRM cannot import them (the inbox builds on contacts, not the other way round), so they
register a panel here and the record page shows whatever is registered for its kind of record.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from app.blueprints.team.public import Membership


@dataclass(frozen=True)
class RecordPanel:
    """``template`` is a partial rendered with ``panel.context``; ``load(viewer, record)`` builds
    that context for one viewer (what they may see); ``timeline(context)`` gives the entries the
    panel adds to the record's timeline (``queries.timeline``'s ``also``)."""

    template: str
    load: Callable[[Membership, Any], dict[str, Any]]
    timeline: Callable[[dict[str, Any]], list] = field(default=lambda context: [])


@dataclass(frozen=True)
class ShownPanel:
    template: str
    context: dict[str, Any]


_PANELS: dict[str, list[RecordPanel]] = defaultdict(list)
# Entries another domain keeps about a record, whoever views it: (org_id, record, limit) -> entries
# with a ``created_at`` and a ``kind`` (a deal's stage history, kept by the pipeline).
_HISTORIES: dict[str, list[Callable[[int, Any, int], list]]] = defaultdict(list)


def register(entity: str, panel: RecordPanel) -> None:
    _PANELS[entity].append(panel)


def register_history(entity: str, entries: Callable[[int, Any, int], list]) -> None:
    _HISTORIES[entity].append(entries)


def history(org_id: int, entity: str, record: Any, limit: int) -> list:
    """The newest ``limit`` entries each registered history holds about ``record``."""
    return [entry for entries in _HISTORIES.get(entity, ()) for entry in entries(org_id, record, limit)]


def shown(viewer: Membership, entity: str, record: Any) -> tuple[list[ShownPanel], list]:
    """The panels of ``record``'s page for ``viewer``, and the timeline entries they add."""
    panels, entries = [], []
    for panel in _PANELS.get(entity, ()):
        context = panel.load(viewer, record)
        panels.append(ShownPanel(panel.template, context))
        entries.extend(panel.timeline(context))
    return panels, entries
