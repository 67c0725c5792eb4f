"""The stored readiness breakdown keeps each part's figures and words, not its gaps.

`engagement.readiness_parts` is read by the dashboard to draw each row's bar. The gaps'
sentences were nine tenths of its JSON and no page read them from there (the page that
shows gaps judges them from the facts; `readiness_gaps` counts them), yet PostgreSQL
parsed them for every row of every dashboard to leave them out (~10 ms for 50 rows at
10,000 engagements). The app now stores the parts without them; this removes them from
rows stored before. Why: docs/adr/0251.

Revision ID: 0020_pages
Revises: 0019_dashboard
Create Date: 2026-12-07

"""

from alembic import op


revision = "0020_pages"
down_revision = "0019_dashboard"
branch_labels = None
depends_on = None

# A breakdown has five or six parts; a path past the last part changes nothing.
_PARTS = range(8)


def upgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        paths = "".join(f" #- '{{{i},gaps}}'" for i in _PARTS)
        value = f"CAST(CAST(readiness_parts AS JSONB){paths} AS JSON)"
    elif dialect == "sqlite":
        value = "json_remove(readiness_parts, {})".format(
            ", ".join(f"'$[{i}].gaps'" for i in _PARTS)
        )
    else:  # another database keeps the sentences until each row is next scored
        return
    op.execute(f"UPDATE engagement SET readiness_parts = {value} WHERE readiness_parts IS NOT NULL")


def downgrade():
    # The sentences cannot be restored here; an unscored row is scored again by the
    # scheduler's health step (and drawn from its facts until then), as after 0014.
    op.execute(
        "UPDATE engagement SET readiness_score = NULL, readiness_gaps = NULL, "
        "readiness_parts = NULL WHERE readiness_parts IS NOT NULL"
    )
