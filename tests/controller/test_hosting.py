"""The app that hosts a chat makes its own user an admin, and nobody else.

A real LocalServer on loopback (the embedded server in this test's loop);
accounts registered over HTTP as the sign-in dialog does.
"""

from __future__ import annotations

from pathlib import Path

from chat_desktop.controller.hosting import LocalServer
from chat_desktop.transport import AccountClient
from tests.accounts import PASSWORD, app_call, register


async def test_the_hosts_user_is_an_admin_and_whoever_registers_first_is_not(
    tmp_path: Path,
) -> None:
    hosted = LocalServer(tmp_path / "server", host="127.0.0.1", port=0, advertise=False)
    url = await hosted.start(admin="alice")
    try:
        # Someone else is quicker to register than the host.
        await register(url, "bob")
        token = await register(url, "alice")
        people = await app_call(url, lambda client: client.users(token))
        assert {person.username: person.admin for person in people} == {
            "alice": True,
            "bob": False,
        }
    finally:
        await hosted.stop()


async def test_the_hosts_existing_account_becomes_an_admin_on_the_next_start(
    tmp_path: Path,
) -> None:
    hosted = LocalServer(tmp_path / "server", host="127.0.0.1", port=0, advertise=False)
    url = await hosted.start()
    await register(url, "alice")
    await hosted.stop()
    url = await hosted.start(admin="alice")
    try:

        async def admins(client: AccountClient) -> list[str]:
            login = await client.login("alice", PASSWORD)
            return [p.username for p in await client.users(login.token) if p.admin]

        assert await app_call(url, admins) == ["alice"]
    finally:
        await hosted.stop()
