"""The account's sessions and password over HTTP: AccountClient's calls and their errors.

Against :mod:`tests.sessions_standin` (a stand-in for the server routes being
merged from another branch; switch to the in-process ChatServer once they are).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from chat_desktop.transport import AccountClient, ApiError
from chat_desktop.transport.http_api import DeviceSession
from tests.accounts import PASSWORD
from tests.sessions_standin import SessionsStandIn


@pytest.fixture
async def standin() -> AsyncIterator[SessionsStandIn]:
    server = SessionsStandIn()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def client(standin: SessionsStandIn) -> AsyncIterator[AccountClient]:
    client = AccountClient(standin.url)
    yield client
    await client.close()


async def test_the_sessions_are_listed_with_this_one_marked(
    standin: SessionsStandIn, client: AccountClient
) -> None:
    mine = standin.add("1", "Chat Desktop/0.1.0 (Linux)")
    standin.add("2", "Chat Desktop/0.1.0 (Win)", last_used="2026-11-29T18:00:00.000Z")
    created = "2026-11-20T09:15:00.000Z"
    assert await client.sessions(mine) == [
        DeviceSession("1", created, "2026-11-30T08:00:00.000Z", True, "Chat Desktop/0.1.0 (Linux)"),
        DeviceSession("2", created, "2026-11-29T18:00:00.000Z", False, "Chat Desktop/0.1.0 (Win)"),
    ]
    # The server can show which program signed in.
    assert standin.agents[-1].startswith("Chat Desktop/")


async def test_one_session_or_all_others_are_ended(
    standin: SessionsStandIn, client: AccountClient
) -> None:
    mine = standin.add("1", "here")
    for other in ("2", "3", "4"):
        standin.add(other, "elsewhere")
    await client.end_session(mine, "2")
    assert [s.id for s in standin.sessions] == ["1", "3", "4"]
    # Already gone (another device ended it first): nothing to do.
    await client.end_session(mine, "2")
    await client.end_other_sessions(mine)
    assert [s.id for s in await client.sessions(mine)] == ["1"]


async def test_a_session_ended_elsewhere_is_told_it_was_signed_out(
    standin: SessionsStandIn, client: AccountClient
) -> None:
    with pytest.raises(ApiError) as refused:
        await client.sessions("a token nobody knows")
    assert refused.value.status == 401 and "signed out" in str(refused.value)


async def test_changing_the_password_says_which_part_was_wrong(
    standin: SessionsStandIn, client: AccountClient
) -> None:
    mine = standin.add("1", "here")
    standin.add("2", "elsewhere")
    with pytest.raises(ApiError) as wrong:
        await client.change_password(mine, "not the password", "a new password")
    assert wrong.value.status == 403 and wrong.value.code == "wrong_password"
    assert str(wrong.value) == "The current password is wrong"
    with pytest.raises(ApiError) as short:
        await client.change_password(mine, PASSWORD, "short")
    assert short.value.code == "bad_request" and "8-" in str(short.value)
    assert standin.password == PASSWORD

    await client.change_password(mine, PASSWORD, "a new password")
    assert standin.password == "a new password"
    assert [s.id for s in standin.sessions] == ["1"]
