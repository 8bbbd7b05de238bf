from datetime import timedelta

from app.blueprints.crm.models import Contact
from app.blueprints.crm.records import service
from app.blueprints.crm.records.maintenance import purge_expired_trash
from app.db_types import utcnow
from app.extensions import db
from tests.factories import make_contact, make_member
from workers.clock import build_scheduler


def test_purge_deletes_only_what_has_been_in_the_trash_over_thirty_days():
    owner = make_member()
    old, recent, live = (make_contact(owner).id for _ in range(3))
    service.trash_records(owner, "contact", [old, recent])
    db.session.get(Contact, old).deleted_at = utcnow() - timedelta(days=31)
    db.session.get(Contact, recent).deleted_at = utcnow() - timedelta(days=29)
    db.session.commit()
    assert purge_expired_trash() == 1
    db.session.expunge_all()
    assert db.session.get(Contact, old) is None
    assert db.session.get(Contact, recent) is not None and db.session.get(Contact, live) is not None


def test_the_clock_schedules_the_daily_purge():
    scheduler = build_scheduler()
    jobs = {job.func_name: job for job in scheduler._cron_jobs}
    assert "app.blueprints.crm.records.maintenance.purge_expired_trash" in jobs
