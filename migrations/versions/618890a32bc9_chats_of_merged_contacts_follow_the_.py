"""chats of merged contacts follow the survivor

Revision ID: 618890a32bc9
Revises: 026ecec9aaf4
Create Date: 2026-11-25 23:15:06.017743

"""
from alembic import op



# revision identifiers, used by Alembic.
revision = '618890a32bc9'
down_revision = '026ecec9aaf4'
branch_labels = None
depends_on = None


def upgrade():
    # Merges made before merges carried chats left them on the trashed duplicate, which the purge
    # would unlink: point them at the survivor its "merged" timeline entry names. Repeated, because
    # a survivor may itself have been merged later (a few rounds cover any real chain).
    bind = op.get_bind()
    merged_id = ("CAST(json_extract(a.data, '$.merged_id') AS INTEGER)" if bind.dialect.name == "sqlite"
                 else "CAST(a.data ->> 'merged_id' AS INTEGER)")
    survivor = (f"SELECT a.subject_id FROM activity a WHERE a.org_id = chat.org_id AND a.kind = 'merged' "  # noqa: S608
                f"AND a.subject_type = 'contact' AND {merged_id} = chat.contact_id")
    for _ in range(10):
        moved = bind.exec_driver_sql(
            f"UPDATE chat SET contact_id = ({survivor} ORDER BY a.id DESC LIMIT 1) WHERE EXISTS ({survivor}) "
            "AND EXISTS (SELECT 1 FROM contact c WHERE c.id = chat.contact_id AND c.deleted_at IS NOT NULL)")
        if not moved.rowcount:
            break


def downgrade():
    pass  # the chats stay with the contacts they now belong to
