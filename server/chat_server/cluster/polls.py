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
on every server; a recalled position is moved back by :data:`OVERLAP`, so
that the same read or room change may be told twice (both are idempotent
for a client) rather than never.
"""

from __future__ import annotations

import json
import logging

from ..hub import Poller
from .bus import REDIS_FAILURES, RedisLink

log = logging.getLogger(__name__)

# Microseconds a recalled journal position is moved back (clock skew, and
# a change that reached one server a moment before another).
OVERLAP = 5_000_000
# A token that has not polled for this long is forgotten (seconds).
MEMORY_SECONDS = 600


def memory_key(token_hash: str) -> str:
    return f"chat:poll:{token_hash}"


class PollMemory:
    """Reads and writes pollers' memory in Redis; without Redis, a poll simply starts afresh."""

    def __init__(self, link: RedisLink) -> None:
        self._link = link

    async def recall(self, token_hash: str, poller: Poller) -> None:
        """Fill a poller new to this server with what its last answer anywhere saw."""
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
            poller.seen_reads = max(0, int(stored[b"reads"]) - OVERLAP)
            poller.seen_rooms = max(0, int(stored[b"rooms"]) - OVERLAP)
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
                    },
                )
                pipe.expire(key, MEMORY_SECONDS)
                await pipe.execute()
        except REDIS_FAILURES as exc:
            self._link.failed(exc)
