"""JSON text <-> event objects, for both directions of the socket.

``encode`` turns any event into the compact JSON text of one WebSocket frame;
the server calls it once per broadcast and writes the same string to every
recipient. ``decode_client`` is what the server applies to a frame a client
sent, ``decode_server`` what the client applies to a frame from the server.
Both raise :class:`ProtocolError` with the contract's error code and never
anything else, whatever the input: that is what lets the server answer bad
input with an ``error`` event and keep the connection open.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .events import (
    CLIENT_EVENTS,
    SERVER_EVENTS,
    ClientEvent,
    Event,
    ProtocolError,
    ServerEvent,
)


def encode(event: Event) -> str:
    """The event as compact JSON; non-ASCII stays as is (the frame is UTF-8 anyway)."""
    return dump_json(event.to_wire())


def dump_json(obj: Mapping[str, Any]) -> str:
    """Compact JSON, the one spelling used for every frame and HTTP body."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def load_object(data: str | bytes) -> dict[str, Any]:
    """Parse a frame or request body that must hold one JSON object.

    Raises ``bad_request`` for invalid UTF-8, invalid JSON, nesting deep enough
    to exhaust the parser's recursion, and any value that is not an object.
    """
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        obj = json.loads(text)
    except UnicodeDecodeError:
        raise ProtocolError("bad_request", "payload is not valid UTF-8") from None
    except RecursionError:
        raise ProtocolError("bad_request", "payload is nested too deeply") from None
    except ValueError:
        raise ProtocolError("bad_request", "payload is not valid JSON") from None
    if not isinstance(obj, dict):
        raise ProtocolError("bad_request", "payload must be a JSON object")
    return obj


def _decode(data: str | bytes, table: Mapping[str, type[Event]]) -> Event:
    obj = load_object(data)
    kind = obj.get("type")
    if not isinstance(kind, str):
        raise ProtocolError("bad_request", "field 'type' must be a string")
    cls = table.get(kind)
    if cls is None:
        raise ProtocolError("unknown_type", f"unknown event type {kind[:64]!r}")
    try:
        return cls.from_wire(obj)
    except ProtocolError:
        raise
    except (TypeError, ValueError, RecursionError) as exc:
        # A from_wire met a shape it did not foresee (a list where a dict was
        # expected deep inside, say). Still a client error, never a crash.
        raise ProtocolError("bad_request", f"malformed {kind} event: {exc}") from None


def decode_client(data: str | bytes) -> ClientEvent:
    """Decode a frame sent by a client (what the server reads)."""
    return _decode(data, CLIENT_EVENTS)  # type: ignore[return-value]


def decode_server(data: str | bytes) -> ServerEvent:
    """Decode a frame sent by the server (what the client reads)."""
    return _decode(data, SERVER_EVENTS)  # type: ignore[return-value]
