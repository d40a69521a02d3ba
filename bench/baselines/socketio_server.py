"""The python-socketio peer: the same broadcast as ours, written the Socket.IO way.

A client emits ``message`` with ``{"room", "client_id", "text"}``; the server
builds the same ``message`` event our server sends (room, seq, author, time
stamp) and emits it to every connected client, the sender's included, with
``sio.emit``. It runs on aiohttp, like ours, so the comparison is between
the two servers' own work and not between web stacks. No accounts, no storage.

With ``--redis redis://HOST:PORT/DB`` it is one of several processes of one
Socket.IO service: python-socketio's ``AsyncRedisManager`` publishes each
``emit`` through Redis and every process hands it to its own clients, the way
the library scales out (bench.cluster runs one, two and three of them beside
as many of ours). The ``seq`` then counts per process; nothing reads it.

Run: ``python -m bench.baselines.socketio_server --port 0 [--redis URL]`` (logs
"listening on http://127.0.0.1:PORT"; SIGTERM/SIGINT stop it). Clients connect
to ``/socket.io/?EIO=4&transport=websocket``.
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import UTC, datetime
from typing import Any

import socketio
from aiohttp import web

from bench.baselines import serve


def make_app(redis_url: str | None = None) -> web.Application:
    """An aiohttp application with a Socket.IO server that broadcasts messages.

    With ``redis_url`` the broadcast goes through python-socketio's Redis manager.
    """
    manager = socketio.AsyncRedisManager(redis_url) if redis_url else None
    # WebSocket only: the benchmark clients, like ours, never long-poll.
    sio = socketio.AsyncServer(
        async_mode="aiohttp",
        transports=["websocket"],
        logger=False,
        engineio_logger=False,
        client_manager=manager,
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


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--redis", help="redis://...: one of several processes (Redis manager)")
    args = parser.parse_args()
    asyncio.run(serve(make_app(args.redis), "socketio broadcast", args.host, args.port))


if __name__ == "__main__":
    main()
