"""the outbox key holds the variant

A review decision whose outcome is corrected on the same date (amend keyed, cease meant) is another
event: with the variant in the outbox's unique key it gets a row of its own, held as a correction
when the family was already told the first (docs/touchpoints.md, When the records change). The
variant is "" for a stage without one, never NULL, so the key compares it.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("UPDATE touchpoints SET variant = '' WHERE variant IS NULL")
    with op.batch_alter_table('touchpoints', schema=None) as batch_op:
        batch_op.alter_column('variant', existing_type=sa.String(length=30), nullable=False, server_default='')
        batch_op.drop_constraint('uq_touchpoint_once', type_='unique')
        batch_op.create_unique_constraint(
            'uq_touchpoint_once', ['stage', 'case_ref', 'event_date', 'contact_id', 'variant'])


def downgrade() -> None:
    # Two variants of one event and contact cannot both stay under the old key, and the outbox is
    # the record of what families were told: refuse rather than delete one.
    doubled = op.get_bind().execute(sa.text(
        "SELECT COUNT(*) FROM (SELECT 1 FROM touchpoints GROUP BY stage, case_ref, event_date, contact_id "
        "HAVING COUNT(*) > 1) AS d")).scalar()
    if doubled:
        raise RuntimeError(f"cannot downgrade: {doubled} outbox events have rows of two variants")
    with op.batch_alter_table('touchpoints', schema=None) as batch_op:
        batch_op.drop_constraint('uq_touchpoint_once', type_='unique')
        batch_op.create_unique_constraint('uq_touchpoint_once', ['stage', 'case_ref', 'event_date', 'contact_id'])
        batch_op.alter_column('variant', existing_type=sa.String(length=30), nullable=True, server_default=None)
    op.execute("UPDATE touchpoints SET variant = NULL WHERE variant = ''")
