"""The wire between the servers of one chat: one Redis stream that each of them writes and reads.

Every event that must cross servers (a committed log entry, typing, a read,
a room appearing or going, a user's presence here) is one record of the
stream ``chat:events``, tagged with the id of the server that wrote it. Each
server reads the stream from where it stood and hands the others' records
to the cluster (:mod:`chat_server.cluster`); its own it applied already.

A stream rather than pub/sub because a reader that was away for a moment
(a reconnect, a slow loop) reads on from its last id instead of losing what
was said meanwhile. Still, nothing here is relied on for the log: a record
lost with Redis (a restart without persistence, a server killed between
commit and write) is found again through the database by
:mod:`chat_server.cluster.order`. Outgoing records are batched: whatever
queued up while the previous batch was on its way goes in one pipeline,
so a burst costs one round trip, not one per message.

:class:`RedisLink` is the one place that knows whether Redis answers: it
says so in the log once when Redis goes away and once when it is back,
never once per message, and tells whoever asked (presence re-announces
this server's users then).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from chat_protocol import dump_json, load_object

from ..config import shown_url

log = logging.getLogger(__name__)

STREAM = "chat:events"
# The stream is trimmed to about this many records: a reader further behind
# than that finds the rest in the database.
STREAM_LENGTH = 100_000
# How long a read blocks in Redis before it looks again, in milliseconds.
BLOCK_MS = 1000
# How long to wait before trying Redis again after it failed.
RETRY_SECONDS = 0.5
# How long stopping waits for a task that was cancelled.
STOP_SECONDS = 2.0

# What failing Redis looks like to redis-py: its own errors, or the socket's.
REDIS_FAILURES = (RedisError, OSError, asyncio.TimeoutError)

# (the id of the server that sent it, the event).
Handler = Callable[[str, dict[str, Any]], None]
# A Redis command as its arguments, e.g. ("SADD", key, member).
Command = tuple[str | int | float, ...]


async def stop_tasks(tasks: list[asyncio.Task[None]]) -> None:
    """Cancel ``tasks`` and wait for them, a moment at most.

    redis-py may turn a cancellation in the middle of a command into a
    connection error, which the loops here take for Redis failing and go
    on; so the loops also stop when their list of tasks is emptied, and
    stopping does not wait forever for one that did not hear.
    """
    for task in tasks:
        task.cancel()
    tasks_copy = list(tasks)
    tasks.clear()
    if tasks_copy:
        await asyncio.wait(tasks_copy, timeout=STOP_SECONDS)
    for task in tasks_copy:
        if task.done() and not task.cancelled() and task.exception() is not None:
            log.error("a cluster task failed", exc_info=task.exception())


class RedisLink:
    """The cluster's Redis client, and whether Redis answers (logged once per change)."""

    def __init__(self, url: str) -> None:
        # For the log: without a password that the URL may carry.
        self.url = shown_url(url)
        # socket_timeout above the blocking read's BLOCK_MS, so that a read
        # waiting in Redis is not mistaken for a dead connection. One retry
        # at once on a fresh connection: after Redis restarted, each pooled
        # connection fails once; but no backoff, so that while Redis is away
        # a command fails fast and the server goes on without it.
        self.redis: aioredis.Redis = aioredis.Redis.from_url(
            url,
            socket_connect_timeout=2,
            socket_timeout=BLOCK_MS / 1000 + 4,
            retry=Retry(NoBackoff(), 1),
        )
        self.away = False
        self._on_return: list[Callable[[], None]] = []

    def on_return(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` each time Redis answers again after it failed."""
        self._on_return.append(callback)

    def failed(self, exc: BaseException) -> None:
        if not self.away:
            self.away = True
            log.warning(
                "Redis at %s is unreachable (%s): messages are still stored and answered; "
                "servers catch up from the database until it is back",
                self.url,
                exc or type(exc).__name__,
            )

    def answered(self) -> None:
        if self.away:
            self.away = False
            log.info("Redis at %s answers again", self.url)
            for callback in self._on_return:
                callback()

    async def close(self) -> None:
        await self.redis.aclose()


class Bus:
    """Sends this server's events to the stream and hands the others' to ``handler``."""

    def __init__(self, link: RedisLink, server_id: str, handler: Handler) -> None:
        self._link = link
        self._server_id = server_id
        self._handler = handler
        self._outgoing: list[tuple[dict[str, Any], tuple[Command, ...]]] = []
        self._wake = asyncio.Event()
        # Where reading goes on from: "$" (only what comes next) until start().
        self._last_id: bytes | str = "$"
        self._tasks: list[asyncio.Task[None]] = []

    async def prepare(self) -> None:
        """Note where the stream ends now: called before the server reads its rooms from
        the database, so that whatever is committed after that read is read here."""
        try:
            self._last_id = await self._stream_end()
        except REDIS_FAILURES as exc:
            self._link.failed(exc)

    async def _stream_end(self) -> bytes | str:
        """The id of the stream's newest record ("0-0" while it is empty)."""
        newest: Any = await self._link.redis.xrevrange(STREAM, count=1)
        return newest[0][0] if newest else "0-0"

    def start(self) -> None:
        """Start writing and reading."""
        self._tasks = [
            asyncio.create_task(self._write_loop(), name="cluster bus writer"),
            asyncio.create_task(self._read_loop(), name="cluster bus reader"),
        ]

    async def stop(self) -> None:
        """Send what is queued (briefly), then stop reading and writing."""
        if self._outgoing and not self._link.away:
            with contextlib.suppress(TimeoutError, *REDIS_FAILURES):
                async with asyncio.timeout(2):
                    await self._flush()
        await stop_tasks(self._tasks)
        self._tasks = []

    def send(self, event: dict[str, Any], *commands: Command) -> None:
        """Queue an event for the other servers; never waits.

        ``commands`` (Redis commands as argument tuples) are run just before
        the event is added, in the same round trip: presence changes its
        set that way before it tells the others.
        """
        self._outgoing.append((event, commands))
        self._wake.set()

    async def _flush(self) -> None:
        batch, self._outgoing = self._outgoing, []
        if not batch:
            return
        try:
            async with self._link.redis.pipeline(transaction=False) as pipe:
                for event, commands in batch:
                    for command in commands:
                        pipe.execute_command(*command)
                    pipe.xadd(
                        STREAM,
                        {"s": self._server_id, "e": dump_json(event)},
                        maxlen=STREAM_LENGTH,
                        approximate=True,
                    )
                await pipe.execute()
        except REDIS_FAILURES as exc:
            # Dropped, not retried: log entries are found through the
            # database, and typing or presence would be stale by then.
            self._link.failed(exc)
        else:
            self._link.answered()

    async def _write_loop(self) -> None:
        while self._tasks:
            await self._wake.wait()
            self._wake.clear()
            await self._flush()

    async def _read_loop(self) -> None:
        redis = self._link.redis
        while self._tasks:
            try:
                if self._last_id == "$":
                    # Redis was away at start: begin at its end now, then
                    # read on from there (with "$" each read would skip
                    # what came between two reads).
                    self._last_id = await self._stream_end()
                found: Any = await redis.xread({STREAM: self._last_id}, count=1000, block=BLOCK_MS)
            except REDIS_FAILURES as exc:
                self._link.failed(exc)
                await asyncio.sleep(RETRY_SECONDS)
                continue
            self._link.answered()
            for _stream, records in found or ():
                for record_id, fields in records:
                    self._last_id = record_id
                    self._dispatch(fields)

    def _dispatch(self, fields: dict[bytes, bytes]) -> None:
        sender = fields.get(b"s", b"").decode()
        if sender == self._server_id:
            return
        try:
            self._handler(sender, load_object(fields[b"e"]))
        except Exception:  # one bad record must not stop the reader
            log.exception("could not apply an event from server %s", sender)
