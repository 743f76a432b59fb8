"""What a request is (a `Call`), how its body is checked and its answer read: shared by both clients.

Schemas are the server's own (`autopack.<area>.schemas`), named here and imported on first use, so a
script that only starts a run does not load every area's models.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import httpx
from pydantic import BaseModel, TypeAdapter, ValidationError

from autopack.client.errors import ServerError, ValidationFailed, error_from_response

IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


@dataclass(frozen=True)
class Ref:
    """A server schema by area and name (`Ref("runs", "RunResponse")`); `many` for a list of them."""

    area: str
    name: str
    many: bool = False

    def resolve(self) -> type[BaseModel]:
        """The schema class itself."""
        return getattr(importlib.import_module(f"autopack.{self.area}.schemas"), self.name)


@lru_cache(maxsize=None)
def adapter(ref: Ref) -> TypeAdapter:
    """A cached validator for a schema (or a list of it)."""
    model = ref.resolve()
    return TypeAdapter(list[model] if ref.many else model)


@dataclass(frozen=True)
class Call:
    """One HTTP request and how to read its answer."""

    method: str
    path: str
    params: dict[str, Any] | None = None
    json: Any = None
    form: dict[str, str] | None = None
    files: dict[str, Any] | None = None  # multipart uploads
    model: Ref | None = None  # the answer's schema; None: the JSON as it is
    envelope: bool = False  # /api/v1: the answer is `{"success": true, "data": ...}`
    accept: tuple[int, ...] = ()  # statuses >= 400 that are answers, not errors (/health's 503)
    text: bool = False  # the answer is text (artifact files)
    headers: dict[str, str] = field(default_factory=dict)
    after: Callable[[Any], Any] | None = None  # applied to the answer (login keeps its token)

    @property
    def idempotent(self) -> bool:
        """Safe to send twice (connection errors after sending are retried only then)."""
        return self.method in IDEMPOTENT


def query(**params: Any) -> dict[str, Any]:
    """Query parameters without the ones left out (None)."""
    return {k: v for k, v in params.items() if v is not None}


def body(ref: Ref, value: Any, **extra: Any) -> dict[str, Any]:
    """A request body checked against the server's schema: a model, or a dict validated as one.

    Raises ValidationFailed (no status) before anything is sent when the value does not fit.
    """
    schema = ref.resolve()
    if isinstance(value, dict) or value is None:
        merged = {**(value or {}), **extra}
        try:
            value = schema.model_validate(merged)
        except ValidationError as exc:
            raise ValidationFailed(f"{ref.name}: {exc.error_count()} invalid field(s): "
                                   f"{_first_error(exc)}", details=exc.errors(include_url=False)) from None
    elif not isinstance(value, BaseModel):
        raise TypeError(f"expected a {ref.name} or a dict, got {type(value).__name__}")
    return value.model_dump(mode="json", by_alias=True, exclude_unset=True)


def _first_error(exc: ValidationError) -> str:
    first = exc.errors(include_url=False)[0]
    where = ".".join(str(p) for p in first.get("loc", ())) or "body"
    return f"{where}: {first.get('msg')}"


def decode(call: Call, response: httpx.Response) -> Any:
    """The answer as the call's schema (or JSON, or text); an `AutopackError` for a refusal."""
    if response.status_code >= 400 and response.status_code not in call.accept:
        raise error_from_response(response)
    if call.text:
        return response.text
    try:
        data = response.json() if response.content else None
    except ValueError:  # not JSON (a proxy's page, a redirect): say so rather than fail obscurely
        raise ServerError(f"{call.method} {call.path} answered {response.status_code} with a body that is not JSON",
                          status_code=response.status_code,
                          request_id=response.headers.get("X-Request-ID")) from None
    if call.envelope and isinstance(data, dict) and "data" in data:
        data = data["data"]
    if call.model is None:
        return call.after(data) if call.after else data
    try:
        # Keys the schema does not know are dropped, not refused: a newer server may add fields to an
        # answer (the suite validates the server's answers strictly, so a renamed field still fails there).
        value = adapter(call.model).validate_python(data, extra="ignore")
    except ValidationError as exc:  # the server answered something its own schema does not describe
        raise ValidationFailed(f"unexpected answer for {call.method} {call.path}: {_first_error(exc)}",
                               status_code=response.status_code, details=exc.errors(include_url=False),
                               request_id=response.headers.get("X-Request-ID")) from None
    return call.after(value) if call.after else value


def field_of(page: Any, name: str) -> Any:
    """A field of a page, whether the page is a model or plain JSON."""
    return page[name] if isinstance(page, dict) else getattr(page, name)


def next_offset(call: Call, page: Any, items_key: str, total_key: str | None = "total") -> Call | None:
    """The call for the page after `page` in limit/offset paging, None after the last."""
    items = field_of(page, items_key)
    params = dict(call.params or {})
    offset = int(params.get("offset", 0)) + len(items)
    limit = params.get("limit")
    if not items or (total_key is not None and offset >= field_of(page, total_key)):
        return None
    if total_key is None and limit is not None and len(items) < int(limit):
        return None
    params["offset"] = offset
    return Call(call.method, call.path, params=params, model=call.model, envelope=call.envelope)


def next_cursor(call: Call, page: Any) -> Call | None:
    """The call for the page after `page` in cursor paging (`next_cursor`), None after the last."""
    cursor = field_of(page, "next_cursor")
    if cursor is None:
        return None
    return Call(call.method, call.path, params={**(call.params or {}), "cursor": cursor}, model=call.model,
                envelope=call.envelope)
