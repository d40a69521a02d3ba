"""Reads: read positions (Version 2), mine and the other members'.

The server keeps how far each user has read each room (``read_seq`` in room
objects) and counts ``unread`` from it, so counts agree on every device of
mine. :class:`Reads` moves my position when I view a room (the cache at
once, the server through the outbox, in order with my other writes, also
when made offline), takes ``read`` events from the server (mine from my
other devices; in private and direct rooms the other members', for "seen
by") and answers :meth:`Reads.seen_by`. Plain Python: no Qt, no network.
"""

from __future__ import annotations

from chat_desktop.storage import ChatCache
from chat_protocol import Read

from .outbox import Outbox


class Reads:
    """My read positions and the other members' in private and direct rooms."""

    def __init__(self, cache: ChatCache, outbox: Outbox) -> None:
        self._cache = cache
        self._outbox = outbox

    def viewed(self, room: str) -> bool:
        """``room`` is on screen in the active window: all of it is read now.

        Whether my position moved (then it also goes to the server).
        """
        newest = self._cache.positions().get(room)
        if newest is None or newest <= self._cache.read_seq(room):
            return False
        self._cache.mark_read(room, newest)
        self._outbox.add_write("read", room, detail={"seq": newest})
        return True

    def event(self, read: Read, me: str) -> bool:
        """A ``read`` from the server: whether it was mine (from another device of
        mine: unread counts change) rather than another member's (seen by)."""
        if read.user.lower() == me.lower():
            self._cache.mark_read(read.room, read.seq)
            return True
        self._cache.save_read(read.room, read.user, read.seq)
        return False

    def seen_by(self, room: str, me: str) -> dict[int, list[str]]:
        """For a private or direct room: message seq -> the other members whose read
        position is there (at the newest message at or before their position)."""
        cached = self._cache.room(room)
        if cached is None or cached.kind == "public":
            return {}
        seen: dict[int, list[str]] = {}
        for user, seq in sorted(self._cache.read_positions(room).items()):
            if user.lower() == me.lower():
                continue
            at = self._cache.newest_message_seq(room, seq)
            if at is not None:
                seen.setdefault(at, []).append(user)
        return seen
