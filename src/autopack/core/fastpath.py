"""Declared routes answered straight from ASGI: the reads and writes an executor and a console send most.

Each route is declared once, in its area's router (path, OpenAPI entry, endpoint, access check, body
model); the app hands those routes to this middleware, which answers the requests they match by running
the route's access checks and calling its endpoint before the routing and dependency machinery runs.
A body is taken only when it is JSON that its model accepts; anything else (another content type, bad
JSON, a body the model refuses) goes on to the router, so every refusal is the router's own answer.
Query parameters are taken when they are plain int ones given as plain numbers (others go to the
router too). Errors become the same answers the app's handlers give. A route with any other dependency,
query, header or cookie parameter, or a non-text path parameter, is refused at start-up: skipping the
routing would skip those.
It sits inside the request-id and request-guard middleware, so ids, logs, the body limit and the NUL
guard still apply, and an unexpected error still becomes the usual 500 with an error report.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from fastapi.datastructures import DefaultPlaceholder
from fastapi.exceptions import ResponseValidationError
from fastapi.routing import APIRoute, APIRouter
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import OperationalError
from starlette.datastructures import QueryParams
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match

from autopack.core.errors import AutopackError, EnvelopeError
from autopack.core.handlers import (
    autopack_error_handler,
    database_unavailable_handler,
    envelope_error_handler,
    http_exception_handler,
)
from autopack.core.middleware import BODY_KEY


def declared_route(declaring: APIRouter, endpoint) -> APIRoute:  # noqa: ANN001 - any endpoint function
    """The one route `declaring` declares for `endpoint`."""
    (route,) = [r for r in declaring.routes if isinstance(r, APIRoute) and r.endpoint is endpoint]
    return route


def _is_request_check(call) -> bool:  # noqa: ANN001
    """An access check of the request alone (auth.deps.on_loop marks those): the fast path can run it."""
    return callable(getattr(call, "check", None))


@dataclass(frozen=True)
class _Plan:
    """How one route's requests are answered without the router."""

    route: APIRoute
    guards: tuple[tuple[str | None, Any], ...]  # (endpoint parameter or None, check)
    body: tuple[str, type[BaseModel]] | None  # (endpoint parameter, model)
    request_name: str | None
    numbers: tuple[tuple[str, str], ...] = ()  # plain int query parameters: (endpoint parameter, query name)


def _refuse(route: APIRoute, why: str) -> ValueError:
    return ValueError(f"{route.path} {why}; it cannot skip routing")


def _plan(route: APIRoute) -> _Plan:
    """The route's plan, or ValueError when skipping the routing would skip something it declares."""
    dependant = route.dependant
    guards = []
    for dependency in dependant.dependencies:
        if not _is_request_check(dependency.call):  # an auth dependency of another kind among them
            raise _refuse(route, "takes more than path parameters and access checks")
        guards.append((dependency.name, dependency.call))
    if dependant.header_params or dependant.cookie_params:
        raise _refuse(route, "takes more than path parameters and access checks")
    numbers = []
    for field in dependant.query_params:
        info = field.field_info
        if info.annotation is not int or info.metadata or info.is_required():
            raise _refuse(route, "has a query parameter other than a plain int with a default")
        numbers.append((field.name, info.alias or field.name))
    if any(field.field_info.annotation is not str for field in dependant.path_params):
        raise _refuse(route, "has a path parameter that is not text")  # the router would convert it
    if (dependant.response_param_name or dependant.background_tasks_param_name or dependant.websocket_param_name
            or dependant.http_connection_param_name or dependant.security_scopes_param_name):
        raise _refuse(route, "takes a parameter only the router provides")
    if route.response_field is None or not isinstance(route.response_class, DefaultPlaceholder):
        # A returned value is dumped by its response model, as the router does when no class is set.
        raise _refuse(route, "has no response model or a response class of its own")
    body = None
    if dependant.body_params:
        (field,) = dependant.body_params if len(dependant.body_params) == 1 else (None,)
        model = field.field_info.annotation if field is not None else None
        if (field is None or not isinstance(model, type) or not issubclass(model, BaseModel)
                or getattr(field.field_info, "embed", False) or type(field.field_info).__name__ != "Body"):
            raise _refuse(route, "takes a body other than one JSON model")
        body = (field.name, model)
    return _Plan(route, tuple(guards), body, dependant.request_param_name, tuple(numbers))


# What pydantic reads as the same int in every case (anything else goes to the router, which answers it).
_PLAIN_INT = re.compile(r"-?[0-9]{1,18}")


def _numbers(scope: dict, plan: _Plan) -> dict[str, int] | None:
    """The plain int query parameters given; None (the router answers) when one is not a plain number."""
    if not scope.get("query_string"):
        return {}
    given = QueryParams(scope["query_string"])
    found = {}
    for name, alias in plan.numbers:
        raw = given.get(alias)
        if raw is None:
            continue
        if not _PLAIN_INT.fullmatch(raw):
            return None
        found[name] = int(raw)
    return found


def _json_body(scope: dict, model: type[BaseModel]) -> BaseModel | None:
    """The body as `model` when it is JSON the model accepts; None leaves the request to the router."""
    body = scope.get(BODY_KEY)
    if not body:
        return None
    for name, value in scope["headers"]:
        if name == b"content-type":
            if value.split(b";", 1)[0].strip().lower() != b"application/json":
                return None
            break
    else:
        return None
    try:
        return model.model_validate(orjson.loads(body))
    except (orjson.JSONDecodeError, ValidationError):
        return None


def _serialized(route: APIRoute, content: Any) -> Response:
    """A returned value as the router answers it: validated by the response model and dumped as JSON."""
    value, errors = route.response_field.validate(content, {}, loc=("response",))
    if errors:
        raise ResponseValidationError(errors=errors, body=content)
    body = route.response_field.serialize_json(
        value, include=route.response_model_include, exclude=route.response_model_exclude,
        by_alias=route.response_model_by_alias, exclude_unset=route.response_model_exclude_unset,
        exclude_defaults=route.response_model_exclude_defaults, exclude_none=route.response_model_exclude_none)
    return Response(body, media_type="application/json", **({"status_code": route.status_code}
                                                             if route.status_code else {}))


class RouteFastPath:
    """Answers the requests one of the declared routes matches by calling its endpoint, without routing."""

    def __init__(self, app, routes: Sequence[APIRoute]):  # noqa: ANN001
        self.app = app
        self.plans = tuple(_plan(route) for route in routes)
        self.routes = tuple(plan.route for plan in self.plans)
        self.methods = frozenset(method for route in self.routes for method in route.methods)

    async def __call__(self, scope, receive, send):  # noqa: ANN001
        if scope["type"] != "http" or scope["method"] not in self.methods:
            return await self.app(scope, receive, send)
        for plan in self.plans:
            match, child = plan.route.matches(scope)
            if match is Match.FULL:
                break
        else:
            return await self.app(scope, receive, send)
        arguments = dict(child["path_params"])
        if plan.numbers:
            numbers = _numbers(scope, plan)
            if numbers is None:
                return await self.app(scope, receive, send)  # the router gives its own answer
            arguments.update(numbers)
        if plan.body is not None:
            name, model = plan.body
            value = _json_body(scope, model)
            if value is None:
                return await self.app(scope, receive, send)  # the router gives its own answer
            arguments[name] = value
        scope.update(child)
        scope["route"] = plan.route  # as routing would: request metrics label it by its template
        request = Request(scope, receive)
        try:
            for name, guard in plan.guards:
                principal = await guard(request)
                if name is not None:
                    arguments[name] = principal
            if plan.request_name is not None:
                arguments[plan.request_name] = request
            content = await plan.route.endpoint(**arguments)
            response = content if isinstance(content, Response) else _serialized(plan.route, content)
        except AutopackError as exc:
            response = await autopack_error_handler(request, exc)
        except EnvelopeError as exc:
            response = await envelope_error_handler(request, exc)
        except HTTPException as exc:
            response = await http_exception_handler(request, exc)
        except OperationalError as exc:
            response = await database_unavailable_handler(request, exc)
        await response(scope, receive, send)
