"""Engagements per state and health, kept as a ledger the dashboard's badges read.

`engagement_count` holds rows of (state, live health, n): a key's count is the sum of
its rows. The app adds a -1 and a +1 row each time an engagement moves from one key to
another, and the scheduler folds them; this creates the table and counts the
engagements that exist, one row per key. Why: docs/adr/0259.

Revision ID: 0021_counts
Revises: 0020_pages
Create Date: 2026-12-07

"""

import sqlalchemy as sa
from alembic import op


revision = "0021_counts"
down_revision = "0020_pages"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "engagement_count",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=40), nullable=False),
        sa.Column("live_health", sa.String(length=10), nullable=True),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_engagement_count")),
    )
    op.execute(
        "INSERT INTO engagement_count (state, live_health, n) "
        "SELECT state, CASE WHEN closed_at IS NULL THEN effective_health END, COUNT(*) "
        "FROM engagement "
        "GROUP BY state, CASE WHEN closed_at IS NULL THEN effective_health END"
    )


def downgrade():
    op.drop_table("engagement_count")
