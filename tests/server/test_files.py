"""Files over HTTP (issue 13, server side): upload, download with Range, delete, limits, sweep.

Every test runs the real server on a loopback port with its data folder in
tmp_path and talks to it with aiohttp (or a raw socket, where a test needs
a request aiohttp would not send: a body that never comes, a cut-off one).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import io
import logging
import os
import stat
import threading
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import aiohttp
import pytest

from chat_protocol import Message
from chat_protocol.rules import format_ts
from chat_server.app import ChatServer
from chat_server.config import ServerConfig
from chat_server.storage import files as files_module
from chat_server.storage import peewee_store
from chat_server.storage.file_records import UnknownFile, hold_uploads, release_uploads
from chat_server.storage.peewee_store import PeeweeChatStore
from tests.conftest import ServerProcess
from tests.postgres import throwaway_database
from tests.server.wire import (
    PASSWORD,
    bearer,
    http,
    joined,
    message_frame,
    recv_until,
    register,
)
from tests.waiting import eventually

MiB = 1024 * 1024


def configured(config: ServerConfig, **fields: Any) -> ServerConfig:
    return dataclasses.replace(config, **fields)


async def started(config: ServerConfig) -> ChatServer:
    server = ChatServer(config)
    await server.start()
    return server


async def upload(
    session: aiohttp.ClientSession,
    token: str,
    data: Any,
    name: str = "notes.txt",
    content_type: str = "text/plain",
) -> tuple[int, dict[str, Any]]:
    headers = {**bearer(token), "Content-Type": content_type}
    if isinstance(data, bytes):
        # A file object: aiohttp sends it in blocks (and warns about large bytes).
        data = io.BytesIO(data)
    async with session.post(
        "/api/v1/files", params={"name": name}, data=data, headers=headers
    ) as response:
        return response.status, await response.json()


def stored_files(server: ChatServer) -> list[Path]:
    """The bytes at content addresses in the server's files folder."""
    root = server.config.data_dir / "files"
    return sorted(path for path in root.glob("??/*") if path.is_file())


def temporary_files(server: ChatServer) -> list[Path]:
    return sorted((server.config.data_dir / "files" / "tmp").iterdir())


async def raw_request(server: ChatServer, head: str, body: bytes = b"") -> bytes:
    """Send a request by hand (headers as written) and return the whole answer's first bytes."""
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        writer.write(head.replace("\n", "\r\n").encode() + b"\r\n" + body)
        await writer.drain()
        return await asyncio.wait_for(reader.read(4096), 10)
    finally:
        writer.close()
        await writer.wait_closed()


# Upload and download -----------------------------------------------------------


async def test_an_upload_comes_back_byte_for_byte_with_its_sha256(chat_server: ChatServer) -> None:
    alice = await register(chat_server, "alice")
    data = os.urandom(3 * MiB + 17)
    async with http(chat_server) as session:
        status, body = await upload(session, alice, data, "log.txt", "text/plain; charset=utf-8")
        assert status == 201
        assert body == {
            "id": body["id"],
            "name": "log.txt",
            "size": len(data),
            "type": "text/plain",
            "sha256": hashlib.sha256(data).hexdigest(),
        }
        async with session.get(f"/api/v1/files/{body['id']}", headers=bearer(alice)) as response:
            assert response.status == 200
            assert await response.read() == data
            assert response.headers["Content-Length"] == str(len(data))
            assert response.headers["X-Content-Type-Options"] == "nosniff"
            # Not an image: downloaded as opaque bytes, never shown in place.
            assert response.headers["Content-Type"] == "application/octet-stream"
            assert response.headers["Content-Disposition"].startswith("attachment;")


@pytest.mark.parametrize("kind", ["image/png", "image/jpeg", "image/gif", "image/webp"])
async def test_the_four_image_types_are_served_inline_as_themselves(
    chat_server: ChatServer, kind: str
) -> None:
    alice = await register(chat_server, "alice")
    async with http(chat_server) as session:
        _, body = await upload(session, alice, b"not really an image", "shot", kind)
        async with session.get(f"/api/v1/files/{body['id']}", headers=bearer(alice)) as response:
            assert response.headers["Content-Type"] == kind
            assert response.headers["Content-Disposition"].startswith("inline;")
            assert response.headers["X-Content-Type-Options"] == "nosniff"


async def test_svg_and_html_are_never_served_inline(chat_server: ChatServer) -> None:
    alice = await register(chat_server, "alice")
    async with http(chat_server) as session:
        for kind in ("image/svg+xml", "text/html"):
            _, body = await upload(session, alice, b"<script>alert(1)</script>", "x", kind)
            assert body["type"] == kind
            path = f"/api/v1/files/{body['id']}"
            async with session.get(path, headers=bearer(alice)) as response:
                assert response.headers["Content-Type"] == "application/octet-stream"
                assert response.headers["Content-Disposition"].startswith("attachment;")


async def test_any_name_comes_back_exactly_in_the_rfc_6266_form(chat_server: ChatServer) -> None:
    alice = await register(chat_server, "alice")
    name = 'Rapport "final"; été 2026 ☃ 100%.pdf'
    async with http(chat_server) as session:
        _, body = await upload(session, alice, b"%PDF", name, "application/pdf")
        assert body["name"] == name
        async with session.get(f"/api/v1/files/{body['id']}", headers=bearer(alice)) as response:
            disposition = response.headers["Content-Disposition"]
    plain, _, encoded = disposition.partition("; filename*=UTF-8''")
    assert unquote(encoded, errors="strict") == name
    # The ASCII stand-in is one quoted string a naive parser cannot be tricked by.
    fallback = plain.removeprefix('attachment; filename="').removesuffix('"')
    assert fallback.isascii() and '"' not in fallback and ";" in fallback


async def test_without_a_content_type_a_file_is_octet_stream(chat_server: ChatServer) -> None:
    alice = await register(chat_server, "alice")
    # By hand: aiohttp's client would add a Content-Type of its own.
    answer = await raw_request(
        chat_server,
        f"POST /api/v1/files?name=blob.bin HTTP/1.1\nHost: x\nAuthorization: Bearer {alice}\n"
        "Content-Length: 2\nConnection: close\n",
        b"\x00\x01",
    )
    assert answer.startswith(b"HTTP/1.1 201 ")
    assert b'"type":"application/octet-stream"' in answer


@pytest.mark.parametrize(
    "name", ["", "a/b", "a\\b", "tab\there", "new\nline", "nul\x00", "del\x7f", "x" * 256]
)
async def test_a_bad_file_name_is_400_and_nothing_is_stored(
    chat_server: ChatServer, name: str
) -> None:
    alice = await register(chat_server, "alice")
    async with http(chat_server) as session:
        status, body = await upload(session, alice, b"data", name)
    assert (status, body["code"]) == (400, "bad_request")
    assert stored_files(chat_server) == []


async def test_a_name_of_255_characters_is_accepted(chat_server: ChatServer) -> None:
    alice = await register(chat_server, "alice")
    async with http(chat_server) as session:
        status, body = await upload(session, alice, b"data", "é" * 255)
    assert status == 201 and body["name"] == "é" * 255


@pytest.mark.parametrize("declared", ["not a type", "/", "a/b/c"])
async def test_a_content_type_that_is_no_media_type_counts_as_octet_stream(
    chat_server: ChatServer, declared: str
) -> None:
    alice = await register(chat_server, "alice")
    async with http(chat_server) as session:
        status, body = await upload(session, alice, b"data", content_type=declared)
    assert (status, body["type"]) == (201, "application/octet-stream")


async def test_file_routes_need_a_token(chat_server: ChatServer) -> None:
    async with http(chat_server) as session:
        for method, path in (
            ("POST", "/api/v1/files?name=a"),
            ("GET", "/api/v1/files/x"),
            ("DELETE", "/api/v1/files/x"),
        ):
            async with session.request(method, path, data=b"x") as response:
                assert response.status == 401, (method, path)


async def test_an_upload_far_above_the_json_limit_is_not_refused_as_json(
    chat_server: ChatServer,
) -> None:
    # The 64 KiB limit is for frames and JSON bodies; uploads have their own.
    alice = await register(chat_server, "alice")
    data = b"y" * (chat_server.config.limits.max_frame_bytes * 4)
    async with http(chat_server) as session:
        status, body = await upload(session, alice, data, content_type="text/plain")
    assert status == 201 and body["size"] == len(data)


async def test_a_file_survives_a_restart_of_the_server(server_config: ServerConfig) -> None:
    server = await started(server_config)
    try:
        alice = await register(server, "alice")
        async with http(server) as session:
            _, body = await upload(session, alice, b"kept")
    finally:
        await server.stop()
    server = await started(server_config)
    try:
        async with (
            http(server) as session,
            session.get(f"/api/v1/files/{body['id']}", headers=bearer(alice)) as response,
        ):
            assert await response.read() == b"kept"
    finally:
        await server.stop()


# Range --------------------------------------------------------------------------


async def test_a_range_request_gets_206_with_just_those_bytes(chat_server: ChatServer) -> None:
    alice = await register(chat_server, "alice")
    data = bytes(range(256)) * 40
    async with http(chat_server) as session:
        _, body = await upload(session, alice, data)
        path = f"/api/v1/files/{body['id']}"
        headers = {**bearer(alice), "Range": "bytes=1000-1999"}
        async with session.get(path, headers=headers) as response:
            assert response.status == 206
            assert await response.read() == data[1000:2000]
            assert response.headers["Content-Range"] == f"bytes 1000-1999/{len(data)}"
        headers = {**bearer(alice), "Range": "bytes=-10"}
        async with session.get(path, headers=headers) as response:
            assert response.status == 206 and await response.read() == data[-10:]


@pytest.mark.parametrize("asked", ["bytes=999999-", "bytes=0-1,5-6", "lines=1-2"])
async def test_an_unsatisfiable_or_multiple_range_is_416(
    chat_server: ChatServer, asked: str
) -> None:
    alice = await register(chat_server, "alice")
    async with http(chat_server) as session:
        _, body = await upload(session, alice, b"0123456789")
        headers = {**bearer(alice), "Range": asked}
        async with session.get(f"/api/v1/files/{body['id']}", headers=headers) as response:
            assert response.status == 416


# Who may read and delete --------------------------------------------------------


async def test_someone_else_gets_404_for_a_file_that_is_not_theirs(chat_server: ChatServer) -> None:
    alice = await register(chat_server, "alice")
    bob = await register(chat_server, "bob")
    async with http(chat_server) as session:
        _, body = await upload(session, alice, b"private")
        path = f"/api/v1/files/{body['id']}"
        async with session.get(path, headers=bearer(bob)) as response:
            assert response.status == 404
            unknown = await response.json()
        async with session.get("/api/v1/files/no-such-id", headers=bearer(bob)) as response:
            # The same answer as for an id that does not exist: nothing to learn.
            assert response.status == 404 and await response.json() == unknown
        async with session.delete(path, headers=bearer(bob)) as response:
            assert response.status == 404
        async with session.get(path, headers=bearer(alice)) as response:
            assert await response.read() == b"private"


async def test_a_deleted_upload_is_gone_with_its_bytes(chat_server: ChatServer) -> None:
    alice = await register(chat_server, "alice")
    async with http(chat_server) as session:
        _, body = await upload(session, alice, b"cancelled")
        path = f"/api/v1/files/{body['id']}"
        async with session.delete(path, headers=bearer(alice)) as response:
            assert response.status == 204
        async with session.get(path, headers=bearer(alice)) as response:
            assert response.status == 404
        async with session.delete(path, headers=bearer(alice)) as response:
            assert response.status == 404
    assert stored_files(chat_server) == []


async def test_the_same_bytes_twice_are_stored_once_until_the_last_upload_goes(
    chat_server: ChatServer,
) -> None:
    alice = await register(chat_server, "alice")
    bob = await register(chat_server, "bob")
    async with http(chat_server) as session:
        _, first = await upload(session, alice, b"same bytes", "a.txt")
        _, second = await upload(session, bob, b"same bytes", "b.txt")
        assert first["id"] != second["id"] and first["sha256"] == second["sha256"]
        assert len(stored_files(chat_server)) == 1
        async with session.delete(f"/api/v1/files/{first['id']}", headers=bearer(alice)):
            pass
        async with session.get(f"/api/v1/files/{second['id']}", headers=bearer(bob)) as response:
            assert await response.read() == b"same bytes"
        async with session.delete(f"/api/v1/files/{second['id']}", headers=bearer(bob)):
            pass
    assert stored_files(chat_server) == []


async def test_a_chunked_upload_in_thousands_of_small_chunks_arrives_whole(
    chat_server: ChatServer,
) -> None:
    # Each HTTP chunk reaches the file thread as it came (never joined on the
    # event loop): a block of 512 KiB is here ~1,750 of them, more than one
    # writev takes.
    alice = await register(chat_server, "alice")
    pieces = [os.urandom(300) for _ in range(2500)]

    async def body() -> AsyncIterator[bytes]:
        for piece in pieces:
            yield piece

    data = b"".join(pieces)
    async with http(chat_server) as session:
        status, answer = await upload(session, alice, body(), "pieces.bin")
        assert status == 201
        assert (answer["size"], answer["sha256"]) == (len(data), hashlib.sha256(data).hexdigest())
        async with session.get(f"/api/v1/files/{answer['id']}", headers=bearer(alice)) as response:
            assert await response.read() == data


async def test_chat_goes_on_while_an_uploads_record_waits_for_the_disk(
    chat_server: ChatServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The upload's record is committed; its fsync (on a thread of its own)
    # is held here, as a disk busy with files would hold it.
    syncing, release = threading.Event(), threading.Event()
    sync_log = peewee_store.sync_log

    def held_sync(db: Any) -> None:
        syncing.set()
        release.wait(30)
        sync_log(db)

    monkeypatch.setattr(peewee_store, "sync_log", held_sync)
    alice, bob = await register(chat_server, "alice"), await register(chat_server, "bob")
    try:
        async with http(chat_server) as session, joined(chat_server, bob) as ws:
            uploading = asyncio.ensure_future(upload(session, alice, b"report" * 1000))
            assert await asyncio.to_thread(syncing.wait, 10)
            # A message sent now is stored and delivered: the writer is not
            # waiting for the upload's fsync...
            await ws.send(message_frame("still here"))
            event = await recv_until(ws, lambda e: isinstance(e, Message))
            assert isinstance(event, Message) and event.text == "still here"
            # ...and the uploader hears of its file only once its record is on disk.
            assert not uploading.done()
            release.set()
            status, answer = await uploading
            assert (status, answer["size"]) == (201, 6000)
    finally:
        release.set()


async def test_an_upload_works_on_a_folder_without_hard_links(
    chat_server: ChatServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Some shared folders (SMB) refuse hard links: the bytes are then renamed
    # to their address inside the record's transaction instead of ahead of it.
    def no_links(source: object, target: object) -> None:
        raise PermissionError("this file system has no hard links")

    monkeypatch.setattr(files_module.os, "link", no_links)
    alice = await register(chat_server, "alice")
    async with http(chat_server) as session:
        status, body = await upload(session, alice, b"no links here")
        assert status == 201
        async with session.get(f"/api/v1/files/{body['id']}", headers=bearer(alice)) as response:
            assert await response.read() == b"no links here"
    assert len(stored_files(chat_server)) == 1
    assert temporary_files(chat_server) == []


async def test_bytes_removed_after_they_were_put_ahead_are_placed_again_with_the_record(
    chat_server: ChatServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A sweep may remove bytes at an address (their row unheld) between the
    # upload putting its bytes there ahead and its record's transaction: the
    # record must still never commit without its bytes.
    finish = files_module.SharedFolderStore._finish

    def swept_right_after(store: files_module.SharedFolderStore, sink: Any) -> Any:
        staged = finish(store, sink)
        assert staged.ahead
        store.remove(staged.sha256)
        return staged

    monkeypatch.setattr(files_module.SharedFolderStore, "_finish", swept_right_after)
    alice = await register(chat_server, "alice")
    async with http(chat_server) as session:
        _, body = await upload(session, alice, b"swept meanwhile")
        async with session.get(f"/api/v1/files/{body['id']}", headers=bearer(alice)) as response:
            assert response.status == 200
            assert await response.read() == b"swept meanwhile"
    assert temporary_files(chat_server) == []


# Limits -------------------------------------------------------------------------


async def test_the_health_check_tells_the_upload_limit(server_config: ServerConfig) -> None:
    server = await started(configured(server_config, max_file_bytes=1234))
    try:
        async with http(server) as session, session.get("/api/v1/health") as response:
            assert (await response.json())["max_file_bytes"] == 1234
    finally:
        await server.stop()


async def test_a_file_too_large_by_its_length_is_413_before_the_body_is_sent(
    chat_server: ChatServer,
) -> None:
    alice = await register(chat_server, "alice")
    limit = chat_server.config.max_file_bytes
    # Headers only: the answer comes although not one byte of the body was sent.
    answer = await raw_request(
        chat_server,
        f"POST /api/v1/files?name=big HTTP/1.1\nHost: x\nAuthorization: Bearer {alice}\n"
        f"Content-Type: application/zip\nContent-Length: {limit + 1}\n",
    )
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert b'"code":"too_large"' in answer


async def test_a_file_at_the_limit_fits_and_one_byte_more_is_413(
    server_config: ServerConfig,
) -> None:
    server = await started(configured(server_config, max_file_bytes=100_000))
    try:
        alice = await register(server, "alice")
        async with http(server) as session:
            status, _ = await upload(session, alice, b"a" * 100_000)
            assert status == 201
            status, body = await upload(session, alice, b"b" * 100_001)
            assert (status, body["code"]) == (413, "too_large")
    finally:
        await server.stop()


async def test_a_chunked_body_is_cut_at_the_limit_and_leaves_nothing(
    server_config: ServerConfig,
) -> None:
    server = await started(configured(server_config, max_file_bytes=200_000))
    sent = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal sent
        while sent < 50 * MiB:
            sent += 64 * 1024
            yield b"z" * (64 * 1024)

    try:
        alice = await register(server, "alice")
        async with http(server) as session:
            status, body = await upload(session, alice, endless())
        assert (status, body["code"]) == (413, "too_large")
        assert stored_files(server) == [] and temporary_files(server) == []
    finally:
        await server.stop()


async def hold_uploads_open(
    server: ChatServer, tokens: list[str], release: asyncio.Event
) -> list[asyncio.Task[tuple[int, dict[str, Any]]]]:
    """Start one upload per token that sends a first block and then waits for ``release``."""

    async def body() -> AsyncIterator[bytes]:
        yield b"first block"
        await release.wait()
        yield b" and the rest"

    async def one(token: str) -> tuple[int, dict[str, Any]]:
        async with http(server) as session:
            return await upload(session, token, body())

    before = len(temporary_files(server))
    tasks = [asyncio.create_task(one(token)) for token in tokens]
    # Each upload in progress is a temporary file on the server.
    await eventually(lambda: len(temporary_files(server)) == before + len(tokens))
    return tasks


async def test_too_many_uploads_of_one_user_at_once_get_429_with_retry_after(
    server_config: ServerConfig,
) -> None:
    server = await started(configured(server_config, max_uploads_per_user=2))
    release = asyncio.Event()
    try:
        alice = await register(server, "alice")
        bob = await register(server, "bob")
        running = await hold_uploads_open(server, [alice, alice], release)
        async with (
            http(server) as session,
            session.post("/api/v1/files?name=third", data=b"x", headers=bearer(alice)) as response,
        ):
            assert response.status == 429
            assert (await response.json())["code"] == "rate_limited"
            assert int(response.headers["Retry-After"]) >= 1
        # Someone else is not held up by alice's uploads.
        async with http(server) as session:
            assert (await upload(session, bob, b"mine"))[0] == 201
        release.set()
        assert [status for status, _ in await asyncio.gather(*running)] == [201, 201]
        async with http(server) as session:
            assert (await upload(session, alice, b"now it fits"))[0] == 201
    finally:
        release.set()
        await server.stop()


async def test_too_many_uploads_on_the_server_at_once_get_503_with_retry_after(
    server_config: ServerConfig,
) -> None:
    server = await started(configured(server_config, max_uploads_total=2))
    release = asyncio.Event()
    try:
        tokens = [await register(server, name) for name in ("alice", "bob", "carol")]
        running = await hold_uploads_open(server, tokens[:2], release)
        async with (
            http(server) as session,
            session.post("/api/v1/files?name=c", data=b"x", headers=bearer(tokens[2])) as response,
        ):
            assert response.status == 503
            assert (await response.json())["code"] == "unavailable"
            assert int(response.headers["Retry-After"]) >= 1
        release.set()
        assert [status for status, _ in await asyncio.gather(*running)] == [201, 201]
    finally:
        release.set()
        await server.stop()


async def test_an_upload_that_stops_arriving_is_408_and_leaves_nothing(
    server_config: ServerConfig,
) -> None:
    server = await started(configured(server_config, header_timeout=0.5))
    try:
        alice = await register(server, "alice")
        release = asyncio.Event()
        (task,) = await hold_uploads_open(server, [alice], release)
        status, body = await task
        assert (status, body["code"]) == (408, "request_timeout")
        assert temporary_files(server) == [] and stored_files(server) == []
    finally:
        await server.stop()


async def test_a_client_that_vanishes_mid_upload_leaves_nothing_and_no_error(
    chat_server: ChatServer, caplog: pytest.LogCaptureFixture
) -> None:
    alice = await register(chat_server, "alice")
    _, writer = await asyncio.open_connection("127.0.0.1", chat_server.port)
    head = (
        f"POST /api/v1/files?name=cut HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {alice}\r\n"
        "Content-Length: 100000\r\n\r\n"
    )
    writer.write(head.encode() + b"only a part")
    await writer.drain()
    await eventually(lambda: len(temporary_files(chat_server)) == 1)
    writer.close()
    await writer.wait_closed()
    await eventually(lambda: temporary_files(chat_server) == [])
    assert stored_files(chat_server) == []
    # A client going away is ordinary: no warning, no error, no traceback.
    assert not [record for record in caplog.records if record.levelno >= logging.WARNING]


# Expiry and the sweep ------------------------------------------------------------


async def test_an_upload_nobody_attached_expires_after_24_hours(chat_server: ChatServer) -> None:
    alice = await register(chat_server, "alice")
    async with http(chat_server) as session:
        _, body = await upload(session, alice, b"forgotten")
        now = datetime.now(UTC)
        report = await chat_server.files.sweep(now + timedelta(hours=23))
        assert report.expired_uploads == 0
        async with session.get(f"/api/v1/files/{body['id']}", headers=bearer(alice)) as response:
            assert response.status == 200
        report = await chat_server.files.sweep(now + timedelta(hours=24, minutes=1))
        assert (report.expired_uploads, report.removed_bytes) == (1, 1)
        async with session.get(f"/api/v1/files/{body['id']}", headers=bearer(alice)) as response:
            assert response.status == 404
    assert stored_files(chat_server) == []


async def test_the_sweep_runs_by_itself_at_its_interval(server_config: ServerConfig) -> None:
    config = configured(server_config, file_sweep_seconds=0.05, upload_expiry_seconds=0.0)
    server = await started(config)
    try:
        alice = await register(server, "alice")
        async with http(server) as session:
            _, body = await upload(session, alice, b"short-lived")
        await eventually(lambda: stored_files(server) == [])
        async with (
            http(server) as session,
            session.get(f"/api/v1/files/{body['id']}", headers=bearer(alice)) as response,
        ):
            assert response.status == 404
    finally:
        await server.stop()


def _age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


async def test_a_killed_upload_leaves_nothing_after_a_restart(
    server_process: ServerProcess,
) -> None:
    # A real crash: the server process is killed while a body is arriving.
    base = server_process.url
    async with aiohttp.ClientSession(base_url=base) as session:
        body = {"username": "alice", "password": PASSWORD}
        async with session.post("/api/v1/register", json=body) as response:
            alice = (await response.json())["token"]
    host, port = base.removeprefix("http://").split(":")
    _, writer = await asyncio.open_connection(host, int(port))
    writer.write(
        f"POST /api/v1/files?name=cut HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {alice}"
        "\r\nContent-Length: 10000000\r\n\r\n".encode()
        + b"x" * 2_000_000
    )
    await writer.drain()
    temporary = server_process.data_dir / "files" / "tmp"
    await eventually(lambda: any(temporary.iterdir()))
    await asyncio.to_thread(server_process.kill)
    writer.close()
    with contextlib.suppress(ConnectionError):
        await writer.wait_closed()
    assert any(temporary.iterdir())  # what the crash left
    await asyncio.to_thread(server_process.start)
    assert not any(temporary.iterdir())
    assert not list((server_process.data_dir / "files").glob("??/*"))


async def test_a_crashs_leftovers_in_a_shared_folder_go_once_nobody_writes_them(
    server_config: ServerConfig, tmp_path: Path
) -> None:
    # In a folder several servers may share: a half-received upload, and
    # bytes placed whose record never committed; and young ones another
    # server may be writing or committing right now, which stay.
    files = tmp_path / "shared-files"
    server_config = configured(server_config, files_dir=files)
    (files / "tmp").mkdir(parents=True)
    half = files / "tmp" / "0123.part"
    half.write_bytes(b"half")
    _age(half, 2 * 3600)
    in_flight = files / "tmp" / "4567.part"
    in_flight.write_bytes(b"arriving")
    unheld = hashlib.sha256(b"unheld").hexdigest()
    young = hashlib.sha256(b"young").hexdigest()
    for address in (unheld, young):
        (files / address[:2]).mkdir(exist_ok=True)
        (files / address[:2] / address[2:]).write_bytes(b"bytes")
    _age(files / unheld[:2] / unheld[2:], 2 * 3600)
    server = await started(server_config)
    try:
        assert not half.exists() and in_flight.exists()
        report = await server.files.sweep()
        assert report.removed_bytes == 1
        assert [path.parent.name + path.name for path in files.glob("??/*")] == [young]
    finally:
        await server.stop()


async def test_uploaded_files_and_their_folders_are_the_owners_only(
    chat_server: ChatServer,
) -> None:
    alice = await register(chat_server, "alice")
    async with http(chat_server) as session:
        await upload(session, alice, b"secret")
    (stored,) = stored_files(chat_server)
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    for folder in (stored.parent, stored.parent.parent, stored.parent.parent / "tmp"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700


# The attach step's hooks ---------------------------------------------------------


async def test_a_held_upload_outlives_its_expiry_and_goes_when_released(
    chat_server: ChatServer,
) -> None:
    # hold_uploads / release_uploads are what a message's write will call.
    store = chat_server.service.store
    assert isinstance(store, PeeweeChatStore)
    alice = await register(chat_server, "alice")
    async with http(chat_server) as session:
        _, kept = await upload(session, alice, b"attached")
        _, other = await upload(session, alice, b"not attached")
    now = datetime.now(UTC)
    not_before = format_ts(now - timedelta(hours=1))
    with pytest.raises(UnknownFile):
        await store.run_write(lambda: hold_uploads([kept["id"]], "bob", not_before))
    with pytest.raises(UnknownFile):
        await store.run_write(lambda: hold_uploads([kept["id"], "gone"], "alice", not_before))
    held = await store.run_write(lambda: hold_uploads([kept["id"]], "alice", not_before))
    assert [record.name for record in held] == ["notes.txt"]
    report = await chat_server.files.sweep(now + timedelta(days=2))
    assert report.expired_uploads == 1  # only the one no message carries
    assert await store.run_write(lambda: release_uploads([kept["id"]])) == 1
    await chat_server.files.sweep()
    assert stored_files(chat_server) == []
    assert other["id"] != kept["id"]


# Several servers of one chat ------------------------------------------------------


@pytest.mark.postgres
async def test_two_servers_of_one_chat_share_one_files_folder(
    server_config: ServerConfig, tmp_path: Path
) -> None:
    with throwaway_database("files") as url:
        shared = tmp_path / "shared-files"
        server = await started(configured(server_config, db_url=url, files_dir=shared))
        other = ServerProcess(
            data_dir=tmp_path / "other", extra_args=["--db", url, "--files-dir", str(shared)]
        )
        await asyncio.to_thread(other.start)
        try:
            alice = await register(server, "alice")
            async with http(server) as session:
                _, first = await upload(session, alice, b"on both servers")
            async with aiohttp.ClientSession(base_url=other.url) as session:
                path = f"/api/v1/files/{first['id']}"
                async with session.get(path, headers=bearer(alice)) as response:
                    assert await response.read() == b"on both servers"
                _, second = await upload(session, alice, b"on both servers")
                assert second["sha256"] == first["sha256"]
                assert len(list(shared.glob("??/*"))) == 1
                async with session.delete(path, headers=bearer(alice)) as response:
                    assert response.status == 204
            async with http(server) as session:
                path = f"/api/v1/files/{second['id']}"
                async with session.get(path, headers=bearer(alice)) as response:
                    assert await response.read() == b"on both servers"
                async with session.delete(path, headers=bearer(alice)) as response:
                    assert response.status == 204
            assert list(shared.glob("??/*")) == []
        finally:
            await asyncio.to_thread(other.stop)
            await server.stop()
        assert not other.tracebacks(), "".join(other.output)
