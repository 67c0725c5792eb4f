"""Evidence for milestones: success metrics, targets, append-only measurements, ingest tokens.

Also a verdict's written reason on milestone_update (needed when it goes against the
measured evidence). New tables only; nothing existing is rewritten.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 07:00:23.883306

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "ingest_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("engagement_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["user.id"], name=op.f("fk_ingest_token_created_by_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["engagement_id"],
            ["engagement.id"],
            name=op.f("fk_ingest_token_engagement_id_engagement"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ingest_token")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_ingest_token_token_hash")),
    )
    with op.batch_alter_table("ingest_token", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ingest_token_engagement_id"), ["engagement_id"], unique=False
        )

    op.create_table(
        "success_metric",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("engagement_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("unit", sa.String(length=40), nullable=False),
        sa.Column("direction", sa.String(length=10), nullable=False),
        sa.Column("baseline", sa.Float(), nullable=True),
        sa.Column("baseline_measured_at", sa.Date(), nullable=True),
        sa.Column("source_note", sa.Text(), nullable=False),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["engagement_id"],
            ["engagement.id"],
            name=op.f("fk_success_metric_engagement_id_engagement"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_success_metric")),
    )
    with op.batch_alter_table("success_metric", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_success_metric_engagement_id"), ["engagement_id"], unique=False
        )

    op.create_table(
        "measurement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("engagement_id", sa.Integer(), nullable=False),
        sa.Column("metric_id", sa.Integer(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("measured_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("measured_on", sa.Date(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("evidence_url", sa.String(length=1000), nullable=True),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("ingest_token_id", sa.Integer(), nullable=True),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True),
        sa.Column("body_hash", sa.String(length=64), nullable=True),
        sa.Column("supersedes_id", sa.Integer(), nullable=True),
        sa.Column("correction_reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["engagement_id"],
            ["engagement.id"],
            name=op.f("fk_measurement_engagement_id_engagement"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["ingest_token_id"],
            ["ingest_token.id"],
            name=op.f("fk_measurement_ingest_token_id_ingest_token"),
        ),
        sa.ForeignKeyConstraint(
            ["metric_id"],
            ["success_metric.id"],
            name=op.f("fk_measurement_metric_id_success_metric"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"], ["user.id"], name=op.f("fk_measurement_recorded_by_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["supersedes_id"],
            ["measurement.id"],
            name=op.f("fk_measurement_supersedes_id_measurement"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_measurement")),
        sa.UniqueConstraint("engagement_id", "idempotency_key", name="uq_measurement_idempotency"),
    )
    with op.batch_alter_table("measurement", schema=None) as batch_op:
        batch_op.create_index(
            "ix_measurement_metric_on", ["metric_id", "measured_on", "measured_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_measurement_supersedes_id"), ["supersedes_id"], unique=False
        )

    op.create_table(
        "milestone_target",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("milestone_id", sa.Integer(), nullable=False),
        sa.Column("metric_id", sa.Integer(), nullable=False),
        sa.Column("target", sa.Float(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["metric_id"],
            ["success_metric.id"],
            name=op.f("fk_milestone_target_metric_id_success_metric"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["milestone_id"],
            ["milestone.id"],
            name=op.f("fk_milestone_target_milestone_id_milestone"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_milestone_target")),
        sa.UniqueConstraint("milestone_id", "metric_id", name="uq_target_metric"),
    )
    with op.batch_alter_table("milestone_target", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_milestone_target_metric_id"), ["metric_id"], unique=False
        )

    with op.batch_alter_table("milestone_update", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reason", sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table("milestone_update", schema=None) as batch_op:
        batch_op.drop_column("reason")

    with op.batch_alter_table("milestone_target", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_milestone_target_metric_id"))

    op.drop_table("milestone_target")
    with op.batch_alter_table("measurement", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_measurement_supersedes_id"))
        batch_op.drop_index("ix_measurement_metric_on")

    op.drop_table("measurement")
    with op.batch_alter_table("success_metric", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_success_metric_engagement_id"))

    op.drop_table("success_metric")
    with op.batch_alter_table("ingest_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ingest_token_engagement_id"))

    op.drop_table("ingest_token")
