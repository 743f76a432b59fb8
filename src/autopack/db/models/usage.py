"""LLM usage and telemetry tables with the reference's names and columns."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Float, ForeignKey, Index, Integer, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from autopack.db.base import Base, utcnow


class LlmUsageEvent(Base):
    """One LLM call's token usage."""

    __tablename__ = "llm_usage_events"
    __table_args__ = (
        Index("ix_llm_usage_events_run_id_created_at", "run_id", "created_at"),
        # Covers the dashboard's usage summary: one index range per (provider, model), no table reads.
        Index("ix_llm_usage_events_provider_model_created_at", "provider", "model", "created_at",
              "total_tokens", "prompt_tokens", "completion_tokens"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    provider: Mapped[str] = mapped_column(String(64), nullable=False)
    model: Mapped[str] = mapped_column(String(128), nullable=False)
    run_id: Mapped[str | None] = mapped_column(
        ForeignKey("runs.id", ondelete="CASCADE"), nullable=True
    )
    phase_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    role: Mapped[str] = mapped_column(String(64), nullable=False)
    total_tokens: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    prompt_tokens: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    completion_tokens: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    is_doctor_call: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    doctor_model: Mapped[str | None] = mapped_column(String(32), nullable=True)
    doctor_action: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow, index=True)


# A sum of many events may pass BIGINT (each may be 2**62): PostgreSQL keeps it exactly, as SUM(bigint)
# over the raw events does; SQLite's integers are 64-bit whatever the declared type.
TokenSum = BigInteger().with_variant(Numeric(), "postgresql")


class LlmUsageHourly(Base):
    """Usage totals per (provider, model, hour), kept in step with llm_usage_events as events are stored.

    `hour` is the events' created_at truncated to the hour (UTC); NULL prompt/completion splits count
    as zero, as the dashboard reports them.
    """

    __tablename__ = "llm_usage_hourly"
    # The dashboard reads one primary-key range per (provider, model); on SQLite the key is the table
    # itself (clustered), so the range holds the sums and needs no second lookup.
    __table_args__ = {"sqlite_with_rowid": False}

    provider: Mapped[str] = mapped_column(String(64), primary_key=True)
    model: Mapped[str] = mapped_column(String(128), primary_key=True)
    hour: Mapped[datetime] = mapped_column(primary_key=True)
    total_tokens: Mapped[int] = mapped_column(TokenSum, nullable=False)
    prompt_tokens: Mapped[int] = mapped_column(TokenSum, nullable=False)
    completion_tokens: Mapped[int] = mapped_column(TokenSum, nullable=False)
    events: Mapped[int] = mapped_column(BigInteger, nullable=False)


class TokenEfficiencyMetrics(Base):
    """Per-phase token-efficiency telemetry."""

    __tablename__ = "token_efficiency_metrics"
    __table_args__ = (Index("ix_token_efficiency_metrics_run_phase", "run_id", "phase_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), nullable=False)
    phase_id: Mapped[str] = mapped_column(String(128), nullable=False)
    artifact_substitutions: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    tokens_saved_artifacts: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    budget_mode: Mapped[str] = mapped_column(String(32), nullable=False, default="semantic")
    budget_used: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    budget_cap: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    files_kept: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    files_omitted: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    phase_outcome: Mapped[str | None] = mapped_column(String(32), nullable=True)
    embedding_cache_hits: Mapped[int | None] = mapped_column(Integer, nullable=True)
    embedding_cache_misses: Mapped[int | None] = mapped_column(Integer, nullable=True)
    embedding_calls_made: Mapped[int | None] = mapped_column(Integer, nullable=True)
    embedding_cap_value: Mapped[int | None] = mapped_column(Integer, nullable=True)
    embedding_fallback_reason: Mapped[str | None] = mapped_column(String(128), nullable=True)
    deliverables_count: Mapped[int | None] = mapped_column(Integer, nullable=True)
    context_files_total: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)


class Phase6Metrics(Base):
    """Per-phase "true autonomy" telemetry."""

    __tablename__ = "phase6_metrics"
    __table_args__ = (Index("ix_phase6_metrics_run_phase", "run_id", "phase_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), nullable=False)
    phase_id: Mapped[str] = mapped_column(String(128), nullable=False)
    failure_hardening_triggered: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    failure_pattern_detected: Mapped[str | None] = mapped_column(String(128), nullable=True)
    failure_hardening_mitigated: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    doctor_call_skipped: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    doctor_tokens_avoided_estimate: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    estimate_coverage_n: Mapped[int | None] = mapped_column(Integer, nullable=True)
    estimate_source: Mapped[str | None] = mapped_column(String(32), nullable=True)
    intention_context_injected: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    intention_context_chars: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    intention_context_source: Mapped[str | None] = mapped_column(String(64), nullable=True)
    plan_normalization_used: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    plan_normalization_confidence: Mapped[float | None] = mapped_column(Float, nullable=True)
    plan_normalization_warnings: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    plan_deliverables_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    plan_scope_size_bytes: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    created_at: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)
