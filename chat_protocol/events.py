"""One frozen dataclass per event of the wire protocol.

These are the nouns that every other layer speaks: the server's handlers take
and return them, the client's transport yields them, the cache stores
:class:`Message` values and hands them back. Converting to and from JSON lives
in :mod:`chat_protocol.codec`; here each class only knows its wire
``type`` and how to turn itself into a plain dict (``to_wire``) and back
(``from_wire``, which validates and raises :class:`ProtocolError`).

Events are grouped by direction because a few type names exist both ways with
different shapes (``message``, ``typing``, ``history``): ``CLIENT_EVENTS`` are
what a client sends, ``SERVER_EVENTS`` what a server sends.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self, TypeVar

from . import rules

T = TypeVar("T")


class ProtocolError(Exception):
    """A frame or request broke the protocol.

    ``code`` is one of the contract's error codes (``bad_request``,
    ``unknown_type``, ...), ``message`` a sentence for a human, ``ref`` the
    offending message's ``client_id`` where there is one, so that a client can
    match the error to what it sent.
    """

    def __init__(self, code: str, message: str, ref: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.ref = ref


def _field(obj: Mapping[str, Any], name: str, kind: type[T], ref: str | None = None) -> T:
    """Read one required field of type ``kind`` or raise a ``bad_request`` error."""
    value = obj.get(name)
    # bool is an int in Python; a JSON true must not count as a number.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ProtocolError("bad_request", f"field '{name}' must be a {kind.__name__}", ref)
    return value


def _checked(check: Any, value: object, ref: str | None = None) -> Any:
    """Run one of the :mod:`rules` validators, turning its error into a ProtocolError."""
    try:
        return check(value)
    except rules.ValidationError as exc:
        raise ProtocolError("bad_request", str(exc), ref) from None


class Event:
    """Base of every event: the wire ``type`` and the dict conversions."""

    type: ClassVar[str]

    def to_wire(self) -> dict[str, Any]:
        """The event as a JSON-ready dict, ``type`` first."""
        body: dict[str, Any] = {"type": self.type}
        for name in self.__dataclass_fields__:  # type: ignore[attr-defined]
            body[name] = _plain(getattr(self, name))
        return body

    @classmethod
    def from_wire(cls, obj: Mapping[str, Any]) -> Self:
        """Build the event from a decoded JSON object; raise ProtocolError when invalid."""
        raise NotImplementedError


def _plain(value: Any) -> Any:
    """Turn nested events and value objects into JSON-ready values."""
    if isinstance(value, Event | RoomInfo | ServerInfo):
        wire = value.to_wire()
        if isinstance(value, Event):
            wire.pop("type")
        return wire
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


# --------------------------------------------------------------------------
# Value objects that appear inside events.


@dataclass(frozen=True, slots=True)
class RoomInfo:
    """A room and the seq of its newest message (0 when empty)."""

    name: str
    last_seq: int

    def to_wire(self) -> dict[str, Any]:
        return {"name": self.name, "last_seq": self.last_seq}

    @classmethod
    def from_wire(cls, obj: object) -> RoomInfo:
        if not isinstance(obj, Mapping):
            raise ProtocolError("bad_request", "a room must be an object")
        return cls(
            name=_checked(rules.validate_room_name, obj.get("name")),
            last_seq=_checked(rules.validate_seq, obj.get("last_seq")),
        )


@dataclass(frozen=True, slots=True)
class ServerInfo:
    """The server's self-description in ``welcome``."""

    name: str
    version: str

    def to_wire(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version}


# --------------------------------------------------------------------------
# Events a client sends to the server.


@dataclass(frozen=True, slots=True)
class Hello(Event):
    """The first frame of a session: the token and how far each room was read."""

    type: ClassVar[str] = "hello"
    token: str
    since: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_wire(cls, obj: Mapping[str, Any]) -> Self:
        since = obj.get("since", {})
        if not isinstance(since, Mapping):
            raise ProtocolError("bad_request", "field 'since' must be an object")
        positions = {
            _checked(rules.validate_room_name, room): _checked(rules.validate_seq, seq)
            for room, seq in since.items()
        }
        return cls(token=_field(obj, "token", str), since=positions)


@dataclass(frozen=True, slots=True)
class SendMessage(Event):
    """A new message from the client; ``client_id`` makes retries idempotent."""

    type: ClassVar[str] = "message"
    room: str
    client_id: str
    text: str

    @classmethod
    def from_wire(cls, obj: Mapping[str, Any]) -> Self:
        raw_ref = obj.get("client_id")
        ref = raw_ref if isinstance(raw_ref, str) else None
        return cls(
            room=_checked(rules.validate_room_name, obj.get("room"), ref),
            client_id=_checked(rules.validate_client_id, raw_ref, ref),
            text=_checked(rules.normalize_text, obj.get("text"), ref),
        )


@dataclass(frozen=True, slots=True)
class SetTyping(Event):
    """The client's user started (``active``) or stopped typing in a room."""

    type: ClassVar[str] = "typing"
    room: str
    active: bool

    @classmethod
    def from_wire(cls, obj: Mapping[str, Any]) -> Self:
        return cls(
            room=_checked(rules.validate_room_name, obj.get("room")),
            active=_field(obj, "active", bool),
        )


@dataclass(frozen=True, slots=True)
class HistoryRequest(Event):
    """Ask for up to ``limit`` messages before ``before`` (the newest when None)."""

    type: ClassVar[str] = "history"
    room: str
    before: int | None = None
    limit: int = 50

    @classmethod
    def from_wire(cls, obj: Mapping[str, Any]) -> Self:
        before = obj.get("before")
        limit = obj.get("limit", 50)
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ProtocolError("bad_request", "field 'limit' must be a whole number >= 1")
        return cls(
            room=_checked(rules.validate_room_name, obj.get("room")),
            before=None if before is None else _checked(rules.validate_seq, before),
            # More than the maximum is not an error: the client simply gets the
            # maximum and has_more tells it to ask again.
            limit=min(limit, rules.HISTORY_LIMIT_MAX),
        )


@dataclass(frozen=True, slots=True)
class CreateRoom(Event):
    """Create a room (or learn that it exists); every connection then hears ``room``."""

    type: ClassVar[str] = "create-room"
    name: str

    @classmethod
    def from_wire(cls, obj: Mapping[str, Any]) -> Self:
        return cls(name=_checked(rules.validate_room_name, obj.get("name")))


# --------------------------------------------------------------------------
# Events the server sends to clients.


@dataclass(frozen=True, slots=True)
class Message(Event):
    """A stored message: the unit of history, broadcast, replay and the cache."""

    type: ClassVar[str] = "message"
    room: str
    seq: int
    client_id: str
    author: str
    text: str
    ts: str

    @classmethod
    def from_wire(cls, obj: Mapping[str, Any]) -> Self:
        return cls(
            room=_checked(rules.validate_room_name, obj.get("room")),
            seq=_checked(rules.validate_seq, obj.get("seq")),
            client_id=_field(obj, "client_id", str),
            author=_field(obj, "author", str),
            text=_field(obj, "text", str),
            ts=_field(obj, "ts", str),
        )


@dataclass(frozen=True, slots=True)
class Welcome(Event):
    """The server's answer to a good ``hello``."""

    type: ClassVar[str] = "welcome"
    protocol: int
    username: str
    rooms: list[RoomInfo]
    online: list[str]
    server: ServerInfo

    @classmethod
    def from_wire(cls, obj: Mapping[str, Any]) -> Self:
        rooms = _field(obj, "rooms", list)
        online = _field(obj, "online", list)
        server = obj.get("server")
        if not isinstance(server, Mapping):
            server = {}
        return cls(
            protocol=_field(obj, "protocol", int),
            username=_field(obj, "username", str),
            rooms=[RoomInfo.from_wire(room) for room in rooms],
            online=[user for user in online if isinstance(user, str)],
            server=ServerInfo(
                name=str(server.get("name", "")), version=str(server.get("version", ""))
            ),
        )


@dataclass(frozen=True, slots=True)
class Ack(Event):
    """The sender's confirmation that its message is stored as ``seq``."""

    type: ClassVar[str] = "ack"
    client_id: str
    room: str
    seq: int
    ts: str

    @classmethod
    def from_wire(cls, obj: Mapping[str, Any]) -> Self:
        return cls(
            client_id=_field(obj, "client_id", str),
            room=_checked(rules.validate_room_name, obj.get("room")),
            seq=_checked(rules.validate_seq, obj.get("seq")),
            ts=_field(obj, "ts", str),
        )


@dataclass(frozen=True, slots=True)
class Typing(Event):
    """Another user started or stopped typing in a room."""

    type: ClassVar[str] = "typing"
    room: str
    user: str
    active: bool

    @classmethod
    def from_wire(cls, obj: Mapping[str, Any]) -> Self:
        return cls(
            room=_checked(rules.validate_room_name, obj.get("room")),
            user=_field(obj, "user", str),
            active=_field(obj, "active", bool),
        )


@dataclass(frozen=True, slots=True)
class HistoryPage(Event):
    """Answer to a history request: messages in ascending seq order."""

    type: ClassVar[str] = "history"
    room: str
    messages: list[Message]
    has_more: bool

    @classmethod
    def from_wire(cls, obj: Mapping[str, Any]) -> Self:
        messages = _field(obj, "messages", list)
        return cls(
            room=_checked(rules.validate_room_name, obj.get("room")),
            messages=[Message.from_wire(_as_object(item)) for item in messages],
            has_more=_field(obj, "has_more", bool),
        )


@dataclass(frozen=True, slots=True)
class Room(Event):
    """A room was created (or announced); sent to every connection."""

    type: ClassVar[str] = "room"
    name: str
    last_seq: int

    @classmethod
    def from_wire(cls, obj: Mapping[str, Any]) -> Self:
        return cls(
            name=_checked(rules.validate_room_name, obj.get("name")),
            last_seq=_checked(rules.validate_seq, obj.get("last_seq")),
        )


@dataclass(frozen=True, slots=True)
class Gap(Event):
    """The replay skipped messages ``after < seq < before``; page them with history."""

    type: ClassVar[str] = "gap"
    room: str
    after: int
    before: int

    @classmethod
    def from_wire(cls, obj: Mapping[str, Any]) -> Self:
        return cls(
            room=_checked(rules.validate_room_name, obj.get("room")),
            after=_checked(rules.validate_seq, obj.get("after")),
            before=_checked(rules.validate_seq, obj.get("before")),
        )


@dataclass(frozen=True, slots=True)
class UserJoin(Event):
    """A user's first connection (or poller) appeared."""

    type: ClassVar[str] = "user-join"
    user: str

    @classmethod
    def from_wire(cls, obj: Mapping[str, Any]) -> Self:
        return cls(user=_field(obj, "user", str))


@dataclass(frozen=True, slots=True)
class UserLeave(Event):
    """A user's last connection (or poller) went away."""

    type: ClassVar[str] = "user-leave"
    user: str

    @classmethod
    def from_wire(cls, obj: Mapping[str, Any]) -> Self:
        return cls(user=_field(obj, "user", str))


@dataclass(frozen=True, slots=True)
class Error(Event):
    """Something the client sent was refused; the connection stays open."""

    type: ClassVar[str] = "error"
    code: str
    message: str
    ref: str | None = None

    @classmethod
    def from_wire(cls, obj: Mapping[str, Any]) -> Self:
        ref = obj.get("ref")
        return cls(
            code=_field(obj, "code", str),
            message=str(obj.get("message", "")),
            ref=ref if isinstance(ref, str) else None,
        )

    @classmethod
    def from_exception(cls, exc: ProtocolError) -> Error:
        return cls(code=exc.code, message=exc.message, ref=exc.ref)


def _as_object(value: object) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ProtocolError("bad_request", "expected a JSON object")
    return value


ClientEvent = Hello | SendMessage | SetTyping | HistoryRequest | CreateRoom
ServerEvent = (
    Welcome | Message | Ack | Typing | HistoryPage | Room | Gap | UserJoin | UserLeave | Error
)

CLIENT_EVENTS: dict[str, type[Event]] = {
    cls.type: cls for cls in (Hello, SendMessage, SetTyping, HistoryRequest, CreateRoom)
}
SERVER_EVENTS: dict[str, type[Event]] = {
    cls.type: cls
    for cls in (Welcome, Message, Ack, Typing, HistoryPage, Room, Gap, UserJoin, UserLeave, Error)
}
