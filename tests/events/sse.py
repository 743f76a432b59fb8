"""Reading server-sent events in tests: parse a body, or read a live stream message by message."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator


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
