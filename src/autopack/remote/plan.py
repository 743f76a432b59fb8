"""Run plans in YAML: a run, its tiers and phases (phases nested in their tier, or flat as the API takes them)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

EXAMPLE = "example_plan.yaml"


class PlanError(ValueError):
    """The plan file cannot be read or does not have the plan's shape."""


def example_text() -> str:
    """The example plan shipped with the package."""
    return resources.files("autopack.remote").joinpath(EXAMPLE).read_text(encoding="utf-8")


def load_plan(path: Path, run_id: str | None = None) -> dict[str, Any]:
    """The `POST /runs/start` body a plan file stands for (tier and phase indexes from their order)."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise PlanError(f"cannot read {path}: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise PlanError(f"{path} is not valid YAML: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("run"), dict):
        raise PlanError(f"{path}: a plan is a mapping with a `run` mapping (see `autopack runs example-plan`)")
    run = dict(data["run"])
    if run_id:
        run["run_id"] = run_id
    tiers_in, flat_phases = data.get("tiers") or [], data.get("phases") or []
    if not isinstance(tiers_in, list) or not isinstance(flat_phases, list):
        raise PlanError(f"{path}: `tiers` and `phases` must be lists")
    tiers, phases = [], []
    for t_index, tier in enumerate(tiers_in):
        if not isinstance(tier, dict):
            raise PlanError(f"{path}: tier {t_index + 1} must be a mapping")
        tier = dict(tier)
        nested = tier.pop("phases", None) or []
        tier.setdefault("tier_index", t_index)
        tier.setdefault("name", tier.get("tier_id", f"Tier {t_index + 1}"))
        tiers.append(tier)
        for phase in nested:
            if not isinstance(phase, dict):
                raise PlanError(f"{path}: every phase of tier {tier.get('tier_id')} must be a mapping")
            phases.append({**phase, "tier_id": tier.get("tier_id")})
    phases.extend(p for p in flat_phases if isinstance(p, dict))
    for p_index, phase in enumerate(phases):
        phase.setdefault("phase_index", p_index)
        phase.setdefault("name", phase.get("phase_id", f"Phase {p_index + 1}"))
    return {"run": run, "tiers": tiers, "phases": phases}
