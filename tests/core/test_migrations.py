from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from app.db_types import include_in_autogenerate
from app.extensions import db


def test_the_migrations_build_exactly_the_models_schema():
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": include_in_autogenerate,
                                                         "compare_type": True})
        assert compare_metadata(context, db.metadata) == []


def test_organizations_made_before_pipelines_existed_get_the_sales_pipeline(settings, tmp_path):
    """The data migration backfills a pipeline for every organization that has none."""
    import dataclasses

    from flask_migrate import upgrade
    from sqlalchemy import text

    from app import create_app

    app = create_app(dataclasses.replace(settings, database_url=f"sqlite:///{tmp_path / 'old.sqlite3'}"))
    with app.app_context():
        upgrade(revision="0b50e0f47741")
        with db.engine.begin() as conn:
            conn.execute(text("INSERT INTO organization (name, timezone, created_at) "
                              "VALUES ('Old Co', 'UTC', CURRENT_TIMESTAMP)"))
        upgrade()
        with db.engine.connect() as conn:
            stages = conn.execute(text("SELECT stage.name FROM stage JOIN pipeline ON pipeline.id = stage.pipeline_id "
                                       "WHERE pipeline.name = 'Sales' ORDER BY stage.position")).scalars().all()
        db.session.remove()
    assert stages == ["New lead", "Qualified", "Meeting booked", "Proposal", "Negotiation", "Won", "Lost"]


def test_chats_of_contacts_merged_before_merges_carried_chats_move_to_the_survivor(app):
    """The data migration follows each trashed duplicate's "merged" entry, through later merges."""
    from flask_migrate import downgrade, upgrade

    from app.blueprints.crm.records import service
    from app.blueprints.messaging.models import Chat
    from app.db_types import utcnow
    from tests.factories import make_account, make_chat, make_contact, make_member

    owner = make_member()
    keep, middle, first = (make_contact(owner, first_name=n) for n in ("Keep", "Middle", "First"))
    trashed = make_contact(owner, first_name="Trashed")
    service.record_activity(owner, "contact", middle, "merged", merged_id=first.id, merged_name="First")
    service.record_activity(owner, "contact", keep, "merged", merged_id=middle.id, merged_name="Middle")
    for contact in (middle, first, trashed):
        contact.deleted_at = utcnow()
    db.session.commit()
    account = make_account(owner.organization)
    chats = [make_chat(account, contact_id=c.id).id for c in (first, middle, trashed, keep)]
    db.session.commit()  # reading those ids began a transaction; on PostgreSQL it would block the downgrade
    downgrade(revision="026ecec9aaf4")
    upgrade()
    db.session.expire_all()
    assert [db.session.get(Chat, i).contact_id for i in chats] == [keep.id, keep.id, trashed.id, keep.id]


def test_records_saved_before_search_folded_yo_are_found_by_ye_after_the_upgrade(app):
    """The data migration folds the stored search text (and, on SQLite, its FTS index) in place."""
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import text

    from app.blueprints.crm.records import queries
    from tests.factories import make_company, make_contact, make_member

    owner = make_member()
    contact = make_contact(owner, first_name="Ёжик", last_name="Туманов")
    company = make_company(owner, name="Ёлка")
    contact_id, company_id = contact.id, company.id  # read now: the rows' later columns go away below
    db.session.commit()
    downgrade(revision="a79508d794c1")
    with db.engine.begin() as conn:  # as the old code stored them: lower case, ё kept
        conn.execute(text("UPDATE contact SET search_text = 'ёжик туманов' WHERE id = :id"), {"id": contact_id})
        conn.execute(text("UPDATE company SET search_text = 'ёлка' WHERE id = :id"), {"id": company_id})
    upgrade()
    db.session.expire_all()

    def found(entity, q):
        return [r.id for r in queries.list_records(owner.org_id, entity, queries.ListQuery(q=q)).items]

    assert found("contact", "Ежик") == [contact_id]
    assert found("contact", "ёжик туманов") == [contact_id]
    assert found("company", "елка") == [company_id]
