"""What a long poll remembers per token, kept in Redis so that the next poll may go to any server.

A poller's memory (:class:`~chat_server.hub.Poller`: the typing and online
lists of its last answer, and where it stands in the journals of reads and
room changes) decides whether a poll answers at once. Without sticky
sessions a token's polls land on any server, and a server that had never
seen the token would answer at once every time (its memory empty) or miss
what happened meanwhile. So each answer's memory is written to
``chat:poll:<token hash>``, and a server that sees a token for the first
time starts from there.

The journals are numbered by the wall clock in a cluster (see
:class:`~chat_server.hub.Journal`), so positions mean about the same moment
on every server; a position written by another server is moved back by
:data:`OVERLAP`, so that a read or room change that reached this server a
moment before that one is told (perhaps twice: both are idempotent for a
client) rather than never. The reads and room changes of the last answer
are remembered too, so that such a repeat alone does not answer a poll.
"""

from __future__ import annotations

import json
import logging

from ..hub import Poller
from .bus import REDIS_FAILURES, RedisLink

log = logging.getLogger(__name__)

# Microseconds a journal position from another server is moved back (clock
# skew, and a change that reached one server a moment before another).
OVERLAP = 1_000_000
# A token that has not polled for this long is forgotten (seconds).
MEMORY_SECONDS = 600


def memory_key(token_hash: str) -> str:
    return f"chat:poll:{token_hash}"


class PollMemory:
    """Reads and writes pollers' memory in Redis; without Redis, a poll simply starts afresh."""

    def __init__(self, link: RedisLink, server_id: str) -> None:
        self._link = link
        self._server_id = server_id

    async def recall(self, token_hash: str, poller: Poller) -> None:
        """Fill a poller with what its last answer, on any server, told it."""
        try:
            stored = await self._link.redis.hgetall(memory_key(token_hash))
        except REDIS_FAILURES as exc:
            self._link.failed(exc)
            return
        if not stored:
            return
        try:
            poller.seen_typing = json.loads(stored[b"typing"])
            poller.seen_online = json.loads(stored[b"online"])
            overlap = 0 if stored.get(b"server") == self._server_id.encode() else OVERLAP
            poller.seen_reads = max(0, int(stored[b"reads"]) - overlap)
            poller.seen_rooms = max(0, int(stored[b"rooms"]) - overlap)
            poller.told_reads = json.loads(stored[b"told_reads"])
            poller.told_rooms = json.loads(stored[b"told_rooms"])
        except (KeyError, ValueError):
            log.warning("ignoring an unreadable poll memory in Redis")

    async def remember(self, token_hash: str, poller: Poller) -> None:
        """Store what this answer told the poller."""
        key = memory_key(token_hash)
        try:
            async with self._link.redis.pipeline(transaction=True) as pipe:
                pipe.hset(
                    key,
                    mapping={
                        "typing": json.dumps(poller.seen_typing),
                        "online": json.dumps(poller.seen_online),
                        "reads": poller.seen_reads,
                        "rooms": poller.seen_rooms,
                        "told_reads": json.dumps(poller.told_reads),
                        "told_rooms": json.dumps(poller.told_rooms),
                        "server": self._server_id,
                    },
                )
                pipe.expire(key, MEMORY_SECONDS)
                await pipe.execute()
        except REDIS_FAILURES as exc:
            self._link.failed(exc)
