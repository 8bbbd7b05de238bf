"""What the team domain tells others: organizations created or changed, members' roles changed."""

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
