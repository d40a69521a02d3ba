"""The HTTP API under ``/api/v1``: accounts, and the polling fallback for the socket.

Each handler parses with :mod:`chat_protocol` (the same event classes
the socket decodes into, so both paths validate identically), calls
:class:`~chat_server.service.ChatService`, and answers JSON. Refusals travel
as exceptions; the :func:`errors_as_json` middleware turns them, through
the same :func:`~chat_server.refusals.refusal_for` the socket uses, and
aiohttp's own errors (404, 405, 413), into a status code with a
``{"code", "message"}`` body (statuses from :mod:`chat_protocol.errors`).

The long poll ``GET /api/v1/events`` waits on :meth:`Hub.changed` and
answers as soon as a listed room has messages past the client's position
(read by :meth:`ChatService.replay`, the socket's replay rule), or the typing
or online lists differ from what this token saw last.

Version 2 is asked with ``v=2`` on the routes that hand out entries (pages,
the long poll): every entry type instead of messages only, and the long poll
adds ``reads``, ``rooms`` and ``removed``. A private or direct room that the
caller is not in answers exactly like a room that does not exist.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from aiohttp import hdrs, web

from chat_protocol import (
    CreateRoom,
    ErrorCode,
    Event,
    Invite,
    Leave,
    LogEntry,
    OpenDm,
    ProtocolError,
    Remove,
    SendDelete,
    SendEdit,
    SendMessage,
    SendReact,
    SendRead,
    SendTopic,
    SetTyping,
    ValidationError,
    dump_json,
    entry_list,
    rules,
)
from chat_protocol.errors import CODE_OF_STATUS, STATUS_OF_CODE

from . import files
from .guards import client_address, json_body
from .refusals import refusal_for
from .search import search_messages
from .service import SERVICE_KEY, ChatService

PREFIX = "/api/v1"
# Messages per room in one long-poll answer; a client further behind simply
# gets an immediate answer again on its next poll.
POLL_PAGE = rules.HISTORY_LIMIT_MAX
DEFAULT_PAGE = 50

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _json(body: Mapping[str, Any], status: int = 200) -> web.Response:
    return web.Response(text=dump_json(body), status=status, content_type="application/json")


def _error(
    code: str, message: str, status: int, headers: Mapping[str, str] | None = None
) -> web.Response:
    response = _json({"code": code, "message": message}, status)
    response.headers.update(headers or {})
    return response


@web.middleware
async def errors_as_json(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer every refusal with its status and a JSON ``{"code", "message"}`` body."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        # aiohttp's own refusals (no such route, wrong method, body too large):
        # same JSON shape, keeping headers such as Allow.
        keep = {
            str(key): value
            for key, value in exc.headers.items()
            if key not in (hdrs.CONTENT_TYPE, hdrs.CONTENT_LENGTH)
        }
        code = CODE_OF_STATUS.get(exc.status, f"http_{exc.status}")
        return _error(code, exc.reason, exc.status, keep)
    except Exception as exc:
        refusal = refusal_for(exc)
        if refusal is None:
            raise  # a bug of ours: aiohttp logs it and answers 500
        headers: dict[str, str] = {}
        if refusal.retry_after is not None:
            headers[hdrs.RETRY_AFTER] = str(refusal.retry_after)
        if refusal.status == STATUS_OF_CODE[ErrorCode.UNAUTHORIZED]:
            headers[hdrs.WWW_AUTHENTICATE] = "Bearer"
        return _error(refusal.code, refusal.message, refusal.status, headers)


def _service(request: web.Request) -> ChatService:
    return request.app[SERVICE_KEY]


async def _authorized(request: web.Request) -> tuple[str, str]:
    """The (username, token hash) of the request's Bearer token, else 401."""
    scheme, _, token = request.headers.get(hdrs.AUTHORIZATION, "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise ProtocolError(ErrorCode.UNAUTHORIZED, "send Authorization: Bearer TOKEN")
    found = await _service(request).user_for_token(token)
    if found is None:
        raise ProtocolError(ErrorCode.UNAUTHORIZED, "the token is unknown or was revoked")
    return found


async def _body(request: web.Request) -> dict[str, Any]:
    # Only a body declared as JSON (415 otherwise): see chat_server.guards.
    return await json_body(request)


def _room(request: web.Request) -> str:
    try:
        return rules.validate_room_name(request.match_info["room"])
    except ValidationError as exc:
        raise ProtocolError(ErrorCode.BAD_REQUEST, str(exc)) from None


def _seq_param(request: web.Request, name: str) -> int | None:
    value = request.query.get(name)
    if value is None:
        return None
    # isascii: str.isdigit() also accepts digits such as "²" that int() refuses.
    if not (value.isascii() and value.isdigit()):
        raise ProtocolError(ErrorCode.BAD_REQUEST, f"{name} must be a whole number >= 0")
    try:
        return rules.validate_seq(int(value), name=name)
    except ValidationError as exc:
        raise ProtocolError(ErrorCode.BAD_REQUEST, str(exc)) from None


def _v2(request: web.Request) -> bool:
    """Whether the request asked for Version 2 (``v=2``)."""
    return request.query.get("v") == str(rules.PROTOCOL_V2)


def _message_list(messages: Sequence[LogEntry], v2: bool = False) -> list[dict[str, Any]]:
    # The same shape as inside a socket ``history`` event: in the v1 view a
    # message without "type"; for Version 2 every entry with its "type".
    return entry_list(messages, typed=v2)


def _with_client_id(body: Mapping[str, Any]) -> dict[str, Any]:
    """A body for a write whose HTTP form has no client_id (invite, leave, remove, open a DM):
    one drawn here; such writes are idempotent by the state they set."""
    return {"client_id": str(uuid.uuid4()), **body}


# Accounts -----------------------------------------------------------------


async def health(request: web.Request) -> web.Response:
    config = _service(request).config
    # "registration" tells the sign-in dialog whether to offer sign-up, and
    # whether with an invite code field.
    return _json(
        {
            "status": "ok",
            "version": config.version,
            "name": config.name,
            "registration": config.registration.value,
            # So that the app refuses a too-large file before sending it.
            "max_file_bytes": config.max_file_bytes,
        }
    )


async def register(request: web.Request) -> web.Response:
    body = await _body(request)
    token, username = await _service(request).register(
        body.get("username"),
        body.get("password"),
        address=client_address(request),
        invite=body.get("invite"),
        agent=request.headers.get(hdrs.USER_AGENT, ""),
    )
    return _json({"token": token, "username": username}, 201)


async def login(request: web.Request) -> web.Response:
    body = await _body(request)
    token, username = await _service(request).login(
        body.get("username"),
        body.get("password"),
        address=client_address(request),
        agent=request.headers.get(hdrs.USER_AGENT, ""),
    )
    return _json({"token": token, "username": username})


async def logout(request: web.Request) -> web.Response:
    _, token_hash = await _authorized(request)
    await _service(request).logout(token_hash)
    return web.Response(status=204)


# A user's sessions and password (chat_server.accounts) ----------------------


async def list_sessions(request: web.Request) -> web.Response:
    user, token_hash = await _authorized(request)
    sessions = await _service(request).accounts.sessions(user, token_hash)
    return _json({"sessions": sessions})


async def end_session(request: web.Request) -> web.Response:
    user, _ = await _authorized(request)
    await _service(request).accounts.end_session(user, request.match_info["id"])
    return web.Response(status=204)


async def end_other_sessions(request: web.Request) -> web.Response:
    """``DELETE /api/v1/sessions?others=1``: the explicit flag guards against a slip."""
    user, token_hash = await _authorized(request)
    if request.query.get("others") != "1":
        raise ProtocolError("bad_request", "to end all your other sessions, add ?others=1")
    await _service(request).accounts.end_others(user, token_hash)
    return web.Response(status=204)


async def change_password(request: web.Request) -> web.Response:
    user, token_hash = await _authorized(request)
    body = await _body(request)
    await _service(request).accounts.change_password(
        user, token_hash, body.get("old"), body.get("new")
    )
    return web.Response(status=204)


# An admin's hold on other accounts (chat_server.accounts) -------------------


def admin_action(action: str) -> Handler:
    """The handler of an admin's route on ``/api/v1/admin/users/{username}/...``."""

    async def handler(request: web.Request) -> web.Response:
        admin, _ = await _authorized(request)
        accounts = _service(request).accounts
        act = {
            "disable": accounts.disable,
            "enable": accounts.enable,
            "sessions": accounts.end_all_of,
        }[action]
        await act(admin, request.match_info["username"])
        return web.Response(status=204)

    return handler


# Rooms and messages -------------------------------------------------------


async def list_rooms(request: web.Request) -> web.Response:
    user, _ = await _authorized(request)
    # Room objects in full with v=2; the v1 shape ({"name","last_seq"}) without.
    rooms = await _service(request).rooms_for(user, v2=_v2(request))
    return _json({"rooms": [room.to_wire() for room in rooms]})


async def create_room(request: web.Request) -> web.Response:
    user, _ = await _authorized(request)
    event = CreateRoom.from_wire(await _body(request))
    v2 = _v2(request) or event.private
    room, created = await _service(request).create_room(event.name, user, event.private, v2=v2)
    return _json(room.to_wire(), 201 if created else 200)


async def delete_room(request: web.Request) -> web.Response:
    user, _ = await _authorized(request)
    await _service(request).delete_room(_room(request), user)
    return web.Response(status=204)


async def open_dm(request: web.Request) -> web.Response:
    user, _ = await _authorized(request)
    event = OpenDm.from_wire(_with_client_id(await _body(request)))
    room, created = await _service(request).open_dm(user, list(event.users))
    return _json(room.to_wire(), 201 if created else 200)


async def list_users(request: web.Request) -> web.Response:
    await _authorized(request)
    people = await _service(request).people()
    return _json(
        {
            "users": [
                {"username": person.username, "online": online, "admin": person.admin}
                for person, online in people
            ]
        }
    )


async def list_messages(request: web.Request) -> web.Response:
    user, _ = await _authorized(request)
    room = _room(request)
    after = _seq_param(request, "after")
    before = _seq_param(request, "before")
    limit = _seq_param(request, "limit")
    if after is not None and before is not None:
        raise ProtocolError(ErrorCode.BAD_REQUEST, "give either after or before, not both")
    if limit == 0:
        raise ProtocolError(ErrorCode.BAD_REQUEST, "limit must be at least 1")
    # More than the maximum is not an error, as on the socket: has_more says "ask again".
    limit = min(limit or DEFAULT_PAGE, rules.HISTORY_LIMIT_MAX)
    service = _service(request)
    v2 = _v2(request)
    messages: Sequence[LogEntry]
    if after is not None:
        messages, has_more = await service.after(user, room, after, limit, v2=v2)
    else:
        page = await service.history(user, room, before, limit, v2=v2)
        messages = page.messages if page.entries is None else page.entries
        has_more = page.has_more
    return _json({"messages": _message_list(messages, v2), "has_more": has_more})


async def post_message(request: web.Request) -> web.Response:
    user, _ = await _authorized(request)
    event = SendMessage.from_wire({**await _body(request), "room": _room(request)})
    result = await _service(request).post(user, event)
    body = {"seq": result.seq, "ts": result.ts}
    return _json(body, 201 if result.created else 200)


# The other writes to a room's log, by path, and whether their HTTP form
# carries a client_id (invite, remove and leave do not).
_WRITES: dict[str, tuple[type[Event], bool]] = {
    "edit": (SendEdit, True),
    "delete": (SendDelete, True),
    "react": (SendReact, True),
    "topic": (SendTopic, True),
    "invite": (Invite, False),
    "remove": (Remove, False),
    "leave": (Leave, False),
}


def post_write(path: str) -> Handler:
    """The handler of ``POST /api/v1/rooms/{room}/PATH`` for one of :data:`_WRITES`."""

    async def handler(request: web.Request) -> web.Response:
        return await _post_write(request, path)

    return handler


async def _post_write(request: web.Request, path: str) -> web.Response:
    user, _ = await _authorized(request)
    kind, has_client_id = _WRITES[path]
    body = await _body(request) if request.can_read_body else {}
    if not has_client_id:
        body = _with_client_id(body)
    event = kind.from_wire({**body, "room": _room(request)})
    result = await _service(request).write(user, event)  # type: ignore[arg-type]
    if result.entry is None:
        return web.Response(status=204)
    return _json({"seq": result.seq, "ts": result.ts}, 201 if result.created else 200)


async def post_read(request: web.Request) -> web.Response:
    user, _ = await _authorized(request)
    event = SendRead.from_wire({**await _body(request), "room": _room(request)})
    await _service(request).read(user, event.room, event.seq)
    return web.Response(status=204)


async def post_typing(request: web.Request) -> web.Response:
    user, _ = await _authorized(request)
    event = SetTyping.from_wire({**await _body(request), "room": _room(request)})
    await _service(request).set_typing(user, event)
    return web.Response(status=204)


async def presence(request: web.Request) -> web.Response:
    await _authorized(request)
    return _json({"online": _service(request).hub.online()})


async def search(request: web.Request) -> web.Response:
    """``GET /api/v1/search?q=WORDS&room=ROOM&before=SEQ&limit=N`` (:mod:`chat_server.search`)."""
    user, _ = await _authorized(request)
    found = await search_messages(
        _service(request).store,
        user,
        request.query.get("q"),
        room=request.query.get("room"),
        before=_seq_param(request, "before"),
        limit=_seq_param(request, "limit"),
    )
    # Each result names its room: a search may span several.
    return _json({"results": _message_list(found)})


# The long poll --------------------------------------------------------------


def _wait_param(request: web.Request, longest: float) -> float:
    try:
        wait = float(request.query.get("wait", "0"))
    except ValueError:
        wait = math.nan
    if not math.isfinite(wait) or wait < 0:
        raise ProtocolError(ErrorCode.BAD_REQUEST, "wait must be a number of seconds >= 0")
    return min(wait, longest)


async def events(request: web.Request) -> web.Response:
    """``GET /api/v1/events?since=general:41&wait=25``: the long poll."""
    user, token_hash = await _authorized(request)
    try:
        positions = rules.parse_since(request.query.get("since", ""))
    except ValidationError as exc:
        raise ProtocolError(ErrorCode.BAD_REQUEST, str(exc)) from None
    service = _service(request)
    wait = _wait_param(request, service.limits.max_poll_wait)
    v2 = _v2(request)
    hub = service.hub
    poller = hub.poll_started(user, token_hash)
    reads: dict[str, dict[str, int]] = {}
    fresh: list[str] = []
    removed: list[str] = []
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while True:
            # Taken before reading the state, so a change in between still wakes us.
            changed = hub.changed()
            if poller.revoked:  # logged out, or ended by any server process
                raise ProtocolError(ErrorCode.UNAUTHORIZED, "the session was ended")
            read_mark, rooms_mark = hub.reads.last, hub.room_news.last
            missed = await service.replay(user, positions, POLL_PAGE, newest=False, v2=v2)
            messages = [message for page in missed.values() for message in page]
            typing = hub.typing_for(user)
            online = hub.online()
            if v2:
                reads = hub.reads_for(user, poller.seen_reads)
                fresh, removed = hub.rooms_news_for(user, poller.seen_rooms)
            if (
                messages
                or reads
                or fresh
                or removed
                or typing != poller.seen_typing
                or online != poller.seen_online
                or hub.closing
                or loop.time() >= deadline
            ):
                break
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout_at(deadline):
                    await changed.wait()
    finally:
        hub.poll_finished(token_hash)
    poller.seen_typing, poller.seen_online = typing, online
    for message in messages:
        positions[message.room] = max(positions[message.room], message.seq)
    answer: dict[str, Any] = {
        "messages": _message_list(messages, v2),
        "typing": typing,
        "online": online,
        "since": rules.format_since(positions),
    }
    if v2:
        poller.seen_reads, poller.seen_rooms = read_mark, rooms_mark
        answer["reads"] = reads
        answer["rooms"] = [room.to_wire() for room in await service.rooms_named(user, fresh)]
        answer["removed"] = removed
    return _json(answer)


def add_routes(app: web.Application) -> None:
    """Register every ``/api/v1`` route on ``app``."""
    app.router.add_get(f"{PREFIX}/health", health)
    app.router.add_post(f"{PREFIX}/register", register)
    app.router.add_post(f"{PREFIX}/login", login)
    app.router.add_post(f"{PREFIX}/logout", logout)
    app.router.add_get(f"{PREFIX}/sessions", list_sessions)
    app.router.add_delete(f"{PREFIX}/sessions", end_other_sessions)
    app.router.add_delete(f"{PREFIX}/sessions/{{id}}", end_session)
    app.router.add_post(f"{PREFIX}/password", change_password)
    users = f"{PREFIX}/admin/users/{{username}}"
    app.router.add_post(f"{users}/disable", admin_action("disable"))
    app.router.add_post(f"{users}/enable", admin_action("enable"))
    app.router.add_delete(f"{users}/sessions", admin_action("sessions"))
    app.router.add_get(f"{PREFIX}/rooms", list_rooms)
    app.router.add_post(f"{PREFIX}/rooms", create_room)
    app.router.add_delete(f"{PREFIX}/rooms/{{room}}", delete_room)
    app.router.add_get(f"{PREFIX}/rooms/{{room}}/messages", list_messages)
    app.router.add_post(f"{PREFIX}/rooms/{{room}}/messages", post_message)
    app.router.add_post(f"{PREFIX}/rooms/{{room}}/typing", post_typing)
    app.router.add_post(f"{PREFIX}/rooms/{{room}}/read", post_read)
    for path in _WRITES:
        app.router.add_post(f"{PREFIX}/rooms/{{room}}/{path}", post_write(path))
    app.router.add_post(f"{PREFIX}/dms", open_dm)
    app.router.add_get(f"{PREFIX}/users", list_users)
    app.router.add_get(f"{PREFIX}/presence", presence)
    app.router.add_get(f"{PREFIX}/events", events)
    files.add_routes(app, _authorized)
    app.router.add_get(f"{PREFIX}/search", search)
