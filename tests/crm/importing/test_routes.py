"""The import pages: upload, mapping screen, progress fragment, result, rejected rows, past imports."""

import csv
import io
import re
import threading
from contextlib import contextmanager

import pytest
from rq import SimpleWorker
from sqlalchemy import func, select

from app.blueprints.crm import importing
from app.blueprints.crm.models import Contact, Import, ImportChunk
from app.blueprints.crm.records import service
from app.blueprints.team.permissions import Role
from app.extensions import db, redis_store
from app.jobs import Queues, queue
from tests.conftest import csrf_token, sign_in_as
from tests.crm.importing.hostile_files import RepeatingStream, columns
from tests.factories import add_member, make_member

CSV = b"First name,E-mail,Mobile,Favourite colour\nAda,ada@example.com,+442079460958,green\nBob,bad-email,,blue\n"


@pytest.fixture
def token(owner_client):
    return csrf_token(owner_client, "/imports/new/contacts")


def upload(client, token, data=CSV, entities="contacts", filename="people.csv"):
    return client.post(f"/imports/new/{entities}", data={"csrf_token": token,
                       "file": (io.BytesIO(data), filename)}, content_type="multipart/form-data")


def work() -> None:
    SimpleWorker([queue(Queues.IMPORTS)], connection=redis_store.client).work(burst=True)
    db.session.expire_all()


def test_the_navigation_leads_to_the_imports(owner_client):
    home = owner_client.get("/home").get_data(as_text=True)
    assert re.search(r'<a href="/imports/" class="nav-item"[^>]*>.*?<span>Imports</span>', home)
    listing = owner_client.get("/imports/").get_data(as_text=True)
    assert 'href="/imports/" class="nav-item is-active" aria-current="page"' in listing


def test_the_upload_page_offers_a_file_field_with_csrf(owner_client):
    html = owner_client.get("/imports/new/contacts").get_data(as_text=True)
    assert 'type="file"' in html and 'name="csrf_token"' in html and 'enctype="multipart/form-data"' in html


def test_upload_then_mapping_then_progress_then_result(owner_client, owner, token):
    response = upload(owner_client, token)
    assert response.status_code == 302
    imp = db.session.scalar(select(Import))
    assert response.location.endswith(f"/imports/{imp.id}/mapping")

    html = owner_client.get(response.location).get_data(as_text=True)
    assert "Ada" in html and "ada@example.com" in html  # the preview
    assert re.search(r'name="map-1".*?<option value="email" selected>', html, re.S)  # the guess
    assert re.search(r'name="map-2".*?<option value="phone" selected>', html, re.S)
    assert not re.search(r'name="map-3".*?selected>', html.split('name="map-3"')[1].split("</select>")[0])

    form = {"csrf_token": token, "map-0": "first_name", "map-1": "email", "map-2": "phone", "map-3": "",
            "dedupe": "skip"}
    response = owner_client.post(f"/imports/{imp.id}/mapping", data=form)
    assert response.status_code == 302 and response.location.endswith(f"/imports/{imp.id}")

    fragment = owner_client.get(f"/imports/{imp.id}", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert fragment.lstrip().startswith('<div id="import-progress"')
    assert 'hx-trigger="load delay:500ms"' in fragment and "<progress" in fragment  # still polling

    work()
    fragment = owner_client.get(f"/imports/{imp.id}", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "hx-trigger" not in fragment  # finished: the polling stops
    assert 'value="100"' in fragment
    assert re.search(r'id="count-created">1<', fragment) and re.search(r'id="count-rejected">1<', fragment)
    assert f"/imports/{imp.id}/rejected.csv" in fragment

    download = owner_client.get(f"/imports/{imp.id}/rejected.csv")
    assert download.mimetype == "text/csv" and "attachment" in download.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(download.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0] == ["First name", "E-mail", "Mobile", "Favourite colour", "row", "reason"]
    assert rows[1][:2] == ["Bob", "bad-email"] and "Email" in rows[1][-1]

    listing = owner_client.get("/imports/").get_data(as_text=True)
    assert "people.csv" in listing and f"/imports/{imp.id}" in listing

    ada = db.session.scalar(select(Contact))
    page = owner_client.get(f"/contacts/{ada.id}").get_data(as_text=True)
    assert re.search(rf'created this contact by importing <a href="/imports/{imp.id}">people.csv</a>', page)


@pytest.mark.parametrize(("data", "message"), [
    (b"", "The file is empty"), (b"Email\n", "no rows"), (b"\x00\x01\x02\x03" * 100, "binary")])
def test_an_unusable_file_re_renders_the_form_with_the_reason(owner_client, token, data, message):
    response = upload(owner_client, token, data=data)
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Import)) == 0


def test_a_nul_in_the_file_name_is_refused_on_the_page_and_no_import_is_stored(owner_client, token):
    response = upload(owner_client, token, filename="a\x00b.csv")
    assert response.status_code == 400
    assert "file: a file name may not contain a NUL character." in response.get_data(as_text=True)
    db.session.commit()  # whatever the refused request left in the session would be written now
    assert db.session.scalar(select(func.count()).select_from(Import)) == 0


def test_no_file_is_a_form_error(owner_client, token):
    response = owner_client.post("/imports/new/contacts", data={"csrf_token": token})
    assert response.status_code == 422 and "Choose a CSV file" in response.get_data(as_text=True)


def test_the_upload_needs_the_csrf_token(owner_client):
    response = owner_client.post("/imports/new/contacts", data={"file": (io.BytesIO(CSV), "a.csv")},
                                 content_type="multipart/form-data")
    assert response.status_code == 400


def test_a_bad_mapping_re_renders_the_screen_with_the_error(owner_client, token):
    upload(owner_client, token)
    imp = db.session.scalar(select(Import))
    response = owner_client.post(f"/imports/{imp.id}/mapping", data={
        "csrf_token": token, "map-0": "email", "map-1": "email", "dedupe": "skip"})
    assert response.status_code == 422 and "one column only" in response.get_data(as_text=True)
    assert db.session.get(Import, imp.id).status == "uploaded"


def test_a_dry_run_from_the_page_writes_nothing(owner_client, token):
    upload(owner_client, token)
    imp = db.session.scalar(select(Import))
    owner_client.post(f"/imports/{imp.id}/mapping", data={
        "csrf_token": token, "map-0": "first_name", "map-1": "email", "dedupe": "skip", "dry_run": "1"})
    work()
    imp = db.session.get(Import, imp.id)
    assert (imp.status, imp.dry_run, imp.created_count) == ("done", True, 1)
    assert db.session.scalar(select(func.count()).select_from(Contact)) == 0
    assert "Dry run finished" in owner_client.get(f"/imports/{imp.id}").get_data(as_text=True)


def test_an_agent_may_import_but_not_with_the_update_policy(client, owner):
    agent = add_member(owner.organization, role=Role.AGENT)
    sign_in_as(client, agent)
    token = csrf_token(client, "/imports/new/contacts")
    upload(client, token)
    imp = db.session.scalar(select(Import))
    response = client.post(f"/imports/{imp.id}/mapping", data={
        "csrf_token": token, "map-0": "first_name", "map-1": "email", "dedupe": "update"})
    assert response.status_code == 403
    response = client.post(f"/imports/{imp.id}/mapping", data={
        "csrf_token": token, "map-0": "first_name", "map-1": "email", "dedupe": "skip"})
    assert response.status_code == 302


def test_another_organizations_import_is_not_found(client, owner_client, token):
    upload(owner_client, token)
    imp = db.session.scalar(select(Import))
    stranger = make_member(Role.OWNER)
    sign_in_as(client, stranger)
    for path in (f"/imports/{imp.id}", f"/imports/{imp.id}/mapping", f"/imports/{imp.id}/rejected.csv"):
        assert client.get(path).status_code == 404
    assert "people.csv" not in client.get("/imports/").get_data(as_text=True)


def test_a_50_mb_file_is_accepted_and_imported(owner_client, owner, token):
    """Big files stream into chunks and through the job; long (legal) notes keep the row count low."""
    note = "n" * 19_000
    rows = "".join(f"P{n},p{n}@example.com,{note}\n" for n in range(2800))
    data = ("First name,Email,Notes\n" + rows).encode()
    assert len(data) > 50 * 1024 * 1024
    response = upload(owner_client, token, data=data, filename="big.csv")
    assert response.status_code == 302
    imp = db.session.scalar(select(Import))
    owner_client.post(f"/imports/{imp.id}/mapping", data={
        "csrf_token": token, "map-0": "first_name", "map-1": "email", "map-2": "notes", "dedupe": "skip"})
    work()
    imp = db.session.get(Import, imp.id)
    assert (imp.status, imp.created_count, imp.size_bytes) == ("done", 2800, len(data))
    assert db.session.scalar(select(func.count()).select_from(Contact).where(Contact.org_id == owner.org_id)) \
        == 2800


def test_a_file_over_the_upload_limit_is_refused(owner_client, token):
    response = upload(owner_client, token, data=b"Email\n" + b"a" * (65 * 1024 * 1024))
    assert response.status_code == 413


# -- hostile files ---------------------------------------------------------------------------------

def stored_rows() -> tuple[int, int]:
    return (db.session.scalar(select(func.count()).select_from(Import)),
            db.session.scalar(select(func.count()).select_from(ImportChunk)))


def test_a_header_of_4000_identical_columns_re_renders_the_form_with_the_column_cap(owner_client, token):
    response = upload(owner_client, token, data=columns(4000))
    assert response.status_code == 422
    assert f"more than {importing.MAX_COLUMNS} columns" in response.get_data(as_text=True)
    assert stored_rows() == (0, 0)


def test_a_60_mb_single_line_upload_is_refused_with_the_reason(owner_client, token):
    hostile = RepeatingStream(b"abcdefghij", 60_000_000)  # read lazily by the test client
    response = owner_client.post("/imports/new/contacts", data={"csrf_token": token, "file": (hostile, "x.csv")},
                                 content_type="multipart/form-data")
    assert response.status_code == 422 and "header row is longer than 64 KB" in response.get_data(as_text=True)
    assert stored_rows() == (0, 0)


@contextmanager
def giving_up_on_locks_quickly():
    """This session's writes give up on a lock after 250 ms, instead of the app's 15 s."""
    connection = db.session.connection()
    if db.engine.dialect.name != "sqlite":
        connection.exec_driver_sql("SET LOCAL lock_timeout = '250ms'")  # ends with the transaction
        yield
        return
    raw = connection.connection.dbapi_connection
    raw.execute("PRAGMA busy_timeout = 250")
    try:
        yield
    finally:
        raw.execute("PRAGMA busy_timeout = 15000")  # the pooled connection goes back as it was


def test_another_organization_writes_while_a_hostile_upload_is_being_refused(owner_client, token, monkeypatch):
    """The upload reads and checks its file before it writes anything, so it holds no lock meanwhile."""
    other = make_member(Role.OWNER)  # another organization
    parsing, release = threading.Event(), threading.Event()
    seen: dict[str, object] = {}
    sniff = importing.upload._sniff_delimiter

    def sniff_then_wait(sample: str) -> str:
        if not parsing.is_set():  # in the upload's thread, with its own session
            seen["imports"] = db.session.scalar(select(func.count()).select_from(Import))
            parsing.set()
            release.wait(20)
        return sniff(sample)

    monkeypatch.setattr(importing.upload, "_sniff_delimiter", sniff_then_wait)
    thread = threading.Thread(target=lambda: seen.update(response=upload(owner_client, token, data=columns(600))))
    thread.start()
    try:
        assert parsing.wait(20), "the upload never reached its header"
        with giving_up_on_locks_quickly():
            contact = service.create_record(other, "contact", {"first_name": "Eve", "email": "eve@example.com"})
            db.session.commit()
    finally:
        release.set()
        thread.join(60)
    assert seen["imports"] == 0  # nothing of the upload was written while its header was read
    assert seen["response"].status_code == 422
    assert f"more than {importing.MAX_COLUMNS} columns" in seen["response"].get_data(as_text=True)
    assert db.session.get(Contact, contact.id).org_id == other.org_id
    assert stored_rows() == (0, 0)


# -- names: a full name column split in the preview, the warning when nothing names a contact ----

NAMED = "\n".join(["Name,Email", "Иванов Иван Иванович,ivan@example.ru", "Anna Lee,anna@example.com"]).encode()
PHONES_ONLY = b"Phone,Source\n+442079460958,fair\n+442079460959,fair\n"
NAME_WARNING = "No column gives these contacts a name"


def test_a_name_column_is_mapped_to_the_full_name_and_its_split_shown_before_importing(owner_client, owner, token):
    upload(owner_client, token, data=NAMED)
    imp = db.session.scalar(select(Import))
    html = owner_client.get(f"/imports/{imp.id}/mapping").get_data(as_text=True)
    assert re.search(r'name="map-0".*?<option value="full_name" selected>Full name', html, re.S)
    assert 'data-first="Иван Иванович" data-last="Иванов"' in html  # how each preview row will be split
    assert 'data-first="Anna" data-last="Lee"' in html
    assert NAME_WARNING not in html

    response = owner_client.post(f"/imports/{imp.id}/mapping", data={
        "csrf_token": token, "map-0": "full_name", "map-1": "email", "dedupe": "skip"})
    assert response.status_code == 302
    work()
    contacts = db.session.scalars(select(Contact).order_by(Contact.id))
    assert [(c.first_name, c.last_name, c.email) for c in contacts] == [
        ("Иван Иванович", "Иванов", "ivan@example.ru"), ("Anna", "Lee", "anna@example.com")]


def test_a_mapping_that_names_no_one_is_warned_of_and_can_still_be_imported(owner_client, owner, token):
    upload(owner_client, token, data=PHONES_ONLY)
    imp = db.session.scalar(select(Import))
    html = owner_client.get(f"/imports/{imp.id}/mapping").get_data(as_text=True)
    assert NAME_WARNING in html and 'name="without_names"' in html  # warned before starting

    form = {"csrf_token": token, "map-0": "phone", "map-1": "source", "dedupe": "skip"}
    response = owner_client.post(f"/imports/{imp.id}/mapping", data=form)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert NAME_WARNING in html and "Nothing has been imported yet" in html and 'role="alert"' in html
    assert re.search(r'name="map-1".*?<option value="source" selected>', html, re.S)  # the choices kept
    assert db.session.get(Import, imp.id).status == "uploaded" and len(queue(Queues.IMPORTS)) == 0

    response = owner_client.post(f"/imports/{imp.id}/mapping", data={**form, "without_names": "1"})
    assert response.status_code == 302
    work()
    contacts = db.session.scalars(select(Contact).order_by(Contact.id))
    assert [(c.first_name, c.last_name, c.phone) for c in contacts] == [("", "", "+442079460958"),
                                                                       ("", "", "+442079460959")]


def test_the_mapping_form_follows_a_changed_field_without_saving_it(owner_client, owner, token):
    upload(owner_client, token, data=NAMED)
    imp = db.session.scalar(select(Import))
    check = f"/imports/{imp.id}/mapping/check"
    fragment = owner_client.post(check, headers={"HX-Request": "true"}, data={
        "csrf_token": token, "map-0": "", "map-1": "email"}).get_data(as_text=True)
    assert fragment.lstrip().startswith('<form class="stack"')  # the form, not the page
    assert NAME_WARNING in fragment and "data-first" not in fragment

    fragment = owner_client.post(check, headers={"HX-Request": "true"}, data={
        "csrf_token": token, "map-0": "full_name", "map-1": "email"}).get_data(as_text=True)
    assert NAME_WARNING not in fragment and 'data-first="Anna" data-last="Lee"' in fragment
    db.session.expire_all()
    assert (db.session.get(Import, imp.id).status, db.session.get(Import, imp.id).mapping) == ("uploaded", {})


def test_the_imports_list_and_pages_say_the_status_in_words(owner_client, owner, token):
    def started(status, dry_run=False, error=None):
        imp = importing.start_import(owner, "contact", f"{status}.csv", io.BytesIO(CSV))
        imp.status, imp.dry_run, imp.error = status, dry_run, error
        db.session.commit()
        return imp

    started("uploaded")
    started("queued")
    started("running")
    started("done")
    started("done", dry_run=True)
    failed = started("failed", error="The member who started this import left.")
    listing = owner_client.get("/imports/").get_data(as_text=True)
    assert re.findall(r'data-status="(\w+)"[^>]*>([^<]+)</td>', listing) == [  # newest first
        ("failed", "Failed"), ("done", "Checked"), ("done", "Finished"), ("running", "Importing…"),
        ("queued", "Queued"), ("uploaded", "Uploaded")]  # a dry run that finished has "Checked" the file
    assert 'title="The member who started this import left."' in listing
    assert "Import failed" in owner_client.get(f"/imports/{failed.id}").get_data(as_text=True)


def test_the_preview_splits_a_name_as_the_run_will(owner_client, owner, token):
    upload(owner_client, token, data=b"Name,Email\n'=Ada Lee,ada@example.com\n")  # our export's formula guard
    imp = db.session.scalar(select(Import))
    html = owner_client.get(f"/imports/{imp.id}/mapping").get_data(as_text=True)
    assert 'data-first="=Ada" data-last="Lee"' in html
    owner_client.post(f"/imports/{imp.id}/mapping", data={"csrf_token": token, "map-0": "full_name",
                                                          "map-1": "email", "dedupe": "skip"})
    work()
    assert [(c.first_name, c.last_name) for c in db.session.scalars(select(Contact))] == [("=Ada", "Lee")]
