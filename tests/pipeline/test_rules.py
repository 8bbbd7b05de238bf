"""Stage rules decide moves and name themselves when they refuse."""

from decimal import Decimal

import pytest

from app.blueprints.crm.models import Deal
from app.blueprints.pipeline.models import Stage
from app.blueprints.pipeline.rules import RuleBroken, check_move


def stage(id, name, kind="open", **rules):
    return Stage(id=id, name=name, kind=kind, required_fields=rules.get("required", []),
                 allowed_from=rules.get("allowed_from", []), allow_exit=rules.get("allow_exit", True),
                 wip_limit=rules.get("wip_limit"))


def test_required_fields_name_what_is_missing():
    negotiation = stage(5, "Negotiation", required=["value", "expected_close", "contact"])
    deal = Deal(title="Big", value=Decimal("10"), custom={})
    with pytest.raises(RuleBroken) as err:
        check_move(deal, stage(1, "Qualified"), negotiation)
    assert err.value.rule == "required_fields" and err.value.status == 409
    assert err.value.message == "“Negotiation” requires Expected close date and Contact before a deal can enter it."


def test_custom_required_fields_use_their_labels():
    target = stage(5, "Contract", required=["custom.po_number"])
    with pytest.raises(RuleBroken, match="requires PO number"):
        check_move(Deal(title="x", custom={}), None, target, custom_labels={"po_number": "PO number"})
    check_move(Deal(title="x", custom={"po_number": "PO-7"}), None, target, custom_labels={"po_number": "PO number"})


def test_allowed_from_limits_where_a_deal_may_come_from():
    proposal, qualified = stage(4, "Proposal"), stage(2, "Qualified")
    negotiation = stage(5, "Negotiation", allowed_from=[4])
    deal = Deal(title="x", custom={})
    check_move(deal, proposal, negotiation)
    with pytest.raises(RuleBroken, match="only from the stages its entry rule lists, not from “Qualified”"):
        check_move(deal, qualified, negotiation)
    check_move(deal, None, negotiation, creating=True)  # a new deal comes from nowhere


def test_a_locked_won_stage_keeps_its_deals():
    won = stage(6, "Won", kind="won", allow_exit=False)
    with pytest.raises(RuleBroken, match="“Won” keeps its deals") as err:
        check_move(Deal(title="x", custom={}), won, stage(1, "New lead"))
    assert err.value.rule == "exit_locked"


def test_a_full_column_refuses_more_deals():
    busy = stage(3, "Meeting booked", wip_limit=2)
    check_move(Deal(title="x", custom={}), stage(1, "New"), busy, occupancy=1)
    with pytest.raises(RuleBroken, match="WIP limit of 2"):
        check_move(Deal(title="x", custom={}), stage(1, "New"), busy, occupancy=2)


def test_staying_in_the_same_stage_is_always_allowed():
    locked = stage(6, "Won", kind="won", allow_exit=False, required=["value"])
    check_move(Deal(title="x", custom={}), locked, locked)
