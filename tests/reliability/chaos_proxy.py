"""A loopback TCP proxy that breaks connections on purpose, driven by a seeded RNG.

:class:`ChaosProxy` sits between clients and the real server (127.0.0.1
only) and forwards bytes both ways. While a *storm* runs it picks one of its
live connections every few hundred milliseconds and does one of:

- **drop**: abort both sides at once (an RST, a crashed router);
- **stall**: stop forwarding for a while, then go on with everything that
  was held back (a congested link; nothing is lost, it is only late);
- **blackhole**: swallow every byte both ways and never close (a NAT entry
  that vanished): only keepalive can tell.

Outside a storm, a test can also do one of these on purpose to every live
connection (:meth:`ChaosProxy.blackhole_all`, or
:meth:`ChaosProxy.swallow_answers`: the server gets every byte, the client
none, as from a server that reads and never answers). New connections are
also cut during the handshake now and then. After the
storm, :meth:`heal` aborts what is blackholed and opens every stall, so the
end state is an ordinary network again. It works on bytes, not frames: it
knows nothing about WebSocket or HTTP, which is the point.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import Counter
from dataclasses import dataclass, field


@dataclass(eq=False)
class _Pipe:
    """One client connection and its upstream twin."""

    serial: int
    client: asyncio.StreamWriter
    upstream: asyncio.StreamWriter
    # Cleared while stalled: the pumps wait on it.
    flowing: asyncio.Event = field(default_factory=asyncio.Event)
    blackholed: bool = False
    # Bytes from the server are swallowed, those to it still go through.
    answers_swallowed: bool = False

    def abort(self) -> None:
        for writer in (self.client, self.upstream):
            writer.transport.abort()


class ChaosProxy:
    """Forward 127.0.0.1:port to ``upstream_port``; :meth:`storm` breaks connections."""

    def __init__(self, upstream_port: int, seed: int) -> None:
        self._upstream_port = upstream_port
        self._rng = random.Random(seed)
        self._server: asyncio.Server | None = None
        self._pipes: set[_Pipe] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._raging = False
        # What the storm did, for the test's report: drop, stall, blackhole, cut_handshake.
        self.actions: Counter[str] = Counter()
        self.connections = 0
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop listening, cut every connection and wait for every pump."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for pipe in list(self._pipes):
            pipe.abort()
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def _spawn(self, coro: object) -> None:
        task = asyncio.get_running_loop().create_task(coro)  # type: ignore[arg-type]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        if self._raging and self._rng.random() < 0.1:
            self.actions["cut_handshake"] += 1
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self._upstream_port)
        except OSError:
            writer.transport.abort()
            return
        pipe = _Pipe(self.connections, writer, up_writer)
        pipe.flowing.set()
        self._pipes.add(pipe)
        done = asyncio.Event()
        self._spawn(self._pump(pipe, reader, up_writer, done))
        self._spawn(self._pump(pipe, up_reader, writer, done))
        self._spawn(self._forget(pipe, done))

    async def _forget(self, pipe: _Pipe, done: asyncio.Event) -> None:
        await done.wait()
        pipe.abort()
        self._pipes.discard(pipe)

    async def _pump(
        self,
        pipe: _Pipe,
        source: asyncio.StreamReader,
        target: asyncio.StreamWriter,
        done: asyncio.Event,
    ) -> None:
        try:
            while data := await source.read(65536):
                await pipe.flowing.wait()
                if pipe.blackholed or (pipe.answers_swallowed and target is pipe.client):
                    continue
                target.write(data)
                await target.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            done.set()

    async def storm(self, seconds: float) -> None:
        """Break connections at random for ``seconds``, then :meth:`heal`."""
        self._raging = True
        loop = asyncio.get_running_loop()
        end = loop.time() + seconds
        try:
            while loop.time() < end:
                await asyncio.sleep(self._rng.uniform(0.05, 0.3))
                # Sorted by serial: the seeded choice must not depend on set order.
                live = sorted((p for p in self._pipes if not p.blackholed), key=lambda p: p.serial)
                if not live:
                    continue
                pipe = self._rng.choice(live)
                action = self._rng.choices(["drop", "stall", "blackhole"], [5, 4, 1])[0]
                self.actions[action] += 1
                if action == "drop":
                    pipe.abort()
                elif action == "stall":
                    pipe.flowing.clear()
                    loop.call_later(self._rng.uniform(0.2, 1.5), pipe.flowing.set)
                else:
                    pipe.blackholed = True
        finally:
            self.heal()

    def blackhole(self) -> None:
        """Swallow every byte of every open connection from now on, closing none (a frozen
        server, a vanished NAT entry); :meth:`heal` or :meth:`stop` cuts them."""
        for pipe in self._pipes:
            pipe.blackholed = True
        self.actions["blackhole"] += len(self._pipes)

    def heal(self) -> None:
        """An ordinary network again: blackholes cut, stalls released, no more cuts."""
        self._raging = False
        for pipe in list(self._pipes):
            if pipe.blackholed or pipe.answers_swallowed:
                pipe.abort()
            pipe.flowing.set()

    def blackhole_all(self) -> None:
        """Swallow every byte of every live connection, both ways, until :meth:`heal`."""
        for pipe in self._pipes:
            pipe.blackholed = True

    def swallow_answers(self) -> None:
        """Let every live connection's bytes reach the server but none come back,
        until :meth:`heal`."""
        for pipe in self._pipes:
            pipe.answers_swallowed = True


@contextlib.asynccontextmanager
async def chaos_proxy(upstream_port: int, seed: int):  # type: ignore[no-untyped-def]
    """A started :class:`ChaosProxy`, stopped afterwards."""
    proxy = ChaosProxy(upstream_port, seed)
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.stop()
