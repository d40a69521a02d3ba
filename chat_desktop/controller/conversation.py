"""Conversation: what a batch of server events means for the cache, the outbox and the window.

The :class:`~.chat.ChatController` hands every batch of events the link
delivered to :meth:`Conversation.handle` and emits what comes back
(:class:`BatchOutcome`) as its signals; it keeps no logic of its own. Here:

- every entry of a room's log (messages, and Version 2's edits, deletes,
  reactions, member and topic entries, live, replayed or in history pages)
  goes to the cache in one transaction (:meth:`ChatCache.apply_log
  <chat_desktop.storage.ChatCache.apply_log>`), which brings each message to
  its current state; every message that changed is emitted again with the
  same author and client_id, so the window replaces its row;
- acks, refusals and ``room`` events answer the outbox and the room requests;
- ``read`` events move read positions (:mod:`.reads`), ``room-removed`` takes
  a room away and purges it from the cache (after a welcome, so does every
  room the server no longer lists for me);
- my own edits, deletes and reactions waiting in the outbox are laid over
  the cached message (:meth:`Conversation.shown`), so the window shows them
  at once and after a restart, until the server's entry arrives.

Plain Python: no Qt, no network of its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from chat_desktop.storage import ChatCache, OutboxEntry
from chat_protocol import (
    Ack,
    Delete,
    Edit,
    Error,
    Gap,
    HistoryPage,
    LogEntry,
    Member,
    Message,
    Reaction,
    Read,
    Room,
    RoomInfo,
    RoomRemoved,
    ServerEvent,
    Topic,
    Typing,
    UserJoin,
    UserLeave,
    Welcome,
    rules,
)

from .entries import MessageEntry
from .history import History
from .outbox import Outbox
from .reads import Reads
from .room_requests import RoomRequests
from .roster import Roster
from .typing import TypingIndicators


@dataclass
class BatchOutcome:
    """What one batch changed, for the controller's signals."""

    # room -> new or changed messages, in the order they came.
    changed: dict[str, list[MessageEntry]] = field(default_factory=dict)
    rooms_changed: bool = False
    members_changed: bool = False
    # The newest new message of someone else (one notification per batch).
    notify: Message | None = None
    # Rooms I can no longer read (purged from the cache).
    removed: list[str] = field(default_factory=list)
    # Rooms whose other members' read positions moved (seen by).
    reads: set[str] = field(default_factory=set)
    # Direct rooms I opened that exist now.
    opened: list[str] = field(default_factory=list)
    # Refusals for the user: an error code or a server's sentence.
    problems: list[tuple[str, str]] = field(default_factory=list)
    # Whether the welcome came (the people list is then asked for again).
    welcomed: bool = False

    def add(self, entry: MessageEntry | None) -> None:
        if entry is not None:
            self.changed.setdefault(entry.room, []).append(entry)


class Conversation:
    """The log, the outbox's answers, reads and rooms of one session's batches."""

    def __init__(
        self,
        cache: ChatCache,
        *,
        me: str,
        roster: Roster,
        outbox: Outbox,
        history: History,
        typing: TypingIndicators,
        room_requests: RoomRequests,
        reads: Reads,
    ) -> None:
        self._cache = cache
        self.me = me
        self._roster = roster
        self._outbox = outbox
        self._history = history
        self._typing = typing
        self._room_requests = room_requests
        self._reads = reads
        # From the welcome: whether I am an admin, and the server's version.
        self.admin = False
        self.server_version = ""
        # Direct rooms I asked to open (their names), answered by their room event.
        self.opening: set[str] = set()
        # The room on screen (the controller's; typing indicators are shown for it).
        self.room = ""

    # ------------------------------------------------------------ batches

    def handle(self, events: list[ServerEvent]) -> BatchOutcome:
        """Apply a batch to the cache, the outbox and the roster; say what changed."""
        out = BatchOutcome()
        # Room objects first: the log's topic and member entries after them
        # change what they say (the entries' seqs tell which is newer).
        self._cache.save_rooms(_rooms_of(events))
        changes = self._cache.apply_log(_log_of(events))
        shown = {(m.room, m.seq) for m in changes.messages}
        for message in changes.messages:
            out.add(self.shown(MessageEntry.from_message(message)))
        out.rooms_changed = bool(changes.rooms)
        for event in events:
            if isinstance(event, Message):
                self._stored(event, out, changes.current, shown)
                if (event.room, event.seq) in changes.new and event.author != self.me:
                    out.notify = event
            elif isinstance(event, Edit | Delete | Reaction | Member | Topic):
                self._roster.seen(event.room, event.seq)
            elif isinstance(event, HistoryPage):
                for message in event.messages:
                    self._stored(message, out, changes.current, shown)
                for entry in event.entries or ():
                    self._roster.seen(entry.room, entry.seq)
                self._history.answer(event)
            elif isinstance(event, Ack):
                out.add(self._outbox.acked(event))
            elif isinstance(event, Welcome):
                self._welcome(event, out)
            elif isinstance(event, Room):
                self._room(event, out)
            elif isinstance(event, RoomRemoved):
                out.removed.append(event.room)
            elif isinstance(event, Read):
                if self._reads.event(event, self.me):
                    out.rooms_changed = True
                else:
                    out.reads.add(event.room)
            elif isinstance(event, Typing):
                if event.user != self.me:
                    self._typing.notice(event)
            elif isinstance(event, UserJoin | UserLeave):
                self._roster.presence(event)
                if isinstance(event, UserLeave):
                    self._typing.user_left(event.user, self._roster.last_seq, self.room)
                out.members_changed = True
            elif isinstance(event, Gap):
                self._history.fill_gap(event)
            elif isinstance(event, Error):
                self._error(event, out)
        for room in out.removed:
            self._outbox.forget_room(room)
            self._roster.removed(room)
            out.changed.pop(room, None)
            out.rooms_changed = True
        if out.changed:
            out.rooms_changed = True
        authors = [m.author for ms in out.changed.values() for m in ms]
        if self._roster.authors(authors):
            out.members_changed = True
        return out

    def _stored(
        self,
        message: Message,
        out: BatchOutcome,
        current: dict[tuple[str, int], Message],
        shown: set[tuple[str, int]],
    ) -> None:
        """A message the server stored (live, replayed or from history)."""
        self._roster.seen(message.room, message.seq)
        # My message is stored: the broadcast may overtake the ack.
        self._outbox.stored(message)
        self._typing.message_arrived(message.room, message.author)
        key = (message.room, message.seq)
        if key not in shown:
            # Already cached as it is: shown again all the same (a window
            # that has not loaded it yet may need it), in its cached state.
            shown.add(key)
            out.add(self.shown(MessageEntry.from_message(current.get(key, message))))

    def _welcome(self, welcome: Welcome, out: BatchOutcome) -> None:
        self.me = self._outbox.me = welcome.username or self.me
        self.server_version = welcome.server.version
        self.admin = bool(welcome.admin)
        if welcome.protocol >= rules.PROTOCOL_V2:
            # Rooms I could read before and no longer can (left, removed or
            # deleted while I was away) are gone, from the cache too.
            listed = {room.name for room in welcome.rooms}
            out.removed.extend(name for name in list(self._roster.last_seq) if name not in listed)
        self._roster.welcome(welcome.rooms, welcome.online)
        self._history.complete_newest_pages(welcome.rooms)
        self._outbox.flush()
        out.rooms_changed = out.members_changed = out.welcomed = True

    def _room(self, event: Room, out: BatchOutcome) -> None:
        _, wanted = self._roster.room(event)
        if wanted:
            self._room_requests.answered(event.name)
        self._outbox.room_opened(event.name)
        if event.name in self.opening:
            self.opening.discard(event.name)
            out.opened.append(event.name)
        if event.name in out.removed:
            out.removed.remove(event.name)  # invited again after leaving
        out.rooms_changed = True

    def _error(self, error: Error, out: BatchOutcome) -> None:
        if self._outbox.is_message(error.ref):
            out.add(self._outbox.refused(error))
            return
        if error.ref in self._outbox:
            write = self._outbox.refused_write(error)
            if write is not None:
                out.problems.append((error.code, error.message))
                out.add(self._restored(write))
            return
        if self._room_requests.refusal(error):
            return
        out.problems.append((error.code, error.message))

    def _restored(self, write: OutboxEntry) -> MessageEntry | None:
        """The message a refused write aimed at, as it is without that write."""
        if write.target is None:
            return None
        message = self._cache.message(write.room, write.target)
        return None if message is None else self.shown(MessageEntry.from_message(message))

    # ------------------------------------------------- my writes, shown at once

    def shown(self, entry: MessageEntry) -> MessageEntry:
        """``entry`` with my edits, deletes and reactions still in the outbox laid over it."""
        for write in self._outbox.writes(entry.room):
            aimed = (write.target is not None and write.target == entry.seq) or (
                write.target_client_id is not None and write.target_client_id == entry.client_id
            )
            if aimed:
                entry = overlay(entry, write, self.me)
        return entry

    def find(self, entry: MessageEntry) -> MessageEntry:
        """The current state of ``entry`` (the cache's, mine laid over it)."""
        if entry.seq is not None:
            cached = self._cache.message(entry.room, entry.seq)
            if cached is not None:
                return self.shown(replace(MessageEntry.from_message(cached)))
        return self.shown(entry)


def overlay(entry: MessageEntry, write: OutboxEntry, me: str) -> MessageEntry:
    """``entry`` as it will be once the server has ``write`` (an edit, delete or react)."""
    if entry.deleted:
        return entry
    if write.kind == "delete":
        return replace(entry, text="", deleted=True, reactions=())
    if write.kind == "edit":
        return replace(entry, text=write.text, edited=write.created)
    if write.kind == "react":
        emoji, on = str(write.detail.get("emoji")), bool(write.detail.get("on"))
        reactions = list(entry.reactions)
        for index, (known, users) in enumerate(reactions):
            if known == emoji:
                others = tuple(user for user in users if user != me)
                reactions[index] = (known, (*others, me) if on else others)
                break
        else:
            if on:
                reactions.append((emoji, (me,)))
        return replace(entry, reactions=tuple(pair for pair in reactions if pair[1]))
    return entry


def _rooms_of(events: list[ServerEvent]) -> list[RoomInfo]:
    """The room objects a batch brings (welcome, room events)."""
    rooms: list[RoomInfo] = []
    for event in events:
        if isinstance(event, Welcome):
            rooms.extend(event.rooms)
        elif isinstance(event, Room):
            rooms.append(event.info or RoomInfo(event.name, event.last_seq))
    return rooms


def _log_of(events: list[ServerEvent]) -> list[LogEntry]:
    """Every entry of a room's log a batch brings, in order: live, replayed, in history pages."""
    entries: list[LogEntry] = []
    for event in events:
        if isinstance(event, Message | Edit | Delete | Reaction | Member | Topic):
            entries.append(event)
        elif isinstance(event, HistoryPage):
            entries.extend(event.entries or event.messages)
    return entries
