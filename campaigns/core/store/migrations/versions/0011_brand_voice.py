"""brand voice per merchant: words to avoid, emoji, hashtag count, sign-off

Revision ID: 0011
Revises: 0009
Create Date: 2026-12-05

One row per merchant (``merchant_brand_voices``), read by Leo's offline and live engines.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import campaigns.core.store.types

revision = '0011'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('merchant_brand_voices',
    sa.Column('merchant_id', sa.String(length=40), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('words_to_avoid', sa.JSON(), nullable=False),
    sa.Column('emoji', sa.Boolean(), nullable=False),
    sa.Column('hashtag_count', sa.Integer(), nullable=True),
    sa.Column('sign_off', sa.String(length=200), nullable=False),
    sa.Column('created_at', campaigns.core.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', campaigns.core.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'], name=op.f('fk_merchant_brand_voices_merchant_id_merchants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('merchant_id', name=op.f('pk_merchant_brand_voices'))
    )


def downgrade() -> None:
    op.drop_table('merchant_brand_voices')
