"""The python-socketio peer: the same broadcast as ours, written the Socket.IO way.

A client emits ``message`` with ``{"room", "client_id", "text"}``; the server
builds the same ``message`` event our server sends (room, seq, author, time
stamp) and emits it to every connected client, the sender's included, with
``sio.emit``. It runs on aiohttp, like ours, so the comparison is between
the two servers' own work and not between web stacks. No accounts, no storage.

Run: ``python -m bench.baselines.socketio_server --port 0`` (logs "listening on
http://127.0.0.1:PORT"; SIGTERM/SIGINT stop it). Clients connect to
``/socket.io/?EIO=4&transport=websocket``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import socketio
from aiohttp import web

from bench.baselines import run


def make_app() -> web.Application:
    """An aiohttp application with a Socket.IO server that broadcasts messages."""
    # WebSocket only: the benchmark clients, like ours, never long-poll.
    sio = socketio.AsyncServer(
        async_mode="aiohttp", transports=["websocket"], logger=False, engineio_logger=False
    )
    seqs: dict[str, int] = {}

    @sio.on("message")  # type: ignore[untyped-decorator]
    async def message(sid: str, data: Any) -> None:
        try:
            room = data["room"]
            out = {
                "type": "message",
                "room": room,
                "seq": seqs.get(room, 0) + 1,
                "client_id": data["client_id"],
                "author": "anonymous",
                "text": data["text"],
                "ts": datetime.now(UTC).isoformat(timespec="milliseconds"),
            }
        except (KeyError, TypeError):
            return
        seqs[room] = out["seq"]
        await sio.emit("message", out)

    app = web.Application()
    sio.attach(app)
    return app


if __name__ == "__main__":
    run(make_app, "socketio broadcast", __doc__ or "")
