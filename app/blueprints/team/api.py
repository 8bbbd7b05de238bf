"""``/api/team``: the organization's members, their roles, invitations and removal, over the same
services as the team page. Removing a member names who receives their things (``reassign_to``)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, g, jsonify, request
from flask_babel import get_locale

from app.api.auth import json_body, per_member_limit, protect
from app.api.docs import ID, documented, integer, obj, string
from app.blueprints.team import invitations, leaving, service
from app.blueprints.team.models import Invitation, Membership
from app.blueprints.team.permissions import Permission, Role, require
from app.extensions import db
from app.i18n import LANGUAGES
from app.integrations.mail import external_url

bp = protect(Blueprint("team_api", __name__, url_prefix="/api/team"))
per_user = per_member_limit("team_api")

ROLES = [r.value for r in Role]
TIME = string(format="date-time")
MEMBER = obj(["id", "user_id", "name", "email", "role", "joined_at", "email_verified"],
             id=integer(description="the membership's id (the path's <member_id>)"), user_id=integer(),
             name=string(), email=string(), role=string(enum=ROLES), joined_at=TIME,
             email_verified={"type": "boolean"})
INVITATION = obj(["id", "email", "role", "invited_by", "created_at", "expires_at", "sent_count"],
                 id=integer(), email=string(), role=string(enum=ROLES),
                 invited_by={"type": ["integer", "null"], "description": "the inviter's user id"},
                 created_at=TIME, expires_at=TIME, sent_count=integer())
MEMBER_NOT_FOUND = "No such member in your organization"
CHANGED_MEANWHILE = "The member was removed or changed by another request meanwhile: reload and try again"


def member_json(member: Membership) -> dict[str, Any]:
    return {"id": member.id, "user_id": member.user_id, "name": member.user.name, "email": member.user.email,
            "role": member.role, "joined_at": member.created_at.isoformat(),
            "email_verified": member.user.email_verified_at is not None}


def invitation_json(invitation: Invitation) -> dict[str, Any]:
    return {"id": invitation.id, "email": invitation.email, "role": invitation.role,
            "invited_by": invitation.invited_by_id, "created_at": invitation.created_at.isoformat(),
            "expires_at": invitation.expires_at.isoformat(), "sent_count": invitation.sent_count}


@bp.get("/members")
@per_user
@documented("The organization's members, by name", tag="team",
            responses={200: {"description": "Members", "schema": obj(["items"], items={
                "type": "array", "items": MEMBER})}})
def list_members():
    return jsonify({"items": [member_json(m) for m in service.list_members(g.membership)]})


@bp.post("/members/invite")
@per_user
@documented("Invite someone by email with a role: they are mailed a link that works once, for 7 days",
            tag="team",
            body=obj(["email", "role"], email=string(minLength=1, maxLength=254), role=string(enum=ROLES),
                     language=string(enum=list(LANGUAGES),
                                     description="the mail's language (absent: the request's)")),
            responses={201: {"description": "The invitation", "schema": INVITATION},
                       403: "Owners and admins only, with a confirmed address; nobody invites above "
                            "their own role",
                       409: "The address is a member already, or invited already",
                       422: "Not an email address"})
def invite():
    data = json_body()
    language = data.get("language") or str(get_locale())
    invitation = invitations.invite(g.membership, email=data["email"], role=data["role"], language=language,
                                    secret=current_app.config["SECRET_KEY"], link=external_url,
                                    ip=request.remote_addr)
    db.session.commit()
    response = jsonify(invitation_json(invitation))
    response.status_code = 201
    return response


@bp.put("/members/<int:member_id>/role")
@per_user
@documented("Give a member another role", tag="team", body=obj(["role"], role=string(enum=ROLES)),
            responses={200: {"description": "The member", "schema": MEMBER},
                       403: "Owners and admins only; only an owner grants or removes the owner role",
                       404: MEMBER_NOT_FOUND, 409: CHANGED_MEANWHILE,
                       422: "It would leave the organization without an owner"})
def change_role(member_id: int):
    member = service.change_role(g.membership, member_id, json_body()["role"], ip=request.remote_addr)
    db.session.commit()
    return jsonify(member_json(member))


@bp.delete("/members/<int:member_id>")
@per_user
@documented("Remove a member: their records, deals, chats and Telegram accounts go to reassign_to, and "
            "their sessions, sockets and tokens of this organization stop at once", tag="team",
            params=[{"name": "reassign_to", "in": "query", "required": True,
                     "description": "the user id of the member who receives their things",
                     "schema": ID}],
            responses={204: "Removed",
                       403: "Owners and admins only, never oneself (leave instead), never above one's role",
                       404: MEMBER_NOT_FOUND, 409: CHANGED_MEANWHILE,
                       422: "The last owner, or reassign_to is not another member"})
def remove_member(member_id: int):
    leaving.remove_member(g.membership, member_id, reassign_to=g.args.get("reassign_to"),
                          ip=request.remote_addr)
    db.session.commit()
    return "", 204


@bp.get("/invitations")
@per_user
@documented("The organization's pending invitations (expired ones included: they can be sent again), "
            "newest first", tag="team",
            responses={200: {"description": "Invitations", "schema": obj(["items"], items={
                "type": "array", "items": INVITATION})}, 403: "Owners and admins only"})
def list_invitations():
    require(g.membership, Permission.MEMBERS_MANAGE)
    return jsonify({"items": [invitation_json(i) for i in invitations.pending_invitations(g.membership)]})
