"""The app's default data folder: not doubled, and an older version's doubled folder moved up.

Versions before this one kept everything in ``~/.local/share/chat-desktop/chat-desktop``
(Qt's AppDataLocation appends the organisation and the application name, both
"chat-desktop"). A user upgrading must find their token, settings, caches and
hosted chat where the app now looks, with their private modes intact.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from chat_desktop.app import default_data_dir


@pytest.fixture
def data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, qapp: object) -> Path:
    # XDG_DATA_HOME is where QStandardPaths puts the generic data location on Linux.
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    return tmp_path


def test_the_default_data_folder_is_named_once(data_home: Path) -> None:
    assert default_data_dir() == data_home / "chat-desktop"


def test_an_older_doubled_folder_is_moved_up_with_its_modes(data_home: Path) -> None:
    doubled = data_home / "chat-desktop" / "chat-desktop"
    (doubled / "server").mkdir(parents=True, mode=0o700)
    files = {
        "settings.ini": b"[session]\nusername=alice\n",
        "token": b"secret-token",
        "cache-abc-alice.sqlite3": b"SQLite format 3\0",
        "server/chat.sqlite3": b"SQLite format 3\0",
    }
    for name, data in files.items():
        path = doubled / name
        path.write_bytes(data)
        os.chmod(path, 0o600)

    folder = default_data_dir()

    assert folder == data_home / "chat-desktop"
    for name, data in files.items():
        moved = folder / name
        assert moved.read_bytes() == data, name
        assert stat.S_IMODE(moved.stat().st_mode) == 0o600, name
    assert not (folder / "chat-desktop").exists()
    assert not (folder / ".chat-desktop-moving").exists()


def test_a_name_already_in_the_new_folder_is_never_overwritten(data_home: Path) -> None:
    folder = data_home / "chat-desktop"
    doubled = folder / "chat-desktop"
    doubled.mkdir(parents=True)
    (doubled / "token").write_text("old")
    (doubled / "settings.ini").write_text("old settings")
    (folder / "settings.ini").write_text("new settings")

    default_data_dir()

    assert (folder / "settings.ini").read_text() == "new settings"
    assert (folder / "token").read_text() == "old"
    # What could not move stays, aside, for the user to look at; nothing is lost.
    assert (folder / ".chat-desktop-moving" / "settings.ini").read_text() == "old settings"
