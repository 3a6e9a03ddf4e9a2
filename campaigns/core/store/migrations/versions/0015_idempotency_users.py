"""API: idempotency records of people signed in with OIDC bearer tokens

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06

A request with an ``Idempotency-Key`` is remembered per caller: an API key (``api_key_id``), or now a person
(``user_id``) who calls the API with their identity provider's token. Exactly one of the two is set;
a person's keys are unique per merchant, since one person may act for several.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('idempotency_records', schema=None) as batch_op:
        batch_op.add_column(sa.Column('user_id', sa.Integer(), nullable=True))
        batch_op.alter_column('api_key_id', existing_type=sa.Integer(), nullable=True)
        batch_op.create_foreign_key(batch_op.f('fk_idempotency_records_user_id_users'), 'users', ['user_id'], ['id'], ondelete='CASCADE')
        batch_op.create_unique_constraint('uq_idempotency_records_merchant_id_user_id_key', ['merchant_id', 'user_id', 'key'])


def downgrade() -> None:
    op.execute("delete from idempotency_records where api_key_id is null")  # a person's records have no key to belong to
    with op.batch_alter_table('idempotency_records', schema=None) as batch_op:
        batch_op.drop_constraint('uq_idempotency_records_merchant_id_user_id_key', type_='unique')
        batch_op.drop_constraint(batch_op.f('fk_idempotency_records_user_id_users'), type_='foreignkey')
        batch_op.alter_column('api_key_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column('user_id')
