"""The campaign pages over HTTP: the list, the editor (its steps block, text checks, preview and
audience), the launch review and launching. What a change leaves is read back from the rows."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from io import BytesIO

import pytest
from sqlalchemy import func, select

from app.blueprints.campaigns import service, suppression
from app.blueprints.campaigns.models import (
    Campaign,
    CampaignFile,
    CampaignStatus,
    Enrollment,
    EnrollmentStatus,
)
from app.blueprints.messaging.public import Attachment
from app.blueprints.team.models import Role
from app.extensions import db
from tests.campaigns.kit import ALWAYS, campaign, launch, manager
from tests.conftest import csrf_token, sign_in_as
from tests.factories import add_member, make_account, make_contact

HX = {"HX-Request": "true"}


@pytest.fixture
def lead(client):
    """A signed-in manager with an online account, and the headers their HTMX requests send."""
    member = manager()
    account = make_account(member.organization, config={"new_chats_per_day": 20})
    sign_in_as(client, member)
    headers = {**HX, "X-CSRFToken": csrf_token(client, "/home")}
    return member, account, headers


def editor_form(account, **fields):
    """The editor's form as a browser sends it: two steps, the first with two variants."""
    form = {"name": "Spring partners", "account_ids": [str(account.id)],
            "steps-0-wait_amount": "0", "steps-0-wait_unit": "now",
            "steps-0-variants-0-text": "Hi {{first_name}}!", "steps-0-variants-0-weight": "1",
            "steps-0-variants-1-text": "Hello {{first_name}}", "steps-0-variants-1-weight": "2",
            "steps-1-wait_amount": "3", "steps-1-wait_unit": "days",
            "steps-1-variants-0-text": "Following up", "steps-1-variants-0-weight": "1",
            "days": ["1", "2", "3"], "start": "09:00", "end": "18:00", "stop_scope": "all",
            "stop_on_won": "1", "min_sample": "50"}
    form.update(fields)
    return form


def texts(found: Campaign) -> list[list[str]]:
    db.session.expire_all()
    found = db.session.get(Campaign, found.id)
    return [[v.text for v in step.variants] for step in sorted(found.steps, key=lambda s: s.position)
            if step.removed_at is None]


def textareas(html: str) -> list[str]:
    return re.findall(r'<textarea[^>]*name="(steps-\d+-variants-\d+-text)"[^>]*>([^<]*)</textarea>', html)


# -- the list ----------------------------------------------------------------------------------


def test_the_list_shows_every_campaign_newest_first_with_its_figures(client, lead):
    member, account, _ = lead
    older = campaign(member, [account], [(0, ["Hi"])], name="Older one")
    newer = campaign(member, [account], [(0, ["Hi {{first_name}}"])], name="Newer one")
    older.created_at = datetime(2025, 1, 1, tzinfo=UTC)
    db.session.commit()
    launch(member, newer, [make_contact(member, first_name="Anna", telegram_username="anna_p")])

    html = client.get("/campaigns").get_data(as_text=True)
    assert html.index("Newer one") < html.index("Older one")
    row = html[html.index(f'id="campaign-{newer.id}"'):]
    row = row[:row.index("</tr>")]
    assert "Running" in row and re.findall(r'<td class="num">([^<]*)</td>', row)[:2] == ["1", "1"]
    assert f'href="/campaigns/{older.id}/edit"' in html  # a draft opens in the editor
    assert 'href="/campaigns/new"' in html


def test_an_empty_list_invites_a_manager_to_build_one(client, lead):
    html = client.get("/campaigns").get_data(as_text=True)
    assert "No campaign yet" in html and 'href="/campaigns/new"' in html


def test_an_agent_reads_the_list_but_cannot_open_or_save_the_editor(client, lead):
    member, account, _ = lead
    found = campaign(member, [account], [(0, ["Hi"])], name="Theirs")
    agent = add_member(member.organization, role=Role.AGENT)
    sign_in_as(client, agent)
    token = csrf_token(client, "/home")

    html = client.get("/campaigns").get_data(as_text=True)
    assert "Theirs" in html and 'href="/campaigns/new"' not in html
    assert client.get("/campaigns/new").status_code == 403
    assert client.get(f"/campaigns/{found.id}/edit").status_code == 403
    assert client.get(f"/campaigns/{found.id}/review").status_code == 403
    secret = make_contact(member, first_name="Private", title="Board member")
    preview = client.post("/campaigns/editor/preview", headers={**HX, "X-CSRFToken": token},
                          data={"steps-0-variants-0-text": "{{title}}", "preview_contact_id": str(secret.id)})
    assert preview.status_code == 403 and "Board member" not in preview.get_data(as_text=True)
    response = client.post(f"/campaigns/{found.id}/edit", data=editor_form(account, name="Mine now"),
                           headers={**HX, "X-CSRFToken": token})
    assert response.status_code == 403
    db.session.expire_all()
    assert db.session.get(Campaign, found.id).name == "Theirs"


# -- the editor --------------------------------------------------------------------------------


def test_the_editor_shows_accounts_with_status_and_budget_and_the_variables(client, lead):
    member, _account, _ = lead
    make_account(member.organization, status="needs_login", display_name="Old phone")
    html = client.get("/campaigns/new").get_data(as_text=True)
    assert "20 first messages a day" in html and "Needs login" in html and "Old phone" in html
    assert 'data-insert="{{first_name}}"' in html and 'data-insert="{{company.name}}"' in html
    assert 'name="steps-0-variants-0-text"' in html


def test_a_manager_creates_a_campaign_from_the_editor(client, lead):
    member, account, headers = lead
    response = client.post("/campaigns/new", data=editor_form(account), headers=headers)
    assert response.status_code == 204
    found = db.session.scalar(select(Campaign).where(Campaign.org_id == member.org_id))
    assert response.headers["HX-Redirect"] == f"/campaigns/{found.id}/edit"
    assert texts(found) == [["Hi {{first_name}}!", "Hello {{first_name}}"], ["Following up"]]
    assert [s.wait_minutes for s in found.steps] == [0, 3 * 24 * 60]
    assert [v.weight for v in found.steps[0].variants] == [1, 2]
    assert found.account_ids == [account.id]
    assert found.window == {"days": [1, 2, 3], "start": "09:00", "end": "18:00"}
    assert (found.stop_scope, found.stop_on_won, found.stop_on_lost, found.min_sample) == ("all", True, False, 50)

    html = client.get(f"/campaigns/{found.id}/edit").get_data(as_text=True)  # and it reads back
    assert textareas(html)[1] == ("steps-0-variants-1-text", "Hello {{first_name}}")
    assert 'name="steps-1-wait_amount" inputmode="numeric" value="3"' in html


@pytest.mark.parametrize(("fields", "key_text"), [
    ({"steps-0-variants-1-text": "Hello {{nickname}}"}, "There is no variable {{nickname}}."),
    ({"name": "  "}, "Give the campaign a name."),
    ({"steps-1-wait_amount": "soon"}, "Write the wait as a whole number."),
    ({"end": "08:00"}, "The window must end after it starts."),
    ({"steps-0-variants-0-weight": "0", "steps-0-variants-1-weight": "0"},
     "At least one variant needs a weight above 0."),
])
def test_saving_with_errors_re_renders_422_and_leaves_the_row_unchanged(client, lead, fields, key_text):
    member, account, headers = lead
    found = campaign(member, [account], [(0, ["Hi {{first_name}}"])], name="As it was")
    response = client.post(f"/campaigns/{found.id}/edit", data=editor_form(account, **fields), headers=headers)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert key_text in html and 'class="field-error"' in html
    assert html.lstrip().startswith('<form id="editor"')  # the editor block, to swap in place
    assert texts(found) == [["Hi {{first_name}}"]]
    assert db.session.get(Campaign, found.id).name == "As it was"


def test_a_new_campaign_with_errors_is_not_created(client, lead):
    _member, account, headers = lead
    response = client.post("/campaigns/new", data=editor_form(account, **{"steps-1-variants-0-text": ""}),
                           headers=headers)
    assert response.status_code == 422 and "Write the step&#39;s message." in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Campaign)) == 0


def test_the_steps_block_adds_removes_and_reorders_steps_from_the_form(client, lead):
    _, account, headers = lead
    form = editor_form(account)

    moved = client.post("/campaigns/editor/steps", data={**form, "op": "down:0"}, headers=headers)
    assert [t for _, t in textareas(moved.get_data(as_text=True))] == [
        "Following up", "Hi {{first_name}}!", "Hello {{first_name}}"]

    added = client.post("/campaigns/editor/steps", data={**form, "op": "add_step"}, headers=headers)
    html = added.get_data(as_text=True)
    assert [n for n, _ in textareas(html)][-1] == "steps-2-variants-0-text"
    assert 'name="steps-2-wait_amount" inputmode="numeric" value="1"' in html

    fewer = client.post("/campaigns/editor/steps", data={**form, "op": "remove_variant:0:0"}, headers=headers)
    assert textareas(fewer.get_data(as_text=True)) == [("steps-0-variants-0-text", "Hello {{first_name}}"),
                                                       ("steps-1-variants-0-text", "Following up")]

    one = client.post("/campaigns/editor/steps", data={**form, "op": "remove_step:0"}, headers=headers)
    assert textareas(one.get_data(as_text=True)) == [("steps-0-variants-0-text", "Following up")]

    more = client.post("/campaigns/editor/steps", data={**form, "op": "add_variant:1"}, headers=headers)
    assert [n for n, _ in textareas(more.get_data(as_text=True))][-1] == "steps-1-variants-1-text"


def test_reordered_steps_round_trip_through_saving(client, lead):
    member, account, headers = lead
    found = campaign(member, [account], [(0, ["First"]), (60, ["Second"])])
    moved = client.post("/campaigns/editor/steps", headers=headers, data={
        "steps-0-wait_amount": "0", "steps-0-wait_unit": "now", "steps-0-variants-0-text": "First",
        "steps-0-variants-0-weight": "1", "steps-1-wait_amount": "1", "steps-1-wait_unit": "hours",
        "steps-1-variants-0-text": "Second", "steps-1-variants-0-weight": "1", "op": "up:1"})
    html = moved.get_data(as_text=True)
    fields = dict(re.findall(r'name="(steps-[^"]+)" [^>]*value="([^"]*)"', html))
    fields.update(dict(textareas(html)))
    fields.update(dict(re.findall(
        r'name="(steps-\d+-wait_unit)"[^>]*>(?:(?!</select>).)*?<option value="(\w+)" selected', html, re.S)))
    response = client.post(f"/campaigns/{found.id}/edit", headers=headers, data={
        "name": "Outreach", "account_ids": [str(account.id)], "days": ["1", "2", "3", "4", "5", "6", "7"],
        "start": "00:00", "end": "24:00", "min_sample": "100", **fields})
    assert response.status_code == 200 and "Campaign saved." in response.headers["HX-Trigger"]
    assert texts(found) == [["Second"], ["First"]]
    db.session.expire_all()
    # each step keeps its own wait where it goes
    assert [s.wait_minutes for s in db.session.get(Campaign, found.id).steps] == [60, 0]


def test_a_typed_text_is_checked_for_unknown_variables(client, lead):
    _, _, headers = lead
    response = client.post("/campaigns/editor/check", data={"steps-0-variants-0-text": "Hi {{frist_name}}, {{first_name"},
                           headers=headers)
    html = response.get_data(as_text=True)
    assert "There is no variable {{frist_name}}." in html and "is not closed" in html
    clean = client.post("/campaigns/editor/check", data={"steps-0-variants-0-text": "Hi {{first_name|there}}"},
                        headers=headers)
    assert clean.get_data(as_text=True).strip() == ""


def test_the_preview_renders_each_variant_for_a_contact_and_calls_out_blank_variables(client, lead):
    member, account, headers = lead
    boris = make_contact(member, first_name="Boris", last_name="Ivanov")
    form = editor_form(account, **{"steps-1-variants-0-text": "Still at {{company.name}}?",
                                   "preview_contact_id": str(boris.id)})
    html = client.post("/campaigns/editor/preview", data=form, headers=headers).get_data(as_text=True)
    assert "Hi Boris!" in html and "Hello Boris" in html
    assert "Blank for Boris Ivanov" in html and "<code>{{company.name}}</code>" in html

    other = manager()
    stranger = make_contact(other, first_name="Secret")
    html = client.post("/campaigns/editor/preview", data={**form, "preview_contact_id": str(stranger.id)},
                       headers=headers).get_data(as_text=True)
    assert "Secret" not in html and "Choose a contact" in html


def test_a_sending_campaigns_change_asks_for_confirmation_first(client, lead):
    member, account, headers = lead
    found = campaign(member, [account], [(0, ["Hi {{first_name}}"])])
    launch(member, found, [make_contact(member, telegram_username="anna_q")])
    form = editor_form(account, name="Outreach")

    asked = client.post(f"/campaigns/{found.id}/edit", data=form, headers=headers)
    assert asked.status_code == 422
    assert 'name="confirmed" value="1"' in asked.get_data(as_text=True)
    assert texts(found) == [["Hi {{first_name}}"]]

    confirmed = client.post(f"/campaigns/{found.id}/edit", data={**form, "confirmed": "1"}, headers=headers)
    assert confirmed.status_code == 200
    assert texts(found) == [["Hi {{first_name}}!", "Hello {{first_name}}"], ["Following up"]]


# -- the audience ------------------------------------------------------------------------------


def test_contacts_are_added_by_the_contact_lists_filters_with_a_live_count(client, lead):
    member, account, headers = lead
    found = campaign(member, [account], [(0, ["Hi"])])
    for name in ("Anna", "Annette", "Boris"):
        make_contact(member, first_name=name)
    counted = client.get(f"/campaigns/{found.id}/audience/count", query_string={"q": "Ann"}, headers=headers)
    assert "2 contacts match." in counted.get_data(as_text=True)

    response = client.post(f"/campaigns/{found.id}/audience/add", data={"q": "Ann", "save_filter": "1"},
                           headers=headers)
    assert response.status_code == 200 and "2 contacts added." in response.headers["HX-Trigger"]
    assert "2 people in this campaign" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).where(Enrollment.campaign_id == found.id)) == 2
    assert db.session.get(Campaign, found.id).audience_filter == {"q": "Ann"}

    again = client.post(f"/campaigns/{found.id}/audience/add", data={"q": "Ann"}, headers=headers)
    assert "2 were already in." in again.headers["HX-Trigger"]


def test_contacts_are_added_from_a_deal_stage(client, lead):
    from tests.factories import make_deal

    member, account, headers = lead
    found = campaign(member, [account], [(0, ["Hi"])])
    vera = make_contact(member, first_name="Vera")
    deal = make_deal(member, contact=vera.id)
    make_contact(member, first_name="No deal")
    counted = client.get(f"/campaigns/{found.id}/audience/count",
                         query_string={"source": "stage", "stage_id": deal.stage_id}, headers=headers)
    assert "1 contact matches." in counted.get_data(as_text=True)
    client.post(f"/campaigns/{found.id}/audience/add", data={"source": "stage", "stage_id": deal.stage_id},
                headers=headers)
    assert db.session.scalars(select(Enrollment.contact_id).where(Enrollment.campaign_id == found.id)).all() \
        == [vera.id]


# -- the review and launch ---------------------------------------------------------------------


def test_the_launch_review_counts_who_is_written_to_and_who_is_left_out_by_reason(client, lead):
    member, account, _ = lead
    found = campaign(member, [account], [(0, ["Hi {{first_name}}, how is {{title}}?"])])
    writable = [make_contact(member, first_name=n, title="CEO", telegram_username=f"{n.lower()}_x")
                for n in ("Anna", "Boris", "Vera")]
    nobody = make_contact(member, first_name="Ghost", last_name="Nobody", title="CEO")
    no_title = make_contact(member, first_name="Dmitri", last_name="Blank", telegram_username="dmitri_x")
    blocked = make_contact(member, first_name="Olga", last_name="Stop", title="CEO", telegram_username="olga_x")
    suppression.add_contact(member, blocked.id)
    service.add_contacts(member, found, contact_ids=[c.id for c in [*writable, nobody, no_title, blocked]])
    db.session.commit()

    html = client.get(f"/campaigns/{found.id}/review").get_data(as_text=True)
    assert '<strong id="writable-count">3</strong>' in html
    sample = html[html.index('id="writable-sample"'):]
    assert sample[:sample.index("</p>")].count(",") == 2 and "Anna" in sample
    for reason, label, name in (("no_identity", "No Telegram username, phone or id", "Ghost Nobody"),
                                ("missing_variable", "A variable of the message is blank", "Dmitri Blank"),
                                ("suppressed", "On the do-not-contact list", "Olga Stop")):
        group = html[html.index(f'id="skip-{reason}"'):]
        group = group[:group.index("</details>")]
        assert label in group and '<span class="badge">1</span>' in group and name in group
    assert "3 people will not be written to." in html
    # 3 people at 20 a day from one online account: 3.6 hours
    assert "At 20 first messages a day from its 1 online account" in html and "3 hr" in html


def test_launching_runs_the_campaign_and_opens_its_page(client, lead):
    member, account, _ = lead
    found = campaign(member, [account], [(0, ["Hi"])])
    service.add_contacts(member, found, contact_ids=[make_contact(member, telegram_username="pat_x").id])
    db.session.commit()
    token = csrf_token(client, f"/campaigns/{found.id}/review")
    response = client.post(f"/campaigns/{found.id}/launch", data={"csrf_token": token, "when": "now"})
    assert response.status_code == 302 and response.location.endswith(f"/campaigns/{found.id}")
    db.session.expire_all()
    assert db.session.get(Campaign, found.id).status == CampaignStatus.RUNNING
    assert db.session.scalars(select(Enrollment.status).where(Enrollment.campaign_id == found.id)).all() \
        == [EnrollmentStatus.WAITING]


def test_launching_later_schedules_it_and_a_past_moment_is_refused(client, lead):
    member, account, _ = lead
    member.user.timezone = "Europe/Moscow"
    db.session.commit()
    found = campaign(member, [account], [(0, ["Hi"])])
    token = csrf_token(client, f"/campaigns/{found.id}/review")
    past = client.post(f"/campaigns/{found.id}/launch",
                       data={"csrf_token": token, "when": "later", "starts_at": "2020-01-01T10:00"})
    assert past.status_code == 422 and "Choose a moment in the future." in past.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Campaign, found.id).status == CampaignStatus.DRAFT

    day = (datetime.now(UTC) + timedelta(days=3)).date()
    client.post(f"/campaigns/{found.id}/launch",
                data={"csrf_token": token, "when": "later", "starts_at": f"{day}T10:00"})
    db.session.expire_all()
    saved = db.session.get(Campaign, found.id)
    assert saved.status == CampaignStatus.SCHEDULED
    assert saved.starts_at == datetime(day.year, day.month, day.day, 7, 0, tzinfo=UTC)  # 10:00 in Moscow


def test_a_campaign_without_accounts_is_not_launched(client, lead):
    member, _, _ = lead
    found = campaign(member, [], [(0, ["Hi"])])
    token = csrf_token(client, f"/campaigns/{found.id}/review")
    response = client.post(f"/campaigns/{found.id}/launch", data={"csrf_token": token, "when": "now"})
    assert response.status_code == 422 and "Choose the accounts it writes from." in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Campaign, found.id).status == CampaignStatus.DRAFT


def test_duplicate_makes_a_draft_copy_and_delete_removes_a_draft(client, lead):
    member, account, headers = lead
    found = campaign(member, [account], [(0, ["Hi {{first_name}}"]), (60, ["Again"])], window=ALWAYS)
    response = client.post(f"/campaigns/{found.id}/duplicate", headers=headers)
    copy = db.session.scalar(select(Campaign).where(Campaign.id != found.id))
    assert response.headers["HX-Redirect"] == f"/campaigns/{copy.id}/edit"
    assert copy.name == "Outreach (copy)" and texts(copy) == texts(found)

    client.post(f"/campaigns/{copy.id}/delete", headers=headers)
    db.session.expire_all()
    assert db.session.get(Campaign, copy.id) is None and db.session.get(Campaign, found.id) is not None


# -- a step's file -----------------------------------------------------------------------------


def upload(client, headers, step, data=b"%PDF-1.4 deck", name="deck.pdf", mime="application/pdf"):
    return client.post(f"/campaigns/editor/file?step={step}", headers=headers, content_type="multipart/form-data",
                       data={"file": (BytesIO(data), name, mime)})


def hidden_file_ids(html: str) -> dict[str, str]:
    return dict(re.findall(r'<input type="hidden" name="(steps-\d+-file_id)" value="(\d+)">', html))


def test_a_file_chosen_for_a_step_is_kept_at_once_and_named_in_its_block(client, lead):
    member, _account, headers = lead
    response = upload(client, headers, 1)
    assert response.status_code == 200
    kept = db.session.scalar(select(CampaignFile))
    assert (kept.org_id, kept.file_name, kept.mime_type, kept.size) == (member.org_id, "deck.pdf",
                                                                       "application/pdf", 13)
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<div class="campaign-file" id="step-file-1">')
    assert hidden_file_ids(html) == {"steps-1-file_id": str(kept.id)}
    assert "deck.pdf" in html and "13 B" in html and 'value="remove_file:1"' in html


def test_an_empty_file_is_refused_in_its_block_and_nothing_is_kept(client, lead):
    _member, _account, headers = lead
    response = upload(client, headers, 0, data=b"")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "That file is empty." in html and 'type="file"' in html and not hidden_file_ids(html)
    assert db.session.scalar(select(func.count()).select_from(CampaignFile)) == 0


def test_an_agent_cannot_keep_a_file(client, lead):
    member, _account, _ = lead
    sign_in_as(client, add_member(member.organization, role=Role.AGENT))
    headers = {**HX, "X-CSRFToken": csrf_token(client, "/home")}
    assert upload(client, headers, 0).status_code == 403
    assert db.session.scalar(select(func.count()).select_from(CampaignFile)) == 0


def test_a_step_s_file_moves_with_it_is_saved_with_it_and_can_be_removed(client, lead):
    member, account, headers = lead
    found = campaign(member, [account], [(0, ["First"]), (60, ["Second"])])
    file_id = hidden_file_ids(upload(client, headers, 1).get_data(as_text=True))["steps-1-file_id"]
    form = editor_form(account, **{"steps-1-file_id": file_id})

    moved = client.post("/campaigns/editor/steps", data={**form, "op": "up:1"}, headers=headers)
    html = moved.get_data(as_text=True)
    assert textareas(html)[0][1] == "Following up"
    assert hidden_file_ids(html) == {"steps-0-file_id": file_id}
    assert html.index("deck.pdf") < html.index('id="step-1"')  # shown in the first step's block

    saved = client.post(f"/campaigns/{found.id}/edit", headers=headers,
                        data=editor_form(account, **{"steps-0-file_id": file_id}))
    assert saved.status_code == 200
    db.session.expire_all()
    steps = db.session.get(Campaign, found.id).steps
    assert [s.file_id for s in steps] == [int(file_id), None]
    page = client.get(f"/campaigns/{found.id}/edit").get_data(as_text=True)
    assert hidden_file_ids(page) == {"steps-0-file_id": file_id} and "deck.pdf" in page

    removed = client.post("/campaigns/editor/steps", headers=headers,
                          data={**editor_form(account, **{"steps-0-file_id": file_id}), "op": "remove_file:0"})
    assert hidden_file_ids(removed.get_data(as_text=True)) == {}


def test_saving_another_organization_s_file_is_refused_and_the_row_stays(client, lead):
    member, account, headers = lead
    found = campaign(member, [account], [(0, ["Hi {{first_name}}"])], name="As it was")
    theirs = service.store_file(manager(), Attachment("theirs.pdf", "application/pdf", b"%PDF theirs"))
    db.session.commit()
    response = client.post(f"/campaigns/{found.id}/edit", headers=headers,
                           data=editor_form(account, **{"steps-0-file_id": str(theirs.id)}))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    block = html[html.index('id="step-file-0"'):]
    assert "This file is not among your organization&#39;s files: attach it again." in block[:block.index("</div>")]
    assert "theirs.pdf" not in html
    db.session.expire_all()
    assert [s.file_id for s in db.session.get(Campaign, found.id).steps] == [None]
    assert texts(found) == [["Hi {{first_name}}"]]


def test_with_a_file_a_text_longer_than_a_caption_is_refused_on_save(client, lead):
    member, account, headers = lead
    found = campaign(member, [account], [(0, ["Short"])])
    file_id = hidden_file_ids(upload(client, headers, 0).get_data(as_text=True))["steps-0-file_id"]
    response = client.post(f"/campaigns/{found.id}/edit", headers=headers, data=editor_form(
        account, **{"steps-0-file_id": file_id, "steps-0-variants-1-text": "x" * 1500}))
    assert response.status_code == 422
    assert "With a file, the message is its caption: at most 1,024 characters." in response.get_data(as_text=True)
    db.session.expire_all()
    assert [s.file_id for s in db.session.get(Campaign, found.id).steps] == [None]


def test_a_step_s_file_block_reads_in_russian(client, lead):
    from tests.core.test_russian_pages import RU, english_words

    member, account, headers = lead
    headers = {**headers, **RU}
    found = campaign(member, [account], [(0, ["Привет"]), (60, ["Ещё раз"])])
    chosen = upload(client, headers, 1, name="prezentaciya.pdf")
    empty = upload(client, headers, 0, data=b"")
    file_id = hidden_file_ids(chosen.get_data(as_text=True))["steps-1-file_id"]
    client.post(f"/campaigns/{found.id}/edit", headers=headers, data=editor_form(
        account, **{"steps-1-file_id": file_id, "steps-0-variants-0-text": "Привет",
                    "steps-0-variants-1-text": "Здравствуйте", "steps-1-variants-0-text": "Ещё раз"}))
    page = client.get(f"/campaigns/{found.id}/edit", headers=RU)
    refused = client.post(f"/campaigns/{found.id}/edit", headers=headers, data=editor_form(
        account, **{"steps-0-file_id": "999999", "steps-0-variants-0-text": "Привет",
                    "steps-0-variants-1-text": "Здравствуйте", "steps-1-variants-0-text": "Ещё раз"}))
    assert refused.status_code == 422
    for response in (chosen, empty, page, refused):
        html = response.get_data(as_text=True)
        assert 'id="step-file-' in html
        assert english_words(html, {"Spring", "partners", "Org", "User", "Sales"}) == set()  # data
