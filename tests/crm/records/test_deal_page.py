"""A deal's page as a rep uses it: Won and Lost (a reason asked for), dates in one format, the
contact and company picked from suggestions, the currency from a list with the organization's."""

import re

import pytest
from sqlalchemy import select

from app.blueprints.crm.models import Company, Contact, Deal
from app.blueprints.crm.records import service
from app.blueprints.pipeline import service as pipeline_service
from app.blueprints.team.permissions import Role
from app.errors import DomainError, Forbidden
from app.extensions import db
from tests.conftest import csrf_token, sign_in_as
from tests.factories import add_member, make_contact, make_deal, make_member


@pytest.fixture
def deal(owner):
    return make_deal(owner, title="Helios pilot", value="12000")


def stage_of(deal: Deal) -> tuple[str, str]:
    db.session.refresh(deal)
    return deal.status, deal.stage.name


def won_stage(org_id: int):
    pipeline_service.default_pipeline(org_id)
    return next(s for s in pipeline_service.stages(org_id) if s.name == "Won")


# -- the service -----------------------------------------------------------------------------

def test_closing_a_deal_as_won_puts_it_in_its_pipelines_won_stage(owner, deal):
    service.close_deal(owner, deal.id, "won")
    db.session.commit()
    assert stage_of(deal) == ("won", "Won")
    assert deal.lost_reason is None


def test_a_lost_deal_keeps_the_reason_it_was_lost_for(owner, deal):
    service.close_deal(owner, deal.id, "lost", "  Chose a competitor ")
    db.session.commit()
    assert stage_of(deal) == ("lost", "Lost")
    assert deal.lost_reason == "Chose a competitor"


@pytest.mark.parametrize("reason", [None, "", "   ", 42])
def test_losing_a_deal_without_a_reason_is_refused_and_changes_nothing(owner, deal, reason):
    with pytest.raises(DomainError) as refused:
        service.close_deal(owner, deal.id, "lost", reason)
    db.session.rollback()
    assert refused.value.fields == {"lost_reason": "Say why the deal was lost."}
    assert stage_of(deal) == ("open", "New lead")


def test_an_outcome_other_than_won_or_lost_is_refused(owner, deal):
    with pytest.raises(DomainError):
        service.close_deal(owner, deal.id, "open")
    db.session.rollback()
    assert stage_of(deal) == ("open", "New lead")


def test_an_agent_cannot_close_a_teammates_deal(owner, deal):
    agent = add_member(owner.organization, role=Role.AGENT)
    with pytest.raises(Forbidden):
        service.close_deal(agent, deal.id, "won")
    db.session.rollback()
    assert stage_of(deal) == ("open", "New lead")


def test_the_lost_reasons_given_most_come_first(owner):
    for reason in ("Budget", "Timing", "Budget"):
        service.close_deal(owner, make_deal(owner).id, "lost", reason)
    db.session.commit()
    from app.blueprints.crm.records import queries
    assert queries.lost_reasons(owner.org_id) == ["Budget", "Timing"]
    assert queries.lost_reasons(make_member(Role.OWNER).org_id) == []


# -- the page --------------------------------------------------------------------------------

def test_an_open_deal_has_won_and_lost_buttons_and_its_close_date_as_a_day(owner_client, owner):
    deal = make_deal(owner, title="Dated", expected_close="2027-03-20")
    html = owner_client.get(f"/deals/{deal.id}").get_data(as_text=True)
    assert 'name="outcome" value="won"' in html and 'name="outcome" value="lost"' in html
    assert '<time datetime="2027-03-20" data-local="day">Mar 20, 2027</time>' in html
    listed = owner_client.get("/deals").get_data(as_text=True)
    assert '<time datetime="2027-03-20" data-local="day">Mar 20, 2027</time>' in listed


def test_the_won_button_wins_the_deal_and_says_so(owner_client, owner, deal):
    token = csrf_token(owner_client, f"/deals/{deal.id}")
    response = owner_client.post(f"/deals/{deal.id}/outcome", data={"csrf_token": token, "outcome": "won"})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/deals/{deal.id}")
    assert stage_of(deal) == ("won", "Won")
    page = owner_client.get(f"/deals/{deal.id}").get_data(as_text=True)
    assert "Deal marked won." in page and 'name="outcome" value="won"' not in page


def test_lost_without_a_reason_re_renders_the_page_asking_for_one(owner_client, owner, deal):
    token = csrf_token(owner_client, f"/deals/{deal.id}")
    response = owner_client.post(f"/deals/{deal.id}/outcome",
                                 data={"csrf_token": token, "outcome": "lost", "lost_reason": " "})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="lost-reason-error">Say why the deal was lost.' in html
    assert re.search(r'<details class="outcome-lost" open>', html)
    assert stage_of(deal) == ("open", "New lead")


def test_a_lost_reason_too_long_says_so_and_keeps_what_was_typed(owner_client, owner, deal):
    token = csrf_token(owner_client, f"/deals/{deal.id}")
    response = owner_client.post(f"/deals/{deal.id}/outcome",
                                 data={"csrf_token": token, "outcome": "lost", "lost_reason": "x" * 201})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="lost-reason-error">Lost reason: ' in html and 'value="' + "x" * 201 + '"' in html
    assert stage_of(deal) == ("open", "New lead")


def test_lost_with_a_reason_shows_it_on_the_page(owner_client, owner, deal):
    token = csrf_token(owner_client, f"/deals/{deal.id}")
    owner_client.post(f"/deals/{deal.id}/outcome",
                      data={"csrf_token": token, "outcome": "lost", "lost_reason": "No budget this year"})
    assert stage_of(deal) == ("lost", "Lost") and deal.lost_reason == "No budget this year"
    html = owner_client.get(f"/deals/{deal.id}").get_data(as_text=True)
    assert '<span class="outcome-reason">No budget this year</span>' in html


def test_won_refused_by_the_won_stages_rule_names_the_rule_and_changes_nothing(owner_client, owner):
    pipeline_service.update_stage(owner, won_stage(owner.org_id).id, {"required_fields": ["expected_close"]})
    db.session.commit()
    deal = make_deal(owner, title="Undated")
    token = csrf_token(owner_client, f"/deals/{deal.id}")
    response = owner_client.post(f"/deals/{deal.id}/outcome", data={"csrf_token": token, "outcome": "won"})
    assert response.status_code == 422
    assert "Expected close" in response.get_data(as_text=True)
    assert stage_of(deal) == ("open", "New lead")


def test_another_organizations_deal_cannot_be_closed(client, owner, deal):
    stranger = make_member(Role.OWNER)
    sign_in_as(client, stranger)
    token = csrf_token(client, "/deals")
    response = client.post(f"/deals/{deal.id}/outcome", data={"csrf_token": token, "outcome": "won"})
    assert response.status_code == 404
    assert stage_of(deal) == ("open", "New lead")


def test_the_outcome_needs_the_csrf_token(owner_client, deal):
    assert owner_client.post(f"/deals/{deal.id}/outcome", data={"outcome": "won"}).status_code == 400
    assert stage_of(deal) == ("open", "New lead")


# -- picking the contact and company ---------------------------------------------------------

def test_a_contact_is_found_by_its_label_email_handle_id_phone_or_unique_name(owner):
    owner.organization.default_country = "RU"
    ann = make_contact(owner, first_name="Анна", last_name="Ёлкина", email="anna@example.ru",
                       telegram_username="anna_yo", phone="+7 916 111-22-33")
    bare = make_contact(owner, first_name="", last_name="", telegram_username="nameless_one")
    assert ann.label == "Анна Ёлкина · anna@example.ru" and bare.label == "@nameless_one"
    for typed in (ann.label, "anna@example.ru", "@anna_yo", f"#{ann.id}", str(ann.id), "8 916 111-22-33",
                  "анна ёлкина", "Someone else · anna@example.ru"):
        assert service.resolve_contact(owner.org_id, typed) == ann, typed
    assert service.resolve_contact(owner.org_id, bare.label) == bare


def test_a_name_two_contacts_share_asks_to_pick_a_suggestion(owner):
    make_contact(owner, first_name="Ivan", last_name="Petrov", email="a@example.com")
    make_contact(owner, first_name="Ivan", last_name="Petrov", email="b@example.com")
    with pytest.raises(ValueError, match="more than one contact is called Ivan Petrov"):
        service.resolve_contact(owner.org_id, "Ivan Petrov")
    with pytest.raises(ValueError, match="no such contact"):
        service.resolve_contact(owner.org_id, "Nobody Atall")


def test_suggestions_follow_the_typing_and_stay_in_the_organization(owner_client, owner):
    ann = make_contact(owner, first_name="Ёжик", last_name="Туманов", email="hedgehog@example.ru")
    make_contact(owner, first_name="Boris", last_name="Jones")
    make_contact(make_member(Role.OWNER), first_name="Ежик", last_name="Чужой")
    html = owner_client.get("/contacts/suggest?contact=ежик").get_data(as_text=True)
    assert html.strip() == f'<option value="{ann.label}"></option>'
    everyone = owner_client.get("/contacts/suggest?contact=").get_data(as_text=True)
    assert everyone.count("<option") == 2 and "Чужой" not in everyone
    service.create_record(owner, "company", {"name": "Helios Labs", "domain": "helioslabs.io"})
    db.session.commit()
    companies = owner_client.get("/companies/suggest?company=heli").get_data(as_text=True)
    assert companies.strip() == '<option value="Helios Labs">helioslabs.io</option>'
    assert owner_client.get("/deals/suggest?deal=x").status_code == 404


def test_the_new_deal_form_takes_a_picked_contact_and_company(owner_client, owner):
    ann = make_contact(owner, first_name="Olivia", last_name="Kowalski", email="olivia@helios.io")
    page = owner_client.get("/deals/new").get_data(as_text=True)
    assert 'list="f-contact-options"' in page and 'hx-get="/contacts/suggest"' in page
    token = csrf_token(owner_client, "/deals/new")
    response = owner_client.post("/deals/new", data={"csrf_token": token, "title": "Pilot", "contact": ann.label,
                                                     "company": "Helios Labs", "currency": "EUR"})
    assert response.status_code == 302
    deal = db.session.scalar(select(Deal).where(Deal.title == "Pilot"))
    assert deal.contact_id == ann.id and deal.currency == "EUR"
    assert db.session.scalar(select(Company.name).where(Company.id == deal.company_id)) == "Helios Labs"
    edit = owner_client.get(f"/deals/{deal.id}/edit").get_data(as_text=True)
    assert f'value="{ann.label}"' in edit


def test_an_unknown_contact_is_a_field_error_and_nothing_is_created(owner_client, owner):
    token = csrf_token(owner_client, "/deals/new")
    response = owner_client.post("/deals/new", data={"csrf_token": token, "title": "Ghost deal",
                                                     "contact": "Nobody · nobody@example.com"})
    assert response.status_code == 422
    assert "Contact: no such contact." in response.get_data(as_text=True)
    assert db.session.scalar(select(Deal).where(Deal.title == "Ghost deal")) is None
    assert db.session.scalar(select(Contact).where(Contact.email == "nobody@example.com")) is None


# -- the currency ----------------------------------------------------------------------------

def test_the_currency_is_a_list_starting_from_the_organizations_own(owner_client, owner):
    owner.organization.default_country = "RU"
    db.session.commit()
    page = owner_client.get("/deals/new").get_data(as_text=True)
    assert '<option value="RUB" selected>RUB · Russian Ruble</option>' in page
    codes = re.findall(r'<option value="([A-Z]{3})"', page.split('id="f-currency"')[1].split("</select>")[0])
    assert codes[:3] == ["RUB", "USD", "EUR"] and "JPY" in codes and len(codes) == len(set(codes)) > 100


def test_a_deal_created_without_a_currency_takes_the_organizations(owner):
    owner.organization.default_country = "KZ"
    assert make_deal(owner, title="Almaty").currency == "KZT"
    owner.organization.default_country = None
    assert make_deal(owner, title="Anywhere").currency == "USD"


def test_a_deal_in_a_currency_the_list_lacks_keeps_it_when_edited(owner_client, owner):
    deal = make_deal(owner, title="Old money", currency="DEM")
    page = owner_client.get(f"/deals/{deal.id}/edit").get_data(as_text=True)
    assert '<option value="DEM" selected>' in page


def test_a_contacts_phone_reads_grouped_on_its_page(owner_client, owner):
    contact = make_contact(owner, first_name="Olivia", phone="+44 20 7946 0958")
    html = owner_client.get(f"/contacts/{contact.id}").get_data(as_text=True)
    assert '<span class="nowrap">+44 20 7946 0958</span>' in html
