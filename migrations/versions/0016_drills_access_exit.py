"""Handover proof: walk-away drills (with comments), the access register, exit confirmations.

New tables only; existing engagements start with no drills, no access entries and no
exit confirmation, and the close gate of the default definition asks for them (issue 30).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 07:00:26.972012

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "exit_confirmation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("engagement_id", sa.Integer(), nullable=False),
        sa.Column("ip_assignment_confirmed_on", sa.Date(), nullable=True),
        sa.Column("ip_document_url", sa.String(length=500), nullable=False),
        sa.Column("ip_confirmed_by_id", sa.Integer(), nullable=True),
        sa.Column("data_disposition", sa.String(length=10), nullable=True),
        sa.Column("data_confirmed_on", sa.Date(), nullable=True),
        sa.Column("data_certificate_url", sa.String(length=500), nullable=False),
        sa.Column("data_confirmed_by_id", sa.Integer(), nullable=True),
        sa.Column("artifacts_transferred_to", sa.String(length=500), nullable=False),
        sa.Column("artifacts_confirmed_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["artifacts_confirmed_by_id"],
            ["user.id"],
            name=op.f("fk_exit_confirmation_artifacts_confirmed_by_id_user"),
        ),
        sa.ForeignKeyConstraint(
            ["data_confirmed_by_id"],
            ["user.id"],
            name=op.f("fk_exit_confirmation_data_confirmed_by_id_user"),
        ),
        sa.ForeignKeyConstraint(
            ["engagement_id"],
            ["engagement.id"],
            name=op.f("fk_exit_confirmation_engagement_id_engagement"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["ip_confirmed_by_id"],
            ["user.id"],
            name=op.f("fk_exit_confirmation_ip_confirmed_by_id_user"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exit_confirmation")),
        sa.UniqueConstraint("engagement_id", name=op.f("uq_exit_confirmation_engagement_id")),
    )
    op.create_table(
        "access_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("engagement_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("system", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("account", sa.String(length=200), nullable=False),
        sa.Column("granted_on", sa.Date(), nullable=True),
        sa.Column("granted_by_id", sa.Integer(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by_id", sa.Integer(), nullable=True),
        sa.Column("revoke_note", sa.Text(), nullable=False),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("verified_by_id", sa.Integer(), nullable=True),
        sa.Column("verify_how", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["engagement_id"],
            ["engagement.id"],
            name=op.f("fk_access_entry_engagement_id_engagement"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["granted_by_id"], ["user.id"], name=op.f("fk_access_entry_granted_by_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["team_member.id"],
            name=op.f("fk_access_entry_member_id_team_member"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["revoked_by_id"], ["user.id"], name=op.f("fk_access_entry_revoked_by_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["verified_by_id"], ["user.id"], name=op.f("fk_access_entry_verified_by_id_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_entry")),
    )
    with op.batch_alter_table("access_entry", schema=None) as batch_op:
        batch_op.create_index(
            "ix_access_entry_engagement_member", ["engagement_id", "member_id"], unique=False
        )

    op.create_table(
        "drill",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("engagement_id", sa.Integer(), nullable=False),
        sa.Column("shadow_id", sa.Integer(), nullable=False),
        sa.Column("area", sa.String(length=100), nullable=False),
        sa.Column("task", sa.String(length=200), nullable=False),
        sa.Column("performed_by_id", sa.Integer(), nullable=False),
        sa.Column("observed_by_id", sa.Integer(), nullable=True),
        sa.Column("performed_on", sa.Date(), nullable=False),
        sa.Column("outcome", sa.String(length=10), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=True),
        sa.Column("missing", sa.Text(), nullable=False),
        sa.Column("evidence_url", sa.String(length=500), nullable=False),
        sa.Column("follow_up_item_id", sa.Integer(), nullable=True),
        sa.Column("recorded_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["engagement_id"],
            ["engagement.id"],
            name=op.f("fk_drill_engagement_id_engagement"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["follow_up_item_id"],
            ["checklist_item.id"],
            name=op.f("fk_drill_follow_up_item_id_checklist_item"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["observed_by_id"], ["user.id"], name=op.f("fk_drill_observed_by_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["performed_by_id"], ["user.id"], name=op.f("fk_drill_performed_by_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"], ["user.id"], name=op.f("fk_drill_recorded_by_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["shadow_id"],
            ["shadow_assignment.id"],
            name=op.f("fk_drill_shadow_id_shadow_assignment"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_drill")),
    )
    with op.batch_alter_table("drill", schema=None) as batch_op:
        batch_op.create_index("ix_drill_engagement_area", ["engagement_id", "area"], unique=False)
        batch_op.create_index(batch_op.f("ix_drill_shadow_id"), ["shadow_id"], unique=False)

    op.create_table(
        "drill_comment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("drill_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"], ["user.id"], name=op.f("fk_drill_comment_author_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["drill_id"],
            ["drill.id"],
            name=op.f("fk_drill_comment_drill_id_drill"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_drill_comment")),
    )
    with op.batch_alter_table("drill_comment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_drill_comment_drill_id"), ["drill_id"], unique=False)


def downgrade():
    with op.batch_alter_table("drill_comment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_drill_comment_drill_id"))

    op.drop_table("drill_comment")
    with op.batch_alter_table("drill", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_drill_shadow_id"))
        batch_op.drop_index("ix_drill_engagement_area")

    op.drop_table("drill")
    with op.batch_alter_table("access_entry", schema=None) as batch_op:
        batch_op.drop_index("ix_access_entry_engagement_member")

    op.drop_table("access_entry")
    op.drop_table("exit_confirmation")
