"""Engagements on hold: where the hold began, when, why, and until when it was expected.

- engagement.paused_from_state: the state a history transition (resume) returns to;
- engagement.paused_at: when the hold began (resume shifts dates by the time since);
- engagement.pause_reason: the reason given when putting it on hold;
- engagement.expected_resume: the optional expected resume date (a date key: the
  hold_past_expected_resume reminder counts from it);
- engagement.resumed_at: when the last hold ended (staleness counts from it).

All nullable, added with plain ALTER TABLE (no batch rebuild: see 0004).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02

"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

COLUMNS = (
    ('paused_from_state', sa.String(length=40)),
    ('paused_at', sa.DateTime(timezone=True)),
    ('pause_reason', sa.Text()),
    ('expected_resume', sa.Date()),
    ('resumed_at', sa.DateTime(timezone=True)),
)


def upgrade():
    for name, kind in COLUMNS:
        op.add_column('engagement', sa.Column(name, kind, nullable=True))


def downgrade():
    for name, _kind in reversed(COLUMNS):
        op.drop_column('engagement', name)
