"""The scheduler's per-step record and when an outbox email was given up on (issue 16).

`scheduler_step` holds each tick step's last run and last clean run (for /healthz);
`outbox_email.failed_at` lets `flask outbox retry --failed-since` pick what to requeue
(docs/adr/0130).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02

"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('scheduler_step',
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('last_run_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_success_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_failures', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_scheduler_step'))
    )
    with op.batch_alter_table('outbox_email', schema=None) as batch_op:
        batch_op.add_column(sa.Column('failed_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('outbox_email', schema=None) as batch_op:
        batch_op.drop_column('failed_at')
    op.drop_table('scheduler_step')
