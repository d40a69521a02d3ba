"""Version 2 end to end: two accounts' ChatControllers on a real server.

Each account is a :class:`~tests.reliability.clients.HeadlessClient` (a real
ChatCache file and a real ChatController with its real ServerLink) on the
in-process server of ``chat_server``. What one does (reply, edit, delete,
react, read, private rooms) must reach the other's window (messagesChanged)
and cache; writes made offline go out through the outbox in order, exactly
once (the server's log is the referee).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from chat_desktop.controller.entries import DeliveryState, MessageEntry, RoomEntry
from chat_desktop.storage import ChatCache
from chat_server.app import ChatServer
from tests.accounts import register
from tests.client.proxy import ReverseProxy
from tests.reliability.clients import HeadlessClient, fast_link_factory
from tests.waiting import eventually

Make = Callable[..., HeadlessClient]


@pytest.fixture
async def make(chat_server: ChatServer, tmp_path: Path) -> AsyncIterator[Make]:
    """Open HeadlessClients of registered accounts; every one is closed at the end."""
    made: list[HeadlessClient] = []
    tokens: dict[str, str] = {}

    async def account(name: str) -> str:
        if name not in tokens:
            tokens[name] = await register(chat_server.base_url, name)
        return tokens[name]

    def factory(name: str, *, device: str = "") -> HeadlessClient:
        """A started client of account ``name`` (``device``: another cache file of it)."""
        client = HeadlessClient(
            name, chat_server.base_url, tokens[name], tmp_path / f"{name}{device}.sqlite3"
        )
        made.append(client)
        return client.open()

    factory.account = account  # type: ignore[attr-defined]
    factory.tokens = tokens  # type: ignore[attr-defined]
    yield factory
    for client in made:
        await client.close()


class Seen:
    """Every messagesChanged of one controller, newest state per client_id."""

    def __init__(self, client: HeadlessClient) -> None:
        self.entries: dict[str, MessageEntry] = {}
        self.removed: list[str] = []
        self.rooms: list[RoomEntry] = []
        client.c.messagesChanged.connect(self._changed)
        client.c.roomRemoved.connect(self.removed.append)
        client.c.roomsChanged.connect(self._rooms)

    def _changed(self, _room: str, entries: list[MessageEntry]) -> None:
        for entry in entries:
            self.entries[entry.client_id] = entry

    def _rooms(self, rooms: list[RoomEntry]) -> None:
        self.rooms = rooms

    def text(self, text: str) -> MessageEntry | None:
        return next((e for e in self.entries.values() if e.text == text), None)

    def room(self, name: str) -> RoomEntry | None:
        return next((room for room in self.rooms if room.name == name), None)


def polling(make: Make, proxy: ReverseProxy, folder: Path, name: str) -> HeadlessClient:
    """A started client of account ``name`` that can only poll (through ``proxy``, which
    strips the WebSocket upgrade); the caller closes it."""
    return HeadlessClient(
        name,
        proxy.base_url,
        make.tokens[name],  # type: ignore[attr-defined]
        folder / f"{name}-polling.sqlite3",
        fast_link_factory(poll_wait=1.0),
    ).open()


async def two(make: Make) -> tuple[HeadlessClient, HeadlessClient]:
    for name in ("alice", "bob"):
        await make.account(name)  # type: ignore[attr-defined]
    alice, bob = make("alice"), make("bob")
    await eventually(lambda: alice.c.status.kind.name == "CONNECTED")
    await eventually(lambda: bob.c.status.kind.name == "CONNECTED")
    return alice, bob


async def delivered(client: HeadlessClient, seen: Seen, text: str, **send: Any) -> MessageEntry:
    entry = client.c.send(send.pop("room", "general"), text, **send)
    assert entry is not None
    await eventually(lambda: seen.entries[entry.client_id].state is DeliveryState.DELIVERED)
    return seen.entries[entry.client_id]


async def server_log(chat_server: ChatServer, token: str, room: str = "general") -> list[dict]:
    """The room's whole log as the server hands it to a Version 2 client."""
    async with (
        aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as session,
        session.get(
            f"{chat_server.base_url}/api/v1/rooms/{room}/messages",
            params={"after": "0", "limit": "200", "v": "2"},
        ) as response,
    ):
        assert response.status == 200
        return list((await response.json())["messages"])


async def test_an_edit_reaches_the_other_account_in_place(make: Make) -> None:
    alice, bob = await two(make)
    mine, theirs = Seen(alice), Seen(bob)
    sent = await delivered(alice, mine, "helo")
    await eventually(lambda: theirs.text("helo") is not None)
    alice.c.edit(sent, "hello")
    # At once in my window, then in bob's: the same row (same author and client_id).
    assert mine.entries[sent.client_id].text == "hello"
    await eventually(lambda: theirs.entries[sent.client_id].text == "hello")
    assert theirs.entries[sent.client_id].edited is not None
    assert theirs.entries[sent.client_id].author == "alice"
    assert bob.c.message("general", sent.seq or 0) == theirs.entries[sent.client_id]


@pytest.mark.parametrize("via", ["socket", "polling"])
async def test_an_edit_stored_while_the_page_of_its_message_is_read_is_shown(
    make: Make, chat_server: ChatServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, via: str
) -> None:
    """Bob's first page of the room is read before alice's edit is stored and answered
    after it was published (on the socket, or to bob's long poll): bob still sees the
    message edited. (The storm test's "a client showed a message without its edit".)
    A read held between its query and its answer is a fault a real database does not
    produce on demand."""
    await make.account("alice")  # type: ignore[attr-defined]
    await make.account("bob")  # type: ignore[attr-defined]
    alice = make("alice")
    mine = Seen(alice)
    await eventually(lambda: alice.c.status.kind.name == "CONNECTED")
    sent = await delivered(alice, mine, "helo")
    store = chat_server.service.store
    read_entries = store.entries_before
    page_read, go_on = asyncio.Event(), asyncio.Event()

    async def held_read(*args: Any, **kwargs: Any) -> Any:
        page = await read_entries(*args, **kwargs)
        if not page_read.is_set():
            page_read.set()
            await go_on.wait()
        return page

    monkeypatch.setattr(store, "entries_before", held_read)
    proxy = ReverseProxy(chat_server.base_url)
    await proxy.start()
    try:
        # An empty cache: the welcome makes it ask for the room's newest page.
        bob = make("bob") if via == "socket" else polling(make, proxy, tmp_path, "bob")
        try:
            theirs = Seen(bob)
            await asyncio.wait_for(page_read.wait(), 10)
            alice.c.edit(sent, "hello")
            await eventually(lambda: not alice.outbox())
            if via == "polling":
                # The long poll has brought the edit: the next one asks from it on.
                await eventually(
                    lambda: any(
                        asked.startswith("/api/v1/events") and "since=general:2&" in asked
                        for asked in proxy.asked
                    )
                )
            go_on.set()
            await eventually(lambda: sent.client_id in theirs.entries)
            await eventually(lambda: theirs.entries[sent.client_id].text == "hello")
            assert bob.c.message("general", sent.seq or 0) == theirs.entries[sent.client_id]
        finally:
            if via == "polling":
                await bob.close()
    finally:
        await proxy.stop()


async def test_a_deleted_message_is_erased_from_the_other_cache_and_its_search(
    make: Make,
) -> None:
    alice, bob = await two(make)
    mine, theirs = Seen(alice), Seen(bob)
    sent = await delivered(alice, mine, "the secret launch code")
    await eventually(lambda: theirs.text("the secret launch code") is not None)
    assert bob.cache is not None and bob.cache.search("launch")
    alice.c.delete(sent)
    await eventually(lambda: theirs.entries[sent.client_id].deleted)
    assert theirs.entries[sent.client_id].text == ""
    assert bob.cache.search("launch") == []
    cached = bob.cache.message("general", sent.seq or 0)
    assert cached is not None and cached.deleted and cached.text == ""


async def test_reactions_and_replies_cross_between_two_accounts(make: Make) -> None:
    alice, bob = await two(make)
    mine, theirs = Seen(alice), Seen(bob)
    sent = await delivered(alice, mine, "lunch?")
    await eventually(lambda: theirs.text("lunch?") is not None)
    bob.c.react(theirs.entries[sent.client_id], "👍", True)
    await eventually(lambda: mine.entries[sent.client_id].reactions == (("👍", ("bob",)),))
    assert mine.entries[sent.client_id].reacted("👍", "bob")
    answer = await delivered(bob, theirs, "yes", reply_to=sent.seq)
    await eventually(lambda: mine.text("yes") is not None)
    assert mine.entries[answer.client_id].reply_to == sent.seq
    bob.c.react(theirs.entries[sent.client_id], "👍", False)
    await eventually(lambda: mine.entries[sent.client_id].reactions == ())


async def test_writes_made_offline_go_out_in_order_exactly_once_after_a_restart(
    make: Make, chat_server: ChatServer, tmp_path: Path
) -> None:
    token = await make.account("alice")  # type: ignore[attr-defined]
    offline = HeadlessClient("alice", "http://127.0.0.1:9", token, tmp_path / "alice.sqlite3")
    offline.open()
    seen = Seen(offline)
    entry = offline.c.send("general", "frist")
    assert entry is not None
    # Aimed at a message that has no seq yet: by its client_id until its ack.
    offline.c.edit(entry, "first")
    offline.c.react(seen.entries[entry.client_id], "🎉", True)
    assert seen.entries[entry.client_id].text == "first"
    assert seen.entries[entry.client_id].reactions == (("🎉", ("alice",)),)
    await offline.close()

    alice = make("alice")
    mine = Seen(alice)
    await eventually(lambda: alice.cache is not None and alice.cache.outbox() == [])
    log = await server_log(chat_server, token)
    assert [entry["type"] for entry in log] == ["message", "edit", "react"]
    message = log[0]
    assert (message["text"], message["reactions"]) == ("first", {"🎉": ["alice"]})
    assert [entry["target"] for entry in log[1:]] == [message["seq"]] * 2
    await eventually(lambda: mine.text("first") is not None)
    shown = mine.text("first")
    assert shown is not None and shown.reactions == (("🎉", ("alice",)),)


async def test_reading_on_one_device_clears_the_unread_count_on_the_other(make: Make) -> None:
    alice, bob = await two(make)
    laptop = Seen(alice)
    theirs = Seen(bob)
    for n in range(3):
        await delivered(bob, theirs, f"news {n}")
    await eventually(lambda: (laptop.room("general") or RoomEntry("x")).unread == 3)
    phone = make("alice", device="-phone")
    on_phone = Seen(phone)
    await eventually(lambda: (on_phone.room("general") or RoomEntry("x")).unread == 3)
    phone.c.open_room("general")
    phone.c.set_active(True)
    await eventually(lambda: (laptop.room("general") or RoomEntry("x")).unread == 0)


async def test_a_private_room_shows_who_has_seen_what_and_is_purged_on_leaving(
    make: Make,
) -> None:
    alice, bob = await two(make)
    mine, theirs = Seen(alice), Seen(bob)
    created: list[str] = []
    alice.c.roomCreated.connect(created.append)
    alice.c.create_room("plans", private=True, members=["bob"])
    await eventually(lambda: created == ["plans"])
    await eventually(lambda: theirs.room("plans") is not None)
    room = theirs.room("plans")
    assert room is not None and room.kind == "private" and set(room.members) == {"alice", "bob"}
    sent = await delivered(alice, mine, "the plan", room="plans")
    await eventually(lambda: theirs.text("the plan") is not None)
    bob.c.open_room("plans")
    bob.c.set_active(True)
    await eventually(lambda: alice.c.seen_by("plans") == {sent.seq: ["bob"]})

    bob.c.leave("plans")
    await eventually(lambda: theirs.removed == ["plans"])
    assert bob.cache is not None and bob.cache.message("plans", sent.seq or 0) is None
    assert bob.cache.search("plan") == []
    assert "plans" not in [room.name for room in bob.c.rooms()]


async def test_a_direct_room_opens_for_both(make: Make) -> None:
    alice, bob = await two(make)
    theirs = Seen(bob)
    opened: list[str] = []
    alice.c.roomCreated.connect(opened.append)
    alice.c.open_dm(["bob"])
    await eventually(lambda: len(opened) == 1)
    await eventually(lambda: theirs.room(opened[0]) is not None)
    room = theirs.room(opened[0])
    assert room is not None and room.kind == "direct" and room.label == "alice"


async def test_drafts_are_kept_per_room_across_reopening_the_cache(tmp_path: Path) -> None:
    cache = ChatCache.open(tmp_path / "cache.sqlite3")
    cache.set_draft("general", "half a thought")
    cache.set_draft("random", "another")
    cache.set_draft("random", "")
    cache.close()
    cache = ChatCache.open(tmp_path / "cache.sqlite3")
    try:
        assert (cache.draft("general"), cache.draft("random")) == ("half a thought", "")
    finally:
        cache.close()


async def test_people_lists_everyone_online_first_with_the_admins(
    make: Make, chat_server: ChatServer
) -> None:
    await make.account("carol")  # type: ignore[attr-defined]
    await chat_server.service.store.set_admin("carol", True)
    alice, _ = await two(make)
    await eventually(lambda: len(alice.c.people()) == 3)
    people = [(p.name, p.online, p.admin) for p in alice.c.people()]
    assert people == [("alice", True, False), ("bob", True, False), ("carol", False, True)]


async def test_a_topic_reaches_the_other_account(make: Make) -> None:
    alice, bob = await two(make)
    theirs = Seen(bob)
    alice.c.set_topic("general", "  launch day  ")
    await eventually(lambda: (theirs.room("general") or RoomEntry("x")).topic == "launch day")


async def test_open_at_loads_an_old_message_the_cache_lacks(make: Make) -> None:
    alice, bob = await two(make)
    theirs = Seen(bob)
    first = await delivered(bob, theirs, "the original")
    for n in range(60):
        await delivered(bob, theirs, f"filler {n}")
    # A new device of alice's: nothing of the old message cached.
    phone = make("alice", device="-phone")
    jumps: list[tuple[str, int, list[MessageEntry]]] = []
    phone.c.jumpReady.connect(lambda room, seq, page: jumps.append((room, seq, page)))
    await eventually(lambda: phone.c.status.kind.name == "CONNECTED")
    assert phone.c.message("general", first.seq or 0) is None
    phone.c.open_at("general", first.seq or 0)
    await eventually(lambda: bool(jumps))
    room, seq, page = jumps[0]
    assert (room, seq) == ("general", first.seq)
    assert "the original" in [entry.text for entry in page]
    assert alice.c.message("general", first.seq or 0) is not None


async def test_the_creator_removes_a_member_whose_cache_then_forgets_the_room(
    make: Make,
) -> None:
    alice, bob = await two(make)
    theirs = Seen(bob)
    created: list[str] = []
    alice.c.roomCreated.connect(created.append)
    alice.c.create_room("plans", private=True, members=["bob"])
    await eventually(lambda: theirs.room("plans") is not None)
    await delivered(alice, Seen(alice), "the plan", room="plans")
    await eventually(lambda: theirs.text("the plan") is not None)
    # What bob had typed there goes with the room.
    bob.c.set_draft("plans", "my idea")
    alice.c.remove("plans", "bob")
    await eventually(lambda: theirs.removed == ["plans"])
    assert bob.cache is not None and bob.cache.latest("plans", 10) == []
    assert bob.c.draft("plans") == ""


async def test_an_admin_deletes_a_room_and_it_is_gone_for_everyone(
    make: Make, chat_server: ChatServer
) -> None:
    await make.account("alice")  # type: ignore[attr-defined]
    await chat_server.service.store.set_admin("alice", True)
    alice, bob = await two(make)
    theirs = Seen(bob)
    alice.c.create_room("old-news")
    await eventually(lambda: theirs.room("old-news") is not None)
    await delivered(bob, theirs, "stale", room="old-news")
    assert alice.c.is_admin
    alice.c.delete_room("old-news")
    await eventually(lambda: theirs.removed == ["old-news"])
    assert "old-news" not in [room.name for room in bob.c.rooms()]
    assert bob.cache is not None and bob.cache.search("stale") == []


async def test_deleting_a_room_as_a_non_admin_is_refused_with_a_sentence(make: Make) -> None:
    alice, _ = await two(make)
    problems: list[str] = []
    alice.c.problem.connect(problems.append)
    alice.c.delete_room("general")
    await eventually(lambda: bool(problems))
    assert "general" in [room.name for room in alice.c.rooms()]


async def test_a_polling_client_edits_reacts_reads_and_leaves_like_a_socket_one(
    make: Make, chat_server: ChatServer, tmp_path: Path
) -> None:
    """alice's app can only poll (a proxy strips the WebSocket upgrade); bob's is on
    the socket: the same conversation reaches both, both ways."""
    for name in ("alice", "bob"):
        await make.account(name)  # type: ignore[attr-defined]
    proxy = ReverseProxy(chat_server.base_url)
    await proxy.start()
    try:
        bob = make("bob")
        alice = polling(make, proxy, tmp_path, "alice")
        try:
            await eventually(lambda: alice.c.status.kind.name == "POLLING")
            await eventually(lambda: bob.c.status.kind.name == "CONNECTED")
            mine, theirs = Seen(alice), Seen(bob)
            bob.c.create_room("plans", private=True, members=["alice"])
            await eventually(lambda: mine.room("plans") is not None)
            sent = await delivered(bob, theirs, "helo", room="plans")
            await eventually(lambda: mine.text("helo") is not None)
            bob.c.edit(sent, "hello")
            await eventually(lambda: mine.entries[sent.client_id].text == "hello")
            alice.c.react(mine.entries[sent.client_id], "👀", True)
            await eventually(
                lambda: theirs.entries[sent.client_id].reactions == (("👀", ("alice",)),)
            )
            alice.c.open_room("plans")
            alice.c.set_active(True)
            await eventually(lambda: bob.c.seen_by("plans") == {sent.seq: ["alice"]})
            alice.c.leave("plans")
            await eventually(lambda: mine.removed == ["plans"])
            assert alice.cache is not None and alice.cache.message("plans", sent.seq or 0) is None
        finally:
            await alice.close()
    finally:
        await proxy.stop()
