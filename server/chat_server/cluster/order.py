"""Each room's log entries handed to this server's hub once each, in seq order, with no gap.

Entries reach a server of a cluster by two ways that may disagree: its own
commits (at once) and the other servers' (through the Redis stream, a
moment later, or never when Redis lost them or their server died between
commit and publish). :class:`LogOrder` keeps, per room, the seq up to which
the hub has been given everything (the *watermark*). An entry at or below
it is a repeat and dropped; the next one goes to the hub at once; one
further ahead waits while the missing ones are read from the database,
which is the truth: seqs are given out under the room row's lock, so once
seq N is committed every seq below it is committed too (or was never used),
and a read after the watermark returns exactly what is missing.

:meth:`LogOrder.check` compares the watermarks with each room's ``last_seq``
in the database: the cluster calls it every second or so, which is how a
quiet room's last entry arrives when nothing follows it to reveal the hole.

Pure bookkeeping plus one kind of database read; no Redis here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from chat_protocol import LogEntry, RoomInfo

from ..storage.base import StorageError, UnknownRoom

log = logging.getLogger(__name__)

# Entries read from the database per query while filling a hole.
FILL_PAGE = 500
# A breath before reading again when a hole remains after a read.
REFILL_PAUSE = 0.01

# Reads the entries of a room after a seq, ascending, at most FILL_PAGE.
ReadAfter = Callable[[str, int], Awaitable[list[LogEntry]]]


@dataclass(slots=True)
class _Room:
    delivered: int
    # Entries heard of above the watermark, by seq, waiting for the hole below them.
    pending: dict[int, LogEntry] = field(default_factory=dict)
    filling: bool = False


class LogOrder:
    """Per-room watermarks in front of ``deliver`` (the hub's ``publish_entry``)."""

    def __init__(
        self, deliver: Callable[[LogEntry], None], read_after: ReadAfter, rooms: Iterable[RoomInfo]
    ) -> None:
        self._deliver = deliver
        self._read_after = read_after
        # Rooms that existed when the server started begin at their last seq
        # (the hub was built from the same read); a room first heard of later
        # was created later, so from 0.
        self._rooms = {room.name: _Room(room.last_seq) for room in rooms}
        self._tasks: set[asyncio.Task[None]] = set()
        self._failing = False

    def watermark(self, room: str) -> int:
        state = self._rooms.get(room)
        return 0 if state is None else state.delivered

    def _state(self, room: str) -> _Room:
        state = self._rooms.get(room)
        if state is None:
            state = self._rooms[room] = _Room(0)
        return state

    def offer(self, entry: LogEntry) -> None:
        """An entry committed here or heard of from another server."""
        state = self._state(entry.room)
        if entry.seq <= state.delivered:
            return
        state.pending[entry.seq] = entry
        self._drain(state)
        if state.pending:
            self._fill(entry.room, state)

    def forget(self, room: str) -> None:
        """A room was deleted: its name is never used again."""
        self._rooms.pop(room, None)

    def check(self, rooms: Iterable[RoomInfo]) -> None:
        """Fill every room whose database ``last_seq`` is past its watermark."""
        for room in rooms:
            state = self._state(room.name)
            if room.last_seq > state.delivered:
                self._fill(room.name, state)

    def _drain(self, state: _Room) -> None:
        pending = state.pending
        while state.delivered + 1 in pending:
            state.delivered += 1
            self._deliver(pending.pop(state.delivered))

    def _fill(self, room: str, state: _Room) -> None:
        if state.filling:
            return
        state.filling = True
        task = asyncio.create_task(self._read(room, state), name=f"fill {room}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _read(self, room: str, state: _Room) -> None:
        # Heard of before the read: committed, so the read returns them,
        # unless the room was deleted meanwhile.
        heard = set(state.pending)
        try:
            while True:
                entries = await self._read_after(room, state.delivered)
                if self._rooms.get(room) is not state:  # deleted meanwhile
                    return
                for entry in entries:
                    if entry.seq > state.delivered:
                        # The database is the truth: a seq it does not have
                        # was never used, so it is no hole to wait for.
                        state.delivered = entry.seq
                        state.pending.pop(entry.seq, None)
                        self._deliver(entry)
                for seq in [seq for seq in state.pending if seq <= state.delivered]:
                    del state.pending[seq]
                self._drain(state)
                if len(entries) < FILL_PAGE:
                    break
        except UnknownRoom:
            # Deleted: a late word of it (the deletion reached us first).
            self._rooms.pop(room, None)
            return
        except StorageError as exc:
            # The next check() tries again; the database's own outage is
            # answered to clients as `unavailable` by the requests that meet it.
            if not self._failing:
                log.warning("cannot read the log to catch up (retrying): %s", exc)
            self._failing = True
            return
        finally:
            state.filling = False
        self._failing = False
        for seq in heard & set(state.pending):
            del state.pending[seq]
        if state.pending:
            # Heard of while the read was on its way, with a hole below: it
            # is committed, so the next read finds everything up to it.
            await asyncio.sleep(REFILL_PAUSE)
            if self._rooms.get(room) is state and state.pending:
                self._fill(room, state)

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
