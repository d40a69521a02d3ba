"""The live side of the server: who is connected, who is online, who is typing, and fan-out.

The hub is plain in-memory bookkeeping that never awaits. A socket session
(:mod:`chat_server.session`) attaches itself as a :class:`Subscriber` once its
``hello`` checked out; the handlers then tell the hub about every stored
message, new room and typing change, and the hub hands each event to the
subscribers that should hear it.

Fan-out encodes an event once (:class:`~chat_server.fanout.Frame`: the JSON
text and the whole WebSocket frame around it) and gives the very same bytes
to every recipient's ``deliver``, which never waits: it hands them to the
socket or, when that socket is backed up, to its bounded queue, so a slow
reader never delays the others (see :mod:`chat_server.fanout`).

Version 2 adds who may hear what. A private or direct room's events go only
to its members' connections, found through a per-room member index
(``_members`` -> ``_sockets_of``), never by scanning every connection; a
public room's messages keep the plain path to everyone. A connection that
did not ask for Version 2 (``protocol`` 1) gets only ``message`` entries.
What a long poller has not seen yet of reads and room changes is kept in
two short journals (:class:`Journal`) that each poller reads from its own
position.

Presence counts both kinds of clients: a user is online while they have a
WebSocket session or an HTTP poller that polled within
``Limits.poll_presence_seconds``. ``user-join`` goes out when a user's first
one appears, ``user-leave`` when the last one ends. Long polls wait on
:meth:`Hub.changed`, which fires on every message, typing or presence change.

One of several servers (:mod:`chat_server.cluster`) adds two hooks and
nothing to the fan-out path: the users online on *other* servers
(:meth:`Hub.remote_presence`) count as online here too, and
:attr:`Hub.on_local_presence` hears when a user's connections on *this*
server appear or all end, so that the cluster can tell the others.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

from chat_protocol import (
    CloseCode,
    Event,
    Limits,
    LogEntry,
    Member,
    Message,
    Read,
    Room,
    RoomInfo,
    RoomRemoved,
    Topic,
    Typing,
    UserJoin,
    UserLeave,
    rules,
)

from .fanout import Frame

log = logging.getLogger(__name__)

# How long the hub remembers a revoked token. A session whose token checked
# out a moment before the revocation reached this server, and that attaches
# (or starts its poll) a moment after, is ended all the same; a revoked token
# passes no check once its deletion committed, so seconds are plenty.
REVOKED_MEMORY = 60.0

# How long the server believes an ``active: true`` typing indicator: the
# contract's receiver rule, so that pollers see the same typing list a socket
# client would.
TYPING_TTL = rules.TYPING_EXPIRY
# How many reads and room changes the pollers' journals remember; a poller
# further behind than that simply misses the oldest (it reads room objects
# afresh with GET /api/v1/rooms when it starts).
JOURNAL_LENGTH = 10_000

T = TypeVar("T")


class Journal(Generic[T]):
    """A bounded, numbered list of recent changes that each poller reads from its own position.

    With ``clocked`` (several servers) the numbers are microseconds of the
    wall clock, kept increasing: a poller's position then means roughly the
    same moment on every server of the chat, so that its next poll may go to
    another one (see :mod:`chat_server.cluster.polls`).
    """

    def __init__(self, clocked: bool = False) -> None:
        self._items: deque[tuple[int, T]] = deque(maxlen=JOURNAL_LENGTH)
        self._numbers = itertools.count(1)
        self._clocked = clocked
        self.last = 0

    def add(self, item: T) -> None:
        if self._clocked:
            self.last = max(self.last + 1, time.time_ns() // 1000)
        else:
            self.last = next(self._numbers)
        self._items.append((self.last, item))

    def since(self, position: int) -> list[T]:
        """The items added after ``position`` (a ``last`` read earlier)."""
        if position >= self.last:
            return []
        return [item for number, item in self._items if number > position]


class Subscriber(Protocol):
    """What the hub needs from a live connection (implemented by the socket session)."""

    @property
    def username(self) -> str: ...

    @property
    def token_hash(self) -> str: ...

    @property
    def protocol(self) -> int:
        """The protocol version the connection asked for (1: the v1 view)."""

    def deliver(self, frame: Frame) -> None:
        """Queue a frame for sending; must not block or await."""

    def close_soon(self, code: int, reason: str) -> None:
        """Start closing the connection; must not block or await."""


@dataclass
class Poller:
    """An HTTP client polling with one token: its presence and what it last saw."""

    username: str
    # Polls in progress right now; the user is online while one is running.
    active: int = 0
    # Fires poll_presence_seconds after the last poll ended: the user goes offline.
    expiry: asyncio.TimerHandle | None = None
    # The typing and online lists of its last answer: a long poll answers at
    # once when they differ, so a change between two polls is never missed.
    seen_typing: dict[str, list[str]] | None = None
    seen_online: list[str] | None = None
    # Set when its token is revoked: a poll in progress answers 401.
    revoked: bool = False
    # Where it stands in the hub's journals of reads and room changes.
    seen_reads: int = 0
    seen_rooms: int = 0
    # Several servers: the reads and room changes of its last answer. A
    # position recalled from another server's answer is moved back a little
    # (chat_server.cluster.polls), so the same may come up again: that alone
    # is no reason to answer.
    told_reads: dict[str, dict[str, int]] | None = None
    told_rooms: list[list[str]] | None = None


@dataclass(frozen=True, slots=True)
class RoomNews:
    """A room appeared for (or changed), or was removed from, ``users`` (None: everyone)."""

    room: str
    removed: bool
    users: frozenset[str] | None = field(default=None)


class Hub:
    """Live connections, presence, typing state and fan-out of one server."""

    def __init__(
        self, limits: Limits, rooms: Iterable[RoomInfo] = (), *, clustered: bool = False
    ) -> None:
        self._limits = limits
        # The event loop the hub's timers run on, taken the first time one is
        # needed and kept: in the app that hosts the chat, qasync may run a
        # callback while Qt processes events outside the loop's run_forever,
        # and asyncio.get_running_loop() would then fail.
        self._event_loop: asyncio.AbstractEventLoop | None = None
        # Room name -> last seq: lets a long poll tell without a query whether
        # a room has anything after the client's position.
        self._rooms: dict[str, int] = {}
        # Private and direct rooms -> their members (canonical names): who
        # may hear of them. A room not in here is public.
        self._members: dict[str, set[str]] = {}
        self.note_rooms(rooms)
        self._subscribers: set[Subscriber] = set()
        self._sockets_of: dict[str, set[Subscriber]] = {}
        self._pollers: dict[str, Poller] = {}  # by token hash
        # (room, user) -> the timer that ends an active indicator after TYPING_TTL.
        self._typing: dict[tuple[str, str], asyncio.TimerHandle] = {}
        self._changed = asyncio.Event()
        self.closing = False
        # Token hash -> when it was revoked (loop time), for REVOKED_MEMORY seconds.
        self._revoked: dict[str, float] = {}
        # For pollers: (room, user, seq) of each read, and room changes.
        self.reads: Journal[tuple[str, str, int]] = Journal(clustered)
        self.room_news: Journal[RoomNews] = Journal(clustered)
        # Several servers: users online on another server of the chat, and
        # who hears when a user's presence on this server changes.
        self._remote: set[str] = set()
        self.on_local_presence: Callable[[str, bool], None] | None = None

    # Rooms ------------------------------------------------------------------

    def has_room(self, name: str) -> bool:
        return name in self._rooms

    def room_names(self) -> set[str]:
        """Every room the hub knows of."""
        return set(self._rooms)

    def last_seq(self, room: str) -> int:
        return self._rooms.get(room, 0)

    def note_rooms(self, rooms: Iterable[RoomInfo]) -> None:
        """Learn rooms read from the store (another process may have created some)."""
        for room in rooms:
            self._rooms[room.name] = max(self._rooms.get(room.name, 0), room.last_seq)
            if room.members is not None:
                self._members[room.name] = set(room.members)

    def can_read(self, room: str, user: str) -> bool:
        """Whether ``room`` exists for ``user``: public, or ``user`` is a member."""
        if room not in self._rooms:
            return False
        members = self._members.get(room)
        return members is None or user in members

    def hides(self, room: str, user: str) -> bool:
        """True when ``room`` is known to be private or direct and ``user`` is not in it."""
        members = self._members.get(room)
        return members is not None and user not in members

    def members(self, room: str) -> set[str] | None:
        """A private or direct room's members; None for a public (or unknown) room."""
        return self._members.get(room)

    def forget_room(self, room: str) -> None:
        """A room was deleted: it is gone for everyone (the caller told them)."""
        self._rooms.pop(room, None)
        self._members.pop(room, None)
        for key in [key for key in self._typing if key[0] == room]:
            self._stop_typing(*key)

    # Presence ---------------------------------------------------------------

    def is_here(self, user: str) -> bool:
        """Whether ``user`` has a socket or a recent poll on this very server."""
        if self._sockets_of.get(user):
            return True
        return any(p.username == user for p in self._pollers.values())

    def is_online(self, user: str) -> bool:
        return user in self._remote or self.is_here(user)

    def online(self) -> list[str]:
        """Every online user, sorted case-insensitively."""
        users = {user for user, subs in self._sockets_of.items() if subs}
        users.update(p.username for p in self._pollers.values())
        users.update(self._remote)
        return sorted(users, key=str.lower)

    def here(self) -> set[str]:
        """The users with a socket or a recent poll on this server."""
        users = {user for user, subs in self._sockets_of.items() if subs}
        users.update(p.username for p in self._pollers.values())
        return users

    def remote_presence(self, user: str, online: bool) -> None:
        """Several servers: ``user`` came online on another server, or left the last one."""
        was_online = self.is_online(user)
        if online:
            self._remote.add(user)
        else:
            self._remote.discard(user)
        self._presence_changed(user, was_online, skip=None, here_before=None)

    def _presence_changed(
        self, user: str, was_online: bool, skip: Subscriber | None, here_before: bool | None
    ) -> None:
        # here_before: whether the user was on this server before the change
        # (None: this server's connections did not change).
        hook = self.on_local_presence
        if hook is not None and here_before is not None:
            here = self.is_here(user)
            if here != here_before:
                hook(user, here)
        online = self.is_online(user)
        # While stopping, every socket closes with 1001: no leave storm on top.
        if online == was_online or self.closing:
            return
        log.info("%s is %s", user, "online" if online else "offline")
        self._send_all(Frame.of(UserJoin(user) if online else UserLeave(user)), skip=skip)
        self._notify()

    def attach(self, sub: Subscriber) -> None:
        """Register a session for fan-out (it buffers until its replay is out).

        Its own ``user-join`` is not sent to it: its ``welcome`` lists it online.
        """
        was_online, was_here = self.is_online(sub.username), self.is_here(sub.username)
        self._subscribers.add(sub)
        self._sockets_of.setdefault(sub.username, set()).add(sub)
        self._presence_changed(sub.username, was_online, skip=sub, here_before=was_here)
        if sub.token_hash in self._revoked:
            sub.close_soon(CloseCode.UNAUTHORIZED, "session ended")

    def detach(self, sub: Subscriber) -> None:
        """Forget a session that ended; ``user-leave`` when it was the user's last."""
        if sub not in self._subscribers:
            return
        self._subscribers.discard(sub)
        mine = self._sockets_of.get(sub.username, set())
        mine.discard(sub)
        if not mine:
            self._sockets_of.pop(sub.username, None)
        self._presence_changed(sub.username, True, skip=None, here_before=True)

    @property
    def polls_waiting(self) -> int:
        """How many long polls are in progress right now."""
        return sum(poller.active for poller in self._pollers.values())

    def poll_started(self, user: str, token_hash: str) -> Poller:
        """A long poll began: the user counts as online at least until it ends."""
        was_online, was_here = self.is_online(user), self.is_here(user)
        poller = self._pollers.get(token_hash)
        if poller is None:
            poller = self._pollers[token_hash] = Poller(
                user, seen_reads=self.reads.last, seen_rooms=self.room_news.last
            )
        if poller.expiry is not None:
            poller.expiry.cancel()
            poller.expiry = None
        poller.active += 1
        poller.revoked = token_hash in self._revoked
        self._presence_changed(user, was_online, skip=None, here_before=was_here)
        return poller

    def poll_finished(self, token_hash: str) -> None:
        """A long poll ended: the user stays online for poll_presence_seconds more."""
        poller = self._pollers.get(token_hash)
        if poller is None:  # logged out meanwhile
            return
        poller.active -= 1
        if poller.active == 0:
            poller.expiry = self._loop().call_later(
                self._limits.poll_presence_seconds, self._drop_poller, token_hash
            )

    def _drop_poller(self, token_hash: str) -> None:
        poller = self._pollers.get(token_hash)
        if poller is None or poller.active:
            return
        if poller.expiry is not None:
            poller.expiry.cancel()
        del self._pollers[token_hash]
        self._presence_changed(poller.username, True, skip=None, here_before=True)

    # Fan-out ----------------------------------------------------------------

    def _send_all(self, frame: Frame, skip: Subscriber | None = None) -> None:
        # deliver() only queues, so one slow recipient cannot stall this loop.
        # A copy, because deliver() may close (and detach) a recipient that overflows.
        for sub in list(self._subscribers):
            if sub is not skip:
                sub.deliver(frame)

    def _sockets_of_users(self, users: Iterable[str]) -> list[Subscriber]:
        """The connections of ``users``: through the index, never a scan of everyone."""
        return [sub for user in users for sub in self._sockets_of.get(user, ())]

    def _audience(self, room: str) -> list[Subscriber]:
        """Who may hear of ``room``: its members' connections, or everyone's for a public room."""
        members = self._members.get(room)
        return list(self._subscribers) if members is None else self._sockets_of_users(members)

    def publish_message(self, message: Message) -> None:
        """Fan a newly stored message out to every connection, the sender's own included."""
        self.publish_entry(message)

    def publish_entry(self, entry: LogEntry) -> None:
        """Fan a newly stored log entry out to those who may read its room.

        A public room's message goes to everyone by the plain path; other
        entries only to Version 2 connections; a private or direct room's
        entries only to its members' connections.
        """
        room = entry.room
        self._rooms[room] = max(self._rooms.get(room, 0), entry.seq)
        frame = Frame.of(entry)
        if isinstance(entry, Message):
            # The contract has receivers drop an indicator when that user's message
            # arrives; the server's own typing list (for pollers) does the same.
            self._stop_typing(room, entry.author)
            if room not in self._members:
                self._send_all(frame)
            else:
                for sub in self._audience(room):
                    sub.deliver(frame)
        else:
            if isinstance(entry, Member):
                self._member_changed(entry)
            for sub in self._audience(room):
                if sub.protocol >= rules.PROTOCOL_V2:
                    sub.deliver(frame)
            if isinstance(entry, Topic):
                self._tell_rooms(RoomNews(room, False, self._members_frozen(room)))
        self._notify()

    def _members_frozen(self, room: str) -> frozenset[str] | None:
        members = self._members.get(room)
        return None if members is None else frozenset(members)

    def _member_changed(self, entry: Member) -> None:
        """Keep the member index in step; the one who left hears ``room-removed``."""
        members = self._members.setdefault(entry.room, set())
        if entry.action == "join":
            members.add(entry.target)
            return
        members.discard(entry.target)
        self._stop_typing(entry.room, entry.target)
        self.send_to(entry.target, RoomRemoved(entry.room))
        self._tell_rooms(RoomNews(entry.room, True, frozenset({entry.target})))

    def send_to(self, user: str, event: Event, v1_event: Event | None = None) -> None:
        """Give ``event`` to every Version 2 connection of ``user`` (``v1_event`` to the others)."""
        frame = Frame.of(event)
        old = None if v1_event is None else Frame.of(v1_event)
        for sub in list(self._sockets_of.get(user, ())):
            if sub.protocol >= rules.PROTOCOL_V2:
                sub.deliver(frame)
            elif old is not None:
                sub.deliver(old)

    def publish_room(self, room: RoomInfo) -> None:
        """Announce a (new) room to those who may read it: everyone, or its members."""
        self.note_rooms([room])
        v2, v1 = Frame.of(Room.of(room)), Frame.of(Room.of(room.v1()))
        for sub in self._audience(room.name):
            sub.deliver(v2 if sub.protocol >= rules.PROTOCOL_V2 else v1)
        self._tell_rooms(RoomNews(room.name, False, self._members_frozen(room.name)))

    def announce_room_to(self, user: str, room: RoomInfo) -> None:
        """Tell one user (all their connections) of a room they can now read."""
        self.note_rooms([room])
        self.send_to(user, Room.of(room), Room.of(room.v1()))
        self._tell_rooms(RoomNews(room.name, False, frozenset({user})))

    def remove_room(self, room: str) -> None:
        """A room was deleted: ``room-removed`` to everyone who could read it, then forget it."""
        audience = self._audience(room)
        news = RoomNews(room, True, self._members_frozen(room))
        self.forget_room(room)
        frame = Frame.of(RoomRemoved(room))
        for sub in audience:
            if sub.protocol >= rules.PROTOCOL_V2:
                sub.deliver(frame)
        self._tell_rooms(news)

    def _tell_rooms(self, news: RoomNews) -> None:
        self.room_news.add(news)
        self._notify()

    def rooms_news_for(self, user: str, since: int) -> tuple[list[str], list[str]]:
        """(rooms new or changed, rooms removed) for ``user`` after journal position ``since``."""
        changed: dict[str, bool] = {}
        for news in self.room_news.since(since):
            if news.users is None or user in news.users:
                changed[news.room] = news.removed
        fresh = [room for room, removed in changed.items() if not removed]
        return [room for room in fresh if self.can_read(room, user)], [
            room for room, removed in changed.items() if removed
        ]

    def publish_read(self, room: str, user: str, seq: int, skip: Subscriber | None) -> None:
        """A read position moved: the user's other connections hear it, and in a
        private or direct room every member's (seen by)."""
        frame = Frame.of(Read(room, user, seq))
        members = self._members.get(room)
        for sub in self._sockets_of_users([user] if members is None else members):
            if sub is not skip and sub.protocol >= rules.PROTOCOL_V2:
                sub.deliver(frame)
        self.reads.add((room, user, seq))
        self._notify()

    def reads_for(self, user: str, since: int) -> dict[str, dict[str, int]]:
        """The reads a poller of ``user`` may see after journal position ``since``."""
        seen: dict[str, dict[str, int]] = {}
        for room, reader, seq in self.reads.since(since):
            members = self._members.get(room)
            if reader == user or (members is not None and user in members):
                seen.setdefault(room, {})[reader] = seq
        return seen

    def publish_typing(self, room: str, user: str, active: bool) -> None:
        """Relay typing to every other user's connections (members only in a private
        room) and track it for pollers."""
        frame = Frame.of(Typing(room, user, active))
        for sub in self._audience(room):
            if sub.username != user:
                sub.deliver(frame)
        if active:
            self._start_typing(room, user)
        else:
            self._stop_typing(room, user)

    # Typing state (for pollers) ---------------------------------------------

    def _start_typing(self, room: str, user: str) -> None:
        key = (room, user)
        timer = self._typing.pop(key, None)
        if timer is not None:
            timer.cancel()
        else:
            self._notify()
        self._typing[key] = self._loop().call_later(TYPING_TTL, self._stop_typing, room, user)

    def _stop_typing(self, room: str, user: str) -> None:
        timer = self._typing.pop((room, user), None)
        if timer is not None:
            timer.cancel()
            self._notify()

    def typing_for(self, user: str) -> dict[str, list[str]]:
        """Who types where, as a poller of ``user`` should see it (never ``user``)."""
        typing: dict[str, list[str]] = {}
        for room, typist in sorted(self._typing):
            if typist != user and not self.hides(room, user):
                typing.setdefault(room, []).append(typist)
        return typing

    # Long-poll wake-ups -----------------------------------------------------

    def _notify(self) -> None:
        # Wake every waiting long poll, then arm a fresh event for the next change.
        self._changed.set()
        self._changed = asyncio.Event()

    def _loop(self) -> asyncio.AbstractEventLoop:
        if self._event_loop is None:
            self._event_loop = asyncio.get_running_loop()
        return self._event_loop

    def changed(self) -> asyncio.Event:
        """An event set at the next change; take it BEFORE reading the state it guards."""
        return self._changed

    # Tokens and shutdown ----------------------------------------------------

    def revoke(self, token_hash: str, reason: str = "logged out") -> None:
        """A token was revoked: close its sockets (4401), end its polls, forget its poller."""
        now = self._loop().time()
        self._revoked = {
            known: at for known, at in self._revoked.items() if now - at < REVOKED_MEMORY
        }
        self._revoked[token_hash] = now
        for sub in list(self._subscribers):
            if sub.token_hash == token_hash:
                sub.close_soon(CloseCode.UNAUTHORIZED, reason)
        poller = self._pollers.get(token_hash)
        if poller is not None:
            poller.revoked = True
            poller.active = 0
            self._drop_poller(token_hash)
            # Wakes the polls in progress, which see `revoked` and answer 401.
            self._notify()

    def subscribers(self) -> list[Subscriber]:
        """Every attached socket session (the client's fault tests use it to cut connections)."""
        return list(self._subscribers)

    def shut_down(self) -> None:
        """Answer every waiting long poll now; the server is stopping."""
        self.closing = True
        for timer in self._typing.values():
            timer.cancel()
        self._typing.clear()
        for poller in self._pollers.values():
            if poller.expiry is not None:
                poller.expiry.cancel()
        self._notify()
