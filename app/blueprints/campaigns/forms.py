"""The campaign editor's form: what the page submits, read into the editor's state (what the page
shows again, as typed) and into the body ``service.create_campaign`` / ``update_campaign`` take.

The form is flat, one name per input: ``name``, ``account_ids`` (repeated), for each step
``steps-<n>-wait_amount``/``-wait_unit``, ``steps-<n>-file_id`` (the file uploaded for it, see
``routes.upload_file``) and for each of its variants ``steps-<n>-variants-<m>-text`` and
``-weight``; the window (``days``, ``start``, ``end``), the stop rules (``stop_scope``,
``stop_stage_ids``, ``stop_on_won``, ``stop_on_lost``) and the A/B rule (``auto_winner``,
``min_sample``). The steps block's buttons send ``op`` (``add_step``, ``remove_step:<n>``,
``up:<n>``, ``down:<n>``, ``add_variant:<n>``, ``remove_variant:<n>:<m>``, ``remove_file:<n>``),
applied to the state: a step moves with its texts and its file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from app.blueprints.campaigns.models import Campaign
from app.blueprints.campaigns.service import DEFAULT_WINDOW, MAX_STEPS, MAX_VARIANTS
from app.errors import DomainError

UNITS = {"now": 0, "minutes": 1, "hours": 60, "days": 24 * 60}
_STEP_KEY = re.compile(r"^steps-(\d+)-")
_VARIANT_KEY = re.compile(r"^steps-(\d+)-variants-(\d+)-")


@dataclass
class VariantState:
    text: str = ""
    weight: str = "1"


@dataclass
class StepState:
    wait_amount: str = "0"
    wait_unit: str = "now"
    variants: list[VariantState] = field(default_factory=lambda: [VariantState()])
    file_id: int | None = None


@dataclass
class EditorState:
    name: str = ""
    account_ids: set[int] = field(default_factory=set)
    steps: list[StepState] = field(default_factory=lambda: [StepState()])
    days: set[int] = field(default_factory=lambda: set(DEFAULT_WINDOW["days"]))
    start: str = DEFAULT_WINDOW["start"]
    end: str = DEFAULT_WINDOW["end"]
    stop_scope: str = "campaign"
    stop_stage_ids: set[int] = field(default_factory=set)
    stop_on_won: bool = True
    stop_on_lost: bool = True
    auto_winner: bool = False
    min_sample: str = "100"


def _ids(values: list[str]) -> set[int]:
    return {int(v) for v in values if str(v).strip().isdigit()}


def _id(value: str) -> int | None:
    value = str(value).strip()
    return int(value) if value.isdigit() and value.isascii() and len(value) <= 10 else None


def wait_parts(minutes: int) -> tuple[str, str]:
    """A wait in the largest unit that holds it whole; none is "at once"."""
    if minutes == 0:
        return ("0", "now")
    for unit in ("days", "hours"):
        if minutes % UNITS[unit] == 0:
            return (str(minutes // UNITS[unit]), unit)
    return (str(minutes), "minutes")


def from_campaign(campaign: Campaign, live_steps: list) -> EditorState:
    steps = []
    for step in live_steps:
        amount, unit = wait_parts(step.wait_minutes)
        shown = [v for v in step.variants if v.weight > 0] or list(step.variants[:1])
        steps.append(StepState(amount, unit, [VariantState(v.text, str(v.weight)) for v in shown],
                               step.file_id))
    window = campaign.window or DEFAULT_WINDOW
    return EditorState(
        name=campaign.name, account_ids=set(campaign.account_ids), steps=steps or [StepState()],
        days={int(d) for d in window.get("days") or []}, start=window.get("start", ""),
        end=window.get("end", ""), stop_scope=campaign.stop_scope,
        stop_stage_ids=set(campaign.stop_stage_ids or []), stop_on_won=campaign.stop_on_won,
        stop_on_lost=campaign.stop_on_lost, auto_winner=campaign.auto_winner,
        min_sample=str(campaign.min_sample))


def new_state(default_window: dict[str, Any] | None) -> EditorState:
    window = default_window or DEFAULT_WINDOW
    return EditorState(days={int(d) for d in window["days"]}, start=window["start"], end=window["end"])


def from_form(form: MultiDict) -> EditorState:
    """The state as submitted, in the order of the step and variant numbers."""
    step_numbers = sorted({int(m.group(1)) for k in form if (m := _STEP_KEY.match(k))})
    steps = []
    for n in step_numbers:
        variant_numbers = sorted({int(m.group(2)) for k in form
                                  if (m := _VARIANT_KEY.match(k)) and int(m.group(1)) == n})
        steps.append(StepState(
            wait_amount=form.get(f"steps-{n}-wait_amount", "0").strip(),
            wait_unit=form.get(f"steps-{n}-wait_unit", "hours"),
            variants=[VariantState(form.get(f"steps-{n}-variants-{m}-text", ""),
                                   form.get(f"steps-{n}-variants-{m}-weight", "1").strip())
                      for m in variant_numbers],
            file_id=_id(form.get(f"steps-{n}-file_id", ""))))
    return EditorState(
        name=form.get("name", ""), account_ids=_ids(form.getlist("account_ids")), steps=steps,
        days=_ids(form.getlist("days")), start=form.get("start", "").strip(), end=form.get("end", "").strip(),
        stop_scope="all" if form.get("stop_scope") == "all" else "campaign",
        stop_stage_ids=_ids(form.getlist("stop_stage_ids")), stop_on_won=bool(form.get("stop_on_won")),
        stop_on_lost=bool(form.get("stop_on_lost")), auto_winner=bool(form.get("auto_winner")),
        min_sample=form.get("min_sample", "100").strip())


def apply_op(state: EditorState, op: str) -> EditorState:
    """One of the steps block's buttons; an op that does not fit (a stale page) changes nothing."""
    name, *args = op.split(":")
    try:
        numbers = [int(a) for a in args]
    except ValueError:
        return state
    steps = state.steps
    if name == "add_step" and len(steps) < MAX_STEPS:
        steps.append(StepState(wait_amount="1", wait_unit="days") if steps else StepState())
    elif name == "remove_step" and len(numbers) == 1 and 0 <= numbers[0] < len(steps):
        del steps[numbers[0]]
    elif name in ("up", "down") and len(numbers) == 1:
        n = numbers[0]
        other = n - 1 if name == "up" else n + 1
        if 0 <= n < len(steps) and 0 <= other < len(steps):
            steps[n], steps[other] = steps[other], steps[n]
    elif name == "add_variant" and len(numbers) == 1 and 0 <= numbers[0] < len(steps):
        if len(steps[numbers[0]].variants) < MAX_VARIANTS:
            steps[numbers[0]].variants.append(VariantState())
    elif name == "remove_variant" and len(numbers) == 2 and 0 <= numbers[0] < len(steps):
        variants = steps[numbers[0]].variants
        if len(variants) > 1 and 0 <= numbers[1] < len(variants):
            del variants[numbers[1]]
    elif name == "remove_file" and len(numbers) == 1 and 0 <= numbers[0] < len(steps):
        steps[numbers[0]].file_id = None
    return state


def _whole(text: str, field_name: str, message: str) -> int:
    if not re.fullmatch(r"\d{1,7}", text or ""):
        raise DomainError(message, {field_name: message})
    return int(text)


def body(state: EditorState) -> dict[str, Any]:
    """What the service takes; a wait, weight or sample that is no whole number is a field error."""
    steps = []
    for n, step in enumerate(state.steps):
        unit = step.wait_unit if step.wait_unit in UNITS else "hours"
        if unit == "now":
            wait = 0
        else:
            wait = _whole(step.wait_amount, f"steps.{n}.wait_minutes", _("Write the wait as a whole number."))
            wait *= UNITS[unit]
        variants = []
        for m, variant in enumerate(step.variants):
            weight = _whole(variant.weight, f"steps.{n}.variants.{m}.weight",
                            _("A weight is a whole number from 0 to 100."))
            variants.append({"text": variant.text, "weight": weight})
        steps.append({"wait_minutes": wait, "variants": variants, "file_id": step.file_id})
    sample = _whole(state.min_sample, "min_sample",
                    _("The minimum sample is from 10 to 100,000 messages per variant."))
    return {
        "name": state.name, "account_ids": sorted(state.account_ids), "steps": steps,
        "window": {"days": sorted(state.days), "start": state.start, "end": state.end},
        "stop_scope": state.stop_scope, "stop_stage_ids": sorted(state.stop_stage_ids),
        "stop_on_won": state.stop_on_won, "stop_on_lost": state.stop_on_lost,
        "auto_winner": state.auto_winner, "min_sample": sample,
    }
