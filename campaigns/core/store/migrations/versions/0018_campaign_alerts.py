"""campaign alerts: what the campaign monitor found (pacing, KPI behind, ROAS drop), one active per campaign and kind

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import campaigns.core.store.types

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('campaign_alerts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('severity', sa.String(length=10), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('open_key', sa.String(length=120), nullable=True),
    sa.Column('first_raised_at', campaigns.core.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_raised_at', campaigns.core.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('times_raised', sa.Integer(), nullable=False),
    sa.Column('acknowledged_by', sa.String(length=200), nullable=True),
    sa.Column('acknowledged_at', campaigns.core.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_by', sa.String(length=200), nullable=True),
    sa.Column('closed_at', campaigns.core.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('merchant_id', sa.String(length=40), nullable=False),
    sa.Column('created_at', campaigns.core.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', campaigns.core.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_campaign_alerts_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'], name=op.f('fk_campaign_alerts_merchant_id_merchants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_alerts')),
    sa.UniqueConstraint('merchant_id', 'open_key', name='uq_campaign_alerts_open')
    )
    with op.batch_alter_table('campaign_alerts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaign_alerts_campaign_id'), ['campaign_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_campaign_alerts_merchant_id'), ['merchant_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('campaign_alerts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_campaign_alerts_merchant_id'))
        batch_op.drop_index(batch_op.f('ix_campaign_alerts_campaign_id'))
    op.drop_table('campaign_alerts')
