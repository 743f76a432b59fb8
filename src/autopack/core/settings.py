"""One settings class; environment names are the contracts' names."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Project-wide mirrors live inside the runs directory (the server writes nowhere else but the data
# directory); the reference kept them beside it, in the working directory. A run id never starts
# with ".", so this folder cannot be a run's.
PROJECT_MIRROR_FOLDER = ".project"


class Settings(BaseSettings):
    """Process configuration read from the environment (and `.env` when present)."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    autopack_env: str = Field("development", validation_alias="AUTOPACK_ENV")
    autopack_version: str = Field("unknown", validation_alias="AUTOPACK_VERSION")
    data_dir: Path = Field(Path("./data"), validation_alias="AUTOPACK_DATA_DIR")
    database_url: str | None = Field(None, validation_alias="DATABASE_URL")
    autonomous_runs_dir: Path = Field(Path(".autonomous_runs"), validation_alias="AUTONOMOUS_RUNS_DIR")
    repo_path: Path = Field(Path("/workspace"), validation_alias="REPO_PATH")
    # Governed patch apply: comma lists replace the reference's defaults when set.
    governance_protected_paths: str = Field("", validation_alias="AUTOPACK_PROTECTED_PATHS")
    governance_always_allowed_paths: str = Field("", validation_alias="AUTOPACK_ALWAYS_ALLOWED_PATHS")
    patch_max_bytes: int = Field(5 * 1024 * 1024, ge=1, validation_alias="AUTOPACK_PATCH_MAX_BYTES")
    patch_max_file_bytes: int = Field(5 * 1024 * 1024, ge=1, validation_alias="AUTOPACK_PATCH_MAX_FILE_BYTES")
    patch_check_python: bool = Field(True, validation_alias="AUTOPACK_PATCH_CHECK_PYTHON")
    patch_apply_timeout_seconds: float = Field(
        30.0, gt=0, validation_alias="AUTOPACK_PATCH_APPLY_TIMEOUT_SECONDS")
    # DEBUG_DB_IDENTITY and the kill switches (AUTOPACK_ENABLE_*) are read from the environment on
    # every /health call, as the reference does, so flipping one needs no restart.
    api_key: SecretStr | None = Field(None, validation_alias="AUTOPACK_API_KEY")
    secret_key: SecretStr | None = Field(None, validation_alias="AUTOPACK_SECRET_KEY")
    jwt_private_key: SecretStr | None = Field(None, validation_alias="JWT_PRIVATE_KEY")
    jwt_private_key_file: Path | None = Field(None, validation_alias="JWT_PRIVATE_KEY_FILE")
    jwt_issuer: str = Field("autopack", validation_alias="JWT_ISSUER")
    jwt_audience: str = Field("autopack-api", validation_alias="JWT_AUDIENCE")
    access_token_expire_minutes: int = Field(1440, ge=1, le=60 * 24 * 30,
                                             validation_alias="ACCESS_TOKEN_EXPIRE_MINUTES")
    rate_limit_prefix: str = Field("autopack", validation_alias="AUTOPACK_RATE_LIMIT_PREFIX")
    public_read: bool = Field(False, validation_alias="AUTOPACK_PUBLIC_READ")
    # GET /runs/{id}/artifacts/file returns at most this many bytes (X-Artifact-* headers say so).
    artifact_max_bytes: int = Field(1024 * 1024, ge=1, le=2**31 - 1, validation_alias="AUTOPACK_ARTIFACT_MAX_BYTES")
    qdrant_host: str | None = Field(None, validation_alias="QDRANT_HOST")
    # Default off (DECISIONS §3.10); anything but true/1/yes/on reads as off, and production ignores it.
    auto_approve_build113: bool = Field(False, validation_alias="AUTO_APPROVE_BUILD113")
    max_body_bytes: int = Field(10 * 1024 * 1024, validation_alias="AUTOPACK_MAX_BODY_BYTES")
    rate_limit_storage: str = Field("memory://", validation_alias="AUTOPACK_RATE_LIMIT_STORAGE")
    rate_limit_enabled: bool = Field(True, validation_alias="AUTOPACK_RATE_LIMIT_ENABLED")
    runs_start_rate_limit: str = Field("10/minute", validation_alias="AUTOPACK_RUNS_START_RATE_LIMIT")
    trusted_proxies: str = Field("", validation_alias="AUTOPACK_TRUSTED_PROXIES")
    cors_allowed_origins: str = Field("", validation_alias="CORS_ALLOWED_ORIGINS")
    log_level: str = Field("INFO", validation_alias="AUTOPACK_LOG_LEVEL")
    access_log: bool = Field(True, validation_alias="AUTOPACK_ACCESS_LOG")
    mirror_sync: bool = Field(False, validation_alias="AUTOPACK_MIRROR_SYNC")
    read_threads: int = Field(0, ge=0, le=64, validation_alias="AUTOPACK_READ_THREADS")  # 0: auto
    write_threads: int = Field(0, ge=0, le=64, validation_alias="AUTOPACK_WRITE_THREADS")  # 0: auto
    health_cache_seconds: float = Field(1.0, ge=0, le=60, validation_alias="AUTOPACK_HEALTH_CACHE_SECONDS")
    db_pool_size: int = Field(0, ge=0, le=1000, validation_alias="AUTOPACK_DB_POOL_SIZE")  # 0 = per database
    sqlite_busy_timeout_ms: int = Field(30000, validation_alias="AUTOPACK_SQLITE_BUSY_TIMEOUT_MS")
    oauth_refresh_worker_enabled: bool = Field(True, validation_alias="AUTOPACK_OAUTH_REFRESH_WORKER")
    oauth_refresh_poll_seconds: float = Field(
        5.0, gt=0, validation_alias="AUTOPACK_OAUTH_REFRESH_POLL_SECONDS")
    oauth_refresh_lease_seconds: float = Field(
        120.0, gt=0, validation_alias="AUTOPACK_OAUTH_REFRESH_LEASE_SECONDS")
    oauth_refresh_backoff_seconds: float = Field(
        5.0, ge=0, validation_alias="AUTOPACK_OAUTH_REFRESH_BACKOFF_SECONDS")
    oauth_refresh_max_wait_seconds: float = Field(
        300.0, ge=0, validation_alias="AUTOPACK_OAUTH_REFRESH_MAX_WAIT_SECONDS")
    oauth_refresh_timeout_seconds: float = Field(
        30.0, gt=0, validation_alias="AUTOPACK_OAUTH_REFRESH_TIMEOUT_SECONDS")
    oauth_admin_rate_limit: str = Field("5/minute", validation_alias="AUTOPACK_OAUTH_ADMIN_RATE_LIMIT")
    approval_timeout_minutes: int = Field(15, ge=1, le=1440, validation_alias="APPROVAL_TIMEOUT_MINUTES")
    # Only changes reason texts: a timeout never approves (DECISIONS §3.9).
    approval_default_on_timeout: Literal["reject", "approve"] = Field(
        "reject", validation_alias="APPROVAL_DEFAULT_ON_TIMEOUT")
    approval_worker_enabled: bool = Field(True, validation_alias="AUTOPACK_APPROVAL_WORKER")
    approval_poll_seconds: float = Field(30.0, gt=0, validation_alias="AUTOPACK_APPROVAL_POLL_SECONDS")
    # Autopilot execution: approved actions are applied by a worker through a platform adapter.
    autopilot_worker_enabled: bool = Field(True, validation_alias="AUTOPACK_AUTOPILOT_WORKER")
    autopilot_poll_seconds: float = Field(5.0, gt=0, validation_alias="AUTOPACK_AUTOPILOT_POLL_SECONDS")
    autopilot_lease_seconds: float = Field(300.0, gt=0, validation_alias="AUTOPACK_AUTOPILOT_LEASE_SECONDS")
    autopilot_max_attempts: int = Field(3, ge=1, le=10, validation_alias="AUTOPACK_AUTOPILOT_MAX_ATTEMPTS")
    autopilot_max_retry_wait_seconds: float = Field(
        30.0, ge=0, le=600, validation_alias="AUTOPACK_AUTOPILOT_MAX_RETRY_WAIT_SECONDS")
    platform_timeout_seconds: float = Field(10.0, gt=0, le=120, validation_alias="AUTOPACK_PLATFORM_TIMEOUT_SECONDS")
    # Event streams: how often a stream polls the event log, the heartbeat comment, retention, and an
    # optional Redis for wake-ups between polls (else the rate-limit storage when that is Redis).
    events_poll_seconds: float = Field(1.0, gt=0, le=60, validation_alias="AUTOPACK_EVENTS_POLL_SECONDS")
    events_heartbeat_seconds: float = Field(15.0, gt=0, le=3600, validation_alias="AUTOPACK_EVENTS_HEARTBEAT_SECONDS")
    events_retention_days: float = Field(30.0, gt=0, validation_alias="AUTOPACK_EVENTS_RETENTION_DAYS")
    events_redis: str | None = Field(None, validation_alias="AUTOPACK_EVENTS_REDIS")
    # A stream ends after this long (0: never) and the client resumes with Last-Event-ID: its access is
    # checked again, so a revoked membership stops a stream too.
    events_max_stream_seconds: float = Field(300.0, ge=0, validation_alias="AUTOPACK_EVENTS_MAX_STREAM_SECONDS")
    # JSON `{"<tenant_id>": {"meta": {...}, "google": {...}}}` or a path to a file holding it.
    platform_credentials: SecretStr | None = Field(None, validation_alias="AUTOPACK_PLATFORM_CREDENTIALS")
    # Dashboard: the cap /dashboard/usage measures providers against; an optional model-mapping file
    # (the reference's config/models.yaml shape, YAML or JSON) replacing the built-in mapping.
    run_token_cap: int = Field(5_000_000, ge=1, le=2**63 - 1, validation_alias="RUN_TOKEN_CAP")
    models_config: Path | None = Field(None, validation_alias="AUTOPACK_MODELS_CONFIG")
    # Identity hardening: self-registration (off in production unless allowed), login throttling.
    allow_registration: bool = Field(False, validation_alias="AUTOPACK_ALLOW_REGISTRATION")
    register_rate_limit: str = Field("5/hour", validation_alias="AUTOPACK_REGISTER_RATE_LIMIT")
    login_max_failures: int = Field(5, ge=1, le=1000, validation_alias="AUTOPACK_LOGIN_MAX_FAILURES")
    login_failure_window_seconds: int = Field(
        900, ge=1, le=86400, validation_alias="AUTOPACK_LOGIN_FAILURE_WINDOW_SECONDS")
    login_lockout_max_seconds: int = Field(
        900, ge=1, le=86400, validation_alias="AUTOPACK_LOGIN_LOCKOUT_MAX_SECONDS")
    # Operator console (/ui): how long a sign-in lasts (the session cookie's access token).
    ui_session_minutes: int = Field(480, ge=5, le=1440, validation_alias="AUTOPACK_UI_SESSION_MINUTES")
    # Transport bounds (uvicorn and the request guard): header size, body read time, idle connections.
    max_header_bytes: int = Field(16 * 1024, ge=1024, le=1024 * 1024, validation_alias="AUTOPACK_MAX_HEADER_BYTES")
    body_timeout_seconds: float = Field(15.0, gt=0, le=3600, validation_alias="AUTOPACK_BODY_TIMEOUT_SECONDS")
    header_timeout_seconds: float = Field(
        10.0, gt=0, le=3600, validation_alias="AUTOPACK_HEADER_TIMEOUT_SECONDS")
    keepalive_timeout_seconds: float = Field(
        5.0, gt=0, le=3600, validation_alias="AUTOPACK_KEEPALIVE_TIMEOUT_SECONDS")
    # /docs, /redoc and /openapi.json: None means on in development, off in production.
    docs_public: bool | None = Field(None, validation_alias="AUTOPACK_DOCS_PUBLIC")
    # Storage optimizer: the only trees a scan may walk (comma list); scans above the inline limit run
    # in the background, claimed through the database by any instance's worker.
    storage_roots: str = Field("", validation_alias="AUTOPACK_STORAGE_ROOTS")
    storage_inline_max_items: int = Field(10_000, ge=1, le=10_000_000,
                                          validation_alias="AUTOPACK_STORAGE_INLINE_MAX_ITEMS")
    storage_worker_enabled: bool = Field(True, validation_alias="AUTOPACK_STORAGE_WORKER")
    storage_poll_seconds: float = Field(10.0, gt=0, le=3600, validation_alias="AUTOPACK_STORAGE_POLL_SECONDS")
    storage_lease_seconds: float = Field(60.0, gt=0, le=86400, validation_alias="AUTOPACK_STORAGE_LEASE_SECONDS")
    steam_path: Path | None = Field(None, validation_alias="STEAM_PATH")
    # POST /files/upload: bodies past the limit get 413 and leave nothing behind.
    upload_max_bytes: int = Field(50 * 1024 * 1024, ge=1, le=2**40, validation_alias="AUTOPACK_UPLOAD_MAX_BYTES")
    upload_dir: Path | None = Field(None, validation_alias="AUTOPACK_UPLOAD_DIR")  # None: <runs dir>/_uploads
    # Unset: on outside production; set: on only for 1/true/yes/enabled (the reference's rule).
    research_api_enabled: str | None = Field(None, validation_alias="RESEARCH_API_ENABLED")
    telegram_bot_token: SecretStr | None = Field(None, validation_alias="TELEGRAM_BOT_TOKEN")
    telegram_chat_id: str | None = Field(None, validation_alias="TELEGRAM_CHAT_ID")
    telegram_webhook_secret: SecretStr | None = Field(None, validation_alias="TELEGRAM_WEBHOOK_SECRET")
    telegram_api_base: str = Field("https://api.telegram.org", validation_alias="TELEGRAM_API_BASE")
    telegram_timeout_seconds: float = Field(5.0, gt=0, le=120, validation_alias="TELEGRAM_TIMEOUT_SECONDS")
    telegram_send_attempts: int = Field(3, ge=1, le=10, validation_alias="TELEGRAM_SEND_ATTEMPTS")
    telegram_retry_backoff_seconds: float = Field(
        1.0, ge=0, le=60, validation_alias="TELEGRAM_RETRY_BACKOFF_SECONDS")
    telegram_max_retry_wait_seconds: float = Field(
        5.0, ge=0, le=300, validation_alias="TELEGRAM_MAX_RETRY_WAIT_SECONDS")

    @field_validator("auto_approve_build113", mode="before")
    @classmethod
    def _lenient_flag(cls, value: object) -> bool:
        # A typo must not stop the server; it must not approve anything either.
        return str(value).strip().lower() in {"true", "1", "yes", "on"}

    @field_validator("approval_default_on_timeout", mode="before")
    @classmethod
    def _lower_choice(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("telegram_bot_token", "telegram_webhook_secret", "telegram_chat_id", "models_config",
                     "steam_path", "upload_dir", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @property
    def is_production(self) -> bool:
        """True when running with production safeguards."""
        return self.autopack_env.strip().lower() == "production"

    @property
    def research_enabled(self) -> bool:
        """The research API answers (else 503): RESEARCH_API_ENABLED when set, else outside production."""
        if self.research_api_enabled is None:
            return not self.is_production
        return self.research_api_enabled.strip().lower() in {"1", "true", "yes", "enabled"}

    @property
    def uploads_path(self) -> Path:
        """Where uploads are stored: AUTOPACK_UPLOAD_DIR, else `<runs dir>/_uploads`."""
        return (self.upload_dir or self.autonomous_runs_dir / "_uploads").resolve()

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
    def human_notes_path(self) -> Path:
        """The human notes mirror, `<runs dir>/.project/human_notes.md`."""
        return self.autonomous_runs_dir.resolve() / PROJECT_MIRROR_FOLDER / "human_notes.md"

    @property
    def project_backlog_path(self) -> Path:
        """The project backlog JSON mirror, `<runs dir>/.project/project_issue_backlog.json`."""
        return self.autonomous_runs_dir.resolve() / PROJECT_MIRROR_FOLDER / "project_issue_backlog.json"


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (cleared by tests through `get_settings.cache_clear()`)."""
    return Settings()
