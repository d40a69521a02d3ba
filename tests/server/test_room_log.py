"""Version 2's room log: replies, edits, deletes and reactions, over the socket and over HTTP.

Every rule is checked through :class:`~tests.server.wire.Writer`, once with
the write sent as a socket frame and once as an HTTP POST, against a real
server. Onlookers are real sockets: bob asks for Version 2 and sees every
entry; carol does not, and gets the v1 view (messages only, in their
current state, seqs with holes).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect

from chat_protocol import (
    Delete,
    Edit,
    HistoryPage,
    Message,
    Reaction,
    ServerEvent,
)
from chat_protocol.search import has_fts5_secure_delete
from chat_server.app import ChatServer
from chat_server.storage.database import sqlite_driver

from .wire import (
    acting,
    api,
    hello,
    http,
    joined,
    make_users,
    recv,
    recv_until,
    ws_url,
)

# Each rule once with the writes on the socket, once over HTTP.
both = pytest.mark.parametrize("via", ["socket", "http"])


def entry_of(event: ServerEvent) -> bool:
    return event.type in ("message", "edit", "delete", "react", "member", "topic")


async def next_entry(ws: ClientConnection) -> ServerEvent:
    return await recv_until(ws, entry_of)


@both
async def test_edit_delete_react_and_reply_share_one_gapless_seq(
    chat_server: ChatServer, via: str
) -> None:
    tokens = await make_users(chat_server, ["alice", "bob", "carol"])
    async with (
        joined(chat_server, tokens["bob"], protocol=2) as bob,
        joined(chat_server, tokens["carol"]) as carol,
        acting(chat_server, tokens["alice"], via) as alice,
    ):
        assert await alice.write("message", "general", text="first") == ("ack", 1)
        assert await alice.write("message", "general", text="re", reply_to=1) == ("ack", 2)
        assert await alice.write("edit", "general", target=1, text="first!") == ("ack", 3)
        assert await alice.write("react", "general", target=2, emoji="👍", on=True) == ("ack", 4)
        assert await alice.write("delete", "general", target=2) == ("ack", 5)

        seen = [await next_entry(bob) for _ in range(5)]
        assert [entry.type for entry in seen] == ["message", "message", "edit", "react", "delete"]
        assert [entry.seq for entry in seen] == [1, 2, 3, 4, 5]
        reply = seen[1]
        assert isinstance(reply, Message) and reply.reply_to == 1
        assert seen[2] == Edit("general", 3, 1, "alice", "first!", seen[2].ts)
        assert isinstance(seen[3], Reaction) and seen[3].emoji == "👍" and seen[3].on
        assert isinstance(seen[4], Delete) and seen[4].target == 2

        # The v1 onlooker hears the two messages and nothing of the rest.
        first, second = await next_entry(carol), await next_entry(carol)
        assert [first.type, second.type] == ["message", "message"]
        await alice.write("message", "general", text="third")
        third = await next_entry(carol)
        assert isinstance(third, Message) and third.seq == 6


@both
async def test_messages_are_handed_out_in_their_current_state_everywhere(
    chat_server: ChatServer, via: str
) -> None:
    tokens = await make_users(chat_server, ["alice", "bob"])
    async with acting(chat_server, tokens["alice"], via) as alice:
        await alice.write("message", "general", text="typo hre")
        await alice.write("message", "general", text="to be gone", reply_to=1)
        await alice.write("edit", "general", target=1, text="typo here")
        await alice.write("react", "general", target=1, emoji="🎉", on=True)
        await alice.write(
            "react", "general", target=1, emoji="🎉", on=True
        )  # holds: nothing logged
        await alice.write("delete", "general", target=2)
    async with acting(chat_server, tokens["bob"], via) as bob:
        assert await bob.write("react", "general", target=1, emoji="🎉", on=True) == ("ack", 6)

    def check(messages: list[dict[str, Any]]) -> None:
        first, second = messages
        assert first["text"] == "typo here" and "edited" in first
        assert first["reactions"] == {"🎉": ["alice", "bob"]}
        assert second["deleted"] is True and second["text"] == "" and second["reply_to"] == 1
        assert "reactions" not in second

    # The v1 view: only the messages, in their current state, seqs 1 and 2 of 6.
    async with joined(chat_server, tokens["bob"], since={"general": 0}) as ws:
        replayed = [(await recv(ws)).to_wire() for _ in range(2)]
        check(replayed)
        await ws.send(json.dumps({"type": "history", "room": "general"}))
        page = await recv_until(ws, lambda e: isinstance(e, HistoryPage))
        assert isinstance(page, HistoryPage) and page.entries is None
        check([message.to_wire() for message in page.messages])
    async with http(chat_server) as session:
        status, body = await api(session, "GET", "/api/v1/rooms/general/messages", tokens["bob"])
        assert status == 200
        check(body["messages"])
        status, body = await api(
            session, "GET", "/api/v1/events?since=general:0&wait=0", tokens["bob"]
        )
        check(body["messages"])
        assert body["since"] == "general:2"

        # Version 2: every entry in seq order, each with its type, messages as they are now.
        status, body = await api(
            session, "GET", "/api/v1/rooms/general/messages?v=2", tokens["bob"]
        )
        types = [entry["type"] for entry in body["messages"]]
        assert types == ["message", "message", "edit", "react", "delete", "react"]
        check(body["messages"][:2])
        status, body = await api(
            session, "GET", "/api/v1/events?since=general:0&wait=0&v=2", tokens["bob"]
        )
        assert len(body["messages"]) == 6 and body["since"] == "general:6"
    async with joined(chat_server, tokens["bob"], since={"general": 0}, protocol=2) as ws:
        replayed = [(await recv(ws)).to_wire() for _ in range(6)]
        check(replayed[:2])
        assert [entry["seq"] for entry in replayed] == [1, 2, 3, 4, 5, 6]


@both
async def test_refusals_read_the_same_over_both_transports(
    chat_server: ChatServer, via: str
) -> None:
    tokens = await make_users(chat_server, ["alice", "bob"])
    async with acting(chat_server, tokens["alice"], via) as alice:
        await alice.write("message", "general", text="mine")
        assert await alice.write("message", "general", text="x", reply_to=99) == (
            "error",
            "bad_request",
        )
        assert await alice.write("edit", "general", target=99, text="x") == (
            "error",
            "unknown_message",
        )
        assert await alice.write("edit", "nowhere", target=1, text="x") == (
            "error",
            "unknown_room",
        )
    async with acting(chat_server, tokens["bob"], via) as bob:
        assert await bob.write("edit", "general", target=1, text="not yours") == (
            "error",
            "forbidden",
        )
        assert await bob.write("delete", "general", target=1) == ("error", "forbidden")
        # bob is made an admin: now he may delete alice's message, not edit it.
        await chat_server.service.store.set_admin("bob", True)
        assert await bob.write("edit", "general", target=1, text="still not") == (
            "error",
            "forbidden",
        )
        assert await bob.write("delete", "general", target=1) == ("ack", 2)
        assert await bob.write("react", "general", target=1, emoji="x", on=True) == (
            "error",
            "unknown_message",
        )
        assert await bob.write("react", "general", target=1, emoji="two words", on=True) == (
            "error",
            "bad_request",
        )


@both
async def test_a_retried_edit_gets_its_seq_back_and_is_not_broadcast_again(
    chat_server: ChatServer, via: str
) -> None:
    tokens = await make_users(chat_server, ["alice", "bob"])
    async with (
        joined(chat_server, tokens["bob"], protocol=2) as bob,
        acting(chat_server, tokens["alice"], via) as alice,
    ):
        await alice.write("message", "general", text="hello")
        client_id = str(uuid.uuid4())
        first = await alice.write("edit", "general", client_id, target=1, text="hello!")
        again = await alice.write("edit", "general", client_id, target=1, text="hello!")
        assert first == again == ("ack", 2)
        assert await alice.write("message", "general", text="next") == ("ack", 3)
        seqs = [(await next_entry(bob)).seq for _ in range(3)]
        assert seqs == [1, 2, 3]


@both
async def test_a_v1_long_poll_is_not_woken_by_edits_but_a_v2_one_is(
    chat_server: ChatServer, via: str
) -> None:
    tokens = await make_users(chat_server, ["alice", "bob"])
    async with acting(chat_server, tokens["alice"], via) as alice, http(chat_server) as session:
        await alice.write("message", "general", text="hello")
        await alice.write("edit", "general", target=1, text="hello!")
        _, v1 = await api(session, "GET", "/api/v1/events?since=general:1&wait=0.5", tokens["bob"])
        _, v2 = await api(
            session, "GET", "/api/v1/events?since=general:1&wait=5&v=2", tokens["bob"]
        )
    assert v1["messages"] == [] and v1["since"] == "general:1"
    assert [entry["type"] for entry in v2["messages"]] == ["edit"]
    assert v2["since"] == "general:2"


async def test_welcome_says_protocol_2_and_features_only_when_asked(
    chat_server: ChatServer,
) -> None:
    tokens = await make_users(chat_server, ["alice"])
    async with connect(ws_url(chat_server)) as ws:
        v2 = await hello(ws, tokens["alice"], protocol=2)
    async with connect(ws_url(chat_server)) as ws:
        v1 = await hello(ws, tokens["alice"])
    assert v2.protocol == 2 and v2.admin is False and v2.features and "edit" in v2.features
    assert v2.rooms[0].kind == "public" and v2.rooms[0].unread == 0
    assert v1.protocol == 1 and v1.admin is None and v1.features is None
    assert v1.rooms[0].kind is None


@both
async def test_a_deleted_message_leaves_no_trace_in_the_database_file(
    chat_server: ChatServer, via: str
) -> None:
    # Without FTS5's secure-delete the index keeps the words: say why plainly.
    version = sqlite_driver.sqlite_version
    assert has_fts5_secure_delete(version), (
        f"SQLite {version} has no FTS5 secure-delete; `pip install -e .` brings pysqlite3-binary"
    )
    tokens = await make_users(chat_server, ["alice"])
    secret = f"xylophone{uuid.uuid4().hex}"
    # Long enough to spill into an overflow page, which a delete hands to the
    # free list: without secure_delete the words would stay there.
    long_text = f"the code is {secret} " + "padding " * 480
    async with acting(chat_server, tokens["alice"], via) as alice:
        await alice.write("message", "general", text=long_text)
        await alice.write("edit", "general", target=1, text=f"the code is still {secret}")
        path = Path(chat_server.config.data_dir) / "chat.sqlite3"

        def on_disk() -> bytes:
            wal = path.with_name(path.name + "-wal")
            return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")

        assert secret.encode() in on_disk()
        # The words are in the database file proper, and in the search index.
        checkpoint(path)
        assert secret.encode() in on_disk()
        await alice.write("edit", "general", target=1, text=f"{secret} once more")
        # The ack means done: no checkpoint of ours, the WAL included, the index too.
        assert await alice.write("delete", "general", target=1) == ("ack", 4)
        assert secret.encode() not in on_disk()
        async with http(chat_server) as session:
            _, found = await api(session, "GET", f"/api/v1/search?q={secret}", tokens["alice"])
        assert found["results"] == []
    # What is handed out says the same: the message and its earlier edits are empty.
    async with http(chat_server) as session:
        _, page = await api(session, "GET", "/api/v1/rooms/general/messages?v=2", tokens["alice"])
    assert [(entry["type"], entry.get("text")) for entry in page["messages"]] == [
        ("message", ""),
        ("edit", ""),
        ("edit", ""),
        ("delete", None),
    ]


def checkpoint(path: Path) -> None:
    """Write the WAL back into the database file and empty it, as SQLite does in time."""
    with contextlib.closing(sqlite_driver.connect(path)) as db:
        busy, _, _ = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    assert busy == 0


async def test_a_history_page_never_shows_a_message_older_than_an_entry_sent_before_it(
    chat_server: ChatServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The page is read on a database thread while live entries go out on the loop:
    an edit stored after the read must not reach the socket ahead of the page, or
    a client applying what it gets in order keeps the message unedited (it has
    applied the edit already, to nothing). A slow read is a fault a real database
    does not produce on demand: the read is held between its query and its answer."""
    tokens = await make_users(chat_server, ["alice", "bob"])
    store = chat_server.service.store
    read_entries = store.entries_before
    page_read, go_on = asyncio.Event(), asyncio.Event()

    async def slow_read(*args: Any, **kwargs: Any) -> Any:
        page = await read_entries(*args, **kwargs)
        page_read.set()
        await go_on.wait()
        return page

    async with (
        acting(chat_server, tokens["alice"], "http") as alice,
        joined(chat_server, tokens["bob"], protocol=2) as bob,
    ):
        await alice.write("message", "general", text="typo hre")
        await next_entry(bob)
        monkeypatch.setattr(store, "entries_before", slow_read)
        await bob.send(json.dumps({"type": "history", "room": "general"}))
        await asyncio.wait_for(page_read.wait(), 10)
        # Answered over HTTP once stored and published to every socket.
        assert await alice.write("edit", "general", target=1, text="typo here") == ("ack", 2)
        go_on.set()
        seen = [await recv_until(bob, lambda e: e.type in ("history", "edit")) for _ in range(2)]
    page = next(event for event in seen if isinstance(event, HistoryPage))
    edited = page.messages[0].text == "typo here"
    assert seen[0] is page or edited, "the edit overtook a page that lacks it"
