"""Outbox: my writes (messages, edits, reactions...) until the server has them, exactly once.

Version 2: besides messages, every write the user makes waits here in the
same ordered queue (:data:`WRITE_KINDS`: an edit, a delete, a reaction, a
read position, a topic, an invite, a leave, a removal, opening a direct
room), on disk like a message, sent in order, and done at its ack (a read at
once when sent, since the server answers none; opening a direct room at the
room's ``room`` event, :meth:`Outbox.room_opened`). An edit, delete or
reaction aimed at one of my messages that is still in the outbox names it by
its client_id: it waits (and everything after it) until that message's ack
gives it a seq (:meth:`Outbox.acked` resolves it, on disk too), and is sent
with that seq. A refused write is dropped and reported
(:meth:`Outbox.refused_write`): the window shows the message as it was.

A message I write is in the cache's outbox (on disk) before anything goes on
the wire, so it survives a crash, a restart or a week offline. The
:class:`Outbox` keeps the same messages in memory as
:class:`~.entries.MessageEntry` values, moves each along its
:class:`~.entries.DeliveryState` (QUEUED -> SENT -> DELIVERED, or FAILED when
the server refuses it) and reports every change through ``on_change``.

Its two rules:

- **Exactly once.** Every message carries a ``client_id`` drawn when it was
  written; the server stores one message per client_id and answers a repeat
  with the first one's ack. So after each (re)connect the outbox simply sends
  everything not yet acknowledged again, with the same client_id
  (:meth:`Outbox.connection_lost` forgets what the old connection was given):
  a message whose ack was lost with the connection is not stored twice, and
  one that never arrived is not lost.
- **In order.** Messages go out in the order they were written, one after the
  other under a lock, and sending stops at the first one that does not go
  out: a younger message never overtakes an older one.
- **In order under the rate limit too.** Writes are pipelined (sent without
  waiting for each ack), which keeps a backlog fast; but when the server
  refuses one with ``rate_limited`` and a token refills before it reads the
  next frame, that younger write would be stored before the refused one. So a
  ``rate_limited`` refusal (heard the moment the link hands it over,
  :meth:`~.connection.Connection.watch_rate_limits`, so over HTTP before the
  next POST) stops sending for ``rate_limit_retry`` seconds and rewinds: the
  refused write and every one handed over after it count as not sent (their
  own refusals, arriving next, are echoes and change nothing). Then the outbox
  goes on *carefully*: on the socket one write at a time, each only after the
  previous one's answer, until the backlog is drained, when pipelining comes
  back. Over HTTP every POST is answered before the next goes out anyway.
  The socket's own part (docs/protocol.md, "Socket sessions"): the server
  refuses what follows a rate-limited write on that connection until it
  comes again, so the frames already on their way behind it cannot be stored
  first either. Against a server without that rule, a younger write stored
  in that race is sent again with its client_id and answered with its first
  ack: out of place, but stored once, never twice.

A message is shown QUEUED again when its ack has not come ``ack_timeout``
seconds after it went out (:data:`ACK_TIMEOUT`): a server that stopped
answering (frozen, or a connection silently gone) must not leave it saying
"Sending…" for as long as it takes the link to notice. It stays handed to
that connection, though (the server may only be slow, and would store a
repeat once anyway): it goes out again on the next connection, with the same
client_id, like everything else not acknowledged.

A message is done when its ``ack`` arrives (:meth:`Outbox.acked`) or when the
server's broadcast of it does (:meth:`Outbox.stored`; the broadcast may
overtake the ack). A refusal (:meth:`Outbox.refused`) marks it FAILED with the
server's reason, except ``rate_limited``, which is not the message's fault: it
goes out again shortly by itself. Plain asyncio; it sends through the
:class:`~.connection.Connection`, never the link itself.
"""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from chat_desktop.storage import ChatCache, OutboxEntry
from chat_desktop.transport.state import LinkKind
from chat_protocol import (
    Ack,
    ClientEvent,
    Error,
    ErrorCode,
    Invite,
    Leave,
    Message,
    OpenDm,
    Remove,
    SendDelete,
    SendEdit,
    SendMessage,
    SendReact,
    SendRead,
    SendTopic,
    rules,
)

from .connection import Connection
from .entries import DeliveryState, MessageEntry
from .phrases import refusal_reason
from .tasks import TaskGroup

# After a rate_limited refusal, sending waits this many seconds (the server's
# Retry-After is whole seconds, at least one; the socket's refusal says none).
RATE_LIMIT_RETRY = 1.0
# A message the link could not hand over while still connected (a POST that
# failed while polling) is tried again after this many seconds.
SEND_RETRY = 1.0
# A message sent this many seconds ago without an ack shows QUEUED again.
ACK_TIMEOUT = 5.0
# The kinds of write the outbox queues besides messages.
WRITE_KINDS = ("edit", "delete", "react", "read", "topic", "invite", "leave", "remove", "open-dm")
# Writes aimed at a message (by seq, or by client_id while it is in the outbox).
AIMED_KINDS = ("edit", "delete", "react")


class Outbox:
    """My messages not yet stored by the server, in the order I wrote them.

    ``me`` is my user name as the server spells it (the author of what I
    write); the controller updates it when the server's welcome says.
    """

    def __init__(
        self,
        cache: ChatCache,
        connection: Connection,
        tasks: TaskGroup,
        *,
        me: str,
        on_change: Callable[[MessageEntry], None],
        rate_limit_retry: float = RATE_LIMIT_RETRY,
        send_retry: float = SEND_RETRY,
        ack_timeout: float = ACK_TIMEOUT,
    ) -> None:
        self._cache = cache
        self._connection = connection
        self._tasks = tasks
        self.me = me
        self._on_change = on_change
        self._rate_limit_retry = rate_limit_retry
        self._send_retry = send_retry
        self._ack_timeout = ack_timeout
        # client_id -> every queued write, in the order written (dicts keep
        # insertion order); what goes on the wire.
        self._queue: dict[str, OutboxEntry] = {}
        # client_id -> the MessageEntry of each queued message: what the window shows.
        self._pending: dict[str, MessageEntry] = {}
        for queued in cache.outbox():
            self._queue[queued.client_id] = queued
            if queued.kind == "message":
                self._pending[queued.client_id] = _outbox_entry(queued, me)
        # client_ids handed to the current connection; cleared on every drop,
        # so that each (re)connect sends the outbox once more.
        self._sent_now: set[str] = set()
        # Held while the outbox is handed to the link: see _deliver_waiting.
        self._delivering = asyncio.Lock()
        # client_id -> loop time it went out, for what still waits for its ack
        # (oldest first); one task watches them all (see _watch_acks).
        self._awaiting_ack: dict[str, float] = {}
        self._ack_watch: asyncio.Task[None] | None = None
        # client_id -> seq of my messages stored during this session: a write
        # may aim at an entry the window got before the message's ack.
        self._stored: dict[str, int] = {}
        # What files add (see carry_files); by default a message carries none.
        self._files: FileHooks | None = None
        # After a rate_limited refusal: nothing goes out before this loop time,
        # and then one write at a time until the backlog is drained (see the
        # module's "In order under the rate limit").
        self._paused_until = 0.0
        self._careful = False
        connection.watch_rate_limits(self._rate_limited)

    def carry_files(self, hooks: FileHooks) -> None:
        """Let messages carry files (:class:`~.files.ChatFiles` calls it once it exists)."""
        self._files = hooks

    def __contains__(self, client_id: object) -> bool:
        return client_id in self._queue

    def is_message(self, client_id: str | None) -> bool:
        """Whether ``client_id`` is one of my queued messages (not another write)."""
        return client_id in self._pending

    def entries(self, room: str) -> list[MessageEntry]:
        """My messages in ``room`` that the server has not stored yet, oldest first."""
        return [self._dressed(entry) for entry in self._pending.values() if entry.room == room]

    def writes(self, room: str) -> list[OutboxEntry]:
        """My queued edits, deletes and reactions in ``room``, oldest first."""
        return [
            write
            for write in self._queue.values()
            if write.room == room and write.kind in AIMED_KINDS
        ]

    def add(
        self, room: str, text: str, reply_to: int | None = None, *, client_id: str | None = None
    ) -> MessageEntry:
        """Queue a (valid, normalised) message: on disk first, then on its way when connected.

        ``client_id``: the one it already has (a message whose files went up first).
        """
        client_id = client_id or str(uuid.uuid4())
        created = rules.now_ts()
        detail = {} if reply_to is None else {"reply_to": reply_to}
        queued = OutboxEntry(client_id, room, text, created, detail=detail)
        self._cache.outbox_add(queued)
        self._queue[client_id] = queued
        entry = self._dressed(_outbox_entry(queued, self.me))
        self._pending[client_id] = entry
        self._on_change(entry)
        self.flush()
        return entry

    def add_write(
        self,
        kind: str,
        room: str,
        *,
        target: MessageEntry | None = None,
        text: str = "",
        detail: Mapping[str, Any] | None = None,
    ) -> OutboxEntry | None:
        """Queue a write of ``kind`` (see :data:`WRITE_KINDS`); None when its target
        message is neither stored nor in the outbox any more."""
        seq: int | None = None
        aimed_at: str | None = None
        if target is not None:
            seq = target.seq or self._stored.get(target.client_id)
            if seq is None:
                if target.client_id not in self._pending:
                    return None
                aimed_at = target.client_id
        if kind == "read":
            # Only the newest read position of a room matters.
            for old in [w for w in self._queue.values() if w.kind == "read" and w.room == room]:
                if old.client_id not in self._sent_now:
                    self._done(old.client_id)
        queued = OutboxEntry(
            str(uuid.uuid4()),
            room,
            text,
            rules.now_ts(),
            kind=kind,
            target=seq,
            target_client_id=aimed_at,
            detail=dict(detail or {}),
        )
        self._cache.outbox_add(queued)
        self._queue[queued.client_id] = queued
        self.flush()
        return queued

    def forget_room(self, room: str) -> None:
        """I can no longer write to ``room`` (the cache purged it): drop what waits for it."""
        for write in [w for w in self._queue.values() if w.room == room]:
            self._done(write.client_id)

    def room_opened(self, name: str) -> None:
        """Room ``name`` exists: a queued opening of that direct room is done."""
        for write in list(self._queue.values()):
            if write.kind == "open-dm" and rules.dm_name([self.me, *write.detail["users"]]) == name:
                self._done(write.client_id)

    def retry(self, client_id: str) -> None:
        """Send a refused message again (the user pressed Retry).

        A message that failed while its files went up is not here yet: the
        files part tries those again.
        """
        if self._files is not None and self._files.retry(client_id):
            return
        entry = self._pending.get(client_id)
        if entry is None or entry.state is not DeliveryState.FAILED:
            return
        self._cache.outbox_clear_failed(client_id)
        self._update(entry.with_state(DeliveryState.QUEUED))
        self._sent_now.discard(client_id)
        self.flush()

    def flush(self) -> None:
        """Send every queued message not yet handed to this connection, oldest first."""
        if self._connection.can_send():
            self._tasks.spawn(self._deliver_waiting())

    def connection_lost(self) -> None:
        """Whatever was in flight may be lost: all goes out again (same client_id) next time."""
        self._sent_now.clear()

    def stored(self, message: Message) -> None:
        """The server stored (and broadcast) ``message``: if it is one of mine, it is done."""
        if message.author == self.me and message.client_id in self._pending:
            self._resolve(message.client_id, message.seq)
            self._done(message.client_id)

    def acked(self, ack: Ack) -> MessageEntry | None:
        """The server stored my write: for a message its DELIVERED entry (None if I
        no longer had it, or for another write)."""
        entry = self._pending.get(ack.client_id)
        if entry is not None:
            self._resolve(ack.client_id, ack.seq)
            entry = self._dressed(entry)
        self._done(ack.client_id)
        if entry is None:
            return None
        return entry.with_state(DeliveryState.DELIVERED, seq=ack.seq, ts=ack.ts)

    def refused_write(self, error: Error) -> OutboxEntry | None:
        """The server refused my write ``error.ref`` (not a message): it is dropped and
        returned; None when it goes out again (rate limited) or is not queued."""
        write = self._queue.get(error.ref or "")
        if write is None or write.kind == "message":
            return None
        if error.code == ErrorCode.RATE_LIMITED:
            self._rate_limited(error)
            return None
        self._done(write.client_id)
        return write

    def _resolve(self, client_id: str, seq: int) -> None:
        """My message ``client_id`` is stored as ``seq``: what aims at it can go out."""
        self._stored[client_id] = seq
        waiting = False
        for write in list(self._queue.values()):
            if write.target_client_id == client_id:
                self._queue[write.client_id] = OutboxEntry(
                    **{**_fields(write), "target": seq, "target_client_id": None}
                )
                waiting = True
        if waiting:
            self._cache.outbox_resolve(client_id, seq)
            self.flush()

    def refused(self, error: Error) -> MessageEntry | None:
        """The server refused my message ``error.ref``: its FAILED entry, None when it
        simply goes out again (rate limited) or is not in the outbox."""
        entry = self._pending.get(error.ref or "")
        if entry is None:
            return None
        if error.code == ErrorCode.RATE_LIMITED:
            # Not the message's fault: it goes out again shortly by itself.
            self._rate_limited(error)
            return None
        self._sent_now.discard(entry.client_id)
        self._awaiting_ack.pop(entry.client_id, None)
        # The code, which the window shows translated; the server's words for a code we do not know.
        reason = refusal_reason(error.code, error.message)
        self._cache.outbox_mark_failed(entry.client_id, reason)
        failed = entry.with_state(DeliveryState.FAILED, error=reason)
        self._pending[entry.client_id] = failed
        if self._files is not None:
            self._files.refused(error)
        return self._dressed(failed)

    def _rate_limited(self, error: Error) -> None:
        """The server refused write ``error.ref`` for the rate: pause, rewind, go on carefully.

        Only a refusal of a write handed to this connection and not rewound yet
        counts; the refusals of the younger writes pipelined behind it are echoes.
        """
        refused = error.ref
        if refused is None or refused not in self._queue or refused not in self._sent_now:
            return
        order = list(self._queue)
        for client_id in order[order.index(refused) :]:
            if client_id not in self._sent_now:
                continue
            self._sent_now.discard(client_id)
            self._awaiting_ack.pop(client_id, None)
            entry = self._pending.get(client_id)
            if entry is not None and entry.state is DeliveryState.SENT:
                self._update(entry.with_state(DeliveryState.QUEUED))
        self._careful = True
        self._paused_until = asyncio.get_running_loop().time() + self._rate_limit_retry
        self._tasks.spawn(self._flush_later(self._rate_limit_retry))

    def _paused(self) -> bool:
        return asyncio.get_running_loop().time() < self._paused_until

    def _answer_pending(self) -> bool:
        """Whether a write handed to the socket still waits for its answer (careful mode).

        Over HTTP the answer has come when the POST returned.
        """
        if self._connection.status.kind is LinkKind.POLLING:
            return False
        return any(client_id in self._queue for client_id in self._sent_now)

    def _done(self, client_id: str) -> None:
        answered = client_id in self._sent_now
        self._queue.pop(client_id, None)
        self._pending.pop(client_id, None)
        self._sent_now.discard(client_id)
        self._awaiting_ack.pop(client_id, None)
        self._cache.outbox_remove(client_id)
        if self._files is not None:
            self._files.delivered(client_id)
        if self._careful and answered:
            if all(self._failed(waiting) for waiting in self._queue):
                self._careful = False  # the backlog is drained: pipeline again
            else:
                self.flush()  # one write at a time: its answer lets the next one go

    async def _deliver_waiting(self) -> None:
        """Hand the waiting outbox to the link in the order written.

        Under a lock, with the list taken inside it, and stopping at the first
        message that does not go out: a younger message must never overtake an
        older one, neither one written while the outbox is being resent after
        a reconnect nor one written after a POST failed while polling (the
        link stays POLLING then, so no reconnect would resend it: try again
        shortly instead).
        """
        async with self._delivering:
            if self._paused():
                return  # a flush is due when the pause ends
            waiting = [
                client_id
                for client_id in self._queue
                if not self._failed(client_id) and client_id not in self._sent_now
            ]
            if self._careful and not waiting and not self._answer_pending():
                self._careful = False  # the backlog is drained: pipeline again
            for client_id in waiting:
                if self._paused() or (self._careful and self._answer_pending()):
                    # Rate limited meanwhile, or one write at a time: the
                    # pause's end or the answer flushes again.
                    return
                write = self._queue.get(client_id)
                if write is not None and write.target_client_id is not None:
                    if write.target_client_id not in self._pending:
                        # Its message is gone without a seq: nothing to aim at.
                        self._done(client_id)
                        continue
                    if self._failed(write.target_client_id):
                        continue  # waits for the user to retry its message
                    # Waits for its message's ack (which flushes again), and
                    # so does everything written after it.
                    return
                if not await self._deliver(client_id):
                    if self._connection.can_send():
                        self._tasks.spawn(self._flush_later(self._send_retry))
                    return

    def _failed(self, client_id: str) -> bool:
        entry = self._pending.get(client_id)
        return entry is not None and entry.state is DeliveryState.FAILED

    async def _deliver(self, client_id: str) -> bool:
        """Hand one write to the link; False when it did not go out."""
        write = self._queue.get(client_id)
        if write is None or client_id in self._sent_now or self._failed(client_id):
            return True
        self._sent_now.add(client_id)
        event = _event_of(write)
        if isinstance(event, SendMessage) and self._files is not None:
            event = dataclasses.replace(event, files=self._files.attachments(client_id))
        if not await self._connection.send(event):
            self._sent_now.discard(client_id)
            return False
        if client_id not in self._sent_now:
            return True  # refused for the rate while going out (HTTP): rewound
        if write.kind == "read":
            # The server answers a read with nothing: handed over is done.
            self._done(client_id)
            return True
        current = self._pending.get(client_id)
        if current is not None and current.state is DeliveryState.QUEUED:
            self._update(current.with_state(DeliveryState.SENT))
            self._expect_ack(client_id)
        return True

    def _expect_ack(self, client_id: str) -> None:
        """``client_id`` just went out: watch for its ack."""
        self._awaiting_ack.pop(client_id, None)
        self._awaiting_ack[client_id] = asyncio.get_running_loop().time()
        if self._ack_watch is None:
            self._ack_watch = self._tasks.spawn(self._watch_acks())

    async def _watch_acks(self) -> None:
        """Turn every SENT message whose ack is ``ack_timeout`` late back to QUEUED.

        One task for all of them, sleeping until the oldest is due, rather than
        a timer per message: a burst of a thousand sends is one sleeper.
        """
        loop = asyncio.get_running_loop()
        try:
            while self._awaiting_ack:
                due = min(self._awaiting_ack.values()) + self._ack_timeout
                if due > loop.time():
                    await asyncio.sleep(due - loop.time())
                    continue
                late = loop.time() - self._ack_timeout
                for client_id, sent in list(self._awaiting_ack.items()):
                    if sent > late:
                        continue
                    del self._awaiting_ack[client_id]
                    entry = self._pending.get(client_id)
                    if entry is not None and entry.state is DeliveryState.SENT:
                        self._update(entry.with_state(DeliveryState.QUEUED))
        finally:
            self._ack_watch = None

    async def _flush_later(self, delay: float) -> None:
        await asyncio.sleep(delay)
        self.flush()

    def _update(self, entry: MessageEntry) -> None:
        self._pending[entry.client_id] = entry
        self._on_change(self._dressed(entry))

    def _dressed(self, entry: MessageEntry) -> MessageEntry:
        """``entry`` as the window shows it: with the files its message carries."""
        return entry if self._files is None else self._files.dress(entry)


class FileHooks(Protocol):
    """What the outbox asks of the files part (:class:`~.uploads.UploadQueue`)."""

    def attachments(self, client_id: str) -> tuple[str, ...]:
        """The upload ids message ``client_id`` carries."""

    def dress(self, entry: MessageEntry) -> MessageEntry:
        """``entry`` with its files."""

    def delivered(self, client_id: str) -> None:
        """The server stored message ``client_id``."""

    def refused(self, error: Error) -> None:
        """The server refused one of my messages (``unknown_file``: upload again)."""

    def retry(self, client_id: str) -> bool:
        """Retry a message that failed before reaching the outbox; False if not one of those."""


def _outbox_entry(queued: OutboxEntry, me: str) -> MessageEntry:
    state = DeliveryState.FAILED if queued.failed else DeliveryState.QUEUED
    reply_to = queued.detail.get("reply_to")
    return MessageEntry(
        queued.room,
        me,
        queued.text,
        queued.created,
        queued.client_id,
        state=state,
        error=queued.failed or "",
        reply_to=reply_to if isinstance(reply_to, int) else None,
    )


def _fields(write: OutboxEntry) -> dict[str, Any]:
    return {name: getattr(write, name) for name in OutboxEntry.__dataclass_fields__}


def _event_of(write: OutboxEntry) -> ClientEvent:
    """The client event that carries a queued write."""
    room, cid, detail = write.room, write.client_id, write.detail
    target = write.target or 0
    if write.kind == "message":
        return SendMessage(room, cid, write.text, detail.get("reply_to"))
    if write.kind == "edit":
        return SendEdit(room, target, write.text, cid)
    if write.kind == "delete":
        return SendDelete(room, target, cid)
    if write.kind == "react":
        return SendReact(room, target, detail["emoji"], bool(detail["on"]), cid)
    if write.kind == "read":
        return SendRead(room, int(detail["seq"]))
    if write.kind == "topic":
        return SendTopic(room, str(detail["topic"]), cid)
    if write.kind == "invite":
        return Invite(room, str(detail["user"]), cid)
    if write.kind == "remove":
        return Remove(room, str(detail["user"]), cid)
    if write.kind == "leave":
        return Leave(room, cid)
    if write.kind == "open-dm":
        return OpenDm(tuple(detail["users"]), cid)
    raise ValueError(f"unknown outbox write {write.kind!r}")
