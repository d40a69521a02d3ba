"""A crafted ``settings.ini`` runs nothing: Qt-typed values are refused, the app starts clean.

Issue 11: the window geometry was stored as bytes, which PySide writes as a
pickle (``@Variant(...PySide::PyObjectWrapper...)``), and QSettings unpickles
such a value as soon as it parses its section: a crafted file ran a command
as the app's user. The value here is made by QSettings itself from an object
whose unpickling would create a folder, then written under every key the app
reads (and one it does not know).
"""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings

from chat_desktop.app import ChatApp
from chat_desktop.controller.settings import AppSettings, Session
from tests.waiting import eventually

KEYS = [
    "session/server_url",
    "session/username",
    "session/hosted",
    "session/token",
    "window/geometry",
    "window/saved_geometry",
    "somewhere/unknown",
]


class RunsACommand:
    """Unpickled, it calls os.mkdir(marker): proof that code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.mkdir, (str(self.marker),))


def crafted_value(tmp_path: Path, marker: Path) -> str:
    """The INI text QSettings writes for a Python object: a pickle in ``@Variant(...)``."""
    maker = QSettings(str(tmp_path / "maker.ini"), QSettings.Format.IniFormat)
    maker.setValue("x/evil", RunsACommand(marker))
    maker.sync()
    del maker
    line = next(
        line
        for line in (tmp_path / "maker.ini").read_text().splitlines()
        if line.startswith("evil=")
    )
    value = line.removeprefix("evil=")
    assert value.startswith("@Variant(\\0\\0\\0\\x7f") and "PySide::PyObjectWrapper" in value
    return value


def write_crafted_settings(data_dir: Path, value: str) -> None:
    sections: dict[str, list[str]] = {}
    for key in KEYS:
        section, name = key.split("/")
        sections.setdefault(section, []).append(f"{name}={value}")
    data_dir.mkdir(parents=True)
    (data_dir / "settings.ini").write_text(
        "".join(f"[{section}]\n" + "\n".join(lines) + "\n\n" for section, lines in sections.items())
    )


def test_a_pickle_under_every_key_runs_nothing_and_the_app_starts_with_defaults(
    tmp_path: Path, run: Any, caplog: pytest.LogCaptureFixture
) -> None:
    marker = tmp_path / "the-pickle-ran"
    data_dir = tmp_path / "app"
    write_crafted_settings(data_dir, crafted_value(tmp_path, marker))

    with caplog.at_level(logging.WARNING, logger="chat_desktop.controller.settings"):
        settings = AppSettings(data_dir)
        for _ in range(2):
            assert settings.session() is None
            assert settings.last_server() == ("", "", False)
            assert settings.window_geometry() == b""
            assert settings.text("somewhere/unknown", "default") == "default"
    assert not marker.exists()
    refused = [record.getMessage() for record in caplog.records]
    # One warning per key read, however often it is read.
    for key in ["session/server_url", "session/username", "session/hosted", "session/token"]:
        assert sum(key in message for message in refused) == 1, refused

    async def start() -> None:
        app = ChatApp(data_dir)
        running = asyncio.ensure_future(app.run())
        await eventually(lambda: app.dialog is not None and app.dialog.isVisible())
        assert app.dialog is not None
        assert app.window is None and app.dialog.username.text() == ""
        app.quit()
        assert await running == 0

    run(start())
    assert not marker.exists()
    # The old Qt-typed keys are gone from the file; nothing typed was written.
    text = (data_dir / "settings.ini").read_text()
    assert "token=" not in text and "\ngeometry=" not in text


def test_the_session_and_geometry_are_stored_as_plain_text(tmp_path: Path) -> None:
    settings = AppSettings(tmp_path / "app")
    settings.remember(Session("http://chat.lan:8765", "@alice", "secret-token", hosted=True))
    geometry = bytes(range(256))
    settings.set_window_geometry(geometry)
    text = (tmp_path / "app" / "settings.ini").read_text()
    assert "@Variant" not in text and "@ByteArray" not in text and "secret-token" not in text
    again = AppSettings(tmp_path / "app")
    assert again.window_geometry() == geometry
    assert again.session() == Session("http://chat.lan:8765", "@alice", "secret-token", True)
