"""Model mappings: the configured routing table with persisted overrides (DECISIONS §3.14).

The table is roles × (each `category_models` key in file order, then "general") × complexities,
as the reference's ModelRouter lists it. The built-in configuration is the reference's shipped
`config/models.yaml`; `AUTOPACK_MODELS_CONFIG` names a file of the same shape (YAML or JSON) instead.
Overrides stored through `POST /dashboard/models/override` replace single cells, globally or for one
run, and categories that exist only in overrides are listed after the configured ones.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from autopack.audit.service import append_event
from autopack.core.errors import BadRequest, ServiceUnavailable
from autopack.core.settings import get_settings
from autopack.dashboard.schemas import ModelOverrideRequest
from autopack.db.base import utcnow
from autopack.db.models import ModelOverride
from autopack.runs.service import require_run

ROLES = ("builder", "auditor")
COMPLEXITIES = ("low", "medium", "high")
FALLBACK_MODEL = "claude-sonnet-4-5"
GENERAL = "general"

BUILTIN_CONFIG: dict[str, Any] = {
    "complexity_models": {
        "low": {"builder": "claude-sonnet-4-5", "auditor": "claude-sonnet-4-5"},
        "medium": {"builder": "claude-sonnet-4-5", "auditor": "claude-sonnet-4-5"},
        "high": {"builder": "claude-sonnet-4-5", "auditor": "claude-sonnet-4-5"},
    },
    "category_models": {
        "external_feature_reuse": {"builder_model_override": "claude-sonnet-4-5",
                                   "auditor_model_override": "claude-opus-4-5"},
        "security_auth_change": {"builder_model_override": "claude-sonnet-4-5",
                                 "auditor_model_override": "claude-opus-4-5"},
        "schema_contract_change": {"builder_model_override": "claude-sonnet-4-5",
                                   "auditor_model_override": "claude-opus-4-5"},
        "tests": {"builder_model_override": "claude-sonnet-4-5"},
    },
    "defaults": {"high_risk_builder": "gpt-4o", "high_risk_auditor": "gpt-4o"},
}

_cache_lock = threading.Lock()
_cache: dict[str, Any] = {}


def _parse(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))  # JSON is YAML too


def _section(config: dict, name: str) -> dict:
    value = config.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError(f"'{name}' must be a mapping")
    return value


def _validated(config: Any) -> dict[str, Any]:
    if not isinstance(config, dict):
        raise ValueError("the file must hold a mapping")
    categories = _section(config, "category_models")
    for name, entry in categories.items():
        if not isinstance(name, str) or not isinstance(entry, dict | None):
            raise ValueError(f"category_models.{name} must be a mapping")
    for level, entry in _section(config, "complexity_models").items():
        if not isinstance(entry, dict | None):
            raise ValueError(f"complexity_models.{level} must be a mapping")
    _section(config, "defaults")
    return config


def load_config() -> dict[str, Any]:
    """The model configuration (built-in unless AUTOPACK_MODELS_CONFIG names a file); cached by mtime."""
    path = get_settings().models_config
    if path is None:
        return BUILTIN_CONFIG
    try:
        stamp = path.stat().st_mtime_ns
        with _cache_lock:
            if _cache.get("key") == (str(path), stamp):
                return _cache["config"]
        config = _validated(_parse(path))
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise ServiceUnavailable(f"Model configuration {path} could not be read: {exc}") from None
    except yaml.YAMLError as exc:
        raise ServiceUnavailable(
            f"Model configuration {path} could not be read: {type(exc).__name__}") from None
    with _cache_lock:
        _cache.update(key=(str(path), stamp), config=config)
    return config


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def configured_model(config: dict[str, Any], role: str, category: str, complexity: str) -> str:
    """The reference's choice order: category override, complexity model, high-risk default, fallback."""
    entry = (config.get("category_models") or {}).get(category) or {}
    chosen = _text(entry.get(f"{role}_model_override"))
    if chosen:
        return chosen
    chosen = _text(((config.get("complexity_models") or {}).get(complexity) or {}).get(role))
    if chosen:
        return chosen
    return _text((config.get("defaults") or {}).get(f"high_risk_{role}")) or FALLBACK_MODEL


def list_mappings(session: Session, run_id: str | None, limit: int, offset: int) -> list[dict[str, Any]]:
    """Every (role, category, complexity) cell with its model, overrides applied; one page of them."""
    config = load_config()
    if run_id is not None:
        require_run(session, run_id)
    keys = ["global"] + ([f"run:{run_id}"] if run_id is not None else [])
    rows = session.scalars(select(ModelOverride).where(ModelOverride.scope_key.in_(keys))
                           .order_by(ModelOverride.id)).all()
    global_cells = {(r.role, r.category, r.complexity): r.model for r in rows if r.scope == "global"}
    run_cells = {(r.role, r.category, r.complexity): r.model for r in rows if r.scope == "run"}
    categories = [c for c in (config.get("category_models") or {}) if isinstance(c, str)]
    if GENERAL not in categories:
        categories.append(GENERAL)
    known = set(categories)
    categories += sorted({cat for (_, cat, _) in (*global_cells, *run_cells)} - known)
    out: list[dict[str, Any]] = []
    for role in ROLES:
        for category in categories:
            for complexity in COMPLEXITIES:
                cell = (role, category, complexity)
                entry = {"role": role, "category": category, "complexity": complexity}
                if cell in run_cells:
                    entry.update(model=run_cells[cell], scope="run", run_id=run_id)
                else:
                    entry.update(model=global_cells.get(cell)
                                 or configured_model(config, role, category, complexity), scope="global")
                out.append(entry)
    return out[offset:offset + limit]


def set_override(session: Session, request: ModelOverrideRequest, actor: str) -> dict[str, Any]:
    """Store (insert or replace) one override and audit it in the same transaction."""
    if request.scope == "run":
        if request.run_id is None:
            raise BadRequest("run_id is required for run-scoped overrides")
        require_run(session, request.run_id)
        scope_key = f"run:{request.run_id}"
    else:
        if request.run_id is not None:
            raise BadRequest("run_id must not be given for global overrides")
        scope_key = "global"
    where = (ModelOverride.scope_key == scope_key, ModelOverride.role == request.role,
             ModelOverride.category == request.category, ModelOverride.complexity == request.complexity)
    now = utcnow()
    row = session.scalars(select(ModelOverride).where(*where).with_for_update()).one_or_none()
    previous = row.model if row is not None else None
    if row is None:
        try:
            with session.begin_nested():
                row = ModelOverride(scope=request.scope, scope_key=scope_key, run_id=request.run_id,
                                    role=request.role, category=request.category,
                                    complexity=request.complexity, model=request.model,
                                    created_at=now, updated_at=now, updated_by=actor)
                session.add(row)
        except IntegrityError:  # a concurrent request stored the same cell first: replace theirs
            row = session.scalars(select(ModelOverride).where(*where).with_for_update()).one()
            previous = row.model
    if previous is not None:
        row.model, row.updated_at, row.updated_by = request.model, now, actor
    session.flush()
    append_event(session, action="dashboard.model_override_set", actor=actor, target_type="model_override",
                 target_id=row.id, details={
                     "scope": request.scope, "run_id": request.run_id, "role": request.role,
                     "category": request.category, "complexity": request.complexity,
                     "model": request.model, "previous_model": previous})
    base = {"scope": request.scope, "role": request.role, "category": request.category,
            "complexity": request.complexity, "model": request.model, "previous_model": previous}
    if request.scope == "global":
        return {"message": "Global model mapping updated", **base}
    return {"message": "Run model mapping updated", "run_id": request.run_id, **base}

