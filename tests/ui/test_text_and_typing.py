"""The pure helpers of the UI: links and mentions, typing notices and sentences, status words."""

from __future__ import annotations

from chat_desktop.controller.entries import ConnectionKind, ConnectionStatus
from chat_desktop.controller.typing import TypingNotifier, TypingTracker
from chat_desktop.ui.connection_status import status_text
from chat_desktop.ui.text_spans import SpanKind, find_links, find_spans, mentions
from chat_desktop.ui.typing_line import typing_sentence


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_links_are_found_without_trailing_punctuation() -> None:
    text = "see https://example.org/a_(b). and (http://x.lan/y), mailto:ops@example.org!"
    assert [span.target for span in find_links(text)] == [
        "https://example.org/a_(b)",
        "http://x.lan/y",
        "mailto:ops@example.org",
    ]


def test_only_http_https_and_mailto_are_links() -> None:
    assert find_links("file:///etc/passwd javascript:alert(1) ftp://x smb://y") == []


def test_a_mention_of_me_is_found_case_insensitively_but_not_inside_a_link() -> None:
    assert mentions("ping @Alice, please", "alice")
    assert not mentions("ping @alicea", "alice")
    assert not mentions("mail me at bob@alice.lan", "alice")
    spans = find_spans("https://x.lan/@alice and @alice", "alice")
    assert [span.kind for span in spans] == [SpanKind.LINK, SpanKind.MENTION]


def test_typing_notices_go_out_at_most_every_three_seconds_and_stop_once() -> None:
    clock = Clock()
    notifier = TypingNotifier(clock)
    assert notifier.text_changed("general", "h") == [("general", True)]
    clock.now += 1
    assert notifier.text_changed("general", "he") == []
    clock.now += 2.5
    assert notifier.text_changed("general", "hel") == [("general", True)]
    assert notifier.text_changed("general", "") == [("general", False)]
    assert notifier.text_changed("general", "") == []
    assert notifier.stopped() == []


def test_typing_in_another_room_ends_the_notice_in_the_first() -> None:
    notifier = TypingNotifier(Clock())
    notifier.text_changed("general", "a")
    assert notifier.text_changed("random", "ab") == [("general", False), ("random", True)]


def test_an_indicator_expires_six_seconds_after_the_last_active_notice() -> None:
    clock = Clock()
    tracker = TypingTracker(clock)
    tracker.typing("general", "bob", True)
    clock.now += 4
    tracker.typing("general", "bob", True)
    clock.now += 4
    assert tracker.expire() == set()
    assert tracker.users("general") == ["bob"]
    clock.now += 2
    assert tracker.expire() == {"general"}
    assert tracker.users("general") == []


def test_an_indicator_ends_at_once_when_that_users_message_arrives() -> None:
    tracker = TypingTracker(Clock())
    tracker.typing("general", "bob", True)
    tracker.typing("general", "carol", True)
    assert tracker.message_arrived("general", "bob")
    assert tracker.users("general") == ["carol"]


def test_typing_sentences() -> None:
    assert typing_sentence([]) == ""
    assert typing_sentence(["alice"]) == "alice is typing..."
    assert typing_sentence(["alice", "bob"]) == "alice and bob are typing..."
    assert typing_sentence(["alice", "bob", "carol"]) == "several people are typing..."


def test_status_words_count_down_to_the_next_attempt() -> None:
    waiting = ConnectionStatus(ConnectionKind.RECONNECTING, retry_at=107.2)
    assert status_text(waiting, now=100.0) == "Reconnecting in 8 s"
    assert status_text(waiting, now=106.5) == "Reconnecting in 1 s"
    assert status_text(ConnectionStatus(ConnectionKind.CONNECTED)) == "Connected"
    assert status_text(ConnectionStatus(ConnectionKind.POLLING)) == "Offline: polling"
    assert status_text(ConnectionStatus(ConnectionKind.OFFLINE)) == "Offline"
