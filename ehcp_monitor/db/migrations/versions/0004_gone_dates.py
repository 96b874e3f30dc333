"""done dates gone from the records

Each ingest records, per case and column, the done dates the snapshot in force had and the new one
has fewer of (a partial extract, a date cleared); the planner holds that case's apologies, updates
and review reminders for a person (docs/touchpoints.md, When the records change). A store upgraded
to this revision starts with none: the next ingest compares with the snapshot then in force.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'gone_dates',
        sa.Column('row_id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('ingest_id', sa.Integer(), nullable=False),
        sa.Column('as_of', sa.Date(), nullable=False),
        sa.Column('table_name', sa.String(length=20), nullable=False),
        sa.Column('column_name', sa.String(length=40), nullable=False),
        sa.Column('request_id', sa.String(length=64), nullable=True),
        sa.Column('plan_id', sa.String(length=64), nullable=True),
        sa.Column('before', sa.Integer(), nullable=False),
        sa.Column('after', sa.Integer(), nullable=False),
        sa.Column('latest_gone', sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint('row_id', name=op.f('pk_gone_dates')),
    )
    with op.batch_alter_table('gone_dates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_gone_dates_as_of'), ['as_of'], unique=False)
        batch_op.create_index(batch_op.f('ix_gone_dates_ingest_id'), ['ingest_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('gone_dates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_gone_dates_ingest_id'))
        batch_op.drop_index(batch_op.f('ix_gone_dates_as_of'))
    op.drop_table('gone_dates')
