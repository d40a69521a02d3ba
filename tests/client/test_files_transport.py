"""Files as the app moves them (issue 13): FileClient's streamed upload and download,
and the size-capped downloads cache, against the in-process server.

Bytes are compared by SHA-256 end to end; a cancelled upload must leave
nothing on the server, a file above the limit is refused before its bytes go.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from chat_desktop.storage.downloads import DownloadCache, downloads_folder
from chat_desktop.transport.files import FileClient
from chat_desktop.transport.http_api import ApiError
from chat_server.app import ChatServer
from tests.accounts import sign_in
from tests.sqlite_driver import sqlite
from tests.waiting import eventually

MiB = 1024 * 1024


@pytest.fixture
async def client(chat_server: ChatServer) -> AsyncIterator[FileClient]:
    token = await sign_in(chat_server.base_url, "alice", "test", new=True)
    client = FileClient(chat_server.base_url, token)
    yield client
    await client.close()


def a_file(folder: Path, size: int, name: str = "data.bin") -> Path:
    path = folder / name
    path.write_bytes(os.urandom(size))
    return path


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def uploads_on(server: ChatServer) -> int:
    """Uploads the server has recorded (read from its database file, as committed)."""
    with contextlib.closing(sqlite.connect(server.config.data_dir / "chat.sqlite3")) as db:
        return int(db.execute("SELECT COUNT(*) FROM uploads").fetchone()[0])


def stored_bytes(server: ChatServer) -> list[Path]:
    root = server.config.data_dir / "files"
    return [path for path in root.rglob("*") if path.is_file()]


async def test_an_upload_streams_from_disk_and_comes_back_identical(
    client: FileClient, tmp_path: Path
) -> None:
    path = a_file(tmp_path, 3 * MiB + 5, "report final.pdf")
    progress: list[tuple[int, int]] = []
    uploaded = await client.upload(path, on_progress=lambda *step: progress.append(step))
    data = path.read_bytes()
    assert (uploaded.name, uploaded.size, uploaded.type) == (
        "report final.pdf",
        len(data),
        "application/pdf",
    )
    assert uploaded.sha256 == sha(data)
    # Progress climbs block by block to the whole file.
    assert len(progress) > 3 and progress[-1] == (len(data), len(data))
    assert [sent for sent, _ in progress] == sorted(sent for sent, _ in progress)
    cache = DownloadCache(tmp_path / "downloads")
    with cache.receive(uploaded.id, uploaded.type) as into:
        got = await client.download(uploaded.id, into)
    kept = cache.get(uploaded.id, uploaded.type)
    assert got == len(data) and kept is not None and sha(kept.read_bytes()) == sha(data)


async def test_the_limit_comes_from_the_health_check(
    chat_server: ChatServer, client: FileClient
) -> None:
    assert await client.limit() == chat_server.config.max_file_bytes


async def test_a_file_above_the_limit_is_413_before_its_bytes_go(
    chat_server: ChatServer, client: FileClient, tmp_path: Path
) -> None:
    chat_server.files.config.max_file_bytes = MiB
    path = a_file(tmp_path, 8 * MiB)
    sent: list[int] = []
    with pytest.raises(ApiError) as refused:
        await client.upload(path, on_progress=lambda done, _: sent.append(done))
    assert refused.value.status == 413 and refused.value.code == "too_large"
    # Refused on the declared length: hardly any of the 8 MiB went.
    assert not sent or sent[-1] < 8 * MiB
    assert uploads_on(chat_server) == 0


async def test_a_cancelled_upload_leaves_nothing_on_the_server(
    chat_server: ChatServer, client: FileClient, tmp_path: Path
) -> None:
    path = a_file(tmp_path, 20 * MiB)
    going = asyncio.Event()

    def progress(done: int, _total: int) -> None:
        going.set()

    task = asyncio.create_task(client.upload(path, on_progress=progress))
    await asyncio.wait_for(going.wait(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await eventually(lambda: not stored_bytes(chat_server) and uploads_on(chat_server) == 0)


async def test_a_deleted_upload_is_gone_and_deleting_again_is_quiet(
    client: FileClient, tmp_path: Path
) -> None:
    uploaded = await client.upload(a_file(tmp_path, 1000))
    await client.delete(uploaded.id)
    await client.delete(uploaded.id)
    cache = DownloadCache(tmp_path / "downloads")
    with pytest.raises(ApiError) as missing, cache.receive(uploaded.id, uploaded.type) as into:
        await client.download(uploaded.id, into)
    assert missing.value.status == 404
    # Nothing of the failed download stays behind.
    assert not any((tmp_path / "downloads").iterdir())


def test_downloaded_files_are_named_by_id_and_private(tmp_path: Path) -> None:
    cache = DownloadCache(downloads_folder(tmp_path / "cache" / "me.sqlite3"))
    with cache.receive("AbC_12-x", "image/png") as into:
        into.write(b"png")
    path = cache.get("AbC_12-x", "image/png")
    assert path is not None and path.name == "AbC_12-x.png"
    assert path.parent == tmp_path / "cache" / "me-files"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    # An id is never a path, whatever the network says.
    for bad in ("../escape", "a/b", "", ".hidden", "x" * 65):
        with pytest.raises(ValueError):
            cache.path_for(bad, "text/plain")
    # A type that is no type gives no extension, never a strange one.
    assert cache.path_for("abc", "text/../../x").name == "abc"


def test_the_downloads_cache_keeps_under_its_cap_dropping_the_least_recently_used(
    tmp_path: Path,
) -> None:
    cache = DownloadCache(tmp_path / "d", limit=2500)
    for index, name in enumerate(["old", "used", "new"]):
        with cache.receive(name, "") as into:
            into.write(b"x" * 1000)
        # Distinct times of last use, oldest first.
        os.utime(cache.path_for(name, ""), (1000 + index, 1000 + index))
    assert cache.get("used", "") is not None  # touched: now the most recent
    with cache.receive("newest", "") as into:
        into.write(b"x" * 1000)
    kept = sorted(path.name for path in (tmp_path / "d").iterdir())
    assert kept == ["newest", "used"] and cache.used() <= 2500


def test_a_file_i_sent_is_kept_as_a_copy_only_when_its_bytes_are_what_the_server_has(
    tmp_path: Path,
) -> None:
    cache = DownloadCache(tmp_path / "d")
    mine = tmp_path / "screen.png"
    mine.write_bytes(os.urandom(3 * MiB + 5))
    sent = hashlib.sha256(mine.read_bytes()).hexdigest()
    kept = cache.adopt(mine, "first", "image/png", sent)
    assert kept == cache.get("first", "image/png")
    assert kept is not None and kept.read_bytes() == mine.read_bytes()
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    # A copy, not a second name: the original may change or go.
    mine.unlink()
    assert kept.read_bytes() != b""
    # Changed after it went up: nothing kept (it will be downloaded), nothing left over.
    other = tmp_path / "edited.png"
    other.write_bytes(b"edited since")
    assert cache.adopt(other, "second", "image/png", sent) is None
    assert cache.get("second", "image/png") is None
    assert sorted(path.name for path in (tmp_path / "d").iterdir()) == ["first.png"]
