"""A member removed from an organization (or who left it) is signed out of it at once: their API
sign-ins in that organization are revoked in the removal's transaction (access tokens already stop:
each request finds no membership). Their browser sessions go on in their other organizations."""

from __future__ import annotations

from sqlalchemy import update

from app.blueprints.auth.models import RefreshToken
from app.blueprints.team.public import MemberRemoved
from app.db_types import utcnow
from app.events import subscribe
from app.extensions import db


def end_api_sign_ins(event: MemberRemoved) -> None:
    db.session.execute(update(RefreshToken).where(
        RefreshToken.user_id == event.user_id, RefreshToken.org_id == event.org_id,
        RefreshToken.revoked_at.is_(None)).values(revoked_at=utcnow())
        .execution_options(synchronize_session=False))


subscribe(MemberRemoved, end_api_sign_ins, in_transaction=True)
