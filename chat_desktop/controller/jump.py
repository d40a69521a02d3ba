"""Jumps: the messages around one message, to show it in its room (a search result, a reply).

:meth:`Jumps.open_at` answers through ``on_ready(room, seq, entries)`` with a
page of up to :data:`AROUND` messages before ``seq`` and as many after it,
ascending (near the start of a room, more after it instead):

- from the cache at once when it holds an unbroken run of messages around
  ``seq`` (the run may stop short at the room's newest cached message);
- otherwise from the server: one ``history`` page ending :data:`AROUND`
  messages after ``seq`` (:meth:`History.request <.history.History.request>`).
  Its messages also reach the cache and the window through the controller's
  batch, like any history page, so the next jump there is a cache hit.
- offline with nothing cached around it: whatever the cache has just before
  and at ``seq`` (maybe nothing; the window then says the message is not on
  this computer).

Plain asyncio, no Qt; the controller turns ``on_ready`` into ``jumpReady``.
"""

from __future__ import annotations

from collections.abc import Callable

from chat_desktop.storage import ChatCache

from .entries import MessageEntry
from .history import History
from .tasks import TaskGroup

# Messages shown before (and after) the one jumped to.
AROUND = 25


class Jumps:
    """Loads the page around a message; see the module docstring."""

    def __init__(
        self,
        cache: ChatCache,
        history: History,
        tasks: TaskGroup,
        *,
        on_ready: Callable[[str, int, list[MessageEntry]], None],
        around: int = AROUND,
    ) -> None:
        self._cache = cache
        self._history = history
        self._tasks = tasks
        self._on_ready = on_ready
        self._around = around

    def open_at(self, room: str, seq: int) -> None:
        """Load the messages around ``seq`` of ``room``; ``on_ready`` follows (maybe at once)."""
        cached = self.cached_around(room, seq)
        if cached:
            self._on_ready(room, seq, cached)
            return
        self._tasks.spawn(self._from_server(room, seq))

    def cached_around(self, room: str, seq: int) -> list[MessageEntry]:
        """The cached run around ``seq`` (holding it), or [] when the cache has a hole there."""
        newest = self._cache.latest(room, 1)
        if not newest or newest[-1].seq < seq:
            return []
        top = min(self._page_top(seq), newest[-1].seq)
        run = self._cache.before(room, top + 1, 2 * self._around + 1)
        if not run or run[0].seq > seq:
            return []
        return [MessageEntry.from_message(message) for message in run]

    def _page_top(self, seq: int) -> int:
        """The last seq of the page around ``seq``: AROUND after it, or more near the
        start of the room, so the page is as long as it can be (it fills the view)."""
        return max(seq + self._around, 2 * self._around + 1)

    async def _from_server(self, room: str, seq: int) -> None:
        before = self._page_top(seq) + 1
        page = await self._history.request(room, before, 2 * self._around + 1)
        if page is not None and any(message.seq == seq for message in page.messages):
            entries = [MessageEntry.from_message(message) for message in page.messages]
        else:
            # Offline, no answer, or the message is gone: the cached run up to
            # it (empty when the cache lacks the message itself).
            cached = self._cache.before(room, seq + 1, self._around + 1)
            entries = [MessageEntry.from_message(message) for message in cached]
        self._on_ready(room, seq, entries)
