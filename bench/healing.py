"""Healing: how soon the app's link is connected again after a server restart.

Issue 16's scenario: the server is down for ``--outage`` seconds (8), comes
back, and ``--gap`` seconds (20) after it is back it restarts again, down for
``--restart`` seconds (1). The figure is the *heal time* of that second
restart: from the server accepting connections again (its "listening" line)
to each client's link reporting CONNECTED (the server's ``welcome``).
Target: under 3 s for every client.

The clients are the app's own :class:`~chat_desktop.transport.link.ServerLink`,
built as ``ChatController`` builds it, so with whatever reconnect policy the
link has (its default :class:`~chat_desktop.transport.reconnect.ReconnectPolicy`);
the benchmark only watches its public state. They run in worker processes
(:class:`LinkPool`), the server (:mod:`bench.ours_server`, a real SQLite file
kept across the restarts, so tokens stay valid) in a subprocess that is
stopped with SIGTERM, as a service manager restarts it, and started again on
the same port. CLOCK_MONOTONIC is one clock for every process, so the
workers' timestamps and the parent's compare directly.

Baseline, in the same run: a fresh lean client (:mod:`bench.wire`) that
connects the moment the server is back: the floor of any heal time (the
server's accept, hello and welcome), which no backoff can beat.

:mod:`bench.reconnect_storm` uses the same pool and restart for a thousand clients.

Run: ``python -m bench.healing`` (about a minute) or, quickly,
``python -m bench.healing --clients 3 --outage 1 --gap 2 --restart 0.2``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing.connection
import signal
import statistics
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

from bench import harness, wire
from chat_desktop.transport.link import ServerLink
from chat_desktop.transport.state import LinkKind, LinkState

TARGET_S = 3.0


# The links, in worker processes ---------------------------------------------------


class WatchedLink:
    """One ``ServerLink`` and the times of its state changes (CLOCK_MONOTONIC)."""

    def __init__(self, base_url: str, token: str, username: str) -> None:
        self.changes: list[tuple[float, str]] = []
        self.connected = asyncio.Event()
        # The same arguments as ChatController.start, an empty cache's positions.
        self.link = ServerLink(
            base_url,
            token,
            positions=dict,
            on_event=lambda event: None,
            on_state=self._on_state,
            username=username,
        )

    def _on_state(self, state: LinkState) -> None:
        self.changes.append((time.monotonic(), state.kind.value))
        if state.kind is LinkKind.CONNECTED:
            self.connected.set()
        else:
            self.connected.clear()

    def connected_after(self, since: float) -> float | None:
        """When the link was first CONNECTED at or after ``since``; None if not (yet)."""
        for at, kind in self.changes:
            if at >= since and kind == LinkKind.CONNECTED.value:
                return at
        return None


def _link_worker(
    conn: multiprocessing.connection.Connection,
    base_url: str,
    accounts: Sequence[tuple[str, str]],
    first_index: int,
) -> None:
    """Body of a worker: hold links and answer the parent's commands until told to stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and stops us
    harness.raise_file_limit()
    try:
        asyncio.run(_link_loop(conn, base_url, accounts, first_index))
    finally:
        conn.close()


async def _link_loop(
    conn: multiprocessing.connection.Connection,
    base_url: str,
    accounts: Sequence[tuple[str, str]],
    first_index: int,
) -> None:
    links: list[WatchedLink] = []
    try:
        while True:
            command, arg = await harness.recv_pipe(conn)
            if command == "open":
                for i in range(len(links), len(links) + arg):
                    username, token = accounts[(first_index + i) % len(accounts)]
                    links.append(WatchedLink(base_url, token, username))
                    links[-1].link.start()
                conn.send(("ok", len(links)))
            elif command == "wait":
                # All connected (again) within ``arg`` seconds, or the count that made it.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(arg):
                        for watched in links:
                            await watched.connected.wait()
                conn.send(("ok", sum(w.connected.is_set() for w in links)))
            elif command == "connected_after":
                conn.send(("ok", [w.connected_after(arg) for w in links]))
            elif command == "stop":
                return
    finally:
        await asyncio.gather(*(w.link.close() for w in links))


class LinkPool(harness.WorkerPool):
    """App links spread over worker processes; every command goes to all of them.

    ``accounts`` are (username, token) pairs; link number i uses account
    ``i % len(accounts)``, as devices of the same people would.
    """

    def __init__(
        self, base_url: str, accounts: Sequence[tuple[str, str]], processes: int = 1
    ) -> None:
        super().__init__(_link_worker, [(base_url, list(accounts), k) for k in range(processes)])
        self.count = 0

    async def open(self, count: int) -> None:
        """Start ``count`` more links, split evenly across the workers (not waiting for them)."""
        await self.all("open", self.shares(count))
        self.count += count

    async def wait_connected(self, within: float) -> int:
        """Wait until every link is connected, at most ``within`` s; how many are."""
        return sum(await self.all("wait", [within] * len(self.pipes), within + 30))

    async def connected_after(self, since: float) -> list[float | None]:
        """Per link, when it was first connected at or after ``since`` (None: not yet)."""
        answers = await self.all("connected_after", [since] * len(self.pipes))
        return [at for answer in answers for at in answer]

    def cpu_seconds(self) -> float:
        """CPU time of the workers so far (what the clients cost)."""
        total = 0.0
        for worker in self.workers:
            if worker.pid is not None and worker.is_alive():
                total += harness.ProcessStats(worker.pid).cpu_seconds()
        return total


@contextlib.asynccontextmanager
async def link_pool(
    base_url: str, accounts: Sequence[tuple[str, str]], processes: int
) -> AsyncIterator[LinkPool]:
    pool = LinkPool(base_url, accounts, processes)
    try:
        yield pool
    finally:
        # Closing a thousand links (a close handshake each) takes a moment.
        pool.close(within=15)


# The server and its restarts ------------------------------------------------------


@contextlib.asynccontextmanager
async def restartable_server(
    data_dir: Path, users: int, messages_per_second: float | None = None
) -> AsyncIterator[tuple[harness.ServerProcess, list[tuple[str, str]]]]:
    """Our server on a free port, with ``users`` accounts; stopped whatever happens.

    Yields the server and its (username, token) pairs.
    """
    server = harness.ServerProcess.ours(data_dir, messages_per_second)
    try:
        server.start()
        # From now on the port is fixed, so that a restart comes back where the clients look.
        server.args += ["--port", str(server.port)]
        names = [f"user{i}" for i in range(users)]
        tokens = await harness.register_users(server.url, names)
        yield server, [(name, tokens[name]) for name in names]
    finally:
        server.stop()


def restart(server: harness.ServerProcess, down: float) -> tuple[float, float]:
    """Stop the server (SIGTERM), leave it down ``down`` s, start it again on its port.

    Returns (stopped at, back at): back is when the new process said it listens.
    Blocks the caller's thread: the clients live in worker processes.
    """
    server.stop()
    stopped = time.monotonic()
    time.sleep(down)
    server.start()
    return stopped, time.monotonic()


async def floor_connect(server: harness.ServerProcess, token: str) -> float:
    """Seconds a fresh lean client needs from now to the server's welcome."""
    started = time.monotonic()
    endpoint = wire.Endpoint("ours", harness.HOST, server.port, (token,))
    clients = await wire.connect(endpoint, 1, wire.Sink(), within=30)
    took = time.monotonic() - started
    for client in clients:
        client.close()
    return took


def heal_times(connected: Sequence[float | None], back: float) -> list[float]:
    """Seconds from ``back`` to each link's reconnection; inf for links that never came back."""
    return [at - back if at is not None else float("inf") for at in connected]


def spread(times: Sequence[float]) -> dict[str, float]:
    """Median, p99 and max of a list of seconds (inf counts as never)."""
    ordered = sorted(times)
    if not ordered:
        return {"median_s": float("nan"), "p99_s": float("nan"), "max_s": float("nan")}
    return {
        "median_s": statistics.median(ordered),
        "p99_s": ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))],
        "max_s": ordered[-1],
    }


# The scenario ---------------------------------------------------------------------


async def run(args: argparse.Namespace) -> dict[str, Any]:
    harness.raise_file_limit()
    rows = []
    with harness.temp_dir() as data_dir:
        async with (
            restartable_server(data_dir, args.clients) as (server, accounts),
            link_pool(server.url, accounts, args.processes) as pool,
        ):
            await pool.open(args.clients)
            if await pool.wait_connected(60) < args.clients:
                raise RuntimeError("not every link connected to the fresh server")
            # The first drop: a long outage, during which the links back off.
            restarts = [("outage", args.outage), ("restart", args.restart)]
            for label, down in restarts:
                stopped, back = restart(server, down)
                floor = await floor_connect(server, accounts[0][1])
                await pool.wait_connected(args.within)
                times = heal_times(await pool.connected_after(back), back)
                row = {
                    "drop": label,
                    "clients": args.clients,
                    "down_s": down,
                    "outage_s": back - stopped,
                    **spread(times),
                    "healed": sum(t != float("inf") for t in times),
                    "floor_s": floor,
                    "heal_s": times,
                }
                rows.append(row)
                print(
                    f"{label}: server down {back - stopped:.1f} s; heal median"
                    f" {row['median_s']:.2f} s, max {row['max_s']:.2f} s",
                    flush=True,
                )
                if label == "outage":
                    # The gap counts from the server being back, as a user would see it.
                    await asyncio.sleep(max(0.0, back + args.gap - time.monotonic()))
    second = rows[-1]
    report(rows, args)
    return {
        "benchmark": "healing",
        "args": vars(args),
        "rows": rows,
        "figures": {
            "clients": args.clients,
            "gap_s": args.gap,
            "median_s": second["median_s"],
            "max_s": second["max_s"],
            "floor_s": second["floor_s"],
            "target_s": TARGET_S,
        },
    }


HEADERS = ("drop", "server down s", "healed", "heal median s", "heal max s", "fresh client s")


def table_rows(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """One line per drop under :data:`HEADERS`, for the console and for bench.report."""
    return [
        (
            r["drop"],
            r["outage_s"],
            f"{r['healed']}/{r['clients']}",
            r["median_s"],
            r["max_s"],
            r["floor_s"],
        )
        for r in rows
    ]


def report(rows: list[dict[str, Any]], args: argparse.Namespace) -> None:
    harness.print_table(
        f"Healing: {args.clients} app links; a {args.outage:g} s outage, then"
        f" {args.gap:g} s later a {args.restart:g} s restart",
        HEADERS,
        table_rows(rows),
    )
    worst = rows[-1]["max_s"]
    verdict = "met" if worst < TARGET_S else "missed"
    print(f"heal time of the second restart: {verdict} (target: every client < {TARGET_S:g} s)")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--clients", type=int, default=10, help="app links (one account each)")
    parser.add_argument("--outage", type=float, default=8.0, help="first drop: seconds down")
    parser.add_argument("--gap", type=float, default=20.0, help="seconds up between the drops")
    parser.add_argument("--restart", type=float, default=1.0, help="second drop: seconds down")
    parser.add_argument(
        "--within", type=float, default=90.0, help="give up on a link after this long"
    )
    parser.add_argument("--processes", type=int, default=1, help="worker processes for the links")
    parser.add_argument("--json", help="also write the figures to this file")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    harness.execute(run, parse_args(argv))


if __name__ == "__main__":
    main()
