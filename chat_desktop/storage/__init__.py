"""The desktop client's local cache of rooms, messages, outbox and settings.

One SQLite file per (server, account) holds what the client has seen, so rooms
open instantly and offline, reconnects ask only for newer messages, and
unsent messages survive a restart. The controller owns one :class:`ChatCache`;
nothing above the controller touches this package. See :mod:`.cache`.

Everything written here is private to the user (:mod:`.private`: folders
0700, files 0600), and :mod:`.tokens` keeps the session token in the system
keyring or a file of its own.
"""

from .cache import CachedRoom, ChatCache, OutboxEntry, cache_path
from .migrations import MIGRATIONS, Migration, SchemaTooNewError, migrate

__all__ = [
    "MIGRATIONS",
    "CachedRoom",
    "ChatCache",
    "Migration",
    "OutboxEntry",
    "SchemaTooNewError",
    "cache_path",
    "migrate",
]
