"""YAML run plans: the shipped example, the nested and the flat shapes, and plans that are not plans."""

from __future__ import annotations

import pytest

from autopack.remote.plan import PlanError, example_text, load_plan
from autopack.runs.schemas import RunStartRequest


def test_the_example_plan_is_a_valid_start_request(tmp_path):
    plan = tmp_path / "plan.yaml"
    plan.write_text(example_text())
    body = load_plan(plan, run_id="from-the-example")
    request = RunStartRequest.model_validate(body)  # the server's own schema accepts it
    assert request.run.run_id == "from-the-example"
    assert [(t.tier_id, t.tier_index) for t in request.tiers] == [("T1", 0), ("T2", 1)]
    assert [(p.phase_id, p.phase_index, p.tier_id) for p in request.phases] == [
        ("T1.P1", 0, "T1"), ("T1.P2", 1, "T1"), ("T2.P1", 2, "T2")]
    assert request.phases[0].scope["read_only_context"] == [{"path": "README.md", "reason": ""}]


def test_the_flat_shape_is_taken_as_it_is(tmp_path):
    plan = tmp_path / "flat.yaml"
    plan.write_text("run: {run_id: flat}\ntiers: [{tier_id: A, tier_index: 3, name: A}]\n"
                    "phases: [{phase_id: A1, tier_id: A, phase_index: 7, name: first}]\n")
    body = load_plan(plan)
    assert body["tiers"][0]["tier_index"] == 3 and body["phases"][0]["phase_index"] == 7


@pytest.mark.parametrize("text, message", [
    ("- just a list\n", "a plan is a mapping with a `run` mapping"),
    ("run: [1]\n", "a plan is a mapping with a `run` mapping"),
    ("run: {run_id: x}\ntiers: {T1: 1}\n", "`tiers` and `phases` must be lists"),
    ("run: {run_id: x}\ntiers: [T1]\n", "tier 1 must be a mapping"),
    ("run: {run_id: x\n", "is not valid YAML"),
])
def test_a_file_that_is_not_a_plan_is_refused_with_the_reason(tmp_path, text, message):
    plan = tmp_path / "bad.yaml"
    plan.write_text(text)
    with pytest.raises(PlanError, match=message.replace("`", ".").replace("[", r"\[")):
        load_plan(plan)
