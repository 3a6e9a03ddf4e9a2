"""email campaigns: a body for the template's content slot, and the approved draft it was made from

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('email_campaigns', schema=None) as batch_op:
        batch_op.add_column(sa.Column('body_markdown', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('source_content_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_email_campaigns_source_content_id_campaign_contents', 'campaign_contents', ['source_content_id'], ['id'],
                                    ondelete='SET NULL')
        # one email campaign per draft: a second `content to-email` (or a retry) finds the first
        batch_op.create_index('uq_email_campaigns_source_content', ['merchant_id', 'source_content_id'], unique=True)


def downgrade() -> None:
    with op.batch_alter_table('email_campaigns', schema=None) as batch_op:
        batch_op.drop_index('uq_email_campaigns_source_content')
        batch_op.drop_constraint('fk_email_campaigns_source_content_id_campaign_contents', type_='foreignkey')
        batch_op.drop_column('source_content_id')
        batch_op.drop_column('body_markdown')
