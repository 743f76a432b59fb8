"""All ORM models, imported together so metadata is complete."""

from autopack.db.models.errors import ErrorReport
from autopack.db.models.issues import PhaseIssue, ProjectIssueBacklog, RunIssueIndex
from autopack.db.models.results import AuditorResultRecord, BuilderResultRecord
from autopack.db.models.runs import Phase, Run, RunEvent, Tier
from autopack.db.models.usage import LlmUsageEvent, Phase6Metrics, TokenEfficiencyMetrics

__all__ = [
    "AuditorResultRecord",
    "BuilderResultRecord",
    "ErrorReport",
    "LlmUsageEvent",
    "Phase",
    "Phase6Metrics",
    "PhaseIssue",
    "ProjectIssueBacklog",
    "Run",
    "RunEvent",
    "RunIssueIndex",
    "Tier",
    "TokenEfficiencyMetrics",
]
