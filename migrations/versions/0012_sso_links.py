"""Single sign-on account links: (issuer, subject) -> user (issue 28, docs/adr/0197).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06

"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'sso_link',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('issuer', sa.String(length=300), nullable=False),
        sa.Column('subject', sa.String(length=255), nullable=False),
        sa.Column('email_at_link', sa.String(length=254), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ['user_id'], ['user.id'], name='fk_sso_link_user_id_user', ondelete='CASCADE'
        ),
        sa.PrimaryKeyConstraint('id', name='pk_sso_link'),
        sa.UniqueConstraint('issuer', 'subject', name='uq_sso_link_issuer_subject'),
        sa.UniqueConstraint('user_id', 'issuer', name='uq_sso_link_user_id_issuer'),
    )
    op.create_index('ix_sso_link_user_id', 'sso_link', ['user_id'], unique=False)


def downgrade():
    op.drop_index('ix_sso_link_user_id', table_name='sso_link')
    op.drop_table('sso_link')
