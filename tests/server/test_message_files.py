"""Files on messages (issue 13): attached by id, handed out with every message, readable by
whoever can read the room, gone with the message; over the socket and over HTTP.

alice uploads with ``POST /api/v1/files`` and attaches through the transport
under test (``via``); bob watches on a Version 2 socket, so each test also
shows what crosses to the others. Downloads are checked byte for byte.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection

from chat_protocol import FileInfo, HistoryPage, Message, rules
from chat_server.app import ChatServer

from .test_files import stored_files, upload
from .wire import Writer, acting, api, bearer, http, joined, make_users, recv_until

both = pytest.mark.parametrize("via", ["socket", "http"])


async def uploaded(server: ChatServer, token: str, data: bytes, name: str, kind: str) -> str:
    async with http(server) as session:
        status, body = await upload(session, token, data, name, kind)
    assert status == 201, body
    return str(body["id"])


async def download(server: ChatServer, token: str, file_id: str) -> tuple[int, bytes]:
    async with (
        http(server) as session,
        session.get(f"/api/v1/files/{file_id}", headers=bearer(token)) as response,
    ):
        return response.status, await response.read()


async def next_message(ws: ClientConnection) -> Message:
    event = await recv_until(ws, lambda e: isinstance(e, Message))
    assert isinstance(event, Message)
    return event


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@both
async def test_a_message_carries_its_files_to_every_reader_by_every_route(
    chat_server: ChatServer, via: str
) -> None:
    tokens = await make_users(chat_server, ["alice", "bob"])
    log = os.urandom(300_000)
    picture = os.urandom(5_000)
    log_id = await uploaded(chat_server, tokens["alice"], log, "build log.txt", "text/plain")
    picture_id = await uploaded(chat_server, tokens["alice"], picture, "shot.png", "image/png")
    expected = (
        FileInfo(log_id, "build log.txt", len(log), "text/plain"),
        FileInfo(picture_id, "shot.png", len(picture), "image/png"),
    )
    async with (
        joined(chat_server, tokens["bob"], protocol=2) as bob,
        acting(chat_server, tokens["alice"], via) as alice,
    ):
        # No text at all: the files are the message.
        assert await alice.write("message", "general", files=[log_id, picture_id]) == ("ack", 1)
        broadcast = await next_message(bob)
        assert (broadcast.text, broadcast.files) == ("", expected)
        assert await alice.write(
            "message", "general", text="findings attached", files=[log_id]
        ) == ("ack", 2)
        assert (await next_message(bob)).files == expected[:1]
    # Replay after hello, history, HTTP pages (both views), the long poll, search.
    async with joined(chat_server, tokens["bob"], since={"general": 0}, protocol=2) as replaying:
        replayed = [await next_message(replaying), await next_message(replaying)]
        assert [message.files for message in replayed] == [expected, expected[:1]]
        await replaying.send('{"type":"history","room":"general"}')
        page = await recv_until(replaying, lambda e: isinstance(e, HistoryPage))
        assert isinstance(page, HistoryPage)
        assert [message.files for message in page.messages] == [expected, expected[:1]]
    wire = [info.to_wire() for info in expected]
    async with http(chat_server) as session:
        for path in ("/api/v1/rooms/general/messages", "/api/v1/rooms/general/messages?v=2"):
            _, body = await api(session, "GET", path, tokens["bob"])
            assert [m.get("files") for m in body["messages"]] == [wire, wire[:1]]
        _, body = await api(session, "GET", "/api/v1/events?since=general:0&v=2", tokens["bob"])
        assert [m.get("files") for m in body["messages"]] == [wire, wire[:1]]
        _, body = await api(session, "GET", "/api/v1/search?q=findings", tokens["bob"])
        assert [m["files"] for m in body["results"]] == [wire[:1]]
    # The reader gets the very bytes the sender uploaded.
    for file_id, data in ((log_id, log), (picture_id, picture)):
        status, got = await download(chat_server, tokens["bob"], file_id)
        assert status == 200 and sha(got) == sha(data)


@both
async def test_an_unknown_expired_or_someone_elses_upload_is_unknown_file_and_logs_nothing(
    chat_server: ChatServer, via: str
) -> None:
    tokens = await make_users(chat_server, ["alice", "bob"])
    bobs = await uploaded(chat_server, tokens["bob"], b"bob's", "b.txt", "text/plain")
    mine = await uploaded(chat_server, tokens["alice"], b"alice's", "a.txt", "text/plain")
    async with acting(chat_server, tokens["alice"], via) as alice:
        for files in (["no-such-upload"], [bobs], [mine, "no-such-upload"]):
            assert await alice.write("message", "general", text="x", files=files) == (
                "error",
                "unknown_file",
            )
        async with http(chat_server) as session:
            status, _ = await api(session, "DELETE", f"/api/v1/files/{mine}", tokens["alice"])
            # Nothing held it: the refused messages above left no trace on it.
            assert status == 204
        assert await alice.write("message", "general", files=[mine]) == ("error", "unknown_file")
        assert await alice.write("message", "general", text="still seq 1") == ("ack", 1)


async def test_an_upload_past_its_expiry_cannot_be_attached(chat_server: ChatServer) -> None:
    tokens = await make_users(chat_server, ["alice"])
    old = await uploaded(chat_server, tokens["alice"], b"old", "old.txt", "text/plain")
    chat_server.service.store.upload_expiry_seconds = 0  # type: ignore[attr-defined]
    alice = Writer(chat_server, tokens["alice"])
    assert await alice.write("message", "general", files=[old]) == ("error", "unknown_file")


@both
@pytest.mark.parametrize(
    "fields",
    [
        {"files": [f"f{n}" for n in range(rules.FILES_PER_MESSAGE_MAX + 1)]},
        {"files": []},
        {"files": "abc"},
        {"files": ["../etc/passwd"]},
        {"text": "  "},
    ],
)
async def test_a_malformed_files_list_or_no_text_without_files_is_bad_request(
    chat_server: ChatServer, via: str, fields: dict[str, Any]
) -> None:
    tokens = await make_users(chat_server, ["alice"])
    async with acting(chat_server, tokens["alice"], via) as alice:
        assert await alice.write("message", "general", **fields) == ("error", "bad_request")


@both
async def test_a_retried_message_holds_its_files_once(chat_server: ChatServer, via: str) -> None:
    tokens = await make_users(chat_server, ["alice"])
    file_id = await uploaded(chat_server, tokens["alice"], b"once", "once.txt", "text/plain")
    async with acting(chat_server, tokens["alice"], via) as alice:
        for attempt in range(2):
            assert await alice.write("message", "general", "same-id", files=[file_id]) == (
                "ack",
                1,
            )
            if alice.ws is not None and attempt == 0:
                await next_message(alice.ws)  # its broadcast; the retry has none
        assert await alice.write("delete", "general", target=1) == ("ack", 2)
    # Held once, released once: gone.
    assert (await download(chat_server, tokens["alice"], file_id))[0] == 404


@both
async def test_a_non_member_gets_404_for_a_file_of_a_private_room(
    chat_server: ChatServer, via: str
) -> None:
    tokens = await make_users(chat_server, ["alice", "bob", "carol"])
    secret = b"the plan, in full"
    file_id = await uploaded(chat_server, tokens["alice"], secret, "plan.pdf", "application/pdf")
    async with acting(chat_server, tokens["alice"], via) as alice:
        await alice.create("team", private=True)
        assert await alice.write("invite", "team", user="bob") == ("ack", 1)
        assert await alice.write("message", "team", text="plan", files=[file_id]) == ("ack", 2)
    assert await download(chat_server, tokens["bob"], file_id) == (200, secret)
    missing = await download(chat_server, tokens["carol"], "no-such-file")
    # Exactly the answer for a file that does not exist.
    assert await download(chat_server, tokens["carol"], file_id) == missing
    assert missing[0] == 404
    bob = Writer(chat_server, tokens["bob"])
    assert (await bob.write("leave", "team"))[0] == "ack"
    assert await download(chat_server, tokens["bob"], file_id) == missing


async def test_a_file_of_a_public_room_is_readable_by_everyone(chat_server: ChatServer) -> None:
    tokens = await make_users(chat_server, ["alice", "carol"])
    file_id = await uploaded(chat_server, tokens["alice"], b"for all", "all.txt", "text/plain")
    alice = Writer(chat_server, tokens["alice"])
    assert await alice.write("message", "general", files=[file_id]) == ("ack", 1)
    assert await download(chat_server, tokens["carol"], file_id) == (200, b"for all")


@both
async def test_a_deleted_message_takes_its_files_with_it_for_everyone(
    chat_server: ChatServer, via: str
) -> None:
    tokens = await make_users(chat_server, ["alice", "bob"])
    file_id = await uploaded(chat_server, tokens["alice"], b"regret", "oops.txt", "text/plain")
    async with acting(chat_server, tokens["alice"], via) as alice:
        assert await alice.write("message", "general", files=[file_id]) == ("ack", 1)
        assert await alice.write("delete", "general", target=1) == ("ack", 2)
    for user in ("alice", "bob"):
        assert (await download(chat_server, tokens[user], file_id))[0] == 404
    async with http(chat_server) as session:
        _, body = await api(session, "GET", "/api/v1/rooms/general/messages", tokens["bob"])
    (message,) = body["messages"]
    assert message["deleted"] is True and "files" not in message
    await chat_server.files.sweep()
    assert stored_files(chat_server) == []


async def test_the_bytes_stay_while_another_message_still_carries_the_upload(
    chat_server: ChatServer,
) -> None:
    tokens = await make_users(chat_server, ["alice", "bob"])
    file_id = await uploaded(chat_server, tokens["alice"], b"twice", "t.txt", "text/plain")
    alice = Writer(chat_server, tokens["alice"])
    assert await alice.write("message", "general", files=[file_id]) == ("ack", 1)
    assert await alice.write("message", "general", text="again", files=[file_id]) == ("ack", 2)
    assert await alice.write("delete", "general", target=1) == ("ack", 3)
    await chat_server.files.sweep()
    assert await download(chat_server, tokens["bob"], file_id) == (200, b"twice")


async def test_deleting_a_room_releases_the_files_of_its_messages(
    chat_server: ChatServer,
) -> None:
    tokens = await make_users(chat_server, ["admin", "alice"])
    await chat_server.service.store.set_admin("admin", True)
    file_id = await uploaded(chat_server, tokens["alice"], b"in a room", "r.txt", "text/plain")
    alice = Writer(chat_server, tokens["alice"])
    await alice.create("projects")
    assert await alice.write("message", "projects", files=[file_id]) == ("ack", 1)
    async with http(chat_server) as session:
        status, _ = await api(session, "DELETE", "/api/v1/rooms/projects", tokens["admin"])
    assert status == 204
    assert (await download(chat_server, tokens["alice"], file_id))[0] == 404
    await chat_server.files.sweep()
    assert stored_files(chat_server) == []
