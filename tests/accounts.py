"""Accounts for tests: one password that passes the rules, and registration over HTTP."""

from __future__ import annotations

import ssl

from chat_desktop.transport import AccountClient

PASSWORD = "correct horse battery"


async def register(url: str, username: str, context: ssl.SSLContext | None = None) -> str:
    """Create an account with PASSWORD through the client's own AccountClient; return its token."""
    client = AccountClient(url, ssl_context=context)
    try:
        return (await client.register(username, PASSWORD)).token
    finally:
        await client.close()
