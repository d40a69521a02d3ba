"""The two halves of typing notices, as plain objects with an injectable clock.

- :class:`TypingNotifier` (my side): decides when my composer's changes become
  a ``typing`` event: ``active:true`` at most every :data:`NOTIFY_INTERVAL`
  seconds while I type, ``active:false`` once when I send or clear the field.
- :class:`TypingTracker` (their side): who is typing in which room; an
  indicator ends :data:`EXPIRY` seconds after that user's last ``active:true``,
  at ``active:false``, and at once when their message arrives.

Neither knows Qt or the network: the chat controller feeds them and turns
their answers into events and signals, and tests drive them with a fake clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable

# PROTOCOL.md: clients send active:true at most every 3 s while typing...
NOTIFY_INTERVAL = 3.0
# ...and receivers drop an indicator 6 s after its last active:true.
EXPIRY = 6.0


class TypingNotifier:
    """Throttles my typing notices for one room at a time."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        # The room my last active:true went to, and when; None when I am not typing.
        self._room: str | None = None
        self._sent_at = 0.0

    def text_changed(self, room: str, text: str) -> list[tuple[str, bool]]:
        """The (room, active) notices to send now that the composer holds ``text``."""
        notices: list[tuple[str, bool]] = []
        if self._room is not None and self._room != room:
            notices.append((self._room, False))
            self._room = None
        if not text.strip():
            return notices + self.stopped()
        now = self._clock()
        if self._room is None or now - self._sent_at >= NOTIFY_INTERVAL:
            self._room = room
            self._sent_at = now
            notices.append((room, True))
        return notices

    def stopped(self) -> list[tuple[str, bool]]:
        """I sent the message or emptied the field: one active:false if I was typing."""
        if self._room is None:
            return []
        room, self._room = self._room, None
        return [(room, False)]


class TypingTracker:
    """Who else is typing, per room."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        # room -> user -> monotonic time of their last active:true
        self._since: dict[str, dict[str, float]] = {}

    def typing(self, room: str, user: str, active: bool) -> bool:
        """Record a notice; return whether the room's list of typists changed."""
        users = self._since.setdefault(room, {})
        if active:
            changed = user not in users
            users[user] = self._clock()
            return changed
        return users.pop(user, None) is not None

    def message_arrived(self, room: str, author: str) -> bool:
        """``author`` posted in ``room``: their indicator ends now."""
        return self._since.get(room, {}).pop(author, None) is not None

    def expire(self) -> set[str]:
        """Drop indicators older than EXPIRY; return the rooms that changed."""
        now = self._clock()
        changed = set()
        for room, users in self._since.items():
            for user in [u for u, at in users.items() if now - at >= EXPIRY]:
                del users[user]
                changed.add(room)
        return changed

    def next_expiry(self) -> float | None:
        """Seconds until the next indicator expires, None when nobody is typing."""
        times = [at for users in self._since.values() for at in users.values()]
        if not times:
            return None
        return max(0.0, min(times) + EXPIRY - self._clock())

    def users(self, room: str) -> list[str]:
        """Who is typing in ``room``, in the order they started."""
        return list(self._since.get(room, {}))

    def clear(self) -> None:
        """Forget everyone (the connection dropped: their notices will not be ended)."""
        self._since.clear()
