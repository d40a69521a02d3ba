"""Pure helpers of the transport: server addresses, and the polling fallback's event diffs."""

from __future__ import annotations

import pytest

from chat_desktop.transport import normalize_base_url, websocket_url
from chat_desktop.transport.polling import diff_online, diff_typing
from chat_protocol import Typing, UserJoin, UserLeave


@pytest.mark.parametrize(
    ("typed", "base_url"),
    [
        ("chat.lan", "http://chat.lan:8765"),
        ("10.0.0.5:9000", "http://10.0.0.5:9000"),
        (" https://Chat.Example/ ", "https://chat.example:8765"),
        ("http://h:1/some/path?q=1", "http://h:1"),
        ("[::1]:80", "http://[::1]:80"),
        ("wss://h:2", "https://h:2"),
    ],
)
def test_typed_addresses_become_base_urls(typed: str, base_url: str) -> None:
    assert normalize_base_url(typed) == base_url


@pytest.mark.parametrize("typed", ["", "   ", "ftp://h", "http://", "h:notaport"])
def test_unusable_addresses_are_refused_with_a_sentence(typed: str) -> None:
    with pytest.raises(ValueError, match=r"\w"):
        normalize_base_url(typed)


def test_the_websocket_url_follows_the_scheme() -> None:
    assert websocket_url("http://127.0.0.1:8765") == "ws://127.0.0.1:8765/ws"
    assert websocket_url("https://chat.lan:8765/") == "wss://chat.lan:8765/ws"


def test_new_typists_are_active_and_vanished_ones_inactive() -> None:
    before = {"general": {"bob", "carol"}}
    after = {"general": {"carol", "dave"}}
    events = diff_typing(before, after, me="alice")
    assert Typing("general", "dave", True) in events
    assert Typing("general", "bob", False) in events


def test_typists_still_typing_are_repeated_as_active() -> None:
    events = diff_typing({"general": {"bob"}}, {"general": {"bob"}}, me="alice")
    assert events == [Typing("general", "bob", True)]


def test_own_typing_is_never_reported() -> None:
    assert diff_typing({}, {"general": {"Alice"}}, me="alice") == []


def test_a_room_that_vanished_from_the_answer_stops_its_typists() -> None:
    assert diff_typing({"random": {"bob"}}, {}, me="alice") == [Typing("random", "bob", False)]


def test_presence_changes_become_join_and_leave_events() -> None:
    events = diff_online({"alice", "bob"}, {"alice", "carol"})
    assert events == [UserJoin("carol"), UserLeave("bob")]
