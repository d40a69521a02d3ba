"""The HTTP long-polling fallback, through a real proxy that strips the WebSocket upgrade.

The link talks to :class:`~tests.client.proxy.ReverseProxy`, which forwards
HTTP to the in-process server but turns ``/ws`` into a plain GET that the server
refuses; other users talk to the server directly over WebSocket. The link must
deliver the same events as over a socket, and go back to the socket once the
proxy lets it through.

The ``links`` fixture starts a user's link either way (``links.polling``,
``links.on_socket``) and lets other users post or sign out over HTTP.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any

import pytest

from chat_desktop.transport import AccountClient, Credentials, LinkKind, ServerLink
from chat_protocol import (
    Ack,
    CreateRoom,
    Error,
    Gap,
    HistoryPage,
    HistoryRequest,
    Message,
    Room,
    SendMessage,
    SetTyping,
    Typing,
    UserJoin,
    UserLeave,
    Welcome,
)
from chat_server.app import ChatServer
from tests.waiting import eventually

from .conftest import LinkFactory, Recorder
from .proxy import ReverseProxy
from .test_link import _client_side, post


@dataclass
class Links:
    """Starts the users' links, through the proxy or straight to the server."""

    chat_server: ChatServer
    proxy: ReverseProxy
    accounts: dict[str, Credentials]
    make_link: LinkFactory

    async def polling(self, user: str, **options: Any) -> tuple[ServerLink, Recorder]:
        """``user``'s link through the proxy, once it polls (short long polls keep the
        tests quick)."""
        options.setdefault("poll_wait", 2.0)
        options.setdefault("ws_retry_interval", 60.0)
        link, recorder = self.make_link(self.proxy.base_url, self.accounts[user], **options)
        await eventually(lambda: link.state.kind is LinkKind.POLLING)
        return link, recorder

    async def on_socket(self, user: str) -> tuple[ServerLink, Recorder]:
        """``user``'s link straight to the server, once it is connected over the socket."""
        link, recorder = self.make_link(self.chat_server.base_url, self.accounts[user])
        await eventually(lambda: link.state.kind is LinkKind.CONNECTED)
        return link, recorder

    async def post(self, user: str, text: str, room: str = "general") -> None:
        """``user`` posts over HTTP, as another client would."""
        await post(self.chat_server.base_url, self.accounts[user], text, room=room)

    async def log_out(self, user: str) -> None:
        """``user``'s token is revoked, as signing out on another device does."""
        client = AccountClient(self.chat_server.base_url)
        try:
            await client.logout(self.accounts[user].token)
        finally:
            await client.close()


@pytest.fixture
def links(
    chat_server: ChatServer,
    proxy: ReverseProxy,
    accounts: dict[str, Credentials],
    make_link: LinkFactory,
) -> Links:
    return Links(chat_server, proxy, accounts, make_link)


async def test_link_polls_when_a_proxy_strips_the_websocket_upgrade(
    proxy: ReverseProxy, links: Links
) -> None:
    link, alice = await links.polling("alice")
    assert proxy.stripped >= 1
    welcome = alice.of(Welcome)[0]
    assert welcome.username == "alice"
    assert [room.name for room in welcome.rooms] == ["general"]
    assert welcome.server.name == "test"
    assert "refused the WebSocket" in link.state.detail


async def test_a_gateway_error_on_the_websocket_is_retried_not_polled(
    proxy: ReverseProxy, accounts: dict[str, Credentials], make_link: LinkFactory
) -> None:
    proxy.websocket_status = 502
    link, recorder = make_link(proxy.base_url, accounts["alice"])
    await eventually(lambda: recorder.kinds().count(LinkKind.RECONNECTING) >= 3)
    assert LinkKind.POLLING not in recorder.kinds()
    assert "HTTP 502" in link.state.detail


async def test_a_cut_websocket_handshake_is_retried_not_polled(
    proxy: ReverseProxy, accounts: dict[str, Credentials], make_link: LinkFactory
) -> None:
    # No answer at all is a network blip, not a proxy that refuses upgrades:
    # polling would cost the client its socket for the next 30 s.
    proxy.cut_websocket = True
    link, recorder = make_link(proxy.base_url, accounts["alice"])
    await eventually(lambda: recorder.kinds().count(LinkKind.RECONNECTING) >= 3)
    assert LinkKind.POLLING not in recorder.kinds()
    proxy.cut_websocket = False
    proxy.pass_websocket = True
    link.reconnect_now()
    await eventually(lambda: link.state.kind is LinkKind.CONNECTED)


async def test_polling_link_receives_messages_from_others(links: Links) -> None:
    _, alice = await links.polling("alice")
    await links.post("bob", "one")
    await links.post("bob", "two")
    await eventually(lambda: alice.texts() == ["one", "two"])


async def test_polling_far_behind_gets_a_gap_then_the_newest_messages_as_on_the_socket(
    chat_server: ChatServer, links: Links
) -> None:
    # Straight into the store: posting 1010 messages would hit the rate limit.
    store = chat_server.service.store
    await asyncio.gather(
        *(store.append("general", "bob", f"bulk-{n}", f"m{n}") for n in range(1010))
    )
    chat_server.service.hub.note_rooms(await store.rooms())
    _, alice = await links.polling("alice", positions=lambda: {"general": 5})
    await eventually(lambda: len(alice.of(Message)) == 1000)
    assert alice.events[1] == Gap("general", 5, 11)
    assert [m.seq for m in alice.of(Message)] == list(range(11, 1011))


async def test_polling_link_sends_and_gets_the_ack_and_its_own_message(links: Links) -> None:
    link, alice = await links.polling("alice")
    client_id = str(uuid.uuid4())
    assert await link.send(SendMessage(room="general", client_id=client_id, text="via http"))
    assert alice.of(Ack)[0].client_id == client_id
    await eventually(lambda: alice.texts() == ["via http"])
    assert alice.of(Message)[0].seq == alice.of(Ack)[0].seq


async def test_a_retried_send_while_polling_gets_the_same_seq(links: Links) -> None:
    link, alice = await links.polling("alice")
    event = SendMessage(room="general", client_id=str(uuid.uuid4()), text="once")
    assert await link.send(event)
    assert await link.send(event)
    first, second = alice.of(Ack)
    assert first.seq == second.seq


async def test_a_refused_send_while_polling_becomes_an_error_event(links: Links) -> None:
    link, alice = await links.polling("alice")
    client_id = str(uuid.uuid4())
    assert await link.send(SendMessage(room="nowhere", client_id=client_id, text="hi"))
    error = alice.of(Error)[0]
    assert (error.code, error.ref) == ("unknown_room", client_id)


async def test_polling_link_reports_typing_start_and_stop(links: Links) -> None:
    _, alice = await links.polling("alice")
    bob_link, _ = await links.on_socket("bob")
    await bob_link.send(SetTyping(room="general", active=True))
    await eventually(lambda: Typing("general", "bob", True) in alice.of(Typing))
    await bob_link.send(SetTyping(room="general", active=False))
    await eventually(lambda: Typing("general", "bob", False) in alice.of(Typing))


async def test_typing_sent_while_polling_reaches_others(links: Links) -> None:
    alice_link, _ = await links.polling("alice")
    _, bob = await links.on_socket("bob")
    assert await alice_link.send(SetTyping(room="general", active=True))
    await eventually(lambda: Typing("general", "alice", True) in bob.of(Typing))


async def test_polling_link_reports_users_joining_and_leaving(links: Links) -> None:
    _, alice = await links.polling("alice")
    carol_link, _ = await links.on_socket("carol")
    await eventually(lambda: UserJoin("carol") in alice.of(UserJoin))
    await carol_link.close()
    await eventually(lambda: UserLeave("carol") in alice.of(UserLeave))


async def test_polling_link_answers_history_and_room_requests(links: Links) -> None:
    for n in range(3):
        await links.post("bob", f"old {n}")
    link, alice = await links.polling("alice")
    assert await link.send(HistoryRequest(room="general", before=3, limit=5))
    assert await link.send(CreateRoom(name="random"))
    page = alice.of(HistoryPage)[0]
    assert ([m.text for m in page.messages], page.has_more) == (["old 0", "old 1"], False)
    assert [(room.name, room.last_seq) for room in alice.of(Room)] == [("random", 0)]


async def test_polling_link_hears_of_rooms_others_create(links: Links) -> None:
    _, alice = await links.polling("alice", rooms_refresh_interval=0.0, poll_wait=0.2)
    bob_link, _ = await links.on_socket("bob")
    await bob_link.send(CreateRoom(name="random"))
    await eventually(lambda: "random" in [room.name for room in alice.of(Room)])
    await links.post("bob", "in random", room="random")
    await eventually(lambda: alice.texts("random") == ["in random"])


async def test_polling_link_switches_back_to_the_websocket_once_it_passes(
    proxy: ReverseProxy, links: Links
) -> None:
    link, alice = await links.polling("alice", ws_retry_interval=0.1)
    proxy.pass_websocket = True
    await eventually(lambda: link.state.kind is LinkKind.CONNECTED)
    assert len(alice.of(Welcome)) == 2
    client_id = str(uuid.uuid4())
    assert await link.send(SendMessage(room="general", client_id=client_id, text="socket"))
    await eventually(lambda: alice.texts() == ["socket"])


async def test_messages_sent_while_switching_back_arrive_once(
    proxy: ReverseProxy, links: Links
) -> None:
    link, alice = await links.polling("alice", ws_retry_interval=0.1)
    await links.post("bob", "while polling")
    await eventually(lambda: alice.texts() == ["while polling"])
    proxy.pass_websocket = True
    await eventually(lambda: link.state.kind is LinkKind.CONNECTED)
    await links.post("bob", "on the socket")
    await eventually(lambda: len(alice.texts()) >= 2)
    assert alice.texts() == ["while polling", "on the socket"]


async def test_reconnect_now_while_polling_tries_the_socket_at_once(
    proxy: ReverseProxy, links: Links
) -> None:
    link, _ = await links.polling("alice", ws_retry_interval=600.0)
    proxy.pass_websocket = True
    link.reconnect_now()
    await eventually(lambda: link.state.kind is LinkKind.CONNECTED)


async def test_logging_out_while_polling_stops_as_unauthorized(links: Links) -> None:
    link, _ = await links.polling("alice", poll_wait=0.5)
    await links.log_out("alice")
    await eventually(lambda: link.state.kind is LinkKind.UNAUTHORIZED)
    assert not link.active


async def test_a_send_refused_as_unauthorized_while_polling_stops_the_link(links: Links) -> None:
    link, _ = await links.polling("alice", poll_wait=30.0)
    await links.log_out("alice")
    sent = await link.send(SendMessage(room="general", client_id=str(uuid.uuid4()), text="x"))
    assert not sent
    await eventually(lambda: link.state.kind is LinkKind.UNAUTHORIZED)


async def test_close_while_polling_leaves_no_task_behind(links: Links) -> None:
    before = asyncio.all_tasks()
    link, _ = await links.polling("alice", ws_retry_interval=0.05)
    await link.close()
    assert link.state.kind is LinkKind.OFFLINE
    leftovers = [t for t in asyncio.all_tasks() - before if not t.done() and _client_side(t)]
    assert leftovers == []
