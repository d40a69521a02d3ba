"""The outbox: my messages leave in the order written, each is stored once however the
connection breaks, a refusal is kept for Retry, and nothing is lost across a restart."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from chat_desktop.controller.entries import DeliveryState, MessageEntry
from chat_desktop.controller.outbox import Outbox
from chat_protocol import (
    Ack,
    Error,
    ErrorCode,
    Message,
    SendEdit,
    SendMessage,
    SendReact,
    SendRead,
    rules,
)
from tests.waiting import eventually

from .conftest import ME, Session, opened


def outbox_of(session: Session, **options: float) -> tuple[Outbox, list[MessageEntry]]:
    """An Outbox on the session, and every entry it reported, in order."""
    reported: list[MessageEntry] = []
    outbox = Outbox(
        session.cache,
        session.connection,
        session.tasks,
        me=ME,
        on_change=reported.append,
        **options,
    )
    return outbox, reported


async def one_sent(
    session: Session, text: str, **options: float
) -> tuple[Outbox, list[MessageEntry], MessageEntry]:
    """An outbox on a connected link that has sent one message, ``text``; and that entry."""
    outbox, reported = outbox_of(session, **options)
    connect(session, outbox)
    entry = outbox.add("general", text)
    await eventually(lambda: sent_texts(session) == [text])
    return outbox, reported, entry


def connect(session: Session, outbox: Outbox) -> None:
    """The link is up: as the controller does, send what waits."""
    session.link.connect()
    outbox.flush()


def sent_texts(session: Session) -> list[str]:
    return [event.text for event in session.link.sent if isinstance(event, SendMessage)]


def sent_ids(session: Session) -> list[str]:
    return [event.client_id for event in session.link.sent if isinstance(event, SendMessage)]


def state_of(outbox: Outbox, client_id: str) -> Callable[[], DeliveryState | None]:
    def current() -> DeliveryState | None:
        found = [entry for entry in outbox.entries("general") if entry.client_id == client_id]
        return found[0].state if found else None

    return current


def ack(entry: MessageEntry, seq: int) -> Ack:
    return Ack(entry.client_id, entry.room, seq, rules.now_ts())


async def test_messages_written_offline_go_out_in_the_order_written_once_connected(
    session: Session,
) -> None:
    outbox, reported = outbox_of(session)
    written = [outbox.add("general", text) for text in ("one", "two", "three")]
    assert [entry.state for entry in reported] == [DeliveryState.QUEUED] * 3
    assert session.link.sent == []

    connect(session, outbox)
    await eventually(lambda: sent_texts(session) == ["one", "two", "three"])
    assert sent_ids(session) == [entry.client_id for entry in written]
    await eventually(
        lambda: [entry.state for entry in outbox.entries("general")] == [DeliveryState.SENT] * 3
    )


async def test_after_a_drop_what_was_not_acknowledged_goes_out_again_with_the_same_id(
    session: Session,
) -> None:
    outbox, _ = outbox_of(session)
    connect(session, outbox)
    first, second = outbox.add("general", "first"), outbox.add("general", "second")
    await eventually(lambda: sent_texts(session) == ["first", "second"])
    delivered = outbox.acked(ack(first, 1))
    assert delivered is not None and delivered.state is DeliveryState.DELIVERED
    assert delivered.seq == 1 and delivered.text == "first"

    # The connection drops before the second ack; on the next one only the
    # second goes out again, under its own client_id (the server stores it once).
    session.link.drop()
    outbox.connection_lost()
    connect(session, outbox)
    await eventually(lambda: sent_texts(session) == ["first", "second", "second"])
    assert sent_ids(session)[1:] == [second.client_id, second.client_id]

    done = outbox.acked(ack(second, 2))
    assert done is not None and done.state is DeliveryState.DELIVERED and done.seq == 2
    assert outbox.entries("general") == [] and session.cache.outbox() == []


async def test_a_younger_message_never_overtakes_an_older_one_that_did_not_go_out(
    session: Session,
) -> None:
    # While polling, a POST may fail and the link stays up: nothing reconnects.
    outbox, _ = outbox_of(session, send_retry=0.05)
    connect(session, outbox)
    session.link.accepting = False
    outbox.add("general", "older")
    outbox.add("general", "younger")
    # The older one is tried again and again; the younger one waits behind it.
    await eventually(lambda: len(session.link.attempts) >= 3)
    assert {event.text for event in session.link.attempts if isinstance(event, SendMessage)} == {
        "older"
    }
    assert session.link.sent == []

    session.link.accepting = True
    await eventually(lambda: sent_texts(session) == ["older", "younger"])


async def test_the_broadcast_of_my_message_arriving_before_its_ack_completes_it(
    session: Session,
) -> None:
    outbox, _, entry = await one_sent(session, "hello")
    outbox.stored(Message("general", 7, entry.client_id, ME, "hello", rules.now_ts()))
    assert outbox.entries("general") == [] and session.cache.outbox() == []
    # The ack that follows changes nothing more.
    assert outbox.acked(ack(entry, 7)) is None
    # Someone else's message with the same client_id is not mine.
    other = outbox.add("general", "again")
    outbox.stored(Message("general", 8, other.client_id, "mallory", "x", rules.now_ts()))
    assert other.client_id in outbox


async def test_a_refused_message_fails_with_the_reason_and_retry_sends_it_again(
    session: Session,
) -> None:
    outbox, reported, entry = await one_sent(session, "too long, say")

    failed = outbox.refused(Error(ErrorCode.TOO_LARGE, "message is too large", entry.client_id))
    assert failed is not None and failed.state is DeliveryState.FAILED
    # The code is kept (the window shows its translated sentence), not the server's words.
    assert failed.error == ErrorCode.TOO_LARGE
    assert session.cache.outbox()[0].failed == ErrorCode.TOO_LARGE
    # A reconnect does not send a failed message by itself.
    session.link.drop()
    outbox.connection_lost()
    connect(session, outbox)
    await eventually(lambda: state_of(outbox, entry.client_id)() is DeliveryState.FAILED)
    assert sent_texts(session) == ["too long, say"]

    outbox.retry(entry.client_id)
    await eventually(lambda: sent_texts(session) == ["too long, say"] * 2)
    assert sent_ids(session) == [entry.client_id] * 2
    assert reported[-1].state is DeliveryState.SENT
    assert session.cache.outbox()[0].failed is None


async def test_a_rate_limited_message_goes_out_again_by_itself(session: Session) -> None:
    outbox, _, entry = await one_sent(session, "hello", rate_limit_retry=0.05)

    assert outbox.refused(Error(ErrorCode.RATE_LIMITED, "slow down", entry.client_id)) is None
    await eventually(lambda: sent_ids(session) == [entry.client_id] * 2)


async def test_a_rate_limit_refusal_rewinds_and_the_backlog_goes_on_one_at_a_time(
    session: Session,
) -> None:
    # Four messages pipelined; the server stores the first and refuses the
    # second for the rate. A token could refill before it reads the third:
    # the outbox must not let the younger ones overtake the refused one.
    outbox, _ = outbox_of(session, rate_limit_retry=0.05)
    connect(session, outbox)
    one, two, three, four = (outbox.add("general", text) for text in ("1", "2", "3", "4"))
    await eventually(lambda: sent_texts(session) == ["1", "2", "3", "4"])
    outbox.acked(ack(one, 1))

    # Heard the moment the link hands it over, before the batch: the refused
    # one and all after it are no longer taken as sent.
    session.link.deliver(Error(ErrorCode.RATE_LIMITED, "slow down", two.client_id))
    assert [state_of(outbox, e.client_id)() for e in (two, three, four)] == [
        DeliveryState.QUEUED
    ] * 3
    # The refusals of the younger ones, right behind it, are echoes.
    for entry in (three, four):
        session.link.deliver(Error(ErrorCode.RATE_LIMITED, "slow down", entry.client_id))

    # After the pause, from the refused one on, each only after the previous one's answer.
    await eventually(lambda: len(sent_ids(session)) > 4)
    assert sent_ids(session)[4:] == [two.client_id]
    outbox.acked(ack(two, 2))
    await eventually(lambda: len(sent_ids(session)) > 5)
    assert sent_ids(session)[4:] == [two.client_id, three.client_id]
    outbox.acked(ack(three, 3))
    await eventually(lambda: len(sent_ids(session)) > 6)
    outbox.acked(ack(four, 4))
    assert sent_ids(session)[4:] == [two.client_id, three.client_id, four.client_id]

    # The backlog is drained: pipelining again, the next writes go out without waiting.
    outbox.add("general", "5")
    outbox.add("general", "6")
    await eventually(lambda: sent_texts(session)[-2:] == ["5", "6"])
    assert session.cache.outbox()[0].text == "5"


async def test_an_error_about_something_else_is_not_the_outbox_s(session: Session) -> None:
    outbox, _ = outbox_of(session)
    outbox.add("general", "hello")
    assert outbox.refused(Error(ErrorCode.UNKNOWN_ROOM, "no such room", None)) is None
    assert outbox.refused(Error(ErrorCode.BAD_REQUEST, "what?", "not-mine")) is None
    assert [entry.state for entry in outbox.entries("general")] == [DeliveryState.QUEUED]


async def test_what_waits_in_the_outbox_survives_a_restart(tmp_path: Path) -> None:
    cache_file = tmp_path / "cache.sqlite3"
    async with opened(cache_file) as before:
        outbox, _ = outbox_of(before)
        queued = outbox.add("general", "written offline")
        refused = outbox.add("general", "refused")
        outbox.refused(Error(ErrorCode.TOO_LARGE, "too large", refused.client_id))

    async with opened(cache_file) as after:
        outbox, _ = outbox_of(after)
        assert [(e.client_id, e.state, e.error) for e in outbox.entries("general")] == [
            (queued.client_id, DeliveryState.QUEUED, ""),
            (refused.client_id, DeliveryState.FAILED, ErrorCode.TOO_LARGE),
        ]
        connect(after, outbox)
        await eventually(lambda: sent_ids(after) == [queued.client_id])


async def test_a_message_without_an_ack_shows_queued_and_goes_out_again_on_the_next_connection(
    session: Session,
) -> None:
    # The server went silent (frozen, or the connection is gone unnoticed).
    outbox, reported, entry = await one_sent(session, "hello", ack_timeout=0.05)
    await eventually(lambda: state_of(outbox, entry.client_id)() is DeliveryState.QUEUED)
    assert [e.state for e in reported] == [
        DeliveryState.QUEUED,
        DeliveryState.SENT,
        DeliveryState.QUEUED,
    ]

    # Not again on the same connection (the server may only be slow): a
    # younger message goes out alone.
    younger = outbox.add("general", "younger")
    await eventually(lambda: sent_texts(session) == ["hello", "younger"])
    assert outbox.acked(ack(younger, 1)) is not None

    # The next connection sends it again, under the same client_id; its ack completes it.
    session.link.drop()
    outbox.connection_lost()
    connect(session, outbox)
    resent = [entry.client_id, younger.client_id, entry.client_id]
    await eventually(lambda: sent_ids(session) == resent)
    assert state_of(outbox, entry.client_id)() is DeliveryState.SENT
    done = outbox.acked(ack(entry, 2))
    assert done is not None and done.state is DeliveryState.DELIVERED
    assert outbox.entries("general") == [] and session.cache.outbox() == []


async def test_an_ack_that_comes_late_still_delivers_the_queued_message(session: Session) -> None:
    outbox, _, entry = await one_sent(session, "slow server", ack_timeout=0.05)
    await eventually(lambda: state_of(outbox, entry.client_id)() is DeliveryState.QUEUED)
    done = outbox.acked(ack(entry, 1))
    assert done is not None and done.state is DeliveryState.DELIVERED
    assert session.cache.outbox() == []


async def test_an_acknowledged_message_never_turns_queued(session: Session) -> None:
    outbox, reported, entry = await one_sent(session, "quick", ack_timeout=0.05)
    outbox.acked(ack(entry, 1))
    # A later message that does time out proves the watch ran past the first one's deadline.
    later = outbox.add("general", "later")
    await eventually(lambda: state_of(outbox, later.client_id)() is DeliveryState.QUEUED)
    assert [e.state for e in reported if e.client_id == entry.client_id] == [
        DeliveryState.QUEUED,
        DeliveryState.SENT,
    ]


async def test_a_refusal_with_a_code_the_app_does_not_know_keeps_the_server_s_words(
    session: Session,
) -> None:
    outbox, _reported, entry = await one_sent(session, "from the future")

    failed = outbox.refused(Error("quota_exceeded", "your quota is used up", entry.client_id))
    assert failed is not None and failed.error == "your quota is used up"


# Version 2: every write in the one queue ------------------------------------


async def test_an_edit_of_a_message_in_flight_waits_for_its_ack_and_then_uses_its_seq(
    session: Session,
) -> None:
    outbox, _, entry = await one_sent(session, "helo")
    outbox.add_write("edit", "general", target=entry, text="hello")
    later = outbox.add("general", "next")
    # Neither the edit nor what was written after it overtakes the ack.
    assert [type(event) for event in session.link.sent] == [SendMessage]
    outbox.acked(ack(entry, 7))
    await eventually(lambda: len(session.link.sent) == 3)
    edit, after = session.link.sent[1:]
    assert isinstance(edit, SendEdit) and (edit.target, edit.text) == (7, "hello")
    assert isinstance(after, SendMessage) and after.client_id == later.client_id


async def test_a_write_aimed_at_a_queued_message_survives_a_restart_and_goes_out_once(
    tmp_path: Path,
) -> None:
    async with opened(tmp_path / "cache.sqlite3") as first:
        outbox, _ = outbox_of(first)
        entry = outbox.add("general", "lunch?")
        outbox.add_write("react", "general", target=entry, detail={"emoji": "🍕", "on": True})
    async with opened(tmp_path / "cache.sqlite3") as second:
        outbox, _ = outbox_of(second)
        connect(second, outbox)
        await eventually(lambda: sent_texts(second) == ["lunch?"])
        (message,) = outbox.entries("general")
        outbox.stored(Message("general", 3, message.client_id, ME, "lunch?", rules.now_ts()))
        await eventually(lambda: len(second.link.sent) == 2)
        react = second.link.sent[1]
        assert isinstance(react, SendReact) and (react.target, react.emoji) == (3, "🍕")
        outbox.acked(Ack(react.client_id, "general", 4, rules.now_ts()))
        assert second.cache.outbox() == []


async def test_a_refused_write_is_dropped_and_returned_for_the_user(session: Session) -> None:
    outbox, _ = outbox_of(session)
    connect(session, outbox)
    write = outbox.add_write("delete", "general", target=stored_entry(5))
    assert write is not None
    await eventually(lambda: len(session.link.sent) == 1)
    refused = outbox.refused_write(Error(ErrorCode.FORBIDDEN, "not yours", write.client_id))
    assert refused == write
    assert write.client_id not in outbox and session.cache.outbox() == []


async def test_only_the_newest_read_of_a_room_waits_offline_and_a_read_is_done_when_sent(
    session: Session,
) -> None:
    outbox, _ = outbox_of(session)
    for seq in (3, 4, 9):
        outbox.add_write("read", "general", detail={"seq": seq})
    assert [w.detail["seq"] for w in session.cache.outbox()] == [9]
    connect(session, outbox)
    await eventually(lambda: session.link.sent == [SendRead("general", 9)])
    await eventually(lambda: session.cache.outbox() == [])


def stored_entry(seq: int) -> MessageEntry:
    return MessageEntry("general", "bob", "text", rules.now_ts(), f"c{seq}", seq=seq)
