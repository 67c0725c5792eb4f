"""The health history: a row each time an engagement's effective health changes.

The engagement page draws the last 90 days as a strip (issue 19). Existing engagements
get one row each, their current cached value as of this upgrade: what came before was
never recorded, so the strip shows those days as unknown rather than guessing.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02

"""
from datetime import UTC, datetime

from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'health_change',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('engagement_id', sa.Integer(), nullable=False),
        sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('effective_health', sa.String(length=10), nullable=False),
        sa.Column('health', sa.String(length=10), nullable=False),
        sa.ForeignKeyConstraint(['engagement_id'], ['engagement.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index(
        'ix_health_change_engagement_changed',
        'health_change',
        ['engagement_id', 'changed_at'],
        unique=False,
    )
    # One row per existing engagement, from its cached value, as of now.
    health_change = sa.table(
        'health_change',
        sa.column('engagement_id', sa.Integer()),
        sa.column('changed_at', sa.DateTime(timezone=True)),
        sa.column('effective_health', sa.String()),
        sa.column('health', sa.String()),
    )
    engagement = sa.table(
        'engagement',
        sa.column('id', sa.Integer()),
        sa.column('effective_health', sa.String()),
        sa.column('health', sa.String()),
    )
    now = datetime.now(UTC)
    if op.get_bind().dialect.name == 'sqlite':
        now = now.replace(tzinfo=None)  # stored naive UTC there, as UTCDateTime does
    now = sa.literal(now, sa.DateTime(timezone=True))
    op.execute(
        health_change.insert().from_select(
            ['engagement_id', 'changed_at', 'effective_health', 'health'],
            sa.select(
                engagement.c.id,
                now,
                sa.func.coalesce(engagement.c.effective_health, 'green'),
                sa.func.coalesce(engagement.c.health, 'green'),
            ),
        )
    )


def downgrade():
    op.drop_index('ix_health_change_engagement_changed', table_name='health_change')
    op.drop_table('health_change')
