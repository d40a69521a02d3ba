"""The two halves of typing notices, as plain objects with an injectable clock.

- :class:`TypingNotifier` (my side): decides when my composer's changes become
  a ``typing`` event: ``active:true`` at most every
  :data:`~chat_protocol.rules.TYPING_NOTIFY_INTERVAL` seconds while I type,
  ``active:false`` once when I send or clear the field.
- :class:`TypingTracker` (their side): who is typing in which room; an
  indicator ends :data:`~chat_protocol.rules.TYPING_EXPIRY` seconds (or the
  ``expiry`` given) after that user's last ``active:true``, at
  ``active:false``, and at once when their message arrives.

Neither knows Qt or the network, and tests drive them with a fake clock.
:class:`TypingIndicators` puts them to work for the chat controller (plain
asyncio): it sends my notices through the connection and ends the others'
indicators with a timer, and the controller turns its changes into the
``typingChanged`` signal.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable

from chat_protocol import SetTyping, Typing
from chat_protocol.rules import TYPING_EXPIRY, TYPING_NOTIFY_INTERVAL

from .connection import Connection
from .tasks import TaskGroup


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
        if self._room is None or now - self._sent_at >= TYPING_NOTIFY_INTERVAL:
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

    def __init__(
        self, clock: Callable[[], float] = time.monotonic, *, expiry: float = TYPING_EXPIRY
    ) -> None:
        self._clock = clock
        # Seconds an indicator lasts after its last active:true (the contract's
        # 6 s; a test may shorten it).
        self._expiry = expiry
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
        """Drop indicators older than the expiry; return the rooms that changed."""
        now = self._clock()
        changed = set()
        for room, users in self._since.items():
            for user in [u for u, at in users.items() if now - at >= self._expiry]:
                del users[user]
                changed.add(room)
        return changed

    def next_expiry(self) -> float | None:
        """Seconds until the next indicator expires, None when nobody is typing."""
        times = [at for users in self._since.values() for at in users.values()]
        if not times:
            return None
        return max(0.0, min(times) + self._expiry - self._clock())

    def users(self, room: str) -> list[str]:
        """Who is typing in ``room``, in the order they started."""
        return list(self._since.get(room, {}))

    def clear(self) -> None:
        """Forget everyone (the connection dropped: their notices will not be ended)."""
        self._since.clear()


class TypingIndicators:
    """Both halves at work in one session: my notices go out, theirs end on time.

    My composer's changes go through the :class:`TypingNotifier` and out as
    ``typing`` events through the :class:`~.connection.Connection` (dropped
    when offline: typing is best effort); their notices go into the
    :class:`TypingTracker`, and a timer on the running loop ends an indicator
    when it expires. ``on_change(room, users)`` hears every change of who is
    typing in a room.
    """

    def __init__(
        self,
        connection: Connection,
        tasks: TaskGroup,
        *,
        on_change: Callable[[str, list[str]], None],
        expiry: float = TYPING_EXPIRY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._connection = connection
        self._tasks = tasks
        self._on_change = on_change
        self._notifier = TypingNotifier(clock)
        self._tracker = TypingTracker(clock, expiry=expiry)
        # The timer that ends the next indicator due; None when nobody is typing.
        self._timer: asyncio.TimerHandle | None = None

    def users(self, room: str) -> list[str]:
        """Who else is typing in ``room``."""
        return self._tracker.users(room)

    def composer_edited(self, room: str, text: str) -> None:
        """My composer holds ``text`` now: maybe tell the others I am typing."""
        self._send(self._notifier.text_changed(room, text))

    def sent(self) -> None:
        """I sent my message: I am no longer typing."""
        self._send(self._notifier.stopped())

    def notice(self, event: Typing) -> None:
        """Another user's typing notice arrived."""
        if self._tracker.typing(event.room, event.user, event.active):
            self._on_change(event.room, self._tracker.users(event.room))
        self._schedule_expiry()

    def message_arrived(self, room: str, author: str) -> None:
        """``author`` posted in ``room``: their indicator ends now."""
        if self._tracker.message_arrived(room, author):
            self._on_change(room, self._tracker.users(room))

    def user_left(self, user: str, rooms: Iterable[str], shown: str) -> None:
        """``user`` went offline: they type nowhere any more (``shown``: the room on screen)."""
        if any(self._tracker.typing(room, user, False) for room in rooms):
            self._on_change(shown, self._tracker.users(shown))

    def clear(self, rooms: Iterable[str]) -> None:
        """The connection dropped: nobody's notices will be ended, so forget them all."""
        typing = [room for room in rooms if self._tracker.users(room)]
        self._tracker.clear()
        for room in typing:
            self._on_change(room, [])

    def close(self) -> None:
        """Stop the expiry timer (the chat is closing)."""
        self._cancel_timer()

    def _send(self, notices: list[tuple[str, bool]]) -> None:
        if not self._connection.can_send():
            return
        for room, active in notices:
            self._tasks.spawn(self._connection.send(SetTyping(room, active)))

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _schedule_expiry(self) -> None:
        self._cancel_timer()
        delay = self._tracker.next_expiry()
        if delay is not None:
            # A little late rather than early: at the exact moment it may not be due yet.
            self._timer = asyncio.get_running_loop().call_later(delay + 0.02, self._expire)

    def _expire(self) -> None:
        self._timer = None
        for room in self._tracker.expire():
            self._on_change(room, self._tracker.users(room))
        self._schedule_expiry()
