"""campaigns: an index on (merchant_id, created_at, id), the list's keyset, so a page does not sort every campaign

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_campaigns_merchant_created', 'campaigns', ['merchant_id', 'created_at', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_campaigns_merchant_created', table_name='campaigns')
