"""CSV export: headers the import recognises, human values, formula-safe cells, streamed batches."""

import csv
import io

import pytest

from app.blueprints.crm.export.service import escape_cell, export_csv, unescape_cell
from app.blueprints.crm.models import CustomField
from app.blueprints.crm.records.queries import ListQuery
from app.blueprints.team.permissions import Role
from app.extensions import db
from tests.conftest import sign_in_as
from tests.crm.records.test_api import bearer
from tests.factories import add_member, make_company, make_contact, make_deal, make_member


@pytest.fixture
def owner():
    return make_member(Role.OWNER)


def rows_of(response) -> list[dict[str, str]]:
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")  # so spreadsheet programs read the file as UTF-8
    return list(csv.DictReader(io.StringIO(text[1:], newline="")))


def test_the_header_is_id_then_field_labels_then_custom_fields(client, owner):
    db.session.add(CustomField(org_id=owner.org_id, entity="company", key="tier", label="Tier"))
    db.session.commit()
    sign_in_as(client, owner)
    header = client.get("/export/companies").get_data(as_text=True).lstrip("\ufeff").splitlines()[0]
    assert header == "ID,Name,Domain,Website,Industry,Size,Owner,Tags,Notes,Custom: Tier"


def test_references_are_written_as_the_values_a_person_would_type(client, owner):
    db.session.add(CustomField(org_id=owner.org_id, entity="contact", key="score", label="Score",
                               kind="number"))
    db.session.commit()
    contact = make_contact(owner, first_name="Ada", email="ada@example.com", phone="+44 20 7946 0958",
                           company="Engines Ltd", tags="vip, london", do_not_contact=True,
                           **{"custom.score": "42"})
    sign_in_as(client, owner)
    [row] = rows_of(client.get("/export/contacts"))
    assert row["ID"] == str(contact.id) and row["First name"] == "Ada"
    assert row["Company"] == "Engines Ltd" and row["Owner"] == owner.user.email
    assert row["Tags"] == "london, vip" and row["Do not contact"] == "yes"
    assert row["Phone"] == "+442079460958"  # a plain number: no formula guard needed
    assert row["Custom: Score"] == "42" and row["Telegram user id"] == ""


def test_deals_export_stage_contact_and_value(client, owner):
    make_contact(owner, email="buyer@example.com")
    make_deal(owner, title="Pilot", contact="buyer@example.com", company="Acme", value="1250.5",
              stage="Won", expected_close="2026-03-01")
    sign_in_as(client, owner)
    [row] = rows_of(client.get("/export/deals"))
    assert (row["Title"], row["Stage"], row["Status"]) == ("Pilot", "Won", "won")
    assert (row["Contact"], row["Company"], row["Value"]) == ("buyer@example.com", "Acme", "1250.50")
    assert row["Expected close"] == "2026-03-01" and row["Currency"] == "USD"


def test_cells_that_spreadsheets_would_evaluate_are_neutralised(client, owner):
    db.session.add(CustomField(org_id=owner.org_id, entity="contact", key="ref", label="=Ref"))
    db.session.commit()
    make_contact(owner, first_name="=HYPERLINK(\"http://evil\")", last_name="@SUM(A1)",
                 title="+1+cmd|' /C calc'!A0", notes="-2+3", **{"custom.ref": "=1+1"})
    sign_in_as(client, owner)
    text = client.get("/export/contacts").get_data(as_text=True)
    [row] = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"), newline="")))
    assert row["First name"] == "'=HYPERLINK(\"http://evil\")" and row["Last name"] == "'@SUM(A1)"
    assert row["Title"] == "'+1+cmd|' /C calc'!A0" and row["Notes"] == "'-2+3"
    assert row["Custom: =Ref"] == "'=1+1"


@pytest.mark.parametrize("text", [
    "", "plain", "=1+1", "+44 20", "+442079460958", "-12.50", "-", "@x", "\tx", "\rx", "'", "'=x",
    "''=x", "'+1", "'hello", "=", "a=b",
])
def test_escaping_is_undone_exactly(text):
    assert unescape_cell(escape_cell(text)) == text


@pytest.mark.parametrize(("text", "escaped"), [
    ("=SUM(A1:A2)", "'=SUM(A1:A2)"), ("+442079460958", "+442079460958"), ("-5.00", "-5.00"),
    ("+44 (20) 7946", "'+44 (20) 7946"), ("@me", "'@me"), ("\t=1", "'\t=1"), ("'=1", "''=1"),
    ("Ada", "Ada"), ("1+1", "1+1"),
])
def test_what_gets_the_formula_guard(text, escaped):
    assert escape_cell(text) == escaped


def test_commas_quotes_newlines_and_unicode_survive_quoting(client, owner):
    notes = 'Met at "Expo", Berlin;\nfollow up\r\nin März — 日本'
    make_company(owner, name="Acme, Inc.", notes=notes)
    sign_in_as(client, owner)
    [row] = rows_of(client.get("/export/companies"))
    assert row["Name"] == "Acme, Inc." and row["Notes"] == notes


def test_the_export_is_a_streamed_attachment_of_the_filtered_list(client, owner):
    make_company(owner, name="Kept", tags="vip")
    make_company(owner, name="Filtered out")
    sign_in_as(client, owner)
    response = client.get("/export/companies?tag=vip&page=3&per_page=1")
    assert response.is_streamed
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="companies-')
    assert [row["Name"] for row in rows_of(response)] == ["Kept"]  # pagination does not apply


def test_the_export_leaves_out_the_trash_and_other_organizations(client, owner):
    make_contact(make_member(Role.OWNER), first_name="Foreign")
    gone = make_contact(owner, first_name="Gone")
    make_contact(owner, first_name="Here")
    from app.blueprints.crm.records import service

    service.trash_records(owner, "contact", [gone.id])
    db.session.commit()
    sign_in_as(client, owner)
    assert [r["First name"] for r in rows_of(client.get("/export/contacts"))] == ["Here"]
    assert [r["First name"] for r in rows_of(client.get("/export/contacts?trashed=1"))] == ["Gone"]


def test_rows_are_read_in_keyset_batches_in_id_order(owner):
    made = [make_company(owner, name=f"C{n}") for n in range(5)]
    chunks = list(export_csv(owner.org_id, "company", ListQuery(), batch=2))
    assert len(chunks) == 1 + 3  # the header, then batches of 2, 2 and 1 rows
    rows = list(csv.reader(io.StringIO("".join(chunks), newline="")))[1:]
    assert [int(r[0]) for r in rows] == [c.id for c in made]


def test_exporting_needs_a_signed_in_member(client):
    anonymous = client.get("/export/contacts")
    assert anonymous.status_code == 302 and "/auth/signin" in anonymous.location


def test_every_role_may_export(client, owner):
    agent = add_member(owner.organization, role=Role.AGENT)
    make_contact(owner)
    sign_in_as(client, agent)
    assert len(rows_of(client.get("/export/contacts"))) == 1


def test_the_api_exports_the_same_csv_with_a_token(client, owner):
    make_company(owner, name="Acme", tags="vip")
    make_company(owner, name="Other")
    response = client.get("/api/crm/companies/export?tag=vip", headers=bearer(owner))
    assert response.status_code == 200 and response.is_streamed
    assert [row["Name"] for row in rows_of(response)] == ["Acme"]
    assert client.get("/api/crm/companies/export?sort=nope", headers=bearer(owner)).status_code == 422


def _reimport(owner, entity: str, data: bytes) -> None:
    from app.blueprints.crm import importing

    imp = importing.import_file(owner, entity, f"{entity}.csv", io.BytesIO(data), dedupe="create")
    db.session.commit()
    for _ in importing.import_batches(imp.id):
        db.session.commit()
    db.session.refresh(imp)
    assert (imp.status, imp.rejected_count) == ("done", 0), imp.error


def _without_ids(data: bytes) -> list[list[str]]:
    return [row[1:] for row in csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""))]


def _export_trash_reimport_export(client, owner, entities: str = "contacts") -> tuple[bytes, bytes]:
    from app.blueprints.crm.records import service

    entity = {"contacts": "contact", "deals": "deal", "companies": "company"}[entities]
    sign_in_as(client, owner)
    first = client.get(f"/export/{entities}").get_data()
    ids = [int(row[0]) for row in list(csv.reader(io.StringIO(first.decode("utf-8-sig"))))[1:]]
    service.trash_records(owner, entity, ids)
    db.session.commit()
    _reimport(owner, entity, first)
    return first, client.get(f"/export/{entities}").get_data()


def test_an_export_re_imports_without_loss(client, owner):
    """Export, trash everything, import the file, export again: the same rows, ids aside."""
    make_contact(owner, first_name="Ada", last_name="Lovelace", email="ada@example.com",
                 phone="+44 20 7946 0958", telegram_username="ada_l", telegram_user_id="12345",
                 company="Engines, Ltd", title="Countess", timezone="Europe/London", tags="vip, london",
                 source="referral", do_not_contact=True, notes='Line one\nline "two", three; four')
    make_contact(owner, first_name="Bob")
    first, second = _export_trash_reimport_export(client, owner)
    assert len(_without_ids(first)) == 3
    assert _without_ids(second) == _without_ids(first)


def test_deals_re_import_without_loss(client, owner):
    colleague = add_member(owner.organization, role=Role.MANAGER)
    make_contact(owner, email="buyer@example.com")
    make_deal(owner, title="Pilot", contact="buyer@example.com", company="Acme", value="1250.50",
              currency="EUR", stage="Lost", lost_reason="price", probability="35",
              expected_close="2026-03-01", tags="q1", owner=colleague.user.email)
    make_deal(owner, title="Bare")
    first, second = _export_trash_reimport_export(client, owner, "deals")
    assert _without_ids(second) == _without_ids(first)


def test_formula_guarded_cells_and_custom_values_re_import_without_loss(client, owner):
    db.session.add(CustomField(org_id=owner.org_id, entity="contact", key="tier", label="Tier"))
    db.session.commit()
    make_contact(owner, first_name="=Ada", last_name="-Lovelace", title="@Countess", source="+referral",
                 **{"custom.tier": "Gold"})
    first, second = _export_trash_reimport_export(client, owner)
    assert _without_ids(second) == _without_ids(first)
