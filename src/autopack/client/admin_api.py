"""Reads and administration: health, artifacts, dashboard, identity, tenants, OAuth credentials, audit."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from autopack.client.calls import Call, Ref, body, next_cursor, query

if TYPE_CHECKING:
    from autopack.audit.schemas import AuditEventPage, VerifyReport
    from autopack.auth.schemas import Jwks, KeyStatusResponse, MeResponse, TokenResponse, UserResponse
    from autopack.dashboard.schemas import (
        AbResult,
        AbResultsPage,
        ConsolidatedTokenMetrics,
        DashboardRunStatus,
        HumanNoteResponse,
        HumanNotesPage,
        ModelMapping,
        ModelOverrideResponse,
        Phase6Stats,
        TokenEfficiencyStats,
        UsageResponse,
    )
    from autopack.health.schemas import ServiceDocument, ServiceHealth
    from autopack.oauth.schemas import (
        CredentialHealth,
        CredentialOut,
        EventsResponse,
        HealthReport,
        ProvidersResponse,
        RefreshQueued,
        StatusMessage,
    )
    from autopack.operator.schemas import ArtifactIndexResponse, BrowserArtifactsResponse
    from autopack.tenants.schemas import (
        MemberOut,
        MemberPage,
        MemberRemoved,
        Membership,
        TenantOut,
        TenantPage,
    )


def _dash(name: str, many: bool = False) -> Ref:
    return Ref("dashboard", name, many)


class AdminApi:
    """Methods defined once for both clients (see `RunsApi`)."""

    def _send(self, call: Call) -> Any:
        raise NotImplementedError

    def _iterate(self, call: Call, pager) -> Any:
        raise NotImplementedError

    def _set_token(self, token: str | None) -> None:
        raise NotImplementedError

    # health and service
    def health(self) -> ServiceHealth:
        """GET /health: `status` healthy, degraded or unhealthy (a 503 is an answer here, not an error)."""
        return self._send(Call("GET", "/health", accept=(503,), model=Ref("health", "ServiceHealth")))

    def service_info(self) -> ServiceDocument:
        """GET /: the service document."""
        return self._send(Call("GET", "/", model=Ref("health", "ServiceDocument")))

    def metrics_text(self) -> str:
        """GET /metrics: Prometheus text."""
        return self._send(Call("GET", "/metrics", text=True))

    # operator surface
    def artifact_index(self, run_id: str, limit: int = 1000, offset: int = 0) -> ArtifactIndexResponse:
        """GET /runs/{run_id}/artifacts/index."""
        return self._send(Call("GET", f"/runs/{run_id}/artifacts/index", params=query(limit=limit, offset=offset),
                               model=Ref("operator", "ArtifactIndexResponse")))

    def artifact_file(self, run_id: str, path: str) -> str:
        """GET /runs/{run_id}/artifacts/file?path=...: the file's text (capped by the server)."""
        return self._send(Call("GET", f"/runs/{run_id}/artifacts/file", params={"path": path}, text=True))

    def browser_artifacts(self, run_id: str) -> BrowserArtifactsResponse:
        """GET /runs/{run_id}/browser/artifacts: screenshots and HTML files."""
        return self._send(Call("GET", f"/runs/{run_id}/browser/artifacts",
                               model=Ref("operator", "BrowserArtifactsResponse")))

    # dashboard
    def run_status(self, run_id: str) -> DashboardRunStatus:
        """GET /dashboard/runs/{run_id}/status."""
        return self._send(Call("GET", f"/dashboard/runs/{run_id}/status", model=_dash("DashboardRunStatus")))

    def usage(self, period: str = "week", limit: int = 1000, offset: int = 0) -> UsageResponse:
        """GET /dashboard/usage: token usage by provider and model over a day, week or month."""
        return self._send(Call("GET", "/dashboard/usage", params=query(period=period, limit=limit, offset=offset),
                               model=_dash("UsageResponse")))

    def models(self, run_id: str | None = None, limit: int = 1000, offset: int = 0) -> list[ModelMapping]:
        """GET /dashboard/models: the model mapping (global, or as a run sees it)."""
        return self._send(Call("GET", "/dashboard/models", params=query(run_id=run_id, limit=limit, offset=offset),
                               model=_dash("ModelMapping", many=True)))

    def override_model(self, override: Any) -> ModelOverrideResponse:
        """POST /dashboard/models/override: a global or per-run model override."""
        return self._send(Call("POST", "/dashboard/models/override",
                               json=body(_dash("ModelOverrideRequest"), override),
                               model=_dash("ModelOverrideResponse")))

    def token_efficiency(self, run_id: str) -> TokenEfficiencyStats:
        """GET /dashboard/runs/{run_id}/token-efficiency (legacy; needs a key)."""
        return self._send(Call("GET", f"/dashboard/runs/{run_id}/token-efficiency",
                               model=_dash("TokenEfficiencyStats")))

    def phase6_stats(self, run_id: str) -> Phase6Stats:
        """GET /dashboard/runs/{run_id}/phase6-stats (legacy; needs a key)."""
        return self._send(Call("GET", f"/dashboard/runs/{run_id}/phase6-stats", model=_dash("Phase6Stats")))

    def consolidated_metrics(self, run_id: str, limit: int = 1000, offset: int = 0) -> ConsolidatedTokenMetrics:
        """GET /dashboard/runs/{run_id}/consolidated-metrics (503 ServerError while its switch is off)."""
        return self._send(Call("GET", f"/dashboard/runs/{run_id}/consolidated-metrics",
                               params=query(limit=limit, offset=offset), model=_dash("ConsolidatedTokenMetrics")))

    def ab_results(self, test_id: str | None = None, valid_only: bool = True, limit: int = 100,
                   offset: int = 0) -> AbResultsPage:
        """GET /dashboard/ab-results."""
        params = query(test_id=test_id, valid_only=str(valid_only).lower(), limit=limit, offset=offset)
        return self._send(Call("GET", "/dashboard/ab-results", params=params, model=_dash("AbResultsPage")))

    def record_ab_result(self, result: Any) -> AbResult:
        """POST /dashboard/ab-results."""
        return self._send(Call("POST", "/dashboard/ab-results", json=body(_dash("AbResultRequest"), result),
                               model=_dash("AbResult")))

    def add_human_note(self, note: str, run_id: str | None = None) -> HumanNoteResponse:
        """POST /dashboard/human-notes."""
        payload = body(_dash("HumanNoteRequest"), query(note=note, run_id=run_id))
        return self._send(Call("POST", "/dashboard/human-notes", json=payload, model=_dash("HumanNoteResponse")))

    def human_notes(self, limit: int = 100, offset: int = 0) -> HumanNotesPage:
        """GET /dashboard/human-notes."""
        return self._send(Call("GET", "/dashboard/human-notes", params=query(limit=limit, offset=offset),
                               model=_dash("HumanNotesPage")))

    # identity
    def register(self, username: str, email: str, password: str) -> UserResponse:
        """POST /api/auth/register (closed in production unless allowed)."""
        payload = body(Ref("auth", "RegisterRequest"), {"username": username, "email": email, "password": password})
        return self._send(Call("POST", "/api/auth/register", json=payload, model=Ref("auth", "UserResponse")))

    def login(self, username: str, password: str) -> TokenResponse:
        """POST /api/auth/login; the client sends the token from then on."""
        payload = body(Ref("auth", "LoginRequest"), {"username": username, "password": password})
        return self._send(Call("POST", "/api/auth/login", json=payload, model=Ref("auth", "TokenResponse"),
                               after=self._keep_token))

    def _keep_token(self, answer: TokenResponse) -> TokenResponse:
        self._set_token(answer.access_token)
        return answer

    def me(self) -> MeResponse:
        """GET /api/auth/me: the logged-in user and their instance roles."""
        return self._send(Call("GET", "/api/auth/me", model=Ref("auth", "MeResponse")))

    def jwks(self) -> Jwks:
        """GET /api/auth/.well-known/jwks.json: the public keys that verify tokens."""
        return self._send(Call("GET", "/api/auth/.well-known/jwks.json", model=Ref("auth", "Jwks")))

    def key_status(self) -> KeyStatusResponse:
        """GET /api/auth/key-status."""
        return self._send(Call("GET", "/api/auth/key-status", model=Ref("auth", "KeyStatusResponse")))

    # tenants (superuser)
    def create_tenant(self, slug: str, name: str) -> TenantOut:
        """POST /api/v1/tenants."""
        payload = body(Ref("tenants", "TenantCreate"), query(slug=slug, name=name))
        return self._send(Call("POST", "/api/v1/tenants", json=payload, envelope=True,
                               model=Ref("tenants", "TenantOut")))

    def list_tenants(self, limit: int = 50, offset: int = 0) -> TenantPage:
        """GET /api/v1/tenants: `tenants`, `total`, `limit`, `offset`."""
        return self._send(Call("GET", "/api/v1/tenants", params=query(limit=limit, offset=offset), envelope=True,
                               model=Ref("tenants", "TenantPage")))

    def get_tenant(self, tenant_id: int) -> TenantOut:
        """GET /api/v1/tenants/{id}."""
        return self._send(Call("GET", f"/api/v1/tenants/{tenant_id}", envelope=True, model=Ref("tenants", "TenantOut")))

    def tenant_members(self, tenant_id: int, limit: int = 50, offset: int = 0) -> MemberPage:
        """GET /api/v1/tenants/{id}/members."""
        return self._send(Call("GET", f"/api/v1/tenants/{tenant_id}/members",
                               params=query(limit=limit, offset=offset), envelope=True,
                               model=Ref("tenants", "MemberPage")))

    def set_member(self, tenant_id: int, role: str, *, user_id: int | None = None,
                   username: str | None = None) -> MemberOut:
        """PUT /api/v1/tenants/{id}/members: give a user a role in the tenant."""
        payload = body(Ref("tenants", "MemberSet"), query(role=role, user_id=user_id, username=username))
        return self._send(Call("PUT", f"/api/v1/tenants/{tenant_id}/members", json=payload, envelope=True,
                               model=Ref("tenants", "MemberOut")))

    def remove_member(self, tenant_id: int, user_id: int) -> MemberRemoved:
        """DELETE /api/v1/tenants/{id}/members/{user_id}."""
        return self._send(Call("DELETE", f"/api/v1/tenants/{tenant_id}/members/{user_id}", envelope=True,
                               model=Ref("tenants", "MemberRemoved")))

    def my_membership(self, tenant_id: int) -> Membership:
        """GET /api/v1/tenant/{id}/membership: the caller's role there."""
        return self._send(Call("GET", f"/api/v1/tenant/{tenant_id}/membership", envelope=True,
                               model=Ref("tenants", "Membership")))

    # OAuth credentials
    def oauth_health(self) -> HealthReport:
        """GET /api/auth/oauth/health."""
        return self._send(Call("GET", "/api/auth/oauth/health", model=Ref("oauth", "HealthReport")))

    def oauth_provider_health(self, provider: str) -> CredentialHealth:
        """GET /api/auth/oauth/health/{provider}."""
        return self._send(Call("GET", f"/api/auth/oauth/health/{provider}", model=Ref("oauth", "CredentialHealth")))

    def oauth_events(self, provider: str | None = None, limit: int = 100,
                     before_id: int | None = None) -> EventsResponse:
        """GET /api/auth/oauth/events: credential lifecycle events, newest first."""
        return self._send(Call("GET", "/api/auth/oauth/events",
                               params=query(provider=provider, limit=limit, before_id=before_id),
                               model=Ref("oauth", "EventsResponse")))

    def oauth_refresh(self, provider: str, max_retries: int = 3) -> RefreshQueued:
        """POST /api/auth/oauth/refresh/{provider} (superuser)."""
        return self._send(Call("POST", f"/api/auth/oauth/refresh/{provider}", params={"max_retries": max_retries},
                               model=Ref("oauth", "RefreshQueued")))

    def oauth_reset(self, provider: str) -> StatusMessage:
        """POST /api/auth/oauth/reset/{provider} (superuser)."""
        return self._send(Call("POST", f"/api/auth/oauth/reset/{provider}", model=Ref("oauth", "StatusMessage")))

    def oauth_providers(self) -> ProvidersResponse:
        """GET /api/auth/oauth/providers."""
        return self._send(Call("GET", "/api/auth/oauth/providers", model=Ref("oauth", "ProvidersResponse")))

    def oauth_register(self, credential: Any) -> CredentialOut:
        """POST /api/auth/oauth/credentials (superuser; the secrets never come back)."""
        return self._send(Call("POST", "/api/auth/oauth/credentials",
                               json=body(Ref("oauth", "CredentialCreate"), credential),
                               model=Ref("oauth", "CredentialOut")))

    def oauth_remove(self, provider: str) -> StatusMessage:
        """DELETE /api/auth/oauth/credentials/{provider} (superuser)."""
        return self._send(Call("DELETE", f"/api/auth/oauth/credentials/{provider}",
                               model=Ref("oauth", "StatusMessage")))

    # audit ledger (superuser)
    def audit_verify(self, tenant_id: str | None = None) -> VerifyReport:
        """GET /audit/verify: is every chain intact?"""
        return self._send(Call("GET", "/audit/verify", params=query(tenant_id=tenant_id),
                               model=Ref("audit", "VerifyReport")))

    def audit_events(self, tenant_id: str | None = None, action: str | None = None, cursor: int | None = None,
                     limit: int = 100, order: str = "asc") -> AuditEventPage:
        """GET /audit/events: one page of ledger events."""
        return self._send(_audit_page(tenant_id, action, cursor, limit, order))

    def iter_audit_events(self, tenant_id: str | None = None, action: str | None = None, page_size: int = 100):
        """Every ledger event in global order."""
        return self._iterate(_audit_page(tenant_id, action, None, page_size, "asc"),
                             lambda call, page: (page.events, next_cursor(call, page)))


def _audit_page(tenant_id, action, cursor, limit, order) -> Call:
    params = query(tenant_id=tenant_id, action=action, cursor=cursor, limit=limit, order=order)
    return Call("GET", "/audit/events", params=params, model=Ref("audit", "AuditEventPage"))
