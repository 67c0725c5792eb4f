"""Cache effective health and readiness on the engagement row; indexes for the lists.

The dashboard counted, filtered and sorted every live engagement by a CASE over
the health override and recomputed readiness from five tables per row; both are
now columns (docs/adr/0071). Existing rows get their effective health here and
their readiness from the scheduler's first health step (the dashboard computes
it meanwhile for rows still empty).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01

"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('engagement', schema=None) as batch_op:
        batch_op.add_column(sa.Column('effective_health', sa.String(length=10), nullable=False, server_default='green'))
        batch_op.add_column(sa.Column('readiness_score', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('readiness_gaps', sa.Integer(), nullable=True))
    # An override still live now wins, as Engagement.health_at() decides; one that
    # lapses later is caught by the scheduler's health step.
    op.execute(
        "UPDATE engagement SET effective_health = CASE"
        " WHEN health_override IS NOT NULL"
        " AND (health_override_until IS NULL OR health_override_until > CURRENT_TIMESTAMP)"
        " THEN health_override ELSE health END"
    )
    # The server default stays (the model declares it too): dropping it would make
    # SQLite rebuild the table, and with foreign keys on, DROP TABLE cascades.
    with op.batch_alter_table('engagement', schema=None) as batch_op:
        batch_op.drop_index('ix_engagement_state_health')
        batch_op.create_index('ix_engagement_state_health', ['state', 'effective_health', 'id'], unique=False)
        batch_op.create_index('ix_engagement_live_health', ['closed_at', 'effective_health', 'id'], unique=False)
        batch_op.create_index('ix_engagement_state_updated', ['state', 'updated_at', 'id'], unique=False)
        batch_op.create_index('ix_engagement_health_updated', ['effective_health', 'updated_at', 'id'], unique=False)
        batch_op.create_index('ix_engagement_live_computed', ['closed_at', 'health_computed_at'], unique=False)
        batch_op.create_index('ix_engagement_override_until', ['health_override_until'], unique=False)
        batch_op.create_index('ix_engagement_readiness_score', ['readiness_score'], unique=False)


def downgrade():
    with op.batch_alter_table('engagement', schema=None) as batch_op:
        batch_op.drop_index('ix_engagement_readiness_score')
        batch_op.drop_index('ix_engagement_override_until')
        batch_op.drop_index('ix_engagement_live_computed')
        batch_op.drop_index('ix_engagement_health_updated')
        batch_op.drop_index('ix_engagement_state_updated')
        batch_op.drop_index('ix_engagement_live_health')
        batch_op.drop_index('ix_engagement_state_health')
        batch_op.create_index('ix_engagement_state_health', ['state', 'health'], unique=False)
        batch_op.drop_column('readiness_gaps')
        batch_op.drop_column('readiness_score')
        batch_op.drop_column('effective_health')
