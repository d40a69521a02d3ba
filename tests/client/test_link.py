"""ServerLink over a real WebSocket to the in-process server: connect, resume, reconnect, stop."""

from __future__ import annotations

import asyncio
import dataclasses
import socket
import uuid

from chat_desktop.transport import AccountClient, Credentials, Jitter, LinkKind, ReconnectPolicy
from chat_desktop.transport.http_api import ApiSession
from chat_protocol import (
    Ack,
    CreateRoom,
    HistoryPage,
    HistoryRequest,
    Message,
    Room,
    SendMessage,
    Welcome,
)
from chat_server.app import ChatServer
from chat_server.config import ServerConfig
from tests.waiting import eventually

from ..conftest import ServerProcess
from ..reliability.chaos_proxy import chaos_proxy
from .conftest import LinkFactory


def new_id() -> str:
    return str(uuid.uuid4())


async def post(base_url: str, credentials: Credentials, text: str, room: str = "general") -> int:
    """Post a message over HTTP as another client would; return its seq."""
    api = ApiSession(base_url, token=credentials.token)
    try:
        response = await api.request(
            "POST", f"/api/v1/rooms/{room}/messages", json={"client_id": new_id(), "text": text}
        )
    finally:
        await api.close()
    assert response.status == 201, response.body
    seq = response.body["seq"]
    assert isinstance(seq, int)
    return seq


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def close_sockets_of(server: ChatServer, user: str) -> None:
    """Make the server close every socket of ``user`` (as it does a reader that is too slow)."""
    for subscriber in server.service.hub.subscribers():
        if subscriber.username == user:
            subscriber.close_soon(1008, "too slow")


async def test_link_connects_and_receives_its_own_message(
    chat_server: ChatServer, accounts: dict[str, Credentials], make_link: LinkFactory
) -> None:
    link, alice = make_link(chat_server.base_url, accounts["alice"])
    await eventually(lambda: link.state.kind is LinkKind.CONNECTED)
    assert alice.of(Welcome)[0].username == "alice"
    client_id = new_id()
    assert await link.send(SendMessage(room="general", client_id=client_id, text="hello"))
    await eventually(lambda: any(m.client_id == client_id for m in alice.of(Message)))
    ack = alice.of(Ack)[0]
    message = alice.of(Message)[0]
    assert (ack.client_id, ack.seq) == (client_id, message.seq)
    assert (message.author, message.text) == ("alice", "hello")


async def test_welcome_comes_first_and_state_is_connected_by_then(
    chat_server: ChatServer, accounts: dict[str, Credentials], make_link: LinkFactory
) -> None:
    _, alice = make_link(chat_server.base_url, accounts["alice"])
    await eventually(lambda: bool(alice.events))
    assert isinstance(alice.events[0], Welcome)
    assert alice.kinds() == [LinkKind.CONNECTING, LinkKind.CONNECTED]


async def test_history_and_room_requests_are_answered_over_the_socket(
    chat_server: ChatServer, accounts: dict[str, Credentials], make_link: LinkFactory
) -> None:
    for n in range(3):
        await post(chat_server.base_url, accounts["bob"], f"old {n}")
    link, alice = make_link(chat_server.base_url, accounts["alice"])
    await eventually(lambda: link.state.kind is LinkKind.CONNECTED)
    assert await link.send(HistoryRequest(room="general", before=None, limit=2))
    assert await link.send(CreateRoom(name="random"))
    await eventually(lambda: bool(alice.of(HistoryPage)) and bool(alice.of(Room)))
    page = alice.of(HistoryPage)[0]
    assert [m.text for m in page.messages] == ["old 1", "old 2"]
    assert page.has_more
    assert alice.of(Room)[0].name == "random"


async def test_resume_after_the_server_closes_the_socket_delivers_the_missed_messages_once(
    chat_server: ChatServer, accounts: dict[str, Credentials], make_link: LinkFactory
) -> None:
    # A long backoff: the messages below are posted while alice is away for sure.
    slow = ReconnectPolicy(first_retry=60.0, initial=60.0, cap=60.0, jitter=Jitter.NONE)
    link, alice = make_link(chat_server.base_url, accounts["alice"], policy=slow)
    await eventually(lambda: link.state.kind is LinkKind.CONNECTED)
    await post(chat_server.base_url, accounts["bob"], "before")
    await eventually(lambda: alice.texts() == ["before"])

    close_sockets_of(chat_server, "alice")
    await eventually(lambda: link.state.kind is LinkKind.RECONNECTING)
    assert link.state.retry_at is not None
    await post(chat_server.base_url, accounts["bob"], "missed 1")
    await post(chat_server.base_url, accounts["bob"], "missed 2")
    link.reconnect_now()
    await eventually(lambda: len(alice.of(Welcome)) == 2)
    await post(chat_server.base_url, accounts["bob"], "after")

    await eventually(lambda: "after" in alice.texts())
    assert alice.texts() == ["before", "missed 1", "missed 2", "after"]
    assert [m.seq for m in alice.of(Message)] == [1, 2, 3, 4]


async def test_send_while_disconnected_returns_false(
    chat_server: ChatServer, accounts: dict[str, Credentials], make_link: LinkFactory
) -> None:
    slow = ReconnectPolicy(first_retry=60.0, initial=60.0, cap=60.0, jitter=Jitter.NONE)
    link, _ = make_link(chat_server.base_url, accounts["alice"], policy=slow)
    await eventually(lambda: link.state.kind is LinkKind.CONNECTED)
    close_sockets_of(chat_server, "alice")
    await eventually(lambda: link.state.kind is LinkKind.RECONNECTING)
    assert not await link.send(SendMessage(room="general", client_id=new_id(), text="lost?"))


async def test_link_reconnects_after_a_server_restart(
    chat_server: ChatServer,
    server_config: ServerConfig,
    accounts: dict[str, Credentials],
    make_link: LinkFactory,
) -> None:
    link, alice = make_link(chat_server.base_url, accounts["alice"])
    await eventually(lambda: link.state.kind is LinkKind.CONNECTED)
    await chat_server.stop()
    await eventually(lambda: link.state.kind is LinkKind.RECONNECTING)

    restarted = ChatServer(dataclasses.replace(server_config, port=chat_server.port))
    await restarted.start()
    try:
        await eventually(lambda: len(alice.of(Welcome)) == 2)
        assert link.state.kind is LinkKind.CONNECTED
        client_id = new_id()
        assert await link.send(SendMessage(room="general", client_id=client_id, text="back"))
        await eventually(lambda: any(m.client_id == client_id for m in alice.of(Message)))
    finally:
        await link.close()
        await restarted.stop()


async def test_link_reconnects_after_the_server_process_is_killed_and_restarted(
    server_process: ServerProcess, make_link: LinkFactory
) -> None:
    client = AccountClient(server_process.url)
    try:
        credentials = await client.register("alice", "correct horse")
    finally:
        await client.close()
    link, alice = make_link(server_process.url, credentials)
    await eventually(lambda: link.state.kind is LinkKind.CONNECTED)
    # SIGKILL: no close frame, the socket just dies (1006), as in a crash.
    # The fixture's start/kill block while they wait for the process, hence the thread.
    await asyncio.to_thread(server_process.kill)
    await eventually(lambda: link.state.kind is LinkKind.RECONNECTING)
    await asyncio.to_thread(server_process.start)
    await eventually(lambda: len(alice.of(Welcome)) == 2)
    client_id = new_id()
    assert await link.send(SendMessage(room="general", client_id=client_id, text="survived"))
    await eventually(lambda: any(m.client_id == client_id for m in alice.of(Message)))


async def test_a_server_that_goes_silent_is_noticed_by_the_clients_pings_and_left(
    chat_server: ChatServer, accounts: dict[str, Credentials], make_link: LinkFactory
) -> None:
    # A real TCP peer that stops answering: the proxy swallows every byte both
    # ways and closes nothing, as a frozen server or a vanished NAT entry does.
    async with chaos_proxy(chat_server.port, seed=1) as proxy:
        link, alice = make_link(
            proxy.base_url, accounts["alice"], ping_interval=0.2, ping_timeout=0.3
        )
        await eventually(lambda: link.state.kind is LinkKind.CONNECTED)
        proxy.blackhole()
        await eventually(lambda: link.state.kind is not LinkKind.CONNECTED)
        assert link.state.kind in (LinkKind.RECONNECTING, LinkKind.CONNECTING)
        # New connections pass: the link is back on a fresh socket.
        await eventually(lambda: len(alice.of(Welcome)) == 2)
        assert link.state.kind is LinkKind.CONNECTED


async def test_an_unreachable_server_means_reconnecting_with_a_retry_time(
    make_link: LinkFactory,
) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    link, recorder = make_link(url, Credentials("alice", "token"))
    await eventually(lambda: link.state.kind is LinkKind.RECONNECTING)
    assert link.state.retry_at is not None
    assert link.state.detail == f"Cannot reach server at {url}"
    assert LinkKind.POLLING not in recorder.kinds()


async def test_a_bad_token_stops_the_link_as_unauthorized_without_retrying(
    chat_server: ChatServer, make_link: LinkFactory
) -> None:
    link, recorder = make_link(chat_server.base_url, Credentials("alice", "not-a-token"))
    await eventually(lambda: not link.active)
    assert recorder.kinds() == [LinkKind.CONNECTING, LinkKind.UNAUTHORIZED]
    assert recorder.events == []
    link.reconnect_now()
    assert not link.active


async def test_logging_out_ends_the_session_as_unauthorized(
    chat_server: ChatServer, accounts: dict[str, Credentials], make_link: LinkFactory
) -> None:
    link, _ = make_link(chat_server.base_url, accounts["alice"])
    await eventually(lambda: link.state.kind is LinkKind.CONNECTED)
    client = AccountClient(chat_server.base_url)
    try:
        await client.logout(accounts["alice"].token)
    finally:
        await client.close()
    await eventually(lambda: link.state.kind is LinkKind.UNAUTHORIZED)
    assert not link.active


async def test_close_leaves_no_task_and_no_socket_behind(
    chat_server: ChatServer, accounts: dict[str, Credentials], make_link: LinkFactory
) -> None:
    before = asyncio.all_tasks()
    link, _ = make_link(chat_server.base_url, accounts["alice"])
    await eventually(lambda: link.state.kind is LinkKind.CONNECTED)
    await link.close()
    await link.close()
    assert link.state.kind is LinkKind.OFFLINE
    assert not link.active
    leftovers = [
        task for task in asyncio.all_tasks() - before if not task.done() and _client_side(task)
    ]
    assert leftovers == []
    # The server saw a normal closure: alice is gone.
    await eventually(lambda: "alice" not in chat_server.service.hub.online())


def _client_side(task: asyncio.Task[object]) -> bool:
    code = getattr(task.get_coro(), "cr_code", None)
    filename = code.co_filename if code is not None else ""
    return any(part in filename for part in ("websockets", "chat_desktop", "aiohttp/client"))


async def test_close_before_start_is_harmless(chat_server: ChatServer) -> None:
    from chat_desktop.transport import ServerLink

    link = ServerLink(
        chat_server.base_url,
        "token",
        positions=dict,
        on_event=lambda event: None,
        on_state=lambda state: None,
    )
    await link.close()
    link.start()
    assert not link.active
