"""teams and identity: invitations, the mail record, verified addresses, time zones, required MFA

Revision ID: a9c4e1b7d2f6
Revises: f4a9d2c7b813
Create Date: 2026-12-07 13:49:08.616827

"""
from alembic import op
import sqlalchemy as sa

import app.db_types


# revision identifiers, used by Alembic.
revision = 'a9c4e1b7d2f6'
down_revision = 'f4a9d2c7b813'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('invitation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=True),
    sa.Column('invited_by_id', sa.Integer(), nullable=True),
    sa.Column('nonce_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', app.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', app.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_count', sa.Integer(), nullable=False),
    sa.Column('last_sent_at', app.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('accepted_at', app.db_types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('accepted_by_id', sa.Integer(), nullable=True),
    sa.Column('revoked_at', app.db_types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['accepted_by_id'], ['user.id'], name=op.f('fk_invitation_accepted_by_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['invited_by_id'], ['user.id'], name=op.f('fk_invitation_invited_by_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['org_id'], ['organization.id'], name=op.f('fk_invitation_org_id_organization'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invitation')),
    sa.UniqueConstraint('nonce_hash', name=op.f('uq_invitation_nonce_hash'))
    )
    with op.batch_alter_table('invitation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invitation_org_id'), ['org_id'], unique=False)
        batch_op.create_index('uq_invitation_pending', ['org_id', 'email'], unique=True, sqlite_where=sa.text('accepted_at IS NULL AND revoked_at IS NULL'), postgresql_where=sa.text('accepted_at IS NULL AND revoked_at IS NULL'))

    op.create_table('outbound_mail',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('to_address', sa.String(length=254), nullable=False),
    sa.Column('template', sa.String(length=64), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('dedupe_key', sa.String(length=160), nullable=False),
    sa.Column('subject', sa.String(length=255), nullable=False),
    sa.Column('text_body', sa.Text(), nullable=True),
    sa.Column('html_body', sa.Text(), nullable=True),
    sa.Column('message_id', sa.String(length=255), nullable=False),
    sa.Column('transport', sa.String(length=16), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('sending_since', app.db_types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.Column('created_at', app.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', app.db_types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['org_id'], ['organization.id'], name=op.f('fk_outbound_mail_org_id_organization'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_outbound_mail_user_id_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbound_mail')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_outbound_mail_dedupe_key'))
    )
    with op.batch_alter_table('outbound_mail', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbound_mail_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbound_mail_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbound_mail_to_address'), ['to_address'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbound_mail_user_id'), ['user_id'], unique=False)

    # Plain ADD COLUMNs (no table copy on SQLite). Existing organizations do not require MFA; existing
    # users are unverified: nobody ever checked their address, so they are asked to, like new ones.
    op.add_column('organization', sa.Column('require_mfa', sa.Boolean(), nullable=False,
                                            server_default=sa.false()))
    op.add_column('user', sa.Column('email_verified_at', app.db_types.UTCDateTime(timezone=True), nullable=True))
    op.add_column('user', sa.Column('timezone', sa.String(length=64), nullable=True))


def downgrade():
    op.drop_column('user', 'timezone')
    op.drop_column('user', 'email_verified_at')
    op.drop_column('organization', 'require_mfa')

    with op.batch_alter_table('outbound_mail', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbound_mail_user_id'))
        batch_op.drop_index(batch_op.f('ix_outbound_mail_to_address'))
        batch_op.drop_index(batch_op.f('ix_outbound_mail_status'))
        batch_op.drop_index(batch_op.f('ix_outbound_mail_org_id'))

    op.drop_table('outbound_mail')
    with op.batch_alter_table('invitation', schema=None) as batch_op:
        batch_op.drop_index('uq_invitation_pending', sqlite_where=sa.text('accepted_at IS NULL AND revoked_at IS NULL'), postgresql_where=sa.text('accepted_at IS NULL AND revoked_at IS NULL'))
        batch_op.drop_index(batch_op.f('ix_invitation_org_id'))

    op.drop_table('invitation')
