"""Local fake Meta Graph and Google Ads servers (http.server in a thread on 127.0.0.1).

Each keeps campaign state, applies changes it accepts, records every request (with headers), and
answers scripted errors first when a test queued some. A scripted answer may also apply the change
before failing (`apply=True`: the platform did it, then the answer got lost or timed out).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from tests.http_fakes import reply_json


@dataclass
class Scripted:
    """A scripted answer to the next change request (reads are never scripted)."""

    status: int
    body: dict
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    apply: bool = False


class FakePlatform:
    """Base: threading server, request log, campaign state, scripted failures for changes."""

    def __init__(self):
        self.campaigns: dict[str, dict] = {}
        self.requests: list[dict] = []
        self.script: list[Scripted] = []
        self.lock = threading.Lock()
        platform = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, status: int, body: dict, headers: dict | None = None, delay: float = 0.0):
                if delay:
                    time.sleep(delay)
                data = json.dumps(body).encode()
                reply_json(self, status, data, headers or {})

            def _handle(self, method: str):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode() if length else ""
                record = {"method": method, "path": urlparse(self.path).path, "query": urlparse(self.path).query,
                          "body": raw, "headers": {k.lower(): v for k, v in self.headers.items()},
                          "at": time.monotonic()}
                with platform.lock:
                    platform.requests.append(record)
                status, body, headers, delay = platform.route(record)
                self._answer(status, body, headers, delay)

            def do_GET(self):
                self._handle("GET")

            def do_POST(self):
                self._handle("POST")

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    def route(self, record: dict) -> tuple[int, dict, dict, float]:  # pragma: no cover - overridden
        raise NotImplementedError

    def next_scripted(self) -> Scripted | None:
        """Pop the next scripted failure, if any."""
        with self.lock:
            return self.script.pop(0) if self.script else None

    def queue(self, *answers: Scripted) -> None:
        """Script the next change requests' answers."""
        with self.lock:
            self.script.extend(answers)

    def changes(self) -> list[dict]:
        """The change (mutating) requests received so far."""
        return [r for r in self.requests if self.is_change(r)]

    def is_change(self, record: dict) -> bool:  # pragma: no cover - overridden
        raise NotImplementedError

    def start(self):
        """Serve in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Shut down and free the port."""
        self._server.shutdown()
        self._server.server_close()


class FakeMeta(FakePlatform):
    """Graph API: GET /v19.0/{id}?fields=..., POST /v19.0/{id} form (daily_budget cents, status)."""

    def add(self, campaign_id: str, daily_budget_cents: int, status: str = "ACTIVE") -> None:
        """Create a campaign."""
        self.campaigns[campaign_id] = {"id": campaign_id, "daily_budget": str(daily_budget_cents), "status": status}

    def is_change(self, record: dict) -> bool:
        return record["method"] == "POST"

    def route(self, record: dict):
        campaign_id = record["path"].rsplit("/", 1)[-1]
        campaign = self.campaigns.get(campaign_id)
        if record["headers"].get("authorization") != "Bearer meta-secret-token":
            return 401, {"error": {"message": "Invalid OAuth access token.", "type": "OAuthException",
                                   "code": 190}}, {}, 0.0
        if campaign is None:
            return 400, {"error": {"message": f"Unsupported get request. Object {campaign_id} does not exist",
                                   "type": "GraphMethodException", "code": 100}}, {}, 0.0
        if record["method"] == "GET":
            return 200, dict(campaign), {}, 0.0
        form = {k: v[0] for k, v in parse_qs(record["body"]).items()}
        scripted = self.next_scripted()
        if scripted is None or scripted.apply:
            campaign.update({k: v for k, v in form.items() if k in ("daily_budget", "status", "bid_amount")})
        if scripted is not None:
            return scripted.status, scripted.body, scripted.headers, scripted.delay
        return 200, {"success": True}, {}, 0.0


class FakeGoogleAds(FakePlatform):
    """Google Ads REST: googleAds:search, campaignBudgets:mutate, campaigns:mutate (customer 1234567890)."""

    CUSTOMER = "1234567890"

    def add(self, campaign_id: str, budget_micros: int, status: str = "ENABLED") -> None:
        """Create a campaign with its own budget."""
        self.campaigns[campaign_id] = {"status": status, "micros": budget_micros,
                                       "budget": f"customers/{self.CUSTOMER}/campaignBudgets/9{campaign_id}"}

    def is_change(self, record: dict) -> bool:
        return record["path"].endswith(":mutate")

    def route(self, record: dict):
        headers = record["headers"]
        if headers.get("authorization") != "Bearer google-secret-token" or headers.get("developer-token") != "dev-tok":
            return 401, {"error": {"code": 401, "message": "Request is missing required authentication credential.",
                                   "status": "UNAUTHENTICATED"}}, {}, 0.0
        body = json.loads(record["body"] or "{}")
        if record["path"].endswith("googleAds:search"):
            campaign_id = body["query"].rsplit("=", 1)[-1].strip()
            c = self.campaigns.get(campaign_id)
            results = [] if c is None else [{
                "campaign": {"resourceName": f"customers/{self.CUSTOMER}/campaigns/{campaign_id}",
                             "status": c["status"]},
                "campaignBudget": {"resourceName": c["budget"], "amountMicros": str(c["micros"])}}]
            return 200, {"results": results}, {}, 0.0
        scripted = self.next_scripted()
        if scripted is None or scripted.apply:
            self._mutate(record["path"], body)
        if scripted is not None:
            return scripted.status, scripted.body, scripted.headers, scripted.delay
        resource = body["operations"][0]["update"]["resourceName"]
        return 200, {"results": [{"resourceName": resource}]}, {}, 0.0

    def _mutate(self, path: str, body: dict) -> None:
        update = body["operations"][0]["update"]
        for c_id, c in self.campaigns.items():
            if path.endswith("campaignBudgets:mutate") and c["budget"] == update["resourceName"]:
                c["micros"] = int(update["amountMicros"])
            if path.endswith("campaigns:mutate") and update["resourceName"].endswith(f"/campaigns/{c_id}"):
                c["status"] = update["status"]


def meta_rate_limited(retry_after: str | None = None) -> Scripted:
    """Graph code 17: user request limit reached."""
    return Scripted(400, {"error": {"message": "User request limit reached", "type": "OAuthException", "code": 17}},
                    {"Retry-After": retry_after} if retry_after else {})


def google_rate_limited(retry_after: str | None = None) -> Scripted:
    """HTTP 429 RESOURCE_EXHAUSTED."""
    return Scripted(429, {"error": {"code": 429, "message": "Too many requests.", "status": "RESOURCE_EXHAUSTED"}},
                    {"Retry-After": retry_after} if retry_after else {})
