"""The health history's rows get their end (`valid_until`); indexes for the portfolio's counts.

A row holds from `changed_at` until the engagement's next row or its closing, whichever is
first (never before `changed_at`); NULL while it is in force. Backfilled here from the rows
themselves and the engagements' closing; from now on written by the one writer of
`health_change` (services/judgments/health_history.py). The indexes let the portfolio
read health, spend and trials as range counts and sums without touching the rows.
Why: docs/adr/0234.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06

"""
from alembic import op
import sqlalchemy as sa


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


NEXT_ROW = sa.text(
    """
    UPDATE health_change SET valid_until = (
        SELECT min(later.changed_at) FROM health_change AS later
        WHERE later.engagement_id = health_change.engagement_id
          AND (later.changed_at > health_change.changed_at
               OR (later.changed_at = health_change.changed_at AND later.id > health_change.id))
    )
    """
)
CLOSING = sa.text(
    """
    UPDATE health_change SET valid_until = (
        SELECT CASE WHEN e.closed_at < health_change.changed_at
                    THEN health_change.changed_at ELSE e.closed_at END
        FROM engagement AS e WHERE e.id = health_change.engagement_id
    )
    WHERE EXISTS (
        SELECT 1 FROM engagement AS e
        WHERE e.id = health_change.engagement_id AND e.closed_at IS NOT NULL
          AND (health_change.valid_until IS NULL OR health_change.valid_until > e.closed_at)
    )
    """
)


def upgrade():
    with op.batch_alter_table('health_change') as batch_op:
        batch_op.add_column(sa.Column('valid_until', sa.DateTime(timezone=True), nullable=True))
    op.execute(NEXT_ROW)
    op.execute(CLOSING)
    op.create_index(
        'ix_health_change_began',
        'health_change',
        ['effective_health', 'changed_at', 'engagement_id'],
        unique=False,
    )
    op.create_index(
        'ix_health_change_ended',
        'health_change',
        ['effective_health', 'valid_until', 'engagement_id'],
        unique=False,
    )
    for name, columns in ENGAGEMENT_INDEXES.items():
        op.create_index(name, 'engagement', columns, unique=False)


ENGAGEMENT_INDEXES = {
    'ix_engagement_trial_span': ['trial_start', 'closed_at', 'currency', 'monthly_cost'],
    'ix_engagement_closing_span': ['closed_at', 'trial_start', 'currency', 'monthly_cost'],
    'ix_engagement_trial_outcome': [
        'trial_end', 'trial_start', 'current_period', 'outcome', 'state',
        'workflow_name', 'workflow_version', 'workflow_hash',
    ],
}


def downgrade():
    for name in ENGAGEMENT_INDEXES:
        op.drop_index(name, table_name='engagement')
    op.drop_index('ix_health_change_ended', table_name='health_change')
    op.drop_index('ix_health_change_began', table_name='health_change')
    with op.batch_alter_table('health_change') as batch_op:
        batch_op.drop_column('valid_until')
