"""Declared routes answered straight from ASGI: the reads and writes executors, consoles and the autopilot send most.

Each route is declared once, in its area's router (path, OpenAPI entry, endpoint, access check, body
model); the app hands those routes, as its routers serve them, to this middleware, which answers the
requests they match by running the route's access checks and calling its endpoint before the routing and
dependency machinery runs.
A body is taken only when it is JSON that its model accepts; anything else (another content type, bad
JSON, a body the model refuses) goes on to the router, so every refusal is the router's own answer.
Path parameters are taken as text, or as an int when given as a plain number within the parameter's
declared bounds; query parameters when they are plain int ones given as plain numbers; the rest (`abc`,
`1.5`, an id out of range) goes on to the router too. Errors become the same answers the app's handlers
give. Access checks are the dependencies marked as runnable here (auth.deps.on_loop, or path_guard).
A route with any other dependency, a constraint not checked here, a header or cookie parameter, or a
path parameter of another type is refused at start-up: skipping the routing would skip those.
A returned value is dumped by the route's response model; a route without one must be declared an
OwnResponse, and anything but a Response it returns is encoded exactly as the router encodes it.
It sits inside the request-id and request-guard middleware, so ids, logs, the body limit and the NUL
guard still apply, and an unexpected error still becomes the usual 500 with an error report.
"""

from __future__ import annotations

import inspect
import operator
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from annotated_types import Ge, Gt, Le, Lt
from fastapi.datastructures import DefaultPlaceholder
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import ResponseValidationError
from fastapi.routing import APIRoute, APIRouter, RouteContext, iter_route_contexts
from fastapi.security.base import SecurityBase
from fastapi.utils import is_body_allowed_for_status_code
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import OperationalError
from starlette.convertors import StringConvertor
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
from autopack.core.request_metrics import ROUTE_TEMPLATE_KEY


def declared_route(declaring: APIRouter, endpoint) -> APIRoute:  # noqa: ANN001 - any endpoint function
    """The one route `declaring` declares for `endpoint`."""
    (route,) = [r for r in declaring.routes if isinstance(r, APIRoute) and r.endpoint is endpoint]
    return route


def served_route(serving: APIRouter, declaring: APIRouter, endpoint) -> RouteContext:  # noqa: ANN001
    """The route `declaring` declares for `endpoint` as `serving` serves it (under its prefixes and dependencies)."""
    declared = declared_route(declaring, endpoint)
    (served,) = [context for context in iter_route_contexts(serving.routes) if context.original_route is declared]
    return served


@dataclass(frozen=True)
class OwnResponse:
    """A route without a response model whose endpoint answers with a Response of its own."""

    route: APIRoute | RouteContext


_GUARD_MARK = "fast_path_guard"


def path_guard(dependency):  # noqa: ANN001, ANN201 - an async dependency, returned as it is
    """Mark an async access check of the request and path parameters as one the fast path may run itself."""
    # The fast path calls it with the request and the path parameters it declares, read as the router
    # reads them; its other parameters may only declare credentials for the docs (their values are not
    # passed), which the plan checks at start-up.
    setattr(dependency, _GUARD_MARK, True)
    return dependency


def _is_guard(call) -> bool:  # noqa: ANN001
    """An access check the fast path can run: auth.deps.on_loop marks those of the request alone, path_guard others."""
    return callable(getattr(call, "check", None)) or getattr(call, _GUARD_MARK, False) is True


@dataclass(frozen=True)
class _PathParam:
    """A path parameter a function takes: text, or an int within bounds."""

    parameter: str
    key: str  # its name in the path
    bounds: tuple[tuple[Any, Any], ...] | None  # (comparison, bound) for an int; None for text


@dataclass(frozen=True)
class _Guard:
    """An access check and what it is called with."""

    name: str | None  # the endpoint parameter it answers, or None
    call: Any
    request_name: str | None
    path: tuple[_PathParam, ...]


@dataclass(frozen=True)
class _Plan:
    """How one route's requests are answered without the router."""

    route: Any  # APIRoute or RouteContext: the route as served
    original: APIRoute  # what the router names in scope["route"]
    guards: tuple[_Guard, ...]
    body: tuple[str, type[BaseModel]] | None  # (endpoint parameter, model)
    request_name: str | None
    numbers: tuple[tuple[str, str], ...] = ()  # plain int query parameters: (endpoint parameter, query name)
    path: tuple[_PathParam, ...] = ()
    own_response: bool = False


def _refuse(route, why: str) -> ValueError:  # noqa: ANN001
    return ValueError(f"{route.path} {why}; it cannot skip routing")


# The bounds of an int the fast path checks as pydantic does; any other constraint refuses the route.
_BOUNDS = {Ge: (operator.ge, "ge"), Gt: (operator.gt, "gt"), Le: (operator.le, "le"), Lt: (operator.lt, "lt")}


def _path_param(route, field) -> _PathParam:  # noqa: ANN001
    info = field.field_info
    if info.annotation is str and not info.metadata:
        return _PathParam(field.name, field.alias, None)
    if info.annotation is int:
        bounds = []
        for constraint in info.metadata:
            if type(constraint) not in _BOUNDS:
                raise _refuse(route, f"has a path parameter constraint the fast path does not check ({constraint!r})")
            compare, attribute = _BOUNDS[type(constraint)]
            bounds.append((compare, getattr(constraint, attribute)))
        return _PathParam(field.name, field.alias, tuple(bounds))
    raise _refuse(route, "has a path parameter other than plain text or an int")  # the router would convert it


def _takes_parameters(dependant) -> bool:  # noqa: ANN001
    return bool(dependant.path_params or dependant.query_params or dependant.header_params
                or dependant.cookie_params or dependant.body_params)


def _takes_router_only(dependant) -> bool:  # noqa: ANN001
    return bool(dependant.response_param_name or dependant.background_tasks_param_name
                or dependant.websocket_param_name or dependant.http_connection_param_name
                or dependant.security_scopes_param_name)


def _declares_only(dependant) -> bool:  # noqa: ANN001
    """Credentials declared for the docs: security schemes that never answer a request, and nothing else."""
    if isinstance(dependant.call, SecurityBase):
        return getattr(dependant.call, "auto_error", True) is False and not dependant.dependencies
    return (inspect.iscoroutinefunction(dependant.call) and not _takes_parameters(dependant)
            and dependant.request_param_name is None and not _takes_router_only(dependant)
            and all(_declares_only(sub) for sub in dependant.dependencies))


def _guard(route, dependency) -> _Guard:  # noqa: ANN001
    if not _is_guard(dependency.call) or not inspect.iscoroutinefunction(dependency.call):
        raise _refuse(route, "takes more than path parameters and access checks")
    if (dependency.query_params or dependency.header_params or dependency.cookie_params or dependency.body_params
            or _takes_router_only(dependency) or not all(_declares_only(sub) for sub in dependency.dependencies)):
        raise _refuse(route, "has an access check that takes more than the request and path parameters")
    return _Guard(dependency.name, dependency.call, dependency.request_param_name,
                  tuple(_path_param(route, field) for field in dependency.path_params))


def _plan(declared) -> _Plan:  # noqa: ANN001 - an APIRoute, a RouteContext or an OwnResponse
    """The route's plan, or ValueError when skipping the routing would skip something it declares."""
    own_response = isinstance(declared, OwnResponse)
    route = declared.route if own_response else declared
    dependant = route.dependant
    if not inspect.iscoroutinefunction(route.endpoint):
        raise _refuse(route, "has an endpoint that is not a coroutine function")
    guards = tuple(_guard(route, dependency) for dependency in dependant.dependencies)
    if len({guard.call for guard in guards}) < len(guards):
        raise _refuse(route, "declares one access check twice")  # the router runs it once (its cache)
    if dependant.header_params or dependant.cookie_params:
        raise _refuse(route, "takes more than path parameters and access checks")
    numbers = []
    for field in dependant.query_params:
        info = field.field_info
        if info.annotation is not int or info.metadata or info.is_required():
            raise _refuse(route, "has a query parameter other than a plain int with a default")
        numbers.append((field.name, info.alias or field.name))
    path = tuple(_path_param(route, field) for field in dependant.path_params)
    if not all(isinstance(convertor, StringConvertor) for convertor in route.param_convertors.values()):
        raise _refuse(route, "has a path convertor")  # the router would match and convert it otherwise
    if _takes_router_only(dependant):
        raise _refuse(route, "takes a parameter only the router provides")
    if own_response:
        if route.response_field is not None:
            raise _refuse(route, "has a response model, so its endpoint does not answer with its own Response")
    elif route.response_field is None or not isinstance(route.response_class, DefaultPlaceholder):
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
    return _Plan(route, getattr(route, "original_route", route), guards, body, dependant.request_param_name,
                 tuple(numbers), path, own_response)


# What pydantic reads as the same int in every case (anything else goes to the router, which answers it).
_PLAIN_INT = re.compile(r"-?[0-9]{1,18}")


def _path_values(given: dict, params: tuple[_PathParam, ...]) -> dict[str, Any] | None:
    """The path parameters as the router reads them; None (the router answers) when one is not plain."""
    values = {}
    for param in params:
        raw = given.get(param.key)
        if not isinstance(raw, str):
            return None
        if param.bounds is None:
            values[param.parameter] = raw
            continue
        if not _PLAIN_INT.fullmatch(raw):
            return None
        number = int(raw)
        if not all(compare(number, bound) for compare, bound in param.bounds):
            return None  # out of range: the router's 422
        values[param.parameter] = number
    return values


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


def _status(route) -> dict:  # noqa: ANN001
    return {"status_code": route.status_code} if route.status_code else {}


def _bodiless(response: Response) -> Response:
    """As the router answers a status that allows no body (its length header kept, as the router keeps it)."""
    if not is_body_allowed_for_status_code(response.status_code):
        response.body = b""
    return response


def _serialized(route, content: Any) -> Response:  # noqa: ANN001
    """A returned value as the router answers it: validated by the response model and dumped as JSON."""
    value, errors = route.response_field.validate(content, {}, loc=("response",))
    if errors:
        raise ResponseValidationError(errors=errors, body=content)
    body = route.response_field.serialize_json(
        value, include=route.response_model_include, exclude=route.response_model_exclude,
        by_alias=route.response_model_by_alias, exclude_unset=route.response_model_exclude_unset,
        exclude_defaults=route.response_model_exclude_defaults, exclude_none=route.response_model_exclude_none)
    return _bodiless(Response(body, media_type="application/json", **_status(route)))


def _encoded(route, content: Any) -> Response:  # noqa: ANN001
    """A value returned without a response model, as the router answers it: encoded, in the route's class."""
    response_class = route.response_class
    if isinstance(response_class, DefaultPlaceholder):
        response_class = response_class.value
    return _bodiless(response_class(jsonable_encoder(content), **_status(route)))


class RouteFastPath:
    """Answers the requests one of the declared routes matches by calling its endpoint, without routing."""

    def __init__(self, app, routes: Sequence[APIRoute | RouteContext | OwnResponse]):  # noqa: ANN001
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
        # Everything is read before anything runs: what is not plain goes on to the router untouched.
        given = child["path_params"]
        arguments = _path_values(given, plan.path)
        if arguments is None:
            return await self.app(scope, receive, send)  # the router gives its own answer
        checks = []
        for guard in plan.guards:
            values = _path_values(given, guard.path) if guard.path else {}
            if values is None:
                return await self.app(scope, receive, send)
            checks.append((guard, values))
        if plan.numbers:
            numbers = _numbers(scope, plan)
            if numbers is None:
                return await self.app(scope, receive, send)
            arguments.update(numbers)
        if plan.body is not None:
            name, model = plan.body
            value = _json_body(scope, model)
            if value is None:
                return await self.app(scope, receive, send)
            arguments[name] = value
        scope.update(child)
        scope["route"] = plan.original  # as routing would
        scope[ROUTE_TEMPLATE_KEY] = plan.route.path_format  # request metrics label it by the served template
        request = Request(scope, receive)
        try:
            for guard, values in checks:
                if guard.request_name is not None:
                    values[guard.request_name] = request
                principal = await guard.call(**values)
                if guard.name is not None:
                    arguments[guard.name] = principal
            if plan.request_name is not None:
                arguments[plan.request_name] = request
            content = await plan.route.endpoint(**arguments)
            if isinstance(content, Response):
                response = content
            elif plan.own_response:
                response = _encoded(plan.route, content)
            else:
                response = _serialized(plan.route, content)
        except AutopackError as exc:
            response = await autopack_error_handler(request, exc)
        except EnvelopeError as exc:
            response = await envelope_error_handler(request, exc)
        except HTTPException as exc:
            response = await http_exception_handler(request, exc)
        except OperationalError as exc:
            response = await database_unavailable_handler(request, exc)
        await response(scope, receive, send)
