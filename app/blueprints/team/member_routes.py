"""The team page: members and their roles, invitations (send, send again, revoke), removing a
member with the handover of their things, and leaving the organization."""

from __future__ import annotations

from flask import current_app, flash, g, redirect, request, url_for
from flask_babel import get_locale, gettext
from flask_login import current_user

from app.blueprints.team import bp, invitations, leaving, live, service
from app.blueprints.team.member_forms import HandOverForm, InviteForm
from app.blueprints.team.permissions import Permission, Role, can
from app.db_types import utcnow
from app.errors import DomainError, Forbidden, NotFound, attach_to_form
from app.extensions import db, limiter
from app.htmx import render
from app.integrations.mail import external_url


def _secret() -> str:
    return current_app.config["SECRET_KEY"]


def _page(invite_form: InviteForm | None = None, status: int = 200, error: str | None = None):
    membership = g.membership
    members = service.list_members(membership)
    manageable = can(membership.role, Permission.MEMBERS_MANAGE)
    form = invite_form or InviteForm(language=str(get_locale()))
    return render("team/members.html", status=status, members=members, org=membership.organization,
                  role_choices=live.ROLE_CHOICES, viewer_id=membership.user_id, manageable=manageable,
                  invitations=invitations.pending_invitations(membership) if manageable else [],
                  invite_form=form, hand_over=HandOverForm(), error=error,
                  verified=current_user.email_verified, now=utcnow(),
                  last_owner=membership.role == Role.OWNER.value
                  and sum(m.role == Role.OWNER.value for m in members) == 1)


@bp.get("/members")
def members():
    return _page()


@bp.post("/members/<int:member_id>/role")
def change_role(member_id: int):
    member = service.change_role(g.membership, member_id, request.form.get("role", ""),
                                 ip=request.remote_addr)
    db.session.commit()
    toast = gettext("%(name)s is now %(role)s.", name=member.user.name, role=member.role_enum.label)
    return render("team/members.html", block="member_role", toast=toast,
                  **live.member_role_context(member, g.membership.user_id, g.membership.role))


@bp.post("/members/invite")
@limiter.limit("30 per hour", key_func=lambda: f"invite:{g.membership.org_id}")
def invite():
    form = InviteForm()
    if form.validate_on_submit():
        try:
            invitation = invitations.invite(g.membership, email=form.email.data, role=form.role.data,
                                            language=form.language.data, secret=_secret(),
                                            link=external_url, ip=request.remote_addr)
        except (Forbidden, NotFound):
            raise  # the refusal's own answer (a toast on the page, an error page without htmx)
        except DomainError as err:  # the form again, with what to change (422: htmx swaps it in)
            db.session.rollback()
            attach_to_form(form, err)
            return _page(form, status=422, error=err.message)
        db.session.commit()
        flash(gettext("Invitation sent to %(email)s.", email=invitation.email), "success")
        return redirect(url_for("team.members"))
    return _page(form, status=422)


@bp.post("/invitations/<int:invitation_id>/resend")
@limiter.limit("30 per hour", key_func=lambda: f"invite:{g.membership.org_id}")
def resend_invitation(invitation_id: int):
    invitation = invitations.resend(g.membership, invitation_id, secret=_secret(), link=external_url,
                                    ip=request.remote_addr)
    db.session.commit()
    flash(gettext("Invitation sent again to %(email)s; the link sent before no longer works.",
                  email=invitation.email), "success")
    return redirect(url_for("team.members"))


@bp.post("/invitations/<int:invitation_id>/revoke")
def revoke_invitation(invitation_id: int):
    invitation = invitations.revoke(g.membership, invitation_id, ip=request.remote_addr)
    db.session.commit()
    flash(gettext("The invitation to %(email)s is revoked.", email=invitation.email), "success")
    return redirect(url_for("team.members"))


@bp.post("/members/<int:member_id>/remove")
def remove_member(member_id: int):
    try:
        heir = leaving.remove_member(g.membership, member_id, reassign_to=HandOverForm().reassign_to.data,
                                     ip=request.remote_addr)
    except (Forbidden, NotFound):
        raise
    except DomainError as err:
        db.session.rollback()
        return _page(status=422, error=err.message)
    db.session.commit()
    flash(gettext("The member is removed; their records, deals, chats and accounts are now %(name)s's.",
                  name=heir.user.name), "success")
    return redirect(url_for("team.members"))


@bp.post("/members/leave")
def leave():
    org_name = g.membership.organization.name
    try:
        leaving.leave(g.membership, reassign_to=HandOverForm().reassign_to.data, ip=request.remote_addr)
    except (Forbidden, NotFound):
        raise
    except DomainError as err:
        db.session.rollback()
        return _page(status=422, error=err.message)
    db.session.commit()
    flash(gettext("You left %(org)s.", org=org_name), "success")
    return redirect(url_for("core.home"))
