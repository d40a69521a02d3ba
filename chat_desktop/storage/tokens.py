"""Where the session token is kept: the system keyring when one answers, else a 0600 file.

The token lets anyone who holds it act as the user, so it is not kept in
``settings.ini`` with the rest. With the platform's own data folder it goes to
the operating system's keyring through the ``keyring`` package (Secret
Service or KWallet, macOS Keychain, Windows Credential Locker), provided a
backend answers within a second: a locked or absent Secret Service can hang
for the D-Bus timeout, and the app must not wait for it. Otherwise, and always
with ``--data-dir`` (portable use, tests, the bundle smoke test, where the
folder is the whole state), the token is a file in the data folder that only
the user can read (:mod:`.private`).

Every keyring call runs on a daemon thread of the store's own, in order, and
is waited for with a bound: a backend that stops answering later costs one
second and falls back to the file, never a frozen window.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar

from .private import private_dir, write_private

log = logging.getLogger(__name__)

# The keyring entry: one session per operating-system user (the default data folder).
SERVICE = "chat-desktop"
ACCOUNT = "session-token"
TOKEN_FILE = "token"
# Seconds a keyring backend may take to answer before the file is used instead.
KEYRING_TIMEOUT = 1.0

T = TypeVar("T")


class TokenStore(Protocol):
    """Keeps the one session token of a data folder."""

    def get(self) -> str | None: ...

    def set(self, token: str) -> None: ...

    def delete(self) -> None: ...


class FileTokenStore:
    """The token in a file of its own, mode 0600, in a 0700 folder."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def get(self) -> str | None:
        try:
            token = self.path.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as exc:
            log.warning("Cannot read the sign-in token in %s (%s); sign in again.", self.path, exc)
            return None
        return token or None

    def set(self, token: str) -> None:
        private_dir(self.path.parent)
        write_private(self.path, token.encode("utf-8"))

    def delete(self) -> None:
        self.path.unlink(missing_ok=True)


class KeyringSilent(Exception):
    """The keyring backend did not answer in time, or failed."""


class _KeyringThread:
    """Runs keyring calls one after another on one daemon thread, each waited for with a bound.

    One thread, in order: a call that timed out may still finish later, and
    it must not overwrite what a newer call wrote (a late "set" of an old
    token after the new one). A daemon thread, not an executor: a backend that
    never answers must not keep the app from exiting (executor threads are
    joined at exit).
    """

    def __init__(self) -> None:
        self._calls: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def run(self, call: Callable[[], T], timeout: float) -> T:
        """``call()``'s result, or KeyringSilent when it fails or takes over ``timeout`` s."""
        done = threading.Event()
        outcome: list[tuple[bool, Any]] = []

        def work() -> None:
            try:
                outcome.append((True, call()))
            # Backends raise their own exceptions (D-Bus, Keychain, WinError),
            # not only keyring's: any failure means "no keyring".
            except Exception as exc:
                outcome.append((False, exc))
            finally:
                done.set()

        self._calls.put(work)
        if self._thread is None:
            self._thread = threading.Thread(target=self._serve, name="keyring", daemon=True)
            self._thread.start()
        if not done.wait(timeout):
            raise KeyringSilent(f"no answer within {timeout:g} s")
        ok, value = outcome[0]
        if not ok:
            raise KeyringSilent(f"{type(value).__name__}: {value}") from value
        result: T = value
        return result

    def _serve(self) -> None:
        while True:
            self._calls.get()()


class KeyringTokenStore:
    """The token in a keyring backend; the file of ``fallback`` when the backend fails.

    ``get`` asks the keyring first and then the file (a token written while
    the keyring was away); ``set`` removes the file copy once the keyring
    holds the token.
    """

    def __init__(
        self,
        backend: Any,
        fallback: FileTokenStore,
        *,
        timeout: float = KEYRING_TIMEOUT,
        thread: _KeyringThread | None = None,
    ) -> None:
        self.backend = backend
        self.fallback = fallback
        self._timeout = timeout
        self._thread = thread or _KeyringThread()

    def _bounded(self, call: Callable[[], T]) -> T:
        return self._thread.run(call, self._timeout)

    def get(self) -> str | None:
        try:
            token = self._bounded(lambda: self.backend.get_password(SERVICE, ACCOUNT))
        except KeyringSilent as exc:
            log.warning("The system keyring did not answer (%s).", exc)
            token = None
        if isinstance(token, str) and token:
            return token
        return self.fallback.get()

    def set(self, token: str) -> None:
        try:
            self._bounded(lambda: self.backend.set_password(SERVICE, ACCOUNT, token))
        except KeyringSilent as exc:
            log.warning(
                "The system keyring did not answer (%s); the token is kept in %s.",
                exc,
                self.fallback.path,
            )
            self.fallback.set(token)
            return
        self.fallback.delete()

    def delete(self) -> None:
        try:
            self._bounded(lambda: self.backend.delete_password(SERVICE, ACCOUNT))
        except KeyringSilent as exc:
            # Also what deleting an entry that is not there raises.
            log.debug("No keyring entry deleted (%s).", exc)
        self.fallback.delete()


def token_store(
    data_dir: Path, *, system_keyring: bool, timeout: float = KEYRING_TIMEOUT
) -> TokenStore:
    """The token store of ``data_dir``: the system keyring if asked for and it answers in
    ``timeout`` seconds, else ``data_dir/token``."""
    file = FileTokenStore(data_dir / TOKEN_FILE)
    if not system_keyring:
        return file
    # Imported only here: its backend discovery reads every installed
    # package's metadata, which a --data-dir start need not pay for.
    try:
        import keyring
        from keyring.backends import fail, null
    except ImportError:
        log.info("The keyring package is not installed; the token is kept in %s.", file.path)
        return file
    backend = keyring.get_keyring()
    if isinstance(backend, fail.Keyring | null.Keyring):
        log.info("No system keyring; the token is kept in %s.", file.path)
        return file
    thread = _KeyringThread()
    try:
        thread.run(lambda: backend.get_password(SERVICE, ACCOUNT), timeout)
    except KeyringSilent as exc:
        log.info("The system keyring did not answer (%s); the token is kept in %s.", exc, file.path)
        return file
    return KeyringTokenStore(backend, file, timeout=timeout, thread=thread)
