"""Server-sent events: turn stream lines into messages (`id`, `event`, `data`, `retry`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass
class Message:
    """One complete SSE message."""

    id: str | None
    event: str | None
    data: Any


class Decoder:
    """Feed lines; a finished message comes back at each blank line. Comments (heartbeats) are skipped."""

    def __init__(self) -> None:
        self.retry_ms: int | None = None
        self._reset()

    def _reset(self) -> None:
        self._id: str | None = None
        self._event: str | None = None
        self._data: list[str] = []

    def feed(self, line: str) -> Message | None:
        """The message this line completes, if any."""
        if line == "":
            if not self._data:
                self._reset()
                return None
            text = "\n".join(self._data)
            message = Message(self._id, self._event, json.loads(text) if text else None)
            self._reset()
            return message
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "data":
            self._data.append(value)
        elif name == "id":
            self._id = value
        elif name == "event":
            self._event = value
        elif name == "retry" and value.isdigit():
            self.retry_ms = int(value)
        return None


def event_of(message: Message):
    """The message's data as the server's event document."""
    from autopack.events.schemas import EventOut

    return EventOut.model_validate(message.data)


def resume_headers(after: int | None) -> dict[str, str]:
    """`Last-Event-ID` to resume after `after`."""
    return {"Last-Event-ID": str(after)} if after is not None else {}
