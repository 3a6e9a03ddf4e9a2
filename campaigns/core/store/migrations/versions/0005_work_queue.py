"""shared work queue: an attempt log for every queue, and a lease on workflow steps

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05

Workflow steps join the other queues' lease (``claimed_by``, ``claimed_at``) so a runner that
dies mid-step is recovered instead of leaving the step RUNNING for ever. ``work_attempts``
records every attempt of every queue with its outcome.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import campaigns.core.store.types

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('work_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('queue', sa.String(length=40), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('worker_id', sa.String(length=80), nullable=False),
    sa.Column('started_at', campaigns.core.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', campaigns.core.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('outcome', sa.String(length=40), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('merchant_id', sa.String(length=40), nullable=False),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'], name=op.f('fk_work_attempts_merchant_id_merchants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_work_attempts'))
    )
    with op.batch_alter_table('work_attempts', schema=None) as batch_op:
        batch_op.create_index('ix_work_attempts_item', ['queue', 'item_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_work_attempts_merchant_id'), ['merchant_id'], unique=False)
    with op.batch_alter_table('campaign_workflows', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claimed_by', sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column('claimed_at', campaigns.core.store.types.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('campaign_workflows', schema=None) as batch_op:
        batch_op.drop_column('claimed_at')
        batch_op.drop_column('claimed_by')
    with op.batch_alter_table('work_attempts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_work_attempts_merchant_id'))
        batch_op.drop_index('ix_work_attempts_item')
    op.drop_table('work_attempts')
