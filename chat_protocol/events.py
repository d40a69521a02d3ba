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

from collections.abc import Mapping, Sequence
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


def _client_ref(obj: Mapping[str, Any]) -> tuple[str, str | None]:
    """A log write's ``client_id`` (validated) and the ``ref`` its errors carry."""
    raw = obj.get("client_id")
    ref = raw if isinstance(raw, str) else None
    return _checked(rules.validate_client_id, raw, ref), ref


def _written(obj: Mapping[str, Any]) -> tuple[str, str, str | None]:
    """A log write's room, client_id, and the ref its errors carry."""
    client_id, ref = _client_ref(obj)
    return _checked(rules.validate_room_name, obj.get("room"), ref), client_id, ref


def _aimed(obj: Mapping[str, Any]) -> tuple[str, int, str, str | None]:
    """An edit's, delete's or react's room, ``target`` seq, client_id, and errors' ref."""
    room, client_id, ref = _written(obj)
    target = _checked(
        lambda value: rules.validate_seq(value, name="target"), obj.get("target"), ref
    )
    return room, target, client_id, ref


def _seq_of(obj: Mapping[str, Any], name: str) -> int:
    """A required seq field (``seq``, ``target``...)."""
    return int(_checked(lambda value: rules.validate_seq(value, name=name), obj.get(name)))


def _placed(obj: Mapping[str, Any]) -> tuple[str, int, str, str]:
    """A log entry's room, seq, acting user and time stamp."""
    return (
        _checked(rules.validate_room_name, obj.get("room")),
        _seq_of(obj, "seq"),
        _field(obj, "user", str),
        _field(obj, "ts", str),
    )


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
    if isinstance(value, Event | RoomInfo | ServerInfo | FileInfo):
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
    """A room and the seq of its newest log entry (0 when empty).

    The v1 view is ``{"name","last_seq"}`` (``kind`` None). A Version 2 room
    object adds ``kind`` (public, private, direct), ``topic``, the asking
    user's ``read_seq`` and ``unread``, and ``members`` for private and
    direct rooms. ``creator`` (our extension, additive) is who created the
    room, None when unknown: a room from before Version 2, a room the server
    made itself (``general``), or a server that does not send it.
    """

    name: str
    last_seq: int
    kind: str | None = None
    topic: str = ""
    members: tuple[str, ...] | None = None
    read_seq: int = 0
    unread: int = 0
    creator: str | None = None

    def to_wire(self) -> dict[str, Any]:
        body: dict[str, Any] = {"name": self.name, "last_seq": self.last_seq}
        if self.kind is None:
            return body
        body.update(
            kind=self.kind,
            topic=self.topic,
            read_seq=self.read_seq,
            unread=self.unread,
            creator=self.creator,
        )
        if self.members is not None:
            body["members"] = list(self.members)
        return body

    def v1(self) -> RoomInfo:
        """The same room as a Version 1 client sees it."""
        return RoomInfo(self.name, self.last_seq)

    @classmethod
    def from_wire(cls, obj: object) -> RoomInfo:
        if not isinstance(obj, Mapping):
            raise ProtocolError("bad_request", "a room must be an object")
        kind = obj.get("kind")
        members = obj.get("members")
        creator = obj.get("creator")
        return cls(
            name=_checked(rules.validate_room_name, obj.get("name")),
            last_seq=_checked(rules.validate_seq, obj.get("last_seq")),
            kind=kind if isinstance(kind, str) else None,
            topic=str(obj.get("topic", "")),
            members=(
                tuple(user for user in members if isinstance(user, str))
                if isinstance(members, list)
                else None
            ),
            read_seq=_checked(rules.validate_seq, obj.get("read_seq", 0)),
            unread=_checked(rules.validate_seq, obj.get("unread", 0)),
            # Absent from an older server's rooms; "" would mean nobody.
            creator=creator if isinstance(creator, str) and creator else None,
        )


@dataclass(frozen=True, slots=True)
class FileInfo:
    """A file a message carries, as every reader of the message sees it (Version 2, Files).

    ``name`` is the uploader's name for it: metadata to show, never a path.
    The bytes are at ``GET /api/v1/files/{id}`` for whoever may read the room.
    """

    id: str
    name: str
    size: int
    type: str

    def to_wire(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "size": self.size, "type": self.type}

    @classmethod
    def from_wire(cls, obj: object) -> FileInfo:
        if not isinstance(obj, Mapping):
            raise ProtocolError("bad_request", "a file must be an object")
        size = _field(obj, "size", int)
        if size < 0:
            raise ProtocolError("bad_request", "a file's size must not be negative")
        return cls(
            id=_field(obj, "id", str),
            name=_field(obj, "name", str),
            size=size,
            type=_field(obj, "type", str),
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
    # 2 asks for Version 2; anything else (or nothing) gets the v1 view.
    protocol: int = rules.PROTOCOL_VERSION

    def to_wire(self) -> dict[str, Any]:
        return _without_unset(Event.to_wire(self), protocol=rules.PROTOCOL_VERSION)

    @classmethod
    def from_wire(cls, obj: Mapping[str, Any]) -> Self:
        since = obj.get("since", {})
        if not isinstance(since, Mapping):
            raise ProtocolError("bad_request", "field 'since' must be an object")
        positions = {
            _checked(rules.validate_room_name, room): _checked(rules.validate_seq, seq)
            for room, seq in since.items()
        }
        protocol = obj.get("protocol", rules.PROTOCOL_VERSION)
        if isinstance(protocol, bool) or not isinstance(protocol, int):
            raise ProtocolError("bad_request", "field 'protocol' must be a whole number")
        return cls(token=_field(obj, "token", str), since=positions, protocol=protocol)


@dataclass(frozen=True, slots=True)
class SendMessage(Event):
    """A new message from the client; ``client_id`` makes retries idempotent."""

    type: ClassVar[str] = "message"
    room: str
    client_id: str
    text: str
    # Version 2: the seq of the message (same room) this one answers.
    reply_to: int | None = None
    # Version 2: ids of the sender's uploads it carries (then ``text`` may be "").
    files: tuple[str, ...] = ()

    def to_wire(self) -> dict[str, Any]:
        return _without_unset(Event.to_wire(self), reply_to=None, files=[])

    @classmethod
    def from_wire(cls, obj: Mapping[str, Any]) -> Self:
        raw_ref = obj.get("client_id")
        ref = raw_ref if isinstance(raw_ref, str) else None
        reply_to = obj.get("reply_to")
        raw_files = obj.get("files")
        files = () if raw_files is None else _checked(rules.validate_file_ids, raw_files, ref)
        return cls(
            room=_checked(rules.validate_room_name, obj.get("room"), ref),
            client_id=_checked(rules.validate_client_id, raw_ref, ref),
            text=_checked(
                lambda text: rules.normalize_text(text, may_be_empty=bool(files)),
                obj.get("text", "" if files else None),
                ref,
            ),
            reply_to=(
                None
                if reply_to is None
                else _checked(lambda v: rules.validate_seq(v, name="reply_to"), reply_to, ref)
            ),
            files=files,
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
    # Version 2: a private room (its creator its first member).
    private: bool = False

    def to_wire(self) -> dict[str, Any]:
        return _without_unset(Event.to_wire(self), private=False)

    @classmethod
    def from_wire(cls, obj: Mapping[str, Any]) -> Self:
        private = obj.get("private", False)
        if not isinstance(private, bool):
            raise ProtocolError("bad_request", "field 'private' must be true or false")
        return cls(name=_checked(rules.validate_room_name, obj.get("name")), private=private)


@dataclass(frozen=True, slots=True)
class SendEdit(Event):
    """Replace the text of one's own message ``target``."""

    type: ClassVar[str] = "edit"
    room: str
    target: int
    text: str
    client_id: str

    @classmethod
    def from_wire(cls, obj: Mapping[str, Any]) -> Self:
        room, target, client_id, ref = _aimed(obj)
        return cls(room, target, _checked(rules.normalize_text, obj.get("text"), ref), client_id)


@dataclass(frozen=True, slots=True)
class SendDelete(Event):
    """Delete message ``target`` (one's own, or any as an admin): its text is erased."""

    type: ClassVar[str] = "delete"
    room: str
    target: int
    client_id: str

    @classmethod
    def from_wire(cls, obj: Mapping[str, Any]) -> Self:
        room, target, client_id, _ = _aimed(obj)
        return cls(room, target, client_id)


@dataclass(frozen=True, slots=True)
class SendReact(Event):
    """Set (``on``) or clear one's reaction ``emoji`` on message ``target``."""

    type: ClassVar[str] = "react"
    room: str
    target: int
    emoji: str
    on: bool
    client_id: str

    @classmethod
    def from_wire(cls, obj: Mapping[str, Any]) -> Self:
        room, target, client_id, ref = _aimed(obj)
        on = obj.get("on")
        if not isinstance(on, bool):
            raise ProtocolError("bad_request", "field 'on' must be true or false", ref)
        return cls(
            room, target, _checked(rules.validate_emoji, obj.get("emoji"), ref), on, client_id
        )


@dataclass(frozen=True, slots=True)
class SendTopic(Event):
    """Set a room's topic ("" unsets it)."""

    type: ClassVar[str] = "topic"
    room: str
    topic: str
    client_id: str

    @classmethod
    def from_wire(cls, obj: Mapping[str, Any]) -> Self:
        room, client_id, ref = _written(obj)
        return cls(room, _checked(rules.validate_topic, obj.get("topic"), ref), client_id)


@dataclass(frozen=True, slots=True)
class _MembershipWrite(Event):
    """An invite or a removal: a room, a user, a client_id."""

    room: str
    user: str
    client_id: str

    @classmethod
    def from_wire(cls, obj: Mapping[str, Any]) -> Self:
        room, client_id, ref = _written(obj)
        return cls(room, _checked(rules.validate_username, obj.get("user"), ref), client_id)


@dataclass(frozen=True, slots=True)
class Invite(_MembershipWrite):
    """Add ``user`` to a private room (any member may)."""

    type: ClassVar[str] = "invite"


@dataclass(frozen=True, slots=True)
class Remove(_MembershipWrite):
    """Take ``user`` out of a private room (its creator or an admin may)."""

    type: ClassVar[str] = "remove"


@dataclass(frozen=True, slots=True)
class Leave(Event):
    """Leave a private room."""

    type: ClassVar[str] = "leave"
    room: str
    client_id: str

    @classmethod
    def from_wire(cls, obj: Mapping[str, Any]) -> Self:
        room, client_id, _ = _written(obj)
        return cls(room, client_id)


@dataclass(frozen=True, slots=True)
class OpenDm(Event):
    """Open (or find) the direct room with ``users`` (1-8 others)."""

    type: ClassVar[str] = "open-dm"
    users: tuple[str, ...]
    client_id: str

    @classmethod
    def from_wire(cls, obj: Mapping[str, Any]) -> Self:
        client_id, ref = _client_ref(obj)
        users = obj.get("users")
        if not isinstance(users, list) or not users:
            raise ProtocolError("bad_request", "field 'users' must be a list of user names", ref)
        return cls(
            users=tuple(_checked(rules.validate_username, user, ref) for user in users),
            client_id=client_id,
        )


@dataclass(frozen=True, slots=True)
class SendRead(Event):
    """Move the user's read position in a room forward to ``seq``."""

    type: ClassVar[str] = "read"
    room: str
    seq: int

    @classmethod
    def from_wire(cls, obj: Mapping[str, Any]) -> Self:
        return cls(
            room=_checked(rules.validate_room_name, obj.get("room")),
            seq=_checked(rules.validate_seq, obj.get("seq")),
        )


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
    # Version 2, each left out of the JSON while unset: the message this one
    # answers, when it was last edited, whether it was deleted (text ""), and
    # who reacted with what ({emoji: [users]}).
    reply_to: int | None = None
    edited: str | None = None
    deleted: bool = False
    reactions: dict[str, list[str]] | None = None
    # Version 2: the files it carries (left out while none).
    files: tuple[FileInfo, ...] = ()

    def to_wire(self) -> dict[str, Any]:
        # Spelled out rather than walking the fields: every broadcast message
        # is encoded through here once, on the fan-out's path.
        body: dict[str, Any] = {
            "type": "message",
            "room": self.room,
            "seq": self.seq,
            "client_id": self.client_id,
            "author": self.author,
            "text": self.text,
            "ts": self.ts,
        }
        if self.reply_to is not None:
            body["reply_to"] = self.reply_to
        if self.edited is not None:
            body["edited"] = self.edited
        if self.deleted:
            body["deleted"] = True
        if self.reactions:
            body["reactions"] = {emoji: list(users) for emoji, users in self.reactions.items()}
        if self.files:
            body["files"] = [info.to_wire() for info in self.files]
        return body

    @classmethod
    def from_wire(cls, obj: Mapping[str, Any]) -> Self:
        reply_to = obj.get("reply_to")
        edited = obj.get("edited")
        reactions = obj.get("reactions")
        files = obj.get("files")
        if files is not None and not isinstance(files, list):
            raise ProtocolError("bad_request", "field 'files' must be a list")
        return cls(
            room=_checked(rules.validate_room_name, obj.get("room")),
            seq=_checked(rules.validate_seq, obj.get("seq")),
            client_id=_field(obj, "client_id", str),
            author=_field(obj, "author", str),
            text=_field(obj, "text", str),
            ts=_field(obj, "ts", str),
            reply_to=None if reply_to is None else _checked(rules.validate_seq, reply_to),
            edited=edited if isinstance(edited, str) else None,
            deleted=obj.get("deleted") is True,
            reactions=(
                {
                    str(emoji): [user for user in users if isinstance(user, str)]
                    for emoji, users in reactions.items()
                    if isinstance(users, list)
                }
                or None
                if isinstance(reactions, Mapping)
                else None
            ),
            files=tuple(FileInfo.from_wire(info) for info in files or ()),
        )


@dataclass(frozen=True, slots=True)
class Edit(Event):
    """Log entry: ``user`` replaced the text of message ``target``."""

    type: ClassVar[str] = "edit"
    room: str
    seq: int
    target: int
    user: str
    text: str
    ts: str

    @classmethod
    def from_wire(cls, obj: Mapping[str, Any]) -> Self:
        room, seq, user, ts = _placed(obj)
        return cls(room, seq, _seq_of(obj, "target"), user, _field(obj, "text", str), ts)


@dataclass(frozen=True, slots=True)
class Delete(Event):
    """Log entry: ``user`` deleted message ``target``."""

    type: ClassVar[str] = "delete"
    room: str
    seq: int
    target: int
    user: str
    ts: str

    @classmethod
    def from_wire(cls, obj: Mapping[str, Any]) -> Self:
        room, seq, user, ts = _placed(obj)
        return cls(room, seq, _seq_of(obj, "target"), user, ts)


@dataclass(frozen=True, slots=True)
class Reaction(Event):
    """Log entry: ``user`` set (``on``) or cleared ``emoji`` on message ``target``."""

    type: ClassVar[str] = "react"
    room: str
    seq: int
    target: int
    user: str
    emoji: str
    on: bool
    ts: str

    @classmethod
    def from_wire(cls, obj: Mapping[str, Any]) -> Self:
        room, seq, user, ts = _placed(obj)
        emoji, on = _field(obj, "emoji", str), _field(obj, "on", bool)
        return cls(room, seq, _seq_of(obj, "target"), user, emoji, on, ts)


@dataclass(frozen=True, slots=True)
class Member(Event):
    """Log entry: ``user`` made ``target`` join or leave (``action``) a private room."""

    type: ClassVar[str] = "member"
    room: str
    seq: int
    user: str
    target: str
    action: str
    ts: str

    @classmethod
    def from_wire(cls, obj: Mapping[str, Any]) -> Self:
        action = _field(obj, "action", str)
        if action not in ("join", "leave"):
            raise ProtocolError("bad_request", "field 'action' must be join or leave")
        room, seq, user, ts = _placed(obj)
        return cls(room, seq, user, _field(obj, "target", str), action, ts)


@dataclass(frozen=True, slots=True)
class Topic(Event):
    """Log entry: ``user`` set the room's topic."""

    type: ClassVar[str] = "topic"
    room: str
    seq: int
    user: str
    topic: str
    ts: str

    @classmethod
    def from_wire(cls, obj: Mapping[str, Any]) -> Self:
        room, seq, user, ts = _placed(obj)
        return cls(room, seq, user, _field(obj, "topic", str), ts)


@dataclass(frozen=True, slots=True)
class Read(Event):
    """``user``'s read position in ``room`` moved to ``seq`` (not a log entry)."""

    type: ClassVar[str] = "read"
    room: str
    user: str
    seq: int

    @classmethod
    def from_wire(cls, obj: Mapping[str, Any]) -> Self:
        return cls(
            room=_checked(rules.validate_room_name, obj.get("room")),
            user=_field(obj, "user", str),
            seq=_checked(rules.validate_seq, obj.get("seq")),
        )


@dataclass(frozen=True, slots=True)
class RoomRemoved(Event):
    """The user can no longer read ``room`` (left, removed, or the room was deleted)."""

    type: ClassVar[str] = "room-removed"
    room: str

    @classmethod
    def from_wire(cls, obj: Mapping[str, Any]) -> Self:
        return cls(room=_checked(rules.validate_room_name, obj.get("room")))


@dataclass(frozen=True, slots=True)
class Welcome(Event):
    """The server's answer to a good ``hello``."""

    type: ClassVar[str] = "welcome"
    protocol: int
    username: str
    rooms: list[RoomInfo]
    online: list[str]
    server: ServerInfo
    # Version 2 only (left out of a v1 welcome): whether the user is an admin,
    # and what this server supports.
    admin: bool | None = None
    features: list[str] | None = None

    def to_wire(self) -> dict[str, Any]:
        return _without_unset(Event.to_wire(self), admin=None, features=None)

    @classmethod
    def from_wire(cls, obj: Mapping[str, Any]) -> Self:
        rooms = _field(obj, "rooms", list)
        online = _field(obj, "online", list)
        server = obj.get("server")
        if not isinstance(server, Mapping):
            server = {}
        admin = obj.get("admin")
        features = obj.get("features")
        return cls(
            admin=admin if isinstance(admin, bool) else None,
            features=(
                [item for item in features if isinstance(item, str)]
                if isinstance(features, list)
                else None
            ),
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
    # Version 2: the whole page of the log (every entry type, each with its
    # "type", in seq order), which is what goes on the wire when set;
    # ``messages`` then holds the page's messages.
    entries: list[LogEntry] | None = None

    def to_wire(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "room": self.room,
            "messages": (
                entry_list(self.messages)
                if self.entries is None
                else entry_list(self.entries, typed=True)
            ),
            "has_more": self.has_more,
        }

    @classmethod
    def of(cls, room: str, page: list[LogEntry], has_more: bool, *, v2: bool) -> HistoryPage:
        """A page of the log: with ``v2`` every entry, else only its messages."""
        messages = [entry for entry in page if isinstance(entry, Message)]
        return cls(room, messages, has_more, page if v2 else None)

    @classmethod
    def from_wire(cls, obj: Mapping[str, Any]) -> Self:
        items = _field(obj, "messages", list)
        entries = [entry_from_wire(_as_object(item)) for item in items]
        messages = [entry for entry in entries if isinstance(entry, Message)]
        return cls(
            room=_checked(rules.validate_room_name, obj.get("room")),
            messages=messages,
            has_more=_field(obj, "has_more", bool),
            entries=entries if len(messages) < len(entries) else None,
        )


@dataclass(frozen=True, slots=True)
class Room(Event):
    """A room was created (or announced); sent to every connection."""

    type: ClassVar[str] = "room"
    name: str
    last_seq: int
    # Version 2: the whole room object (see RoomInfo); None in the v1 view.
    info: RoomInfo | None = None

    def to_wire(self) -> dict[str, Any]:
        info = self.info or RoomInfo(self.name, self.last_seq)
        return {"type": self.type, **info.to_wire()}

    @classmethod
    def from_wire(cls, obj: Mapping[str, Any]) -> Self:
        info = RoomInfo.from_wire(obj)
        return cls(
            name=info.name, last_seq=info.last_seq, info=info if info.kind is not None else None
        )

    @classmethod
    def of(cls, info: RoomInfo) -> Room:
        """The ``room`` event announcing ``info`` (v1 or v2 shaped, as ``info`` is)."""
        return cls(info.name, info.last_seq, info if info.kind is not None else None)


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


def _without_unset(body: dict[str, Any], **unset: Any) -> dict[str, Any]:
    """``body`` without the optional fields that hold their "unset" value."""
    for name, value in unset.items():
        if body.get(name) == value:
            del body[name]
    return body


def _as_object(value: object) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ProtocolError("bad_request", "expected a JSON object")
    return value


# The entries of a room's log (Version 2): one gapless seq per room over all of them.
LogEntry = Message | Edit | Delete | Reaction | Member | Topic
LOG_ENTRY_CLASSES = (Message, Edit, Delete, Reaction, Member, Topic)
LOG_ENTRIES: dict[str, type[Event]] = {cls.type: cls for cls in LOG_ENTRY_CLASSES}


def entry_from_wire(obj: Mapping[str, Any]) -> LogEntry:
    """A log entry inside a page (history, HTTP, long poll): by its ``type``, a message if none."""
    kind = obj.get("type", "message")
    cls = LOG_ENTRIES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise ProtocolError("bad_request", f"unknown log entry type {str(kind)[:64]!r}")
    return cls.from_wire(obj)  # type: ignore[return-value]


def entry_list(entries: Sequence[LogEntry], *, typed: bool = False) -> list[dict[str, Any]]:
    """Entries as a page carries them: each with its ``type`` for Version 2 (``typed``),
    messages without it in the v1 view."""
    if typed:
        return [entry.to_wire() for entry in entries]
    return [_plain(entry) for entry in entries]


# Writes to a room's log: each carries a client_id and is answered with an ack.
LogWrite = SendMessage | SendEdit | SendDelete | SendReact | SendTopic | Invite | Remove | Leave

ClientEvent = (
    Hello
    | SendMessage
    | SetTyping
    | HistoryRequest
    | CreateRoom
    | SendEdit
    | SendDelete
    | SendReact
    | SendTopic
    | Invite
    | Remove
    | Leave
    | OpenDm
    | SendRead
)
ServerEvent = (
    Welcome
    | Message
    | Ack
    | Typing
    | HistoryPage
    | Room
    | Gap
    | UserJoin
    | UserLeave
    | Error
    | Edit
    | Delete
    | Reaction
    | Member
    | Topic
    | Read
    | RoomRemoved
)

CLIENT_EVENTS: dict[str, type[Event]] = {
    cls.type: cls
    for cls in (
        Hello,
        SendMessage,
        SetTyping,
        HistoryRequest,
        CreateRoom,
        SendEdit,
        SendDelete,
        SendReact,
        SendTopic,
        Invite,
        Remove,
        Leave,
        OpenDm,
        SendRead,
    )
}
SERVER_EVENTS: dict[str, type[Event]] = {
    cls.type: cls
    for cls in (
        Welcome,
        Message,
        Ack,
        Typing,
        HistoryPage,
        Room,
        Gap,
        UserJoin,
        UserLeave,
        Error,
        Edit,
        Delete,
        Reaction,
        Member,
        Topic,
        Read,
        RoomRemoved,
    )
}
