"""What other domains may use of team: organizations, memberships, roles and the permission
matrix, the people of an organization, the country its phone numbers are read in, its deals'
default currency, and team's events. The rest of the package is private."""

from app.blueprints.team.events import MemberRoleChanged, OrganizationCreated, OrganizationUpdated
from app.blueprints.team.models import Membership, Organization
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
    "MemberRoleChanged", "Membership", "Organization", "OrganizationCreated", "OrganizationUpdated",
    "Permission", "Role", "adopt_country_guess", "can", "clean_country", "create_organization",
    "default_currency", "membership_for", "people", "phone_region", "require",
]
