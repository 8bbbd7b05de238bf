"""campaign steps name their file

A step's optional file leaves the step's row for a table of its own, campaign_file, which the step
names (file_id, set to null when the file goes). Steps keep their ids by position, so a file held
in the row stayed at its place when the editor moved a step; named by id it follows its text, and
a duplicated campaign's steps share their files. A file a step held is carried over.

Revision ID: ff9cf01dc9c6
Revises: 6aa9951cf051
Create Date: 2026-12-08 00:10:00

"""
from contextlib import contextmanager
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import app.db_types

revision = 'ff9cf01dc9c6'
down_revision = '6aa9951cf051'
branch_labels = None
depends_on = None

FK = 'fk_campaign_step_file_id_campaign_file'

campaign = sa.table('campaign', sa.column('id', sa.Integer), sa.column('org_id', sa.Integer),
                    sa.column('created_by_id', sa.Integer))
step = sa.table('campaign_step', sa.column('id', sa.Integer), sa.column('campaign_id', sa.Integer),
                sa.column('file_id', sa.Integer), sa.column('attachment_name', sa.String),
                sa.column('attachment_type', sa.String), sa.column('attachment_data', sa.LargeBinary))
campaign_file = sa.table('campaign_file', sa.column('id', sa.Integer), sa.column('org_id', sa.Integer),
                         sa.column('file_name', sa.String), sa.column('mime_type', sa.String),
                         sa.column('size', sa.Integer), sa.column('data', sa.LargeBinary),
                         sa.column('created_by_id', sa.Integer),
                         sa.column('created_at', app.db_types.UTCDateTime(timezone=True)))


@contextmanager
def rebuilding_steps():
    """Room to change campaign_step. SQLite changes it by copying it and dropping the old table,
    and with foreign keys on that DROP first deletes its rows, and by cascade their variants and
    sends: so, as SQLite's own procedure for altering a table says, foreign keys go off (outside a
    transaction, where the pragma takes effect), the copy is checked, committed, and they come back
    on. PostgreSQL alters the table in place, in the migration's transaction."""
    bind = op.get_bind()
    if bind.dialect.name != 'sqlite':
        yield
        return
    raw = bind.connection.dbapi_connection
    if raw.in_transaction:
        raw.commit()  # what came before (Alembic commits each migration on SQLite anyway)
    raw.execute('PRAGMA foreign_keys=OFF')
    try:
        yield
        broken = raw.execute('PRAGMA foreign_key_check').fetchall()
        if broken:
            raise RuntimeError(f'campaign_step rebuilt with broken references: {broken[:5]}')
        raw.commit()
    except BaseException:
        raw.rollback()
        raise
    finally:
        raw.execute('PRAGMA foreign_keys=ON')


def upgrade():
    op.create_table('campaign_file',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('file_name', sa.String(length=255), nullable=False),
    sa.Column('mime_type', sa.String(length=100), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', app.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_campaign_file_created_by_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['org_id'], ['organization.id'], name=op.f('fk_campaign_file_org_id_organization'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_file'))
    )
    with op.batch_alter_table('campaign_file', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaign_file_org_id'), ['org_id'], unique=False)

    with op.batch_alter_table('campaign_step', schema=None) as batch_op:
        batch_op.add_column(sa.Column('file_id', sa.Integer(), nullable=True))

    bind = op.get_bind()
    now = datetime.now(UTC)
    held = bind.execute(
        sa.select(step.c.id, step.c.attachment_name, step.c.attachment_type, step.c.attachment_data,
                  campaign.c.org_id, campaign.c.created_by_id)
        .join(campaign, campaign.c.id == step.c.campaign_id)
        .where(step.c.attachment_data.is_not(None))
        .order_by(step.c.id)).all()
    for step_id, name, mime_type, data, org_id, created_by_id in held:
        file_id = bind.execute(campaign_file.insert().values(
            org_id=org_id, file_name=(name or 'file')[:255],
            mime_type=(mime_type or 'application/octet-stream')[:100], size=len(data), data=data,
            created_by_id=created_by_id, created_at=now).returning(campaign_file.c.id)).scalar_one()
        bind.execute(step.update().where(step.c.id == step_id).values(file_id=file_id))

    with rebuilding_steps(), op.batch_alter_table('campaign_step', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaign_step_file_id'), ['file_id'], unique=False)
        batch_op.create_foreign_key(FK, 'campaign_file', ['file_id'], ['id'], ondelete='SET NULL')
        batch_op.drop_column('attachment_data')
        batch_op.drop_column('attachment_type')
        batch_op.drop_column('attachment_name')


def downgrade():
    with op.batch_alter_table('campaign_step', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attachment_name', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('attachment_type', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('attachment_data', sa.LargeBinary(), nullable=True))

    bind = op.get_bind()
    named = bind.execute(
        sa.select(step.c.id, campaign_file.c.file_name, campaign_file.c.mime_type, campaign_file.c.data)
        .join(campaign_file, campaign_file.c.id == step.c.file_id)
        .order_by(step.c.id)).all()
    for step_id, name, mime_type, data in named:
        bind.execute(step.update().where(step.c.id == step_id).values(
            attachment_name=name, attachment_type=mime_type, attachment_data=data))

    with rebuilding_steps(), op.batch_alter_table('campaign_step', schema=None) as batch_op:
        batch_op.drop_constraint(FK, type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_campaign_step_file_id'))
        batch_op.drop_column('file_id')

    with op.batch_alter_table('campaign_file', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_campaign_file_org_id'))

    op.drop_table('campaign_file')
