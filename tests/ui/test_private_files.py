"""Another user of the same computer can read nothing the app writes, whatever the umask.

Issue 11: ``settings.ini`` was 0644 in a 0755 folder with the token in plain
text, and the cache files were 0644 too. These tests run the real app (sign-in
dialog, a TLS server whose certificate gets pinned, the chat window, a message
round trip, quit) under ``umask 000``, the worst a user's shell can set, and
``stat`` everything left in the data folder.
"""

from __future__ import annotations

import asyncio
import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chat_desktop.app import ChatApp
from chat_desktop.controller.entries import ConnectionKind
from chat_desktop.controller.settings import AppSettings
from chat_desktop.storage import ChatCache
from tests.waiting import eventually

from .conftest import LocalChatServer, accept_trust, create_account_until_asked_to_trust

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX modes")


@pytest.fixture
def umask_000() -> Iterator[None]:
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


def modes(root: Path) -> dict[str, str]:
    """Every folder and file under ``root`` (and root itself) with its permission bits."""
    found = {".": oct(stat.S_IMODE(root.stat().st_mode))}
    for path in root.rglob("*"):
        found[str(path.relative_to(root))] = oct(stat.S_IMODE(path.stat().st_mode))
    return found


def not_private(found: dict[str, str], root: Path) -> dict[str, str]:
    return {
        name: mode
        for name, mode in found.items()
        if mode != ("0o700" if (root / name).is_dir() else "0o600")
    }


def test_a_sign_in_and_a_message_leave_only_private_files_under_umask_000(
    tmp_path: Path, run: Any, umask_000: None
) -> None:
    data_dir = tmp_path / "app"
    server = LocalChatServer(tmp_path / "server", tls=True)

    async def body() -> None:
        url = await server.start()
        app = ChatApp(data_dir, url)
        running = asyncio.ensure_future(app.run())
        await eventually(lambda: app.dialog is not None and app.dialog.isVisible())
        dialog = app.dialog
        assert dialog is not None
        # Trusting the self-signed certificate writes the pin store.
        accept_trust(await create_account_until_asked_to_trust(dialog))
        await eventually(
            lambda: (
                app.controller is not None
                and app.controller.status.kind is ConnectionKind.CONNECTED
            )
        )
        assert app.window is not None
        app.window.composer.setPlainText("for alice's eyes")
        app.window.composer.submit()
        await eventually(lambda: app.window is not None and app.window.messages.entries()[0].seq)
        assert app.cache is not None
        live = {path.name for path in app.cache.path.parent.iterdir()}
        # Checked while the cache is open: the WAL files exist only then.
        assert any(name.endswith("-wal") for name in live), live
        assert not_private(modes(data_dir), data_dir) == {}
        app.quit()
        assert await running == 0
        await server.stop()

    run(body())
    found = modes(data_dir)
    names = set(found)
    assert {"settings.ini", "token", "pinned-certificates.json", "cache"} <= names, names
    assert any(name.endswith(".sqlite3") for name in names), names
    assert not_private(found, data_dir) == {}
    assert "for alice" not in (data_dir / "settings.ini").read_text()


def test_files_an_older_version_left_readable_are_made_private_on_start(
    tmp_path: Path, umask_000: None
) -> None:
    data_dir = tmp_path / "app"
    data_dir.mkdir(mode=0o755)
    (data_dir / "settings.ini").write_text("[session]\nusername=alice\n")
    cache_file = data_dir / "cache" / "old.sqlite3"
    cache_file.parent.mkdir(mode=0o755)
    ChatCache.open(cache_file).close()
    os.chmod(cache_file, 0o644)
    os.chmod(data_dir / "settings.ini", 0o644)

    AppSettings(data_dir)
    ChatCache.open(cache_file).close()

    assert not_private(modes(data_dir), data_dir) == {}
    assert AppSettings(data_dir).last_server()[1] == "alice"
