"""message files share stored bytes

The bytes of a file we send move to a table of their own, stored_blob, one row per organization
and content (unique org_id, sha256), which message_file names (blob_id): a campaign step's file
sent to a thousand people is stored once. message_file.data becomes nullable and stays for media
fetched from Telegram and for the files written before this (read as they are, not moved). The
downgrade copies each blob's bytes back into the files naming it.

Revision ID: ec93210d9270
Revises: ff9cf01dc9c6
Create Date: 2026-12-08 00:39:27.531898

"""
import sqlalchemy as sa
from alembic import op

import app.db_types

revision = 'ec93210d9270'
down_revision = 'ff9cf01dc9c6'
branch_labels = None
depends_on = None

FK = 'fk_message_file_blob_id_stored_blob'

message_file = sa.table('message_file', sa.column('message_id', sa.Integer), sa.column('blob_id', sa.Integer),
                        sa.column('data', sa.LargeBinary))
stored_blob = sa.table('stored_blob', sa.column('id', sa.Integer), sa.column('data', sa.LargeBinary))


def upgrade():
    op.create_table('stored_blob',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', app.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organization.id'], name=op.f('fk_stored_blob_org_id_organization'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stored_blob')),
    sa.UniqueConstraint('org_id', 'sha256', name=op.f('uq_stored_blob_org_id'))
    )
    with op.batch_alter_table('message_file', schema=None) as batch_op:
        batch_op.add_column(sa.Column('blob_id', sa.Integer(), nullable=True))
        batch_op.alter_column('data', existing_type=sa.LargeBinary(), nullable=True)
        batch_op.create_index(batch_op.f('ix_message_file_blob_id'), ['blob_id'], unique=False)
        batch_op.create_foreign_key(FK, 'stored_blob', ['blob_id'], ['id'])


def downgrade():
    bind = op.get_bind()
    bind.execute(message_file.update().where(message_file.c.blob_id.is_not(None)).values(
        data=sa.select(stored_blob.c.data).where(stored_blob.c.id == message_file.c.blob_id).scalar_subquery()))
    with op.batch_alter_table('message_file', schema=None) as batch_op:
        batch_op.drop_constraint(FK, type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_message_file_blob_id'))
        batch_op.alter_column('data', existing_type=sa.LargeBinary(), nullable=False)
        batch_op.drop_column('blob_id')

    op.drop_table('stored_blob')
