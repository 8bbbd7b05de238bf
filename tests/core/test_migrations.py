from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from app.db_types import include_in_autogenerate
from app.extensions import db


def test_the_migrations_build_exactly_the_models_schema():
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": include_in_autogenerate,
                                                         "compare_type": True})
        assert compare_metadata(context, db.metadata) == []
