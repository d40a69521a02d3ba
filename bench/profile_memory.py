"""Where our server's memory per idle connection goes: tracemalloc across a ramp of sockets.

A profile, not a benchmark: it runs :class:`chat_server.app.ChatServer` in
this process with ``tracemalloc`` on, opens ``--connections`` idle
authenticated sockets from a worker process (:mod:`bench.wire` clients), and
prints the source lines whose allocations grew, in bytes per connection, so
that the ``connections`` benchmark's figure can be traced to its causes.
tracemalloc sees Python allocations only (not kernel socket buffers or
allocator slack), so the total is below the RSS difference.

Run: ``python -m bench.profile_memory --connections 2000``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import tracemalloc

from bench import harness, wire
from chat_server.app import ChatServer
from chat_server.config import ServerConfig


async def run(connections: int, top: int) -> None:
    harness.raise_file_limit()
    with harness.temp_dir() as folder:
        server = ChatServer(ServerConfig(host=harness.HOST, port=0, data_dir=folder, name="bench"))
        await server.start()
        pool: harness.ReceiverPool | None = None
        try:
            tokens = await harness.register_users(server.base_url, ["reader0"])
            endpoint = wire.Endpoint("ours", harness.HOST, server.port, (tokens["reader0"],))
            pool = harness.ReceiverPool(endpoint, 1, keep_latencies=False)
            await pool.connect(10)
            await asyncio.sleep(1.0)
            gc.collect()
            before = tracemalloc.take_snapshot()
            await pool.connect(connections)
            await asyncio.sleep(2.0)
            gc.collect()
            after = tracemalloc.take_snapshot()
        finally:
            if pool is not None:
                pool.close()
            await server.stop()
    diff = after.compare_to(before, "lineno")
    total = sum(stat.size_diff for stat in diff)
    print(f"Python allocations per idle connection: {total / connections:,.0f} bytes")
    harness.print_table(
        f"Top {top} source lines by growth ({connections:,} connections)",
        ["bytes/connection", "blocks/connection", "where"],
        [
            (
                stat.size_diff / connections,
                stat.count_diff / connections,
                f"{stat.traceback[0].filename.split('site-packages/')[-1]}:{stat.traceback[0].lineno}",
            )
            for stat in diff[:top]
        ],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--connections", type=int, default=2000)
    parser.add_argument("--top", type=int, default=20)
    args = parser.parse_args()
    tracemalloc.start()
    asyncio.run(run(args.connections, args.top))


if __name__ == "__main__":
    main()
