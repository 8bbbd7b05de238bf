"""Contacts' phone numbers as teams write them: read in the organization's default country when
they have no country code, through the service, the record form and the API."""

import pytest
from sqlalchemy import select

from app.blueprints.crm.models import Contact
from app.blueprints.crm.records import service
from app.errors import DomainError
from app.extensions import db
from tests.conftest import bearer, csrf_token
from tests.factories import make_contact, make_member


@pytest.fixture
def russian():
    """An owner whose organization reads numbers without a country code as Russian."""
    member = make_member()
    member.organization.default_country = "RU"
    db.session.commit()
    return member


@pytest.mark.parametrize("written", ["8 916 111-22-33", "89161112233", "8 (916) 111-22-33", "+7 916 111 22 33",
                                     "79161112233", "916 111 22 33"])
def test_a_russian_teams_number_is_saved_in_e164(russian, written):
    contact = service.create_record(russian, "contact", {"first_name": "Ivan", "phone": written})
    db.session.commit()
    assert db.session.get(Contact, contact.id).phone == "+79161112233"


def test_a_foreign_number_with_its_country_code_stays_foreign_in_a_russian_team(russian):
    for written, stored in (("+44 20 7946 0958", "+442079460958"), ("00 49 151 12345678", "+4915112345678")):
        assert service.create_record(russian, "contact", {"phone": written}).phone == stored


@pytest.mark.parametrize("written", ["8 916 111-22-33", "89161112233", "020 7946 0958"])
def test_without_a_default_country_a_national_number_asks_for_the_country_code(written):
    owner = make_member()
    with pytest.raises(DomainError) as err:
        service.create_record(owner, "contact", {"first_name": "Ivan", "phone": written})
    assert err.value.fields["phone"].startswith("Phone: add the country code (+…)")
    db.session.rollback()
    assert db.session.scalar(select(Contact)) is None


@pytest.mark.parametrize("country", [None, "RU"])
def test_a_value_that_is_no_phone_at_all_says_so(country):
    owner = make_member()
    owner.organization.default_country = country
    db.session.commit()
    for written in ("hello", "call me", "12"):
        with pytest.raises(DomainError) as err:
            service.create_record(owner, "contact", {"first_name": "Ivan", "phone": written})
        assert err.value.fields["phone"] == "Phone: not a phone number."
    db.session.rollback()
    assert db.session.scalar(select(Contact)) is None


def test_an_edit_reads_the_number_in_the_default_country_too(russian):
    contact = make_contact(russian, phone="+442079460958")
    service.update_record(russian, "contact", contact.id, {"phone": "8 916 111-22-33"})
    db.session.commit()
    assert db.session.get(Contact, contact.id).phone == "+79161112233"


def test_a_contact_made_unattended_reads_the_number_in_the_default_country(russian):
    contact = service.create_contact_unattended(russian.org_id, {"first_name": "Ivan", "phone": "8 916 111-22-33"},
                                                via="telegram")
    assert contact.phone == "+79161112233"


def test_the_record_form_saves_a_national_number(client, russian):
    from tests.conftest import sign_in_as

    sign_in_as(client, russian)
    token = csrf_token(client, "/contacts/new")
    response = client.post("/contacts/new", data={"csrf_token": token, "first_name": "Ivan",
                                                  "phone": "8 916 111-22-33"})
    assert response.status_code in (302, 303)
    assert db.session.scalar(select(Contact.phone)) == "+79161112233"


def test_the_record_form_shows_why_a_number_was_refused(owner_client, owner):
    token = csrf_token(owner_client, "/contacts/new")
    response = owner_client.post("/contacts/new", data={"csrf_token": token, "first_name": "Ivan",
                                                        "phone": "8 916 111-22-33"})
    assert response.status_code == 422
    assert "Phone: add the country code (+…)" in response.get_data(as_text=True)
    assert db.session.scalar(select(Contact)) is None


def test_the_api_reads_a_national_number_in_the_default_country(client, russian):
    created = client.post("/api/crm/contacts", headers=bearer(russian),
                          json={"first_name": "Ivan", "phone": "8 916 111-22-33"})
    assert created.status_code == 201 and created.get_json()["phone"] == "+79161112233"
    patched = client.patch(f"/api/crm/contacts/{created.get_json()['id']}", headers=bearer(russian),
                           json={"phone": "8 (903) 000-11-22"})
    assert patched.status_code == 200 and patched.get_json()["phone"] == "+79030001122"


def test_the_api_refuses_a_national_number_without_a_default_country_on_its_field(client, owner):
    refused = client.post("/api/crm/contacts", headers=bearer(owner), json={"first_name": "Ivan",
                                                                            "phone": "8 916 111-22-33"})
    assert refused.status_code == 422
    assert refused.get_json()["error"]["fields"] == {
        "phone": "Phone: add the country code (+…), e.g. +44 20 7946 0958."}
    hello = client.post("/api/crm/contacts", headers=bearer(owner), json={"phone": "hello"})
    assert hello.get_json()["error"]["fields"] == {"phone": "Phone: not a phone number."}
    assert db.session.scalar(select(Contact)) is None
