"""Who is online anywhere in the chat: each server's users in Redis, kept alive by a heartbeat.

Each server keeps the set of users that have a socket or a recent poll on
it in ``chat:online:<server id>``, and its last heartbeat in the sorted set
``chat:servers``. A user is online while they are in the set of any server
whose heartbeat is recent. The hub hears of the users online elsewhere
through :meth:`Hub.remote_presence` and turns changes of the whole picture
into ``user-join`` / ``user-leave`` for its own connections.

Changes travel two ways. At once: when a user's first connection on a
server appears or its last ends, that server updates its set and tells the
others through the bus, in one round trip. And every heartbeat each server
reads the other live servers' sets afresh, which repairs whatever a lost
record got wrong. A server that stops beating (killed, cut off) is dropped
by the others ``dead_after`` seconds after its last heartbeat, and its users
leave unless they are online elsewhere: a client of a killed server that
reconnected to another within those seconds is never seen to leave.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from ..hub import Hub
from .bus import REDIS_FAILURES, Bus, RedisLink, stop_tasks

log = logging.getLogger(__name__)

SERVERS = "chat:servers"
# Every server's set holds this (no user name is empty), so that a set that
# is missing (Redis restarted, the server has not written it again yet) is
# told apart from a server with nobody on it, and not read as "all left".
PRESENT = ""
# A server that stops gracefully is dropped by the others after this many
# seconds, long enough for its clients to reconnect elsewhere first.
STOP_GRACE = 5.0


def users_key(server_id: str) -> str:
    return f"chat:online:{server_id}"


class ClusterPresence:
    """This server's users in Redis, and the other servers' users in the hub."""

    def __init__(
        self,
        link: RedisLink,
        bus: Bus,
        hub: Hub,
        server_id: str,
        heartbeat: float,
        dead_after: float,
    ) -> None:
        self._link = link
        self._bus = bus
        self._hub = hub
        self._id = server_id
        self._heartbeat = heartbeat
        self._dead_after = dead_after
        # Other servers -> their users; and per user, on how many of them.
        self._remote: dict[str, set[str]] = {}
        self._count: dict[str, int] = {}
        # (server, user) -> loop time of the last change heard through the
        # bus: a set read before that change must not undo it.
        self._heard_at: dict[tuple[str, str], float] = {}
        # Other servers -> the newest heartbeat seen (their clock, seconds):
        # a server is dropped by this, not by missing from Redis, which may
        # have restarted empty.
        self._beats: dict[str, float] = {}
        # Write this server's whole set at the next heartbeat: at start, and
        # after Redis was away (it may have lost it, or missed changes).
        self._resync = True
        self._task: asyncio.Task[None] | None = None
        hub.on_local_presence = self.here_changed
        link.on_return(self._must_resync)

    def _must_resync(self) -> None:
        self._resync = True

    # This server's users -------------------------------------------------------

    def here_changed(self, user: str, here: bool) -> None:
        """From the hub: ``user``'s first connection here appeared, or the last ended."""
        if self._hub.closing:
            # Stopping: the others drop this server after STOP_GRACE, so
            # clients that reconnect elsewhere meanwhile never seem to leave.
            return
        key = users_key(self._id)
        command = ("SADD", key, user) if here else ("SREM", key, user)
        self._bus.send({"k": "presence", "user": user, "online": here}, command)

    # The other servers' users -------------------------------------------------

    def heard(self, server: str, user: str, online: bool) -> None:
        """Another server said ``user``'s presence there changed."""
        self._heard_at[(server, user)] = asyncio.get_running_loop().time()
        self._set(server, user, online)

    def _set(self, server: str, user: str, online: bool) -> None:
        users = self._remote.setdefault(server, set())
        if online == (user in users):
            return
        if online:
            users.add(user)
            self._count[user] = self._count.get(user, 0) + 1
            if self._count[user] == 1:
                self._hub.remote_presence(user, True)
            return
        users.discard(user)
        self._count[user] -= 1
        if not self._count[user]:
            del self._count[user]
            self._hub.remote_presence(user, False)

    def _drop_server(self, server: str) -> None:
        for user in list(self._remote.get(server, ())):
            self._set(server, user, False)
        self._remote.pop(server, None)
        self._heard_at = {key: at for key, at in self._heard_at.items() if key[0] != server}

    def _apply(self, server: str, users: set[str], read_at: float) -> None:
        """A fresh read of a live server's set; changes heard after ``read_at`` win."""
        known = self._remote.get(server, set())
        for user in known ^ users:
            if self._heard_at.get((server, user), -1.0) < read_at:
                self._set(server, user, user in users)

    # The heartbeat --------------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="cluster presence")

    async def stop(self) -> None:
        if self._task is not None:
            task, self._task = self._task, None
            await stop_tasks([task])
        # Seen as dead STOP_GRACE seconds from now.
        with contextlib.suppress(*REDIS_FAILURES):
            async with asyncio.timeout(2):
                score = time.time() - self._dead_after + STOP_GRACE
                await self._link.redis.zadd(SERVERS, {self._id: score})

    async def _run(self) -> None:
        while self._task is not None:
            try:
                await self.beat()
            except REDIS_FAILURES as exc:
                self._link.failed(exc)
            await asyncio.sleep(self._heartbeat)

    async def beat(self) -> None:
        """Say this server lives (with its users when needed); read the others."""
        redis = self._link.redis
        key = users_key(self._id)
        now = time.time()
        resync = self._resync
        async with redis.pipeline(transaction=True) as pipe:
            pipe.zadd(SERVERS, {self._id: now})
            if resync:
                pipe.delete(key)
                pipe.sadd(key, PRESENT, *self._hub.here())
            pipe.expire(key, max(1, int(self._dead_after * 2)))
            pipe.zrange(SERVERS, 0, -1, withscores=True)
            answers = await pipe.execute()
        self._link.answered()
        if resync:
            self._resync = False
        for member, score in answers[-1]:
            server = member.decode()
            if server != self._id:
                # As written: a server stopping on purpose moves its own back.
                self._beats[server] = score
        alive_since = now - self._dead_after
        live = [s for s, beat in self._beats.items() if beat >= alive_since]
        dead = [s for s, beat in self._beats.items() if beat < alive_since]
        for server in dead:
            if self._remote.get(server):
                log.info("server %s stopped answering; its users leave", server)
            self._drop_server(server)
            del self._beats[server]
        read_at = asyncio.get_running_loop().time()
        async with redis.pipeline(transaction=False) as pipe:
            for server in live:
                pipe.smembers(users_key(server))
            if dead:
                # Tidy up after the dead (any server may; doing it twice is harmless).
                pipe.zrem(SERVERS, *dead)
                pipe.delete(*(users_key(server) for server in dead))
            sets = await pipe.execute()
        for server, members in zip(live, sets, strict=False):
            users = {member.decode() for member in members}
            if PRESENT in users:  # else not written since Redis restarted
                users.discard(PRESENT)
                self._apply(server, users, read_at)
