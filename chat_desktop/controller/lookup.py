"""MessageLookup: ChatController's search face (issue 14), kept beside it.

The QObject base of :class:`~.chat.ChatController`, holding the signal and
the calls the window's search panel uses. The work is done by the Qt-free
:class:`~.search.MessageSearch` (the cache at once, the server when online,
merged); this class only turns its answers into a signal. It lives in its
own module so that ChatController stays small (its size is capped, see
tests/test_architecture.py). Jumping to a hit is ChatController's
``open_at`` / ``jumpReady`` (:mod:`.actions`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from .search import MessageSearch, SearchAnswer

if TYPE_CHECKING:
    from chat_desktop.storage import ChatCache

    from .connection import Connection
    from .tasks import TaskGroup


class MessageLookup(QObject):
    """Search: the QObject ChatController is made from.

    Signals:
        searchResults(str, list, object): an answer to :meth:`search`: the
            query, every hit so far as :class:`~.search.SearchHit` (newest
            first), and the :class:`~.search.SearchStage` it is (the cache's
            hits first, then merged with the server's, or offline).
    """

    searchResults = Signal(str, list, object)

    # Set by ChatController before _start_lookup is called.
    _cache: ChatCache
    _connection: Connection
    _tasks: TaskGroup

    def _start_lookup(self, token: str) -> None:
        """Make the search part (ChatController.__init__, after its own parts)."""
        self._search = MessageSearch(
            self._cache, self._connection, self._tasks, token=token, on_results=self._answered
        )

    def search(self, query: str, room: str | None = None) -> None:
        """Find messages with every word of ``query`` (as prefixes) in ``room``, or everywhere.

        Answers come as searchResults: the cache's hits at once, then the
        server's merged in (when connected). A newer search replaces this one.
        """
        self._search.search(query, room)

    def search_more(self) -> None:
        """In one room: the hits before the oldest one shown, answered as searchResults
        with the longer list (nothing when there are no more)."""
        self._search.more()

    def cancel_search(self) -> None:
        """No answer to the running search is wanted any more (the panel closed)."""
        self._search.cancel()

    def _answered(self, answer: SearchAnswer) -> None:
        self.searchResults.emit(answer.query, list(answer.hits), answer.stage)
