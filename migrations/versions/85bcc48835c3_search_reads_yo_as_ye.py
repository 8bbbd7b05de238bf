"""search reads ё as е

Revision ID: 85bcc48835c3
Revises: a79508d794c1
Create Date: 2026-12-02 10:00:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '85bcc48835c3'
down_revision = 'a79508d794c1'
branch_labels = None
depends_on = None


SEARCHED = ("company", "contact", "deal")


def upgrade():
    # Records' search_text is now folded by canonical.search_fold: lower case (as before) with ё
    # read as е, and searches fold their terms the same way. Fold what is stored, so "Ежик" finds
    # the "Ёжик" saved before. search_text is already lower case, so only ё is left to replace. On
    # SQLite the FTS5 tables follow through their AFTER UPDATE OF search_text triggers; on
    # PostgreSQL the trigram indexes follow the column.
    for table in SEARCHED:
        op.execute(f"UPDATE {table} SET search_text = replace(search_text, 'ё', 'е') "  # noqa: S608
                   f"WHERE search_text LIKE '%ё%'")


def downgrade():
    pass  # the text stays folded: a search for е finds it, which is what people meant
