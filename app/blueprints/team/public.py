"""What other domains may use of team: organizations, memberships, roles and the permission
matrix, invitations (auth's page accepts them), the activity log's registry of sources, the people
of an organization, the country its phone numbers are read in, its deals' default currency, and
team's events (a member removed: the domains holding their things take them over). The rest of
the package is private."""

from app.blueprints.team.activity import ActivityEntry, ActivityQuery
from app.blueprints.team.activity import narrow as narrow_activity
from app.blueprints.team.activity import register_source as register_activity_source
from app.blueprints.team.events import (
    MemberJoined,
    MemberRemoved,
    MemberRoleChanged,
    OrganizationCreated,
    OrganizationUpdated,
)
from app.blueprints.team.invitations import accept as accept_invitation
from app.blueprints.team.invitations import invitation_for_token
from app.blueprints.team.models import Invitation, Membership, Organization
from app.blueprints.team.permissions import Permission, Role, can, require
from app.blueprints.team.service import (
    adopt_country_guess,
    clean_country,
    create_organization,
    default_currency,
    membership_for,
    people,
    phone_region,
)

__all__ = [
    "ActivityEntry", "ActivityQuery", "Invitation", "MemberJoined", "MemberRemoved", "MemberRoleChanged",
    "Membership", "Organization", "OrganizationCreated", "OrganizationUpdated", "Permission", "Role",
    "accept_invitation", "adopt_country_guess", "can", "clean_country", "create_organization",
    "default_currency", "invitation_for_token", "membership_for", "narrow_activity", "people",
    "phone_region", "register_activity_source", "require",
]
