"""Pipelines and stages (the board, rules and history come with the pipeline issue)."""

from __future__ import annotations

from sqlalchemy import select

from app.blueprints.pipeline.models import Pipeline, Stage, StageKind
from app.extensions import db

DEFAULT_STAGES = (
    ("New lead", StageKind.OPEN, 10, "slate"),
    ("Qualified", StageKind.OPEN, 25, "blue"),
    ("Meeting booked", StageKind.OPEN, 40, "indigo"),
    ("Proposal", StageKind.OPEN, 60, "violet"),
    ("Negotiation", StageKind.OPEN, 80, "amber"),
    ("Won", StageKind.WON, 100, "green"),
    ("Lost", StageKind.LOST, 0, "red"),
)


def create_default_pipeline(org_id: int) -> Pipeline:
    pipeline = Pipeline(org_id=org_id, name="Sales", position=0)
    for position, (name, kind, probability, colour) in enumerate(DEFAULT_STAGES):
        pipeline.stages.append(Stage(org_id=org_id, name=name, position=position, kind=kind.value,
                                     probability=probability, colour=colour))
    db.session.add(pipeline)
    db.session.flush()
    return pipeline


def default_pipeline(org_id: int) -> Pipeline:
    """The organization's first pipeline, created with standard stages if it has none."""
    pipeline = db.session.scalar(
        select(Pipeline).where(Pipeline.org_id == org_id).order_by(Pipeline.position, Pipeline.id)
    )
    return pipeline or create_default_pipeline(org_id)


def stages(org_id: int) -> list[Stage]:
    return list(db.session.scalars(
        select(Stage).join(Pipeline).where(Stage.org_id == org_id)
        .order_by(Pipeline.position, Pipeline.id, Stage.position)
    ))
