"""Several ``chat-server`` processes serving one chat: what crosses servers, through Redis.

With ``--redis URL`` (and a PostgreSQL database that all of them share) a
server builds one :class:`Cluster`; without it none exists and nothing here
runs, so a single server keeps its in-process behaviour and its fan-out cost.

The parts, each behind a small interface:

- :mod:`.bus`: one Redis stream that carries every event between servers;
- :mod:`.order`: each room's entries to the hub once each and in order,
  filling holes from the database (a lost record, a server killed between
  commit and publish, a quiet room's last entry);
- :mod:`.presence`: who is online on any server (per-server sets and a heartbeat);
- :mod:`.limits`: rate limits and the login throttle counted once in Redis;
- :mod:`.polls`: what a long poll remembers per token, for the next poll on any server.

The service (:mod:`chat_server.service`) tells the :class:`Cluster` what
happened here (:meth:`Cluster.committed`, :meth:`Cluster.typing`...): it
applies it to this server's hub and sends it to the others, whose clusters
apply it to theirs (:meth:`Cluster._heard`). Ended sessions need nothing
here: every server already follows the revocation log in the shared database
(:mod:`chat_server.revocation`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from chat_protocol import LogEntry, RoomInfo
from chat_protocol.events import LOG_ENTRIES

from ..config import ServerConfig
from ..hub import Hub
from ..limits import LoginThrottle
from ..storage.base import ChatStore, StorageError
from .bus import Bus, RedisLink
from .limits import SharedLimits, SharedLoginThrottle
from .order import FILL_PAGE, LogOrder
from .polls import PollMemory
from .presence import ClusterPresence

log = logging.getLogger(__name__)

FEATURE = "cluster"


class Cluster:
    """This server's part in a chat of several servers."""

    def __init__(self, config: ServerConfig, store: ChatStore) -> None:
        if config.redis_url is None:
            raise ValueError("a cluster needs a Redis URL")
        self.config = config
        self._store = store
        self.server_id = uuid.uuid4().hex[:12]
        self.link = RedisLink(config.redis_url)
        self.limits = SharedLimits(self.link)
        self.polls = PollMemory(self.link, self.server_id)
        self._bus = Bus(self.link, self.server_id, self._heard)
        self._hub: Hub | None = None
        self._order: LogOrder | None = None
        self._presence: ClusterPresence | None = None
        # Rooms the hub knows that the last check did not find in the database.
        self._missing: set[str] = set()

    def login_throttle(self, local: LoginThrottle) -> SharedLoginThrottle:
        """The login throttle counted in Redis, with ``local`` as its fallback."""
        return SharedLoginThrottle(self.limits, local)

    async def prepare(self) -> None:
        """Before the server reads its rooms: note where the stream stands."""
        await self._bus.prepare()

    def attach(self, hub: Hub, rooms: list[RoomInfo]) -> None:
        """Serve ``hub``, built from ``rooms`` (read after :meth:`prepare`)."""
        self._hub = hub
        self._order = LogOrder(hub.publish_entry, self._read_after, rooms)
        config = self.config
        self._presence = ClusterPresence(
            self.link,
            self._bus,
            hub,
            self.server_id,
            config.cluster_heartbeat_seconds,
            config.cluster_dead_after_seconds,
        )

    async def _read_after(self, room: str, after: int) -> list[LogEntry]:
        return await self._store.entries_after(room, after, FILL_PAGE, everything=True)

    @property
    def hub(self) -> Hub:
        if self._hub is None:
            raise RuntimeError("the cluster has no hub yet")
        return self._hub

    @property
    def order(self) -> LogOrder:
        if self._order is None:
            raise RuntimeError("the cluster has no hub yet")
        return self._order

    # What happened on this server ------------------------------------------

    def committed(self, entry: LogEntry) -> None:
        """A log entry was committed here: to this hub in order, and to the others."""
        self.order.offer(entry)
        self._bus.send({"k": "entry", "e": entry.to_wire()})

    def typing(self, room: str, user: str, active: bool) -> None:
        self._bus.send({"k": "typing", "room": room, "user": user, "active": active})

    def read(self, room: str, user: str, seq: int) -> None:
        self._bus.send({"k": "read", "room": room, "user": user, "seq": seq})

    def room(self, room: RoomInfo, user: str | None = None) -> None:
        """A room appeared (for everyone who may read it, or for ``user`` only)."""
        self._bus.send({"k": "room", "room": room.to_wire(), "user": user})

    def room_removed(self, room: str) -> None:
        self.order.forget(room)
        self._bus.send({"k": "removed", "room": room})

    # What another server said -----------------------------------------------

    def _heard(self, server: str, event: dict[str, Any]) -> None:
        hub = self.hub
        kind = event.get("k")
        if kind == "entry":
            body = event["e"]
            self.order.offer(LOG_ENTRIES[body["type"]].from_wire(body))  # type: ignore[arg-type]
        elif kind == "typing":
            hub.publish_typing(event["room"], event["user"], bool(event["active"]))
        elif kind == "read":
            hub.publish_read(event["room"], event["user"], int(event["seq"]), None)
        elif kind == "room":
            room = RoomInfo.from_wire(event["room"])
            if event.get("user") is None:
                hub.publish_room(room)
            else:
                hub.announce_room_to(event["user"], room)
        elif kind == "removed":
            self.order.forget(event["room"])
            hub.remove_room(event["room"])
        elif kind == "presence" and self._presence is not None:
            self._presence.heard(server, event["user"], bool(event["online"]))

    # Running ------------------------------------------------------------------

    async def check(self) -> None:
        """Compare each room's watermark with the database and fill what is missing."""
        hub = self.hub
        known = hub.room_names()
        rooms = await self._store.rooms()
        # Only rooms new to the hub (created elsewhere, their word lost): the
        # members of a known room change by its member entries, in order.
        hub.note_rooms([room for room in rooms if room.name not in known])
        self.order.check(rooms)
        # A room deleted on another server whose word was lost: gone from the
        # database in two checks running (one could race a room created here
        # while it read), so gone here too.
        missing = known - {room.name for room in rooms}
        for name in missing & self._missing:
            self.order.forget(name)
            hub.remove_room(name)
        self._missing = missing

    async def _checking(self) -> None:
        failing = False
        while True:
            await asyncio.sleep(self.config.cluster_check_seconds)
            try:
                await self.check()
            except StorageError as exc:
                if not failing:
                    log.warning("cannot compare the rooms with the database (retrying): %s", exc)
                failing = True
            else:
                failing = False

    async def run(self, _app: web.Application) -> AsyncIterator[None]:
        """``cleanup_ctx``: the bus, the heartbeat and the database check while serving."""
        log.info("one of several servers (id %s), Redis at %s", self.server_id, self.link.url)
        self._bus.start()
        if self._presence is not None:
            self._presence.start()
        checking = asyncio.create_task(self._checking(), name="cluster check")
        try:
            yield
        finally:
            checking.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await checking
            if self._presence is not None:
                await self._presence.stop()
            await self._bus.stop()
            await self.order.stop()
            await self.link.close()

    async def close(self) -> None:
        """Release the connection when the server failed to start."""
        await self.link.close()
