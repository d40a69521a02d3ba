"""The HTTP long-polling fallback, speaking the same events as the WebSocket.

Some networks let HTTP through but not WebSocket (a proxy that strips the
``Upgrade`` header, say). Then :class:`~.link.ServerLink` switches to a
:class:`LongPoller`, which turns the HTTP API of docs/protocol.md into the very
events the socket would have delivered, so the controller cannot tell the
difference:

- ``GET /rooms`` and ``GET /presence`` at the start become a :class:`Welcome`
  (and a :class:`Gap` for a room too far behind, as the socket's replay does);
- each answer of ``GET /events?since=...&wait=25`` becomes :class:`Message`
  events, plus :class:`Typing`, :class:`UserJoin` and :class:`UserLeave` found
  by comparing its ``typing`` and ``online`` with the previous answer;
- a sent message is ``POST``-ed and its ``{seq, ts}`` becomes an :class:`Ack`,
  a history request is a ``GET`` that becomes a :class:`HistoryPage`, a new
  room a ``POST`` that becomes a :class:`Room`, and a refusal an :class:`Error`.

The poller keeps its own position per room, advanced by the messages it
delivers, so each poll asks only for what is new. It does no waiting or
retrying of its own: the link drives it and decides what a failure means.
"""

from __future__ import annotations

import logging

from chat_protocol import (
    PROTOCOL_VERSION,
    Ack,
    ClientEvent,
    CreateRoom,
    Error,
    ErrorCode,
    Gap,
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
    rules,
)
from chat_protocol.errors import CODE_OF_STATUS

from .http_api import ApiError, ApiResponse, ApiSession, too_many_attempts

log = logging.getLogger(__name__)

# The statuses of a refused call that the socket would have answered with an
# error event; any other status is a failure of the transport (ApiError).
_REFUSALS = frozenset({400, 403, 404, 413, 429})
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


def _messages(value: object) -> list[Message]:
    """The valid messages of a JSON list; a malformed one is skipped, never fatal."""
    messages: list[Message] = []
    for item in value if isinstance(value, list) else []:
        try:
            if not isinstance(item, dict):
                raise ProtocolError(ErrorCode.BAD_REQUEST, "a message must be an object")
            messages.append(Message.from_wire(item))
        except ProtocolError as exc:
            log.debug("skipping a malformed message from the server: %s", exc)
    return messages


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
        ``REPLAY_LIMIT`` messages, as the server's replay does on the socket.
        """
        health = await self._get("/api/v1/health")
        rooms = await self.room_list()
        presence = await self._get("/api/v1/presence")
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
            protocol=PROTOCOL_VERSION,
            username=self._username,
            rooms=rooms,
            online=sorted(self._online),
            server=ServerInfo(
                name=str(health.body.get("name", "")), version=str(health.body.get("version", ""))
            ),
        )
        return [welcome, *gaps]

    async def room_list(self) -> list[RoomInfo]:
        """The server's rooms (``GET /rooms``)."""
        response = await self._get("/api/v1/rooms")
        return _rooms(response.body.get("rooms"))

    async def new_rooms(self) -> list[Room]:
        """Rooms created since the poller last looked, as the Room events the socket sends.

        The long poll does not report new rooms, so the link calls this now and
        then. A new room is polled from its start: every message in it is newer
        than this session's welcome.
        """
        events: list[Room] = []
        for room in await self.room_list():
            if room.name not in self._positions:
                self._positions[room.name] = 0
                events.append(Room(name=room.name, last_seq=room.last_seq))
        return events

    async def poll(self) -> list[ServerEvent]:
        """One long poll; the events it brought, in the order the socket would give them."""
        response = await self._get(
            "/api/v1/events",
            params={"since": rules.format_since(self._positions), "wait": f"{self._wait:g}"},
            time_limit=self._wait + 15.0,
        )
        events: list[ServerEvent] = []
        if "online" in response.body:
            online = _users(response.body.get("online"))
            events.extend(diff_online(self._online, online))
            self._online = online
        for message in _messages(response.body.get("messages")):
            if message.seq <= self._positions.get(message.room, 0):
                continue  # already delivered: a poll repeated after a lost answer
            self._positions[message.room] = message.seq
            events.append(message)
        if "typing" in response.body:
            typing = _typing_map(response.body.get("typing"))
            events.extend(diff_typing(self._typing, typing, self._username))
            self._typing = typing
        return events

    async def send(self, event: ClientEvent) -> list[ServerEvent]:
        """Do over HTTP what ``event`` asks; return the events the socket would answer with.

        Raises :class:`Unauthorized` on 401 and :class:`ApiError` when the
        server gave no usable answer (the caller keeps the event for later).
        """
        if isinstance(event, SendMessage):
            response = await self._api.request(
                "POST",
                f"/api/v1/rooms/{event.room}/messages",
                json={"client_id": event.client_id, "text": event.text},
            )
            if response.ok:
                seq, ts = response.body.get("seq"), response.body.get("ts")
                if isinstance(seq, int) and isinstance(ts, str):
                    return [Ack(client_id=event.client_id, room=event.room, seq=seq, ts=ts)]
                raise ApiError(response.status, "The server sent an unexpected answer")
            return [self._refusal(response, ref=event.client_id)]
        if isinstance(event, HistoryRequest):
            params = {"limit": str(event.limit)}
            if event.before is not None:
                params["before"] = str(event.before)
            response = await self._api.request(
                "GET", f"/api/v1/rooms/{event.room}/messages", params=params
            )
            if response.ok:
                return [
                    HistoryPage(
                        room=event.room,
                        messages=_messages(response.body.get("messages")),
                        has_more=bool(response.body.get("has_more", False)),
                    )
                ]
            return [self._refusal(response)]
        if isinstance(event, SetTyping):
            response = await self._api.request(
                "POST", f"/api/v1/rooms/{event.room}/typing", json={"active": event.active}
            )
            # Typing is best effort: a refusal (rate limit) is dropped silently, as on the socket.
            self._check_auth(response)
            return []
        if isinstance(event, CreateRoom):
            response = await self._api.request("POST", "/api/v1/rooms", json={"name": event.name})
            if response.ok:
                last_seq = response.body.get("last_seq", 0)
                if isinstance(last_seq, bool) or not isinstance(last_seq, int):
                    last_seq = 0
                self._positions.setdefault(event.name, last_seq)
                return [Room(name=event.name, last_seq=last_seq)]
            return [self._refusal(response)]
        raise TypeError(f"cannot send {type(event).__name__} over HTTP")

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
