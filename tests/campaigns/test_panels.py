"""Campaigns where the team works: a contact's page lists their campaigns with Stop and do not
contact; the inbox names the campaign, step and variant of an outbound message and offers Stop in
the chat's panel; the contacts list's "Add to campaign" enrolls the rows ticked."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.blueprints.campaigns.models import (
    CampaignSend,
    Enrollment,
    EnrollmentStatus,
    Suppression,
)
from app.blueprints.crm.models import Activity, Contact
from app.blueprints.messaging.models import Message, MessageStatus
from app.blueprints.team.models import Role
from app.db_types import utcnow
from app.extensions import db
from tests.campaigns.kit import campaign, dispatch, launch, manager
from tests.conftest import counting_statements, csrf_token, sign_in_as
from tests.factories import add_member, make_account, make_chat, make_contact, make_message

SOON = timedelta(minutes=16)  # past a step's jitter inside its window
HX = {"HX-Request": "true"}


def toast(response) -> str:
    return json.loads(response.headers["HX-Trigger"])["toast"]["message"]


def signed_in(client, member) -> dict:
    sign_in_as(client, member)
    return {**HX, "X-CSRFToken": csrf_token(client, "/home")}


def contact_with_chat(member, account, name, **fields):
    contact = make_contact(member, first_name=name, last_name="Prospect", telegram_username=name.lower(), **fields)
    chat = make_chat(account, title=name, contact_id=contact.id, username=name.lower())
    return contact, chat


@pytest.fixture
def running(client):
    """A manager's running campaign (two variants in the first step) whose first steps are queued."""
    member = manager()
    account = make_account(member.organization, config={"new_chat_gap_min_seconds": 0,
                                                        "new_chat_gap_max_seconds": 0})
    anna, anna_chat = contact_with_chat(member, account, "Anna")
    boris, boris_chat = contact_with_chat(member, account, "Boris")
    found = campaign(member, [account], [(0, ["Hi {{first_name}}", "Hello {{first_name}}"]), (60, ["Following up"])],
                     name="Q1 founders")
    launch(member, found, [anna, boris])
    dispatch(utcnow() + SOON)
    return {"member": member, "account": account, "campaign": found, "anna": anna, "anna_chat": anna_chat,
            "boris": boris, "boris_chat": boris_chat}


def enrollment(found, contact) -> Enrollment:
    db.session.rollback()
    return db.session.scalar(select(Enrollment).where(Enrollment.campaign_id == found.id,
                                                      Enrollment.contact_id == contact.id))


def send_of(found, contact) -> CampaignSend:
    return db.session.scalar(select(CampaignSend).where(CampaignSend.campaign_id == found.id,
                                                        CampaignSend.contact_id == contact.id))


# -- a contact's page ---------------------------------------------------------------------------


def test_a_contacts_page_lists_their_campaigns_with_status_step_and_account(client, running):
    signed_in(client, running["member"])
    html = client.get(f"/contacts/{running['anna'].id}").get_data(as_text=True)
    assert 'id="contact-campaigns"' in html
    assert f'href="/campaigns/{running["campaign"].id}"' in html and "Q1 founders" in html
    assert "Sending" in html and "step 1 of 2" in html
    e = enrollment(running["campaign"], running["anna"])
    assert f'/campaigns/panel/enrollments/{e.id}/stop' in html


def test_stop_on_a_contacts_page_ends_the_sequence_and_withdraws_the_queued_step(client, running):
    headers = signed_in(client, running["member"])
    e = enrollment(running["campaign"], running["anna"])
    response = client.post(f"/campaigns/panel/enrollments/{e.id}/stop", headers=headers)
    assert response.status_code == 200
    assert "Sequence stopped." in toast(response)
    after = enrollment(running["campaign"], running["anna"])
    assert after.status == EnrollmentStatus.STOPPED and after.reason == "teammate"
    assert after.stopped_by_id == running["member"].user_id
    message = db.session.get(Message, send_of(running["campaign"], running["anna"]).message_id)
    assert message.status == MessageStatus.CANCELLED
    html = response.get_data(as_text=True)
    assert 'id="contact-campaigns"' in html and "Stopped by a teammate" in html
    assert f'/campaigns/panel/enrollments/{e.id}/stop' not in html  # no Stop for an ended one
    # Boris's sequence goes on
    assert enrollment(running["campaign"], running["boris"]).status in (EnrollmentStatus.WAITING,
                                                                        EnrollmentStatus.SENDING)


def test_an_agent_may_stop_the_sequence_of_a_contact_they_own_only(client, running):
    agent = add_member(running["member"].organization, role=Role.AGENT)
    mine = running["boris"]
    mine.owner_id = agent.user_id
    db.session.commit()
    headers = signed_in(client, agent)
    theirs = enrollment(running["campaign"], running["anna"])
    assert client.post(f"/campaigns/panel/enrollments/{theirs.id}/stop", headers=headers).status_code == 403
    assert enrollment(running["campaign"], running["anna"]).status == EnrollmentStatus.SENDING
    html = client.get(f"/contacts/{running['anna'].id}").get_data(as_text=True)
    assert f"/campaigns/panel/enrollments/{theirs.id}/stop" not in html
    own = enrollment(running["campaign"], mine)
    assert client.post(f"/campaigns/panel/enrollments/{own.id}/stop", headers=headers).status_code == 200
    assert enrollment(running["campaign"], mine).status == EnrollmentStatus.STOPPED


def test_stopping_an_ended_sequence_is_refused_and_changes_nothing(client, running):
    headers = signed_in(client, running["member"])
    e = enrollment(running["campaign"], running["anna"])
    client.post(f"/campaigns/panel/enrollments/{e.id}/stop", headers=headers)
    ended_at = enrollment(running["campaign"], running["anna"]).ended_at
    again = client.post(f"/campaigns/panel/enrollments/{e.id}/stop", headers=headers)
    assert again.status_code == 409
    assert enrollment(running["campaign"], running["anna"]).ended_at == ended_at


def test_do_not_contact_on_a_contacts_page_lists_every_identity_and_a_manager_takes_it_back(client, running):
    agent = add_member(running["member"].organization, role=Role.AGENT)
    anna = running["anna"]
    headers = signed_in(client, agent)
    response = client.post(f"/campaigns/panel/contacts/{anna.id}/do-not-contact", data={"listed": "1"},
                           headers=headers)
    assert response.status_code == 200
    listed = {(s.kind, s.value) for s in db.session.scalars(select(Suppression).where(
        Suppression.org_id == anna.org_id))}
    assert ("username", "anna") in listed and ("contact", str(anna.id)) in listed
    html = response.get_data(as_text=True)
    assert "Do not contact" in html and "Allow campaigns again" not in html  # an agent cannot take it back
    assert client.post(f"/campaigns/panel/contacts/{anna.id}/do-not-contact", data={"listed": "0"},
                       headers=headers).status_code == 403
    assert db.session.scalar(select(Suppression.id).where(Suppression.org_id == anna.org_id)) is not None

    headers = signed_in(client, running["member"])
    assert "Allow campaigns again" in client.get(f"/contacts/{anna.id}").get_data(as_text=True)
    response = client.post(f"/campaigns/panel/contacts/{anna.id}/do-not-contact", data={"listed": "0"},
                           headers=headers)
    assert response.status_code == 200
    db.session.rollback()
    assert db.session.scalar(select(Suppression.id).where(Suppression.org_id == anna.org_id)) is None


def test_allowing_campaigns_again_also_clears_the_records_do_not_contact_field(client, running):
    anna = running["anna"]
    anna.do_not_contact = True  # ticked on the record (or imported so)
    db.session.commit()
    headers = signed_in(client, running["member"])
    assert "Allow campaigns again" in client.get(f"/contacts/{anna.id}").get_data(as_text=True)

    response = client.post(f"/campaigns/panel/contacts/{anna.id}/do-not-contact", data={"listed": "0"},
                           headers=headers)

    assert response.status_code == 200
    assert "Allow campaigns again" not in response.get_data(as_text=True)
    db.session.rollback()
    assert db.session.get(Contact, anna.id).do_not_contact is False
    edits = db.session.scalars(select(Activity).where(Activity.subject_type == "contact",
                                                      Activity.subject_id == anna.id, Activity.kind == "updated"))
    assert {"do_not_contact": [True, False]} in [a.data.get("changes") for a in edits]


def test_another_organizations_enrollment_and_contact_are_not_found(client, running):
    stranger = manager()
    headers = signed_in(client, stranger)
    e = enrollment(running["campaign"], running["anna"])
    assert client.post(f"/campaigns/panel/enrollments/{e.id}/stop", headers=headers).status_code == 404
    assert client.post(f"/campaigns/panel/contacts/{running['anna'].id}/do-not-contact", data={"listed": "1"},
                       headers=headers).status_code == 404
    assert enrollment(running["campaign"], running["anna"]).status == EnrollmentStatus.SENDING
    assert db.session.scalar(select(Suppression.id)) is None


# -- the inbox ----------------------------------------------------------------------------------


def test_the_thread_and_the_chat_head_name_the_campaign_step_and_variant(client, running):
    signed_in(client, running["member"])
    sent = send_of(running["campaign"], running["anna"])
    variant = "A" if sent.variant_id == running["campaign"].steps[0].variants[0].id else "B"
    html = client.get(f"/inbox/chats/{running['anna_chat'].id}").get_data(as_text=True)
    label = f"Campaign “Q1 founders” · step 1 · variant {variant}"
    assert html.count(label) == 3  # on the message, and in the chat's head (its text and title)
    assert f'id="chat-origin-{running["anna_chat"].id}"' in html


def test_a_member_message_after_the_campaigns_leaves_the_chat_head_without_a_campaign(client, running):
    signed_in(client, running["member"])
    chat = running["anna_chat"]
    make_message(chat, "Me, by hand", out=True, date=utcnow() + timedelta(minutes=1))
    html = client.get(f"/inbox/chats/{chat.id}").get_data(as_text=True)
    assert html.count("Campaign “Q1 founders”") == 1  # the message keeps it; the head does not
    assert f'id="chat-origin-{chat.id}"' not in html


def test_a_single_step_step_label_has_no_variant(client, running):
    member = running["member"]
    account = make_account(member.organization, config={"new_chat_gap_min_seconds": 0,
                                                        "new_chat_gap_max_seconds": 0})
    vera, vera_chat = contact_with_chat(member, account, "Vera")
    single = campaign(member, [account], [(0, ["Just one"])], name="Solo")
    launch(member, single, [vera])
    dispatch(utcnow() + SOON)
    signed_in(client, member)
    html = client.get(f"/inbox/chats/{vera_chat.id}").get_data(as_text=True)
    assert "Campaign “Solo” · step 1</p>" in html
    assert "Campaign “Solo” · step 1 · variant" not in html


def test_the_origins_of_a_page_of_messages_cost_one_query(client, running):
    from app.blueprints.messaging import origins

    chat = running["anna_chat"]
    for n in range(5):
        make_message(chat, f"Reply {n}")
    messages = list(db.session.scalars(select(Message).where(Message.chat_id == chat.id)))
    with counting_statements() as statements:
        found = origins.labels(messages)
    assert len(found) == 1 and len(statements) == 1


def test_the_chat_panel_offers_stop_and_do_not_contact_for_a_live_sequence(client, running):
    headers = signed_in(client, running["member"])
    chat, anna = running["anna_chat"], running["anna"]
    html = client.get(f"/inbox/chats/{chat.id}").get_data(as_text=True)
    assert f'id="chat-campaigns-{chat.id}"' in html and "Stop sequence" in html
    e = enrollment(running["campaign"], anna)
    response = client.post(f"/campaigns/panel/enrollments/{e.id}/stop", data={"chat_id": chat.id}, headers=headers)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert f'id="chat-campaigns-{chat.id}"' in html and "No sequence running." in html
    assert enrollment(running["campaign"], anna).status == EnrollmentStatus.STOPPED
    response = client.post(f"/campaigns/panel/contacts/{anna.id}/do-not-contact",
                           data={"chat_id": chat.id, "listed": "1"}, headers=headers)
    assert f'id="chat-campaigns-{chat.id}"' in response.get_data(as_text=True)
    assert db.session.scalar(select(Suppression.id).where(Suppression.kind == "username",
                                                          Suppression.value == "anna")) is not None


def test_a_chat_without_a_contact_has_no_campaign_section(client, running):
    signed_in(client, running["member"])
    stranger = make_chat(running["account"], title="Stranger")
    html = client.get(f"/inbox/chats/{stranger.id}").get_data(as_text=True)
    assert f'id="chat-campaigns-{stranger.id}"' not in html


# -- the contacts list ---------------------------------------------------------------------------


def test_the_contacts_list_offers_add_to_campaign_to_managers_only(client, running):
    signed_in(client, running["member"])
    assert 'id="list-action-add_to_campaign"' in client.get("/contacts").get_data(as_text=True)
    agent = add_member(running["member"].organization, role=Role.AGENT)
    signed_in(client, agent)
    assert 'id="list-action-add_to_campaign"' not in client.get("/contacts").get_data(as_text=True)


def test_add_to_campaign_shows_a_picker_then_enrolls_the_rows_ticked(client, running):
    member = running["member"]
    headers = signed_in(client, member)
    draft = campaign(member, [running["account"]], [(0, ["Hello"])], name="Spring draft")
    vera = make_contact(member, first_name="Vera", telegram_username="vera")
    ghost = make_contact(member, first_name="Ghost")
    picker = client.post("/campaigns/panel/add-contacts", data={"ids": [vera.id, ghost.id, running["anna"].id]},
                         headers=headers)
    html = picker.get_data(as_text=True)
    assert picker.status_code == 200 and "Add 3 contacts to" in html
    assert "Spring draft" in html and "Q1 founders" in html
    assert html.count('name="ids"') == 3  # the selection is kept in the picker
    response = client.post("/campaigns/panel/add-contacts", headers=headers,
                           data={"ids": [vera.id, ghost.id, running["anna"].id], "campaign_id": draft.id})
    assert response.status_code == 200 and response.get_data(as_text=True) == ""
    assert "Added 3 contacts to “Spring draft”." in toast(response)
    enrolled = set(db.session.scalars(select(Enrollment.contact_id).where(Enrollment.campaign_id == draft.id)))
    assert enrolled == {vera.id, ghost.id, running["anna"].id}


def test_add_to_a_running_campaign_says_who_was_in_already_and_who_was_skipped(client, running):
    member = running["member"]
    headers = signed_in(client, member)
    ghost = make_contact(member, first_name="Ghost")  # no Telegram identity
    response = client.post("/campaigns/panel/add-contacts", headers=headers,
                           data={"ids": [running["anna"].id, ghost.id], "campaign_id": running["campaign"].id})
    said = toast(response)
    assert "Added 1 contact" in said and "1 was in it already." in said
    assert "1 skipped: no telegram username, phone or id." in said
    assert enrollment(running["campaign"], ghost).status == EnrollmentStatus.SKIPPED


def test_add_to_campaign_with_all_matching_enrolls_what_the_filters_match(client, running):
    member = running["member"]
    headers = signed_in(client, member)
    draft = campaign(member, [running["account"]], [(0, ["Hello"])], name="Filtered")
    make_contact(member, first_name="Zed", telegram_username="zedzed")
    client.post("/campaigns/panel/add-contacts", headers=headers,
                data={"all": "1", "q": "Prospect", "campaign_id": draft.id})
    enrolled = set(db.session.scalars(select(Enrollment.contact_id).where(Enrollment.campaign_id == draft.id)))
    assert enrolled == {running["anna"].id, running["boris"].id}


def test_add_to_campaign_refuses_an_agent_and_an_empty_selection(client, running):
    agent = add_member(running["member"].organization, role=Role.AGENT)
    headers = signed_in(client, agent)
    anna = running["anna"]
    draft = campaign(running["member"], [running["account"]], [(0, ["Hello"])], name="Nope")
    assert client.post("/campaigns/panel/add-contacts", data={"ids": [anna.id]}, headers=headers).status_code == 403
    assert client.post("/campaigns/panel/add-contacts", data={"ids": [anna.id], "campaign_id": draft.id},
                       headers=headers).status_code == 403
    headers = signed_in(client, running["member"])
    empty = client.post("/campaigns/panel/add-contacts", data={"campaign_id": draft.id}, headers=headers)
    assert empty.status_code == 400 and "Select at least one row first." in toast(empty)
    assert db.session.scalar(select(Enrollment.id).where(Enrollment.campaign_id == draft.id)) is None

