"""post media: alt text per image on queued posts

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('social_queue', schema=None) as batch_op:
        batch_op.add_column(sa.Column('media_alt', sa.JSON(), nullable=False, server_default='[]'))


def downgrade() -> None:
    with op.batch_alter_table('social_queue', schema=None) as batch_op:
        batch_op.drop_column('media_alt')

