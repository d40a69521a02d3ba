"""Files between two real windows on one real server (issue 13, the app's core).

alice sends files through her ChatController as the composer will; bob's
window gets the message with its files and his controller downloads them
into his downloads cache, byte for byte (SHA-256). Also: a file above the
server's limit is refused at once with a sentence saying so, a cancelled
upload leaves nothing on the server, and an upload the server no longer
has (``unknown_file``) is uploaded again and the message still arrives.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path
from typing import Any

from chat_desktop.controller.entries import DeliveryState, MessageEntry
from chat_server.storage.models import Upload
from tests.accounts import register
from tests.sqlite_driver import sqlite
from tests.waiting import eventually

from .conftest import ChatClient, LocalChatServer, alice_and_bob, connected

MiB = 1024 * 1024


def a_file(folder: Path, name: str, size: int) -> Path:
    path = folder / name
    path.write_bytes(os.urandom(size))
    return path


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def with_files(client: ChatClient) -> list[MessageEntry]:
    return [entry for entry in client.w.messages.entries() if entry.files]


def uploads_on(server: LocalChatServer) -> int:
    """Uploads the server has recorded (read from its database file, as committed)."""
    with contextlib.closing(sqlite.connect(server.data_dir / "chat.sqlite3")) as db:
        return int(db.execute("SELECT COUNT(*) FROM uploads").fetchone()[0])


def stored_bytes(server: LocalChatServer) -> list[Path]:
    return [path for path in (server.data_dir / "files").rglob("*") if path.is_file()]


def test_files_sent_in_one_window_arrive_in_the_other_byte_for_byte(
    chat_server_here: LocalChatServer, make_client: Any, run: Any, tmp_path: Path
) -> None:
    async def body() -> None:
        alice, bob = await alice_and_bob(chat_server_here, make_client)
        log = a_file(tmp_path, "build.log", 2 * MiB + 3)
        picture = a_file(tmp_path, "screen shot.png", 40_000)
        progress: list[tuple[str, int, int]] = []
        alice.c.files.uploadProgress.connect(lambda *step: progress.append(step))
        sent = alice.c.files.send("general", "", [log, picture])
        assert sent is not None and [f.name for f in sent.files] == ["build.log", "screen shot.png"]
        # At once in alice's window, its files named while they go up.
        assert with_files(alice)[0].state is DeliveryState.QUEUED

        await eventually(lambda: len(with_files(bob)) == 1)
        (arrived,) = with_files(bob)
        assert (arrived.author, arrived.text) == ("alice", "")
        assert [(f.name, f.size, f.type) for f in arrived.files] == [
            ("build.log", log.stat().st_size, "application/octet-stream"),
            ("screen shot.png", picture.stat().st_size, "image/png"),
        ]
        total = log.stat().st_size + picture.stat().st_size
        assert progress[-1] == (sent.client_id, total, total)
        await eventually(lambda: with_files(alice)[0].state is DeliveryState.DELIVERED)
        assert [f.id for f in with_files(alice)[0].files] == [f.id for f in arrived.files]

        paths: dict[str, str] = {}
        bob.c.files.downloaded.connect(lambda file_id, path: paths.__setitem__(file_id, path))
        for ref in arrived.files:
            bob.c.files.download(ref)
        await eventually(lambda: len(paths) == 2)
        for ref, original in zip(arrived.files, (log, picture), strict=True):
            local = Path(paths[ref.id])
            assert sha(local) == sha(original)
            # Named by the server's id, never by the sender's name.
            assert local.stem == ref.id
        # The cache keeps them: the room opened afresh shows the files.
        reopened = [entry for entry in bob.c.open_room("general") if entry.files]
        assert [entry.files for entry in reopened] == [arrived.files]
        # Asked again, it comes from the cache at once.
        paths.clear()
        bob.c.files.download(arrived.files[0])
        assert list(paths) == [arrived.files[0].id]

    run(body())


def test_a_file_above_the_servers_limit_is_refused_at_once_with_a_clear_message(
    chat_server_here: LocalChatServer, make_client: Any, run: Any, tmp_path: Path
) -> None:
    async def body() -> None:
        assert chat_server_here.server is not None
        chat_server_here.server.files.config.max_file_bytes = MiB
        alice = await make_client(chat_server_here.url, "alice")
        await eventually(lambda: connected(alice) and alice.c.files.max_file_bytes == MiB)
        problems: list[str] = []
        alice.c.problem.connect(problems.append)
        big = a_file(tmp_path, "holiday.mov", MiB + 1)
        assert alice.c.files.send("general", "look", [big]) is None
        assert problems == ["holiday.mov is too large to send: the server takes up to 1.00 MiB."]
        assert alice.texts() == []
        assert uploads_on(chat_server_here) == 0

    run(body())


def test_a_cancelled_upload_leaves_nothing_on_the_server(
    chat_server_here: LocalChatServer, make_client: Any, run: Any, tmp_path: Path
) -> None:
    async def body() -> None:
        alice = await make_client(chat_server_here.url, "alice")
        await eventually(lambda: connected(alice))
        cancelled: list[str] = []
        alice.c.files.uploadCancelled.connect(cancelled.append)
        first = a_file(tmp_path, "small.txt", 1000)
        second = a_file(tmp_path, "large.bin", 20 * MiB)

        def cancel_once_the_second_file_goes(client_id: str, sent: int, _total: int) -> None:
            if sent > 1000 and not cancelled:
                alice.c.files.cancel_upload(client_id)

        alice.c.files.uploadProgress.connect(cancel_once_the_second_file_goes)
        entry = alice.c.files.send("general", "two files", [first, second])
        assert entry is not None
        await eventually(lambda: cancelled == [entry.client_id])
        # The first file had arrived: it is deleted; the second was cut off.
        await eventually(lambda: not stored_bytes(chat_server_here))
        await eventually(lambda: uploads_on(chat_server_here) == 0)
        assert alice.c.files.cancel_upload(entry.client_id) is False

    run(body())


def test_an_upload_the_server_lost_is_sent_again_and_the_message_arrives(
    chat_server_here: LocalChatServer, make_client: Any, run: Any, tmp_path: Path
) -> None:
    async def body() -> None:
        bob = await make_client(chat_server_here.url, "bob")
        # alice's window is not connected: her file goes up over HTTP, the
        # message waits in the outbox for the link.
        alice = await make_client(chat_server_here.url, "alice", connect=False)
        notes = a_file(tmp_path, "notes.txt", 5000)
        entry = alice.c.files.send("general", "notes", [notes])
        assert entry is not None
        # Up, with its id known: the message waits in the outbox.
        await eventually(lambda: bool(with_files(alice)[0].files[0].id))
        # The server drops the upload behind alice's back (as its sweep does after 24 h).
        assert chat_server_here.server is not None
        store: Any = chat_server_here.server.service.store
        await store.run_write(lambda: Upload.delete().execute())
        alice.c.start()
        await eventually(lambda: [e.text for e in with_files(bob)] == ["notes"])
        (arrived,) = with_files(bob)
        paths: list[str] = []
        bob.c.files.downloaded.connect(lambda _id, path: paths.append(path))
        bob.c.files.download(arrived.files[0])
        await eventually(lambda: bool(paths))
        assert sha(Path(paths[0])) == sha(notes)

    run(body())


def test_a_413_from_the_server_is_final_and_the_message_says_too_large(
    chat_server_here: LocalChatServer, make_client: Any, run: Any, tmp_path: Path
) -> None:
    async def body() -> None:
        alice = await make_client(chat_server_here.url, "alice")
        await eventually(lambda: connected(alice) and alice.c.files.max_file_bytes is not None)
        # The server's limit shrinks after alice learned it: only the server can refuse now.
        assert chat_server_here.server is not None
        chat_server_here.server.files.config.max_file_bytes = 1000
        entry = alice.c.files.send("general", "", [a_file(tmp_path, "big.bin", 5000)])
        assert entry is not None
        await eventually(lambda: with_files(alice)[0].state is DeliveryState.FAILED)
        assert with_files(alice)[0].error == "too_large"
        # Retry changes nothing: the same bytes will never fit.
        alice.c.retry(entry.client_id)
        assert with_files(alice)[0].state is DeliveryState.FAILED
        assert uploads_on(chat_server_here) == 0

    run(body())


def test_files_chosen_offline_wait_and_go_after_an_app_restart(
    chat_server_here: LocalChatServer, make_client: Any, run: Any, tmp_path: Path
) -> None:
    async def body() -> None:
        url = chat_server_here.url
        alice_token = await register(url, "alice")
        await chat_server_here.stop()
        # Server down: alice sends a file; it waits (its upload cannot go); she quits.
        alice: ChatClient = await make_client(url, "alice", token=alice_token)
        notes = a_file(tmp_path, "offline notes.txt", 70_000)
        entry = alice.c.files.send("general", "from the train", [notes])
        assert entry is not None
        assert [e.state for e in with_files(alice)] == [DeliveryState.QUEUED]
        await alice.close()

        await chat_server_here.start()
        bob = await make_client(url, "bob")
        # The app starts again: the message with its file is still there, and goes.
        alice.open()
        assert [e.files[0].name for e in with_files(alice)] == ["offline notes.txt"]
        await eventually(lambda: [e.text for e in with_files(bob)] == ["from the train"])
        paths: list[str] = []
        bob.c.files.downloaded.connect(lambda _id, path: paths.append(path))
        bob.c.files.download(with_files(bob)[0].files[0])
        await eventually(lambda: bool(paths))
        assert sha(Path(paths[0])) == sha(notes)
        await eventually(lambda: with_files(alice)[0].state is DeliveryState.DELIVERED)

    run(body())
