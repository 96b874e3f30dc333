"""plan runs record their ingest

Each touchpoint planning run records the ingest it planned from, so that dispatch sends nothing
planned from case records since replaced (docs/touchpoints.md, Checked again when sent). Runs
planned before this revision have none: dispatch waits for the next planning run.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('touchpoint_plan_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ingest_id', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('touchpoint_plan_runs', schema=None) as batch_op:
        batch_op.drop_column('ingest_id')
