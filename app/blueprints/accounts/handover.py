"""A member who leaves hands the Telegram accounts given to them to the member chosen to keep
them (``team.MemberRemoved``, in the removal's transaction): an account an agent worked is not
left with nobody to read it."""

from __future__ import annotations

from sqlalchemy import delete, insert, select

from app.blueprints.accounts.models import BDAccount, bd_account_agent
from app.blueprints.team.public import MemberRemoved
from app.events import subscribe
from app.extensions import db


def hand_over_accounts(event: MemberRemoved) -> None:
    agents = bd_account_agent.c
    theirs = select(agents.account_id).join(BDAccount, BDAccount.id == agents.account_id).where(
        BDAccount.org_id == event.org_id, agents.user_id == event.user_id)
    already = select(agents.account_id).where(agents.user_id == event.reassign_to)
    given = list(db.session.scalars(theirs.where(agents.account_id.not_in(already))))
    if given:
        db.session.execute(insert(bd_account_agent), [{"account_id": a, "user_id": event.reassign_to}
                                                      for a in given])
    db.session.execute(delete(bd_account_agent).where(agents.user_id == event.user_id,
                                                      agents.account_id.in_(theirs.scalar_subquery())))


subscribe(MemberRemoved, hand_over_accounts, in_transaction=True)
