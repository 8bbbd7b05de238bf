"""Settings → Do not contact: the list paged with its reasons; an identity added by hand or from a
CSV file; an entry removed; managers change it, everyone reads it."""

from __future__ import annotations

import io

from sqlalchemy import select

from app.blueprints.campaigns import suppression
from app.blueprints.campaigns.models import Suppression
from app.blueprints.campaigns.suppression_routes import read_identities
from app.blueprints.team.models import Role
from app.extensions import db
from tests.campaigns.kit import manager
from tests.conftest import csrf_token, sign_in_as
from tests.factories import add_member, make_contact

RU = {"Accept-Language": "ru"}


def signed_in(client, member) -> dict:
    sign_in_as(client, member)
    return {"X-CSRFToken": csrf_token(client, "/home")}


def listed(org_id) -> set[tuple[str, str, str]]:
    db.session.rollback()
    return {(s.kind, s.value, s.reason) for s in db.session.scalars(
        select(Suppression).where(Suppression.org_id == org_id))}


def test_a_manager_adds_a_username_a_phone_and_a_user_id_in_canonical_form(client):
    member = manager()
    headers = signed_in(client, member)
    for kind, value in (("username", "@Anna_K"), ("phone", "+7 916 111-22-33"), ("user_id", "123456789")):
        assert client.post("/settings/do-not-contact", data={"kind": kind, "value": value},
                           headers=headers).status_code == 302
    assert listed(member.org_id) == {("username", "anna_k", "manual"), ("phone", "+79161112233", "manual"),
                                     ("user_id", "123456789", "manual")}
    html = client.get("/settings/do-not-contact").get_data(as_text=True)
    assert "@anna_k" in html and "Added by a teammate" in html and "3 entries" in html


def test_a_value_that_is_no_identity_is_refused_on_the_form(client):
    member = manager()
    headers = signed_in(client, member)
    response = client.post("/settings/do-not-contact", data={"kind": "phone", "value": "call me"}, headers=headers)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "not a phone number" in html and 'value="call me"' in html
    assert listed(member.org_id) == set()


def test_a_csv_with_a_heading_adds_its_columns_and_says_what_happened(client):
    member = manager()
    headers = signed_in(client, member)
    suppression.add_identity(member, "username", "boris")
    db.session.commit()
    data = b"name,username,phone\nAnna,@anna,+79161112233\nBoris,boris,\nNobody,not a name!,\n"
    response = client.post("/settings/do-not-contact/import", headers=headers, follow_redirects=True,
                           data={"file": (io.BytesIO(data), "list.csv")}, content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    assert "2 added to the list." in html and "1 was listed already." in html and "(line 4)" in html
    assert listed(member.org_id) == {("username", "anna", "import"), ("phone", "+79161112233", "import"),
                                     ("username", "boris", "manual")}
    assert "Imported from a file" in html


def test_a_plain_file_has_one_identity_a_line_of_any_kind():
    assert read_identities("@anna\n+7 916 111-22-33\n123456789\n\nboris_b\n") == [
        (1, "username", "@anna"), (2, "phone", "+7 916 111-22-33"), (3, "user_id", "123456789"),
        (5, "username", "boris_b")]


def test_an_empty_file_is_refused(client):
    member = manager()
    headers = signed_in(client, member)
    response = client.post("/settings/do-not-contact/import", headers=headers,
                           data={"file": (io.BytesIO(b""), "list.csv")}, content_type="multipart/form-data")
    assert response.status_code == 422 and "Choose a CSV or text file." in response.get_data(as_text=True)


def test_a_manager_removes_an_entry(client):
    member = manager()
    headers = signed_in(client, member)
    entry = suppression.add_identity(member, "username", "anna")
    suppression.add_identity(member, "username", "boris")
    db.session.commit()
    assert client.post(f"/settings/do-not-contact/{entry.id}/delete", headers=headers).status_code == 302
    assert listed(member.org_id) == {("username", "boris", "manual")}


def test_an_agent_reads_the_list_but_cannot_change_it(client):
    member = manager()
    entry = suppression.add_identity(member, "username", "anna")
    db.session.commit()
    agent = add_member(member.organization, role=Role.AGENT)
    headers = signed_in(client, agent)
    html = client.get("/settings/do-not-contact").get_data(as_text=True)
    assert "@anna" in html and 'id="suppression-form"' not in html and "/delete" not in html
    assert client.post("/settings/do-not-contact", data={"kind": "username", "value": "boris"},
                       headers=headers).status_code == 403
    assert client.post(f"/settings/do-not-contact/{entry.id}/delete", headers=headers).status_code == 403
    upload = client.post("/settings/do-not-contact/import", headers=headers, content_type="multipart/form-data",
                         data={"file": (io.BytesIO(b"@boris\n"), "list.csv")})
    assert upload.status_code == 403
    assert listed(member.org_id) == {("username", "anna", "manual")}


def test_the_list_is_paged_newest_first(client):
    member = manager()
    for n in range(55):
        suppression.add_identity(member, "user_id", str(1000 + n))
    db.session.commit()
    signed_in(client, member)
    first = client.get("/settings/do-not-contact").get_data(as_text=True)
    second = client.get("/settings/do-not-contact?page=2").get_data(as_text=True)
    assert "1054" in first and "1000" not in first and "Page 1 of 2" in first
    assert "1000" in second and "1054" not in second


def test_a_contacts_entries_name_and_link_the_contact_in_either_language(client):
    member = manager()
    contact = make_contact(member, first_name="Анна", telegram_username="anna")
    suppression.suppress_contact(member.org_id, contact, reason="opt_out")
    suppression.add_identity(member, "username", "boris", reason="api")
    db.session.commit()
    signed_in(client, member)
    html = client.get("/settings/do-not-contact", headers=RU).get_data(as_text=True)
    assert "Анна" in html and f"/contacts/{contact.id}" in html


def test_another_organizations_entry_is_not_found(client):
    stranger = manager()
    theirs = suppression.add_identity(stranger, "username", "anna")
    db.session.commit()
    headers = signed_in(client, manager())
    assert client.post(f"/settings/do-not-contact/{theirs.id}/delete", headers=headers).status_code == 404
    assert listed(stranger.org_id) == {("username", "anna", "manual")}
