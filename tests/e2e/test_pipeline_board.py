"""The kanban board in Chromium: drag and drop, live moves between browsers, refused moves, the menu."""

import re

from playwright.sync_api import expect

from app.blueprints.crm.models import Deal
from app.blueprints.pipeline import service
from app.blueprints.pipeline.models import Pipeline
from app.blueprints.team.permissions import Role
from app.extensions import db
from tests.e2e.conftest import sign_in
from tests.factories import PASSWORD, add_member, make_deal, make_member


def drag(page, card_selector: str, target_selector: str) -> None:
    """Drag with real mouse steps, the way a person does (SortableJS follows the pointer)."""
    card = page.locator(card_selector).bounding_box()
    target = page.locator(target_selector).bounding_box()
    page.mouse.move(card["x"] + card["width"] / 2, card["y"] + 12)
    page.mouse.down()
    page.mouse.move(card["x"] + card["width"] / 2 + 10, card["y"] + 20, steps=4)
    page.mouse.move(target["x"] + target["width"] / 2, target["y"] + 20, steps=12)
    page.mouse.up()


def open_board(page) -> None:
    page.goto("/pipeline/")
    expect(page.locator("body.is-live")).to_have_count(1)  # the live socket is open


def test_a_drag_moves_the_card_and_a_teammate_sees_it_without_reloading(new_page):
    owner = make_member(Role.OWNER)
    teammate = add_member(owner.organization, role=Role.MANAGER)
    sales = service.pipelines(owner.org_id)[0]
    proposal = next(s for s in sales.stages if s.name == "Proposal")
    alpha = make_deal(owner, title="Alpha rollout", stage="Qualified", value="1000")
    make_deal(owner, title="Beta pilot", stage="Proposal", value="500")

    watcher = new_page()
    sign_in(watcher, teammate.user.email, PASSWORD)
    open_board(watcher)
    watcher.evaluate("window.__notReloaded = true")
    expect(watcher.locator(f"#column-head-{proposal.id} .column-count")).to_have_text("1")

    mover = new_page()
    sign_in(mover, owner.user.email, PASSWORD)
    open_board(mover)
    drag(mover, f"#deal-{alpha.id}", f"#cards-{proposal.id} .deal-card")
    expect(mover.locator(f"#cards-{proposal.id} #deal-{alpha.id}")).to_have_count(1)
    expect(mover.locator(f"#column-head-{proposal.id} .column-count")).to_have_text("2")
    expect(mover.locator(f"#column-head-{proposal.id} .column-total")).to_have_text("$1.5K")

    expect(watcher.locator(f"#cards-{proposal.id} #deal-{alpha.id}")).to_have_count(1)
    expect(watcher.locator(f"#column-head-{proposal.id} .column-count")).to_have_text("2")
    assert watcher.evaluate("window.__notReloaded") is True
    db.session.expire_all()
    assert db.session.get(Deal, alpha.id).stage_id == proposal.id
    assert mover.csp.errors == [] and watcher.csp.errors == []  # no console error at all (live frames)


def test_a_move_that_breaks_an_entry_rule_snaps_back_with_the_message(new_page):
    owner = make_member(Role.OWNER)
    sales = service.pipelines(owner.org_id)[0]
    qualified = next(s for s in sales.stages if s.name == "Qualified")
    won = next(s for s in sales.stages if s.name == "Won")
    service.update_stage(owner, won.id, {"required_fields": ["value", "expected_close"]})
    db.session.commit()
    deal = make_deal(owner, title="Unfinished", stage="Qualified")

    page = new_page(viewport={"width": 2400, "height": 900})  # every column in view
    sign_in(page, owner.user.email, PASSWORD)
    open_board(page)
    drag(page, f"#deal-{deal.id}", f"#cards-{won.id}")
    expect(page.locator(".toast-error")).to_contain_text(
        "“Won” requires Value and Expected close date before a deal can enter it.")
    expect(page.locator(f"#cards-{qualified.id} #deal-{deal.id}")).to_have_count(1)
    expect(page.locator(f"#cards-{won.id} #deal-{deal.id}")).to_have_count(0)
    db.session.expire_all()
    assert db.session.get(Deal, deal.id).stage_id == qualified.id


def test_the_move_menu_moves_a_card_from_the_keyboard(new_page):
    owner = make_member(Role.OWNER)
    sales = service.pipelines(owner.org_id)[0]
    negotiation = next(s for s in sales.stages if s.name == "Negotiation")
    deal = make_deal(owner, title="Keyboard deal", stage="New lead")

    page = new_page(viewport={"width": 390, "height": 844})
    sign_in(page, owner.user.email, PASSWORD)
    open_board(page)
    page.locator(f"#deal-{deal.id} [data-move-menu]").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#move-menu")).to_be_visible()
    page.keyboard.press("ArrowDown")  # from the first free stage to the next
    target = page.locator(f'#move-menu [data-stage="{negotiation.id}"]')
    target.focus()
    page.keyboard.press("Enter")
    expect(page.locator(".toast-success")).to_contain_text("Moved to Negotiation.")
    expect(page.locator(f"#cards-{negotiation.id} #deal-{deal.id}")).to_have_count(1)
    expect(page.locator("#move-menu")).to_be_hidden()


def test_quick_add_and_filters(new_page):
    owner = make_member(Role.OWNER)
    sales = service.pipelines(owner.org_id)[0]
    qualified = next(s for s in sales.stages if s.name == "Qualified")
    make_deal(owner, title="Orbit renewal", stage="Qualified")

    page = new_page()
    sign_in(page, owner.user.email, PASSWORD)
    open_board(page)
    page.click(f"#quick-add-{qualified.id} summary")
    page.fill(f"#quick-title-{qualified.id}", "Kite pilot")
    page.fill(f"#quick-value-{qualified.id}", "2500")
    page.click(f"#quick-add-{qualified.id} button[type=submit]")
    expect(page.locator(".toast-success")).to_contain_text("Deal “Kite pilot” added.")
    expect(page.locator(f"#cards-{qualified.id} .deal-card").first).to_contain_text("Kite pilot")
    page.fill("#board-q", "kite")
    expect(page.locator(f"#cards-{qualified.id} .deal-card")).to_have_count(1)
    expect(page).to_have_url(re.compile(r"q=kite"))
    assert page.csp.violations() == []


def test_pipeline_settings_create_edit_rules_and_delete_a_stage_with_its_deals(new_page):
    owner = make_member(Role.OWNER)
    sales = service.pipelines(owner.org_id)[0]
    proposal = next(s for s in sales.stages if s.name == "Proposal")
    deal = make_deal(owner, title="Moving house", stage="Proposal")

    page = new_page()
    sign_in(page, owner.user.email, PASSWORD)
    page.goto("/pipeline/settings")
    page.fill("#new-pipeline", "Partnerships")
    page.click("text=Create")
    expect(page.locator(".toast-success")).to_contain_text("Pipeline created.")
    partners = db.session.query(Pipeline).filter_by(name="Partnerships").one()
    page.fill(f"#new-stage-{partners.id}", "Pilot")
    page.locator(f"#pipeline-{partners.id}").get_by_role("button", name="Add stage").click()
    expect(page.locator(f"#pipeline-{partners.id}")).to_contain_text("Pilot")

    page.locator(f"#stage-{proposal.id}").get_by_role("link", name="Edit").click()
    page.check("input[name=required_fields][value=value]")
    page.fill("#stage-wip", "0")
    page.click("text=Save stage")
    expect(page.locator("#stage-wip-error")).to_contain_text("a whole number from 1")
    page.fill("#stage-wip", "")
    page.click("text=Save stage")
    expect(page.locator(f"#stage-{proposal.id}")).to_contain_text("Rules: requires Value.")

    page.click(f"#stage-{proposal.id} summary:has-text('Delete')")
    page.select_option(f"#move-stage-{proposal.id}", label="Qualified")
    page.click(f"#stage-{proposal.id} button:has-text('Delete “Proposal”')")
    expect(page.locator(".toast-success")).to_contain_text("Stage “Proposal” deleted.")
    db.session.expire_all()
    assert db.session.get(Deal, deal.id).stage.name == "Qualified"
    assert page.csp.violations() == []
