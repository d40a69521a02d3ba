"""History: pages of older messages, from the cache first and from the server when it lacks them.

The socket brings what is new; everything before that is asked for in pages
(``history`` requests, :data:`PAGE_SIZE` messages each). :class:`History`
does the asking and the waiting, for four needs:

- **Opening a room** (:meth:`History.cached_page`): the newest cached page, at
  once and offline too; a room the cache holds nothing of gets its newest page
  from the server (which then counts as read: it is history, not news).
- **Scrolling up** (:meth:`History.older_page`): the page before the oldest
  row shown, from the cache when it has it, else from the server.
- **After the welcome** (:meth:`History.complete_newest_pages`): the page a
  window shows first must be whole. The replay after ``hello`` only brings
  what is above the newest cached message, so a room whose newest page has a
  hole (a connection dropped while that page was on its way) gets the rest.
- **A gap in the replay** (:meth:`History.fill_gap`): when the server skipped
  messages (more than its replay limit were missed), page backwards until
  every one of them is here.

A history answer is an event like any other: it reaches the cache and the
window through the controller's batch, and the controller also hands it to
:meth:`History.answer`, which wakes whoever asked (answers per room come in
the order asked). Plain asyncio, sending through the
:class:`~.connection.Connection`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from chat_desktop.storage import ChatCache
from chat_protocol import Gap, HistoryPage, HistoryRequest, RoomInfo, rules

from .connection import Connection
from .entries import MessageEntry
from .tasks import TaskGroup

# Messages per page when opening a room or scrolling up.
PAGE_SIZE = 100
# How long to wait for the server's answer to a history request.
HISTORY_TIMEOUT = 20.0


@dataclass(frozen=True, slots=True)
class OlderPage:
    """Messages just before a seq, from the cache or the server."""

    entries: list[MessageEntry]
    has_more: bool


class History:
    """History requests and their answers for one session.

    ``on_read`` is called when a room's newest page arrived for a room the
    cache held nothing of and was marked read (its unread count changed);
    ``first_visit(room)`` marks such a room read on the server too, where the
    server counts unread messages (Version 2) and I never read there.
    """

    def __init__(
        self,
        cache: ChatCache,
        connection: Connection,
        tasks: TaskGroup,
        *,
        on_read: Callable[[], None],
        first_visit: Callable[[str], object] = lambda room: None,
        page_size: int = PAGE_SIZE,
        timeout: float = HISTORY_TIMEOUT,
    ) -> None:
        self._cache = cache
        self._connection = connection
        self._tasks = tasks
        self._on_read = on_read
        self._first_visit = first_visit
        self._page_size = page_size
        self._timeout = timeout
        # Per room, the futures waiting for history pages, answered in order.
        self._waiters: dict[str, list[asyncio.Future[HistoryPage]]] = {}

    def cached_page(self, room: str, *, last_seq: int) -> list[MessageEntry]:
        """The newest cached page of ``room``; when the cache has none but the
        room has messages (``last_seq``), its newest page is asked for."""
        cached = self._cache.latest(room, self._page_size)
        if not cached and last_seq > 0:
            self.fetch_newest(room)
        return [MessageEntry.from_message(message) for message in cached]

    def complete_newest_pages(self, rooms: list[RoomInfo]) -> None:
        """After a welcome: ask for whatever the newest page of each room lacks.

        A room the cache has nothing of has no position for ``since`` to cover:
        fetch its newest page. A room whose newest page has a hole gets the rest
        of the page: the replay only brings what is above the newest.
        """
        positions = self._cache.positions()
        for room in rooms:
            if room.last_seq == 0:
                continue
            if room.name not in positions:
                self.fetch_newest(room.name)
                continue
            _, first = self._cache.latest_run(room.name, self._page_size)
            # The run counts every entry of the log, not only its messages.
            length = positions[room.name] - first + 1
            if first > 1 and length < self._page_size:
                self._fetch_below(room.name, first, self._page_size - length)

    def fetch_newest(self, room: str) -> None:
        """Ask for the newest page of a room the cache holds nothing of."""
        if self._connection.can_send():
            self._tasks.spawn(self._newest(room))

    def fill_gap(self, gap: Gap) -> None:
        """Page backwards from ``gap.before`` until every seq after ``gap.after`` is here."""
        self._tasks.spawn(self._fill_gap(gap))

    async def older_page(self, room: str, before: int | None) -> OlderPage:
        """The page before seq ``before``: from the cache, else the server."""
        if before is None or before <= 1:
            return OlderPage([], False)
        cached, first = self._cache.before_run(room, before, self._page_size)
        if first:
            if not cached and first > 1:
                # A run of entries that are not messages (reactions, say):
                # look further back rather than show an empty page.
                return await self.older_page(room, first)
            entries = [MessageEntry.from_message(message) for message in cached]
            return OlderPage(entries, first > 1)
        page = await self.request(room, before, self._page_size)
        if page is None:
            # Offline or no answer: there may well be more; the view asks again later.
            return OlderPage([], True)
        entries = [MessageEntry.from_message(message) for message in page.messages]
        return OlderPage(entries, page.has_more)

    async def request(self, room: str, before: int | None, limit: int) -> HistoryPage | None:
        """Ask the server for a page and wait for it; None offline or without an answer."""
        if not self._connection.can_send():
            return None
        waiter: asyncio.Future[HistoryPage] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(room, []).append(waiter)
        try:
            if not await self._connection.send(HistoryRequest(room, before, limit)):
                return None
            return await asyncio.wait_for(asyncio.shield(waiter), self._timeout)
        except TimeoutError:
            return None
        finally:
            waiters = self._waiters.get(room, [])
            if waiter in waiters:
                waiters.remove(waiter)
            if not waiter.done():
                waiter.cancel()

    def answer(self, page: HistoryPage) -> None:
        """A page arrived: it answers the oldest request still waiting for that room."""
        waiters = self._waiters.get(page.room)
        while waiters:
            waiter = waiters.pop(0)
            if not waiter.done():
                waiter.set_result(page)
                return

    def close(self) -> None:
        """Stop waiting for every page asked for."""
        for waiters in self._waiters.values():
            for waiter in waiters:
                waiter.cancel()
        self._waiters.clear()

    def _fetch_below(self, room: str, before: int, limit: int) -> None:
        if self._connection.can_send():
            # Like the newest page, the answer reaches the window through the batch.
            self._tasks.spawn(self.request(room, before, limit))

    async def _newest(self, room: str) -> None:
        # The page's messages reach the window through the batch like any other.
        page = await self.request(room, None, self._page_size)
        if page is None or not page.messages:
            return
        # This is only asked for a room the cache held nothing of: what was
        # said there before I first looked is history, not unread news.
        if not self._cache.counts_unread(room):
            self._cache.mark_read(room, page.messages[-1].seq)
            self._on_read()
        elif self._cache.read_seq(room) == 0:
            # The server counts unread messages (Version 2) and I never read
            # here on any device: my first visit, on the server too.
            self._first_visit(room)
            self._on_read()
        # Else another device of mine has read here: the server's count holds,
        # the same on every device.

    async def _fill_gap(self, gap: Gap) -> None:
        before = gap.before
        while before - 1 > gap.after:
            limit = min(rules.HISTORY_LIMIT_MAX, before - 1 - gap.after)
            page = await self.request(gap.room, before, limit)
            entries = page.entries if page is not None and page.entries else None
            if page is None or not (entries or page.messages):
                return
            before = (entries or page.messages)[0].seq
