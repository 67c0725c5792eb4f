"""Checklist items get an evidence link and a version for optimistic concurrency.

The engagement page edits items (title, owner, due date, note, evidence) where two
managers can collide; `version` makes a stale save a refusal instead of an overwrite,
as for milestones (issue 15 section 3).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02

"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('checklist_item', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('evidence', sa.String(length=500), server_default='', nullable=False)
        )
        batch_op.add_column(
            sa.Column('version', sa.Integer(), server_default='1', nullable=False)
        )


def downgrade():
    with op.batch_alter_table('checklist_item', schema=None) as batch_op:
        batch_op.drop_column('version')
        batch_op.drop_column('evidence')
