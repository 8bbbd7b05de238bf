"""telegram accounts have a name the team gives them

Revision ID: c3e8a1f0d942
Revises: 5a88783613e8
Create Date: 2026-12-07 06:00:00.000000

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'c3e8a1f0d942'
down_revision = '5a88783613e8'
branch_labels = None
depends_on = None


def upgrade():
    # The team's own name for the account, apart from display_name (which Telegram's profile
    # overwrites at every sign-in and connect). NULL: none given. A plain ADD COLUMN: no table copy
    # on SQLite.
    op.add_column("bd_account", sa.Column("label", sa.String(length=100), nullable=True))


def downgrade():
    op.drop_column("bd_account", "label")
