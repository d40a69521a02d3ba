"""Accounts for tests: one password that passes the rules, registration and sign-in over HTTP.

:func:`register` and :func:`app_call` go through the client's own
AccountClient (whose User-Agent is the app's); :func:`sign_in` is another device, a plain aiohttp
client with the User-Agent a test chooses, so that an account can have
several sessions the server tells apart.
"""

from __future__ import annotations

import ssl
from collections.abc import Awaitable, Callable
from typing import TypeVar

import aiohttp

from chat_desktop.transport import AccountClient

PASSWORD = "correct horse battery"

T = TypeVar("T")


async def app_call(
    url: str, call: Callable[[AccountClient], Awaitable[T]], context: ssl.SSLContext | None = None
) -> T:
    """``call`` on a fresh AccountClient (the app's own HTTP client) to ``url``, closed after."""
    client = AccountClient(url, ssl_context=context)
    try:
        return await call(client)
    finally:
        await client.close()


async def register(url: str, username: str, context: ssl.SSLContext | None = None) -> str:
    """Create an account with PASSWORD through the client's own AccountClient; return its token."""
    credentials = await app_call(url, lambda client: client.register(username, PASSWORD), context)
    return credentials.token


async def sign_in(
    url: str, username: str, agent: str, *, password: str = PASSWORD, new: bool = False
) -> str:
    """A session of ``username`` from a device whose User-Agent is ``agent``; its token.

    ``new`` registers the account with this first session instead of logging in.
    """
    path, status = ("/api/v1/register", 201) if new else ("/api/v1/login", 200)
    async with (
        aiohttp.ClientSession(headers={"User-Agent": agent}) as session,
        session.post(url + path, json={"username": username, "password": password}) as response,
    ):
        assert response.status == status, await response.text()
        return str((await response.json())["token"])


async def signed_in(url: str, token: str) -> bool:
    """Whether the server still takes ``token`` (False once its session was ended)."""
    async with (
        aiohttp.ClientSession() as session,
        session.get(url + "/api/v1/sessions", headers={"Authorization": f"Bearer {token}"}) as got,
    ):
        assert got.status in (200, 401), await got.text()
        return got.status == 200
