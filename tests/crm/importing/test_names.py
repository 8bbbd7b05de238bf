"""Contacts' names from an import: a full name column split into first and last name, the guess
that maps a file's one name column to it, and what tells a mapping that names no one."""

import io

import pytest
from sqlalchemy import select

from app.blueprints.crm import importing
from app.blueprints.crm.importing import jobs as import_jobs
from app.blueprints.crm.models import Contact, Import, ImportRejection
from app.blueprints.team.permissions import Role
from app.extensions import db
from tests.factories import make_contact, make_member


@pytest.fixture
def owner():
    return make_member(Role.OWNER)


def run(actor, text: str, mapping=None, dedupe="skip") -> Import:
    imp = importing.import_file(actor, "contact", "people.csv", io.BytesIO(text.encode()), mapping=mapping,
                                dedupe=dedupe)
    db.session.commit()
    import_jobs.run_import(imp.id)
    db.session.expire_all()
    return db.session.get(Import, imp.id)


def names(org_id: int) -> list[tuple[str, str]]:
    return [(c.first_name, c.last_name) for c in db.session.scalars(
        select(Contact).where(Contact.org_id == org_id).order_by(Contact.id))]


@pytest.mark.parametrize(("full", "first", "last"), [
    ("Anna Lee", "Anna", "Lee"),
    ("  Anna   Lee ", "Anna", "Lee"),
    ("Lee, Anna", "Anna", "Lee"),
    ("Mary Ann Lee", "Mary Ann", "Lee"),
    ("Ludwig van Beethoven", "Ludwig", "van Beethoven"),
    ("Dr. Anna Lee", "Anna", "Lee"),
    ("Mr Lee", "", "Lee"),
    ("John Smith Jr.", "John", "Smith Jr."),
    ("Anna Lee, PhD", "Anna", "Lee"),
    ("Cher", "Cher", ""),
    ("", "", ""),
    # Russian: Фамилия Имя Отчество (the patronymic stays with the first name, as people are
    # addressed), Имя Отчество Фамилия, Имя Фамилия, a comma, and the transliterated forms.
    ("Иванов Иван Иванович", "Иван Иванович", "Иванов"),
    ("Смирнова Анна Сергеевна", "Анна Сергеевна", "Смирнова"),
    ("Иван Иванович Иванов", "Иван Иванович", "Иванов"),
    ("Иван Иванов", "Иван", "Иванов"),
    ("Роман Абрамович", "Роман", "Абрамович"),  # a surname ending like a patronymic
    ("Иванов, Иван Иванович", "Иван Иванович", "Иванов"),
    ("Алиев Рашид Гусейн оглы", "Рашид Гусейн оглы", "Алиев"),
    ("Ivanov Ivan Ivanovich", "Ivan Ivanovich", "Ivanov"),
    ("Иван", "Иван", ""),
])
def test_a_full_name_is_split_into_first_and_last_name(full, first, last):
    assert tuple(importing.split_full_name(full)) == (first, last)


@pytest.mark.parametrize("header", ["Name", "Full name", "full_name", "Contact", "ФИО",
                                    "Ф.И.О.",
                                    "Имя и фамилия", "Полное имя", "Контактное лицо"])
def test_a_contact_file_s_one_name_column_is_guessed_as_the_full_name(owner, header):
    mapping = importing.guess_mapping(owner.org_id, "contact", [header, "Email"])
    assert mapping == {header: "full_name", "Email": "email"}


def test_first_and_last_name_columns_win_over_a_name_column(owner):
    mapping = importing.guess_mapping(owner.org_id, "contact", ["Name", "First name", "Last name"])
    assert mapping == {"Name": "", "First name": "first_name", "Last name": "last_name"}
    mapping = importing.guess_mapping(owner.org_id, "contact", ["Имя", "Фамилия", "Email"])
    assert mapping == {"Имя": "first_name", "Фамилия": "last_name", "Email": "email"}


def test_a_lone_imya_column_is_split_like_a_full_name(owner):
    assert importing.guess_mapping(owner.org_id, "contact", ["Имя", "Email"]) == {"Имя": "full_name",
                                                                                  "Email": "email"}


def test_companies_and_deals_keep_their_own_name_columns(owner):
    assert importing.guess_mapping(owner.org_id, "company", ["Name"]) == {"Name": "name"}
    assert importing.guess_mapping(owner.org_id, "deal", ["Name", "Contact"]) == {"Name": "title",
                                                                                  "Contact": "contact"}
    assert "full_name" not in dict(importing.field_choices(owner.org_id, "company"))
    assert dict(importing.field_choices(owner.org_id, "contact"))["full_name"].startswith("Full name")


def test_contacts_are_created_with_their_full_names_split(owner):
    imp = run(owner, "Name,Email\n"
                     "Anna Lee,anna@example.com\n"
                     '"Lee, Bo",bo@example.com\n'
                     "Иванов Иван Иванович,ivan@example.ru\n"
                     "Пётр Сидоров,petr@example.ru\n"
                     "Cher,cher@example.com\n"
                     ",nobody@example.com\n")
    assert (imp.created_count, imp.rejected_count) == (6, 0)
    assert imp.mapping == {"Name": "full_name", "Email": "email"}
    assert names(owner.org_id) == [("Anna", "Lee"), ("Bo", "Lee"), ("Иван Иванович", "Иванов"),
                                   ("Пётр", "Сидоров"), ("Cher", ""), ("", "")]


def test_a_full_name_fills_the_rows_whose_first_and_last_name_are_blank(owner):
    mapping = {"First": "first_name", "Last": "last_name", "Name": "full_name", "Email": "email"}
    run(owner, "First,Last,Name,Email\n"
               "Ann,,Anna Lee,ann@example.com\n"
               ",,Bo Chen,bo@example.com\n", mapping=mapping)
    assert names(owner.org_id) == [("Ann", ""), ("Bo", "Chen")]


def test_an_update_from_a_one_word_name_keeps_the_last_name(owner):
    make_contact(owner, first_name="Ann", last_name="Lee", email="ann@example.com")
    imp = run(owner, "Name,Email\nAnnie,ann@example.com\n", dedupe="update")
    assert imp.updated_count == 1
    assert names(owner.org_id) == [("Annie", "Lee")]


def test_a_name_part_too_long_for_its_field_rejects_the_row(owner):
    imp = run(owner, f"Name,Email\nAnna {'L' * 101},anna@example.com\nBo Chen,bo@example.com\n")
    assert (imp.created_count, imp.rejected_count) == (1, 1)
    reason = importing.in_language(db.session.scalar(select(ImportRejection.reason)), "en")
    assert reason == "Full name: the last name is at most 100 characters."


def test_an_api_client_may_map_a_column_to_the_full_name(owner):
    run(owner, "Who,Phone\nAnna Lee,+442079460958\n", mapping={"Who": "full_name", "Phone": "phone"})
    assert names(owner.org_id) == [("Anna", "Lee")]


def test_a_mapping_gives_names_when_a_column_fills_first_last_or_full_name(owner):
    assert importing.gives_names("contact", {"A": "first_name"})
    assert importing.gives_names("contact", {"A": "last_name", "B": "email"})
    assert importing.gives_names("contact", {"A": "full_name"})
    assert not importing.gives_names("contact", {"A": "phone", "B": ""})
    assert importing.gives_names("company", {"A": "domain"})  # their name is required anyway


def test_a_phone_only_import_is_still_allowed_by_the_service(owner):
    imp = run(owner, "Phone\n+442079460958\n")
    assert imp.created_count == 1 and names(owner.org_id) == [("", "")]
