"""contacts shared with teammates

A contact shared with a member of its organization: they edit it and its deals as its owner
could, and see its chats. One row per contact and member; who shared it, and when.

Revision ID: c7e3a9d1f4b2
Revises: b5d2f8a3c6e1
Create Date: 2026-12-08 10:12:41.503118

"""
from alembic import op
import sqlalchemy as sa

import app.db_types


# revision identifiers, used by Alembic.
revision = 'c7e3a9d1f4b2'
down_revision = 'b5d2f8a3c6e1'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('contact_share',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('shared_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', app.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contact.id'], name=op.f('fk_contact_share_contact_id_contact'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['org_id'], ['organization.id'], name=op.f('fk_contact_share_org_id_organization'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['shared_by_id'], ['user.id'], name=op.f('fk_contact_share_shared_by_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_contact_share_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contact_share')),
    sa.UniqueConstraint('contact_id', 'user_id', name=op.f('uq_contact_share_contact_id'))
    )
    op.create_index('ix_contact_share_org_user', 'contact_share', ['org_id', 'user_id', 'contact_id'], unique=False)


def downgrade():
    op.drop_index('ix_contact_share_org_user', table_name='contact_share')
    op.drop_table('contact_share')
