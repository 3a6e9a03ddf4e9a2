"""campaign results: the attribution model, ROAS, CPA, email and social measures on campaign_metrics

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05

Rows written before keep their numbers; the new measures start at 0 (server defaults) until
the campaign_metrics asset rewrites their days.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('campaign_metrics', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attribution_model', sa.String(length=40), nullable=False, server_default='linear'))
        batch_op.add_column(sa.Column('roas', sa.Numeric(precision=14, scale=4), nullable=True))
        batch_op.add_column(sa.Column('cpa', sa.Numeric(precision=14, scale=2), nullable=True))
        batch_op.add_column(sa.Column('email_sends', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('email_opens', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('email_clicks', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('social_engagements', sa.Integer(), nullable=False, server_default='0'))



def downgrade() -> None:
    with op.batch_alter_table('campaign_metrics', schema=None) as batch_op:
        batch_op.drop_column('social_engagements')
        batch_op.drop_column('email_clicks')
        batch_op.drop_column('email_opens')
        batch_op.drop_column('email_sends')
        batch_op.drop_column('cpa')
        batch_op.drop_column('roas')
        batch_op.drop_column('attribution_model')

