"""organizations have a default country for phone numbers

Revision ID: 5a88783613e8
Revises: 85bcc48835c3
Create Date: 2026-12-02 11:00:00.000000

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '5a88783613e8'
down_revision = '85bcc48835c3'
branch_labels = None
depends_on = None


def upgrade():
    # ISO 3166 alpha-2; NULL (every organization so far): numbers need their country code, as
    # before. A plain ADD COLUMN: no table copy on SQLite.
    op.add_column("organization", sa.Column("default_country", sa.String(length=2), nullable=True))


def downgrade():
    op.drop_column("organization", "default_country")
