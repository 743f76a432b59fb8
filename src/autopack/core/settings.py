"""One settings class; environment names are the contracts' names."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Process configuration read from the environment (and `.env` when present)."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    autopack_env: str = Field("development", validation_alias="AUTOPACK_ENV")
    autopack_version: str = Field("unknown", validation_alias="AUTOPACK_VERSION")
    data_dir: Path = Field(Path("./data"), validation_alias="AUTOPACK_DATA_DIR")
    database_url: str | None = Field(None, validation_alias="DATABASE_URL")
    autonomous_runs_dir: Path = Field(Path(".autonomous_runs"), validation_alias="AUTONOMOUS_RUNS_DIR")
    repo_path: Path = Field(Path("/workspace"), validation_alias="REPO_PATH")
    api_key: SecretStr | None = Field(None, validation_alias="AUTOPACK_API_KEY")
    public_read: bool = Field(False, validation_alias="AUTOPACK_PUBLIC_READ")
    debug_db_identity: str = Field("", validation_alias="DEBUG_DB_IDENTITY")
    qdrant_host: str | None = Field(None, validation_alias="QDRANT_HOST")
    enable_phase6_metrics: str = Field("0", validation_alias="AUTOPACK_ENABLE_PHASE6_METRICS")
    enable_consolidated_metrics: str = Field("0", validation_alias="AUTOPACK_ENABLE_CONSOLIDATED_METRICS")
    auto_approve_build113: str = Field("false", validation_alias="AUTO_APPROVE_BUILD113")
    max_body_bytes: int = Field(10 * 1024 * 1024, validation_alias="AUTOPACK_MAX_BODY_BYTES")
    rate_limit_storage: str = Field("memory://", validation_alias="AUTOPACK_RATE_LIMIT_STORAGE")
    rate_limit_enabled: bool = Field(True, validation_alias="AUTOPACK_RATE_LIMIT_ENABLED")
    runs_start_rate_limit: str = Field("10/minute", validation_alias="AUTOPACK_RUNS_START_RATE_LIMIT")
    trusted_proxies: str = Field("", validation_alias="AUTOPACK_TRUSTED_PROXIES")
    cors_allowed_origins: str = Field("", validation_alias="CORS_ALLOWED_ORIGINS")
    log_level: str = Field("INFO", validation_alias="AUTOPACK_LOG_LEVEL")
    access_log: bool = Field(True, validation_alias="AUTOPACK_ACCESS_LOG")
    db_pool_size: int = Field(10, validation_alias="AUTOPACK_DB_POOL_SIZE")
    sqlite_busy_timeout_ms: int = Field(30000, validation_alias="AUTOPACK_SQLITE_BUSY_TIMEOUT_MS")

    @property
    def is_production(self) -> bool:
        """True when running with production safeguards."""
        return self.autopack_env.strip().lower() == "production"

    @property
    def sqlalchemy_url(self) -> str:
        """Database URL for SQLAlchemy, with the psycopg 3 driver for PostgreSQL."""
        url = self.database_url or f"sqlite:///{(self.data_dir / 'autopack.db').resolve()}"
        if url.startswith("postgres://"):
            url = "postgresql://" + url[len("postgres://"):]
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url[len("postgresql://"):]
        return url

    @property
    def project_backlog_path(self) -> Path:
        """The project backlog JSON mirror, beside the runs directory as the reference keeps it."""
        return self.autonomous_runs_dir.resolve().parent / "docs" / "project_issue_backlog.json"


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (cleared by tests through `get_settings.cache_clear()`)."""
    return Settings()
