import json

import pytest
from rq import SimpleWorker
from sqlalchemy import select

from app.blueprints.crm.bulk import jobs as bulk_jobs
from app.blueprints.crm.models import Contact, CustomField, Deal
from app.blueprints.crm.records import service
from app.blueprints.pipeline.service import default_pipeline
from app.blueprints.team.permissions import Role
from app.extensions import db, redis_store
from app.jobs import queue
from tests.conftest import csrf_token, sign_in_as
from tests.factories import add_member, make_company, make_contact, make_deal, make_member

HX = {"HX-Request": "true"}


@pytest.fixture
def token(owner_client):
    return csrf_token(owner_client, "/contacts")


def toast(response) -> dict:
    return json.loads(response.headers["HX-Trigger"])["toast"]


def test_the_list_shows_live_contacts_with_the_total(owner_client, owner):
    make_contact(owner, first_name="Ada", last_name="Lovelace")
    gone = make_contact(owner, first_name="Gone", last_name="Girl")
    service.trash_records(owner, "contact", [gone.id])
    db.session.commit()
    html = owner_client.get("/contacts").get_data(as_text=True)
    assert "Ada Lovelace" in html and "Gone Girl" not in html
    assert "1\u20131 of 1" in html


def test_search_as_you_type_answers_with_only_the_results_block(owner_client, owner):
    make_contact(owner, first_name="Annabel", last_name="Smith")
    make_contact(owner, first_name="Boris", last_name="Jones")
    response = owner_client.get("/contacts?q=annab", headers=HX)
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<div id="results"')
    assert "Annabel Smith" in html and "Boris Jones" not in html
    assert "HX-Request" in response.headers["Vary"]


def test_filters_narrow_the_list_by_owner_tag_and_company(owner_client, owner):
    make_contact(owner, first_name="Tagged", tags="vip", company="Acme")
    make_contact(owner, first_name="Nemo", owner="")
    assert "Nemo" not in owner_client.get("/contacts?tag=vip").get_data(as_text=True)
    unowned = owner_client.get("/contacts?owner=none").get_data(as_text=True)
    assert "Nemo" in unowned and "Tagged" not in unowned
    acme = db.session.scalar(select(Contact).where(Contact.first_name == "Tagged")).company_id
    assert "Tagged" in owner_client.get(f"/contacts?company={acme}").get_data(as_text=True)


def test_deep_pages_are_reachable_and_sorting_follows_the_header(owner_client, owner):
    for name in ("Carol", "Alice", "Bob"):
        make_contact(owner, first_name=name, last_name=name)
    html = owner_client.get("/contacts?sort=name&per_page=1&page=2").get_data(as_text=True)
    assert "Bob Bob" in html and "Alice" not in html and "2\u20132 of 3" in html


def test_creating_a_contact_with_a_bad_email_rerenders_with_the_message_and_the_input_kept(
        owner_client, token):
    response = owner_client.post("/contacts/new", data={
        "csrf_token": token, "first_name": "Ada", "email": "not-an-email"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Email: not a valid email address" in html
    assert 'value="Ada"' in html and 'value="not-an-email"' in html
    assert db.session.scalar(select(Contact)) is None


def test_creating_a_deal_resolves_company_by_name_and_opens_its_page(owner_client, token):
    response = owner_client.post("/deals/new", data={
        "csrf_token": token, "title": "Pilot", "value": "12,500", "company": "Acme", "status": "open",
        "currency": "USD"})
    deal = db.session.scalar(select(Deal))
    assert response.status_code == 302 and response.location.endswith(f"/deals/{deal.id}")
    assert deal.company.name == "Acme" and deal.stage is not None


def test_an_edit_records_old_and_new_values_on_the_timeline(owner_client, owner, token):
    contact = make_contact(owner, title="CEO")
    owner_client.post(f"/contacts/{contact.id}/edit", data={
        "csrf_token": token, "first_name": contact.first_name, "last_name": contact.last_name,
        "title": "CTO", "owner": str(owner.user_id)})
    html = owner_client.get(f"/contacts/{contact.id}").get_data(as_text=True)
    assert "CEO" in html and "CTO" in html and "→" in html


def test_inline_edit_saves_one_field_or_answers_422_with_the_message(owner_client, owner, token):
    contact = make_contact(owner)
    url = f"/contacts/{contact.id}/field/email"
    assert 'name="email"' in owner_client.get(url, headers=HX).get_data(as_text=True)
    bad = owner_client.post(url, data={"email": "nope"}, headers={**HX, "X-CSRFToken": token})
    assert bad.status_code == 422 and "not a valid email" in bad.get_data(as_text=True)
    good = owner_client.post(url, data={"email": "Ada@Example.com"}, headers={**HX, "X-CSRFToken": token})
    assert good.status_code == 200 and "ada@example.com" in good.get_data(as_text=True)
    assert db.session.get(Contact, contact.id).email == "ada@example.com"


def test_agents_cannot_edit_someone_elses_record_inline(client, owner):
    agent = add_member(owner.organization, role=Role.AGENT)
    contact = make_contact(owner)
    sign_in_as(client, agent)
    token = csrf_token(client, "/contacts")
    response = client.post(f"/contacts/{contact.id}/field/title", data={"title": "x"},
                           headers={**HX, "X-CSRFToken": token})
    assert response.status_code == 403


def test_a_note_appears_at_the_top_of_the_timeline(owner_client, owner, token):
    contact = make_contact(owner)
    url = f"/contacts/{contact.id}/notes"
    empty = owner_client.post(url, data={"body": " "}, headers={**HX, "X-CSRFToken": token})
    assert empty.status_code == 422 and "The note is empty." in empty.get_data(as_text=True)
    html = owner_client.post(url, data={"body": "Met at the fair"},
                             headers={**HX, "X-CSRFToken": token}).get_data(as_text=True)
    assert html.lstrip().startswith('<div id="timeline"')
    assert html.index("Met at the fair") < html.index("created this contact")


def test_a_contact_page_shows_its_conversations_as_far_as_the_viewer_sees_them(client, owner):
    from tests.factories import give_account, make_account, make_chat, make_message

    contact = make_contact(owner, first_name="Ivy")
    agent = add_member(owner.organization, role=Role.AGENT)
    mine, other = make_account(owner.organization), make_account(owner.organization)
    give_account(mine, agent)
    seen = make_chat(mine, title="Ivy Meyer", contact_id=contact.id)
    make_message(seen, "Is the pilot still on?")
    make_message(make_chat(other, contact_id=contact.id), "A chat on an account not given to the agent")
    sign_in_as(client, agent)
    html = client.get(f"/contacts/{contact.id}").get_data(as_text=True)
    assert 'id="contact-chats"' in html and f'href="/inbox/chats/{seen.id}"' in html
    assert "Is the pilot still on?" in html and "Ivy Meyer" in html
    assert "not given to the agent" not in html
    assert html.index("Is the pilot still on?") < html.index("created this contact")  # newest first


def test_delete_moves_to_the_trash_and_undo_restores(owner_client, owner, token):
    contact = make_contact(owner, first_name="Oops")
    response = owner_client.post(f"/contacts/{contact.id}/delete", data={"csrf_token": token})
    assert response.status_code == 302
    listing = owner_client.get("/contacts").get_data(as_text=True)
    assert "Moved Oops" in listing and "Undo" in listing
    trash = owner_client.get("/contacts/trash").get_data(as_text=True)
    assert "Oops" in trash and "30" in trash  # days left
    owner_client.post("/contacts/restore", data={"csrf_token": token, "ids": contact.id})
    assert service.get_record(owner.org_id, "contact", contact.id)


def test_bulk_assign_changes_the_owner_and_says_so(owner_client, owner, token):
    sam = add_member(owner.organization, role=Role.MANAGER)
    a, b, c = (make_contact(owner) for _ in range(3))
    response = owner_client.post("/contacts/bulk", data={
        "action": "assign", "to_owner": sam.user_id, "ids": [a.id, b.id]}, headers={**HX, "X-CSRFToken": token})
    assert response.status_code == 200
    assert toast(response) == {"level": "success", "message": f"Assigned 2 contacts to {sam.user.name}."}
    owners = dict(db.session.execute(select(Contact.id, Contact.owner_id)).all())
    assert owners == {a.id: sam.user_id, b.id: sam.user_id, c.id: owner.user_id}


def test_bulk_on_all_matching_rows_uses_the_filter(owner_client, owner, token):
    make_contact(owner, first_name="Keep")
    make_contact(owner, first_name="Drop", tags="old")
    make_contact(owner, first_name="Drop", tags="old")
    response = owner_client.post("/contacts/bulk", data={"action": "delete", "all": "1", "tag": "old"},
                                 headers={**HX, "X-CSRFToken": token})
    assert toast(response)["message"] == "Moved 2 contacts to the trash."
    assert "Undo" in response.get_data(as_text=True)
    assert [c.first_name for c in db.session.scalars(select(Contact).where(Contact.deleted_at.is_(None)))] == ["Keep"]


def test_a_bulk_action_without_a_selection_keeps_the_list_and_explains(owner_client, token):
    response = owner_client.post("/contacts/bulk", data={"action": "delete"}, headers={**HX, "X-CSRFToken": token})
    assert response.status_code == 422 and toast(response)["level"] == "error"
    assert '<div id="results"' in response.get_data(as_text=True)


def test_a_large_bulk_action_runs_in_the_background_with_progress(owner_client, owner, token, monkeypatch):
    monkeypatch.setattr(bulk_jobs, "BACKGROUND_AT", 2)
    monkeypatch.setattr(bulk_jobs, "CHUNK", 2)
    ids = [make_deal(owner).id for _ in range(3)]
    won = next(s for s in default_pipeline(owner.org_id).stages if s.name == "Won")
    response = owner_client.post("/deals/bulk", data={"action": "move_stage", "to_stage": won.id, "ids": ids},
                                 headers={**HX, "X-CSRFToken": token})
    html = response.get_data(as_text=True)
    assert 'id="bulk-progress"' in html and "Waiting for a worker" in html
    job = html.split("job=")[1].split('"')[0]
    SimpleWorker([queue()], connection=redis_store.client).work(burst=True)
    progress = owner_client.get(f"/deals/bulk/progress?job={job}", headers=HX).get_data(as_text=True)
    assert "Moved 3 deals to Won." in progress and "hx-trigger" not in progress
    db.session.expire_all()
    assert {d.status for d in db.session.scalars(select(Deal))} == {"won"}


def test_another_organizations_bulk_progress_is_not_found(client, owner_client, owner):
    other = make_member(Role.OWNER)
    job_id = bulk_jobs.start(other, "contact", "delete", [1], None, None)
    assert owner_client.get(f"/contacts/bulk/progress?job={job_id}").status_code == 404


def test_merge_asks_which_contact_wins_then_folds_the_others_in(owner_client, owner, token):
    keep = make_contact(owner, first_name="Ada", email="ada@example.com")
    dup = make_contact(owner, first_name="Ada", phone="+442079460958")
    deal = make_deal(owner, contact=dup.id)
    redirect = owner_client.post("/contacts/bulk", data={"action": "merge", "ids": [keep.id, dup.id]},
                                 headers={**HX, "X-CSRFToken": token})
    page = owner_client.get(redirect.headers["HX-Redirect"]).get_data(as_text=True)
    assert "ada@example.com" in page and "+442079460958" in page
    owner_client.post("/contacts/merge", data={"csrf_token": token, "keep": keep.id, "ids": [keep.id, dup.id]})
    db.session.expire_all()
    assert db.session.get(Contact, keep.id).phone == "+442079460958"
    assert db.session.get(Deal, deal.id).contact_id == keep.id


def test_agents_do_not_see_delete_and_are_refused_bulk_delete(client, owner):
    agent = add_member(owner.organization, role=Role.AGENT)
    mine = make_contact(agent)
    sign_in_as(client, agent)
    token = csrf_token(client, "/contacts")
    html = client.get(f"/contacts/{mine.id}").get_data(as_text=True)
    assert "/delete" not in html
    response = client.post("/contacts/bulk", data={"action": "delete", "ids": mine.id},
                           headers={**HX, "X-CSRFToken": token})
    assert response.status_code == 403


def test_custom_fields_appear_in_forms_lists_and_filters(owner_client, owner, token):
    response = owner_client.post("/settings/custom-fields", data={
        "csrf_token": token, "entity": "contact", "label": "Tier", "kind": "select", "options": "Gold, Silver"})
    assert response.status_code == 302
    assert 'name="custom.tier"' in owner_client.get("/contacts/new").get_data(as_text=True)
    owner_client.post("/contacts/new", data={"csrf_token": token, "first_name": "Goldie", "custom.tier": "gold"})
    make_contact(owner, first_name="Plain")
    html = owner_client.get("/contacts?custom.tier=Gold").get_data(as_text=True)
    assert "Goldie" in html and "Plain" not in html and "<th class=\"hide-sm\">Tier</th>" in html


def test_a_bad_custom_field_rerenders_with_the_message(owner_client, token):
    response = owner_client.post("/settings/custom-fields", data={
        "csrf_token": token, "entity": "contact", "label": "Tier", "kind": "select", "options": ""})
    assert response.status_code == 422 and "List the choices" in response.get_data(as_text=True)
    assert db.session.scalar(select(CustomField)) is None


def test_only_owners_and_admins_define_custom_fields(client, owner):
    manager = add_member(owner.organization, role=Role.MANAGER)
    sign_in_as(client, manager)
    token = csrf_token(client, "/settings/custom-fields")
    response = client.post("/settings/custom-fields", data={
        "csrf_token": token, "entity": "deal", "label": "Region", "kind": "text"})
    assert response.status_code == 403


def test_company_page_lists_its_people_and_deals(owner_client, owner):
    company = make_company(owner, name="Acme")
    make_contact(owner, first_name="Wile", company=company.id)
    make_deal(owner, title="Rockets", company=company.id)
    html = owner_client.get(f"/companies/{company.id}").get_data(as_text=True)
    assert "Wile" in html and "Rockets" in html


def test_with_many_companies_the_company_filter_takes_a_typed_name(owner_client, owner, monkeypatch):
    from app.blueprints.crm.records import page_context

    monkeypatch.setattr(page_context, "COMPANY_CHOICES", 2)  # as if the org had more than a select shows
    for name in ("Acme", "Globex", "Initech"):
        make_company(owner, name=name)
    make_contact(owner, first_name="Ann", company="Initech")
    make_contact(owner, first_name="Bob", company="Acme")
    page = owner_client.get("/contacts").get_data(as_text=True)
    assert 'list="company-filter-names"' in page
    filtered = owner_client.get("/contacts?company=initech", headers=HX).get_data(as_text=True)
    assert "Ann" in filtered and "Bob" not in filtered
    options = owner_client.get("/companies/names?company=gl").get_data(as_text=True)
    assert options == '<option value="Globex"></option>'
