"""The wire protocol of Chat Desktop, as pure code shared by client and server.

Nothing in this package does I/O or imports asyncio, Qt or peewee, and it
imports nothing else of ours: it is the vocabulary (:mod:`.events`), the
spelling (:mod:`.codec`), the value rules and timings (:mod:`.rules`), the
refusals (:mod:`.errors`: error codes, close codes, HTTP statuses) and the LAN
facts (:mod:`.lan`: the mDNS service type, the fingerprint format) of
``docs/protocol.md``. The server (``chat_server``) and the desktop client
(``chat_desktop``) both import it, so the two cannot drift apart; a test walks
the imports to keep it that way. It sits beside both packages, so a headless
server installs without the app.
"""

from .codec import decode_client, decode_server, dump_json, encode, load_object
from .errors import CloseCode, ErrorCode
from .events import (
    Ack,
    ClientEvent,
    CreateRoom,
    Error,
    Event,
    Gap,
    Hello,
    HistoryPage,
    HistoryRequest,
    Message,
    ProtocolError,
    Room,
    RoomInfo,
    SendMessage,
    ServerEvent,
    ServerInfo,
    SetTyping,
    Typing,
    UserJoin,
    UserLeave,
    Welcome,
)
from .rules import (
    DEFAULT_PORT,
    DEFAULT_ROOM,
    PROTOCOL_VERSION,
    Limits,
    ValidationError,
)

__all__ = [
    "DEFAULT_PORT",
    "DEFAULT_ROOM",
    "PROTOCOL_VERSION",
    "Ack",
    "ClientEvent",
    "CloseCode",
    "CreateRoom",
    "Error",
    "ErrorCode",
    "Event",
    "Gap",
    "Hello",
    "HistoryPage",
    "HistoryRequest",
    "Limits",
    "Message",
    "ProtocolError",
    "Room",
    "RoomInfo",
    "SendMessage",
    "ServerEvent",
    "ServerInfo",
    "SetTyping",
    "Typing",
    "UserJoin",
    "UserLeave",
    "ValidationError",
    "Welcome",
    "decode_client",
    "decode_server",
    "dump_json",
    "encode",
    "load_object",
]
