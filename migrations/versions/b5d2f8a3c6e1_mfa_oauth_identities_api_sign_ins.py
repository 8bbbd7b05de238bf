"""mfa, sign-in identities at other providers, the device of each API sign-in

A user's authenticator (its secret encrypted), their single-use recovery codes (hashed), their
linked Google, GitHub and Telegram identities, and the IP and User-Agent an API sign-in (a
refresh-token family) started from.

Revision ID: b5d2f8a3c6e1
Revises: a9c4e1b7d2f6
Create Date: 2026-12-07 13:53:57.314070

"""
from alembic import op
import sqlalchemy as sa

import app.db_types


# revision identifiers, used by Alembic.
revision = 'b5d2f8a3c6e1'
down_revision = 'a9c4e1b7d2f6'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('totp_factor',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('secret_encrypted', sa.String(length=255), nullable=False),
    sa.Column('created_at', app.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('confirmed_at', app.db_types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_step', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_totp_factor_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_totp_factor')),
    sa.UniqueConstraint('user_id', name=op.f('uq_totp_factor_user_id'))
    )
    op.create_table('recovery_code',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', app.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', app.db_types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_recovery_code_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recovery_code')),
    sa.UniqueConstraint('user_id', 'code_hash', name=op.f('uq_recovery_code_user_id'))
    )
    op.create_table('oauth_identity',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('provider', sa.String(length=16), nullable=False),
    sa.Column('subject', sa.String(length=255), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('display_name', sa.String(length=255), nullable=True),
    sa.Column('created_at', app.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', app.db_types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_oauth_identity_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_oauth_identity')),
    sa.UniqueConstraint('provider', 'subject', name=op.f('uq_oauth_identity_provider')),
    sa.UniqueConstraint('user_id', 'provider', name=op.f('uq_oauth_identity_user_id'))
    )
    # Plain ADD COLUMNs (no table copy on SQLite); sign-ins from before have no device recorded.
    op.add_column('refresh_token', sa.Column('ip', sa.String(length=64), nullable=True))
    op.add_column('refresh_token', sa.Column('user_agent', sa.String(length=255), nullable=True))


def downgrade():
    op.drop_column('refresh_token', 'user_agent')
    op.drop_column('refresh_token', 'ip')
    op.drop_table('oauth_identity')
    op.drop_table('recovery_code')
    op.drop_table('totp_factor')
