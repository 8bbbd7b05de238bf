"""users have a language of their own

Revision ID: f4a9d2c7b813
Revises: e7b2c4d91a05
Create Date: 2026-12-09 10:00:00.000000

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'f4a9d2c7b813'
down_revision = 'e7b2c4d91a05'
branch_labels = None
depends_on = None


def upgrade():
    # "ru" or "en"; NULL: the person never chose, so the switcher's cookie, else the browser's
    # Accept-Language, decides (as before). A plain ADD COLUMN: no table copy on SQLite.
    op.add_column("user", sa.Column("language", sa.String(length=8), nullable=True))


def downgrade():
    op.drop_column("user", "language")
