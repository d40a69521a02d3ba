"""AccountController: the signed-in devices of the account, and changing its password.

Behind the "Signed-in devices" and "Change password…" dialogs. Each call
starts one HTTP request (:class:`~chat_desktop.transport.http_api.AccountClient`
with the session's token) as an asyncio task; the answers come back as
signals carrying plain values and sentences for the user, so the dialogs know
nothing about HTTP. Changing the password signs out the account's other
devices on the server; this device keeps its session.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from PySide6.QtCore import QCoreApplication, QObject, Signal

from chat_desktop.transport.http_api import AccountClient, ApiError, DeviceSession
from chat_protocol import rules

from .tasks import TaskGroup
from .wording import request_failed

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Device:
    """One signed-in device as the dialog lists it; times are local, None when unknown."""

    id: str
    name: str
    signed_in: datetime | None
    last_active: datetime | None
    current: bool


def _time(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text).astimezone()
    except ValueError:
        return None


def _device(session: DeviceSession) -> Device:
    return Device(
        session.id,
        session.agent.strip() or QCoreApplication.translate("AccountController", "Unknown device"),
        _time(session.created),
        _time(session.last_used),
        session.current,
    )


class AccountController(QObject):
    """The account's devices and password, for the session ``token`` on ``server_url``.

    Signals:
        busyChanged(bool): a request is running (the dialogs disable their buttons).
        devicesChanged(list): the Device values, this device first, then the most recent.
        failed(str): a request failed; the sentence is plain text for the user.
        passwordChanged(): the new password is set; the other devices are signed out.
        passwordRefused(str, str): the field to fix ("old", "new" or "") and why.
    """

    busyChanged = Signal(bool)
    devicesChanged = Signal(list)
    failed = Signal(str)
    passwordChanged = Signal()
    passwordRefused = Signal(str, str)

    def __init__(
        self,
        server_url: str,
        token: str,
        *,
        ssl_context: ssl.SSLContext | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._token = token
        self._client = AccountClient(server_url, ssl_context=ssl_context)
        self._tasks = TaskGroup()
        self._busy = False
        self.devices: list[Device] = []

    @property
    def busy(self) -> bool:
        return self._busy

    def refresh(self) -> None:
        """Fetch the list of signed-in devices (devicesChanged)."""
        self._start(self._refresh)

    def sign_out_device(self, device_id: str) -> None:
        """End the session of one device, then list again."""
        self._start(lambda: self._then_refresh(self._client.end_session(self._token, device_id)))

    def sign_out_others(self) -> None:
        """End every session of the account but this one, then list again."""
        self._start(lambda: self._then_refresh(self._client.end_other_sessions(self._token)))

    def change_password(self, old: str, new: str, repeated: str) -> None:
        """Check the new password here, then ask the server (passwordChanged/passwordRefused)."""
        if not old:
            self.passwordRefused.emit("old", self.tr("Enter your current password."))
        elif new != repeated:
            self.passwordRefused.emit("new", self.tr("The new passwords do not match."))
        elif not rules.PASSWORD_MIN <= len(new) <= rules.PASSWORD_MAX:
            self.passwordRefused.emit(
                "new",
                self.tr("The new password must be {least}-{most} characters long.").format(
                    least=rules.PASSWORD_MIN, most=rules.PASSWORD_MAX
                ),
            )
        elif new == old:
            self.passwordRefused.emit(
                "new", self.tr("The new password is the same as the current one.")
            )
        else:
            self._start(lambda: self._change_password(old, new))

    async def close(self) -> None:
        """Cancel what runs and close the HTTP session (the dialog was closed)."""
        await self._tasks.close()
        await self._client.close()

    # ------------------------------------------------------------------ work

    def _start(self, work: Callable[[], Awaitable[None]]) -> None:
        if self._busy:
            # One request at a time; the dialogs disable their buttons anyway.
            return
        self._set_busy(True)
        self._tasks.spawn(self._run(work))

    async def _run(self, work: Callable[[], Awaitable[None]]) -> None:
        try:
            await work()
        finally:
            self._set_busy(False)

    async def _refresh(self) -> None:
        try:
            sessions = await self._client.sessions(self._token)
        except ApiError as exc:
            self.failed.emit(request_failed(exc))
            return
        devices = [_device(session) for session in sessions]
        devices.sort(
            key=lambda d: (not d.current, -(d.last_active.timestamp() if d.last_active else 0))
        )
        self.devices = devices
        self.devicesChanged.emit(devices)

    async def _then_refresh(self, request: Awaitable[None]) -> None:
        try:
            await request
        except ApiError as exc:
            self.failed.emit(request_failed(exc))
            return
        await self._refresh()

    async def _change_password(self, old: str, new: str) -> None:
        try:
            await self._client.change_password(self._token, old, new)
        except ApiError as exc:
            field = {"wrong_password": "old", "bad_request": "new"}.get(exc.code or "", "")
            if exc.status == 403:
                field = "old"
            self.passwordRefused.emit(field, request_failed(exc))
            return
        self.passwordChanged.emit()

    def _set_busy(self, busy: bool) -> None:
        if busy != self._busy:
            self._busy = busy
            self.busyChanged.emit(busy)
