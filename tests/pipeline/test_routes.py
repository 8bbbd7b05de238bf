"""Board and settings pages over HTTP: fragments, moves, refusals as toasts, forms with errors."""

import json

import pytest

from app.blueprints.crm.models import Deal
from app.blueprints.pipeline import service
from app.blueprints.pipeline.models import Pipeline, Stage
from app.blueprints.team.permissions import Role
from app.extensions import db
from tests.conftest import counting_statements, csrf_token, sign_in_as
from tests.factories import add_member, make_deal

HX = {"HX-Request": "true"}


@pytest.fixture
def sales(owner):
    pipeline = service.pipelines(owner.org_id)[0]
    db.session.commit()
    return pipeline


@pytest.fixture
def token(owner_client):
    return csrf_token(owner_client, "/pipeline/")


def stage(pipeline, name) -> Stage:
    return next(s for s in pipeline.stages if s.name == name)


def toast(response) -> dict:
    return json.loads(response.headers["HX-Trigger"])["toast"]


def test_the_board_shows_columns_with_counts_sums_and_cards(owner_client, owner, sales):
    make_deal(owner, title="Orbit Pay annual", stage="Proposal", value="90000")
    html = owner_client.get("/pipeline/").get_data(as_text=True)
    assert f'id="column-head-{stage(sales, "Proposal").id}"' in html
    assert "Orbit Pay annual" in html and "$90K" in html and "$54K" in html  # weighted at 60%
    assert 'id="move-menu"' in html and f'id="board-live-{sales.id}"' in html


def test_a_filter_request_gets_only_the_board_block(owner_client, owner, sales):
    make_deal(owner, title="Kite pilot", stage="Qualified")
    make_deal(owner, title="Orbit renewal", stage="Qualified")
    response = owner_client.get(f"/pipeline/{sales.id}?q=kite", headers=HX)
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<div id="board"') and "Kite pilot" in html and "Orbit renewal" not in html
    assert "HX-Request" in response.headers.get("Vary", "")


def test_another_organizations_pipeline_is_a_404(owner_client):
    from tests.factories import make_member

    other = make_member(Role.OWNER)
    theirs = service.pipelines(other.org_id)[0]
    db.session.commit()
    assert owner_client.get(f"/pipeline/{theirs.id}").status_code == 404


def test_dragging_a_card_answers_with_both_column_heads(owner_client, owner, sales, token):
    deal = make_deal(owner, stage="Qualified", value="100")
    proposal = stage(sales, "Proposal")
    response = owner_client.post(f"/pipeline/deals/{deal.id}/move", headers={**HX, "X-CSRFToken": token},
                                 data={"stage_id": proposal.id, "above_id": "", "below_id": ""})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert f'<header hx-swap-oob="true" class="column-head" id="column-head-{proposal.id}"' in html
    assert f'column-head-{stage(sales, "Qualified").id}' in html and "deal-card" not in html
    assert db.session.get(Deal, deal.id).stage_id == proposal.id


def test_a_refused_move_is_a_409_toast_naming_the_rule(owner_client, owner, sales, token):
    won = stage(sales, "Won")
    service.update_stage(owner, won.id, {"required_fields": ["value"]})
    db.session.commit()
    deal = make_deal(owner, stage="Negotiation")
    response = owner_client.post(f"/pipeline/deals/{deal.id}/move", headers={**HX, "X-CSRFToken": token},
                                 data={"stage_id": won.id})
    assert response.status_code == 409
    assert toast(response) == {"level": "error", "message": "“Won” requires Value before a deal can enter it."}
    db.session.expire_all()
    assert db.session.get(Deal, deal.id).stage.name == "Negotiation"


def test_an_agent_cannot_drag_a_teammates_deal(client, owner, sales):
    agent = add_member(owner.organization, role=Role.AGENT)
    deal = make_deal(owner, stage="Qualified")
    sign_in_as(client, agent)
    token = csrf_token(client, "/pipeline/")
    response = client.post(f"/pipeline/deals/{deal.id}/move", headers={**HX, "X-CSRFToken": token},
                           data={"stage_id": stage(sales, "Won").id})
    assert response.status_code == 403 and "You can edit only the records you own" in toast(response)["message"]


def test_the_move_menu_redraws_both_columns_and_says_where(owner_client, owner, sales, token):
    deal = make_deal(owner, title="Menu mover", stage="Qualified")
    won = stage(sales, "Won")
    response = owner_client.post(f"/pipeline/deals/{deal.id}/move", headers={**HX, "X-CSRFToken": token},
                                 data={"stage_id": won.id, "via": "menu"})
    html = response.get_data(as_text=True)
    assert f'id="cards-{won.id}"' in html and "Menu mover" in html
    assert toast(response) == {"level": "success", "message": "Moved to Won."}


def test_the_board_and_a_move_stay_within_their_statement_budgets(app, owner_client, owner, sales, token):
    for name in ("New lead", "Qualified", "Proposal"):
        for _ in range(4):
            make_deal(owner, stage=name, value="10", tags=["vip"])
    with counting_statements() as statements:
        assert owner_client.get("/pipeline/").status_code == 200
    assert len(statements) <= 6, statements
    proposal = stage(sales, "Proposal")
    cards = db.session.query(Deal).filter(Deal.stage_id == proposal.id).order_by(Deal.position).all()
    mover = db.session.query(Deal).filter(Deal.stage_id == stage(sales, "Qualified").id).first()
    with counting_statements() as statements:
        response = owner_client.post(f"/pipeline/deals/{mover.id}/move", headers={**HX, "X-CSRFToken": token},
                                     data={"stage_id": proposal.id, "above_id": cards[0].id,
                                           "below_id": cards[1].id})
    assert response.status_code == 200
    # the move (with the event outbox row that carries it to campaigns), the page, and the outbox row
    # deleted once its job is enqueued after the commit
    assert len(statements) <= 7, statements
    url, new_lead = f"/pipeline/deals/{mover.id}/move", stage(sales, "New lead").id
    with counting_statements() as statements:  # a drop on top of a column (no card above it)
        owner_client.post(url, headers={**HX, "X-CSRFToken": token}, data={"stage_id": new_lead, "below_id": ""})
    assert len(statements) <= 7, "\n".join(s[:100] for s in statements)


def test_quick_add_creates_on_top_or_keeps_the_title_and_says_why(owner_client, owner, sales, token):
    qualified, negotiation = stage(sales, "Qualified"), stage(sales, "Negotiation")
    response = owner_client.post(f"/pipeline/stages/{qualified.id}/deals", headers={**HX, "X-CSRFToken": token},
                                 data={"title": "Fresh", "value": "300"})
    assert response.status_code == 200 and "Fresh" in response.get_data(as_text=True)
    assert db.session.query(Deal).filter_by(title="Fresh", stage_id=qualified.id).count() == 1
    service.update_stage(owner, negotiation.id, {"required_fields": ["expected_close"]})
    db.session.commit()
    refused = owner_client.post(f"/pipeline/stages/{negotiation.id}/deals", headers={**HX, "X-CSRFToken": token},
                                data={"title": "Too early", "value": ""})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and 'value="Too early"' in html
    assert "requires Expected close date" in html


def test_live_refresh_returns_the_asked_columns_with_what_was_scrolled_in(owner_client, owner, sales):
    qualified = stage(sales, "Qualified")
    for n in range(55):
        make_deal(owner, title=f"D{n}", stage="Qualified")
    html = owner_client.get(f"/pipeline/{sales.id}/columns?stage={qualified.id}&loaded_{qualified.id}=55",
                            headers=HX).get_data(as_text=True)
    assert html.count('class="deal-card') == 55 and f'hx-swap-oob="true" class="column-cards" id="cards-{qualified.id}"' in html
    assert "column-more" not in html


def test_more_cards_continue_after_the_last_one(owner_client, owner, sales):
    qualified = stage(sales, "Qualified")
    for n in range(53):
        make_deal(owner, title=f"D{n:02}", stage="Qualified")
    first = owner_client.get("/pipeline/").get_data(as_text=True)
    assert first.count('class="deal-card') == 50 and "column-more" in first
    last = db.session.query(Deal).filter_by(title="D03").one()
    more = owner_client.get(f"/pipeline/stages/{qualified.id}/cards?after={last.position}&after_id={last.id}",
                            headers=HX).get_data(as_text=True)
    assert [t for t in ("D02", "D01", "D00") if t in more] == ["D02", "D01", "D00"] and "column-more" not in more


def test_the_deal_timeline_shows_its_stage_history(owner_client, owner, token, sales):
    deal = make_deal(owner, stage="Qualified")
    owner_client.post(f"/pipeline/deals/{deal.id}/move", headers={**HX, "X-CSRFToken": token},
                      data={"stage_id": stage(sales, "Proposal").id})
    html = owner_client.get(f"/deals/{deal.id}").get_data(as_text=True)
    assert "moved it from <strong>Qualified</strong> to <strong>Proposal</strong>" in html
    assert "put it in <strong>Qualified</strong>" in html and "1 min in Qualified" in html


# -- settings ----------------------------------------------------------------------------------

def test_settings_create_rename_add_stage_and_shift(owner_client, owner, sales, token):
    response = owner_client.post("/pipeline/settings/pipelines", data={"name": "Partners", "csrf_token": token})
    assert response.status_code == 302
    partners = db.session.query(Pipeline).filter_by(name="Partners").one()
    owner_client.post(f"/pipeline/{partners.id}/rename", data={"name": "Alliances", "csrf_token": token})
    owner_client.post(f"/pipeline/{partners.id}/stages", data={"name": "Pilot", "kind": "open", "csrf_token": token})
    db.session.expire_all()
    alliances = db.session.get(Pipeline, partners.id)
    assert alliances.name == "Alliances" and [s.name for s in alliances.stages] == [
        "New", "In progress", "Pilot", "Won", "Lost"]
    pilot = stage(alliances, "Pilot")
    owner_client.post(f"/pipeline/stages/{pilot.id}/shift", data={"direction": "left", "csrf_token": token})
    db.session.expire_all()
    assert [s.name for s in db.session.get(Pipeline, partners.id).stages][1] == "Pilot"
    page = owner_client.get("/pipeline/settings").get_data(as_text=True)
    assert "Alliances" in page and "Delete pipeline" in page


def test_a_bad_settings_change_re_renders_with_the_reason(owner_client, owner, sales, token):
    response = owner_client.post("/pipeline/settings/pipelines", data={"name": "Sales", "csrf_token": token})
    assert response.status_code == 422 and "A pipeline with that name exists." in response.get_data(as_text=True)
    deal = make_deal(owner, stage="Proposal")
    refused = owner_client.post(f"/pipeline/stages/{stage(sales, 'Proposal').id}/delete",
                                data={"csrf_token": token})
    assert refused.status_code == 422 and "It holds 1 deal" in refused.get_data(as_text=True)
    owner_client.post(f"/pipeline/stages/{stage(sales, 'Proposal').id}/delete",
                      data={"csrf_token": token, "move_to": stage(sales, "Qualified").id})
    db.session.expire_all()
    assert db.session.get(Deal, deal.id).stage.name == "Qualified"


def test_the_stage_form_saves_rules_or_shows_field_errors(owner_client, owner, sales, token):
    negotiation, proposal = stage(sales, "Negotiation"), stage(sales, "Proposal")
    page = owner_client.get(f"/pipeline/stages/{negotiation.id}/edit").get_data(as_text=True)
    assert "Required to enter" in page and "May come from" in page
    bad = owner_client.post(f"/pipeline/stages/{negotiation.id}/edit", data={
        "csrf_token": token, "name": "Negotiation", "kind": "open", "colour": "amber", "probability": "140",
        "wip_limit": "", "required_fields": ["value"]})
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "A whole number from 0 to 100." in html and 'value="140"' in html
    good = owner_client.post(f"/pipeline/stages/{negotiation.id}/edit", data={
        "csrf_token": token, "name": "Negotiating", "kind": "open", "colour": "amber", "probability": "75",
        "wip_limit": "8", "required_fields": ["value", "expected_close"], "allowed_from": [str(proposal.id)]})
    assert good.status_code == 302
    db.session.expire_all()
    saved = db.session.get(Stage, negotiation.id)
    assert (saved.name, saved.probability, saved.wip_limit) == ("Negotiating", 75, 8)
    assert saved.required_fields == ["value", "expected_close"] and saved.allowed_from == [proposal.id]


def test_agents_see_the_settings_without_controls(client, owner, sales):
    agent = add_member(owner.organization, role=Role.AGENT)
    sign_in_as(client, agent)
    page = client.get("/pipeline/settings").get_data(as_text=True)
    assert "Proposal" in page and "Add stage" not in page
    token = csrf_token(client, "/pipeline/settings")
    assert client.post("/pipeline/settings/pipelines", data={"name": "Mine", "csrf_token": token}).status_code == 403


def test_the_deal_page_refuses_a_rule_breaking_stage_on_the_stage_field(owner_client, owner, sales, token):
    won = stage(sales, "Won")
    service.update_stage(owner, won.id, {"required_fields": ["expected_close"]})
    db.session.commit()
    deal = make_deal(owner, title="Almost", stage="Proposal")
    form = owner_client.post(f"/deals/{deal.id}/edit", data={
        "csrf_token": token, "title": "Almost", "stage": str(won.id), "currency": "USD",
        "owner": str(owner.user_id)})
    html = form.get_data(as_text=True)
    assert form.status_code == 422 and "“Won” requires Expected close date" in html
    inline = owner_client.post(f"/deals/{deal.id}/field/stage", data={"stage": str(won.id)},
                               headers={**HX, "X-CSRFToken": token})
    assert inline.status_code == 422 and "requires Expected close date" in inline.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Deal, deal.id).stage.name == "Proposal"
