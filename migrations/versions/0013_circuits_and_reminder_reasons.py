"""Delivery circuit breakers and why a reminder was skipped (issue 32).

`delivery_circuit` holds one row per open (or probing) breaker: "smtp" for the email
step, "webhook:<id>" per endpoint (ADR 0204). `reminder.reason` records why a reminder
was skipped, e.g. superseded by a more current one in a catch-up (ADR 0207).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06

"""
from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('delivery_circuit',
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('trips', sa.Integer(), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('open_until', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.String(length=300), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_delivery_circuit'))
    )
    with op.batch_alter_table('reminder', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reason', sa.String(length=200), nullable=True))


def downgrade():
    with op.batch_alter_table('reminder', schema=None) as batch_op:
        batch_op.drop_column('reason')
    op.drop_table('delivery_circuit')
