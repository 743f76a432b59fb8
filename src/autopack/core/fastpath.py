"""Declared GET routes answered straight from ASGI: the reads an executor and a console poll most.

Each route is declared once, in its area's router (path, OpenAPI entry, endpoint, access check); the
app hands those routes to this middleware, which answers the requests they match by running the
route's access checks and calling the endpoint before the routing and dependency machinery runs; errors
become the same answers the app's handlers give. A route with any other dependency, a query, header,
cookie or body parameter is refused at start-up: skipping the routing would skip those. It
sits inside the request-id and request-guard middleware, so ids, logs and the NUL guard still apply,
and an unexpected error still becomes the usual 500 with an error report.
"""

from __future__ import annotations

from collections.abc import Sequence

from fastapi.routing import APIRoute, APIRouter
from sqlalchemy.exc import OperationalError
from starlette.requests import Request
from starlette.routing import Match

from autopack.core.errors import AutopackError
from autopack.core.handlers import autopack_error_handler, database_unavailable_handler


def declared_route(declaring: APIRouter, endpoint) -> APIRoute:  # noqa: ANN001 - any endpoint function
    """The one route `declaring` declares for `endpoint`."""
    (route,) = [r for r in declaring.routes if isinstance(r, APIRoute) and r.endpoint is endpoint]
    return route


def _is_request_check(call) -> bool:  # noqa: ANN001
    """An access check of the request alone (auth.deps.on_loop marks those): the fast path can run it."""
    return callable(getattr(call, "check", None))


class ReadFastPath:
    """Answers the GET requests one of the declared routes matches by calling its endpoint, without routing."""

    def __init__(self, app, routes: Sequence[APIRoute]):  # noqa: ANN001
        self.app = app
        entries = []
        for route in routes:
            dependant = route.dependant
            guards = [d.call for d in dependant.dependencies if _is_request_check(d.call)]
            if (len(guards) != len(dependant.dependencies) or dependant.query_params or dependant.header_params
                    or dependant.cookie_params or dependant.body_params):
                # Skipping the routing would skip these too (an auth dependency among them).
                raise ValueError(f"{route.path} takes more than path parameters; it cannot skip routing")
            entries.append((route, tuple(guards)))
        self.entries = tuple(entries)
        self.routes = tuple(route for route, _ in entries)

    async def __call__(self, scope, receive, send):  # noqa: ANN001
        if scope["type"] != "http" or scope["method"] != "GET":
            return await self.app(scope, receive, send)
        for route, guards in self.entries:
            match, child = route.matches(scope)
            if match is Match.FULL:
                break
        else:
            return await self.app(scope, receive, send)
        scope["route"] = route  # as routing would: request metrics label it by its template
        try:
            for guard in guards:
                await guard(Request(scope, receive))
            response = await route.endpoint(**child["path_params"])
        except AutopackError as exc:
            response = await autopack_error_handler(Request(scope), exc)
        except OperationalError as exc:
            response = await database_unavailable_handler(Request(scope), exc)
        await response(scope, receive, send)
