"""Roster: the rooms and the people of the server, as this session knows them.

The side bar shows every room with its unread count and every user with a
dot for online. :class:`Roster` keeps what that needs: each room's last seq
(from the cache at start, then from the server's ``welcome``, ``room``
events and every stored message), who is online (``welcome``, then
``user-join`` / ``user-leave``; nobody while disconnected), every author seen
(shown offline), and the rooms I asked the server to create, in the order
asked (a ``room`` event is the answer to one; the server answers the frames
of a connection in order, so a refusal, which names no room, answers the
oldest). Unread counts, and among them the mentions of me, come from the
cache, which keeps what I have read (:mod:`.reads`: the room on screen, in
the active window) and the server's own counts (Version 2), and rooms carry
their kind, topic, members and creator. Plain Python: no Qt, no network.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from chat_desktop.storage import ChatCache
from chat_protocol import DEFAULT_ROOM, Room, RoomInfo, UserJoin, UserLeave

from .entries import MemberEntry, RoomEntry
from .mentions import mentions


class Roster:
    """Rooms (name -> last seq), online users, authors seen, and rooms I asked for."""

    def __init__(self, cache: ChatCache, me: str) -> None:
        self._cache = cache
        # Room name -> last seq the server announced.
        self.last_seq: dict[str, int] = {room.name: room.last_seq for room in cache.rooms()}
        self.last_seq.setdefault(DEFAULT_ROOM, 0)
        self._online: set[str] = set()
        # Authors seen since start: the members list shows them offline.
        self._known: set[str] = {me}
        # Rooms I asked the server to create, oldest first: their `room` event
        # means roomCreated, a refusal is about the oldest.
        self._wanted: list[str] = []

    def rooms(self, me: str) -> list[RoomEntry]:
        """Every room, by name, with how many messages in it ``me`` has not read,
        its kind, topic and members (Version 2)."""
        unread = self._cache.unread_counts(me)
        mentioned = Counter(
            room for room, text in self._cache.unread_mentioning(me) if mentions(text, me)
        )
        cached = {room.name: room for room in self._cache.rooms()}
        entries = []
        for name in sorted(set(self.last_seq) | set(unread)):
            room = cached.get(name)
            kind = room.kind if room is not None else "public"
            members = room.members if room is not None else ()
            others = [user for user in members if user.lower() != me.lower()]
            entries.append(
                RoomEntry(
                    name,
                    unread.get(name, 0),
                    mentioned[name],
                    kind=kind,
                    topic=room.topic if room is not None else "",
                    members=members,
                    # A direct room is called by the others' names.
                    title=", ".join(others or members) if kind == "direct" else "",
                    creator=room.creator if room is not None else None,
                )
            )
        return entries

    def removed(self, room: str) -> None:
        """I can no longer read ``room``: it leaves the list and the cache."""
        self.last_seq.pop(room, None)
        self._cache.purge_room(room)

    def is_online(self, name: str) -> bool:
        return name in self._online

    def members(self) -> list[MemberEntry]:
        """Everyone online or seen, by name."""
        names = self._known | self._online
        return [MemberEntry(name, name in self._online) for name in sorted(names)]

    def seen(self, room: str, seq: int) -> None:
        """A message of ``room`` with ``seq`` was stored."""
        self.last_seq[room] = max(self.last_seq.get(room, 0), seq)

    def authors(self, names: Iterable[str]) -> bool:
        """Remember these authors; whether any was new."""
        new = set(names) - self._known
        self._known |= new
        return bool(new)

    def welcome(self, rooms: list[RoomInfo], online: list[str]) -> None:
        """The server's welcome: its rooms and who is online now."""
        self._cache.save_rooms(rooms)
        for room in rooms:
            self.seen(room.name, room.last_seq)
        self._online = set(online)

    def room(self, room: Room) -> tuple[bool, bool]:
        """A ``room`` event: whether the room is new here, and whether I asked for it."""
        known = room.name in self.last_seq
        self.seen(room.name, room.last_seq)
        self._cache.save_rooms([room.info or RoomInfo(room.name, room.last_seq)])
        wanted = room.name in self._wanted
        if wanted:
            self._wanted.remove(room.name)
        return not known, wanted

    def want(self, name: str) -> None:
        """I asked the server to create room ``name``."""
        if name not in self._wanted:
            self._wanted.append(name)

    def refused(self, name: str | None = None) -> str | None:
        """My request for room ``name`` (by default the oldest) failed: its name, or
        None when no such request was open."""
        if name is None:
            return self._wanted.pop(0) if self._wanted else None
        if name not in self._wanted:
            return None
        self._wanted.remove(name)
        return name

    def unanswered(self) -> list[str]:
        """The connection dropped: the rooms asked for and not answered (no longer awaited)."""
        names, self._wanted = self._wanted, []
        return names

    def presence(self, event: UserJoin | UserLeave) -> None:
        if isinstance(event, UserJoin):
            self._online.add(event.user)
        else:
            self._online.discard(event.user)

    def offline(self) -> None:
        """The connection dropped: I do not know who is online."""
        self._online.clear()
