"""contacts: consent records, the sign-up status of a contact, the salt of erased addresses

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05

``contact_consents`` keeps every consent decision (granted or withdrawn) with its source, time and
wording; ``contacts.status`` is active, pending (double opt-in not confirmed) or erased;
``privacy_salts`` holds each merchant's salt for the hashes of erased addresses.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import campaigns.core.store.types

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('privacy_salts',
    sa.Column('merchant_id', sa.String(length=40), nullable=False),
    sa.Column('salt', sa.String(length=64), nullable=False),
    sa.Column('created_at', campaigns.core.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'], name=op.f('fk_privacy_salts_merchant_id_merchants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('merchant_id', name=op.f('pk_privacy_salts'))
    )
    op.create_table('contact_consents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('purpose', sa.String(length=40), nullable=False),
    sa.Column('granted', sa.Boolean(), nullable=False),
    sa.Column('source', sa.String(length=200), nullable=False),
    sa.Column('wording', sa.Text(), nullable=False),
    sa.Column('occurred_at', campaigns.core.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ip', sa.String(length=64), nullable=True),
    sa.Column('user_agent', sa.String(length=400), nullable=True),
    sa.Column('recorded_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', campaigns.core.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('merchant_id', sa.String(length=40), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_contact_consents_contact_id_contacts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'], name=op.f('fk_contact_consents_merchant_id_merchants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contact_consents'))
    )
    with op.batch_alter_table('contact_consents', schema=None) as batch_op:
        batch_op.create_index('ix_contact_consents_contact', ['contact_id', 'purpose', 'occurred_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_contact_consents_merchant_id'), ['merchant_id'], unique=False)

    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status', sa.String(length=20), server_default='active', nullable=False))



def downgrade() -> None:
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_column('status')

    with op.batch_alter_table('contact_consents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contact_consents_merchant_id'))
        batch_op.drop_index('ix_contact_consents_contact')

    op.drop_table('contact_consents')
    op.drop_table('privacy_salts')
