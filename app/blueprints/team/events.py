"""What the team domain tells others: organizations created or changed, members who joined, changed
role, left or were removed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.events import DomainEvent


@dataclass(frozen=True, kw_only=True)
class OrganizationCreated(DomainEvent):
    """A new organization with its first owner (the pipeline gives it its first pipeline)."""

    owner_id: int


@dataclass(frozen=True, kw_only=True)
class OrganizationUpdated(DomainEvent):
    """The organization's settings changed (its name, its timezone): pages showing them refresh."""

    changes: dict[str, Any] = field(default_factory=dict)  # field -> [old, new]


@dataclass(frozen=True, kw_only=True)
class MemberRoleChanged(DomainEvent):
    """A member of the organization now holds another role (what they may see changed with it)."""

    membership_id: int
    user_id: int
    old_role: str
    new_role: str


@dataclass(frozen=True, kw_only=True)
class MemberJoined(DomainEvent):
    """Someone joined the organization (accepted an invitation): team pages list them."""

    membership_id: int
    user_id: int
    role: str


@dataclass(frozen=True, kw_only=True)
class MemberRemoved(DomainEvent):
    """A member left or was removed; everything that was theirs in the organization now belongs
    to ``reassign_to`` (a member who stays). Subscribers that hold a member's things take it
    ``in_transaction``, so the removal and the handover commit together or not at all."""

    user_id: int
    reassign_to: int
    left: bool = False  # they left on their own
