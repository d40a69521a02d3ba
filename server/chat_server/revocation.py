"""Ended sessions reach every server process on the database within a second or two.

Whoever ends a session (a logout over HTTP, ``chat-server user reset-password``,
``user disable`` or ``user remove`` from the CLI, a user ending their other
devices, an admin over the API (``Accounts.disable``), another server of a
cluster) deletes its token through the store, which writes the token's hash to the
``revocations`` log in the same transaction. :class:`Revocations` is the one
place that turns that log into action on a running server: every
``ServerConfig.revocation_check_seconds`` it reads what was logged since its
last look and hands each hash to :meth:`Hub.revoke`, which closes the
token's sockets with 4401 and makes its long polls answer 401. The process
that ended a session also calls :meth:`Revocations.apply` at once, so its own
clients do not wait for the next look; seeing the same hash again later does
nothing more.

A look is one indexed read of the rows after the last position, so a second
per server costs the database next to nothing; when the database fails, the
watcher logs it once and tries again at the next tick from the same position.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from .hub import Hub
from .storage.base import ChatStore, StorageError

log = logging.getLogger(__name__)

# The close reason a socket gets when its session was ended elsewhere.
REASON = "session ended"


class Revocations:
    """Follows the store's revocation log and applies it to this server's hub."""

    def __init__(self, store: ChatStore, hub: Hub) -> None:
        self._store = store
        self._hub = hub
        # The log position read last; None until start() read where the log stands.
        self._position: int | None = None
        self._failing = False

    async def start(self) -> None:
        """Begin at the log's current end: older revocations ended before this server ran."""
        self._position, _ = await self._store.revocations_after(None)

    def apply(self, token_hashes: Iterable[str], reason: str = REASON) -> None:
        """Close the sockets and polls of these tokens on this server, now."""
        for token_hash in token_hashes:
            self._hub.revoke(token_hash, reason)

    async def check(self) -> None:
        """Read the log since the last look and apply what is new."""
        try:
            if self._position is None:
                await self.start()
                return
            self._position, hashes = await self._store.revocations_after(self._position)
        except StorageError as exc:
            if not self._failing:
                log.warning("cannot read the revocation log (retrying): %s", exc)
            self._failing = True
            return
        self._failing = False
        self.apply(hashes)
