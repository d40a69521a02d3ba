"""Chat Desktop: a PySide6 chat client for a team on a LAN, and the wire protocol it speaks.

The package is layered so that every arrow points one way
(``ui -> controller -> {transport, storage} -> protocol``):

- :mod:`chat_protocol`: pure dataclasses and JSON codec, shared with the server;
- :mod:`chat_desktop.transport`: the WebSocket connection and the HTTP polling fallback;
- :mod:`chat_desktop.storage`: the local SQLite cache (Peewee);
- :mod:`chat_desktop.controller`: QObjects that own transport and cache and emit signals;
- :mod:`chat_desktop.ui`: widgets, models and delegates; never touch network or disk.

Importing this package imports nothing heavy: the bundled server imports
``chat_protocol`` without pulling in Qt.
"""

__version__ = "0.1.0"
