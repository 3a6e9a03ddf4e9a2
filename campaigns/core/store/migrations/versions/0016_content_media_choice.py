"""campaign content media: alt text per image, and the image Leo chose from the post (stored when the draft is scheduled)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('campaign_contents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('media_alt', sa.JSON(), nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('media_choice', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('campaign_contents', schema=None) as batch_op:
        batch_op.drop_column('media_choice')
        batch_op.drop_column('media_alt')
