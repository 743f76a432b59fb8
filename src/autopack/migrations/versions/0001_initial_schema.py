"""initial schema: runs, tiers, phases, events, issues, results, usage, errors

Revision ID: 0001
Revises: 
Create Date: 2026-11-22 00:30:28.708435
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import autopack.db.base

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    
    op.create_table('error_reports',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('error_id', sa.String(length=16), nullable=False),
    sa.Column('run_id', sa.String(length=128), nullable=True),
    sa.Column('phase_id', sa.String(length=128), nullable=True),
    sa.Column('component', sa.String(length=64), nullable=False),
    sa.Column('operation', sa.Text(), nullable=False),
    sa.Column('error_type', sa.String(length=255), nullable=False),
    sa.Column('error_message', sa.Text(), nullable=False),
    sa.Column('report', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', autopack.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_error_reports')),
    sa.UniqueConstraint('error_id', name=op.f('uq_error_reports_error_id'))
    )
    with op.batch_alter_table('error_reports', schema=None) as batch_op:
        batch_op.create_index('ix_error_reports_run_id_created_at', ['run_id', 'created_at'], unique=False)

    op.create_table('project_issue_backlog',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('project_id', sa.String(length=128), nullable=False),
    sa.Column('issue_key', sa.String(length=255), nullable=False),
    sa.Column('category', sa.String(length=128), nullable=False),
    sa.Column('base_severity', sa.String(length=64), nullable=False),
    sa.Column('age_in_runs', sa.Integer(), nullable=False),
    sa.Column('age_in_tiers', sa.Integer(), nullable=False),
    sa.Column('occurrence_count', sa.Integer(), nullable=False),
    sa.Column('first_seen_run_id', sa.String(length=128), nullable=False),
    sa.Column('last_seen_run_id', sa.String(length=128), nullable=False),
    sa.Column('last_seen_at', autopack.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('seen_in_runs', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('seen_in_tiers', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_project_issue_backlog')),
    sa.UniqueConstraint('project_id', 'issue_key', name=op.f('uq_project_issue_backlog_project_id_issue_key'))
    )
    with op.batch_alter_table('project_issue_backlog', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_project_issue_backlog_last_seen_at'), ['last_seen_at'], unique=False)

    op.create_table('runs',
    sa.Column('id', sa.String(length=128), nullable=False),
    sa.Column('state', sa.String(length=64), nullable=False),
    sa.Column('created_at', autopack.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', autopack.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('started_at', autopack.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('completed_at', autopack.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('safety_profile', sa.String(length=64), nullable=False),
    sa.Column('run_scope', sa.String(length=64), nullable=False),
    sa.Column('token_cap', sa.BigInteger(), nullable=False),
    sa.Column('max_phases', sa.Integer(), nullable=False),
    sa.Column('max_duration_minutes', sa.Integer(), nullable=False),
    sa.Column('max_minor_issues_total', sa.Integer(), nullable=True),
    sa.Column('tokens_used', sa.BigInteger(), nullable=False),
    sa.Column('ci_runs_used', sa.Integer(), nullable=False),
    sa.Column('minor_issues_count', sa.Integer(), nullable=False),
    sa.Column('major_issues_count', sa.Integer(), nullable=False),
    sa.Column('promotion_eligible_to_main', sa.String(length=8), nullable=False),
    sa.Column('debt_status', sa.String(length=64), nullable=True),
    sa.Column('failure_reason', sa.Text(), nullable=True),
    sa.Column('goal_anchor', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_runs'))
    )
    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_runs_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_runs_state'), ['state'], unique=False)

    op.create_table('auditor_results',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('run_id', sa.String(length=128), nullable=False),
    sa.Column('phase_id', sa.String(length=128), nullable=False),
    sa.Column('review_notes', sa.Text(), nullable=False),
    sa.Column('recommendation', sa.String(length=64), nullable=False),
    sa.Column('confidence', sa.String(length=64), nullable=False),
    sa.Column('issues_found', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('suggested_patches', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('auditor_attempts', sa.Integer(), nullable=False),
    sa.Column('tokens_used', sa.BigInteger(), nullable=False),
    sa.Column('created_at', autopack.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], name=op.f('fk_auditor_results_run_id_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_auditor_results'))
    )
    with op.batch_alter_table('auditor_results', schema=None) as batch_op:
        batch_op.create_index('ix_auditor_results_run_phase', ['run_id', 'phase_id'], unique=False)

    op.create_table('builder_results',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('run_id', sa.String(length=128), nullable=False),
    sa.Column('phase_id', sa.String(length=128), nullable=False),
    sa.Column('run_type', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=64), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('patch_sha256', sa.String(length=64), nullable=True),
    sa.Column('patch_bytes', sa.Integer(), nullable=False),
    sa.Column('files_changed', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('allowed_paths', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('lines_added', sa.Integer(), nullable=False),
    sa.Column('lines_removed', sa.Integer(), nullable=False),
    sa.Column('builder_attempts', sa.Integer(), nullable=False),
    sa.Column('tokens_used', sa.BigInteger(), nullable=False),
    sa.Column('duration_minutes', sa.Float(), nullable=False),
    sa.Column('probe_results', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('suggested_issues', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', autopack.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], name=op.f('fk_builder_results_run_id_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_builder_results'))
    )
    with op.batch_alter_table('builder_results', schema=None) as batch_op:
        batch_op.create_index('ix_builder_results_run_phase', ['run_id', 'phase_id'], unique=False)

    op.create_table('llm_usage_events',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('provider', sa.String(length=64), nullable=False),
    sa.Column('model', sa.String(length=128), nullable=False),
    sa.Column('run_id', sa.String(length=128), nullable=True),
    sa.Column('phase_id', sa.String(length=128), nullable=True),
    sa.Column('role', sa.String(length=64), nullable=False),
    sa.Column('total_tokens', sa.BigInteger(), nullable=False),
    sa.Column('prompt_tokens', sa.BigInteger(), nullable=True),
    sa.Column('completion_tokens', sa.BigInteger(), nullable=True),
    sa.Column('is_doctor_call', sa.Boolean(), nullable=False),
    sa.Column('doctor_model', sa.String(length=32), nullable=True),
    sa.Column('doctor_action', sa.String(length=64), nullable=True),
    sa.Column('created_at', autopack.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], name=op.f('fk_llm_usage_events_run_id_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_llm_usage_events'))
    )
    with op.batch_alter_table('llm_usage_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_llm_usage_events_created_at'), ['created_at'], unique=False)
        batch_op.create_index('ix_llm_usage_events_run_id_created_at', ['run_id', 'created_at'], unique=False)

    op.create_table('phase6_metrics',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('run_id', sa.String(length=128), nullable=False),
    sa.Column('phase_id', sa.String(length=128), nullable=False),
    sa.Column('failure_hardening_triggered', sa.Boolean(), nullable=False),
    sa.Column('failure_pattern_detected', sa.String(length=128), nullable=True),
    sa.Column('failure_hardening_mitigated', sa.Boolean(), nullable=False),
    sa.Column('doctor_call_skipped', sa.Boolean(), nullable=False),
    sa.Column('doctor_tokens_avoided_estimate', sa.BigInteger(), nullable=False),
    sa.Column('estimate_coverage_n', sa.Integer(), nullable=True),
    sa.Column('estimate_source', sa.String(length=32), nullable=True),
    sa.Column('intention_context_injected', sa.Boolean(), nullable=False),
    sa.Column('intention_context_chars', sa.Integer(), nullable=False),
    sa.Column('intention_context_source', sa.String(length=64), nullable=True),
    sa.Column('plan_normalization_used', sa.Boolean(), nullable=False),
    sa.Column('plan_normalization_confidence', sa.Float(), nullable=True),
    sa.Column('plan_normalization_warnings', sa.Integer(), nullable=False),
    sa.Column('plan_deliverables_count', sa.Integer(), nullable=False),
    sa.Column('plan_scope_size_bytes', sa.BigInteger(), nullable=False),
    sa.Column('created_at', autopack.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], name=op.f('fk_phase6_metrics_run_id_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_phase6_metrics'))
    )
    with op.batch_alter_table('phase6_metrics', schema=None) as batch_op:
        batch_op.create_index('ix_phase6_metrics_run_phase', ['run_id', 'phase_id'], unique=False)

    op.create_table('phase_issues',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('run_id', sa.String(length=128), nullable=False),
    sa.Column('phase_id', sa.String(length=128), nullable=False),
    sa.Column('issue_key', sa.String(length=255), nullable=False),
    sa.Column('severity', sa.String(length=64), nullable=False),
    sa.Column('effective_severity', sa.String(length=64), nullable=False),
    sa.Column('source', sa.String(length=128), nullable=False),
    sa.Column('category', sa.String(length=128), nullable=False),
    sa.Column('task_category', sa.String(length=128), nullable=True),
    sa.Column('complexity', sa.String(length=64), nullable=True),
    sa.Column('expected_fail', sa.Boolean(), nullable=False),
    sa.Column('occurrence_count', sa.Integer(), nullable=False),
    sa.Column('first_seen_run', sa.String(length=128), nullable=False),
    sa.Column('last_seen_run', sa.String(length=128), nullable=False),
    sa.Column('evidence_refs', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('created_at', autopack.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', autopack.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], name=op.f('fk_phase_issues_run_id_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_phase_issues')),
    sa.UniqueConstraint('run_id', 'phase_id', 'issue_key', name=op.f('uq_phase_issues_run_id_phase_id_issue_key'))
    )
    op.create_table('run_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('run_id', sa.String(length=128), nullable=False),
    sa.Column('phase_id', sa.String(length=128), nullable=True),
    sa.Column('tier_id', sa.String(length=128), nullable=True),
    sa.Column('entity', sa.String(length=16), nullable=False),
    sa.Column('from_state', sa.String(length=64), nullable=True),
    sa.Column('to_state', sa.String(length=64), nullable=False),
    sa.Column('actor', sa.String(length=128), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('created_at', autopack.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], name=op.f('fk_run_events_run_id_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_run_events'))
    )
    with op.batch_alter_table('run_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_run_events_created_at'), ['created_at'], unique=False)
        batch_op.create_index('ix_run_events_run_id_id', ['run_id', 'id'], unique=False)

    op.create_table('run_issue_index',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('run_id', sa.String(length=128), nullable=False),
    sa.Column('issue_key', sa.String(length=255), nullable=False),
    sa.Column('category', sa.String(length=128), nullable=False),
    sa.Column('severity', sa.String(length=64), nullable=False),
    sa.Column('effective_severity', sa.String(length=64), nullable=False),
    sa.Column('first_phase_index', sa.Integer(), nullable=False),
    sa.Column('last_phase_index', sa.Integer(), nullable=False),
    sa.Column('occurrence_count', sa.Integer(), nullable=False),
    sa.Column('seen_in_tiers', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('seen_in_phases', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', autopack.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', autopack.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], name=op.f('fk_run_issue_index_run_id_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_run_issue_index')),
    sa.UniqueConstraint('run_id', 'issue_key', name=op.f('uq_run_issue_index_run_id_issue_key'))
    )
    op.create_table('tiers',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('tier_id', sa.String(length=128), nullable=False),
    sa.Column('run_id', sa.String(length=128), nullable=False),
    sa.Column('tier_index', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('state', sa.String(length=32), nullable=False),
    sa.Column('token_cap', sa.BigInteger(), nullable=True),
    sa.Column('ci_run_cap', sa.Integer(), nullable=True),
    sa.Column('max_minor_issues_tolerated', sa.Integer(), nullable=True),
    sa.Column('max_major_issues_tolerated', sa.Integer(), nullable=False),
    sa.Column('tokens_used', sa.BigInteger(), nullable=False),
    sa.Column('ci_runs_used', sa.Integer(), nullable=False),
    sa.Column('minor_issues_count', sa.Integer(), nullable=False),
    sa.Column('major_issues_count', sa.Integer(), nullable=False),
    sa.Column('cleanliness', sa.String(length=32), nullable=False),
    sa.Column('created_at', autopack.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', autopack.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('started_at', autopack.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('completed_at', autopack.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], name=op.f('fk_tiers_run_id_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tiers')),
    sa.UniqueConstraint('run_id', 'tier_id', name=op.f('uq_tiers_run_id_tier_id'))
    )
    with op.batch_alter_table('tiers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tiers_run_id'), ['run_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_tiers_tier_id'), ['tier_id'], unique=False)

    op.create_table('token_efficiency_metrics',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('run_id', sa.String(length=128), nullable=False),
    sa.Column('phase_id', sa.String(length=128), nullable=False),
    sa.Column('artifact_substitutions', sa.Integer(), nullable=False),
    sa.Column('tokens_saved_artifacts', sa.BigInteger(), nullable=False),
    sa.Column('budget_mode', sa.String(length=32), nullable=False),
    sa.Column('budget_used', sa.BigInteger(), nullable=False),
    sa.Column('budget_cap', sa.BigInteger(), nullable=False),
    sa.Column('files_kept', sa.Integer(), nullable=False),
    sa.Column('files_omitted', sa.Integer(), nullable=False),
    sa.Column('phase_outcome', sa.String(length=32), nullable=True),
    sa.Column('embedding_cache_hits', sa.Integer(), nullable=True),
    sa.Column('embedding_cache_misses', sa.Integer(), nullable=True),
    sa.Column('embedding_calls_made', sa.Integer(), nullable=True),
    sa.Column('embedding_cap_value', sa.Integer(), nullable=True),
    sa.Column('embedding_fallback_reason', sa.String(length=128), nullable=True),
    sa.Column('deliverables_count', sa.Integer(), nullable=True),
    sa.Column('context_files_total', sa.Integer(), nullable=True),
    sa.Column('created_at', autopack.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], name=op.f('fk_token_efficiency_metrics_run_id_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_token_efficiency_metrics'))
    )
    with op.batch_alter_table('token_efficiency_metrics', schema=None) as batch_op:
        batch_op.create_index('ix_token_efficiency_metrics_run_phase', ['run_id', 'phase_id'], unique=False)

    op.create_table('phases',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('phase_id', sa.String(length=128), nullable=False),
    sa.Column('run_id', sa.String(length=128), nullable=False),
    sa.Column('tier_id', sa.Integer(), nullable=False),
    sa.Column('phase_index', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('state', sa.String(length=32), nullable=False),
    sa.Column('task_category', sa.String(length=128), nullable=True),
    sa.Column('complexity', sa.String(length=64), nullable=True),
    sa.Column('builder_mode', sa.String(length=64), nullable=True),
    sa.Column('scope', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('intention_refs', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('max_builder_attempts', sa.Integer(), nullable=True),
    sa.Column('max_auditor_attempts', sa.Integer(), nullable=True),
    sa.Column('incident_token_cap', sa.BigInteger(), nullable=True),
    sa.Column('builder_attempts', sa.Integer(), nullable=False),
    sa.Column('auditor_attempts', sa.Integer(), nullable=False),
    sa.Column('tokens_used', sa.BigInteger(), nullable=False),
    sa.Column('minor_issues_count', sa.Integer(), nullable=False),
    sa.Column('major_issues_count', sa.Integer(), nullable=False),
    sa.Column('issue_state', sa.String(length=32), nullable=False),
    sa.Column('quality_level', sa.String(length=32), nullable=True),
    sa.Column('quality_blocked', sa.Boolean(), nullable=False),
    sa.Column('retry_attempt', sa.Integer(), nullable=False),
    sa.Column('revision_epoch', sa.Integer(), nullable=False),
    sa.Column('escalation_level', sa.Integer(), nullable=False),
    sa.Column('last_attempt_timestamp', autopack.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_failure_reason', sa.Text(), nullable=True),
    sa.Column('created_at', autopack.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', autopack.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('started_at', autopack.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('completed_at', autopack.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], name=op.f('fk_phases_run_id_runs'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tier_id'], ['tiers.id'], name=op.f('fk_phases_tier_id_tiers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_phases')),
    sa.UniqueConstraint('run_id', 'phase_id', name=op.f('uq_phases_run_id_phase_id'))
    )
    with op.batch_alter_table('phases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_phases_phase_id'), ['phase_id'], unique=False)
        batch_op.create_index('ix_phases_run_id_phase_index', ['run_id', 'phase_index'], unique=False)
        batch_op.create_index(batch_op.f('ix_phases_tier_id'), ['tier_id'], unique=False)

    


def downgrade() -> None:
    
    with op.batch_alter_table('phases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_phases_tier_id'))
        batch_op.drop_index('ix_phases_run_id_phase_index')
        batch_op.drop_index(batch_op.f('ix_phases_phase_id'))

    op.drop_table('phases')
    with op.batch_alter_table('token_efficiency_metrics', schema=None) as batch_op:
        batch_op.drop_index('ix_token_efficiency_metrics_run_phase')

    op.drop_table('token_efficiency_metrics')
    with op.batch_alter_table('tiers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tiers_tier_id'))
        batch_op.drop_index(batch_op.f('ix_tiers_run_id'))

    op.drop_table('tiers')
    op.drop_table('run_issue_index')
    with op.batch_alter_table('run_events', schema=None) as batch_op:
        batch_op.drop_index('ix_run_events_run_id_id')
        batch_op.drop_index(batch_op.f('ix_run_events_created_at'))

    op.drop_table('run_events')
    op.drop_table('phase_issues')
    with op.batch_alter_table('phase6_metrics', schema=None) as batch_op:
        batch_op.drop_index('ix_phase6_metrics_run_phase')

    op.drop_table('phase6_metrics')
    with op.batch_alter_table('llm_usage_events', schema=None) as batch_op:
        batch_op.drop_index('ix_llm_usage_events_run_id_created_at')
        batch_op.drop_index(batch_op.f('ix_llm_usage_events_created_at'))

    op.drop_table('llm_usage_events')
    with op.batch_alter_table('builder_results', schema=None) as batch_op:
        batch_op.drop_index('ix_builder_results_run_phase')

    op.drop_table('builder_results')
    with op.batch_alter_table('auditor_results', schema=None) as batch_op:
        batch_op.drop_index('ix_auditor_results_run_phase')

    op.drop_table('auditor_results')
    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_runs_state'))
        batch_op.drop_index(batch_op.f('ix_runs_created_at'))

    op.drop_table('runs')
    with op.batch_alter_table('project_issue_backlog', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_project_issue_backlog_last_seen_at'))

    op.drop_table('project_issue_backlog')
    with op.batch_alter_table('error_reports', schema=None) as batch_op:
        batch_op.drop_index('ix_error_reports_run_id_created_at')

    op.drop_table('error_reports')
    
