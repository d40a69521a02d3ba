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

Presence counts both kinds of clients: a user is online while they have a
WebSocket session or an HTTP poller that polled within
``Limits.poll_presence_seconds``. ``user-join`` goes out when a user's first
one appears, ``user-leave`` when the last one ends. Long polls wait on
:meth:`Hub.changed`, which fires on every message, typing or presence change.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from chat_protocol import (
    CloseCode,
    Limits,
    Message,
    Room,
    RoomInfo,
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


class Subscriber(Protocol):
    """What the hub needs from a live connection (implemented by the socket session)."""

    @property
    def username(self) -> str: ...

    @property
    def token_hash(self) -> str: ...

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


class Hub:
    """Live connections, presence, typing state and fan-out of one server."""

    def __init__(self, limits: Limits, rooms: Iterable[RoomInfo] = ()) -> None:
        self._limits = limits
        # The event loop the hub's timers run on, taken the first time one is
        # needed and kept: in the app that hosts the chat, qasync may run a
        # callback while Qt processes events outside the loop's run_forever,
        # and asyncio.get_running_loop() would then fail.
        self._event_loop: asyncio.AbstractEventLoop | None = None
        # Room name -> last seq: lets a long poll tell without a query whether
        # a room has anything after the client's position.
        self._rooms: dict[str, int] = {room.name: room.last_seq for room in rooms}
        self._subscribers: set[Subscriber] = set()
        self._sockets_of: dict[str, set[Subscriber]] = {}
        self._pollers: dict[str, Poller] = {}  # by token hash
        # (room, user) -> the timer that ends an active indicator after TYPING_TTL.
        self._typing: dict[tuple[str, str], asyncio.TimerHandle] = {}
        self._changed = asyncio.Event()
        self.closing = False
        # Token hash -> when it was revoked (loop time), for REVOKED_MEMORY seconds.
        self._revoked: dict[str, float] = {}

    # Rooms ------------------------------------------------------------------

    def has_room(self, name: str) -> bool:
        return name in self._rooms

    def last_seq(self, room: str) -> int:
        return self._rooms.get(room, 0)

    def note_rooms(self, rooms: Iterable[RoomInfo]) -> None:
        """Learn rooms read from the store (another process may have created some)."""
        for room in rooms:
            self._rooms[room.name] = max(self._rooms.get(room.name, 0), room.last_seq)

    # Presence ---------------------------------------------------------------

    def is_online(self, user: str) -> bool:
        if self._sockets_of.get(user):
            return True
        return any(p.username == user for p in self._pollers.values())

    def online(self) -> list[str]:
        """Every online user, sorted case-insensitively."""
        users = {user for user, subs in self._sockets_of.items() if subs}
        users.update(p.username for p in self._pollers.values())
        return sorted(users, key=str.lower)

    def _presence_changed(self, user: str, was_online: bool, skip: Subscriber | None) -> None:
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
        was_online = self.is_online(sub.username)
        self._subscribers.add(sub)
        self._sockets_of.setdefault(sub.username, set()).add(sub)
        self._presence_changed(sub.username, was_online, skip=sub)
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
        self._presence_changed(sub.username, True, skip=None)

    @property
    def polls_waiting(self) -> int:
        """How many long polls are in progress right now."""
        return sum(poller.active for poller in self._pollers.values())

    def poll_started(self, user: str, token_hash: str) -> Poller:
        """A long poll began: the user counts as online at least until it ends."""
        was_online = self.is_online(user)
        poller = self._pollers.get(token_hash)
        if poller is None:
            poller = self._pollers[token_hash] = Poller(user)
        if poller.expiry is not None:
            poller.expiry.cancel()
            poller.expiry = None
        poller.active += 1
        poller.revoked = token_hash in self._revoked
        self._presence_changed(user, was_online, skip=None)
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
        self._presence_changed(poller.username, True, skip=None)

    # Fan-out ----------------------------------------------------------------

    def _send_all(self, frame: Frame, skip: Subscriber | None = None) -> None:
        # deliver() only queues, so one slow recipient cannot stall this loop.
        # A copy, because deliver() may close (and detach) a recipient that overflows.
        for sub in list(self._subscribers):
            if sub is not skip:
                sub.deliver(frame)

    def publish_message(self, message: Message) -> None:
        """Fan a newly stored message out to every connection, the sender's own included."""
        self._rooms[message.room] = max(self._rooms.get(message.room, 0), message.seq)
        # The contract has receivers drop an indicator when that user's message
        # arrives; the server's own typing list (for pollers) does the same.
        self._stop_typing(message.room, message.author)
        self._send_all(Frame.of(message))
        self._notify()

    def publish_room(self, room: RoomInfo) -> None:
        """Announce a (new) room to every connection."""
        self.note_rooms([room])
        self._send_all(Frame.of(Room(room.name, room.last_seq)))
        self._notify()

    def publish_typing(self, room: str, user: str, active: bool) -> None:
        """Relay typing to every other user's connections and track it for pollers."""
        frame = Frame.of(Typing(room, user, active))
        for sub in list(self._subscribers):
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
            if typist != user:
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
