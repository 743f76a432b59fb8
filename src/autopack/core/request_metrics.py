"""Counts requests and their latency per route template, for `GET /metrics`.

A pure ASGI middleware around the app: after the inner app returns, `scope["route"]` holds the route
the router matched, and its `path` (`/runs/{run_id}`) is the label, never the raw path (raw paths are
unbounded, and would carry ids into the metrics). A request no route matched (404s, refused heads) is
labelled `unmatched`; an unknown method `other`. It imports no area package.
"""

from __future__ import annotations

import time

from autopack.core.instruments import HTTP_IN_FLIGHT, HTTP_LATENCY, HTTP_REQUESTS, UNMATCHED

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


# Where the route fast path leaves the template of the route as served (prefix included).
ROUTE_TEMPLATE_KEY = "autopack.route_template"


def route_template(scope) -> str:  # noqa: ANN001 - an ASGI scope
    """The matched route's path template as served (its routers' prefixes included), or `unmatched`."""
    path = scope.get(ROUTE_TEMPLATE_KEY)
    if path is None:
        # FastAPI (0.165) names the declared route in scope["route"], whose path lacks the prefixes of
        # the routers that include it; the route as served is the effective context it records.
        context = scope.get("fastapi", {}).get("effective_route_context")
        path = getattr(context, "path_format", None) or getattr(scope.get("route"), "path", None)
    return path if isinstance(path, str) else UNMATCHED


class RequestMetricsMiddleware:
    """Counts every HTTP request by method, route template and status, and times it."""

    def __init__(self, app):  # noqa: ANN001
        self.app = app

    async def __call__(self, scope, receive, send):  # noqa: ANN001
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        status = 500  # an exception that escapes becomes the 500 the outer error middleware sends

        async def send_status(message) -> None:  # noqa: ANN001
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        started = time.perf_counter()
        HTTP_IN_FLIGHT.inc()
        try:
            await self.app(scope, receive, send_status)
        finally:
            HTTP_IN_FLIGHT.dec()
            method = scope["method"] if scope["method"] in METHODS else "other"
            route = route_template(scope)
            HTTP_LATENCY.labels(method, route).observe(time.perf_counter() - started)
            HTTP_REQUESTS.labels(method, route, str(status)).inc()
