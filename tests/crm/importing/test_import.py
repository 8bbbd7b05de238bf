import codecs
import csv
import io
from decimal import Decimal
from types import SimpleNamespace

import pytest
from rq import SimpleWorker
from sqlalchemy import func, select

from app.blueprints.crm import importing
from app.blueprints.crm.importing import jobs as import_jobs
from app.blueprints.crm.models import (
    Activity,
    Company,
    Contact,
    CustomField,
    Deal,
    Import,
    ImportChunk,
    ImportRejection,
    Tag,
)
from app.blueprints.crm.records import queries, service
from app.blueprints.team.permissions import Role
from app.errors import Conflict, DomainError, Forbidden
from app.extensions import db, redis_store
from app.jobs import Queues, queue
from tests.crm.importing.hostile_files import CountingStream, RepeatingStream, columns
from tests.factories import add_member, make_company, make_contact, make_deal, make_member

HEADER = "First name,Last name,Email,Phone,Telegram,Company,Tags\n"


@pytest.fixture
def owner():
    return make_member(Role.OWNER)


def upload(actor, data, entity="contact", filename="people.csv"):
    if isinstance(data, str):
        data = data.encode()
    imp = importing.start_import(actor, entity, filename, io.BytesIO(data))
    db.session.commit()
    return imp


def run(actor, data, entity="contact", mapping=None, dedupe="skip", dry_run=False) -> Import:
    """Upload, queue with the guessed (or given) mapping, and run the job as the worker would."""
    if isinstance(data, str):
        data = data.encode()
    imp = importing.import_file(actor, entity, "people.csv", io.BytesIO(data), mapping=mapping,
                                dedupe=dedupe, dry_run=dry_run)
    db.session.commit()
    import_jobs.run_import(imp.id)
    db.session.expire_all()
    return db.session.get(Import, imp.id)


def counts(imp):
    return imp.created_count, imp.updated_count, imp.skipped_count, imp.rejected_count


def rejections(imp, language="en"):
    """The import's rejected rows, each reason read in ``language`` (they are kept in every one)."""
    return [SimpleNamespace(row_number=r.row_number, raw=r.raw, reason=importing.in_language(r.reason, language))
            for r in db.session.scalars(select(ImportRejection).where(ImportRejection.import_id == imp.id)
                                        .order_by(ImportRejection.row_number))]


def live(model, org_id):
    return db.session.scalar(select(func.count()).select_from(model).where(
        model.org_id == org_id, model.deleted_at.is_(None)))


# -- reading the file --------------------------------------------------------------------------

@pytest.mark.parametrize(("encoding", "expected"), [
    ("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("utf-16", "utf-16"), ("cp1252", "cp1252")])
def test_the_encoding_is_recognized_and_accents_survive(owner, encoding, expected):
    imp = upload(owner, "First name,Email\nJosé,jose@example.com\n".encode(encoding))
    assert imp.encoding == expected
    assert importing.preview(imp).rows == [["José", "jose@example.com"]]
    assert imp.headers == ["First name", "Email"]


def test_utf16_as_excel_writes_it_tab_separated_with_crlf(owner):
    data = codecs.BOM_UTF16_LE + "Name\tE-mail\r\nZoë Ünal\tzoe@example.com\r\n".encode("utf-16-le")
    imp = upload(owner, data)
    assert (imp.encoding, imp.delimiter) == ("utf-16", "\t")
    assert importing.preview(imp).rows == [["Zoë Ünal", "zoe@example.com"]]


def test_utf16_without_a_byte_order_mark_is_still_read(owner):
    imp = upload(owner, "Email\na@example.com\n".encode("utf-16-le"))
    assert imp.encoding == "utf-16-le"
    assert importing.preview(imp).rows == [["a@example.com"]]


def test_a_file_that_is_not_utf8_is_read_as_windows_1252_and_the_preview_says_so(owner):
    imp = upload(owner, "Name;Email\nFrançois;f@example.com\n".encode("cp1252"))
    preview = importing.preview(imp)
    assert preview.rows == [["François", "f@example.com"]] and "Windows-1252" in preview.encoding_note
    assert preview.delimiter == "semicolon"


@pytest.mark.parametrize(("text", "delimiter"), [
    ("a,b,c\n1,2,3\n", ","), ("a;b;c\n1;2;3\n", ";"), ("a\tb\tc\n1\t2\t3\n", "\t"), ("a|b|c\n1|2|3\n", "|"),
    ('email,notes\nx@example.com,"one; two; three"\n', ","), ("email\nx@example.com\n", ",")])
def test_the_delimiter_is_sniffed(owner, text, delimiter):
    assert upload(owner, text).delimiter == delimiter


def test_quoted_newlines_and_delimiters_stay_inside_their_cell(owner):
    imp = run(owner, 'First name,Email,Notes\n"Ann","ann@example.com","line one\nline two, with a comma"\n'
                     'Bob,bob@example.com,plain\n')
    assert counts(imp) == (2, 0, 0, 0)
    ann = db.session.scalar(select(Contact).where(Contact.email == "ann@example.com"))
    assert ann.notes == "line one\nline two, with a comma"


@pytest.mark.parametrize(("data", "message"), [
    (b"", "empty"),
    (b"First name,Email\n", "no rows"),
    (b"First name,Email\n\n \n", "no rows"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "binary"),
    (b"PK\x03\x04\x14\x00\x06\x00workbook", "Excel"),
    (b"\n\n\n", "header"),
])
def test_unusable_files_are_refused_with_a_clear_message(owner, data, message):
    with pytest.raises(DomainError) as err:
        importing.start_import(owner, "contact", "x.csv", io.BytesIO(data))
    assert message in err.value.message and "file" in err.value.fields


def test_blank_and_duplicate_headers_get_distinct_names(owner):
    imp = upload(owner, "Email,,Email\na@example.com,x,y\n")
    assert imp.headers == ["Email", "Column 2", "Email (2)"]


def test_the_upload_is_stored_in_chunks_that_rebuild_the_file(owner, monkeypatch):
    monkeypatch.setattr(importing.upload, "CHUNK_BYTES", 64)
    data = HEADER + "".join(f"Ann,Lee {n},ann{n}@example.com,,,,\n" for n in range(50))
    imp = upload(owner, data)
    chunks = db.session.scalars(select(ImportChunk.data).where(ImportChunk.import_id == imp.id)
                                .order_by(ImportChunk.seq)).all()
    assert len(chunks) > 10 and b"".join(chunks) == data.encode() and imp.size_bytes == len(data)
    import_jobs.run_import(importing.queue_import(owner, imp, importing.guess_mapping(
        owner.org_id, "contact", imp.headers)).id)
    assert db.session.get(Import, imp.id).created_count == 50


# -- mapping -----------------------------------------------------------------------------------

def test_the_mapping_is_guessed_from_names_labels_aliases_and_custom_fields(owner):
    db.session.add(CustomField(org_id=owner.org_id, entity="contact", key="budget", label="Budget",
                               kind="number"))
    db.session.commit()
    headers = ["first_name", "Surname", "E-mail Address", "Mobile", "TG", "Organisation", "Job Title",
               "Budget", "Favourite colour", "email"]
    mapping = importing.guess_mapping(owner.org_id, "contact", headers)
    assert mapping == {"first_name": "first_name", "Surname": "last_name", "E-mail Address": "",
                       "Mobile": "phone", "TG": "telegram_username", "Organisation": "company",
                       "Job Title": "title", "Budget": "custom.budget", "Favourite colour": "",
                       "email": "email"}  # the exact name beats the alias, and a field is used once


@pytest.mark.parametrize(("entity", "headers", "expected"), [
    ("contact", ["Имя", "Фамилия", "Рабочий телефон", "Эл. почта", "Телеграм", "Компания", "Должность",
                 "Ответственный", "Теги", "Источник", "Комментарий", "Отчество"],
     ["first_name", "last_name", "phone", "email", "telegram_username", "company", "title", "owner", "tags",
      "source", "notes", ""]),
    ("company", ["Название", "Сайт", "Отрасль", "Численность", "Ответственный"],
     ["name", "website", "industry", "size", "owner"]),
    ("deal", ["Название сделки", "Бюджет", "Валюта", "Контакт", "Компания", "Этап сделки", "Вероятность",
              "Дата закрытия", "Статус", "Причина отказа"],
     ["title", "value", "currency", "contact", "company", "stage", "probability", "expected_close",
      "status", "lost_reason"]),
])
def test_russian_headers_are_guessed_for_every_field(owner, entity, headers, expected):
    assert list(importing.guess_mapping(owner.org_id, entity, headers).values()) == expected


def test_the_exact_name_wins_over_an_alias_for_the_same_field(owner):
    mapping = importing.guess_mapping(owner.org_id, "deal", ["Name", "Title"])
    assert mapping == {"Name": "", "Title": "title"}


@pytest.mark.parametrize(("mapping", "message"), [
    ({"Nope": "email"}, "no column named Nope"),
    ({"Email": "favourite_colour"}, "Unknown field"),
    ({"Email": "email", "First name": "email"}, "one column only"),
    ({"Email": ""}, "at least one column"),
])
def test_a_bad_mapping_is_refused(owner, mapping, message):
    imp = upload(owner, "First name,Email\nAnn,a@example.com\n")
    with pytest.raises(DomainError) as err:
        importing.queue_import(owner, imp, mapping)
    assert message in err.value.message


def test_required_fields_must_be_mapped(owner):
    imp = upload(owner, "Domain\nacme.com\n", entity="company")
    with pytest.raises(DomainError) as err:
        importing.queue_import(owner, imp, {"Domain": "domain"})
    assert "Name" in err.value.message


def test_an_import_is_queued_once(owner):
    imp = upload(owner, "Email\na@example.com\n")
    importing.queue_import(owner, imp, {"Email": "email"})
    with pytest.raises(Conflict):
        importing.queue_import(owner, imp, {"Email": "email"})


def test_queueing_enqueues_the_job_after_commit_and_a_worker_runs_it(owner):
    imp = upload(owner, "Email\na@example.com\nb@example.com\n")
    importing.queue_import(owner, imp, {"Email": "email"})
    assert queue(Queues.IMPORTS).count == 0
    db.session.commit()
    assert queue(Queues.IMPORTS).count == 1
    SimpleWorker([queue(Queues.IMPORTS)], connection=redis_store.client).work(burst=True)
    db.session.expire_all()
    imp = db.session.get(Import, imp.id)
    assert imp.status == "done" and imp.created_count == 2 and imp.processed_rows == imp.total_rows == 2


# -- running -----------------------------------------------------------------------------------

def test_contacts_are_created_with_normalized_values_company_tags_owner_and_timeline(owner):
    imp = run(owner, HEADER + "Ada,Lovelace, Ada@Example.COM ,+44 20 7946 0958,@Ada_L,Engines Ltd,vip; london\n")
    assert imp.status == "done" and counts(imp) == (1, 0, 0, 0)
    ada = db.session.scalar(select(Contact))
    assert (ada.email, ada.phone, ada.telegram_username) == ("ada@example.com", "+442079460958", "ada_l")
    assert ada.company.name == "Engines Ltd" and ada.owner_id == owner.user_id
    assert sorted(t.name for t in ada.tags) == ["london", "vip"]
    assert ada.search_text == service.search_text("contact", ada)
    assert ada.import_id == ada.company.import_id == imp.id  # the company was made by the import too
    assert db.session.scalar(select(func.count()).select_from(Activity)) == 0  # no row per record
    (entry,) = queries.timeline(owner.org_id, "contact", ada)
    assert (entry.kind, entry.import_id, entry.filename) == ("imported", imp.id, "people.csv")
    assert entry.actor.id == owner.user_id and entry.created_at == ada.created_at


def test_an_imported_record_keeps_the_import_first_on_its_timeline(owner):
    imp = run(owner, "Title,Stage\nPilot,Qualified\n", entity="deal")
    pilot = db.session.scalar(select(Deal))
    service.add_note(owner, "deal", pilot.id, "Call on Monday")
    db.session.commit()
    kinds = [e.kind for e in queries.timeline(owner.org_id, "deal", pilot)]
    assert pilot.import_id == imp.id and kinds == ["note", "stage_move", "imported"]
    assert [e.kind for e in queries.timeline(owner.org_id, "deal", pilot, limit=2)] == ["note", "stage_move"]


def test_the_import_entry_takes_its_place_among_older_and_newer_entries(owner):
    from datetime import timedelta

    imp = run(owner, "Email\nivy@example.com\n")
    ivy = db.session.scalar(select(Contact))
    older = [SimpleNamespace(kind="message", created_at=ivy.created_at - timedelta(days=d)) for d in range(1, 150)]
    newer = SimpleNamespace(kind="message", created_at=ivy.created_at + timedelta(minutes=1))
    entries = queries.timeline(owner.org_id, "contact", ivy, also=[*older, newer])
    assert len(entries) == 100 and entries[0] is newer
    assert (entries[1].kind, entries[1].import_id) == ("imported", imp.id) and entries[2] is older[0]


def test_records_made_by_hand_name_no_import(owner):
    ann = make_contact(owner, email="ann@example.com")
    assert ann.import_id is None
    assert [e.kind for e in queries.timeline(owner.org_id, "contact", ann)] == ["created"]


def test_an_existing_company_is_reused_by_name_whatever_its_case(owner):
    acme = make_company(owner, name="Acme Inc")
    run(owner, "Email,Company\na@example.com,ACME INC\nb@example.com,acme inc\n")
    assert live(Company, owner.org_id) == 1
    assert {c.company_id for c in db.session.scalars(select(Contact))} == {acme.id}


def test_bad_rows_are_rejected_with_their_reasons_and_the_rest_imported(owner):
    data = ("First name,Email,Phone,Telegram,Notes\n"
            "Ann,ann@example.com,+442079460958,ann_lee,ok\n"
            "Bob,not-an-email,,,\n"
            "Cy,cy@example.com,12,,\n"
            "Di,di@example.com,,a b,\n"
            ",,,,only a note\n"
            f"Ed,ed@example.com,,,{'x' * 20_001}\n")
    imp = run(owner, data)
    assert counts(imp) == (1, 0, 0, 5)
    reasons = {r.row_number: r.reason for r in rejections(imp)}
    assert set(reasons) == {3, 4, 5, 6, 7}
    assert "Email" in reasons[3] and "Phone" in reasons[4] and "Telegram" in reasons[5]
    assert "no name, email, phone" in reasons[6] and "20000 characters" in reasons[7]
    assert rejections(imp)[0].raw == ["Bob", "not-an-email", "", "", ""]


def test_a_row_with_more_cells_than_the_header_is_rejected(owner):
    imp = run(owner, "Email\na@example.com,surprise\nb@example.com,,\n")
    assert counts(imp) == (1, 0, 0, 1)
    assert "2 cells" in rejections(imp)[0].reason


def test_unknown_owners_stages_and_contacts_reject_the_row(owner):
    other = make_member(Role.OWNER)  # a user, but of another organization
    imp = run(owner, f"Email,Owner\na@example.com,{other.user.email}\nb@example.com,{owner.user.email}\n")
    assert counts(imp) == (1, 0, 0, 1) and "not a member" in rejections(imp)[0].reason
    deals = run(owner, "Title,Stage,Contact\nOne,Nowhere,\nTwo,,ghost@example.com\nThree,Won,b@example.com\n",
                entity="deal")
    assert counts(deals) == (1, 0, 0, 2)
    assert "Stage" in rejections(deals)[0].reason and "Contact" in rejections(deals)[1].reason


def test_the_rejected_rows_download_has_the_header_and_a_reason_column(owner):
    imp = run(owner, "Name,Email\nAnn,bad\nBob,bob@example.com\n",
              mapping={"Name": "first_name", "Email": "email"})
    text = "".join(importing.rejected_csv(imp)).lstrip("\ufeff")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["Name", "Email", "row", "reason"]
    assert rows[1][:3] == ["Ann", "bad", "2"] and "Email" in rows[1][3] and len(rows) == 2


def test_huge_cells_are_rejected_per_row_not_fatal_and_kept_truncated(owner):
    huge = "y" * 300_000
    imp = run(owner, f"Email,First name\na@example.com,{huge}\nb@example.com,Bo\n")
    assert imp.status == "done" and counts(imp) == (1, 0, 0, 1)
    assert len(rejections(imp)[0].raw[1]) == importing.MAX_RAW_CELL


# -- dedupe ------------------------------------------------------------------------------------

DUPES = ("Email,Phone,Telegram,Telegram id,First name\n"
         "a@example.com,,,,Ann\n"
         "A@EXAMPLE.com,,,,Ann again\n"  # same email, other case
         ",+44 20 7946 0958,,,Pho\n"
         ",00442079460958,,,Pho again\n"  # same phone, other spelling
         ",,@tg_user,,Tee\n"
         ",,https://t.me/TG_user,,Tee again\n"  # same username
         ",,,777,Id\n"
         ",,,777,Id again\n")


def test_duplicates_inside_the_file_are_skipped(owner):
    imp = run(owner, DUPES)
    assert counts(imp) == (4, 0, 4, 0) and live(Contact, owner.org_id) == 4


def test_existing_records_match_on_normalized_email_phone_telegram_and_user_id(owner):
    make_contact(owner, email="a@example.com")
    make_contact(owner, phone="+442079460958")
    make_contact(owner, telegram_username="tg_user")
    make_contact(owner, telegram_user_id=777)
    imp = run(owner, DUPES)
    assert counts(imp) == (0, 0, 8, 0) and live(Contact, owner.org_id) == 4


def test_trashed_records_do_not_match(owner):
    gone = make_contact(owner, email="a@example.com")
    service.trash_records(owner, "contact", [gone.id])
    db.session.commit()
    assert counts(run(owner, "Email\na@example.com\n")) == (1, 0, 0, 0)


def test_update_fills_the_match_with_non_blank_values_and_adds_tags(owner):
    ann = make_contact(owner, email="a@example.com", first_name="Ann", title="CEO", tags="old")
    imp = run(owner, "Email,First name,Title,Tags\nA@example.com,Annie,,new\n", dedupe="update")
    assert counts(imp) == (0, 1, 0, 0)
    db.session.expire_all()
    ann = db.session.get(Contact, ann.id)
    assert (ann.first_name, ann.title) == ("Annie", "CEO")
    assert sorted(t.name for t in ann.tags) == ["new", "old"]
    assert ann.search_text == service.search_text("contact", ann)
    activity = db.session.scalar(select(Activity).where(Activity.kind == "updated"))
    assert activity.data["changes"]["first_name"] == ["Ann", "Annie"]
    assert activity.data["import_id"] == imp.id


def test_update_with_in_file_duplicates_merges_them_into_one_record(owner):
    imp = run(owner, "Email,First name,Title\na@example.com,Ann,\na@example.com,,CTO\na@example.com,,CTO\n",
              dedupe="update")
    assert counts(imp) == (1, 1, 1, 0)
    ann = db.session.scalar(select(Contact))
    assert (ann.first_name, ann.title) == ("Ann", "CTO") and live(Contact, owner.org_id) == 1


def test_create_policy_always_creates(owner):
    make_contact(owner, email="a@example.com")
    imp = run(owner, "Email\na@example.com\na@example.com\n", dedupe="create")
    assert counts(imp) == (2, 0, 0, 0) and live(Contact, owner.org_id) == 3


@pytest.mark.parametrize("dedupe", ["skip", "update"])
def test_importing_the_same_file_twice_creates_nothing_new(owner, dedupe):
    data = HEADER + "".join(f"P{n},Q,p{n}@example.com,+4420794609{n:02d},,Co {n % 3},t{n % 2}\n"
                            for n in range(30))
    first = run(owner, data, dedupe=dedupe)
    before = (live(Contact, owner.org_id), live(Company, owner.org_id),
              db.session.scalar(select(func.count()).select_from(Tag)))
    second = run(owner, data, dedupe=dedupe)
    assert counts(first) == (30, 0, 0, 0) and counts(second) == (0, 0, 30, 0)
    assert (live(Contact, owner.org_id), live(Company, owner.org_id),
            db.session.scalar(select(func.count()).select_from(Tag))) == before == (30, 3, 2)


def test_counts_equal_what_the_database_holds(owner):
    make_contact(owner, email="old@example.com", first_name="Old")
    rows = [f"N{n},n{n}@example.com" for n in range(2500)]
    rows += ["Dup,n5@example.com", "Bad,bad-email", "Upd,old@example.com", "Same,n7@example.com"]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(importing.runner, "BATCH_ROWS", 700)  # in-file duplicates cross batch boundaries
        imp = run(owner, "First name,Email\n" + "\n".join(rows) + "\n", dedupe="update")
    created = db.session.scalar(select(func.count()).select_from(Contact).where(Contact.import_id == imp.id))
    updated = db.session.scalar(select(func.count()).select_from(Activity).where(
        Activity.subject_type == "contact", Activity.kind == "updated",
        Activity.data["import_id"].as_integer() == imp.id))
    assert imp.created_count == created == live(Contact, owner.org_id) - 1 == 2500
    assert imp.updated_count == updated == 3
    assert imp.rejected_count == len(rejections(imp)) == 1
    assert imp.skipped_count == 0
    assert imp.processed_rows == imp.total_rows == sum(counts(imp)) == 2504


def test_a_dry_run_counts_like_the_real_run_and_writes_nothing(owner):
    make_contact(owner, email="old@example.com")
    data = "Email,Company,Tags\n" + "".join(f"u{n % 40}@example.com,Co {n % 5},t\n" for n in range(100)) \
        + "old@example.com,Co 1,t\nbad,Co 1,t\n"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(importing.runner, "BATCH_ROWS", 30)
        dry = run(owner, data, dedupe="update", dry_run=True)
        assert live(Contact, owner.org_id) == 1 and live(Company, owner.org_id) == 0
        assert db.session.scalar(select(func.count()).select_from(Tag)) == 0
        assert db.session.scalar(select(func.count()).select_from(Activity)) == 1
        real = run(owner, data, dedupe="update")
    assert dry.status == "done" and counts(dry) == counts(real) == (40, 1, 60, 1)
    assert len(rejections(dry)) == 1


def test_companies_dedupe_on_domain_else_name(owner):
    make_company(owner, name="Acme", domain="acme.com")
    imp = run(owner, "Name,Domain\nAcme Labs,https://www.acme.com/about\nGlobex,\nglobex,\nInitech,initech.io\n",
              entity="company")
    assert counts(imp) == (2, 0, 2, 0) and live(Company, owner.org_id) == 3


def test_deals_dedupe_on_title_and_contact_and_settle_their_stage(owner):
    ann = make_contact(owner, email="ann@example.com")
    data = ("Title,Value,Contact,Stage,Company\n"
            "Pilot,\"$12,500\",ann@example.com,,Acme\n"
            "pilot,1,ann@example.com,,\n"  # same title and contact: a duplicate
            "Pilot,2,,Won,\n")  # same title, no contact: another deal
    imp = run(owner, data, entity="deal")
    assert counts(imp) == (2, 0, 1, 0)
    pilot, won = db.session.scalars(select(Deal).order_by(Deal.id)).all()
    assert pilot.value == Decimal("12500.00") and pilot.contact_id == ann.id and pilot.company.name == "Acme"
    assert pilot.stage.name == "New lead" and pilot.probability == 10 and pilot.status == "open"
    assert won.status == "won" and won.stage.name == "Won" and won.currency == "USD"
    assert pilot.search_text == service.search_text("deal", pilot)


def test_update_policy_needs_a_role_that_edits_others_records(owner):
    agent = add_member(owner.organization, role=Role.AGENT)
    imp = upload(agent, "Email\na@example.com\n")
    with pytest.raises(Forbidden):
        importing.queue_import(agent, imp, {"Email": "email"}, dedupe="update")
    assert importing.queue_import(agent, imp, {"Email": "email"}, dedupe="skip").status == "queued"


def test_imports_belong_to_their_organization(owner):
    imp = upload(owner, "Email\na@example.com\n")
    stranger = make_member(Role.OWNER)
    with pytest.raises(Exception) as err:
        importing.get_import(stranger.org_id, imp.id)
    assert err.value.status == 404
    assert importing.list_imports(stranger.org_id) == []
    run(stranger, "Email\na@example.com\n")
    assert live(Contact, owner.org_id) == 0 and live(Contact, stranger.org_id) == 1


def test_an_import_whose_member_left_fails_with_a_reason(owner):
    agent = add_member(owner.organization, role=Role.AGENT)
    imp = importing.queue_import(agent, upload(agent, "Email\na@example.com\n"), {"Email": "email"})
    db.session.delete(agent)
    db.session.commit()
    import_jobs.run_import(imp.id)
    imp = db.session.get(Import, imp.id)
    assert imp.status == "failed" and "no longer" in imp.error


@pytest.mark.parametrize("raw", [
    "ann@example.com", " Ann.Lee+crm@Example.CO.UK ", "a..b@example.com", ".a@example.com", "a.@example.com",
    "a@-example.com", "a@example-.com", "a@localhost", "a@example", "a@123.456", "a@sub.example.test",
    "o'neil{x}@example.org", f"{'a' * 65}@example.com", f"a@{'b' * 64}.com", "a@xn--bcher-kva.example",
    "a@ab--cd.com", "josé@example.com", "a b@example.com", "a@example.invalid"])
def test_the_import_s_fast_email_check_agrees_with_the_normalizer(owner, raw):
    """The import skips the full email check only where it would give the same answer."""
    from app import canonical

    imp = upload(owner, "Email\na@example.com\n")
    imp.mapping, imp.dedupe = {"Email": "email"}, "skip"
    fast = importing._Run(imp, owner)._plain_email(raw)
    try:
        expected = canonical.email(raw)
    except ValueError:
        expected = None
    assert fast in (None, expected)  # None means "use the full check", never a different answer
    if raw in ("ann@example.com", " Ann.Lee+crm@Example.CO.UK "):
        assert fast == expected


def test_our_own_export_headers_and_formula_guards_are_understood(owner):
    db.session.add(CustomField(org_id=owner.org_id, entity="contact", key="tier", label="Tier"))
    db.session.commit()
    assert importing.guess_mapping(owner.org_id, "contact", ["Custom: Tier"]) == {"Custom: Tier": "custom.tier"}
    run(owner, "First name,Title,Custom: Tier\n'=Ada,'@Countess,Gold\n")
    ada = db.session.scalar(select(Contact))
    assert (ada.first_name, ada.title, ada.custom) == ("=Ada", "@Countess", {"tier": "Gold"})


@pytest.mark.parametrize("entity", ["contact", "company", "deal"])
def test_the_import_cleans_rows_exactly_as_the_field_registry_does(owner, entity):
    """The import's unrolled cleaner gives fields.clean's values and messages, cell for cell."""
    from app.blueprints.crm.records.fields import FIELDS, clean

    db.session.add(CustomField(org_id=owner.org_id, entity=entity, key="size", label="Size", kind="number"))
    db.session.commit()
    names = [f.name for f in FIELDS[entity]] + ["custom.size"]
    samples = ["", "  ", "Ada", " x@Example.com ", "+44 20 7946 0958", "12", "yes", "maybe", "2026-02-30",
               "2026-03-01", "Europe/London", "@ada_l", "t.me/Bob_the_builder", "1,5", "$1,200.50", "won",
               "x" * 250, "acme.com", "vip; london", "=SUM(A1)", "'=Ada", "-12", "usd"]
    rows = [[samples[(r * 7 + c * 3) % len(samples)] for c in range(len(names))] for r in range(60)]
    text = io.StringIO()
    csv.writer(text).writerows([names, *rows])
    imp = upload(owner, text.getvalue(), entity=entity)
    imp.mapping, imp.dedupe = {n: n for n in names}, "skip"
    run = importing._Run(imp, owner)
    definitions = service.custom_fields(owner.org_id, entity)
    from app.blueprints.crm.export.service import unescape_cell
    for n, cells in enumerate(rows):
        fast = run._clean(n, cells)
        slow = clean(entity, {k: unescape_cell(v) for k, v in zip(names, cells, strict=True)}, definitions,
                     partial=True)
        expected = dict(slow.values)
        tags = expected.pop("tags", None)
        assert fast.values == expected
        assert fast.custom == {k: v for k, v in slow.custom.items() if v is not None}
        assert [str(e) for e in fast.errors if "no name" not in str(e)] == list(slow.errors.values())
        assert fast.tags == list(dict.fromkeys(t.strip()[:64].lower() for t in str(tags or "").replace(";", ",")
                                               .split(",") if t.strip()))


def test_imported_records_are_found_by_search_and_later_records_too(owner):
    """The import keeps the search index itself (in bulk): every written record is searchable."""
    from app.blueprints.crm.records import queries
    from app.blueprints.crm.records.queries import ListQuery

    def found(entity, q):
        return sorted(r.id for r in queries.list_records(owner.org_id, entity, ListQuery(q=q)).items)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(importing.runner, "BATCH_ROWS", 2)
        run(owner, HEADER + "Ada,Lovelace,ada@example.com,,,Analytical Engines,\n"
                            "Bob,Byron,bob@example.com,,,,\nCyd,Charis,cyd@example.com,,,Zephyr Ltd,\n")
        run(owner, "Title,Company\nEngine pilot,Analytical Engines\n", entity="deal")
        run(owner, "First name,Email\nAdam,ada@example.com\n", dedupe="update")  # updates search_text
    ada, bob, cyd = db.session.scalars(select(Contact).order_by(Contact.id)).all()
    assert found("contact", "lovel") == [ada.id] and found("contact", "byro") == [bob.id]
    assert found("contact", "zephyr") == [cyd.id] and found("contact", "adam") == [ada.id]
    assert len(found("company", "analytical")) == 1 and len(found("company", "zephyr")) == 1
    assert len(found("deal", "engine pi")) == 1
    later = make_contact(owner, first_name="Dora", email="dora@example.com")  # the trigger is back
    assert found("contact", "dora") == [later.id]


def test_imported_deals_enter_the_stage_history_on_top_of_their_columns_and_ring_the_boards(owner):
    from app.blueprints.crm.events import DealEvent
    from app.blueprints.pipeline.models import StageMove
    from app.events import bus

    heard: list = []
    bus.subscribe(DealEvent, heard.append)
    try:
        existing = make_deal(owner, title="Older", stage="Qualified")
        heard.clear()
        imp = run(owner, "Title,Stage\nFresh,Qualified\nClosed,Won\n", entity="deal")
        assert counts(imp) == (2, 0, 0, 0)
        fresh = db.session.scalars(select(Deal).where(Deal.title == "Fresh")).one()
        assert fresh.position < db.session.get(Deal, existing.id).position  # new cards go on top
        entries = db.session.scalars(select(StageMove).where(StageMove.reason == "import")
                                     .order_by(StageMove.id)).all()
        assert [(m.from_stage_name, m.to_stage_name) for m in entries] == [(None, "Qualified"), (None, "Won")]
        assert [e.name for e in heard] == ["DealCreated", "DealCreated", "DealWon"]
        heard.clear()
        run(owner, "Title,Stage\nFresh,Proposal\n", entity="deal", dedupe="update")
        moved = db.session.scalars(select(StageMove).where(StageMove.deal_id == fresh.id)
                                   .order_by(StageMove.id)).all()[-1]
        assert (moved.from_stage_name, moved.to_stage_name, moved.reason) == ("Qualified", "Proposal", "import")
        assert [e.name for e in heard] == ["DealMoved"]
    finally:
        bus.unsubscribe(heard.append)


# -- hostile files: caps on the header, nothing stored before the file is read ---------------------

def stored_rows() -> tuple[int, int]:
    """Import and ImportChunk rows this session sees (flushed ones included)."""
    return (db.session.scalar(select(func.count()).select_from(Import)),
            db.session.scalar(select(func.count()).select_from(ImportChunk)))


def refusal(owner, stream) -> DomainError:
    with pytest.raises(DomainError) as err:
        importing.start_import(owner, "contact", "hostile.csv", stream)
    assert err.value.fields == {"file": err.value.message}
    return err.value


def test_a_header_with_too_many_columns_is_refused_before_anything_is_stored(owner):
    err = refusal(owner, io.BytesIO(columns(4000)))
    assert f"more than {importing.MAX_COLUMNS} columns" in err.message
    assert stored_rows() == (0, 0)


def test_a_file_with_as_many_columns_as_the_cap_is_imported_and_its_headers_stay_distinct(owner):
    imp = upload(owner, columns(importing.MAX_COLUMNS))
    assert imp.headers[:3] == ["x", "x (2)", "x (3)"] and len(set(imp.headers)) == importing.MAX_COLUMNS
    mapping = dict.fromkeys(imp.headers, "")
    mapping["x (500)"] = "first_name"
    assert importing.queue_import(owner, imp, mapping).status == "queued"


def test_a_header_that_already_holds_a_suffixed_name_gets_another_suffix(owner):
    imp = upload(owner, "x,x,x (2),x\n1,2,3,4\n")
    assert imp.headers == ["x", "x (2)", "x (2) (2)", "x (3)"]


def test_a_header_longer_than_the_byte_cap_is_refused_having_read_no_further(owner):
    names = [f"column {n:03d} " + "a" * 190 for n in range(400)]  # 400 columns, ~80 KB
    stream = CountingStream((",".join(names) + "\n" + ",".join(["1"] * 400) + "\n").encode())
    err = refusal(owner, stream)
    assert "header row is longer than 64 KB" in err.message and "CSV" in err.message
    assert stream.bytes_read <= importing.MAX_HEADER_BYTES
    assert stored_rows() == (0, 0)


def test_a_60_mb_single_line_is_refused_after_reading_only_the_header_cap(owner):
    stream = RepeatingStream(b"abcdefghij", 60_000_000, tripwire=1 << 20)
    err = refusal(owner, stream)
    assert "header row is longer than" in err.message
    assert stream.bytes_read <= importing.MAX_HEADER_BYTES
    assert stored_rows() == (0, 0)


def test_a_line_of_200_000_columns_is_refused_by_the_column_cap(owner):
    err = refusal(owner, RepeatingStream(b"x,", 400_000, tripwire=1 << 20))
    assert f"more than {importing.MAX_COLUMNS} columns" in err.message
    assert stored_rows() == (0, 0)


def test_a_stream_that_cannot_seek_is_stored_whole(owner):
    data = HEADER + "".join(f"Ann,Lee {n},ann{n}@example.com,,,,\n" for n in range(2000))
    stream = RepeatingStream(b"\n", len(data), prefix=data.encode())  # the prefix is all of it
    assert not stream.seekable()
    imp = importing.start_import(owner, "contact", "people.csv", stream)
    db.session.commit()
    chunks = db.session.scalars(select(ImportChunk.data).where(ImportChunk.import_id == imp.id)
                                .order_by(ImportChunk.seq)).all()
    assert b"".join(chunks) == data.encode() and imp.size_bytes == len(data)
    assert imp.headers == next(csv.reader(io.StringIO(HEADER)))


def test_a_file_whose_encoding_fails_in_a_later_chunk_is_refused_with_the_encoding_message(owner, monkeypatch):
    monkeypatch.setattr(importing.upload, "CHUNK_BYTES", 64)
    # \x81 is neither UTF-8 nor Windows-1252: no encoding is left once the later chunk is read
    data = b"Email\n" + b"a@example.com\n" * 20 + b"\xc3\x81\x81\n" + b"b@example.com\n" * 20
    err = refusal(owner, io.BytesIO(data))
    assert "encoding could not be read" in err.message


@pytest.mark.parametrize("rows", ['""\n , \n', '"",""\n\n', '""""\n', ' "\n', ',x\n', '\n\n"a\nb"\n',
                                  ' \t \n', '"" ""\n', '\ufeff\n'])
def test_a_file_has_rows_to_import_exactly_when_csv_reads_a_row_with_a_non_blank_cell(owner, rows):
    data = "Email,Name\n" + rows
    has_rows = any("".join(row).strip() for row in list(csv.reader(io.StringIO(data, newline="")))[1:])
    if has_rows:
        assert upload(owner, data).size_bytes == len(data.encode())
    else:
        assert "no rows" in refusal(owner, io.BytesIO(data.encode())).message


def test_a_file_of_60_mb_of_blank_lines_after_its_header_is_refused_as_having_no_rows(owner):
    err = refusal(owner, RepeatingStream(b"\n", 60_000_000, prefix=b"Email\n"))
    assert "no rows" in err.message
    assert stored_rows() == (0, 0)


def test_the_preview_keeps_the_header_s_columns_of_a_very_wide_row(owner):
    imp = upload(owner, "Email,Name\n" + "a@example.com,Ann" + ",z" * 100_000 + "\n")
    assert importing.preview(imp).rows == [["a@example.com", "Ann"]]


def test_the_preview_reads_only_the_start_of_the_file_but_the_run_reads_it_all(owner):
    imp = upload(owner, "Email\na@example.com\n" + "\n" * (2 * importing.PREVIEW_BYTES) + "b@example.com\n")
    assert importing.preview(imp).rows == [["a@example.com"]]
    imp = importing.queue_import(owner, imp, {"Email": "email"})
    db.session.commit()
    import_jobs.run_import(imp.id)
    assert counts(db.session.get(Import, imp.id)) == (2, 0, 0, 0)


@pytest.mark.parametrize("blank", [b"\n", b'"\n', b'" ",\n'])
def test_rows_are_looked_for_in_the_first_preview_window_only_having_read_the_file_once(owner, blank):
    """63 MB of ``"\\n`` lines (every one a blank quoted cell) took 10 s to find no row: the file was
    read through twice more. Now a file shows a data row within what the preview reads, or it is
    refused, having read no more than that window past the one checking read."""
    data = b"Email\n" + blank * (2 * importing.PREVIEW_BYTES // len(blank))
    stream = CountingStream(data)
    assert "no rows" in refusal(owner, stream).message
    assert stream.bytes_read <= len(data) + importing.PREVIEW_BYTES
    assert stored_rows() == (0, 0)


def test_a_first_data_row_past_the_preview_window_is_refused_as_a_file_without_rows(owner):
    data = "Email\n" + "\n" * importing.PREVIEW_BYTES + "a@example.com\n"
    assert "no rows" in refusal(owner, io.BytesIO(data.encode())).message
    near = "Email\n" + "\n" * (importing.PREVIEW_BYTES - 100) + "a@example.com\n"
    assert upload(owner, near).size_bytes == len(near)


def test_a_mapping_naming_many_unknown_columns_names_a_few_in_its_message(owner):
    imp = upload(owner, "Email\na@example.com\n")
    mapping = {f"nope {n}": "email" for n in range(10_000)}
    with pytest.raises(DomainError) as err:
        importing.queue_import(owner, imp, mapping)
    assert "nope 0, nope 1" in err.value.message and "9,995 more" in err.value.message
    assert len(err.value.message) < 200


def test_an_import_announces_the_contacts_of_each_batch_and_its_end(owner, monkeypatch):
    from app.blueprints.crm.events import ContactsImported, ImportFinished
    from app.blueprints.crm.importing import runner
    from app.events import bus

    monkeypatch.setattr(runner, "BATCH_ROWS", 2)
    heard: list = []
    bus.subscribe((ContactsImported, ImportFinished), heard.append)
    try:
        imp = run(owner, "Email\na@example.com\nb@example.com\nnot-an-email\nc@example.com\n")
        created = sorted(db.session.scalars(select(Contact.id).where(Contact.import_id == imp.id)))
        batches = [e for e in heard if isinstance(e, ContactsImported)]
        assert len(created) == 3 and len(batches) == 2  # a batch of two rows, then one of two
        assert sorted(i for e in batches for i in e.contact_ids) == created
        assert {e.import_id for e in batches} == {imp.id}
        [end] = [e for e in heard if isinstance(e, ImportFinished)]
        assert (end.import_id, end.status, end.created, end.rejected, end.dry_run) == (imp.id, "done", 3, 1, False)
        heard.clear()
        dry = run(owner, "Email\nd@example.com\n", dry_run=True)
        assert [(e.name, e.import_id, e.dry_run) for e in heard] == [("ImportFinished", dry.id, True)]
    finally:
        bus.unsubscribe(heard.append)


def test_a_failed_import_announces_its_failure(owner, monkeypatch):
    from app.blueprints.crm.events import ImportFinished
    from app.blueprints.crm.importing import runner
    from app.events import bus

    heard: list = []
    bus.subscribe(ImportFinished, heard.append)

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(runner._Run, "batch", broken)
    try:
        with pytest.raises(RuntimeError):
            run(owner, "Email\na@example.com\n")
        [end] = heard
        assert end.status == "failed" and "error on our side" in end.error and end.created == 0
    finally:
        bus.unsubscribe(heard.append)


def test_deals_moved_by_an_import_over_several_batches_keep_their_history(owner, monkeypatch):
    """Each batch commits, so the stages a later batch moves deals out of were expired by then; the
    history rows must not load them while PostgreSQL's COPY holds the connection (it would hang)."""
    from app.blueprints.crm.importing import runner
    from app.blueprints.pipeline.models import StageMove

    deals = [make_deal(owner, title=f"Deal {n}", stage=stage)
             for n, stage in enumerate(("New lead", "Qualified", "Meeting booked", "Proposal"))]
    db.session.commit()
    monkeypatch.setattr(runner, "BATCH_ROWS", 2)
    imp = run(owner, "Title,Stage\nDeal 0,Negotiation\nDeal 1,Negotiation\nDeal 2,Won\nDeal 3,Lost\n",
              entity="deal", dedupe="update")
    assert counts(imp)[:2] == (0, 4) and imp.status == "done"
    moves = {m.deal_id: (m.from_stage_name, m.to_stage_name, m.reason) for m in db.session.scalars(
        select(StageMove).where(StageMove.reason == "import"))}
    assert moves == {deals[0].id: ("New lead", "Negotiation", "import"),
                     deals[1].id: ("Qualified", "Negotiation", "import"),
                     deals[2].id: ("Meeting booked", "Won", "import"),
                     deals[3].id: ("Proposal", "Lost", "import")}


def test_imported_deals_without_a_currency_take_the_organizations(owner):
    owner.organization.default_country = "RU"
    db.session.commit()
    run(owner, "Title,Value,Currency\nПилот,100000,\nExport,5000,EUR\n", entity="deal")
    assert dict(db.session.execute(select(Deal.title, Deal.currency)).all()) == {"Пилот": "RUB", "Export": "EUR"}
