"""The audit log: readable events, filters by member, event and day, pages, tenancy; and the
entries accounts and imports add (issue 14, item 8)."""

from __future__ import annotations

import ast
import io
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from app import audit
from app.audit import AuditEvent
from app.blueprints.accounts import store
from app.blueprints.crm import importing
from app.blueprints.crm.importing import jobs as import_jobs
from app.blueprints.team import service
from app.blueprints.team.permissions import Role
from app.errors import DomainError
from app.extensions import db
from tests.conftest import csrf_token, sign_in_as
from tests.factories import add_member, make_account, make_member, make_user

HX = {"HX-Request": "true"}
ROOT = Path(__file__).resolve().parents[2]


def at(day: str, action: str, member, **fields) -> AuditEvent:
    event = audit.record(action, org_id=member.org_id, actor_id=member.user_id, **fields)
    event.created_at = datetime.fromisoformat(day).replace(tzinfo=UTC)
    db.session.commit()
    return event


def shown(client, **args) -> tuple[int, str]:
    response = client.get("/settings/audit", query_string=args)
    return response.status_code, response.get_data(as_text=True)


def rows(html: str) -> int:
    return html.split("<tbody>")[1].count("<tr>") if "<tbody>" in html else 0


# -- what people read ---------------------------------------------------------------------------

def test_every_action_the_code_records_has_a_readable_name():
    recorded = set()
    for path in (ROOT / "app").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in (
                    "record", "_audit") and node.args and isinstance(node.args[0], ast.Constant | ast.IfExp):
                values = [node.args[0]] if isinstance(node.args[0], ast.Constant) else [
                    node.args[0].body, node.args[0].orelse]
                recorded |= {v.value for v in values if isinstance(v, ast.Constant) and "." in str(v.value)}
    assert {"auth.sign_in", "account.connected", "import.failed"} <= recorded
    assert recorded <= set(audit.ACTIONS), recorded - set(audit.ACTIONS)


def test_an_action_reads_as_words_and_an_unknown_code_as_itself():
    assert audit.label("auth.sign_in") == "Signed in"
    assert audit.label("auth.sign_in_failed") == "Sign-in failed"
    assert audit.label("something.new") == "something.new"


def test_details_read_as_words_with_members_by_name(owner):
    event = audit.record("member.role_changed", org_id=owner.org_id, user_id=7, old="agent", new="manager")
    assert audit.details(event, {7: "Sam Okafor"}) == [("Member", "Sam Okafor"), ("Before", "Agent"),
                                                        ("After", "Manager")]  # roles by name
    changed = audit.record("org.updated", org_id=owner.org_id,
                           changes={"default_country": [None, "GB"], "name": ["Old", "New"]})
    assert audit.details(changed) == [("Default country", "none → GB"), ("Name", "Old → New")]
    assert audit.details(audit.record("import.finished", dry_run=False, rows=2)) == [("Dry run", "no"),
                                                                                       ("Rows", "2")]


def test_the_page_shows_readable_names_and_details(owner_client, owner):
    agent = add_member(owner.organization, user=make_user(name="Sam Okafor"), role=Role.AGENT)
    audit.record("member.role_changed", org_id=owner.org_id, actor_id=owner.user_id, target=agent,
                 user_id=agent.user_id, old="agent", new="manager")
    db.session.commit()
    status, html = shown(owner_client)
    assert status == 200
    assert '<span class="audit-action" data-action="member.role_changed">Role changed</span>' in html
    assert "Member: Sam Okafor; Before: Agent; After: Manager" in html


# -- filters and pages --------------------------------------------------------------------------

@pytest.fixture
def history(owner):
    other = add_member(owner.organization, user=make_user(name="Sam Okafor"), role=Role.ADMIN)
    at("2026-03-01T09:00:00", "auth.sign_in", owner)
    at("2026-03-02T23:59:59", "auth.sign_in", other)
    at("2026-03-03T00:00:00", "org.updated", owner, changes={"name": ["A", "B"]})
    at("2026-03-05T12:00:00", "auth.sign_in_failed", other, email="sam@example.com")
    return other


def test_each_filter_narrows_the_log(owner_client, owner, history):
    assert rows(shown(owner_client)[1]) == 4
    assert rows(shown(owner_client, member=history.user_id)[1]) == 2
    assert rows(shown(owner_client, event="auth.sign_in")[1]) == 2
    assert rows(shown(owner_client, member=history.user_id, event="auth.sign_in")[1]) == 1
    assert rows(shown(owner_client, **{"from": "2026-03-02"})[1]) == 3  # from the start of the day
    assert rows(shown(owner_client, to="2026-03-02")[1]) == 2  # to its last second, inclusive
    assert rows(shown(owner_client, **{"from": "2026-03-02", "to": "2026-03-03"})[1]) == 2
    status, html = shown(owner_client, event="auth.sign_in", **{"from": "2026-04-01"})
    assert status == 200 and "Nothing matches" in html


def test_the_filter_form_gets_only_the_results_over_htmx_and_keeps_the_choices_without(owner_client, history):
    partial = owner_client.get("/settings/audit?event=auth.sign_in_failed", headers=HX).get_data(as_text=True)
    assert partial.lstrip().startswith('<div id="audit-results"') and "<form" not in partial
    assert rows(partial) == 1 and "Sign-in failed" in partial
    whole = shown(owner_client, event="auth.sign_in_failed", member=history.user_id)[1]
    assert '<option value="auth.sign_in_failed" selected>' in whole
    assert f'<option value="{history.user_id}" selected>Sam Okafor</option>' in whole
    empty = owner_client.get("/settings/audit?event=account.removed", headers=HX)
    assert empty.status_code == 200 and "Nothing matches" in empty.get_data(as_text=True)


def test_the_log_pages_back_with_older_links_and_nothing_twice(owner_client, owner):
    for n in range(service.AUDIT_PAGE + 7):
        audit.record("auth.sign_in", org_id=owner.org_id, actor_id=owner.user_id, n=n)
    db.session.commit()
    first = shown(owner_client, event="auth.sign_in")[1]
    assert rows(first) == service.AUDIT_PAGE
    older = re.search(r'href="(/settings/audit\?[^"]*before=\d+[^"]*)"[^>]*>Older', first).group(1)
    assert "event=auth.sign_in" in older.replace("&amp;", "&")
    second = owner_client.get(older.replace("&amp;", "&")).get_data(as_text=True)
    assert rows(second) == 7 and ">Older<" not in second and ">Newest<" in second
    seen = re.findall(r"N: (\d+)", first) + re.findall(r"N: (\d+)", second)
    assert sorted(map(int, seen)) == list(range(service.AUDIT_PAGE + 7))


@pytest.mark.parametrize(("args", "field", "message"), [
    ({"from": "2026-13-45"}, "from", "Write the date as YYYY-MM-DD."),
    ({"to": "yesterday"}, "to", "Write the date as YYYY-MM-DD."),
    ({"from": "2026-03-05", "to": "2026-03-01"}, "to", "The end date is before the start date."),
    ({"event": "auth.nonsense"}, "event", "Pick an event from the list."),
    ({"member": "abc"}, "member", "Pick a member of this organization from the list."),
    ({"before": "-1"}, "before", "Not a page of this log."),
])
def test_a_filter_that_is_not_valid_is_a_clear_422(owner_client, history, args, field, message):
    status, html = shown(owner_client, **args)
    assert status == 422 and message in html and rows(html) == 0
    partial = owner_client.get("/settings/audit", query_string=args, headers=HX)
    assert partial.status_code == 422 and message in partial.get_data(as_text=True)
    with pytest.raises(DomainError) as caught:
        service.audit_query(history.org_id, args)
    assert field in caught.value.fields


def test_the_last_day_there_is_is_no_error(owner_client, history):
    assert shown(owner_client, to="9999-12-31")[0] == 200


def test_another_organizations_rows_and_members_never_show(owner_client, owner, history):
    stranger = make_member(Role.OWNER)
    stranger.user.name = "Stranger Danger"
    db.session.commit()
    at("2026-03-04T10:00:00", "auth.sign_in", stranger, email="stranger@example.com")
    status, html = shown(owner_client)
    assert rows(html) == 4 and "Stranger Danger" not in html and "stranger@example.com" not in html
    status, html = shown(owner_client, member=stranger.user_id)  # not one of ours: refused, nothing shown
    assert status == 422 and "stranger@example.com" not in html
    page = service.audit_log(owner, service.AuditQuery(action="auth.sign_in"))
    assert {e.org_id for e in page.events} == {owner.org_id}


@pytest.mark.parametrize("role", [Role.MANAGER, Role.AGENT])
def test_only_owners_and_admins_read_the_log(client, owner, role):
    sign_in_as(client, add_member(owner.organization, role=role))
    assert client.get("/settings/audit").status_code == 403


# -- what accounts and imports record -----------------------------------------------------------

def only(action: str) -> AuditEvent:
    db.session.expire_all()
    [row] = db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)).all()
    return row


def test_a_finished_sign_in_is_audited_as_who_started_it_else_who_added_the_account(owner):
    admin = add_member(owner.organization, role=Role.ADMIN)
    account = make_account(owner.organization, phone="+447700900123", status="connecting",
                           display_name=None, created_by_id=owner.user_id)
    store.save_login(account.id, "sealed", telegram_user_id=1, username="ann", display_name="Ann Sales",
                     actor_id=admin.user_id)
    db.session.commit()
    row = only("account.connected")
    assert (row.org_id, row.actor_id, row.target_type, row.target_id) == (owner.org_id, admin.user_id,
                                                                          "bdaccount", account.id)
    assert row.detail == {"name": "Ann Sales", "username": "ann", "phone": "+447700900123"}
    qr = make_account(owner.organization, phone="qr:abc", status="connecting", created_by_id=owner.user_id)
    store.save_login(qr.id, "sealed", telegram_user_id=2, username=None, display_name="Bo")
    db.session.commit()
    rows_ = db.session.scalars(select(AuditEvent).where(AuditEvent.target_id == qr.id)).all()
    assert [(r.actor_id, r.detail["phone"]) for r in rows_] == [(owner.user_id, None)]
    assert not store.save_login(10**6, "sealed", telegram_user_id=3, username=None, display_name="Gone")


def test_disconnecting_and_removing_are_audited_with_the_accounts_name(owner, owner_client, peer):
    peer.on("account.disconnect", {})
    account = make_account(owner.organization, label="Sales NL", sealed_session="sealed")
    token = csrf_token(owner_client, "/accounts/")
    headers = {"X-CSRFToken": token}
    assert owner_client.post(f"/accounts/{account.id}/disconnect", headers=headers).status_code == 302
    assert owner_client.post(f"/accounts/{account.id}/delete", headers=headers).status_code == 302
    for action in ("account.disconnected", "account.removed"):
        row = only(action)
        assert (row.actor_id, row.target_id, row.ip) == (owner.user_id, account.id, "127.0.0.1")
        assert row.detail == {"name": "Sales NL", "phone": account.phone}
    html = shown(owner_client)[1]
    assert "Account removed" in html and "Name: Sales NL" in html


def test_renaming_from_the_page_is_audited(owner, owner_client):
    account = make_account(owner.organization, display_name="Ann Telegram")
    token = csrf_token(owner_client, "/accounts/")
    owner_client.post(f"/accounts/{account.id}/label", data={"label": "Sales NL"},
                      headers={**HX, "X-CSRFToken": token})
    row = only("account.renamed")
    assert (row.actor_id, row.ip, row.detail) == (owner.user_id, "127.0.0.1", {"old": None, "new": "Sales NL"})
    assert "Account renamed" in shown(owner_client)[1]


def test_an_import_is_audited_when_it_starts_and_when_it_ends(owner):
    imp = importing.import_file(owner, "contact", "leads.csv", io.BytesIO(b"Email\na@example.com\nnope\n"),
                                mapping={"Email": "email"})
    db.session.commit()
    started = only("import.started")
    assert (started.actor_id, started.target_type, started.target_id) == (owner.user_id, "import", imp.id)
    assert started.detail == {"file": "leads.csv", "entity": "contact", "dedupe": "skip", "dry_run": False}
    import_jobs.run_import(imp.id)
    finished = only("import.finished")
    assert finished.actor_id == owner.user_id and finished.detail["file"] == "leads.csv"
    assert {k: finished.detail[k] for k in ("rows", "created", "updated", "skipped", "rejected")} == {
        "rows": 2, "created": 1, "updated": 0, "skipped": 0, "rejected": 1}


def test_a_failed_import_is_audited_with_its_reason(owner):
    agent = add_member(owner.organization, role=Role.AGENT)
    imp = importing.start_import(agent, "contact", "gone.csv", io.BytesIO(b"Email\na@example.com\n"))
    importing.queue_import(agent, imp, {"Email": "email"})
    db.session.delete(agent)
    db.session.commit()
    import_jobs.run_import(imp.id)
    failed = only("import.failed")
    assert failed.org_id == owner.org_id and failed.detail["file"] == "gone.csv"
    assert "no longer" in failed.detail["error"]
