"""Path parameters of the governance routes (FastAPI types: kept out of schemas.py, which the client imports)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

RequestId = Annotated[str, Path(min_length=1, max_length=64)]  # a request id in a URL path
