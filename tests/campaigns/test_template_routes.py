"""Settings → Message templates (create, edit, delete, variables flagged) and the inbox composer's
template picker (rendered for the chat's contact, blank variables left to fill in)."""

from __future__ import annotations

from sqlalchemy import select

from app.blueprints.campaigns.models import MessageTemplate
from app.blueprints.team.models import Role
from app.extensions import db
from tests.campaigns.kit import manager
from tests.conftest import csrf_token, sign_in_as
from tests.factories import add_member, make_account, make_chat, make_contact

HX = {"HX-Request": "true"}


def signed_in(client, member) -> dict:
    sign_in_as(client, member)
    return {"X-CSRFToken": csrf_token(client, "/home")}


def templates_of(org_id) -> list[MessageTemplate]:
    db.session.rollback()
    return list(db.session.scalars(select(MessageTemplate).where(MessageTemplate.org_id == org_id)
                                   .order_by(MessageTemplate.id)))


def keep(client, headers, name, text):
    return client.post("/settings/templates", data={"name": name, "text": text}, headers=headers)


def test_any_member_keeps_a_template_and_sees_it_listed(client):
    agent = add_member(manager().organization, role=Role.AGENT)
    headers = signed_in(client, agent)
    response = keep(client, headers, "Intro", "Hi {{first_name|there}}, {quick|short} question")
    assert response.status_code == 302
    [found] = templates_of(agent.org_id)
    assert (found.name, found.text, found.created_by_id) == (
        "Intro", "Hi {{first_name|there}}, {quick|short} question", agent.user_id)
    html = client.get("/settings/templates").get_data(as_text=True)
    assert f'id="template-{found.id}"' in html and "Intro" in html


def test_an_unknown_variable_is_refused_with_the_field_marked(client):
    member = manager()
    headers = signed_in(client, member)
    response = keep(client, headers, "Bad", "Hi {{nickname}}")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "There is no variable {{nickname}}." in html and 'aria-invalid="true"' in html
    assert 'value="Bad"' in html  # what was typed stays
    assert templates_of(member.org_id) == []


def test_the_text_is_checked_while_typed(client):
    member = manager()
    headers = signed_in(client, member)
    problems = client.post("/settings/templates/check", data={"text": "Hi {{first_name"}, headers={**headers, **HX})
    assert "A variable is not closed" in problems.get_data(as_text=True)
    fine = client.post("/settings/templates/check", data={"text": "Hi {{first_name}}"}, headers={**headers, **HX})
    assert "field-error" not in fine.get_data(as_text=True)


def test_a_taken_name_is_refused(client):
    member = manager()
    headers = signed_in(client, member)
    keep(client, headers, "Intro", "Hello")
    response = keep(client, headers, "intro", "Other")
    assert response.status_code == 422 and "already exists" in response.get_data(as_text=True)
    assert [t.text for t in templates_of(member.org_id)] == ["Hello"]


def test_the_author_edits_and_deletes_their_template(client):
    member = manager()
    agent = add_member(member.organization, role=Role.AGENT)
    headers = signed_in(client, agent)
    keep(client, headers, "Intro", "Hello")
    [found] = templates_of(agent.org_id)
    assert "Edit “Intro”" in client.get(f"/settings/templates/{found.id}").get_data(as_text=True)
    response = client.post(f"/settings/templates/{found.id}", data={"name": "Intro 2", "text": "Hello again"},
                           headers=headers)
    assert response.status_code == 302
    [changed] = templates_of(agent.org_id)
    assert (changed.name, changed.text) == ("Intro 2", "Hello again")
    assert client.post(f"/settings/templates/{found.id}/delete", headers=headers).status_code == 302
    assert templates_of(agent.org_id) == []


def test_another_agent_may_not_change_a_template(client):
    member = manager()
    author = add_member(member.organization, role=Role.AGENT)
    other = add_member(member.organization, role=Role.AGENT)
    keep(client, signed_in(client, author), "Intro", "Hello")
    [found] = templates_of(member.org_id)
    headers = signed_in(client, other)
    html = client.get("/settings/templates").get_data(as_text=True)
    assert f"/settings/templates/{found.id}/delete" not in html
    assert client.get(f"/settings/templates/{found.id}").status_code == 403
    assert client.post(f"/settings/templates/{found.id}", data={"name": "Mine", "text": "x"},
                       headers=headers).status_code == 403
    assert client.post(f"/settings/templates/{found.id}/delete", headers=headers).status_code == 403
    assert [(t.name, t.text) for t in templates_of(member.org_id)] == [("Intro", "Hello")]
    # a manager may
    headers = signed_in(client, member)
    assert client.post(f"/settings/templates/{found.id}/delete", headers=headers).status_code == 302
    assert templates_of(member.org_id) == []


def test_the_composer_offers_the_templates_and_inserts_one_rendered_for_the_chats_contact(client):
    member = manager()
    headers = signed_in(client, member)
    keep(client, headers, "Intro", "Hi {{first_name}} from {{company.name}}, {{owner.first_name|we}} here")
    [found] = templates_of(member.org_id)
    contact = make_contact(member, first_name="Anna", telegram_username="anna")
    chat = make_chat(make_account(member.organization), title="Anna", contact_id=contact.id)
    html = client.get(f"/inbox/chats/{chat.id}").get_data(as_text=True)
    assert f'id="composer-templates-{chat.id}"' in html and f'id="composer-template-{found.id}"' in html
    response = client.post(f"/settings/templates/{found.id}/insert/{chat.id}", data={"text": "Hello!"},
                           headers={**headers, **HX})
    html = response.get_data(as_text=True)
    owner_first = member.user.name.split()[0]
    # Anna has no company: that variable stays for the member to fill in; the owner's name is hers
    expected = f"Hello!\nHi Anna from {{{{company.name}}}}, {owner_first} here"
    assert f'id="composer-text-{chat.id}"' in html and f">{expected}</textarea>" in html.replace("&#34;", '"')
    assert 'hx-swap-oob="true"' in html  # the picker closes


def test_a_template_for_a_chat_without_a_contact_keeps_every_variable(client):
    member = manager()
    headers = signed_in(client, member)
    keep(client, headers, "Intro", "Hi {{first_name}}, {{first_name|friend}}")
    [found] = templates_of(member.org_id)
    chat = make_chat(make_account(member.organization), title="Stranger")
    html = client.post(f"/settings/templates/{found.id}/insert/{chat.id}", headers={**headers, **HX}
                       ).get_data(as_text=True)
    assert ">Hi {{first_name}}, friend</textarea>" in html


def test_a_chat_or_template_of_another_organization_is_not_found(client):
    member = manager()
    stranger = manager()
    keep(client, signed_in(client, stranger), "Theirs", "Hello")
    [theirs] = templates_of(stranger.org_id)
    their_chat = make_chat(make_account(stranger.organization))
    headers = signed_in(client, member)
    keep(client, headers, "Mine", "Hi")
    mine = next(t for t in templates_of(member.org_id))
    my_chat = make_chat(make_account(member.organization))
    assert client.post(f"/settings/templates/{theirs.id}/insert/{my_chat.id}", headers=headers).status_code == 404
    assert client.post(f"/settings/templates/{mine.id}/insert/{their_chat.id}", headers=headers).status_code == 404
    assert client.post(f"/settings/templates/{theirs.id}/delete", headers=headers).status_code == 404
    assert [t.name for t in templates_of(stranger.org_id)] == ["Theirs"]
