"""An import reads phone numbers without a country code in the organization's default country,
and matches them against the contacts already there in E.164."""

from sqlalchemy import select

from app.blueprints.crm.importing import in_language
from app.blueprints.crm.models import Contact, ImportRejection
from app.extensions import db
from tests.crm.importing.test_import import counts, run
from tests.factories import make_contact, make_member

ROWS = ("First name,Phone\n"
        "Ivan,8 916 111-22-33\n"
        "Olga,89031234567\n"
        "Ann,+44 20 7946 0958\n"
        "Bad,hello\n")


def test_a_russian_teams_file_is_imported_with_numbers_in_e164():
    owner = make_member()
    owner.organization.default_country = "RU"
    db.session.commit()
    imp = run(owner, ROWS)
    assert counts(imp) == (3, 0, 0, 1)
    phones = dict(db.session.execute(select(Contact.first_name, Contact.phone)).all())
    assert phones == {"Ivan": "+79161112233", "Olga": "+79031234567", "Ann": "+442079460958"}
    reasons = [in_language(r.reason, "en") for r in db.session.scalars(select(ImportRejection))]
    assert reasons == ["Phone: not a phone number."]


def test_without_a_default_country_national_numbers_are_rejected_asking_for_the_code():
    owner = make_member()
    imp = run(owner, ROWS)
    assert counts(imp) == (1, 0, 0, 3)
    assert db.session.scalars(select(Contact.first_name)).all() == ["Ann"]
    reasons = sorted(in_language(r.reason, "en") for r in db.session.scalars(select(ImportRejection)))
    assert reasons == ["Phone: add the country code (+…), e.g. +44 20 7946 0958.",
                       "Phone: add the country code (+…), e.g. +44 20 7946 0958.",
                       "Phone: not a phone number."]


def test_a_national_number_matches_the_contact_saved_in_e164():
    owner = make_member()
    owner.organization.default_country = "RU"
    db.session.commit()
    ivan = make_contact(owner, first_name="Ivan", phone="+79161112233")
    imp = run(owner, "Phone,Title\n8 (916) 111-22-33,CEO\n", dedupe="update")
    assert counts(imp) == (0, 1, 0, 0)
    db.session.expire_all()
    assert db.session.get(Contact, ivan.id).title == "CEO"
