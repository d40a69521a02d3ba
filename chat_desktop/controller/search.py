"""MessageSearch: find messages by a few words, in the cache at once, on the server when online.

The window's search panel calls :meth:`MessageSearch.search` as the user
types; the answer comes back in steps through ``on_results(query, hits,
stage)``, each time the whole list so far, newest first:

1. **On this computer**: the cache's own index (:meth:`ChatCache.search
   <chat_desktop.storage.cache.ChatCache.search>`, SQLite FTS5, the same rule
   as the server's, :mod:`chat_protocol.search`). It runs on a worker thread
   of its own with its own connection to the cache file (SQLite in WAL mode:
   it reads while the window's connection writes), so a slow query over a
   big cache never holds up the window (``bench/search_ui.py`` measures how
   long the loop waits). The thread and its connection live while the
   search panel is open: kept, the connection keeps the index's pages in its
   cache from one keystroke to the next; :meth:`MessageSearch.cancel` (the
   panel closed) or closing the controller's tasks ends both.
   Offline this is the whole answer (stage :attr:`SearchStage.OFFLINE`).
2. **From the server** (``GET /api/v1/search``): merged in by (room, seq),
   so a message found in both places is listed once; the server's copy wins,
   because it holds the current text (an edit the cache has not heard of).
   A cached hit that the server no longer returns in the range its answer
   covers was edited away from the words or deleted: it is dropped
   (:func:`merge`).

In one room, :meth:`MessageSearch.more` pages back (``before`` the oldest
hit, in the cache and on the server alike) and reports the longer list;
across rooms the contract has no paging, so the newest hits are all.

A newer search makes an older one's answers stale: they are never reported.
Plain asyncio, no Qt: ChatController turns ``on_results`` into its
``searchResults`` signal.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from chat_desktop.storage import ChatCache
from chat_desktop.transport.http_api import ApiError, ApiSession, search_messages
from chat_protocol import Message
from chat_protocol.search import DEFAULT_LIMIT, NoSearchWords, TooManySearchWords, query_terms

from .connection import Connection
from .entries import MessageEntry
from .tasks import TaskGroup

log = logging.getLogger(__name__)

# How long the server may take to answer a search before the cache's hits
# are all the user gets (with a note that the server did not answer).
SERVER_TIMEOUT = 10.0


class SearchSource(enum.Enum):
    """Where a hit was found: the list says "on this computer" or "from the server"."""

    LOCAL = "local"
    SERVER = "server"


class SearchStage(enum.Enum):
    """Which step of a search an answer is."""

    # The cache's hits; the server's follow.
    LOCAL = "local"
    # The server's hits merged in: the last answer.
    SERVER = "server"
    # Not connected: the cache's hits are the whole answer.
    OFFLINE = "offline"
    # The server did not answer (or refused): the cache's hits are the whole answer.
    FAILED = "failed"
    # The query holds no word to look for (only spaces and punctuation), or too many.
    NO_WORDS = "no_words"

    @property
    def final(self) -> bool:
        """Whether no further answer to the same search follows."""
        return self is not SearchStage.LOCAL


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One message found, and where."""

    entry: MessageEntry
    source: SearchSource


@dataclass(frozen=True, slots=True)
class SearchAnswer:
    """One step's answer: every hit so far, newest first, and the stage it is."""

    query: str
    room: str | None
    hits: tuple[SearchHit, ...]
    stage: SearchStage
    # Why the server gave nothing (stage FAILED), as the transport worded it.
    detail: str = ""

    def count(self, source: SearchSource) -> int:
        return sum(hit.source is source for hit in self.hits)


def _newest_first(room: str | None) -> Callable[[Message], tuple[object, ...]]:
    """The sort key of the contract's order: by seq in one room, by time stamp across rooms."""
    if room is not None:
        return lambda message: (message.seq,)
    return lambda message: (message.ts, message.room, message.seq)


def merge(
    local: Sequence[Message], server: Sequence[Message], *, room: str | None, limit: int
) -> list[SearchHit]:
    """The cache's and the server's hits as one list, newest first, each message once.

    The server's copy of a message both found replaces the cache's (it holds
    the current text). The server's answer covers everything newer than its
    oldest hit (all of history when it returned fewer than ``limit``): a
    cached hit in that range the server did not return no longer matches
    there (edited to other words, deleted, or its room is no longer mine),
    so it is dropped. Older cached hits stay: the server's next page would
    have them.
    """
    key = _newest_first(room)
    found = {(message.room, message.seq): message for message in server}
    covers_all = len(server) < limit
    oldest = min((key(message) for message in server), default=None)
    hits: dict[tuple[str, int], SearchHit] = {}
    for message in local:
        where = (message.room, message.seq)
        if where not in found and (covers_all or (oldest is not None and key(message) > oldest)):
            continue
        current = found.get(where, message)
        hits[where] = SearchHit(MessageEntry.from_message(current), SearchSource.LOCAL)
    for where, message in found.items():
        hits.setdefault(where, SearchHit(MessageEntry.from_message(message), SearchSource.SERVER))
    ordered = sorted(hits.values(), key=lambda hit: _entry_key(hit.entry, room), reverse=True)
    return ordered


def _entry_key(entry: MessageEntry, room: str | None) -> tuple[object, ...]:
    if room is not None:
        return (entry.seq or 0,)
    return (entry.ts, entry.room, entry.seq or 0)


async def _forever() -> None:
    await asyncio.get_running_loop().create_future()


def _after(earlier: tuple[SearchHit, ...], page: tuple[SearchHit, ...]) -> tuple[SearchHit, ...]:
    """The hits of ``earlier`` pages, then the new page's that are not among them."""
    shown = {(hit.entry.room, hit.entry.seq) for hit in earlier}
    return earlier + tuple(hit for hit in page if (hit.entry.room, hit.entry.seq) not in shown)


def _hits(messages: Sequence[Message], source: SearchSource) -> tuple[SearchHit, ...]:
    return tuple(SearchHit(MessageEntry.from_message(message), source) for message in messages)


class MessageSearch:
    """Searches of one session: the cache first, then the server (see the module docstring).

    ``server_url`` and ``ssl_context`` are read from the connection at each
    search (a hosted server may move to another port, a certificate may be
    pinned anew); ``token`` authorises the HTTP call.
    """

    def __init__(
        self,
        cache: ChatCache,
        connection: Connection,
        tasks: TaskGroup,
        *,
        token: str,
        on_results: Callable[[SearchAnswer], None],
        limit: int = DEFAULT_LIMIT,
        server_timeout: float = SERVER_TIMEOUT,
    ) -> None:
        self._cache = cache
        self._connection = connection
        self._tasks = tasks
        self._token = token
        self._on_results = on_results
        self._limit = limit
        self._server_timeout = server_timeout
        # The running search, cancelled by the next one: only the newest answers.
        self._current: asyncio.Task[None] | None = None
        # The last final answer, and whether a page before its oldest hit may
        # hold more (a full page came from the cache or the server).
        self._last: SearchAnswer | None = None
        self._more_possible = False
        # The worker thread that reads the cache, and the task that owns it
        # (see _worker_thread); made by the first search, ended by cancel().
        self._worker: ThreadPoolExecutor | None = None
        self._worker_owner: asyncio.Task[None] | None = None

    def search(self, query: str, room: str | None = None) -> None:
        """Look for ``query`` in ``room`` (every room when None); answers follow."""
        if self._current is not None:
            self._current.cancel()
            self._current = None
        try:
            query_terms(query)
        except (NoSearchWords, TooManySearchWords) as exc:
            self._on_results(SearchAnswer(query, room, (), SearchStage.NO_WORDS, str(exc)))
            return
        self._last = None
        self._current = self._tasks.spawn(self._run(query, room))

    def more(self) -> None:
        """The hits before the oldest one shown, added to the list (one room only).

        Does nothing while a search runs, across rooms, or when the last
        page was not full (there is nothing more).
        """
        last = self._last
        if self._current is not None or last is None or last.room is None:
            return
        seqs = [hit.entry.seq for hit in last.hits if hit.entry.seq is not None]
        if not self._more_possible or not seqs:
            return
        self._current = self._tasks.spawn(
            self._run(last.query, last.room, before=min(seqs), earlier=last.hits)
        )

    def cancel(self) -> None:
        """Stop the running search (the panel closed): no answer follows.

        The worker thread and its connection to the cache end too; the next
        search starts new ones.
        """
        if self._current is not None:
            self._current.cancel()
            self._current = None
        self._release(self._worker)
        self._last = None

    def _worker_thread(self) -> ThreadPoolExecutor:
        if self._worker is None:
            worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cache-search")
            self._worker = worker
            # A task that waits forever stands for the worker among the
            # controller's tasks: when they are closed, its done callback
            # (which runs even if the task never started) releases it.
            owner = self._tasks.spawn(_forever())
            if owner is None:
                self._release(worker)
                raise asyncio.CancelledError
            owner.add_done_callback(lambda _task: self._release(worker))
            self._worker_owner = owner
        return self._worker

    def _release(self, worker: ThreadPoolExecutor | None) -> None:
        """Close ``worker``'s connection to the cache and let its thread end (once)."""
        if worker is None or worker is not self._worker:
            return
        owner, self._worker, self._worker_owner = self._worker_owner, None, None
        if owner is not None:
            owner.cancel()
        # The cache's database keeps one connection per thread: close() run
        # on the worker closes the worker's own, never the window's. Queued
        # behind a search still running there; nothing waits for it.
        worker.submit(self._cache.close)
        worker.shutdown(wait=False)

    async def _run(
        self,
        query: str,
        room: str | None,
        *,
        before: int | None = None,
        earlier: tuple[SearchHit, ...] = (),
    ) -> None:
        """One page of hits (before seq ``before`` of ``room``), after the ``earlier`` ones."""
        worker = self._worker_thread()
        local = await asyncio.get_running_loop().run_in_executor(
            worker, self._search_cache, query, room, before
        )
        mine = _after(earlier, _hits(local, SearchSource.LOCAL))
        full = len(local) >= self._limit
        if not self._connection.can_send():
            self._report(SearchAnswer(query, room, mine, SearchStage.OFFLINE), full)
            return
        self._report(SearchAnswer(query, room, mine, SearchStage.LOCAL), full)
        try:
            server = await asyncio.wait_for(
                self._search_server(query, room, before), self._server_timeout
            )
        except (ApiError, TimeoutError) as exc:
            log.info("the server's search did not answer: %s", exc)
            detail = str(exc) if isinstance(exc, ApiError) else ""
            self._report(SearchAnswer(query, room, mine, SearchStage.FAILED, detail), full)
            return
        page = tuple(merge(local, server, room=room, limit=self._limit))
        full = full or len(server) >= self._limit
        self._report(SearchAnswer(query, room, _after(earlier, page), SearchStage.SERVER), full)

    def _report(self, answer: SearchAnswer, full: bool = False) -> None:
        if answer.stage.final:
            self._current = None
            self._last = answer
            self._more_possible = full
        self._on_results(answer)

    def _search_cache(self, query: str, room: str | None, before: int | None) -> list[Message]:
        """The cache's hits, on the worker thread (see the module docstring)."""
        return self._cache.search(query, room=room, before=before, limit=self._limit)

    async def _search_server(
        self, query: str, room: str | None, before: int | None
    ) -> list[Message]:
        # One HTTP session per search, closed with it, even when a newer
        # search cancels this one: searches are paced by typing, and nothing
        # is left open when the chat closes.
        api = ApiSession(
            self._connection.server_url,
            token=self._token,
            ssl_context=self._connection.ssl_context,
        )
        try:
            return await search_messages(api, query, room=room, before=before, limit=self._limit)
        finally:
            await api.close()
