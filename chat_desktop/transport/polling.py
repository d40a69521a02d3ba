"""The HTTP long-polling fallback, speaking the same events as the WebSocket.

Some networks let HTTP through but not WebSocket (a proxy that strips the
``Upgrade`` header, say). Then :class:`~.link.ServerLink` switches to a
:class:`LongPoller`, which turns the HTTP API of docs/protocol.md into the very
events the socket would have delivered, so the controller cannot tell the
difference:

- ``GET /rooms``, ``GET /presence`` and ``GET /users`` at the start become a
  :class:`Welcome` (and a :class:`Gap` for a room too far behind, as the
  socket's replay does);
- each answer of ``GET /events?since=...&wait=25&v=2`` becomes the room log's
  entries (:class:`Message`, :class:`Edit`, :class:`Reaction`...), plus
  :class:`Typing`, :class:`UserJoin` and :class:`UserLeave` found by comparing
  its ``typing`` and ``online`` with the previous answer, and (Version 2) its
  ``reads``, ``rooms`` and ``removed`` become :class:`Read`, :class:`Room`
  and :class:`RoomRemoved` events;
- a write (message, edit, delete, react, topic, invite, remove, leave) is
  ``POST``-ed and its ``{seq, ts}`` (or 204) becomes an :class:`Ack`, a read
  a ``POST`` with no answer, a history request a ``GET`` that becomes a
  :class:`HistoryPage`, a new room or direct room a ``POST`` that becomes a
  :class:`Room`, and a refusal an :class:`Error`.

Every request that hands out entries asks for Version 2 (``v=2``). The poller
keeps its own position per room, advanced by every entry it delivers (a seq
may number any entry of the log), so each poll asks only for what is new. It does no waiting or
retrying of its own: the link drives it and decides what a failure means.
"""

from __future__ import annotations

import logging
from typing import Any

from chat_protocol import (
    Ack,
    ClientEvent,
    CreateRoom,
    Error,
    ErrorCode,
    Gap,
    HistoryPage,
    HistoryRequest,
    Invite,
    Leave,
    LogEntry,
    OpenDm,
    ProtocolError,
    Read,
    Remove,
    Room,
    RoomInfo,
    RoomRemoved,
    SendDelete,
    SendEdit,
    SendMessage,
    SendReact,
    SendRead,
    SendTopic,
    ServerEvent,
    ServerInfo,
    SetTyping,
    Typing,
    UserJoin,
    UserLeave,
    Welcome,
    entry_from_wire,
    rules,
)
from chat_protocol.errors import CODE_OF_STATUS

from .http_api import ApiError, ApiResponse, ApiSession, too_many_attempts

log = logging.getLogger(__name__)

# The statuses of a refused call that the socket would have answered with an
# error event; any other status is a failure of the transport (ApiError).
_REFUSALS = frozenset({400, 403, 404, 409, 413, 429})
# Asks for Version 2 on every route that hands out entries or room objects.
_V2 = {"v": str(rules.PROTOCOL_V2)}
# The writes to a room's log other than messages, by the path they are POSTed to.
_WRITE_PATHS: dict[type, str] = {
    SendEdit: "edit",
    SendDelete: "delete",
    SendReact: "react",
    SendTopic: "topic",
    Invite: "invite",
    Remove: "remove",
    Leave: "leave",
}
# A bare refusal (no code in the body: a proxy's error page) reads as the
# protocol's CODE_OF_STATUS says, except that every path the poller sends to
# names a room: a 404 there is that room, and a 403 is no closed registration.
_ROOM_PATH_CODES = {404: ErrorCode.UNKNOWN_ROOM, 403: ErrorCode.BAD_REQUEST}


class Unauthorized(ApiError):
    """The server refused the token (HTTP 401): the session is over."""


def diff_typing(before: dict[str, set[str]], after: dict[str, set[str]], me: str) -> list[Typing]:
    """The Typing events that turn ``before`` into ``after`` (room -> users typing).

    Everyone still typing is reported again as active: on the socket a typist
    repeats ``active: true`` every 3 s and receivers drop an indicator 6 s after
    the last one, so repeating it on every answer keeps the indicator alive.
    The user's own typing is never reported, as on the socket.
    """
    mine = me.lower()
    events: list[Typing] = []
    for room in sorted(before.keys() | after.keys()):
        now = after.get(room, set())
        for user in sorted(now):
            if user.lower() != mine:
                events.append(Typing(room=room, user=user, active=True))
        for user in sorted(before.get(room, set()) - now):
            if user.lower() != mine:
                events.append(Typing(room=room, user=user, active=False))
    return events


def diff_online(before: set[str], after: set[str]) -> list[UserJoin | UserLeave]:
    """The presence events that turn the online set ``before`` into ``after``."""
    joined: list[UserJoin | UserLeave] = [UserJoin(user=user) for user in sorted(after - before)]
    left = [UserLeave(user=user) for user in sorted(before - after)]
    return joined + left


def _users(value: object) -> set[str]:
    if not isinstance(value, list):
        return set()
    return {user for user in value if isinstance(user, str)}


def _typing_map(value: object) -> dict[str, set[str]]:
    if not isinstance(value, dict):
        return {}
    return {room: _users(users) for room, users in value.items() if isinstance(room, str)}


def _entries(value: object) -> list[LogEntry]:
    """The valid log entries of a JSON list; a malformed one is skipped, never fatal."""
    entries: list[LogEntry] = []
    for item in value if isinstance(value, list) else []:
        try:
            if not isinstance(item, dict):
                raise ProtocolError(ErrorCode.BAD_REQUEST, "an entry must be an object")
            entries.append(entry_from_wire(item))
        except ProtocolError as exc:
            log.debug("skipping a malformed entry from the server: %s", exc)
    return entries


def _reads(value: object) -> list[Read]:
    """The long poll's ``reads`` ({room: {user: seq}}) as the socket's Read events."""
    events: list[Read] = []
    for room, users in value.items() if isinstance(value, dict) else ():
        for user, seq in users.items() if isinstance(users, dict) else ():
            try:
                events.append(Read.from_wire({"room": room, "user": user, "seq": seq}))
            except ProtocolError as exc:
                log.debug("skipping a malformed read from the server: %s", exc)
    return events


def _body_of(event: ClientEvent) -> dict[str, Any]:
    """The JSON body of a write's POST: its wire form without what the path says."""
    body = event.to_wire()
    for name in ("type", "room"):
        body.pop(name, None)
    return body


def _admins(value: object) -> set[str]:
    """The lower-cased names of the admins in ``GET /users``'s list."""
    people = value if isinstance(value, list) else []
    return {
        str(person.get("username", "")).lower()
        for person in people
        if isinstance(person, dict) and person.get("admin") is True
    }


def _rooms(value: object) -> list[RoomInfo]:
    rooms: list[RoomInfo] = []
    for item in value if isinstance(value, list) else []:
        try:
            rooms.append(RoomInfo.from_wire(item))
        except ProtocolError as exc:
            log.debug("skipping a malformed room from the server: %s", exc)
    return rooms


class LongPoller:
    """One polling session: the Welcome, then one long poll after another.

    ``api`` carries the token. ``username`` is the account's name (the HTTP API
    has no call that tells it); ``wait`` the seconds a poll may hang on the server.
    """

    def __init__(self, api: ApiSession, *, username: str, wait: float = 25.0) -> None:
        self._api = api
        self._username = username
        self._wait = wait
        # room -> highest seq delivered (or the start position): the poll's ``since``.
        self._positions: dict[str, int] = {}
        # The previous answer's typing and online, to turn answers into events.
        self._typing: dict[str, set[str]] = {}
        self._online: set[str] = set()

    async def start(self, cached: dict[str, int]) -> list[ServerEvent]:
        """Begin: learn rooms, presence and version; return a Welcome and any Gaps.

        ``cached`` is the caller's position per room, the ``since`` of a
        ``hello``, and is treated the same way: a room it lacks starts at the
        room's current end (no replay), and a room more than a replay's worth
        behind gets a :class:`Gap` and resumes with the newest
        ``REPLAY_LIMIT`` entries, as the server's replay does on the socket.
        """
        health = await self._get("/api/v1/health")
        rooms = await self.room_list()
        presence = await self._get("/api/v1/presence")
        people = await self._get("/api/v1/users")
        self._online = _users(presence.body.get("online"))
        self._typing = {}
        self._positions = {}
        gaps: list[ServerEvent] = []
        for room in rooms:
            position = cached.get(room.name, room.last_seq)
            resume = room.last_seq - rules.REPLAY_LIMIT
            if position < resume:
                gaps.append(Gap(room=room.name, after=position, before=resume + 1))
                position = resume
            self._positions[room.name] = position
        welcome = Welcome(
            protocol=rules.PROTOCOL_V2,
            username=self._username,
            rooms=rooms,
            online=sorted(self._online),
            server=ServerInfo(
                name=str(health.body.get("name", "")), version=str(health.body.get("version", ""))
            ),
            # The socket's welcome says whether I am an admin; over HTTP the
            # list of people does.
            admin=self._username.lower() in _admins(people.body.get("users")),
        )
        return [welcome, *gaps]

    async def room_list(self) -> list[RoomInfo]:
        """The rooms I can read, as Version 2 room objects (``GET /rooms?v=2``)."""
        response = await self._get("/api/v1/rooms", params=_V2)
        return _rooms(response.body.get("rooms"))

    async def new_rooms(self) -> list[Room]:
        """Rooms created since the poller last looked, as the Room events the socket sends.

        A Version 2 long poll reports the rooms that are new to me (an invite,
        a direct room), but not public rooms others create, so the link calls
        this now and then. A new room is polled from its start: every entry
        in it is newer than this session's welcome.
        """
        events: list[Room] = []
        for room in await self.room_list():
            if room.name not in self._positions:
                self._positions[room.name] = 0
                events.append(Room.of(room))
        return events

    async def poll(self) -> list[ServerEvent]:
        """One long poll; the events it brought, in the order the socket would give them."""
        response = await self._get(
            "/api/v1/events",
            params={
                "since": rules.format_since(self._positions),
                "wait": f"{self._wait:g}",
                **_V2,
            },
            time_limit=self._wait + 15.0,
        )
        events: list[ServerEvent] = []
        body = response.body
        if "online" in body:
            online = _users(body.get("online"))
            events.extend(diff_online(self._online, online))
            self._online = online
        for room in _rooms(body.get("rooms")):
            # New to me (invited, a direct room) or changed (a topic): from
            # now on its entries come with the others', as on the socket.
            self._positions.setdefault(room.name, room.last_seq)
            events.append(Room.of(room))
        for entry in _entries(body.get("messages")):
            if entry.seq <= self._positions.get(entry.room, 0):
                continue  # already delivered: a poll repeated after a lost answer
            self._positions[entry.room] = entry.seq
            events.append(entry)
        events.extend(_reads(body.get("reads")))
        for name in body.get("removed") or ():
            if isinstance(name, str) and self._positions.pop(name, None) is not None:
                events.append(RoomRemoved(room=name))
        if "typing" in body:
            typing = _typing_map(body.get("typing"))
            events.extend(diff_typing(self._typing, typing, self._username))
            self._typing = typing
        return events

    async def send(self, event: ClientEvent) -> list[ServerEvent]:
        """Do over HTTP what ``event`` asks; return the events the socket would answer with.

        Raises :class:`Unauthorized` on 401 and :class:`ApiError` when the
        server gave no usable answer (the caller keeps the event for later).
        """
        if isinstance(event, SendMessage):
            return await self._write(event, "messages", event.client_id)
        path = _WRITE_PATHS.get(type(event))
        if path is not None:
            return await self._write(event, path, getattr(event, "client_id", None))
        if isinstance(event, HistoryRequest):
            params = {"limit": str(event.limit), **_V2}
            if event.before is not None:
                params["before"] = str(event.before)
            response = await self._api.request(
                "GET", f"/api/v1/rooms/{event.room}/messages", params=params
            )
            if response.ok:
                entries = _entries(response.body.get("messages"))
                return [
                    HistoryPage.of(
                        event.room,
                        entries,
                        bool(response.body.get("has_more", False)),
                        v2=True,
                    )
                ]
            return [self._refusal(response)]
        if isinstance(event, SetTyping | SendRead):
            body: dict[str, Any] = (
                {"active": event.active} if isinstance(event, SetTyping) else {"seq": event.seq}
            )
            response = await self._api.request(
                "POST", f"/api/v1/rooms/{event.room}/{event.type}", json=body
            )
            # Typing and reads are best effort: a refusal (rate limit) is
            # dropped silently, as on the socket.
            self._check_auth(response)
            return []
        if isinstance(event, CreateRoom | OpenDm):
            if isinstance(event, CreateRoom):
                response = await self._api.request(
                    "POST", "/api/v1/rooms", json=_body_of(event), params=_V2
                )
            else:
                response = await self._api.request(
                    "POST", "/api/v1/dms", json={"users": list(event.users)}
                )
            if response.ok:
                try:
                    room = RoomInfo.from_wire(response.body)
                except ProtocolError as exc:
                    raise ApiError(response.status, "The server sent an unexpected answer") from exc
                self._positions.setdefault(room.name, room.last_seq)
                return [Room.of(room)]
            return [self._refusal(response, ref=getattr(event, "client_id", None))]
        raise TypeError(f"cannot send {type(event).__name__} over HTTP")

    async def _write(self, event: ClientEvent, path: str, ref: str | None) -> list[ServerEvent]:
        """POST a write to the room's log; its ``{seq, ts}`` (or 204) as the socket's Ack."""
        room = str(getattr(event, "room", ""))
        response = await self._api.request(
            "POST", f"/api/v1/rooms/{room}/{path}", json=_body_of(event)
        )
        if not response.ok:
            return [self._refusal(response, ref=ref)]
        if ref is None:
            return []
        if response.status == 204:
            # Nothing logged (a state that already held): the socket's ack
            # then carries the room's current last_seq.
            seq: object = self._positions.get(room, 0)
            ts: object = rules.now_ts()
        else:
            seq, ts = response.body.get("seq"), response.body.get("ts")
        if isinstance(seq, int) and isinstance(ts, str):
            return [Ack(client_id=ref, room=room, seq=seq, ts=ts)]
        raise ApiError(response.status, "The server sent an unexpected answer")

    def _check_auth(self, response: ApiResponse) -> None:
        if response.status == 401:
            raise Unauthorized(401, "The server no longer accepts this session; log in again")

    def _refusal(self, response: ApiResponse, ref: str | None = None) -> Error:
        """Turn a 4xx answer into the Error event the socket would have sent."""
        self._check_auth(response)
        if response.status not in _REFUSALS:
            raise ApiError(response.status, f"The server answered HTTP {response.status}")
        code = (
            response.server_code()
            or _ROOM_PATH_CODES.get(response.status)
            or CODE_OF_STATUS.get(response.status, ErrorCode.BAD_REQUEST)
        )
        message = response.server_message() or (
            too_many_attempts(response.retry_after)
            if response.status == 429
            else f"The server refused the request (HTTP {response.status})"
        )
        return Error(code=code, message=message, ref=ref)

    async def _get(
        self, path: str, *, params: dict[str, str] | None = None, time_limit: float | None = None
    ) -> ApiResponse:
        """A GET that must succeed: 401 raises Unauthorized, any other failure ApiError."""
        response = await self._api.request("GET", path, params=params, time_limit=time_limit)
        self._check_auth(response)
        if response.status != 200:
            raise ApiError(response.status, f"The server answered HTTP {response.status}")
        return response
