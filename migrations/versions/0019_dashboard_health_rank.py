"""Engagements get `health_rank`, their effective health as a sort rank, and two indexes.

Lists sort "by health" worst first. Sorting by a CASE over the effective health sorted
every live engagement for each page; the stored rank lets the first page be an index
range scan up to the LIMIT on SQLite and PostgreSQL. Filled here from the stored
effective health; from now on written with it (models.engagement, services.judgments.
health.store_health). Why: docs/adr/0239.

Revision ID: 0019_dashboard
Revises: 0018
Create Date: 2026-12-06

"""

from alembic import op
import sqlalchemy as sa


revision = "0019_dashboard"
down_revision = "0018"
branch_labels = None
depends_on = None


# The same ranks as models.base.HEALTH_RANKS (a migration does not import the app).
FILL = sa.text(
    """
    UPDATE engagement SET health_rank = CASE effective_health
        WHEN 'red' THEN 0 WHEN 'amber' THEN 1 WHEN 'green' THEN 2 ELSE 3 END
    """
)
INDEXES = {
    "ix_engagement_live_rank": ["closed_at", "health_rank", "id"],
    "ix_engagement_state_rank": ["state", "health_rank", "id"],
}


def upgrade():
    with op.batch_alter_table("engagement") as batch_op:
        batch_op.add_column(
            sa.Column("health_rank", sa.SmallInteger(), server_default="2", nullable=False)
        )
    op.execute(FILL)
    for name, columns in INDEXES.items():
        op.create_index(name, "engagement", columns, unique=False)
    # The planners' statistics must know the new indexes: on a SQLite file analysed before
    # (the scale seeder analyses), an index it has no statistics for looked cheapest for
    # "one state, newest change first" too, and that query sorted every row of the state
    # instead of reading ix_engagement_state_updated in order (the API list's 50-row
    # page: ~3 -> ~11 ms at 10,000 engagements).
    op.execute("ANALYZE engagement")


def downgrade():
    for name in INDEXES:
        op.drop_index(name, table_name="engagement")
    with op.batch_alter_table("engagement") as batch_op:
        batch_op.drop_column("health_rank")
