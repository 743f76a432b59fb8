"""Reading server-sent events in tests: parse a body, or read a live stream message by message."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator

import httpx


def messages(lines: Iterable[str]) -> Iterator[dict]:
    """`{"id", "event", "data"}` per message, and `{"comment": text}` per comment line."""
    current: dict = {}
    for line in lines:
        if line == "":
            if "data" in current:
                current["data"] = json.loads(current["data"])
                yield current
            current = {}
        elif line.startswith(":"):
            yield {"comment": line[1:].strip()}
        else:
            field, _, value = line.partition(":")
            current[field] = value[1:] if value.startswith(" ") else value


def parse(body: str) -> list[dict]:
    """The data messages of a whole `text/event-stream` body."""
    return [m for m in messages(body.split("\n")) if "data" in m]


def read_stream(url: str, want: int, *, after: int | None = None, stop_after: int | None = None,
          timeout: float = 60) -> tuple[list[dict], list[str]]:
    """Read a live stream until `want` events arrived (or `stop_after`, then hang up): (events, comments)."""
    headers = {"Last-Event-ID": str(after)} if after is not None else {}
    events, comments = [], []
    deadline = time.monotonic() + timeout
    with httpx.stream("GET", url, headers=headers, timeout=10) as response:
        assert response.status_code == 200
        for item in messages(response.iter_lines()):
            if "comment" in item:
                comments.append(item["comment"])
            else:
                events.append(item)
            if len(events) >= (stop_after or want) or time.monotonic() > deadline:
                break
    return events, comments
