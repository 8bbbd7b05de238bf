"""every organization has a pipeline

Organizations now get their Sales pipeline when they are created; this gives one to those created
before, so no page has to create it while reading.

Revision ID: 5c1f2a9e7b10
Revises: 0b50e0f47741
Create Date: 2026-11-25 18:10:00

"""
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = '5c1f2a9e7b10'
down_revision = '0b50e0f47741'
branch_labels = None
depends_on = None

STAGES = (
    ("New lead", "open", 10, "slate"),
    ("Qualified", "open", 25, "blue"),
    ("Meeting booked", "open", 40, "indigo"),
    ("Proposal", "open", 60, "violet"),
    ("Negotiation", "open", 80, "amber"),
    ("Won", "won", 100, "green"),
    ("Lost", "lost", 0, "red"),
)


def upgrade():
    bind = op.get_bind()
    organization = sa.table("organization", sa.column("id", sa.Integer))
    pipeline = sa.table("pipeline", sa.column("id", sa.Integer), sa.column("org_id", sa.Integer),
                        sa.column("name", sa.String), sa.column("position", sa.Integer),
                        sa.column("created_at", sa.DateTime(timezone=True)))
    stage = sa.table("stage", sa.column("org_id", sa.Integer), sa.column("pipeline_id", sa.Integer),
                     sa.column("name", sa.String), sa.column("position", sa.Integer),
                     sa.column("kind", sa.String), sa.column("probability", sa.Integer),
                     sa.column("colour", sa.String), sa.column("required_fields", sa.JSON),
                     sa.column("allowed_from", sa.JSON), sa.column("allow_exit", sa.Boolean))
    without = bind.execute(sa.select(organization.c.id).where(
        ~sa.exists().where(pipeline.c.org_id == organization.c.id))).scalars().all()
    for org_id in without:
        pipeline_id = bind.execute(pipeline.insert().values(
            org_id=org_id, name="Sales", position=0, created_at=datetime.now(UTC)
        ).returning(pipeline.c.id)).scalar_one()
        bind.execute(stage.insert(), [
            {"org_id": org_id, "pipeline_id": pipeline_id, "name": name, "position": position,
             "kind": kind, "probability": probability, "colour": colour, "required_fields": [],
             "allowed_from": [], "allow_exit": True}
            for position, (name, kind, probability, colour) in enumerate(STAGES)])


def downgrade():
    pass  # the pipelines stay: they may hold deals by now
