"""What open pages receive when the team or the organization changes.

The service emits the change (``team.events``); the subscribers here ring the organization's
doorbell once it committed, and the renderers turn the ring into each viewer's fragment.
"""

from __future__ import annotations

from jinja2_fragments.flask import render_block
from sqlalchemy import select

from app.blueprints.team.events import MemberJoined, MemberRemoved, MemberRoleChanged, OrganizationUpdated
from app.blueprints.team.models import Membership, Organization
from app.blueprints.team.permissions import Permission, Role, can
from app.events import subscribe
from app.extensions import db
from app.realtime import (
    CLOSE_REMOVED,
    CLOSE_RIGHTS_CHANGED,
    Connection,
    close_sockets_now,
    oob,
    publish_now,
    renderer,
)

ROLE_CHOICES = [(r.value, r.label) for r in Role]


def ring_org_updated(event: OrganizationUpdated) -> None:
    """Open pages show the organization's name in the sidebar: they re-render it."""
    publish_now(event.org_id, "org.updated")


def ring_member_updated(event: MemberRoleChanged) -> None:
    """Open team pages re-render the member's role cell (all but the actor's: see ``member_role``)."""
    publish_now(event.org_id, "member.updated", membership_id=event.membership_id,
                actor_id=event.actor_id)


@renderer("org.updated")
def org_name(event: dict, viewer: Connection) -> str | None:
    org = db.session.get(Organization, event["org_id"])
    if org is None:
        return None
    return oob(render_block("layouts/app.html", "org_name", org=org))


@renderer("member.updated")
def member_role(event: dict, viewer: Connection) -> str | None:
    if viewer.user_id == event.get("actor_id"):
        return None  # their page has the answer; a push would replace the form while it waits for it
    member = db.session.get(Membership, event["membership_id"])
    if member is None or member.org_id != event["org_id"]:
        return None
    return oob(render_block("team/members.html", "member_role", **member_role_context(
        member, viewer.user_id, viewer.role)))


def member_role_context(member: Membership, viewer_id: int, viewer_role: str) -> dict:
    """What the ``member_role`` block needs, for the page, the HTMX answer and live pushes alike."""
    return {"member": member, "viewer_id": viewer_id, "role_choices": ROLE_CHOICES,
            "manageable": can(viewer_role, Permission.MEMBERS_MANAGE)}


def reconnect_with_new_rights(event: MemberRoleChanged) -> None:
    """A socket's role is fixed at its handshake: close the member's sockets in the organization
    so that they reconnect as the role they hold now (a demoted manager stops hearing chats he may
    no longer read)."""
    close_sockets_now(user_id=event.user_id, org_id=event.org_id, code=CLOSE_RIGHTS_CHANGED)


def cut_off_removed_member(event: MemberRemoved) -> None:
    """A removed member's open pages of the organization stop hearing it at once: their sockets
    close with ``CLOSE_REMOVED`` and the page reloads (into another organization of theirs, or
    their organizations page)."""
    close_sockets_now(user_id=event.user_id, org_id=event.org_id, code=CLOSE_REMOVED)


def ring_members_changed(event: MemberJoined | MemberRemoved) -> None:
    """Open team pages list the members anew (someone joined, left or was removed)."""
    publish_now(event.org_id, "members.changed")


@renderer("members.changed")
def members_table(event: dict, viewer: Connection) -> str | None:
    members = list(db.session.scalars(
        select(Membership).join(Membership.user).where(Membership.org_id == event["org_id"])
        .order_by(Membership.user.property.mapper.class_.name)))
    return oob(render_block("team/members.html", "members_table", members=members,
                            viewer_id=viewer.user_id, role_choices=ROLE_CHOICES,
                            manageable=can(viewer.role, Permission.MEMBERS_MANAGE)))


subscribe(OrganizationUpdated, ring_org_updated)
subscribe(MemberRemoved, cut_off_removed_member)
subscribe((MemberJoined, MemberRemoved), ring_members_changed)
subscribe(MemberRoleChanged, reconnect_with_new_rights)
subscribe(MemberRoleChanged, ring_member_updated)
