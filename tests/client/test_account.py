"""AccountClient against the real server: each refusal becomes a sentence for the login dialog."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import pytest

from chat_desktop.transport import AccountClient, ApiError
from chat_protocol import Limits
from chat_server.app import ChatServer
from chat_server.config import Registration, ServerConfig

from .test_link import free_port


@pytest.fixture
async def client(chat_server: ChatServer) -> AsyncIterator[AccountClient]:
    account_client = AccountClient(chat_server.base_url)
    try:
        yield account_client
    finally:
        await account_client.close()


async def started(config: ServerConfig) -> ChatServer:
    server = ChatServer(config)
    await server.start()
    return server


async def test_health_reports_ok(client: AccountClient) -> None:
    assert (await client.health())["status"] == "ok"


async def test_register_returns_a_token_and_the_user_name(client: AccountClient) -> None:
    credentials = await client.register("Alice", "correct horse")
    assert credentials.username == "Alice"
    assert len(credentials.token) >= 16


async def test_login_returns_a_new_token(client: AccountClient) -> None:
    registered = await client.register("alice", "correct horse")
    logged_in = await client.login("alice", "correct horse")
    assert logged_in.username == "alice"
    assert logged_in.token != registered.token


async def test_a_taken_user_name_is_refused(client: AccountClient) -> None:
    await client.register("alice", "correct horse")
    with pytest.raises(ApiError) as caught:
        await client.register("ALICE", "another password")
    assert (caught.value.status, str(caught.value)) == (409, "That username is taken")


async def test_a_wrong_password_is_refused(client: AccountClient) -> None:
    await client.register("alice", "correct horse")
    with pytest.raises(ApiError) as caught:
        await client.login("alice", "wrong horse")
    assert (caught.value.status, str(caught.value)) == (401, "Wrong username or password")


async def test_an_unknown_user_gets_the_same_answer_as_a_wrong_password(
    client: AccountClient,
) -> None:
    with pytest.raises(ApiError, match=r"^Wrong username or password$"):
        await client.login("nobody", "whatever1")


async def test_an_invalid_user_name_is_refused_before_asking_the_server(
    client: AccountClient,
) -> None:
    with pytest.raises(ApiError) as caught:
        await client.register("no spaces allowed", "correct horse")
    assert caught.value.status == 400
    assert str(caught.value).startswith("Username must be")


async def test_registration_closed_by_the_operator_is_explained(
    server_config: ServerConfig,
) -> None:
    server = await started(dataclasses.replace(server_config, registration=Registration.CLOSED))
    client = AccountClient(server.base_url)
    try:
        with pytest.raises(ApiError) as caught:
            await client.register("alice", "correct horse")
    finally:
        await client.close()
        await server.stop()
    assert (caught.value.status, str(caught.value)) == (
        403,
        "Registration is closed on this server",
    )


async def test_too_many_failed_logins_say_when_to_try_again(server_config: ServerConfig) -> None:
    limits = Limits(login_failures=2, login_window_seconds=120.0)
    server = await started(dataclasses.replace(server_config, limits=limits))
    client = AccountClient(server.base_url)
    try:
        await client.register("alice", "correct horse")
        for _ in range(2):
            with pytest.raises(ApiError):
                await client.login("alice", "wrong horse")
        with pytest.raises(ApiError) as caught:
            await client.login("alice", "wrong horse")
    finally:
        await client.close()
        await server.stop()
    assert caught.value.status == 429
    assert caught.value.retry_after is not None
    assert str(caught.value).startswith("Too many attempts; try again in ")
    assert str(caught.value).endswith(" s")


async def test_an_unreachable_server_is_named_in_the_error() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    client = AccountClient(url)
    try:
        with pytest.raises(ApiError) as caught:
            await client.login("alice", "correct horse")
    finally:
        await client.close()
    assert (caught.value.status, str(caught.value)) == (0, f"Cannot reach server at {url}")


async def test_logout_revokes_the_token(client: AccountClient, chat_server: ChatServer) -> None:
    from chat_desktop.transport.http_api import ApiSession

    credentials = await client.register("alice", "correct horse")
    await client.logout(credentials.token)
    api = ApiSession(chat_server.base_url, token=credentials.token)
    try:
        response = await api.request("GET", "/api/v1/rooms")
    finally:
        await api.close()
    assert response.status == 401


async def test_logging_out_a_dead_token_is_not_an_error(client: AccountClient) -> None:
    await client.logout("no-such-token")


async def test_close_twice_and_requests_after_close_fail_cleanly(client: AccountClient) -> None:
    await client.health()
    await client.close()
    await client.close()
    with pytest.raises(ApiError):
        await client.health()
