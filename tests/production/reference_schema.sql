-- The reference server's tables (autopack-reference.md §4, as its create_all emits them) with data.
-- {PK} {DT} {TRUE} {FALSE} are filled per database by tests/production/test_reference_adoption.py.
CREATE TABLE runs (
  id VARCHAR NOT NULL PRIMARY KEY, state VARCHAR(32) NOT NULL,
  created_at {DT} NOT NULL, updated_at {DT} NOT NULL, started_at {DT}, completed_at {DT},
  safety_profile VARCHAR NOT NULL, run_scope VARCHAR NOT NULL, token_cap INTEGER NOT NULL,
  max_phases INTEGER NOT NULL, max_duration_minutes INTEGER NOT NULL, max_minor_issues_total INTEGER,
  tokens_used INTEGER NOT NULL, ci_runs_used INTEGER NOT NULL, minor_issues_count INTEGER NOT NULL,
  major_issues_count INTEGER NOT NULL, promotion_eligible_to_main VARCHAR NOT NULL, debt_status VARCHAR,
  failure_reason TEXT, goal_anchor TEXT);
CREATE TABLE tiers (
  id {PK}, tier_id VARCHAR NOT NULL, run_id VARCHAR NOT NULL REFERENCES runs (id), tier_index INTEGER NOT NULL,
  name VARCHAR NOT NULL, description TEXT, state VARCHAR(32) NOT NULL, token_cap INTEGER, ci_run_cap INTEGER,
  max_minor_issues_tolerated INTEGER, max_major_issues_tolerated INTEGER NOT NULL, tokens_used INTEGER NOT NULL,
  ci_runs_used INTEGER NOT NULL, minor_issues_count INTEGER NOT NULL, major_issues_count INTEGER NOT NULL,
  cleanliness VARCHAR NOT NULL, created_at {DT} NOT NULL, updated_at {DT} NOT NULL, started_at {DT},
  completed_at {DT});
CREATE INDEX ix_tiers_tier_id ON tiers (tier_id);
CREATE TABLE phases (
  id {PK}, phase_id VARCHAR NOT NULL, run_id VARCHAR NOT NULL REFERENCES runs (id),
  tier_id INTEGER NOT NULL REFERENCES tiers (id), phase_index INTEGER NOT NULL, name VARCHAR NOT NULL,
  description TEXT, state VARCHAR(32) NOT NULL, task_category VARCHAR, complexity VARCHAR, builder_mode VARCHAR,
  scope JSON, max_builder_attempts INTEGER, max_auditor_attempts INTEGER, incident_token_cap INTEGER,
  builder_attempts INTEGER NOT NULL, auditor_attempts INTEGER NOT NULL, tokens_used INTEGER NOT NULL,
  minor_issues_count INTEGER NOT NULL, major_issues_count INTEGER NOT NULL, issue_state VARCHAR NOT NULL,
  quality_level VARCHAR, quality_blocked BOOLEAN NOT NULL, retry_attempt INTEGER NOT NULL,
  revision_epoch INTEGER NOT NULL, escalation_level INTEGER NOT NULL, last_attempt_timestamp {DT},
  last_failure_reason TEXT, created_at {DT} NOT NULL, updated_at {DT} NOT NULL, started_at {DT},
  completed_at {DT}, CONSTRAINT uq_run_phase UNIQUE (run_id, phase_id));
CREATE INDEX ix_phases_phase_id ON phases (phase_id);
CREATE TABLE approval_requests (
  id {PK}, run_id VARCHAR NOT NULL, phase_id VARCHAR NOT NULL, context VARCHAR NOT NULL, decision_info JSON,
  deletion_info JSON, requested_at {DT} NOT NULL, responded_at {DT}, timeout_at {DT}, status VARCHAR NOT NULL,
  response_method VARCHAR, approval_reason TEXT, rejected_reason TEXT, telegram_message_id VARCHAR,
  telegram_sent BOOLEAN NOT NULL, telegram_error TEXT);
CREATE INDEX ix_approval_requests_requested_at ON approval_requests (requested_at);
CREATE TABLE governance_requests (
  id {PK}, request_id VARCHAR NOT NULL UNIQUE, run_id VARCHAR NOT NULL REFERENCES runs (id),
  phase_id VARCHAR NOT NULL, requested_paths TEXT, justification TEXT, risk_level VARCHAR,
  auto_approved BOOLEAN NOT NULL, approved BOOLEAN, approved_by VARCHAR, created_at {DT} NOT NULL);
CREATE TABLE llm_usage_events (
  id {PK}, provider VARCHAR NOT NULL, model VARCHAR NOT NULL, run_id VARCHAR, phase_id VARCHAR,
  role VARCHAR NOT NULL, total_tokens INTEGER NOT NULL, prompt_tokens INTEGER, completion_tokens INTEGER,
  created_at {DT} NOT NULL, is_doctor_call BOOLEAN NOT NULL, doctor_model VARCHAR, doctor_action VARCHAR);
CREATE INDEX ix_llm_usage_events_run_id ON llm_usage_events (run_id);
CREATE TABLE doctor_usage_stats (
  id {PK}, run_id VARCHAR NOT NULL UNIQUE, doctor_calls_total INTEGER NOT NULL, doctor_calls_cheap INTEGER NOT NULL,
  doctor_calls_strong INTEGER NOT NULL, doctor_escalations INTEGER NOT NULL, doctor_actions JSON,
  created_at {DT} NOT NULL, updated_at {DT} NOT NULL);
CREATE TABLE token_efficiency_metrics (
  id {PK}, run_id VARCHAR NOT NULL, phase_id VARCHAR NOT NULL, artifact_substitutions INTEGER NOT NULL,
  tokens_saved_artifacts INTEGER NOT NULL, budget_mode VARCHAR NOT NULL, budget_used INTEGER NOT NULL,
  budget_cap INTEGER NOT NULL, files_kept INTEGER NOT NULL, files_omitted INTEGER NOT NULL, phase_outcome VARCHAR,
  embedding_cache_hits INTEGER, embedding_cache_misses INTEGER, embedding_calls_made INTEGER,
  embedding_cap_value INTEGER, embedding_fallback_reason VARCHAR, deliverables_count INTEGER,
  context_files_total INTEGER, created_at {DT} NOT NULL);
CREATE TABLE phase6_metrics (
  id {PK}, run_id VARCHAR NOT NULL, phase_id VARCHAR NOT NULL, failure_hardening_triggered BOOLEAN NOT NULL,
  failure_pattern_detected VARCHAR, failure_hardening_mitigated BOOLEAN NOT NULL, doctor_call_skipped BOOLEAN NOT NULL,
  doctor_tokens_avoided_estimate INTEGER NOT NULL, estimate_coverage_n INTEGER, estimate_source VARCHAR,
  intention_context_injected BOOLEAN NOT NULL, intention_context_chars INTEGER NOT NULL,
  intention_context_source VARCHAR, plan_normalization_used BOOLEAN NOT NULL, plan_normalization_confidence INTEGER,
  plan_normalization_warnings INTEGER NOT NULL, plan_deliverables_count INTEGER NOT NULL,
  plan_scope_size_bytes INTEGER NOT NULL, created_at {DT} NOT NULL);
CREATE TABLE users (
  id {PK}, username VARCHAR(50) NOT NULL UNIQUE, email VARCHAR(255) NOT NULL UNIQUE,
  hashed_password VARCHAR(255) NOT NULL, is_active BOOLEAN NOT NULL, is_superuser BOOLEAN NOT NULL,
  created_at {DT}, updated_at {DT} NOT NULL);
CREATE TABLE storage_scans (
  id {PK}, timestamp {DT} NOT NULL, scan_type VARCHAR(20) NOT NULL, scan_target VARCHAR(500) NOT NULL,
  max_depth INTEGER, max_items INTEGER, policy_version VARCHAR(50), total_items_scanned INTEGER NOT NULL,
  total_size_bytes BIGINT NOT NULL, cleanup_candidates_count INTEGER NOT NULL, potential_savings_bytes BIGINT NOT NULL,
  scan_duration_seconds INTEGER, created_by VARCHAR(100), notes TEXT);
CREATE INDEX ix_storage_scans_timestamp ON storage_scans (timestamp);
CREATE TABLE cleanup_candidates (
  id {PK}, scan_id INTEGER NOT NULL REFERENCES storage_scans (id) ON DELETE CASCADE, path TEXT NOT NULL,
  size_bytes BIGINT NOT NULL, age_days INTEGER, last_modified {DT}, category VARCHAR(50) NOT NULL, reason TEXT,
  requires_approval BOOLEAN NOT NULL, approval_status VARCHAR(20) NOT NULL, approved_by VARCHAR(100),
  approved_at {DT}, rejection_reason TEXT, execution_status VARCHAR(20), executed_at {DT}, execution_error TEXT,
  compressed BOOLEAN NOT NULL, compressed_path TEXT, compression_ratio NUMERIC(5, 2),
  compression_duration_seconds INTEGER);
CREATE TABLE approval_decisions (
  id {PK}, scan_id INTEGER NOT NULL REFERENCES storage_scans (id), approved_by VARCHAR(100) NOT NULL,
  approved_at {DT} NOT NULL, approval_method VARCHAR(50), total_candidates INTEGER NOT NULL,
  total_size_bytes BIGINT NOT NULL, decision VARCHAR(20) NOT NULL, notes TEXT);
CREATE TABLE execution_checkpoints (
  id {PK}, run_id VARCHAR(100) NOT NULL, candidate_id INTEGER REFERENCES cleanup_candidates (id),
  action VARCHAR(20) NOT NULL, path TEXT NOT NULL, size_bytes BIGINT, sha256 VARCHAR(64), status VARCHAR(20) NOT NULL,
  error TEXT, lock_type VARCHAR(50), retry_count INTEGER, timestamp {DT} NOT NULL);
CREATE TABLE learned_rules (
  id {PK}, created_at {DT} NOT NULL, pattern_type VARCHAR NOT NULL, pattern_value TEXT NOT NULL,
  suggested_category VARCHAR, confidence_score NUMERIC(5, 2), based_on_approvals INTEGER,
  based_on_rejections INTEGER, sample_paths TEXT, status VARCHAR, reviewed_by VARCHAR, reviewed_at {DT},
  applied_to_policy_version VARCHAR, description TEXT, notes TEXT);

INSERT INTO runs VALUES ('ref-run-1', 'PHASE_EXECUTION', '2026-01-09 10:00:00', '2026-01-09 11:00:00',
  '2026-01-09 10:00:01', NULL, 'normal', 'multi_tier', 5000000, 25, 120, 6, 1200, 0, 1, 0, 'false', NULL, NULL, NULL);
INSERT INTO runs VALUES ('ref-run-2', 'DONE_SUCCESS', '2026-01-08 09:00:00', '2026-01-08 12:00:00',
  '2026-01-08 09:00:01', NULL, 'safety_critical', 'single_tier', 100000, 5, 60, 3, 0, 0, 0, 0, 'false', NULL, NULL,
  'ship it');
INSERT INTO tiers (id, tier_id, run_id, tier_index, name, description, state, max_major_issues_tolerated,
  tokens_used, ci_runs_used, minor_issues_count, major_issues_count, cleanliness, created_at, updated_at)
  VALUES (1, 'T1', 'ref-run-1', 0, 'Foundation', NULL, 'PENDING', 0, 0, 0, 0, 0, 'clean',
  '2026-01-09 10:00:00', '2026-01-09 10:00:00');
INSERT INTO tiers (id, tier_id, run_id, tier_index, name, description, state, max_major_issues_tolerated,
  tokens_used, ci_runs_used, minor_issues_count, major_issues_count, cleanliness, created_at, updated_at)
  VALUES (2, 'T1', 'ref-run-2', 0, 'Only', 'all of it', 'COMPLETE', 0, 0, 0, 0, 0, 'clean',
  '2026-01-08 09:00:00', '2026-01-08 09:00:00');
INSERT INTO phases (id, phase_id, run_id, tier_id, phase_index, name, description, state, task_category, complexity,
  builder_mode, scope, builder_attempts, auditor_attempts, tokens_used, minor_issues_count, major_issues_count,
  issue_state, quality_blocked, retry_attempt, revision_epoch, escalation_level, last_failure_reason, created_at,
  updated_at) VALUES
  (1, 'F1.1', 'ref-run-1', 1, 0, 'Schema', NULL, 'COMPLETE', 'general', 'low', NULL,
   '{"paths": ["src/a.py"], "read_only_context": [{"path": "docs/x.md", "reason": ""}]}', 1, 1, 700, 1, 0,
   'has_minor_issues', {FALSE}, 0, 0, 0, NULL, '2026-01-09 10:00:00', '2026-01-09 10:30:00'),
  (2, 'F1.2', 'ref-run-1', 1, 1, 'API', 'endpoints', 'EXECUTING', 'backend', 'medium', NULL, NULL, 2, 0, 500, 0, 0,
   'no_issues', {FALSE}, 1, 1, 0, 'flaky test', '2026-01-09 10:00:00', '2026-01-09 10:50:00'),
  (3, 'F1.3', 'ref-run-1', 1, 2, 'Docs', NULL, 'QUEUED', NULL, NULL, NULL, NULL, 0, 0, 0, 0, 0,
   'no_issues', {FALSE}, 0, 0, 0, NULL, '2026-01-09 10:00:00', '2026-01-09 10:00:00'),
  (4, 'F1.1', 'ref-run-2', 2, 0, 'All', NULL, 'COMPLETE', NULL, NULL, NULL, NULL, 1, 1, 0, 0, 0,
   'no_issues', {FALSE}, 0, 0, 0, NULL, '2026-01-08 09:00:00', '2026-01-08 11:00:00');
INSERT INTO approval_requests (id, run_id, phase_id, context, decision_info, requested_at, timeout_at, status,
  response_method, approval_reason, telegram_sent) VALUES
  (1, 'ref-run-1', 'F1.2', 'build113_risky_decision', '{"risk": "high"}', '2026-01-09 10:40:00',
   '2026-01-09 10:55:00', 'pending', NULL, NULL, {FALSE}),
  (2, 'ref-run-2', 'F1.1', 'general', NULL, '2026-01-08 10:00:00', '2026-01-08 10:15:00', 'approved',
   'telegram', 'looks fine', {TRUE});
INSERT INTO governance_requests VALUES
  (1, 'gov-ref-1', 'ref-run-1', 'F1.2', '["src/autopack/main.py"]', 'touches the app', 'high', {FALSE}, NULL, NULL,
   '2026-01-09 10:41:00'),
  (2, 'gov-ref-2', 'ref-run-2', 'F1.1', '["docs/a.md"]', NULL, 'low', {TRUE}, {TRUE}, 'auto', '2026-01-08 10:01:00');
INSERT INTO llm_usage_events (id, provider, model, run_id, phase_id, role, total_tokens, prompt_tokens,
  completion_tokens, created_at, is_doctor_call) VALUES
  (1, 'anthropic', 'claude-sonnet-4-5', 'ref-run-1', 'F1.1', 'builder', 700, 600, 100, '2026-01-09 10:10:00', {FALSE}),
  (2, 'openai', 'gpt-4o', 'ref-run-1', 'F1.2', 'doctor', 500, NULL, NULL, '2026-01-09 10:45:00', {TRUE});
INSERT INTO doctor_usage_stats VALUES (1, 'ref-run-1', 1, 1, 0, 0, '["retry"]', '2026-01-09 10:45:00',
  '2026-01-09 10:45:00');
INSERT INTO token_efficiency_metrics (id, run_id, phase_id, artifact_substitutions, tokens_saved_artifacts,
  budget_mode, budget_used, budget_cap, files_kept, files_omitted, phase_outcome, created_at) VALUES
  (1, 'ref-run-1', 'F1.1', 2, 300, 'semantic', 10, 20, 3, 1, 'COMPLETE', '2026-01-09 10:30:00');
INSERT INTO phase6_metrics (id, run_id, phase_id, failure_hardening_triggered, failure_hardening_mitigated,
  doctor_call_skipped, doctor_tokens_avoided_estimate, intention_context_injected, intention_context_chars,
  plan_normalization_used, plan_normalization_warnings, plan_deliverables_count, plan_scope_size_bytes,
  created_at) VALUES
  (1, 'ref-run-1', 'F1.2', {TRUE}, {FALSE}, {TRUE}, 50, {FALSE}, 0, {FALSE}, 0, 0, 0, '2026-01-09 10:46:00');
INSERT INTO users VALUES
  (1, 'Alice', 'alice@example.com', '{ALICE_HASH}', {TRUE}, {TRUE}, '2026-01-01 00:00:00', '2026-01-01 00:00:00'),
  (2, 'bob', 'bob@example.com', '{BOB_HASH}', {FALSE}, {FALSE}, '2026-01-02 00:00:00', '2026-01-02 00:00:00');
INSERT INTO learned_rules (id, created_at, pattern_type, pattern_value, status) VALUES
  (1, '2026-01-05 00:00:00', 'file_type', '*.log', 'pending');
INSERT INTO storage_scans VALUES
  (1, '2026-01-06 08:00:00', 'directory', '/srv/cache', 3, 1000, '2026.01', 120, 5000000, 2, 4000000, 12, 'ops', NULL),
  (2, '2026-01-07 08:00:00', 'drive', 'D:', NULL, NULL, NULL, 0, 0, 0, 0, NULL, NULL, 'empty');
INSERT INTO cleanup_candidates (id, scan_id, path, size_bytes, age_days, last_modified, category, reason,
  requires_approval, approval_status, approved_by, approved_at, execution_status, executed_at, compressed) VALUES
  (1, 1, '/srv/cache/old.log', 3000000, 400, '2025-01-01 00:00:00', 'logs', 'old log', {TRUE}, 'approved', 'ops',
   '2026-01-06 09:00:00', 'completed', '2026-01-06 10:00:00', {FALSE}),
  (2, 1, '/srv/cache/tmp', 1000000, 30, NULL, 'temp', NULL, {TRUE}, 'pending', NULL, NULL, NULL, NULL, {FALSE});
INSERT INTO approval_decisions VALUES
  (1, 1, 'ops', '2026-01-06 09:00:00', NULL, 1, 3000000, 'approve', 'fine');
INSERT INTO execution_checkpoints VALUES
  (1, 'scan-1-20260106', 1, 'delete', '/srv/cache/old.log', 3000000, NULL, 'completed', NULL, NULL, 0,
   '2026-01-06 10:00:00'),
  (2, 'scan-1-20260106', NULL, 'skip', '/srv/cache/gone', NULL, NULL, 'skipped', 'not found', NULL, 0,
   '2026-01-06 10:00:01');
