"""The project's own client, headless, and the server's database as the referee.

:class:`HeadlessClient` is what the desktop app builds for one signed-in
account, minus the window: a real :class:`~chat_desktop.storage.ChatCache`
file and a real :class:`~chat_desktop.controller.chat.ChatController`, which
owns the real :class:`~chat_desktop.transport.link.ServerLink`. Messages go
in through ``ChatController.send`` (the composer's call), so the outbox, the
resend after every reconnect with the same ``client_id``, the batching and
the gap filling under test are the shipped ones, not a copy.

The controller is a QObject but does all of its timing with asyncio
(``call_later``, tasks); only its typing-expiry QTimer needs Qt's loop, and
these tests never type. So it runs here on pytest-asyncio's plain loop,
which keeps thousands of messages fast; tests/ui runs the same class under
qasync with the widgets.

:func:`server_messages` reads the server's SQLite file directly: what is
there is what the server stored, whatever any client believes.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from chat_desktop.controller.chat import ChatController
from chat_desktop.controller.entries import DeliveryState, MessageEntry
from chat_desktop.storage import ChatCache
from chat_desktop.transport import Jitter, ReconnectPolicy, ServerLink
from chat_protocol import DEFAULT_ROOM
from tests.accounts import PASSWORD as PASSWORD
from tests.accounts import register as register
from tests.sqlite_driver import sqlite
from tests.waiting import eventually

# (seq, author, client_id, text): a message as every party must agree on it.
Row = tuple[int, str, str, str]


def fast_link_factory(**options: object) -> Callable[..., ServerLink]:
    """ServerLink with reconnect delays short enough for tests (jitter kept: many clients)."""

    def factory(*args: object, **kwargs: object) -> ServerLink:
        policy = ReconnectPolicy(
            first_retry=0.05, initial=0.05, factor=2.0, cap=0.5, jitter=Jitter.EQUAL
        )
        return ServerLink(*args, policy=policy, **{**kwargs, **options})  # type: ignore[arg-type]

    return factory


def clients_with_quick_keepalive(
    names: Iterable[str], url: str, tokens: dict[str, str], folder: Path
) -> list[HeadlessClient]:
    """One unopened HeadlessClient per name, on ``url``, each with its cache in ``folder``
    and a keepalive that notices a blackholed connection after 1.5 s (not 15)."""
    factory = fast_link_factory(ping_interval=0.5, ping_timeout=1.0)
    return [
        HeadlessClient(name, url, tokens[name], folder / f"{name}.sqlite3", factory)
        for name in names
    ]


@dataclass
class HeadlessClient:
    """One account's ChatController and ChatCache, without a window (see the module)."""

    username: str
    url: str
    token: str
    cache_file: Path
    link_factory: Callable[..., ServerLink] = field(default_factory=fast_link_factory)
    # More keywords for the ChatController (ack_timeout=0.3, say).
    controller_options: dict[str, Any] = field(default_factory=dict)
    controller: ChatController | None = None
    cache: ChatCache | None = None
    # client_ids of every message this client wrote, in the order written.
    written: list[str] = field(default_factory=list)
    # Room by client_id.
    room_of: dict[str, str] = field(default_factory=dict)
    # Messages the server refused for good (FAILED): must stay empty in these tests.
    failed: dict[str, str] = field(default_factory=dict)

    def open(self) -> HeadlessClient:
        self.cache = ChatCache.open(self.cache_file)
        self.controller = ChatController(
            self.cache,
            server_url=self.url,
            username=self.username,
            token=self.token,
            link_factory=self.link_factory,
            **self.controller_options,
        )
        self.controller.messagesChanged.connect(self._changed)
        self.controller.start()
        return self

    async def close(self) -> None:
        """Close as the app does: the controller (link, tasks), then the cache."""
        controller, cache = self.controller, self.cache
        self.controller = self.cache = None
        if controller is not None:
            await controller.close()
            controller.deleteLater()
        if cache is not None:
            cache.close()

    def _changed(self, _room: str, entries: list[MessageEntry]) -> None:
        for entry in entries:
            if entry.state is DeliveryState.FAILED:
                self.failed[entry.client_id] = entry.error

    @property
    def c(self) -> ChatController:
        assert self.controller is not None
        return self.controller

    def send(self, text: str, room: str = DEFAULT_ROOM) -> str:
        """Write a message as the composer does; return its client_id."""
        entry = self.c.send(room, text)
        assert entry is not None
        self.written.append(entry.client_id)
        self.room_of[entry.client_id] = room
        return entry.client_id

    def outbox(self) -> list[str]:
        """client_ids still waiting for the server (the durable outbox)."""
        assert self.cache is not None
        return [entry.client_id for entry in self.cache.outbox()]

    def written_in(self, room: str) -> list[str]:
        """client_ids this client wrote in ``room``, in the order written."""
        return [cid for cid in self.written if self.room_of[cid] == room]

    def acknowledged(self) -> set[str]:
        """What this client knows the server stored: written and gone from the outbox."""
        return set(self.written) - set(self.outbox())

    def history(self, room: str = DEFAULT_ROOM) -> list[Row]:
        """The client's cached history of ``room``: the contiguous run ending at its newest."""
        assert self.cache is not None
        return [(m.seq, m.author, m.client_id, m.text) for m in self.cache.latest(room, 1_000_000)]

    async def paged_history(self, room: str = DEFAULT_ROOM) -> list[Row]:
        """The room's history as the window gets it (see :meth:`paged_entries`)."""
        entries = await self.paged_entries(room)
        return [(e.seq, e.author, e.client_id, e.text) for e in entries if e.seq is not None]

    async def paged_entries(self, room: str = DEFAULT_ROOM) -> list[MessageEntry]:
        """The room's history as the window gets it, through the controller.

        First ``open_room`` (the newest cached page), then older pages as a
        user scrolling up asks for them with ``request_older``: from the cache
        where it holds them, from the server where it has a hole. (A hole is
        allowed in the cache by design, e.g. when the newest-page fetch after
        a connect died with the connection; the window fills it on scrolling.)
        """
        entries = [e for e in self.c.open_room(room) if e.seq is not None]
        pages: asyncio.Queue[tuple[list[MessageEntry], bool]] = asyncio.Queue()

        def loaded(page_room: str, page: list[MessageEntry], has_more: bool) -> None:
            if page_room == room:
                pages.put_nowait((page, has_more))

        self.c.olderLoaded.connect(loaded)
        try:
            misses = 0
            while entries and entries[0].seq is not None and entries[0].seq > 1:
                self.c.request_older(room, entries[0].seq)
                page, has_more = await asyncio.wait_for(pages.get(), 30)
                older = [e for e in page if e.seq is not None]
                if not older:
                    # No answer (offline for a moment): ask again, as the view would.
                    misses += 1
                    assert has_more and misses < 20, "the older history never came"
                    await asyncio.sleep(0.1)
                    continue
                entries = older + entries
        finally:
            self.c.olderLoaded.disconnect(loaded)
        return entries

    def holes(self, room: str = DEFAULT_ROOM) -> int:
        """Seqs below the newest that the cache lacks (filled from the server on scrolling)."""
        with sqlite.connect(f"file:{self.cache_file}?mode=ro", uri=True) as db:
            (count,) = db.execute(
                "SELECT COUNT(*) FROM messages WHERE room = ?", (room,)
            ).fetchone()
        db.close()
        return self.position(room) - int(count)

    def position(self, room: str = DEFAULT_ROOM) -> int:
        assert self.cache is not None
        return self.cache.positions().get(room, 0)


def server_messages(db_file: Path, room: str = DEFAULT_ROOM) -> list[Row]:
    """Every message of ``room`` in the server's SQLite file, by seq."""
    # Read-only URI: the referee must not change what it judges.
    with sqlite.connect(f"file:{db_file}?mode=ro", uri=True) as db:
        rows = db.execute(
            "SELECT m.seq, m.author, m.client_id, m.text FROM messages AS m "
            "JOIN rooms AS r ON r.id = m.room_id WHERE r.name = ? ORDER BY m.seq",
            (room,),
        ).fetchall()
    db.close()
    return [(int(seq), str(a), str(c), str(t)) for seq, a, c, t in rows]


# (seq, kind, author, client_id, target): an entry of a room's log (Version 2).
LogRow = tuple[int, str, str, str, int | None]
# (seq, author, client_id, text, deleted, edited?, reactions): a message's current state.
StateRow = tuple[int, str, str, str, bool, bool, dict[str, list[str]]]


def server_log(db_file: Path, room: str = DEFAULT_ROOM) -> list[LogRow]:
    """Every entry of ``room``'s log in the server's SQLite file, by seq."""
    with sqlite.connect(f"file:{db_file}?mode=ro", uri=True) as db:
        rows = db.execute(
            "SELECT m.seq, m.kind, m.author, m.client_id, m.target FROM messages AS m "
            "JOIN rooms AS r ON r.id = m.room_id WHERE r.name = ? ORDER BY m.seq",
            (room,),
        ).fetchall()
    db.close()
    return [(int(s), str(k), str(a), str(c), t) for s, k, a, c, t in rows]


def check_one_log(
    log: list[LogRow], written: dict[str, list[str]], writes: int, *, ordered: bool = True
) -> None:
    """The room's log holds each written message exactly once, each author's in the
    order written (unless not ``ordered``), seqs without a hole or repeat, no write
    twice, and ``writes`` entries besides the messages (each edit, delete or
    reaction made, once)."""
    assert [row[0] for row in log] == list(range(1, len(log) + 1)), "seqs have a hole or repeat"
    keys = [(row[2], row[3]) for row in log]
    assert len(keys) == len(set(keys)), "a (user, client_id) is stored twice"
    messages = [row for row in log if row[1] == "message"]
    for author, ids in written.items():
        stored = [row[3] for row in messages if row[2] == author]
        if not ordered:
            stored, ids = sorted(stored), sorted(ids)
        assert stored == ids, f"{author}: stored {len(stored)} of {len(ids)} or out of order"
    assert len(messages) == sum(len(ids) for ids in written.values()), "a stranger's message"
    assert len(log) - len(messages) == writes, "a write is lost or repeated"


async def states_over_http(url: str, token: str, room: str = DEFAULT_ROOM) -> list[StateRow]:
    """Every message of ``room`` in its current state, as the server hands it to a
    Version 2 client (the referee for what every cache must show)."""
    rows: list[StateRow] = []
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(url, headers=headers) as session:
        after = 0
        while True:
            response = await session.get(
                f"/api/v1/rooms/{room}/messages", params={"after": after, "limit": 200, "v": 2}
            )
            assert response.status == 200, await response.text()
            body = await response.json()
            for entry in body["messages"]:
                after = entry["seq"]
                if entry["type"] == "message":
                    rows.append(
                        (
                            entry["seq"],
                            entry["author"],
                            entry["client_id"],
                            entry["text"],
                            bool(entry.get("deleted")),
                            "edited" in entry,
                            entry.get("reactions") or {},
                        )
                    )
            if not body["has_more"]:
                return rows


def states_shown(entries: Iterable[MessageEntry]) -> list[StateRow]:
    """What a window shows of each stored message, as :func:`states_over_http` has it."""
    return [
        (
            e.seq,
            e.author,
            e.client_id,
            e.text,
            e.deleted,
            e.edited is not None,
            {emoji: list(users) for emoji, users in e.reactions},
        )
        for e in entries
        if e.seq is not None
    ]


async def history_over_http(url: str, token: str, room: str = DEFAULT_ROOM) -> list[Row]:
    """The room's whole history as the HTTP API pages it out, forwards from seq 0."""
    rows: list[Row] = []
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(url, headers=headers) as session:
        after = 0
        while True:
            response = await session.get(
                f"/api/v1/rooms/{room}/messages", params={"after": after, "limit": 200}
            )
            assert response.status == 200, await response.text()
            body = await response.json()
            rows += [(m["seq"], m["author"], m["client_id"], m["text"]) for m in body["messages"]]
            if not body["has_more"]:
                return rows
            after = rows[-1][0]


def check_one_room(server: list[Row], written: dict[str, list[str]]) -> None:
    """The server's room holds each written message exactly once, in seq order without
    holes, and each author's messages in the order that author wrote them."""
    seqs = [row[0] for row in server]
    assert seqs == list(range(1, len(server) + 1)), "seqs have a hole or repeat"
    keys = [(row[1], row[2]) for row in server]
    assert len(keys) == len(set(keys)), "a (author, client_id) is stored twice"
    for author, ids in written.items():
        stored = [row[2] for row in server if row[1] == author]
        assert stored == ids, f"{author}: stored {len(stored)} of {len(ids)} or out of order"
    assert len(server) == sum(len(ids) for ids in written.values()), "a stranger's message"


def all_caught_up(
    clients: Iterable[HeadlessClient], last_seq: int, room: str = DEFAULT_ROOM
) -> bool:
    """Every outbox empty and every cache holding ``room`` up to ``last_seq``."""
    return all(not c.outbox() and c.position(room) >= last_seq for c in clients)


async def every_room_caught_up(
    clients: list[HeadlessClient], rooms: Iterable[str], within: float = 60
) -> None:
    """Wait until every client has, in each room, every message all of them wrote there."""
    for room in rooms:
        expected = sum(len(c.written_in(room)) for c in clients)
        await eventually(
            functools.partial(all_caught_up, clients, expected, room),
            f"every client has all of {room}",
            within=within,
        )
