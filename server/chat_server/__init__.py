"""chat_server: the bundled, self-hostable Chat Desktop server.

Accounts, rooms, durable ordered history, instant broadcast over WebSocket,
typing, presence and the HTTP polling fallback, all on one aiohttp port, as
``docs/protocol.md`` specifies. It depends on :mod:`chat_protocol`
(the shared, pure wire protocol) and on its own storage, never on Qt.
"""

__version__ = "0.1.0"
