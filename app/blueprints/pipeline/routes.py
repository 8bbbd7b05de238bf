"""The kanban board: columns, more cards on scroll, live column refreshes, moves, quick add.

Pipeline and stage settings live next door (settings_routes).
"""

from __future__ import annotations

from flask import g, request, session, url_for
from flask_babel import gettext as _
from flask_login import login_required

from app.blueprints.crm.public import org_tags
from app.blueprints.pipeline import board as boards
from app.blueprints.pipeline import bp
from app.blueprints.pipeline.service import get_stage, made_default_pipeline, pipelines
from app.blueprints.team.public import Permission, can
from app.errors import DomainError, Forbidden, NotFound
from app.extensions import db
from app.htmx import render


@bp.before_request
@login_required
def signed_in() -> None:
    """Every pipeline page needs a signed-in member."""


def _optional_id(name: str) -> int | None:
    value = (request.values.get(name) or "").strip()
    return int(value) if value.isdigit() else None


def org_pipelines(org_id: int) -> list:
    """The org's pipelines; one made just now for an older organization is committed at once."""
    found = pipelines(org_id)
    if made_default_pipeline():
        db.session.commit()
        found = pipelines(org_id)
    return found


def _pick_pipeline(pipelines: list, pipeline_id: int | None):
    wanted = pipeline_id or session.get("pipeline_id")
    chosen = next((p for p in pipelines if p.id == wanted), None)
    if chosen is None and pipeline_id is not None:
        raise NotFound(_("Pipeline not found."))
    return chosen or pipelines[0]


def _board_context(org_id: int, pipeline, flt: boards.BoardFilter, **extra) -> dict:
    """What the board's blocks need; ``b`` is what every card reads."""
    b = {"owners": boards.owner_names(org_id), "flt": flt, "user_id": g.membership.user_id,
         "edit_all": can(g.membership.role, Permission.RECORDS_EDIT_ALL),
         "deal_path": url_for("crm.detail", entities="deals", record_id=0).removesuffix("0")}
    return {"pipeline": pipeline, "flt": flt, "b": b,
            "can_manage": can(g.membership.role, Permission.PIPELINES_MANAGE), **extra}


@bp.get("/", endpoint="board")
@bp.get("/<int:pipeline_id>", endpoint="board")
def board(pipeline_id: int | None = None):
    """The board; an HTMX filter request gets only the columns (block ``board``)."""
    org_id = g.membership.org_id
    all_pipelines = org_pipelines(org_id)
    pipeline = _pick_pipeline(all_pipelines, pipeline_id)
    session["pipeline_id"] = pipeline.id
    flt = boards.BoardFilter.from_args(request.args)
    columns = boards.board(org_id, pipeline.stages, flt)
    context = _board_context(org_id, pipeline, flt, columns=columns, pipelines=all_pipelines)
    if request.headers.get("HX-Request") != "true" or request.headers.get("HX-Boosted") == "true":
        context["tags"] = org_tags(org_id)
    return render("pipeline/board.html", block="board", **context)


@bp.get("/<int:pipeline_id>/columns")
def columns(pipeline_id: int):
    """Fresh columns (out-of-band) after someone changed them: the live doorbell asks for these.

    ``loaded_<stage id>`` keeps as many cards as the viewer had scrolled in.
    """
    org_id = g.membership.org_id
    pipeline = _pick_pipeline(org_pipelines(org_id), pipeline_id)
    wanted = {int(s) for s in request.args.getlist("stage") if s.isdigit()} or None
    limits = {int(k.removeprefix("loaded_")): max(int(v), boards.PAGE) for k, v in request.args.items()
              if k.startswith("loaded_") and k.removeprefix("loaded_").isdigit() and v.isdigit()}
    flt = boards.BoardFilter.from_args(request.args)
    chosen = [s for s in pipeline.stages if wanted is None or s.id in wanted]
    cols = boards.board(org_id, chosen, flt, limits=limits)
    return render("pipeline/_refresh.html", **_board_context(org_id, pipeline, flt, columns=cols))


@bp.get("/stages/<int:stage_id>/cards")
def more(stage_id: int):
    """The next cards of a column (infinite scroll)."""
    org_id = g.membership.org_id
    stage = get_stage(org_id, stage_id)
    flt = boards.BoardFilter.from_args(request.args)
    after = request.args.get("after", "")
    try:
        after_position = float(after)
    except ValueError:
        after_position = float("-inf")
    cards = boards.more_cards(org_id, stage, flt, after_position, _optional_id("after_id") or 0)
    return render("pipeline/_more.html", stage=stage, cards=cards, has_more=len(cards) == boards.PAGE,
                  **_board_context(org_id, stage.pipeline, flt))


@bp.post("/deals/<int:deal_id>/move")
def move(deal_id: int):
    """Drop a card (drag and drop, or the card's move menu); answers with the two column heads.

    A refusal is a 409 toast naming the rule, and the board puts the card back where it was.
    """
    stage_id = _optional_id("stage_id")
    if stage_id is None:
        boards.card(g.membership.org_id, deal_id)  # another org's deal is a 404 first
        raise DomainError(_("Choose a stage."), {"stage_id": _("Required.")})
    done = boards.move_card(g.membership, deal_id, stage_id, _optional_id("above_id"),
                            _optional_id("below_id"))
    flt = boards.BoardFilter.from_args(request.form)
    org_id = g.membership.org_id
    stages = [done.target] if done.source in (None, done.target) else [done.source, done.target]
    # Rendered inside the transaction, so nothing needs re-reading after the commit expires it.
    if request.form.get("via") == "menu":  # the card moves on the server's word: redraw both columns
        response = render("pipeline/_refresh.html", toast=_("Moved to %(stage)s.", stage=done.target.name),
                          **_board_context(org_id, done.target.pipeline, flt,
                                           columns=boards.board(org_id, stages, flt)))
    else:  # the browser already moved the card: only the counts and sums change
        response = render("pipeline/_refresh.html", heads_only=True,
                          columns=boards.board_heads(org_id, stages, flt))
    db.session.commit()
    return response


@bp.post("/stages/<int:stage_id>/deals")
def quick_add(stage_id: int):
    """Quick-add a deal on top of a column; a refusal keeps what was typed and says why."""
    org_id = g.membership.org_id
    stage = get_stage(org_id, stage_id)
    flt = boards.BoardFilter.from_args(request.form)
    try:
        deal = boards.quick_add(g.membership, stage.id, request.form.get("title", ""),
                                request.form.get("value"))
    except DomainError as err:
        db.session.rollback()
        if isinstance(err, Forbidden | NotFound):
            raise
        stage = get_stage(org_id, stage_id)
        return render("pipeline/_quick_add.html", status=422, stage=stage, error=err.message,
                      title=request.form.get("title", ""), value=request.form.get("value", ""), flt=flt)
    db.session.commit()
    cols = boards.board(org_id, [stage], flt)
    return render("pipeline/_refresh.html", toast=_("Deal “%(title)s” added.", title=deal.title), added=True,
                  **_board_context(org_id, stage.pipeline, flt, columns=cols, stage=stage))


from app.blueprints.pipeline import settings_routes  # noqa: E402, F401
