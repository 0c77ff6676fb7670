"""initial warehouse schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-24 04:44:15.558322
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import exec_pipeline.lib.sqltypes
from sqlalchemy.dialects import postgresql

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('extract_files',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.Column('business_date', sa.Date(), nullable=False),
    sa.Column('partition_key', sa.String(length=96), nullable=False),
    sa.Column('uri', sa.Text(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size_bytes', sa.BigInteger(), nullable=False),
    sa.Column('reader_name', sa.String(length=64), nullable=True),
    sa.Column('reader_version', sa.String(length=32), nullable=True),
    sa.Column('first_seen_at', exec_pipeline.lib.sqltypes.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_ingested_at', exec_pipeline.lib.sqltypes.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_ingested_run_id', sa.String(length=64), nullable=True),
    sa.Column('orders_count', sa.Integer(), nullable=False),
    sa.Column('order_events_count', sa.Integer(), nullable=False),
    sa.Column('trades_count', sa.Integer(), nullable=False),
    sa.Column('rejects_count', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.CheckConstraint("status IN ('ingested', 'superseded', 'failed')", name=op.f('ck_extract_files_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_extract_files')),
    sa.UniqueConstraint('uri', 'sha256', name=op.f('uq_extract_files_uri_sha256'))
    )
    with op.batch_alter_table('extract_files', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_extract_files_partition_key'), ['partition_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_extract_files_sha256'), ['sha256'], unique=False)

    op.create_table('order_manager',
    sa.Column('uid', sa.Uuid(), nullable=False),
    sa.Column('unique_identifier', sa.String(length=255), nullable=False),
    sa.Column('target_account_uid', sa.Uuid(), nullable=False),
    sa.Column('target_time', exec_pipeline.lib.sqltypes.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('order_received_time', exec_pipeline.lib.sqltypes.UTCDateTime(timezone=True), nullable=True),
    sa.Column('execution_end', exec_pipeline.lib.sqltypes.UTCDateTime(timezone=True), nullable=True),
    sa.Column('strategy_identifier', sa.String(length=255), nullable=True),
    sa.Column('metadata_json', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('created_at', exec_pipeline.lib.sqltypes.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', exec_pipeline.lib.sqltypes.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('created', 'submitted', 'executing', 'completed', 'cancelled', 'failed', 'expired')", name=op.f('ck_order_manager_status')),
    sa.PrimaryKeyConstraint('uid', name=op.f('pk_order_manager')),
    sa.UniqueConstraint('unique_identifier', name=op.f('uq_order_manager_unique_identifier'))
    )
    with op.batch_alter_table('order_manager', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_order_manager_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_order_manager_strategy_identifier'), ['strategy_identifier'], unique=False)
        batch_op.create_index(batch_op.f('ix_order_manager_target_account_uid'), ['target_account_uid'], unique=False)
        batch_op.create_index(batch_op.f('ix_order_manager_target_time'), ['target_time'], unique=False)

    op.create_table('ingest_rejects',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('extract_id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.Column('partition_key', sa.String(length=96), nullable=False),
    sa.Column('record_number', sa.Integer(), nullable=True),
    sa.Column('field', sa.String(length=128), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('raw_record', sa.Text(), nullable=True),
    sa.Column('run_id', sa.String(length=64), nullable=True),
    sa.Column('reader_name', sa.String(length=64), nullable=True),
    sa.Column('reader_version', sa.String(length=32), nullable=True),
    sa.Column('rejected_at', exec_pipeline.lib.sqltypes.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['extract_id'], ['extract_files.id'], name=op.f('fk_ingest_rejects_extract_id_extract_files')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ingest_rejects'))
    )
    with op.batch_alter_table('ingest_rejects', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ingest_rejects_extract_id'), ['extract_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ingest_rejects_partition_key'), ['partition_key'], unique=False)

    op.create_table('order_events_ts',
    sa.Column('event_time', exec_pipeline.lib.sqltypes.UTCDateTime(timezone=True), nullable=False),
    sa.Column('event_identifier', sa.String(length=64), nullable=False),
    sa.Column('order_identifier', sa.String(length=64), nullable=False),
    sa.Column('account_identifier', sa.String(length=255), nullable=True),
    sa.Column('asset_identifier', sa.String(length=255), nullable=False),
    sa.Column('event_type', sa.String(length=24), nullable=False),
    sa.Column('order_status', sa.String(length=24), nullable=True),
    sa.Column('cum_quantity', exec_pipeline.lib.sqltypes.ExactDecimal(), nullable=True),
    sa.Column('leaves_quantity', exec_pipeline.lib.sqltypes.ExactDecimal(), nullable=True),
    sa.Column('avg_price', exec_pipeline.lib.sqltypes.ExactDecimal(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('event_metadata', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.Column('extract_id', sa.Integer(), nullable=False),
    sa.Column('record_number', sa.Integer(), nullable=False),
    sa.Column('partition_key', sa.String(length=96), nullable=False),
    sa.Column('run_id', sa.String(length=64), nullable=True),
    sa.Column('reader_name', sa.String(length=64), nullable=False),
    sa.Column('reader_version', sa.String(length=32), nullable=False),
    sa.Column('ingested_at', exec_pipeline.lib.sqltypes.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("event_type IN ('new', 'pending_new', 'partially_filled', 'filled', 'canceled', 'pending_cancel', 'replaced', 'pending_replace', 'rejected', 'expired', 'trade_cancel', 'trade_correct', 'restated', 'status', 'done_for_day', 'suspended')", name=op.f('ck_order_events_ts_event_type')),
    sa.CheckConstraint("order_status IN ('pending_new', 'new', 'partially_filled', 'filled', 'done_for_day', 'canceled', 'pending_cancel', 'replaced', 'pending_replace', 'rejected', 'expired', 'suspended', 'stopped', 'calculated', 'accepted_for_bidding')", name=op.f('ck_order_events_ts_order_status')),
    sa.ForeignKeyConstraint(['extract_id'], ['extract_files.id'], name=op.f('fk_order_events_ts_extract_id_extract_files')),
    sa.PrimaryKeyConstraint('event_time', 'event_identifier', name=op.f('pk_order_events_ts')),
    sa.UniqueConstraint('event_identifier', name=op.f('uq_order_events_ts_event_identifier'))
    )
    with op.batch_alter_table('order_events_ts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_order_events_ts_account_identifier_event_time'), ['account_identifier', 'event_time'], unique=False)
        batch_op.create_index(batch_op.f('ix_order_events_ts_asset_identifier_event_time'), ['asset_identifier', 'event_time'], unique=False)
        batch_op.create_index(batch_op.f('ix_order_events_ts_extract_id'), ['extract_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_order_events_ts_order_identifier_event_time'), ['order_identifier', 'event_time'], unique=False)
        batch_op.create_index(batch_op.f('ix_order_events_ts_partition_key'), ['partition_key'], unique=False)

    op.create_table('orders_ts',
    sa.Column('order_time', exec_pipeline.lib.sqltypes.UTCDateTime(timezone=True), nullable=False),
    sa.Column('order_identifier', sa.String(length=64), nullable=False),
    sa.Column('account_identifier', sa.String(length=255), nullable=True),
    sa.Column('asset_identifier', sa.String(length=255), nullable=False),
    sa.Column('order_manager_identifier', sa.String(length=255), nullable=True),
    sa.Column('order_remote_id', sa.String(length=255), nullable=True),
    sa.Column('client_order_id', sa.String(length=255), nullable=True),
    sa.Column('orig_client_order_id', sa.String(length=255), nullable=True),
    sa.Column('order_type', sa.String(length=32), nullable=True),
    sa.Column('time_in_force', sa.String(length=32), nullable=True),
    sa.Column('order_side', sa.SmallInteger(), nullable=False),
    sa.Column('quantity', exec_pipeline.lib.sqltypes.ExactDecimal(), nullable=True),
    sa.Column('limit_price', exec_pipeline.lib.sqltypes.ExactDecimal(), nullable=True),
    sa.Column('stop_price', exec_pipeline.lib.sqltypes.ExactDecimal(), nullable=True),
    sa.Column('currency', sa.String(length=16), nullable=True),
    sa.Column('expires_time', exec_pipeline.lib.sqltypes.UTCDateTime(timezone=True), nullable=True),
    sa.Column('venue_metadata', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.Column('extract_id', sa.Integer(), nullable=False),
    sa.Column('record_number', sa.Integer(), nullable=False),
    sa.Column('partition_key', sa.String(length=96), nullable=False),
    sa.Column('run_id', sa.String(length=64), nullable=True),
    sa.Column('reader_name', sa.String(length=64), nullable=False),
    sa.Column('reader_version', sa.String(length=32), nullable=False),
    sa.Column('ingested_at', exec_pipeline.lib.sqltypes.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('order_side IN (1, -1)', name=op.f('ck_orders_ts_order_side')),
    sa.ForeignKeyConstraint(['extract_id'], ['extract_files.id'], name=op.f('fk_orders_ts_extract_id_extract_files')),
    sa.PrimaryKeyConstraint('order_time', 'order_identifier', name=op.f('pk_orders_ts')),
    sa.UniqueConstraint('order_identifier', name=op.f('uq_orders_ts_order_identifier'))
    )
    with op.batch_alter_table('orders_ts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_orders_ts_account_identifier_order_time'), ['account_identifier', 'order_time'], unique=False)
        batch_op.create_index(batch_op.f('ix_orders_ts_asset_identifier_order_time'), ['asset_identifier', 'order_time'], unique=False)
        batch_op.create_index(batch_op.f('ix_orders_ts_extract_id'), ['extract_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_orders_ts_order_manager_identifier'), ['order_manager_identifier'], unique=False)
        batch_op.create_index(batch_op.f('ix_orders_ts_partition_key'), ['partition_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_orders_ts_source_client_order_id'), ['source', 'client_order_id'], unique=False)

    op.create_table('trades_ts',
    sa.Column('trade_time', exec_pipeline.lib.sqltypes.UTCDateTime(timezone=True), nullable=False),
    sa.Column('trade_identifier', sa.String(length=64), nullable=False),
    sa.Column('order_identifier', sa.String(length=64), nullable=True),
    sa.Column('account_identifier', sa.String(length=255), nullable=True),
    sa.Column('asset_identifier', sa.String(length=255), nullable=False),
    sa.Column('trade_remote_id', sa.String(length=255), nullable=True),
    sa.Column('trade_side', sa.SmallInteger(), nullable=False),
    sa.Column('quantity', exec_pipeline.lib.sqltypes.ExactDecimal(), nullable=False),
    sa.Column('price', exec_pipeline.lib.sqltypes.ExactDecimal(), nullable=True),
    sa.Column('currency', sa.String(length=16), nullable=True),
    sa.Column('commission', exec_pipeline.lib.sqltypes.ExactDecimal(), nullable=True),
    sa.Column('commission_asset_identifier', sa.String(length=255), nullable=True),
    sa.Column('settlement_cost', exec_pipeline.lib.sqltypes.ExactDecimal(), nullable=True),
    sa.Column('settlement_asset_identifier', sa.String(length=255), nullable=True),
    sa.Column('liquidity', sa.String(length=8), nullable=True),
    sa.Column('venue', sa.String(length=64), nullable=True),
    sa.Column('trade_kind', sa.String(length=16), nullable=False),
    sa.Column('ref_trade_identifier', sa.String(length=64), nullable=True),
    sa.Column('venue_metadata', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.Column('extract_id', sa.Integer(), nullable=False),
    sa.Column('record_number', sa.Integer(), nullable=False),
    sa.Column('partition_key', sa.String(length=96), nullable=False),
    sa.Column('run_id', sa.String(length=64), nullable=True),
    sa.Column('reader_name', sa.String(length=64), nullable=False),
    sa.Column('reader_version', sa.String(length=32), nullable=False),
    sa.Column('ingested_at', exec_pipeline.lib.sqltypes.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("(trade_kind = 'fill' AND ref_trade_identifier IS NULL) OR (trade_kind <> 'fill' AND ref_trade_identifier IS NOT NULL)", name=op.f('ck_trades_ts_ref_trade')),
    sa.CheckConstraint("liquidity IN ('maker', 'taker')", name=op.f('ck_trades_ts_liquidity')),
    sa.CheckConstraint("trade_kind IN ('fill', 'bust', 'correction')", name=op.f('ck_trades_ts_trade_kind')),
    sa.CheckConstraint('trade_side IN (1, -1)', name=op.f('ck_trades_ts_trade_side')),
    sa.ForeignKeyConstraint(['extract_id'], ['extract_files.id'], name=op.f('fk_trades_ts_extract_id_extract_files')),
    sa.PrimaryKeyConstraint('trade_time', 'trade_identifier', name=op.f('pk_trades_ts')),
    sa.UniqueConstraint('trade_identifier', name=op.f('uq_trades_ts_trade_identifier'))
    )
    with op.batch_alter_table('trades_ts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_trades_ts_account_identifier_trade_time'), ['account_identifier', 'trade_time'], unique=False)
        batch_op.create_index(batch_op.f('ix_trades_ts_asset_identifier_trade_time'), ['asset_identifier', 'trade_time'], unique=False)
        batch_op.create_index(batch_op.f('ix_trades_ts_extract_id'), ['extract_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_trades_ts_order_identifier_trade_time'), ['order_identifier', 'trade_time'], unique=False)
        batch_op.create_index(batch_op.f('ix_trades_ts_partition_key'), ['partition_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_trades_ts_ref_trade_identifier'), ['ref_trade_identifier'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('trades_ts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_trades_ts_ref_trade_identifier'))
        batch_op.drop_index(batch_op.f('ix_trades_ts_partition_key'))
        batch_op.drop_index(batch_op.f('ix_trades_ts_order_identifier_trade_time'))
        batch_op.drop_index(batch_op.f('ix_trades_ts_extract_id'))
        batch_op.drop_index(batch_op.f('ix_trades_ts_asset_identifier_trade_time'))
        batch_op.drop_index(batch_op.f('ix_trades_ts_account_identifier_trade_time'))

    op.drop_table('trades_ts')
    with op.batch_alter_table('orders_ts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_orders_ts_source_client_order_id'))
        batch_op.drop_index(batch_op.f('ix_orders_ts_partition_key'))
        batch_op.drop_index(batch_op.f('ix_orders_ts_order_manager_identifier'))
        batch_op.drop_index(batch_op.f('ix_orders_ts_extract_id'))
        batch_op.drop_index(batch_op.f('ix_orders_ts_asset_identifier_order_time'))
        batch_op.drop_index(batch_op.f('ix_orders_ts_account_identifier_order_time'))

    op.drop_table('orders_ts')
    with op.batch_alter_table('order_events_ts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_order_events_ts_partition_key'))
        batch_op.drop_index(batch_op.f('ix_order_events_ts_order_identifier_event_time'))
        batch_op.drop_index(batch_op.f('ix_order_events_ts_extract_id'))
        batch_op.drop_index(batch_op.f('ix_order_events_ts_asset_identifier_event_time'))
        batch_op.drop_index(batch_op.f('ix_order_events_ts_account_identifier_event_time'))

    op.drop_table('order_events_ts')
    with op.batch_alter_table('ingest_rejects', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ingest_rejects_partition_key'))
        batch_op.drop_index(batch_op.f('ix_ingest_rejects_extract_id'))

    op.drop_table('ingest_rejects')
    with op.batch_alter_table('order_manager', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_order_manager_target_time'))
        batch_op.drop_index(batch_op.f('ix_order_manager_target_account_uid'))
        batch_op.drop_index(batch_op.f('ix_order_manager_strategy_identifier'))
        batch_op.drop_index(batch_op.f('ix_order_manager_status'))

    op.drop_table('order_manager')
    with op.batch_alter_table('extract_files', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_extract_files_sha256'))
        batch_op.drop_index(batch_op.f('ix_extract_files_partition_key'))

    op.drop_table('extract_files')
