"""``chat-server`` with chosen limits, as a process: for tests that measure or kill it.

The CLI has no options for the contract's limits (they are the contract's);
tests that need the real server *process* (to read its memory, to kill it)
with shrunk limits run this instead:
``python -m tests.reliability.limited_server DATA_DIR LIMITS_JSON``. It
builds the same :class:`ServerConfig` as the CLI, with ``limits`` replaced
by the JSON's fields, binds 127.0.0.1 on a free port and runs
:func:`chat_server.cli.serve` (SIGTERM stops it). :func:`limited_server`
starts it and hands back its URL and pid.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import re
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chat_protocol import Limits
from chat_server.cli import serve
from chat_server.config import ServerConfig

ROOT = Path(__file__).resolve().parents[2]
_LISTENING = re.compile(r"listening on (http://\S+)")


@dataclass
class RunningServer:
    """What a test needs of the process: where it listens, and its pid (for /proc)."""

    url: str
    pid: int
    data_dir: Path

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    @property
    def base_url(self) -> str:
        return self.url

    def rss_bytes(self) -> int:
        """Resident memory now, from /proc (Linux)."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError("no VmRSS")


@contextlib.asynccontextmanager
async def limited_server(data_dir: Path, **limits: Any) -> AsyncIterator[RunningServer]:
    """Run the server process with ``limits``; SIGTERM it at the end (it must exit 0)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.reliability.limited_server",
        str(data_dir),
        json.dumps(limits),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert proc.stdout is not None
    output: list[str] = []
    drain: asyncio.Task[None] | None = None
    try:
        async with asyncio.timeout(20):
            while True:
                line = (await proc.stdout.readline()).decode()
                assert line, "the server did not start:\n" + "".join(output)
                output.append(line)
                if found := _LISTENING.search(line):
                    break

        async def keep_reading() -> None:
            assert proc.stdout is not None
            while line := await proc.stdout.readline():
                output.append(line.decode())

        # An unread pipe would block the server once full.
        drain = asyncio.create_task(keep_reading())
        yield RunningServer(found.group(1).rstrip("/"), proc.pid, data_dir)
    finally:
        if proc.returncode is None:
            proc.terminate()
        code = await proc.wait()
        if drain is not None:
            await drain
    assert code == 0, "".join(output)


def main() -> None:
    data_dir, limits = sys.argv[1:]
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    config = ServerConfig(host="127.0.0.1", port=0, data_dir=Path(data_dir), name="test")
    config.limits = dataclasses.replace(Limits(), **json.loads(limits))
    asyncio.run(serve(config))


if __name__ == "__main__":
    main()
