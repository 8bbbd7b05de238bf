from decimal import Decimal

import pytest
from sqlalchemy import select

from app.blueprints.crm.bulk import service as bulk_service
from app.blueprints.crm.models import Activity, Company, Contact, CustomField, Deal
from app.blueprints.crm.records import queries, service
from app.blueprints.crm.records.queries import ListQuery
from app.blueprints.team.permissions import Role
from app.errors import DomainError, Forbidden, NotFound
from app.extensions import db
from tests.factories import add_member, make_contact, make_deal, make_member


@pytest.fixture
def owner():
    return make_member(Role.OWNER)


def test_creating_a_contact_normalizes_email_phone_and_telegram_handle(owner):
    contact = service.create_record(owner, "contact", {
        "first_name": " Ada ", "last_name": "Lovelace", "email": "Ada@Example.COM",
        "phone": "+44 20 7946 0958", "telegram_username": "https://t.me/Ada_L", "company": "Engines Ltd",
        "tags": "vip, london", "telegram_user_id": "12345"})
    assert (contact.email, contact.phone, contact.telegram_username) == (
        "ada@example.com", "+442079460958", "ada_l")
    assert contact.company.name == "Engines Ltd" and contact.owner_id == owner.user_id
    assert sorted(t.name for t in contact.tags) == ["london", "vip"]
    assert "engines ltd" in contact.search_text and "@ada_l" in contact.search_text


def test_a_company_named_in_cyrillic_is_found_again_whatever_its_case(owner):
    first = service.create_record(owner, "contact", {"first_name": "Анна", "company": "Тундра Софт"})
    second = service.create_record(owner, "contact", {"first_name": "Иван", "company": "ТУНДРА СОФТ"})
    assert second.company_id == first.company_id
    assert db.session.scalars(select(Company.name).where(Company.org_id == owner.org_id)).all() == ["Тундра Софт"]


def test_bad_fields_are_all_reported_at_once(owner):
    with pytest.raises(DomainError) as err:
        service.create_record(owner, "contact", {"email": "nope", "phone": "12", "telegram_username": "a b",
                                                 "timezone": "Mars/Base"})
    assert set(err.value.fields) == {"email", "phone", "telegram_username", "timezone"}
    assert db.session.scalar(select(Contact)) is None


def test_a_deal_starts_in_the_first_stage_of_the_default_pipeline(owner):
    deal = service.create_record(owner, "deal", {"title": "Pilot", "value": "$12,500.00"})
    assert deal.stage.name == "New lead" and deal.probability == 10
    assert deal.value == Decimal("12500.00") and deal.status == "open"


def test_moving_a_deal_to_a_won_stage_wins_it(owner):
    deal = make_deal(owner)
    service.update_record(owner, "deal", deal.id, {"stage": "Won"})
    assert deal.status == "won"


def test_updates_record_the_changes_on_the_timeline(owner):
    contact = make_contact(owner, email="a@example.com")
    service.update_record(owner, "contact", contact.id, {"title": "CTO"})
    activity = db.session.scalar(select(Activity).where(Activity.kind == "updated"))
    assert activity.data["changes"] == {"title": [None, "CTO"]}


def test_agents_edit_only_their_own_records(owner):
    agent = add_member(owner.organization, role=Role.AGENT)
    theirs = make_contact(owner)
    mine = make_contact(agent)
    with pytest.raises(Forbidden):
        service.update_record(agent, "contact", theirs.id, {"title": "x"})
    service.update_record(agent, "contact", mine.id, {"title": "x"})
    with pytest.raises(Forbidden):
        service.trash_records(agent, "contact", [mine.id])


def test_trash_and_restore(owner):
    contact = make_contact(owner)
    assert service.trash_records(owner, "contact", [contact.id]) == 1
    with pytest.raises(NotFound):
        service.get_record(owner.org_id, "contact", contact.id)
    assert queries.list_records(owner.org_id, "contact", ListQuery(trashed=True)).total == 1
    assert service.restore_records(owner, "contact", [contact.id]) == 1
    assert service.get_record(owner.org_id, "contact", contact.id)


def test_other_organizations_records_are_invisible(owner):
    stranger = make_member(Role.OWNER)
    theirs = make_contact(stranger)
    with pytest.raises(NotFound):
        service.update_record(owner, "contact", theirs.id, {"title": "x"})
    assert service.trash_records(owner, "contact", [theirs.id]) == 0
    assert queries.list_records(owner.org_id, "contact", ListQuery()).total == 0


def test_search_matches_parts_of_names_emails_phones_handles_and_company(owner):
    make_contact(owner, first_name="Grace", last_name="Hopper", email="grace@navy.mil",
                 phone="+1 415 555 0123", telegram_username="amazing_grace", company="Navy")
    make_contact(owner, first_name="Alan", last_name="Turing")
    for q in ("grace", "hop", "navy.mil", "4155550", "@amazing", "Navy", "gr"):
        page = queries.list_records(owner.org_id, "contact", ListQuery(q=q))
        assert [c.first_name for c in page.items] == ["Grace"], q


def test_filters_by_tag_owner_and_custom_field(owner):
    db.session.add(CustomField(org_id=owner.org_id, entity="contact", key="tier", label="Tier",
                               kind="select", options=["Gold", "Silver"]))
    db.session.commit()
    agent = add_member(owner.organization, role=Role.AGENT)
    make_contact(owner, tags="vip", **{"custom.tier": "gold"})
    make_contact(agent, tags="cold")
    assert queries.list_records(owner.org_id, "contact", ListQuery(tag="VIP")).total == 1
    assert queries.list_records(owner.org_id, "contact", ListQuery(owner_id=agent.user_id)).total == 1
    page = queries.list_records(owner.org_id, "contact", ListQuery(custom={"tier": "Gold"}))
    assert page.total == 1 and page.items[0].custom == {"tier": "Gold"}


def test_pagination_and_sorting(owner):
    for name in ("Cee", "Abe", "Bea"):
        make_contact(owner, first_name=name, last_name=name)
    page = queries.list_records(owner.org_id, "contact", ListQuery(sort="name", per_page=2))
    assert [c.first_name for c in page.items] == ["Abe", "Bea"] and page.pages == 2 and page.has_next
    page2 = queries.list_records(owner.org_id, "contact", ListQuery(sort="-name", page=2, per_page=2))
    assert [c.first_name for c in page2.items] == ["Abe"]


def test_bulk_assign_tag_and_stage(owner):
    agent = add_member(owner.organization, role=Role.AGENT)
    contacts = [make_contact(owner) for _ in range(3)]
    ids = [c.id for c in contacts]
    assert bulk_service.bulk(owner, "contact", "assign", ids, agent.user.email) == 3
    assert bulk_service.bulk(owner, "contact", "add_tag", ids, "hot") == 3
    assert bulk_service.bulk(owner, "contact", "add_tag", ids, "hot") == 0
    assert bulk_service.bulk(owner, "contact", "remove_tag", ids[:1], "hot") == 1
    db.session.commit()
    assert queries.list_records(owner.org_id, "contact", ListQuery(owner_id=agent.user_id)).total == 3
    assert queries.list_records(owner.org_id, "contact", ListQuery(tag="hot")).total == 2
    deal = make_deal(owner)
    assert bulk_service.bulk(owner, "deal", "move_stage", [deal.id], "Proposal") == 1
    assert db.session.get(Deal, deal.id).stage.name == "Proposal"


def test_merging_contacts_carries_deals_tags_and_timeline(owner):
    keep = make_contact(owner, email="keep@example.com", tags="a")
    dupe = make_contact(owner, phone="+14155550123", tags="b", telegram_username="dupe_handle")
    deal = make_deal(owner, contact=dupe.id)
    service.add_note(owner, "contact", dupe.id, "met at the conference")
    service.merge_contacts(owner, keep.id, [dupe.id])
    db.session.commit()
    assert keep.phone == "+14155550123" and keep.telegram_username == "dupe_handle"
    assert sorted(t.name for t in keep.tags) == ["a", "b"]
    assert db.session.get(Deal, deal.id).contact_id == keep.id
    notes = [a.body for a in queries.timeline(owner.org_id, "contact", keep) if a.kind == "note"]
    assert notes == ["met at the conference"]
    assert db.session.get(Contact, dupe.id).deleted_at is not None


def test_renaming_a_company_updates_its_contacts_search(owner):
    contact = make_contact(owner, company="Old Name")
    service.update_record(owner, "company", contact.company_id, {"name": "Shiny New"})
    db.session.commit()
    assert queries.list_records(owner.org_id, "contact", ListQuery(q="shiny")).total == 1
    assert db.session.scalar(select(Company.name)) == "Shiny New"


def test_list_query_round_trips_through_query_string_args():
    args = {"q": "ann", "owner": "none", "tag": "vip", "stage": "3", "sort": "-created",
            "custom.tier": "Gold", "created_from": "2026-01-01", "page": "x"}
    query = ListQuery.from_args(args)
    assert query.unowned and query.stage_id == 3 and query.page == 1
    assert query.custom == {"tier": "Gold"} and str(query.created_from) == "2026-01-01"
    assert ListQuery.from_args(query.as_args()) == query


def test_creating_a_deal_in_a_won_stage_makes_it_won(owner):
    deal = service.create_record(owner, "deal", {"title": "Signed", "stage": "Won"})
    assert deal.status == "won"
    lost = service.create_record(owner, "deal", {"title": "Gone", "stage": "Lost", "lost_reason": "price"})
    assert lost.status == "lost" and lost.lost_reason == "price"


def test_a_new_contact_is_announced_after_commit_and_not_after_a_rollback(owner):
    from app.blueprints.crm.events import ContactCreated
    from app.events import bus

    heard: list = []
    bus.subscribe(ContactCreated, heard.append)
    try:
        kept = service.create_record(owner, "contact", {"email": "kept@example.com"})
        made = service.create_contact_unattended(owner.org_id, {"telegram_username": "writer"}, via="telegram")
        assert heard == []  # nothing before the commit
        db.session.commit()
        assert [(e.contact_id, e.via, e.actor_id) for e in heard] == [
            (kept.id, "app", owner.user_id), (made.id, "telegram", None)]
        heard.clear()
        service.create_record(owner, "contact", {"email": "gone@example.com"})
        db.session.rollback()
        db.session.commit()
        assert heard == []
    finally:
        bus.unsubscribe(heard.append)
