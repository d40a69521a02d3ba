"""The server's HTTP API as the client uses it: accounts, and the plumbing for polling.

:class:`AccountClient` does what happens before there is a session: check that
a server answers (``health``), register, log in, log out; and the account's
own housekeeping once signed in: list the signed-in devices (sessions), end
one or all others, change the password. :class:`ApiSession`
is the shared plumbing under it and under the polling fallback of
:mod:`.polling`: one ``aiohttp.ClientSession`` per server, created lazily
inside the running event loop (aiohttp wants that, and it keeps the object
usable under qasync), JSON in and out, and every network failure turned into
an :class:`ApiError` whose text a user can read.
"""

from __future__ import annotations

import logging
import math
import platform
import ssl
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

if TYPE_CHECKING:
    import aiohttp

from chat_desktop import __version__
from chat_protocol import ProtocolError, dump_json, load_object, rules
from chat_protocol.errors import ErrorCode

log = logging.getLogger(__name__)

# Sent with every request: the server shows it in the list of signed-in devices.
USER_AGENT = f"Chat Desktop/{__version__} ({platform.system() or 'unknown system'})"


class NoAnswer(StrEnum):
    """Why no answer came (``ApiError.status`` 0): the app words each in the user's language."""

    CLOSED = "closed"
    UNTRUSTED = "untrusted_certificate"
    UNREACHABLE = "unreachable"
    INVALID_ADDRESS = "invalid_address"
    TIMEOUT = "timeout"
    BROKEN = "broken"


class ApiError(Exception):
    """An HTTP call failed; ``str(error)`` is a sentence fit for the user.

    ``status`` is the HTTP status, or 0 when no answer came (server unreachable,
    timeout, broken connection). ``code`` is the protocol error code when the
    server sent one, ``retry_after`` the seconds a 429 asks us to wait.
    ``no_answer`` says why no answer came (status 0), ``where`` is the server.
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        retry_after: float | None = None,
        no_answer: NoAnswer | None = None,
        where: str = "",
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.retry_after = retry_after
        self.no_answer = no_answer
        self.where = where

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True, slots=True)
class Credentials:
    """A session token and the user name exactly as the server spells it."""

    username: str
    token: str


@dataclass(frozen=True, slots=True)
class DeviceSession:
    """One signed-in device of the account, as ``GET /api/v1/sessions`` lists it.

    ``created`` and ``last_used`` are the server's ISO 8601 times; ``agent``
    is the User-Agent the device signed in with ("" when unknown).
    """

    id: str
    created: str
    last_used: str
    current: bool
    agent: str


@dataclass(frozen=True, slots=True)
class Person:
    """An account of the server, as ``GET /api/v1/users`` lists it (Version 2, People)."""

    username: str
    online: bool
    admin: bool


@dataclass(frozen=True, slots=True)
class ApiResponse:
    """An HTTP answer: status, the JSON object of the body ({} if none) and Retry-After."""

    status: int
    body: dict[str, Any]
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def server_message(self) -> str | None:
        """The human sentence the server put in an error body, if any."""
        for key in ("message", "error", "detail"):
            value = self.body.get(key)
            if isinstance(value, str) and value:
                return value
            if isinstance(value, dict) and isinstance(value.get("message"), str):
                return str(value["message"])
        return None

    def server_code(self) -> str | None:
        """The protocol error code of an error body, if any."""
        code = self.body.get("code")
        if isinstance(code, str):
            return code
        error = self.body.get("error")
        if isinstance(error, dict) and isinstance(error.get("code"), str):
            return str(error["code"])
        return None


def too_many_attempts(retry_after: float | None) -> str:
    """The sentence for a 429."""
    if retry_after is None:
        return "Too many attempts; try again later"
    return f"Too many attempts; try again in {max(1, math.ceil(retry_after))} s"


def _retry_after(headers: Any) -> float | None:
    value = headers.get("Retry-After")
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


class ApiSession:
    """HTTP requests to one server over one aiohttp session, with user-fit errors.

    ``token`` goes into ``Authorization: Bearer`` when set. ``ssl_context`` is
    used for ``https://`` servers (see :mod:`.pinning` for self-signed ones).
    """

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
        timeout: float = 15.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._token = token
        self._ssl = ssl_context
        # Seconds a request may take unless the call says otherwise (the long poll does).
        self._timeout = timeout
        # Created on first use, inside the running loop; closed by close().
        self._session: aiohttp.ClientSession | None = None
        self._closed = False

    def _client(self) -> aiohttp.ClientSession:
        # aiohttp is imported on first use, not with this module: it takes
        # ~0.1 s to import, and a start with a saved session shows the window
        # and connects over the WebSocket link without it.
        import aiohttp

        if self._closed:
            raise ApiError(
                0,
                "The connection to the server was closed",
                no_answer=NoAnswer.CLOSED,
                where=self.base_url,
            )
        if self._session is None:
            headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
            if self._token is not None:
                headers["Authorization"] = f"Bearer {self._token}"
            self._session = aiohttp.ClientSession(headers=headers)
        return self._session

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
        time_limit: float | None = None,
        token: str | None = None,
    ) -> ApiResponse:
        """Send one request to ``base_url + path``; any HTTP status comes back as a response.

        ``time_limit`` overrides the session's timeout (the long poll needs
        more). ``token`` authorises this one call (logout of a token the session does
        not hold). Raises :class:`ApiError` (status 0) when no HTTP answer arrives.
        """
        import aiohttp  # already loaded by _client(); see there why it is imported here

        url = self.base_url + path
        client = self._client()
        data = None if json is None else dump_json(json).encode()
        headers: dict[str, str] = {}
        if json is not None:
            headers["Content-Type"] = "application/json"
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        limit = aiohttp.ClientTimeout(total=time_limit if time_limit is not None else self._timeout)
        try:
            async with client.request(
                method,
                url,
                data=data,
                headers=headers,
                params=params,
                timeout=limit,
                ssl=self._ssl if self._ssl is not None else True,
            ) as response:
                raw = await response.read()
                return ApiResponse(
                    status=response.status,
                    body=_json_object(raw),
                    retry_after=_retry_after(response.headers),
                )
        except aiohttp.ClientConnectorCertificateError as exc:
            raise self._no_answer(
                NoAnswer.UNTRUSTED,
                f"The certificate of the server at {self.base_url} is not trusted",
            ) from exc
        except aiohttp.ClientConnectorError as exc:
            raise self._no_answer(
                NoAnswer.UNREACHABLE, f"Cannot reach server at {self.base_url}"
            ) from exc
        except aiohttp.InvalidURL as exc:
            raise self._no_answer(
                NoAnswer.INVALID_ADDRESS, f"{self.base_url} is not a valid server address"
            ) from exc
        except TimeoutError as exc:
            raise self._no_answer(
                NoAnswer.TIMEOUT, f"The server at {self.base_url} did not answer in time"
            ) from exc
        except aiohttp.ClientError as exc:
            raise self._no_answer(
                NoAnswer.BROKEN, f"The connection to {self.base_url} broke ({exc})"
            ) from exc

    def _no_answer(self, why: NoAnswer, message: str) -> ApiError:
        return ApiError(0, message, no_answer=why, where=self.base_url)

    async def close(self) -> None:
        """Close the HTTP session; idempotent. Requests after this raise ApiError."""
        self._closed = True
        session, self._session = self._session, None
        if session is not None:
            await session.close()


def _json_object(raw: bytes) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        return load_object(raw)
    except ProtocolError:
        return {}


class AccountClient:
    """Register, log in and out, check health; list and end sessions, change the password.

    The calls made once signed in take the session's ``token`` per call, like
    :meth:`logout`.

        Every failure raises :class:`ApiError` with a sentence for the login dialog.
        Call :meth:`close` when done (it closes the HTTP session).
    """

    def __init__(
        self, base_url: str, *, ssl_context: ssl.SSLContext | None = None, timeout: float = 15.0
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._api = ApiSession(self.base_url, ssl_context=ssl_context, timeout=timeout)

    async def health(self) -> dict[str, Any]:
        """The server's ``{"status": "ok", "version": ...}``; ApiError when it does not answer."""
        response = await self._api.request("GET", "/api/v1/health")
        if response.status != 200:
            raise ApiError(
                response.status,
                f"The server at {self.base_url} is not healthy (HTTP {response.status})",
            )
        return response.body

    async def registration(self) -> str:
        """How the server takes new accounts: "open", "invite", "closed", or "" when it
        does not say (an older server: sign-up is offered and may be refused)."""
        mode = (await self.health()).get("registration")
        return mode if mode in REGISTRATION_MODES else ""

    async def register(self, username: str, password: str, invite: str = "") -> Credentials:
        """Create an account and return its first session.

        ``invite`` is the operator's invite code, for a server in invite mode
        (see :meth:`health`'s ``registration``); sent only when given.
        """
        try:
            rules.validate_username(username)
            rules.validate_password(password)
        except rules.ValidationError as exc:
            raise ApiError(400, _sentence(str(exc)), code=ErrorCode.BAD_REQUEST) from None
        body = {"username": username, "password": password}
        if invite.strip():
            body["invite"] = invite.strip()
        response = await self._api.request("POST", "/api/v1/register", json=body)
        if response.status in (200, 201):
            return _credentials(response, username)
        refusal = _INVITE_REFUSALS.get(response.server_code() or "")
        if refusal is not None:
            raise ApiError(response.status, refusal, code=response.server_code())
        raise self._error(
            response,
            {
                409: "That username is taken",
                403: "Registration is closed on this server",
            },
        )

    async def login(self, username: str, password: str) -> Credentials:
        """Start a session with a user name and password."""
        response = await self._api.request(
            "POST", "/api/v1/login", json={"username": username, "password": password}
        )
        if response.status == 200:
            return _credentials(response, username)
        raise self._error(response, {401: "Wrong username or password"})

    async def logout(self, token: str) -> None:
        """End the session of ``token`` on the server (its sockets close at once).

        A token the server no longer knows counts as logged out.
        """
        response = await self._api.request("POST", "/api/v1/logout", token=token)
        if response.ok or response.status == 401:
            return
        raise self._error(response, {})

    async def sessions(self, token: str) -> list[DeviceSession]:
        """The devices signed in to the account of ``token`` (its own marked ``current``)."""
        response = await self._api.request("GET", "/api/v1/sessions", token=token)
        if response.status != 200:
            raise self._error(response, _SIGNED_OUT)
        rows = response.body.get("sessions")
        if not isinstance(rows, list):
            raise ApiError(response.status, "The server sent an unexpected answer (no sessions)")
        return [session for row in rows if (session := _device_session(row)) is not None]

    async def end_session(self, token: str, session_id: str) -> None:
        """Sign out the device ``session_id``; one already gone counts as signed out."""
        path = f"/api/v1/sessions/{quote(session_id, safe='')}"
        response = await self._api.request("DELETE", path, token=token)
        if response.ok or response.status == 404:
            return
        raise self._error(response, _SIGNED_OUT)

    async def end_other_sessions(self, token: str) -> None:
        """Sign out every device of the account but this one."""
        response = await self._api.request(
            "DELETE", "/api/v1/sessions", params={"others": "1"}, token=token
        )
        if not response.ok:
            raise self._error(response, _SIGNED_OUT)

    async def change_password(self, token: str, old: str, new: str) -> None:
        """Change the password (the server signs out the other devices).

        A wrong ``old`` raises ApiError 403 with code ``wrong_password``.
        """
        try:
            rules.validate_password(new)
        except rules.ValidationError as exc:
            raise ApiError(400, "The new " + str(exc), code="bad_request") from None
        response = await self._api.request(
            "POST", "/api/v1/password", json={"old": old, "new": new}, token=token
        )
        if response.ok:
            return
        raise self._error(response, {**_SIGNED_OUT, 403: "The current password is wrong"})

    async def users(self, token: str) -> list[Person]:
        """Every account that is not disabled, whether online and whether an admin."""
        response = await self._api.request("GET", "/api/v1/users", token=token)
        if response.status != 200:
            raise self._error(response, _SIGNED_OUT)
        rows = response.body.get("users")
        if not isinstance(rows, list):
            raise ApiError(response.status, "The server sent an unexpected answer (no users)")
        return [
            Person(row["username"], row.get("online") is True, row.get("admin") is True)
            for row in rows
            if isinstance(row, dict) and isinstance(row.get("username"), str)
        ]

    async def delete_room(self, token: str, room: str) -> None:
        """Delete ``room`` (an admin's right); refusals raise ApiError with the server's code."""
        path = f"/api/v1/rooms/{quote(room, safe='')}"
        response = await self._api.request("DELETE", path, token=token)
        if not response.ok:
            raise self._error(response, _SIGNED_OUT)

    async def close(self) -> None:
        """Close the HTTP session; idempotent."""
        await self._api.close()

    def _error(self, response: ApiResponse, sentences: dict[int, str]) -> ApiError:
        status = response.status
        code = response.server_code()
        if status in sentences:
            message = sentences[status]
        elif status == 429:
            message = too_many_attempts(response.retry_after)
        elif status == 400:
            message = _sentence(response.server_message() or "The server refused the request")
        else:
            message = f"The server at {self.base_url} answered with an error (HTTP {status})"
        return ApiError(status, message, code=code, retry_after=response.retry_after)


# The values of health's "registration" (docs/protocol.md, Extensions).
REGISTRATION_MODES = ("open", "invite", "closed")

# Registration in invite mode refused (docs/protocol.md, Extensions).
_INVITE_REFUSALS = {
    ErrorCode.INVITE_REQUIRED.value: "This server needs an invite code to create an account",
    ErrorCode.INVITE_INVALID.value: "That invite code is unknown, used up or expired",
}

# A token the server no longer knows: someone ended this session elsewhere.
_SIGNED_OUT = {401: "This device was signed out; sign in again"}


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


def _device_session(row: object) -> DeviceSession | None:
    """A row of ``GET /api/v1/sessions``; None (logged) for one that does not fit the shape."""
    if isinstance(row, dict):
        session_id = row.get("id")
        texts = [row.get(key, "") for key in ("created", "last_used", "agent")]
        if (
            isinstance(session_id, str | int)
            and not isinstance(session_id, bool)
            and all(isinstance(text, str) for text in texts)
        ):
            created, last_used, agent = (str(text) for text in texts)
            return DeviceSession(
                str(session_id), created, last_used, row.get("current") is True, agent
            )
    log.warning("Ignoring a session the server described oddly: %r", row)
    return None


def _credentials(response: ApiResponse, typed: str) -> Credentials:
    token = response.body.get("token")
    username = response.body.get("username", typed)
    if not isinstance(token, str) or not token or not isinstance(username, str):
        raise ApiError(response.status, "The server sent an unexpected answer (no token)")
    return Credentials(username=username, token=token)
