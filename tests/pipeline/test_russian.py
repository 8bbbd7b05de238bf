"""The pipeline in Russian: the board, its settings and rules, its refusals and toasts, for a viewer
who reads Russian; English stays the default. The names the app gives stages are stored in English
and read in each viewer's language; names people type are theirs."""

import json
from contextlib import contextmanager

import pytest
from flask import current_app, g, render_template_string

from app.blueprints.crm.models import Deal
from app.blueprints.pipeline import board as boards
from app.blueprints.pipeline import service
from app.blueprints.pipeline.models import Stage, StageMove
from app.blueprints.pipeline.rules import RuleBroken
from app.extensions import db
from tests.conftest import csrf_token
from tests.core.test_russian_pages import english_words
from tests.factories import make_deal

RU = {"Accept-Language": "ru-RU,ru;q=0.9"}
HX = {"HX-Request": "true"}


@pytest.fixture
def sales(owner):
    pipeline = service.pipelines(owner.org_id)[0]
    db.session.commit()
    return pipeline


@pytest.fixture
def token(owner_client):
    return csrf_token(owner_client, "/pipeline/")


def stage(pipeline, stored) -> Stage:
    return next(s for s in pipeline.stages if s.stored_name == stored)


def toast(response) -> dict:
    return json.loads(response.headers["HX-Trigger"])["toast"]


def forget_language() -> None:
    """Tests share one app context, whose ``g`` keeps the language the last request was read in."""
    g.pop("_flask_babel", None)


@contextmanager
def russian():
    """Code run as in a request of a Russian reader."""
    forget_language()
    try:
        with current_app.test_request_context(headers=RU):
            yield
    finally:
        forget_language()


def test_the_board_reads_in_russian_with_the_default_names_in_russian(owner_client, owner, sales):
    make_deal(owner, title="Пилот", stage="Proposal", value="1234567.50", currency="RUB")
    html = owner_client.get("/pipeline/", headers=RU).get_data(as_text=True)
    assert "Коммерческое предложение" in html and "Новый лид" in html and "Выиграна" in html
    assert "1,2\u00a0млн\u00a0₽" in html and "в этапе" in html  # the card's time in stage, in words
    assert english_words(html, {"Org", "User"}) == set()
    forget_language()
    english = owner_client.get("/pipeline/").get_data(as_text=True)
    assert "Proposal" in english and "New lead" in english and "Коммерческое" not in english


def test_a_default_name_is_stored_in_english_and_a_typed_one_is_shown_as_typed(owner_client, owner, sales, token):
    proposal = stage(sales, "Proposal")
    owner_client.post(f"/pipeline/{sales.id}/stages", headers=RU,
                      data={"csrf_token": token, "name": "Счёт выставлен", "kind": "open"})
    db.session.expire_all()
    assert db.session.get(Stage, proposal.id).stored_name == "Proposal"
    html = owner_client.get("/pipeline/settings", headers=RU).get_data(as_text=True)
    assert "Счёт выставлен" in html and "Коммерческое предложение" in html
    forget_language()
    english = owner_client.get("/pipeline/settings").get_data(as_text=True)
    assert "Счёт выставлен" in english and "Proposal" in english and "Коммерческое" not in english
    # The API reads names as data: as stored, in no viewer's language.
    assert db.session.scalar(db.select(Stage.id).where(Stage.name == "Proposal")) == proposal.id


def test_saving_a_stage_form_in_russian_keeps_a_default_name_a_default(owner_client, owner, sales, token):
    negotiation = stage(sales, "Negotiation")
    response = owner_client.post(f"/pipeline/stages/{negotiation.id}/edit", headers=RU, data={
        "csrf_token": token, "name": "Переговоры", "kind": "open", "colour": "amber", "probability": "70",
        "wip_limit": ""})
    assert response.status_code == 302
    db.session.expire_all()
    saved = db.session.get(Stage, negotiation.id)
    assert (saved.stored_name, saved.probability) == ("Negotiation", 70)
    with russian():
        assert saved.name == "Переговоры"
    assert saved.name == "Negotiation"  # outside a Russian request: English


def test_a_refused_move_names_the_rule_in_russian_and_in_english_by_default(owner_client, owner, sales, token):
    won = stage(sales, "Won")
    service.update_stage(owner, won.id, {"required_fields": ["value", "expected_close"]})
    db.session.commit()
    deal = make_deal(owner, stage="Negotiation")
    url = f"/pipeline/deals/{deal.id}/move"
    russian = owner_client.post(url, headers={**HX, **RU, "X-CSRFToken": token}, data={"stage_id": won.id})
    assert russian.status_code == 409
    assert toast(russian)["message"] == ("Чтобы сделка попала в этап «Выиграна», заполните: "
                                         "Сумма и Ожидаемая дата закрытия.")
    forget_language()
    english = owner_client.post(url, headers={**HX, "X-CSRFToken": token}, data={"stage_id": won.id})
    assert toast(english)["message"] == "“Won” requires Value and Expected close date before a deal can enter it."
    db.session.expire_all()
    assert db.session.get(Deal, deal.id).stage.stored_name == "Negotiation"


def test_the_move_menu_and_quick_add_toast_in_russian(owner_client, owner, sales, token):
    deal = make_deal(owner, title="Меню", stage="Qualified")
    won = stage(sales, "Won")
    moved = owner_client.post(f"/pipeline/deals/{deal.id}/move", headers={**HX, **RU, "X-CSRFToken": token},
                              data={"stage_id": won.id, "via": "menu"})
    assert toast(moved) == {"level": "success", "message": "Перемещено в этап «Выиграна»."}
    added = owner_client.post(f"/pipeline/stages/{won.id}/deals", headers={**HX, **RU, "X-CSRFToken": token},
                              data={"title": "Быстрая"})
    assert toast(added)["message"] == "Сделка «Быстрая» добавлена."
    refused = owner_client.post(f"/pipeline/stages/{won.id}/deals", headers={**HX, **RU, "X-CSRFToken": token},
                                data={"title": "  "})
    assert refused.status_code == 422 and "Дайте сделке название." in refused.get_data(as_text=True)


def test_the_stage_form_says_its_field_errors_in_russian(owner_client, owner, sales, token):
    negotiation = stage(sales, "Negotiation")
    bad = owner_client.post(f"/pipeline/stages/{negotiation.id}/edit", headers=RU, data={
        "csrf_token": token, "name": "Переговоры", "kind": "open", "colour": "amber", "probability": "140",
        "wip_limit": "0"})
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "Проверьте поля формы." in html and "Целое число от 0 до 100." in html
    assert "целое число от 1 до 10\u00a0000." in html  # the largest limit written the Russian way
    forget_language()
    english = owner_client.post(f"/pipeline/stages/{negotiation.id}/edit", data={
        "csrf_token": token, "name": "Negotiation", "kind": "open", "colour": "amber", "probability": "140"})
    assert "A whole number from 0 to 100." in english.get_data(as_text=True)


def test_settings_with_every_kind_of_rule_and_a_stage_history_read_in_russian(owner_client, owner, sales):
    won, proposal = stage(sales, "Won"), stage(sales, "Proposal")
    service.update_stage(owner, won.id, {"required_fields": ["value", "owner"], "allowed_from": [proposal.id],
                                         "allow_exit": False, "wip_limit": 5})
    db.session.commit()
    deal = make_deal(owner, title="Сделка", stage="Proposal", value="10")
    boards.move_card(owner, deal.id, won.id)
    db.session.commit()
    settings = owner_client.get("/pipeline/settings", headers=RU).get_data(as_text=True)
    assert "Правила: требует: Сумма, Ответственный; вход только из: Коммерческое предложение; " \
           "сделки не могут покинуть этап." in settings
    assert english_words(settings, {"Org", "User"}) == set()
    form = owner_client.get(f"/pipeline/stages/{won.id}/edit", headers=RU).get_data(as_text=True)
    assert "1 перемещение в этот этап или из него." in form
    assert english_words(form, {"Org", "User"}) == set()
    forget_language()
    history = db.session.scalars(db.select(StageMove).where(StageMove.deal_id == deal.id)).all()
    assert {m.to_stage_stored for m in history} == {"Proposal", "Won"}  # stored as the app named them


def test_a_full_column_says_its_limit_with_the_russian_plural(owner, sales):
    negotiation = stage(sales, "Negotiation")
    service.update_stage(owner, negotiation.id, {"wip_limit": 1})
    db.session.commit()
    make_deal(owner, stage="Negotiation")
    deal = make_deal(owner, stage="Qualified")
    with russian(), pytest.raises(RuleBroken) as err:
        boards.move_card(owner, deal.id, negotiation.id)
    db.session.rollback()
    assert err.value.message == ("Этап «Переговоры» заполнен: его лимит — 1 сделка. "
                              "Сначала переместите из него сделку.")


@pytest.mark.parametrize(("count", "expected"), [
    (1, "1 сделка"), (2, "2 сделки"), (5, "5 сделок"), (11, "11 сделок"), (21, "21 сделка"), (22, "22 сделки"),
])
def test_column_counts_use_the_russian_plural(sales, count, expected):
    column = boards.Column(stage=sales.stages[0], count=count)
    with russian():
        html = render_template_string('{% from "pipeline/_macros.html" import column_head %}{{ column_head(c) }}',
                                      c=column)
    assert f'title="{expected}"' in html


def test_a_system_move_says_why_in_the_viewers_language(owner, sales):
    proposal, qualified = stage(sales, "Proposal"), stage(sales, "Qualified")
    deal = make_deal(owner, stage="Proposal")
    service.delete_stage(owner, proposal.id, qualified.id)
    db.session.commit()
    move = db.session.scalars(db.select(StageMove).where(StageMove.deal_id == deal.id)
                              .order_by(StageMove.id.desc())).first()
    assert (move.reason, move.reason_label) == ("stage deleted", "its stage was deleted")
    with russian():
        assert (move.reason_label, move.from_stage_name) == ("этап удалён", "Коммерческое предложение")
