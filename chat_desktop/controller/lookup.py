"""MessageLookup: ChatController's search and jump face (issue 14), kept beside it.

The base class of :class:`~.chat.ChatController`, holding the two signals and the
two calls the window's search panel uses. The work is done by the Qt-free
parts :class:`~.search.MessageSearch` (the cache at once, the server when
online, merged) and :class:`~.jump.Jumps` (the page around a message, from
the cache, else the server); this class only turns their callbacks into
signals. It lives in its own module so that ChatController stays small (its
size is capped, see tests/test_architecture.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from .jump import Jumps
from .search import MessageSearch, SearchAnswer

if TYPE_CHECKING:
    from chat_desktop.storage import ChatCache

    from .connection import Connection
    from .history import History
    from .tasks import TaskGroup


class MessageLookup(QObject):
    """Search and jump: the QObject ChatController is made from.

    Signals:
        searchResults(str, list, object): an answer to :meth:`search`: the
            query, every hit so far as :class:`~.search.SearchHit` (newest
            first), and the :class:`~.search.SearchStage` it is (the cache's
            hits first, then merged with the server's, or offline).
        jumpReady(str, int, list): the messages around a message asked for
            with :meth:`open_at`: room, seq, MessageEntry values ascending
            (empty when neither the cache nor the server has it).
    """

    searchResults = Signal(str, list, object)
    jumpReady = Signal(str, int, list)

    # Set by ChatController before _start_lookup is called.
    _cache: ChatCache
    _connection: Connection
    _history: History
    _tasks: TaskGroup

    def _start_lookup(self, token: str) -> None:
        """Make the search and jump parts (ChatController.__init__, after its own parts)."""
        self._search = MessageSearch(
            self._cache, self._connection, self._tasks, token=token, on_results=self._answered
        )
        self._jumps = Jumps(self._cache, self._history, self._tasks, on_ready=self.jumpReady.emit)

    def search(self, query: str, room: str | None = None) -> None:
        """Find messages with every word of ``query`` (as prefixes) in ``room``, or everywhere.

        Answers come as searchResults: the cache's hits at once, then the
        server's merged in (when connected). A newer search replaces this one.
        """
        self._search.search(query, room)

    def cancel_search(self) -> None:
        """No answer to the running search is wanted any more (the panel closed)."""
        self._search.cancel()

    def open_at(self, room: str, seq: int) -> None:
        """Make sure the messages around ``seq`` are loaded (cache, else server): jumpReady."""
        self._jumps.open_at(room, seq)

    def _answered(self, answer: SearchAnswer) -> None:
        self.searchResults.emit(answer.query, list(answer.hits), answer.stage)
