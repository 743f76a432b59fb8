"""The declared `GET /runs/{run_id}` route, answered straight from ASGI: the executor polls it most.

The route is declared once, in runs.router (path, OpenAPI entry, endpoint). This middleware takes
that route and answers the requests it matches by calling its endpoint before the routing and
dependency machinery runs; errors become the same answers the app's handlers give. It sits inside the
request-id and request-guard middleware, so ids, logs and the NUL guard still apply, and an
unexpected error still becomes the usual 500 with an error report.
"""

from __future__ import annotations

from fastapi.routing import APIRoute, APIRouter
from sqlalchemy.exc import OperationalError
from starlette.requests import Request
from starlette.routing import Match

from autopack.core.errors import AutopackError
from autopack.core.handlers import autopack_error_handler, database_unavailable_handler
from autopack.runs.router import get_run, router


def declared_route(declaring: APIRouter, endpoint) -> APIRoute:  # noqa: ANN001 - any endpoint function
    """The one route `declaring` declares for `endpoint`."""
    (route,) = [r for r in declaring.routes if isinstance(r, APIRoute) and r.endpoint is endpoint]
    return route


class RunReadFastPath:
    """Answers the GET requests a declared route matches by calling its endpoint, without routing."""

    def __init__(self, app, route: APIRoute | None = None):  # noqa: ANN001
        self.app = app
        self.route = route if route is not None else declared_route(router, get_run)
        dependant = self.route.dependant
        if (dependant.dependencies or dependant.query_params or dependant.header_params
                or dependant.cookie_params or dependant.body_params):
            # Skipping the routing would skip these too (an auth dependency among them).
            raise ValueError(f"{self.route.path} takes more than path parameters; it cannot skip routing")

    async def __call__(self, scope, receive, send):  # noqa: ANN001
        if scope["type"] != "http" or scope["method"] != "GET":
            return await self.app(scope, receive, send)
        match, child = self.route.matches(scope)
        if match is not Match.FULL:
            return await self.app(scope, receive, send)
        scope["route"] = self.route  # as routing would: request metrics label it by its template
        try:
            response = await self.route.endpoint(**child["path_params"])
        except AutopackError as exc:
            response = await autopack_error_handler(Request(scope), exc)
        except OperationalError as exc:
            response = await database_unavailable_handler(Request(scope), exc)
        await response(scope, receive, send)
