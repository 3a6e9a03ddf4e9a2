"""OAuth connection of social accounts: pending connections, token expiry and granted scopes

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05

``oauth_connections`` holds a started connection (hashed state, encrypted PKCE verifier) until
the platform's callback completes it. Social accounts learn when their tokens expire, so the
worker refreshes them before they do, and which scopes were granted.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import campaigns.core.store.types

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('oauth_connections',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('platform', sa.String(length=20), nullable=False),
    sa.Column('state_hash', sa.String(length=64), nullable=False),
    sa.Column('code_verifier_enc', sa.Text(), nullable=True),
    sa.Column('redirect_uri', sa.Text(), nullable=False),
    sa.Column('scopes', sa.Text(), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('target', sa.String(length=200), nullable=True),
    sa.Column('started_by', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('account_ids', sa.JSON(), nullable=False),
    sa.Column('expires_at', campaigns.core.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('completed_at', campaigns.core.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('merchant_id', sa.String(length=40), nullable=False),
    sa.Column('created_at', campaigns.core.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', campaigns.core.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'], name=op.f('fk_oauth_connections_merchant_id_merchants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_oauth_connections')),
    sa.UniqueConstraint('state_hash', name=op.f('uq_oauth_connections_state_hash'))
    )
    with op.batch_alter_table('oauth_connections', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_oauth_connections_merchant_id'), ['merchant_id'], unique=False)
    with op.batch_alter_table('social_accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('token_expires_at', campaigns.core.store.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('refresh_expires_at', campaigns.core.store.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('scopes', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('social_accounts', schema=None) as batch_op:
        batch_op.drop_column('scopes')
        batch_op.drop_column('refresh_expires_at')
        batch_op.drop_column('token_expires_at')
    with op.batch_alter_table('oauth_connections', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_oauth_connections_merchant_id'))
    op.drop_table('oauth_connections')
