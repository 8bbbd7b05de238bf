"""organizations have a default currency for new deals

Revision ID: e7b2c4d91a05
Revises: c3e8a1f0d942
Create Date: 2026-12-07 06:45:00.000000

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'e7b2c4d91a05'
down_revision = 'c3e8a1f0d942'
branch_labels = None
depends_on = None


def upgrade():
    # NULL: new deals take the default country's currency (RUB for RU), else USD. A plain ADD
    # COLUMN: no table copy on SQLite.
    op.add_column("organization", sa.Column("default_currency", sa.String(length=3), nullable=True))


def downgrade():
    op.drop_column("organization", "default_currency")
