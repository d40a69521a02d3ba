"""The session token: in the system keyring when one answers in time, else a 0600 file.

The machine's real keyring is never touched: each test installs, through
keyring's own ``set_keyring``, an in-memory backend written here (a stand-in
for the OS service, which a test cannot make slow or absent on demand).
"""

from __future__ import annotations

import os
import stat
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail, null
from keyring.errors import PasswordDeleteError

from chat_desktop.controller.settings import AppSettings, Session
from chat_desktop.storage.tokens import (
    ACCOUNT,
    SERVICE,
    FileTokenStore,
    KeyringTokenStore,
    token_store,
)

SESSION = Session("http://chat.lan:8765", "alice", "the-token")


class MemoryKeyring(KeyringBackend):
    """A keyring in a dict; ``answering`` cleared makes every call hang until it is set."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}
        self.answering = threading.Event()
        self.answering.set()

    def _wait(self) -> None:
        # A hung D-Bus call: blocks until the test lets it go (at its end).
        self.answering.wait(timeout=30)

    def get_password(self, service: str, username: str) -> str | None:
        self._wait()
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self._wait()
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self._wait()
        if self.entries.pop((service, username), None) is None:
            raise PasswordDeleteError(username)


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        backend.answering.set()
        # Leave no test backend behind, and never the machine's own.
        keyring.set_keyring(fail.Keyring())


def private(path: Path) -> bool:
    return sys.platform == "win32" or stat.S_IMODE(path.stat().st_mode) == 0o600


def test_with_the_default_folder_the_token_goes_to_a_keyring_that_answers(
    tmp_path: Path, memory_keyring: MemoryKeyring
) -> None:
    data_dir = tmp_path / "app"
    store = token_store(data_dir, system_keyring=True, timeout=5)
    assert isinstance(store, KeyringTokenStore)
    AppSettings(data_dir, tokens=store).remember(SESSION)
    assert memory_keyring.entries == {(SERVICE, ACCOUNT): "the-token"}
    assert not (data_dir / "token").exists()
    assert "the-token" not in (data_dir / "settings.ini").read_text()

    restarted = AppSettings(data_dir, tokens=token_store(data_dir, system_keyring=True, timeout=5))
    assert restarted.session() == SESSION
    restarted.forget_token()
    assert memory_keyring.entries == {}
    assert restarted.session() is None


def test_with_a_data_dir_the_token_stays_in_that_folder(
    tmp_path: Path, memory_keyring: MemoryKeyring
) -> None:
    data_dir = tmp_path / "portable"
    store = token_store(data_dir, system_keyring=False)
    AppSettings(data_dir, tokens=store).remember(SESSION)
    assert memory_keyring.entries == {}
    assert (data_dir / "token").read_text() == "the-token"
    assert private(data_dir / "token")
    assert AppSettings(data_dir).session() == SESSION


@pytest.mark.parametrize("backend", [fail.Keyring, null.Keyring])
def test_no_keyring_means_the_file(tmp_path: Path, backend: type[KeyringBackend]) -> None:
    keyring.set_keyring(backend())
    try:
        store = token_store(tmp_path / "app", system_keyring=True)
    finally:
        keyring.set_keyring(fail.Keyring())
    assert isinstance(store, FileTokenStore)


def test_a_keyring_that_does_not_answer_in_time_means_the_file(
    tmp_path: Path, memory_keyring: MemoryKeyring
) -> None:
    memory_keyring.answering.clear()
    data_dir = tmp_path / "app"
    store = token_store(data_dir, system_keyring=True, timeout=0.2)
    assert isinstance(store, FileTokenStore)
    AppSettings(data_dir, tokens=store).remember(SESSION)
    assert (data_dir / "token").read_text() == "the-token" and private(data_dir / "token")
    memory_keyring.answering.set()
    assert memory_keyring.entries == {}


def test_a_keyring_that_stops_answering_later_loses_no_token(
    tmp_path: Path, memory_keyring: MemoryKeyring
) -> None:
    data_dir = tmp_path / "app"
    store = token_store(data_dir, system_keyring=True, timeout=0.2)
    assert isinstance(store, KeyringTokenStore)
    memory_keyring.answering.clear()
    AppSettings(data_dir, tokens=store).remember(SESSION)
    assert (data_dir / "token").read_text() == "the-token" and private(data_dir / "token")
    assert AppSettings(data_dir, tokens=store).session() == SESSION
    # Answering again: the next sign-in goes to the keyring and the file goes away.
    memory_keyring.answering.set()
    store.set("newer-token")
    assert memory_keyring.entries == {(SERVICE, ACCOUNT): "newer-token"}
    assert not (data_dir / "token").exists()


@pytest.mark.parametrize("system_keyring", [True, False])
def test_a_plain_token_in_settings_ini_is_moved_on_first_start(
    tmp_path: Path, memory_keyring: MemoryKeyring, system_keyring: bool
) -> None:
    data_dir = tmp_path / "app"
    data_dir.mkdir()
    (data_dir / "settings.ini").write_text(
        "[session]\nserver_url=http://chat.lan:8765\nusername=alice\n"
        "token=the-token\nhosted=false\n"
    )
    os.chmod(data_dir / "settings.ini", 0o644)
    store = token_store(data_dir, system_keyring=system_keyring, timeout=5)
    settings = AppSettings(data_dir, tokens=store)
    assert settings.session() == SESSION
    assert "the-token" not in (data_dir / "settings.ini").read_text()
    assert private(data_dir / "settings.ini")
    if system_keyring:
        assert memory_keyring.entries == {(SERVICE, ACCOUNT): "the-token"}
        assert not (data_dir / "token").exists()
    else:
        assert (data_dir / "token").read_text() == "the-token"
    assert AppSettings(data_dir, tokens=store).session() == SESSION
