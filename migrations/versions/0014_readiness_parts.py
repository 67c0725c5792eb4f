"""Cache the readiness breakdown on the engagement row beside its score.

The dashboard drew each row's readiness bar from a breakdown recomputed from five
tables per page (docs/adr/0201); it now reads `readiness_parts`, written by the same
UPDATE as `readiness_score`. Existing scores are cleared so that the scheduler's health
step, which re-scores every engagement without a score, writes both; until then the
lists compute what is missing, as they did after migration 0002.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06

"""
from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('engagement', schema=None) as batch_op:
        batch_op.add_column(sa.Column('readiness_parts', sa.JSON(), nullable=True))
    op.execute("UPDATE engagement SET readiness_score = NULL, readiness_gaps = NULL")


def downgrade():
    with op.batch_alter_table('engagement', schema=None) as batch_op:
        batch_op.drop_column('readiness_parts')
