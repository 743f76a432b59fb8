"""Fast JSON responses (orjson; datetimes as ISO 8601 with their UTC offset)."""

from __future__ import annotations

import json
from typing import Any

import orjson
from fastapi.responses import JSONResponse


class FastJSONResponse(JSONResponse):
    """JSONResponse rendered by orjson."""

    def render(self, content: Any) -> bytes:
        try:
            return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS, default=str)
        except TypeError:  # integers beyond 64 bits or lone surrogates echoed back in a validation error
            return json.dumps(content, default=str, ensure_ascii=True, separators=(",", ":")).encode()


def json_response(content: Any, status_code: int = 200, headers: dict | None = None) -> FastJSONResponse:
    """Return `content` as JSON without a second validation pass."""
    return FastJSONResponse(content, status_code=status_code, headers=headers)
