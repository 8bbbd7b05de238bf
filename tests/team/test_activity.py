"""The activity log: every member's actions from the audit log, the records, the inbox and the
pipeline in one stream, filtered, paged without skipping an entry, and exported as CSV."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest

from app import audit
from app.blueprints.crm.models import Activity
from app.blueprints.crm.records import service as records
from app.blueprints.pipeline.moves import move_to_stage
from app.blueprints.pipeline.service import stages
from app.blueprints.team import activity
from app.blueprints.team.permissions import Role
from app.db_types import utcnow
from app.extensions import db
from tests.conftest import sign_in_as
from tests.factories import add_member, make_account, make_chat, make_contact, make_deal, make_message


@pytest.fixture
def busy(owner):
    """An agent who signed in, changed a contact, wrote in a chat and moved a deal."""
    agent = add_member(owner.organization, role=Role.AGENT)
    audit.record("auth.sign_in", org_id=owner.org_id, actor_id=agent.user_id, ip="10.0.0.7")
    contact = make_contact(agent, first_name="Olga", last_name="Ivanova")
    records.update_record(agent, "contact", contact.id, {"title": "CTO"})
    chat = make_chat(make_account(owner.organization), title="Olga Ivanova")
    make_message(chat, "Let us meet on Tuesday", out=True, author_id=agent.user_id)
    deal = make_deal(agent, title="Pilot")
    move_to_stage(agent, deal, stages(owner.org_id)[1])
    db.session.commit()
    return agent


def texts(page) -> list[str]:
    return [entry.summary for entry in page.entries]


def query(owner, **filters) -> activity.ActivityQuery:
    return activity.ActivityQuery(org_id=owner.org_id, **filters)


def test_every_source_shows_what_the_member_did_newest_first(owner, busy):
    page = activity.activity(owner, query(owner, actor_id=busy.user_id))
    groups = [entry.group for entry in page.entries]
    assert {"sign_ins", "records", "messages", "moves"} <= set(groups)
    summaries = texts(page)
    assert "Change · Contact «Olga Ivanova»" in summaries
    assert "Message to Olga Ivanova: Let us meet on Tuesday" in summaries
    assert any(s.startswith("Deal «Pilot» moved from") for s in summaries)
    assert [e.at for e in page.entries] == sorted((e.at for e in page.entries), reverse=True)
    sign_in = next(e for e in page.entries if e.group == "sign_ins")
    assert sign_in.ip == "10.0.0.7" and sign_in.summary == "Signed in"


def test_the_log_narrows_to_a_member_and_a_kind(owner, busy):
    make_contact(owner, first_name="Owner's own")
    messages = activity.activity(owner, query(owner, group="messages"))
    assert [e.group for e in messages.entries] == ["messages"]
    owners = activity.activity(owner, query(owner, actor_id=owner.user_id, group="records"))
    [created] = texts(owners)
    assert created.startswith("Creation · Contact «Owner's own Lee")
    assert all(e.actor_id == owner.user_id for e in owners.entries)


def test_entries_of_one_instant_are_paged_without_skipping_or_repeating_any(owner):
    contact = make_contact(owner)
    at = utcnow()
    db.session.add_all([Activity(org_id=owner.org_id, subject_type="contact", subject_id=contact.id,
                                 kind="updated", actor_id=owner.user_id, data={}, created_at=at)
                        for _ in range(120)])
    audit.record("member.role_changed", org_id=owner.org_id, actor_id=owner.user_id)
    db.session.commit()
    db.session.query(audit.AuditEvent).update({"created_at": at})
    db.session.commit()
    seen, cursor = [], None
    for _ in range(10):
        page = activity.activity(owner, query(owner, before=cursor), limit=50)
        seen += [(e.rank, e.row_id) for e in page.entries]
        if page.older is None:
            break
        cursor = page.older
    assert len(seen) == len(set(seen)) == 122  # 120 changes, the creation, the audit row


def test_days_are_utc_days_inclusive(owner, busy):
    today = utcnow().date()
    assert activity.activity(owner, query(owner, date_from=today, date_to=today)).entries
    assert activity.activity(owner, query(owner, date_to=today - timedelta(days=1))).entries == []


def test_the_page_is_for_owners_and_admins_and_names_bad_filters(client, owner, busy):
    sign_in_as(client, busy)
    assert client.get("/settings/activity").status_code == 403
    sign_in_as(client, owner)
    page = client.get(f"/settings/activity?member={busy.user_id}")
    assert page.status_code == 200 and "Message to Olga Ivanova" in page.get_data(as_text=True)
    bad = client.get("/settings/activity?what=everything&from=yesterday&before=x")
    assert bad.status_code == 422
    assert 'aria-invalid="true"' in bad.get_data(as_text=True)


def test_the_log_downloads_as_csv_with_the_same_filters(client, owner, busy):
    sign_in_as(client, owner)
    response = client.get(f"/settings/activity.csv?member={busy.user_id}&what=messages")
    assert response.mimetype == "text/csv"
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text[1:])))
    assert rows[0] == ["When (UTC)", "Member", "What", "Summary", "Details", "IP"]
    assert [row[2:4] for row in rows[1:]] == [["Messages sent", "Message to Olga Ivanova: Let us meet on Tuesday"]]
    assert rows[1][1] == busy.user.name
