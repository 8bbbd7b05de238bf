"""records remember the import that created them

Revision ID: 026ecec9aaf4
Revises: ab28e2865e21
Create Date: 2026-11-25 22:49:51.743972

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '026ecec9aaf4'
down_revision = 'ab28e2865e21'
branch_labels = None
depends_on = None


TABLES = ("company", "contact", "deal")


def upgrade():
    # Plain ADD COLUMN (no batch mode, no foreign key): on SQLite a batch would copy each table, and
    # the copy would lose the FTS triggers the search index lives by.
    for table in TABLES:
        op.add_column(table, sa.Column("import_id", sa.Integer(), nullable=True))


def downgrade():
    for table in TABLES:
        op.drop_column(table, "import_id")
