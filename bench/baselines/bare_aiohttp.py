"""The floor of our stack: an aiohttp WebSocket broadcast with no accounts and no storage.

It does the least any chat server on aiohttp must do for a message: read the
frame, decode the JSON, build the ``message`` event of ``docs/protocol.md``
(room, seq, author, time stamp), encode it once and write it to every open
socket, the sender's included. No hello, no token, no database, no queues, no
rate limits: whatever our server costs beyond this is the price of its
features, which is what the benchmarks compare.

Run: ``python -m bench.baselines.bare_aiohttp --port 0`` (logs "listening on
http://127.0.0.1:PORT" once it accepts connections; SIGTERM/SIGINT stop it).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp import WSMsgType, web

from bench.baselines import run

# The open sockets; a set so that leaving is O(1).
_SOCKETS: web.AppKey[set[web.WebSocketResponse]] = web.AppKey("sockets", set)
# The next seq per room, as our server would hand out (kept so the frames match ours).
_SEQS: web.AppKey[dict[str, int]] = web.AppKey("seqs", dict)
# What to await before broadcasting an event (bench.baselines.bare_durable stores it).
Persist = Callable[[dict[str, Any]], Awaitable[None]]
_PERSIST: web.AppKey[Persist | None] = web.AppKey("persist")


async def _websocket(request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse(heartbeat=20.0, max_msg_size=64 * 1024)
    await ws.prepare(request)
    sockets = request.app[_SOCKETS]
    seqs = request.app[_SEQS]
    sockets.add(ws)
    try:
        async for frame in ws:
            if frame.type != WSMsgType.TEXT:
                continue
            try:
                event = json.loads(frame.data)
                room = event["room"]
                out = {
                    "type": "message",
                    "room": room,
                    "seq": seqs.get(room, 0) + 1,
                    "client_id": event["client_id"],
                    "author": "anonymous",
                    "text": event["text"],
                    "ts": datetime.now(UTC).isoformat(timespec="milliseconds"),
                }
            except (ValueError, KeyError, TypeError):
                continue
            seqs[room] = out["seq"]
            persist = request.app[_PERSIST]
            if persist is not None:
                await persist(out)
            data = json.dumps(out)
            # A copy: a send may yield, and sockets come and go meanwhile.
            for peer in list(sockets):
                if not peer.closed:
                    await peer.send_str(data)
    finally:
        sockets.discard(ws)
    return ws


def make_app(persist: Persist | None = None) -> web.Application:
    """The aiohttp application: one route, ``/ws``; ``persist`` is awaited before each broadcast."""
    app = web.Application()
    app[_SOCKETS] = set()
    app[_SEQS] = {}
    app[_PERSIST] = persist
    app.router.add_get("/ws", _websocket)
    return app


if __name__ == "__main__":
    run(make_app, "bare aiohttp broadcast", __doc__ or "")
