"""All ORM models, imported together so metadata is complete."""

from autopack.db.models.approvals import ApprovalRequest
from autopack.db.models.audit import AuditChainHead, AuditEvent
from autopack.db.models.autopilot import (
                                          AutopilotAction,
                                          AutopilotActionEvent,
                                          AutopilotSettings,
                                          SignalHealthReading,
                                          TrustGateAuditLog,
)
from autopack.db.models.campaigns import CampaignMetricsDaily, PlatformRequest, SandboxCampaign
from autopack.db.models.dashboard import AbTestResult, HumanNote, ModelOverride
from autopack.db.models.enforcement import (
                                          EnforcementAuditLog,
                                          PendingConfirmationToken,
                                          TenantEnforcementRule,
                                          TenantEnforcementSettings,
)
from autopack.db.models.errors import ErrorReport
from autopack.db.models.events import Event
from autopack.db.models.files import UploadedFile
from autopack.db.models.governance import GovernanceRequest
from autopack.db.models.identity import ApiKey, Tenant, TenantMembership, User
from autopack.db.models.issues import PhaseIssue, ProjectIssueBacklog, RunIssueIndex
from autopack.db.models.oauth import OAuthCredential, OAuthCredentialEvent
from autopack.db.models.research import ResearchNote, ResearchSession, ResearchSource
from autopack.db.models.results import AuditorResultRecord, BuilderResultRecord
from autopack.db.models.roles import UserRole
from autopack.db.models.runs import Phase, Run, RunEvent, RunTotals, Tier
from autopack.db.models.storage import (
                                          ApprovalDecision,
                                          CleanupCandidate,
                                          ExecutionCheckpoint,
                                          LearnedRule,
                                          StorageScan,
)
from autopack.db.models.telegram import TelegramOutbox, TelegramUpdate
from autopack.db.models.usage import LlmUsageEvent, Phase6Metrics, TokenEfficiencyMetrics

__all__ = [
                                          "AbTestResult",
                                          "ApiKey",
                                          "ApprovalDecision",
                                          "ApprovalRequest",
                                          "AuditChainHead",
                                          "AuditEvent",
                                          "AuditorResultRecord",
                                          "AutopilotAction",
                                          "AutopilotActionEvent",
                                          "AutopilotSettings",
                                          "BuilderResultRecord",
                                          "CampaignMetricsDaily",
                                          "CleanupCandidate",
                                          "EnforcementAuditLog",
                                          "ErrorReport",
                                          "Event",
                                          "ExecutionCheckpoint",
                                          "GovernanceRequest",
                                          "HumanNote",
                                          "LearnedRule",
                                          "LlmUsageEvent",
                                          "ModelOverride",
                                          "OAuthCredential",
                                          "OAuthCredentialEvent",
                                          "PendingConfirmationToken",
                                          "Phase",
                                          "Phase6Metrics",
                                          "PhaseIssue",
                                          "PlatformRequest",
                                          "ProjectIssueBacklog",
                                          "ResearchNote",
                                          "ResearchSession",
                                          "ResearchSource",
                                          "Run",
                                          "RunEvent",
                                          "RunIssueIndex",
                                          "RunTotals",
                                          "SandboxCampaign",
                                          "SignalHealthReading",
                                          "StorageScan",
                                          "TelegramOutbox",
                                          "TelegramUpdate",
                                          "Tenant",
                                          "TenantEnforcementRule",
                                          "TenantEnforcementSettings",
                                          "TenantMembership",
                                          "Tier",
                                          "TokenEfficiencyMetrics",
                                          "TrustGateAuditLog",
                                          "UploadedFile",
                                          "User",
                                          "UserRole",
]
