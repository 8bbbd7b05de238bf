"""Where a campaign's audience comes from: the contact list's filters, a deal stage, an import;
never anyone twice, and never another organization's contacts."""

from __future__ import annotations

from sqlalchemy import select

from app.blueprints.campaigns import service
from app.blueprints.campaigns.models import Enrollment
from app.blueprints.pipeline import service as pipelines
from app.extensions import db
from tests.campaigns.kit import ALWAYS, manager
from tests.factories import make_account, make_contact, make_deal


def draft(member):
    account = make_account(member.organization)
    found = service.create_campaign(member, {"name": "Audience", "account_ids": [account.id], "window": ALWAYS,
                                             "steps": [{"variants": [{"text": "Hello"}]}]})
    db.session.commit()
    return found


def enrolled(found) -> set[int]:
    return set(db.session.scalars(select(Enrollment.contact_id).where(Enrollment.campaign_id == found.id)))


def test_the_contact_list_s_filters_choose_the_audience():
    member = manager()
    founders = [make_contact(member, telegram_username=f"founder{n}", tags=["founders"]) for n in range(3)]
    make_contact(member, telegram_username="investor1", tags=["investors"])
    found = draft(member)

    result = service.add_contacts(member, found, filters={"tag": "founders"})
    db.session.commit()
    assert result == {"added": 3, "already": 0, "skipped": {}}
    assert enrolled(found) == {c.id for c in founders}
    again = service.add_contacts(member, found, filters={"tag": "founders"})
    assert again == {"added": 0, "already": 3, "skipped": {}}


def test_a_deal_stage_brings_its_deals_contacts():
    member = manager()
    ann = make_contact(member, telegram_username="ann_stage")
    deal = make_deal(member, title="Pilot", stage="Qualified")
    deal.contact_id = ann.id
    db.session.commit()
    stage = next(s for s in pipelines.pipelines(member.org_id)[0].stages if s.id == deal.stage_id)
    assert stage.name == "Qualified"
    make_contact(member, telegram_username="no_deal")
    found = draft(member)

    service.add_contacts(member, found, stage_id=stage.id)
    db.session.commit()
    assert enrolled(found) == {ann.id}


def test_an_import_brings_the_contacts_it_created():
    member = manager()
    imported = [make_contact(member, telegram_username=f"imported{n}") for n in range(2)]
    for contact in imported:
        contact.import_id = 4242
    make_contact(member, telegram_username="typed_in")
    db.session.commit()
    found = draft(member)

    service.add_contacts(member, found, import_id=4242)
    db.session.commit()
    assert enrolled(found) == {c.id for c in imported}


def test_ids_of_another_organization_s_contacts_enroll_nobody():
    member, stranger = manager(), manager()
    theirs = make_contact(stranger, telegram_username="not_yours")
    found = draft(member)

    result = service.add_contacts(member, found, contact_ids=[theirs.id])
    db.session.commit()
    assert result["added"] == 0 and enrolled(found) == set()
