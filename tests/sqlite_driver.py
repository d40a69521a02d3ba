"""The SQLite driver that the server and the app open their files with, for tests to use too.

Peewee opens SQLite files with ``pysqlite3`` (a newer SQLite, from the
``pysqlite3-binary`` dependency) when it is installed, else with the standard
``sqlite3``. A test that opens a database file which a store or cache of the
same process has open must use the same library: two SQLite libraries in one
process do not see each other's POSIX locks (a lock taken by one does not
block the other, and closing a connection of one drops the other's locks),
which silently breaks the very behaviour the test looks at.
"""

from __future__ import annotations

from types import ModuleType

import peewee

# The module Peewee chose at import (as chat_server.storage.database.sqlite_driver).
sqlite: ModuleType = vars(peewee)["sqlite3"]

__all__ = ["sqlite"]
