"""What one message costs our server in thread wake-ups and CPU, counted rather than timed.

Issue 17 (``bench/profiles.md``): on a shared machine wall-clock latency
moves by milliseconds from one run to the next, but the number of times the
server's threads went to sleep and were woken (context switches, which the
kernel counts per thread in ``/proc/PID/task/TID/status``) and the CPU time
it spent do not depend on how busy the other tenants are. Each hand-off of a
message between threads (loop -> writer -> loop) is a sleeping thread woken,
so these counts show the hand-offs directly.

One sender sends ``--messages`` messages at ``--rate`` per second, awaiting
each ack (the latency case: a lone message, the writer idle), to
``--receivers`` listening sockets; printed per message: context switches
of the server's threads (by thread name), the server's CPU time, and the
sender's send -> ack and send -> broadcast times (wall clock: noisy).

Run: ``python -m bench.handoffs [--messages 500 --rate 50 --receivers 10]``.
Point ``PYTHONPATH`` at another checkout to count its server instead.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
import uuid
from collections import Counter
from pathlib import Path

from websockets.asyncio.client import ClientConnection, connect

from bench import harness


def thread_switches(pid: int) -> Counter[str]:
    """Context switches (voluntary + involuntary) so far, summed per thread name."""
    counts: Counter[str] = Counter()
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            status = Path(f"/proc/{pid}/task/{tid}/status").read_text()
        except OSError:
            continue  # the thread ended meanwhile
        fields = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
        # Python leaves its threads' OS names alone: the main thread (the
        # event loop's) by its id, the rest (the writer, readers) together.
        name = "loop" if int(tid) == pid else f"thread {int(tid) - pid}"
        counts[name] += int(fields["voluntary_ctxt_switches"]) + int(
            fields["nonvoluntary_ctxt_switches"]
        )
    return counts


async def hello(ws: ClientConnection, token: str) -> None:
    await ws.send(json.dumps({"type": "hello", "token": token, "since": {}}))
    while json.loads(await ws.recv())["type"] != "welcome":
        pass


async def listen(ws: ClientConnection, heard: dict[str, int]) -> None:
    async for frame in ws:
        event = json.loads(frame)
        if event.get("type") == "message":
            heard.setdefault(event["client_id"], time.perf_counter_ns())


async def measure(args: argparse.Namespace, url: str, pid: int) -> dict[str, object]:
    names = ["sender", *(f"r{i}" for i in range(args.receivers))]
    tokens = await harness.register_users(url, names)
    ws_url = url.replace("http://", "ws://") + "/ws"
    heard: dict[str, int] = {}
    receivers = [await connect(ws_url, max_queue=None) for _ in range(args.receivers)]
    listeners = []
    for index, ws in enumerate(receivers):
        await hello(ws, tokens[f"r{index}"])
        listeners.append(asyncio.create_task(listen(ws, heard)))
    async with connect(ws_url, max_queue=None) as sender:
        await hello(sender, tokens["sender"])

        async def one() -> tuple[int, str]:
            client_id = str(uuid.uuid4())
            frame = json.dumps(
                {"type": "message", "room": "general", "client_id": client_id, "text": "x" * 40}
            )
            sent = time.perf_counter_ns()
            await sender.send(frame)
            while True:
                event = json.loads(await sender.recv())
                if event.get("type") == "ack" and event.get("client_id") == client_id:
                    return time.perf_counter_ns() - sent, client_id

        for _ in range(20):  # warm-up: connections, caches, the first WAL pages
            await one()
            await asyncio.sleep(1 / args.rate)
        await asyncio.sleep(0.5)
        before, cpu_before = thread_switches(pid), harness.ProcessStats(pid).cpu_seconds()
        acks: list[int] = []
        sent_at: dict[str, int] = {}
        for _ in range(args.messages):
            start = time.perf_counter_ns()
            took, client_id = await one()
            sent_at[client_id] = start
            acks.append(took)
            await asyncio.sleep(max(0.0, 1 / args.rate - took / 1e9))
        await asyncio.sleep(0.5)
        after, cpu_after = thread_switches(pid), harness.ProcessStats(pid).cpu_seconds()
    for task in listeners:
        task.cancel()
    for ws in receivers:
        await ws.close()
    n = args.messages
    switches = {name: (after[name] - before[name]) / n for name in sorted(after)}
    broadcast = [heard[c] - sent_at[c] for c in sent_at if c in heard]
    return {
        "messages": n,
        "switches_per_message": switches,
        "switches_total_per_message": sum(switches.values()),
        "cpu_us_per_message": (cpu_after - cpu_before) / n * 1e6,
        "ack_p50_ms": statistics.median(acks) / 1e6,
        "broadcast_p50_ms": statistics.median(broadcast) / 1e6 if broadcast else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--receivers", type=int, default=10)
    parser.add_argument("--json", help="also write the result here")
    args = parser.parse_args()
    with harness.temp_dir() as data_dir:
        server = harness.ServerProcess.ours(data_dir, messages_per_second=1000)
        with harness.running(server):
            url = server.start()
            assert server.proc is not None
            result = asyncio.run(measure(args, url, server.proc.pid))
            server.stop()  # it prints its commit counts as it stops
        result["server_said"] = [line.strip() for line in server.output if "commits" in line]
    result["pythonpath"] = os.environ.get("PYTHONPATH", "")
    print(json.dumps(result, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
