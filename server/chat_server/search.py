"""Searching the stored messages: the rules of ``GET /api/v1/search`` before the index.

The HTTP handler (:func:`chat_server.http_api.search`) hands the raw query
parameters to :func:`search_messages`, which checks them against the
contract (a query with no word, ``before`` without ``room``, a bad ``limit``:
``bad_request``), narrows the search to the rooms the user may read
(:func:`readable_rooms`) and asks the store's full-text index
(:mod:`chat_server.storage.search_index`). The words are cut by the one rule
both the server and the client use, :mod:`chat_protocol.search`.
"""

from __future__ import annotations

from collections.abc import Collection

from chat_protocol import ErrorCode, Message, ProtocolError, ValidationError, rules
from chat_protocol.search import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    NoSearchWords,
    TooManySearchWords,
    query_terms,
)

from .storage.base import ChatStore, SearchRequest


async def readable_rooms(store: ChatStore, user: str) -> Collection[str] | None:
    """The rooms ``user`` may read: the public rooms and their own private and direct ones.

    This is the one place search asks, so that no search can ever return a
    message of a room its user cannot read (the privacy rule of Version 2).
    """
    return [room.name for room in await store.rooms_for(user)]


def _bad(message: str) -> ProtocolError:
    return ProtocolError(ErrorCode.BAD_REQUEST, message)


async def search_messages(
    store: ChatStore,
    user: str,
    query: str | None,
    *,
    room: str | None = None,
    before: int | None = None,
    limit: int | None = None,
) -> list[Message]:
    """The messages ``user`` may read that match ``query``, newest first.

    Raises :class:`~chat_protocol.ProtocolError`: ``bad_request`` for a
    missing query or one with no word (or too many), ``before`` without
    ``room``, a ``limit`` below 1; ``unknown_room`` for a room that does not
    exist or that the user cannot read. A ``limit`` above
    :data:`~chat_protocol.search.MAX_LIMIT` is lowered to it, as history's is.
    """
    if query is None:
        raise _bad("give the words to search for as q")
    try:
        terms = query_terms(query)
    except (NoSearchWords, TooManySearchWords) as exc:
        raise _bad(str(exc)) from None
    if before is not None and room is None:
        raise _bad("before needs room: it is a seq of that room")
    if limit is not None and limit < 1:
        raise _bad("limit must be at least 1")
    rooms = await readable_rooms(store, user)
    if room is not None:
        try:
            rules.validate_room_name(room)
        except ValidationError as exc:
            raise _bad(str(exc)) from None
        known = rooms if rooms is not None else {info.name for info in await store.rooms()}
        if room not in known:
            raise ProtocolError(ErrorCode.UNKNOWN_ROOM, f"there is no room {room!r}")
    limit = min(limit or DEFAULT_LIMIT, MAX_LIMIT)
    return await store.search(SearchRequest(terms, rooms, limit, room, before))
