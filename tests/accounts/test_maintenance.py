"""The clock's purge of QR sign-ins nobody finished, and how the list treats them meanwhile."""

from datetime import timedelta

from sqlalchemy import select

from app.blueprints.accounts import maintenance, service
from app.blueprints.accounts.models import BDAccount, bd_account_agent
from app.blueprints.team.permissions import Role
from app.db_types import utcnow
from app.extensions import db, redis_store
from app.integrations.telegram import leases
from tests.factories import add_member, give_account, make_account, make_member
from workers.clock import build_scheduler

LONG_AGO = utcnow() - service.QR_LOGIN_EXPIRY - timedelta(minutes=1)


def pending_qr(org, when=LONG_AGO, **fields) -> BDAccount:
    fields = {"status": "connecting", "display_name": None, **fields}
    return make_account(org, phone=f"qr:{fields.pop('tag', 'a1b2c3')}", created_at=when, updated_at=when,
                        **fields)


def remaining() -> set[int]:
    db.session.expunge_all()
    return set(db.session.scalars(select(BDAccount.id)))


def never_asked(op, **kwargs):
    raise AssertionError(f"unexpected control call {op}")


def test_an_old_unfinished_qr_sign_in_is_deleted_and_everything_else_kept(owner):
    org = owner.organization
    old = pending_qr(org, tag="0ld")
    give_account(old, add_member(org, role=Role.AGENT))
    pending_qr(org, tag="dr0pped", status="needs_login")  # the process gave up on it
    fresh = pending_qr(org, tag="fresh", when=utcnow() - timedelta(minutes=2))
    connected = pending_qr(org, tag="online", status="online", sealed_session="sealed", telegram_user_id=1,
                           connected_at=LONG_AGO, display_name="Ann")
    signed_out = pending_qr(org, tag="out", status="needs_login", telegram_user_id=2, connected_at=LONG_AGO)
    by_phone = make_account(org, status="connecting", display_name=None, created_at=LONG_AGO,
                            updated_at=LONG_AGO)
    pending_qr(make_member(Role.OWNER).organization, tag="other")
    kept = {fresh.id, connected.id, signed_out.id, by_phone.id}
    assert service.purge_abandoned_qr_logins(never_asked) == 3  # old, dropped and the other org's
    db.session.commit()
    assert remaining() == kept
    assert db.session.scalar(select(bd_account_agent.c.account_id)) is None  # its agent rows went with it


def test_a_login_client_a_process_still_holds_is_dropped_through_the_disconnect_op(owner):
    held = pending_qr(owner.organization, tag="held")
    leases.acquire(redis_store.client, held.id, "worker-1")
    asked = []
    assert service.purge_abandoned_qr_logins(lambda op, **kw: asked.append((op, kw)) or {}) == 1
    assert asked == [("account.disconnect", {"account_id": held.id})]


def test_the_job_commits_the_purge_and_the_clock_runs_it_every_five_minutes(owner):
    pending_qr(owner.organization)
    assert maintenance.purge_abandoned_qr_logins() == 1
    assert remaining() == set()
    crons = {job.func_name: job.cron for job in build_scheduler()._cron_jobs}
    assert crons["app.blueprints.accounts.maintenance.purge_abandoned_qr_logins"] == "*/5 * * * *"


def test_an_expired_qr_sign_in_is_not_listed_before_the_purge(owner, owner_client):
    old = pending_qr(owner.organization, tag="0ld")
    fresh = pending_qr(owner.organization, tag="fresh", when=utcnow())
    assert [a.id for a in service.visible_accounts(owner)] == [fresh.id]
    page = owner_client.get("/accounts/").get_data(as_text=True)
    assert page.count("QR sign-in") == 1 and f"/accounts/{old.id}" not in page
