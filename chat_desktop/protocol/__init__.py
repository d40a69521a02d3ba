"""The wire protocol of Chat Desktop, as pure code shared by client and server.

Nothing in this package does I/O or imports asyncio, Qt or peewee: it is the
vocabulary (:mod:`.events`), the spelling (:mod:`.codec`) and the value rules
(:mod:`.rules`) of ``docs/protocol.md``. The server (``chat_server``) and the
desktop client both import it, so the two cannot drift apart; a test walks the
imports to keep it that way.
"""

from .codec import decode_client, decode_server, dump_json, encode, load_object
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
    "CreateRoom",
    "Error",
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
