"""Roles and the permission matrix: the one place that says who may do what.

Services call ``require(membership, Permission.X)``; templates may ask ``can(...)`` to hide what a
role cannot use, but hiding is a courtesy, the service check is the rule.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l

from app.errors import Forbidden

if TYPE_CHECKING:
    from app.blueprints.team.models import Membership


class Role(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    MANAGER = "manager"
    AGENT = "agent"

    @property
    def label(self) -> str:
        """The role's name in the viewer's language (lazy: read where it is shown)."""
        return _ROLE_NAMES[self]


_ROLE_NAMES = {Role.OWNER: _l("Owner"), Role.ADMIN: _l("Admin"), Role.MANAGER: _l("Manager"),
               Role.AGENT: _l("Agent")}


RANK = {Role.OWNER: 4, Role.ADMIN: 3, Role.MANAGER: 2, Role.AGENT: 1}


class Permission(StrEnum):
    ORG_UPDATE = "org.update"
    ORG_DELETE = "org.delete"
    BILLING_MANAGE = "billing.manage"
    MEMBERS_VIEW = "members.view"
    MEMBERS_MANAGE = "members.manage"
    AUDIT_VIEW = "audit.view"
    ACCOUNTS_MANAGE = "accounts.manage"
    RECORDS_EDIT_ALL = "records.edit_all"
    RECORDS_DELETE = "records.delete"
    PIPELINES_MANAGE = "pipelines.manage"
    CAMPAIGNS_MANAGE = "campaigns.manage"
    AUTOMATION_MANAGE = "automation.manage"
    ANALYTICS_VIEW_TEAM = "analytics.view_team"
    CHATS_VIEW_ALL = "chats.view_all"
    CHATS_ASSIGN = "chats.assign"
    # Reading the chats of Telegram accounts: every role does (an agent, those of the accounts
    # given to them), which is why an organization's required MFA asks it of every member.
    TELEGRAM_READ = "telegram.read"
    # Sharing a contact with teammates (they then edit it and its deals and see its chats):
    # RECORDS_SHARE, the contacts the member owns; RECORDS_SHARE_ANY, any contact, and seeing what
    # is shared with each member. Anyone may stop a contact being shared with themselves.
    RECORDS_SHARE = "records.share"
    RECORDS_SHARE_ANY = "records.share_any"


_ALL = frozenset(Role)
_ADMINS = frozenset({Role.OWNER, Role.ADMIN})
_MANAGERS = frozenset({Role.OWNER, Role.ADMIN, Role.MANAGER})

MATRIX: dict[Permission, frozenset[Role]] = {
    Permission.ORG_UPDATE: _ADMINS,
    Permission.ORG_DELETE: frozenset({Role.OWNER}),
    Permission.BILLING_MANAGE: frozenset({Role.OWNER}),
    Permission.MEMBERS_VIEW: _ALL,
    Permission.MEMBERS_MANAGE: _ADMINS,
    Permission.AUDIT_VIEW: _ADMINS,
    Permission.ACCOUNTS_MANAGE: _ADMINS,
    Permission.RECORDS_EDIT_ALL: _MANAGERS,
    Permission.RECORDS_DELETE: _MANAGERS,
    Permission.PIPELINES_MANAGE: _MANAGERS,
    Permission.CAMPAIGNS_MANAGE: _MANAGERS,
    Permission.AUTOMATION_MANAGE: _MANAGERS,
    Permission.ANALYTICS_VIEW_TEAM: _MANAGERS,
    Permission.CHATS_VIEW_ALL: _MANAGERS,
    Permission.CHATS_ASSIGN: _MANAGERS,
    Permission.TELEGRAM_READ: _ALL,
    Permission.RECORDS_SHARE: _ALL,
    Permission.RECORDS_SHARE_ANY: _MANAGERS,
}

# What each permission lets a role do, as the refusal says it (whole sentences: word order differs
# by language). Lazy: read in the viewer's language when a refusal is answered.
REFUSALS: dict[Permission, str] = {
    Permission.ORG_UPDATE: _l("Your role does not allow you to change organization settings."),
    Permission.ORG_DELETE: _l("Your role does not allow you to delete the organization."),
    Permission.BILLING_MANAGE: _l("Your role does not allow you to manage billing."),
    Permission.MEMBERS_VIEW: _l("Your role does not allow you to see the team."),
    Permission.MEMBERS_MANAGE: _l("Your role does not allow you to manage members and roles."),
    Permission.AUDIT_VIEW: _l("Your role does not allow you to read the audit log."),
    Permission.ACCOUNTS_MANAGE: _l("Your role does not allow you to connect and remove Telegram accounts."),
    Permission.RECORDS_EDIT_ALL: _l("Your role does not allow you to edit records owned by others."),
    Permission.RECORDS_DELETE: _l("Your role does not allow you to delete records."),
    Permission.PIPELINES_MANAGE: _l("Your role does not allow you to manage pipelines and stages."),
    Permission.CAMPAIGNS_MANAGE: _l("Your role does not allow you to manage campaigns."),
    Permission.AUTOMATION_MANAGE: _l("Your role does not allow you to manage automation rules."),
    Permission.ANALYTICS_VIEW_TEAM: _l("Your role does not allow you to see team analytics."),
    Permission.CHATS_VIEW_ALL: _l("Your role does not allow you to see every chat of every account."),
    Permission.CHATS_ASSIGN: _l("Your role does not allow you to assign chats."),
    Permission.TELEGRAM_READ: _l("Your role does not allow you to read Telegram chats."),
    Permission.RECORDS_SHARE: _l("Your role does not allow you to share contacts."),
    Permission.RECORDS_SHARE_ANY: _l("Your role does not allow you to share contacts owned by others or "
                                     "see what is shared with others."),
}


def can(role: Role | str, permission: Permission) -> bool:
    return Role(role) in MATRIX[permission]


def require(membership: Membership | None, permission: Permission) -> None:
    """Raises Forbidden unless ``membership``'s role holds ``permission``."""
    if membership is None or not can(membership.role, permission):
        raise Forbidden(str(REFUSALS[permission]))
