"""Record when a health override was set, so the page can say who, when, why and until when.

Existing overrides keep NULL: their time is in the audit trail ("health_override").

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02

"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('engagement', schema=None) as batch_op:
        batch_op.add_column(sa.Column('health_override_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('engagement', schema=None) as batch_op:
        batch_op.drop_column('health_override_at')
