"""Pipeline settings: pipelines, their stages, stage rules, deletes that say where deals go."""

from __future__ import annotations

from flask import flash, g, redirect, request, url_for
from flask_babel import gettext as _

from app.blueprints.pipeline import board as boards
from app.blueprints.pipeline import bp, service
from app.blueprints.pipeline.models import StageKind
from app.blueprints.pipeline.routes import org_pipelines
from app.blueprints.team.public import Permission, can
from app.errors import DomainError, Forbidden, NotFound
from app.extensions import db
from app.htmx import render


def _settings_page(status: int = 200, **extra):
    org_id = g.membership.org_id
    pipelines = org_pipelines(org_id)
    counts = boards.stage_counts(org_id)
    # Where a deleted stage's or pipeline's deals may go: the stages of the other pipelines.
    elsewhere = {p.id: [(o, s) for o in pipelines if o.id != p.id for s in o.stages] for p in pipelines}
    return render("pipeline/settings.html", status=status, pipelines=pipelines, counts=counts,
                  held={p.id: sum(counts[s.id] for s in p.stages) for p in pipelines},
                  elsewhere=elsewhere, colours=service.COLOURS, labels=service.requirable_fields(org_id),
                  kinds=list(StageKind),
                  can_manage=can(g.membership.role, Permission.PIPELINES_MANAGE), **extra)


def _attempt(action, success: str, anchor=""):
    """Run a settings change: commit and go back to the settings (at ``anchor``, or at what
    ``anchor(result)`` names), or re-render them with why not."""
    try:
        result = action()
    except DomainError as err:
        db.session.rollback()
        if isinstance(err, Forbidden | NotFound):
            raise
        return _settings_page(status=422, error=err.message, errors=err.fields,
                              failed=request.path, data=request.form)
    place = anchor(result) if callable(anchor) else anchor
    db.session.commit()
    flash(str(success), "success")  # plain text: a lazy one would be stored as markup
    return redirect(url_for("pipeline.settings") + place)


@bp.get("/settings")
def settings():
    return _settings_page()


@bp.post("/settings/pipelines")
def create_pipeline():
    return _attempt(lambda: service.create_pipeline(g.membership, request.form.get("name")),
                    _("Pipeline created."), lambda pipeline: f"#pipeline-{pipeline.id}")


@bp.post("/<int:pipeline_id>/rename")
def rename_pipeline(pipeline_id: int):
    return _attempt(lambda: service.update_pipeline(g.membership, pipeline_id,
                                                    {"name": request.form.get("name")}),
                    _("Pipeline renamed."), f"#pipeline-{pipeline_id}")


@bp.post("/<int:pipeline_id>/delete")
def delete_pipeline(pipeline_id: int):
    return _attempt(lambda: service.delete_pipeline(g.membership, pipeline_id, request.form.get("move_to")),
                    _("Pipeline deleted."))


@bp.post("/<int:pipeline_id>/stages")
def add_stage(pipeline_id: int):
    return _attempt(lambda: service.create_stage(g.membership, pipeline_id, {
        "name": request.form.get("name"), "kind": request.form.get("kind") or StageKind.OPEN.value}),
        _("Stage added."), f"#pipeline-{pipeline_id}")


@bp.post("/stages/<int:stage_id>/shift")
def shift_stage(stage_id: int):
    stage = service.get_stage(g.membership.org_id, stage_id)
    offset = -1 if request.form.get("direction") == "left" else 1
    return _attempt(lambda: service.move_stage(g.membership, stage_id, offset),
                    _("Stage moved."), f"#pipeline-{stage.pipeline_id}")


@bp.post("/stages/<int:stage_id>/delete")
def delete_stage(stage_id: int):
    stage = service.get_stage(g.membership.org_id, stage_id)
    return _attempt(lambda: service.delete_stage(g.membership, stage_id, request.form.get("move_to")),
                    _("Stage “%(stage)s” deleted.", stage=stage.name), f"#pipeline-{stage.pipeline_id}")


@bp.route("/stages/<int:stage_id>/edit", methods=["GET", "POST"])
def edit_stage(stage_id: int):
    """The stage's name, colour, kind, probability, WIP limit and entry / exit rules."""
    org_id = g.membership.org_id
    stage = service.get_stage(org_id, stage_id)
    errors, message = {}, None
    if request.method == "POST":
        form = request.form
        data = {key: form.get(key, "") for key in ("name", "colour", "kind", "probability", "wip_limit")}
        data |= {"required_fields": form.getlist("required_fields"),
                 "allowed_from": form.getlist("allowed_from"), "allow_exit": form.get("allow_exit") == "1"}
        try:
            service.update_stage(g.membership, stage.id, data)
        except DomainError as err:
            db.session.rollback()
            if isinstance(err, Forbidden | NotFound):
                raise
            errors, message = err.fields, err.message
            stage = service.get_stage(org_id, stage_id)
        else:
            db.session.commit()
            flash(_("Stage saved."), "success")
            return redirect(url_for("pipeline.settings") + f"#pipeline-{stage.pipeline_id}")
    history, total = boards.stage_history(org_id, stage.id, per_page=20)
    return render("pipeline/stage_form.html", status=422 if errors else 200, stage=stage,
                  data=request.form if errors else None, errors=errors, message=message,
                  colours=service.COLOURS, colour_labels=service.COLOUR_LABELS, kinds=list(StageKind),
                  history=history, history_total=total,
                  requirable=service.requirable_fields(org_id),
                  siblings=[s for s in stage.pipeline.stages if s.id != stage.id],
                  can_manage=can(g.membership.role, Permission.PIPELINES_MANAGE))
