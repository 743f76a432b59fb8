"""The baseline: a bare FastAPI app with one endpoint, served exactly like Autopack."""

from __future__ import annotations

from fastapi import FastAPI

app = FastAPI()


@app.get("/hello")
async def hello() -> dict[str, str]:
    """The cheapest FastAPI request there is."""
    return {"hello": "world"}
