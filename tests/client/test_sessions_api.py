"""The account's sessions and password over HTTP: AccountClient's calls and their errors.

Against the in-process server (``chat_server``), with sessions made by real
logins: the AccountClient's own, and other devices' through aiohttp with a
User-Agent of their own (:func:`tests.accounts.sign_in`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from chat_desktop.transport import AccountClient, ApiError
from chat_desktop.transport.http_api import USER_AGENT
from chat_protocol import rules
from chat_server.app import ChatServer
from tests.accounts import PASSWORD, sign_in, signed_in


@pytest.fixture
async def client(chat_server: ChatServer) -> AsyncIterator[AccountClient]:
    client = AccountClient(chat_server.base_url)
    yield client
    await client.close()


async def first_device(server: ChatServer, agent: str = "elsewhere") -> str:
    """Register bob from another device; its token."""
    return await sign_in(server.base_url, "bob", agent, new=True)


async def test_the_sessions_are_listed_with_this_one_marked(
    chat_server: ChatServer, client: AccountClient
) -> None:
    other = await first_device(chat_server, "Chat Desktop/0.1.0 (Win)")
    mine = (await client.login("bob", PASSWORD)).token
    listed = await client.sessions(mine)
    # The server shows which program signed in: the AccountClient says it is Chat Desktop.
    assert USER_AGENT.startswith("Chat Desktop/")
    assert [(s.current, s.agent) for s in listed] == [
        (False, "Chat Desktop/0.1.0 (Win)"),
        (True, USER_AGENT),
    ]
    # The same list seen from the other device marks that one instead.
    assert [s.current for s in await client.sessions(other)] == [True, False]
    # Ids are opaque (never a token) and tell the sessions apart.
    assert len({s.id for s in listed}) == 2 and not {s.id for s in listed} & {mine, other}
    # Real times: each signed in before or when it was last used, in the order they signed in.
    for session in listed:
        assert rules.parse_ts(session.created) <= rules.parse_ts(session.last_used)
    assert rules.parse_ts(listed[0].created) < rules.parse_ts(listed[1].created)


async def test_one_session_or_all_others_are_ended(
    chat_server: ChatServer, client: AccountClient
) -> None:
    url = chat_server.base_url
    others = [await first_device(chat_server, "elsewhere 1")]
    mine = (await client.login("bob", PASSWORD)).token
    for n in (2, 3):
        others.append(await sign_in(url, "bob", f"elsewhere {n}"))
    by_agent = {s.agent: s.id for s in await client.sessions(mine)}

    await client.end_session(mine, by_agent["elsewhere 1"])
    left = [USER_AGENT, "elsewhere 2", "elsewhere 3"]
    assert [s.agent for s in await client.sessions(mine)] == left
    assert [await signed_in(url, token) for token in others] == [False, True, True]
    # Already gone (another device ended it first): nothing to do.
    await client.end_session(mine, by_agent["elsewhere 1"])

    await client.end_other_sessions(mine)
    assert [(s.current, s.agent) for s in await client.sessions(mine)] == [(True, USER_AGENT)]
    assert [await signed_in(url, token) for token in others] == [False, False, False]


async def test_a_session_ended_elsewhere_is_told_it_was_signed_out(
    chat_server: ChatServer, client: AccountClient
) -> None:
    elsewhere = await first_device(chat_server)
    mine = (await client.login("bob", PASSWORD)).token
    # The other device signs out every device but itself, this one included.
    await client.end_other_sessions(elsewhere)
    with pytest.raises(ApiError) as refused:
        await client.sessions(mine)
    assert refused.value.status == 401 and "signed out" in str(refused.value)


async def test_changing_the_password_says_which_part_was_wrong(
    chat_server: ChatServer, client: AccountClient
) -> None:
    url = chat_server.base_url
    elsewhere = await first_device(chat_server)
    mine = (await client.login("bob", PASSWORD)).token
    with pytest.raises(ApiError) as wrong:
        await client.change_password(mine, "not the password", "a new password")
    assert wrong.value.status == 403 and wrong.value.code == "wrong_password"
    assert str(wrong.value) == "The current password is wrong"
    with pytest.raises(ApiError) as short:
        await client.change_password(mine, PASSWORD, "short")
    assert short.value.code == "bad_request" and "8-" in str(short.value)
    # Neither refusal changed anything: the password still signs in, nobody was signed out.
    assert await signed_in(url, elsewhere)
    await sign_in(url, "bob", "checking the password")

    await client.change_password(mine, PASSWORD, "a new password")
    # The other devices are signed out; this one keeps its session.
    assert [(s.current, s.agent) for s in await client.sessions(mine)] == [(True, USER_AGENT)]
    assert not await signed_in(url, elsewhere)
    with pytest.raises(ApiError) as old:
        await client.login("bob", PASSWORD)
    assert old.value.status == 401
    await sign_in(url, "bob", "with the new password", password="a new password")
