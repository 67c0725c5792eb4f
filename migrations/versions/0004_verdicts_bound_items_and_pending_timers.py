"""Milestone verdicts and removal, checklist items bound to facts, one pending timer per key.

- milestone.verdict_by_id / verdict_at: who gave the met/missed verdict and when;
  milestone.removed_at: a milestone a manager removed, kept with its history.
- checklist_item.fact: the engagement fact a workflow definition binds the item to.
- workflow_timer: the UNIQUE (engagement_id, event, due_at) counted cancelled and
  fired rows too, so a new period ending on the instant of a cancelled timer was
  refused (extend by 3 months after an early review: 409). Now only pending rows
  are unique (docs/adr/0101).

Columns are added with plain ALTER TABLE (no batch rebuild): on SQLite a rebuild
drops the table, and with foreign keys on that cascades to milestone_update.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02

"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

PENDING = sa.text("status = 'pending'")


def _add_verdict_by():
    if op.get_bind().dialect.name == 'sqlite':
        # SQLite's ALTER TABLE takes a REFERENCES clause but no named constraint.
        op.execute('ALTER TABLE milestone ADD COLUMN verdict_by_id INTEGER REFERENCES "user" (id)')
        return
    op.add_column('milestone', sa.Column('verdict_by_id', sa.Integer(), nullable=True))
    op.create_foreign_key(op.f('fk_milestone_verdict_by_id_user'), 'milestone', 'user', ['verdict_by_id'], ['id'])


def upgrade():
    _add_verdict_by()
    op.add_column('milestone', sa.Column('verdict_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('milestone', sa.Column('removed_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('checklist_item', sa.Column('fact', sa.String(length=60), nullable=True))
    with op.batch_alter_table('workflow_timer', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('uq_workflow_timer_engagement_id_event_due_at'), type_='unique')
        batch_op.create_index('uq_workflow_timer_pending', ['engagement_id', 'event', 'due_at'], unique=True, sqlite_where=PENDING, postgresql_where=PENDING)


def downgrade():
    with op.batch_alter_table('workflow_timer', schema=None) as batch_op:
        batch_op.drop_index('uq_workflow_timer_pending', sqlite_where=PENDING, postgresql_where=PENDING)
        batch_op.create_unique_constraint(op.f('uq_workflow_timer_engagement_id_event_due_at'), ['engagement_id', 'event', 'due_at'])
    op.drop_column('checklist_item', 'fact')
    # SQLite 3.35+ drops a plain column in place (no rebuild, so nothing cascades).
    if op.get_bind().dialect.name != 'sqlite':
        op.drop_constraint(op.f('fk_milestone_verdict_by_id_user'), 'milestone', type_='foreignkey')
    for column in ('removed_at', 'verdict_at', 'verdict_by_id'):
        op.drop_column('milestone', column)
