"""The executor and the server's kill switches: phase-6 telemetry is sent only while /health says it is on."""

from __future__ import annotations

import httpx
import pytest

from autopack.client import Client
from autopack.executor.loop import Executor, Options
from tests.executor.conftest import KEY, diff, plan, serving
from tests.executor.test_e2e import HEADERS, Scripted, start

CHECK = "python3 -c \"import sys; sys.exit(open('app.txt').read() != 'version = 3\\n')\""
WRONG = diff("app.txt", "version = 1\n", "version = 2\n")
RIGHT = diff("app.txt", "version = 1\n", "version = 3\n")


@pytest.fixture(scope="module")
def phase6_server(tmp_path_factory):
    """A live server with the phase6_metrics kill switch on."""
    with serving(tmp_path_factory, AUTOPACK_ENABLE_PHASE6_METRICS="1") as url:
        yield url


class Recording(Client):
    """A client that keeps every metrics body it posts."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.metrics: list[dict] = []

    def record_phase_metrics(self, run_id, phase_id, metrics):
        self.metrics.append(metrics)
        return super().record_phase_metrics(run_id, phase_id, metrics)


def execute_retried_phase(url: str, run_id: str, workspace) -> tuple[list[dict], dict]:
    """A phase whose first patch fails its check and whose second passes: (metrics bodies sent, phase6-stats)."""
    start(url, plan(run_id, [{"phase_id": "P1", "scope": {"paths": ["app.txt"], "ci": [CHECK],
                                                          "deliverables": ["app.txt"]}}]))
    with Recording(url, api_key=KEY) as client:
        outcome = Executor(client, run_id, workspace, Scripted({"P1": [WRONG, RIGHT]}), options=Options(),
                           say=lambda _: None).run()
    assert outcome.completed == ["P1"]
    stats = httpx.get(f"{url}/dashboard/runs/{run_id}/phase6-stats", headers=HEADERS).json()
    return client.metrics, stats


def test_phase6_metrics_are_not_sent_while_the_switch_is_off(server, workspace):
    assert httpx.get(f"{server}/health").json()["kill_switches"]["phase6_metrics"] is False
    sent, stats = execute_retried_phase(server, "p6-off", workspace)
    assert [sorted(body) for body in sent] == [["token_efficiency"]]
    assert stats["total_phases"] == 0


def test_phase6_metrics_are_sent_while_the_switch_is_on(phase6_server, workspace):
    assert httpx.get(f"{phase6_server}/health").json()["kill_switches"]["phase6_metrics"] is True
    sent, stats = execute_retried_phase(phase6_server, "p6-on", workspace)
    assert [sorted(body) for body in sent] == [["phase6", "token_efficiency"]]
    assert sent[0]["phase6"]["plan_deliverables_count"] == 1
    assert stats["total_phases"] == 1 and stats["failure_hardening_triggered_count"] == 1
    assert stats["failure_patterns_detected"] == {"check_failed": 1}
