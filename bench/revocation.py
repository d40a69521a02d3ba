"""How long an operator's revocation takes to reach a running server's open sockets.

Issue 11 asks that ``chat-server user reset-password|disable|remove``, run as
its own process on the server's data, sign the user out of every running
server within 2 s, open sockets included. The server learns of it by reading
the store's revocation log every ``ServerConfig.revocation_check_seconds``
(1 s by default; :mod:`chat_server.revocation`), so the expected figure is up
to one interval plus a read and the close handshake. The tests drive that
path with a short interval; this measures the real one, with the defaults.

Each repetition registers a fresh user on our server (a real process, a real
SQLite file), opens ``--sockets`` WebSocket sessions with its token, runs
``chat-server user ACTION NAME`` as an operator would, and times, from the
moment that process exited (its transaction committed), until each socket
received its 4401 close. Printed: p50 and max of that delay per action, and
how many sockets were closed with 4401 (all of them, or something is wrong).

Run: ``python -m bench.revocation`` or, quickly,
``python -m bench.revocation --repeat 1 --sockets 3``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

from bench import harness

ACTIONS = ("reset-password", "disable", "remove")


async def _closed_at(ws: ClientConnection) -> tuple[float, int | None]:
    await ws.wait_closed()
    return time.monotonic(), ws.close_code


async def _one(
    server: harness.ServerProcess, data_dir: Path, action: str, name: str, sockets: int
) -> dict[str, Any]:
    token = (await harness.register_users(server.url, [name]))[name]
    url = server.url.replace("http://", "ws://") + "/ws"
    opened = [await connect(url, max_queue=None) for _ in range(sockets)]
    try:
        for ws in opened:
            await ws.send(json.dumps({"type": "hello", "token": token}))
            await asyncio.wait_for(ws.recv(), 10)  # welcome
        closes = [asyncio.create_task(_closed_at(ws)) for ws in opened]
        cli = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "chat_server",
            "user",
            action,
            name,
            "--data-dir",
            str(data_dir),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        _, err = await cli.communicate(harness.PASSWORD.encode() + b"-new\n")
        committed = time.monotonic()
        if cli.returncode != 0:
            raise RuntimeError(f"chat-server user {action} {name}: {err.decode()}")
        done = await asyncio.wait_for(asyncio.gather(*closes), 30)
    finally:
        for ws in opened:
            await ws.close()
    delays_ns = [max(0, int((at - committed) * 1e9)) for at, _ in done]
    figures = harness.summary(delays_ns)
    return {
        "action": action,
        "sockets": sockets,
        "closed_4401": sum(code == 4401 for _, code in done),
        "p50_ms": figures["p50_ms"],
        "max_ms": figures["max_ms"],
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    with harness.temp_dir() as folder:
        data_dir = folder / "data"
        with harness.running(harness.ServerProcess.ours(data_dir)) as (server,):
            for repeat in range(args.repeat):
                for action in ACTIONS:
                    name = f"{action.split('-')[0]}{repeat}"
                    rows.append(await _one(server, data_dir, action, name, args.sockets))
    table = harness.medians(rows, ["action"])
    harness.print_table(
        "Revocation by the CLI -> 4401 on the open sockets (default 1 s check interval)",
        ["action", "sockets", "closed with 4401", "p50 ms", "max ms", "repeats"],
        [
            [r["action"], r["sockets"], r["closed_4401"], r["p50_ms"], r["max_ms"], r["repeats"]]
            for r in table
        ],
    )
    return {"benchmark": "revocation", "rows": table, "runs": rows}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per action (medians shown)")
    parser.add_argument("--sockets", type=int, default=20, help="open sockets of the user")
    parser.add_argument("--json", help="also write the figures to this file")
    harness.execute(run, parser.parse_args(argv))


if __name__ == "__main__":
    main()
