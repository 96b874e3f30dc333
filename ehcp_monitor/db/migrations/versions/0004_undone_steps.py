"""steps a check found no longer done

Each check run records the statutory steps the run before it had done and it finds overdue, their
done dates gone from the records; the planner holds an apology naming one for a person
(docs/touchpoints.md, When the records change). A store upgraded to this revision starts with none:
the next check compares with the results then in force.

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
        'undone_steps',
        sa.Column('row_id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('run_id', sa.Integer(), nullable=False),
        sa.Column('as_of', sa.Date(), nullable=False),
        sa.Column('measure', sa.String(length=20), nullable=False),
        sa.Column('request_id', sa.String(length=64), nullable=True),
        sa.Column('plan_id', sa.String(length=64), nullable=True),
        sa.Column('item', sa.String(length=30), nullable=True),
        sa.Column('anchor_date', sa.Date(), nullable=True),
        sa.Column('due_date', sa.Date(), nullable=False),
        sa.Column('done_date', sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint('row_id', name=op.f('pk_undone_steps')),
    )
    with op.batch_alter_table('undone_steps', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_undone_steps_as_of'), ['as_of'], unique=False)
        batch_op.create_index(batch_op.f('ix_undone_steps_run_id'), ['run_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('undone_steps', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_undone_steps_run_id'))
        batch_op.drop_index(batch_op.f('ix_undone_steps_as_of'))
    op.drop_table('undone_steps')
