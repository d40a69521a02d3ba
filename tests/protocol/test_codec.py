"""The shared protocol package: events round-trip, and bad input only ever raises ProtocolError."""

from __future__ import annotations

import contextlib
import hashlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chat_protocol as p
from chat_protocol import rules


def test_every_server_event_round_trips_through_json() -> None:
    message = p.Message(
        "general", 42, "9b1d", "alice", "hi <b>there</b>", "2026-11-27T10:00:00.123Z"
    )
    events: list[p.Event] = [
        message,
        p.Welcome(
            1, "alice", [p.RoomInfo("general", 57)], ["alice", "bob"], p.ServerInfo("n", "1")
        ),
        p.Ack("9b1d", "general", 42, "2026-11-27T10:00:00.123Z"),
        p.Typing("general", "bob", True),
        p.HistoryPage("general", [message], has_more=True),
        p.Room("random", 0),
        p.Gap("general", 41, 1042),
        p.UserJoin("bob"),
        p.UserLeave("bob"),
        p.Error("rate_limited", "slow down", "9b1d"),
        # Version 2.
        p.Welcome(
            2,
            "alice",
            [p.RoomInfo("team", 3, "private", "plans", ("alice", "bob"), 2, 1, "alice")],
            ["alice"],
            p.ServerInfo("n", "1"),
            admin=True,
            features=["dm", "edit"],
        ),
        p.Message(
            "general",
            43,
            "c2",
            "bob",
            "",
            "2026-11-27T10:00:01.000Z",
            reply_to=42,
            edited="2026-11-27T10:00:02.000Z",
            deleted=True,
            reactions={"👍": ["alice", "bob"]},
        ),
        p.Edit("general", 44, 42, "alice", "hi!", "2026-11-27T10:00:03.000Z"),
        p.Delete("general", 45, 43, "bob", "2026-11-27T10:00:04.000Z"),
        p.Reaction("general", 46, 42, "bob", "🎉", False, "2026-11-27T10:00:05.000Z"),
        p.Member("team", 4, "alice", "bob", "join", "2026-11-27T10:00:06.000Z"),
        p.Topic("team", 5, "alice", "plans", "2026-11-27T10:00:07.000Z"),
        p.Read("team", "bob", 5),
        p.RoomRemoved("team"),
        p.Room("team", 5, p.RoomInfo("team", 5, "direct", "", ("alice", "bob"))),
        p.HistoryPage.of(
            "general",
            [message, p.Edit("general", 44, 42, "alice", "hi!", "2026-11-27T10:00:03.000Z")],
            False,
            v2=True,
        ),
    ]
    for event in events:
        assert p.decode_server(p.encode(event)) == event


def test_every_client_event_round_trips_through_json() -> None:
    events: list[p.Event] = [
        p.Hello("token", {"general": 41}),
        p.SendMessage("general", "9b1d", "hi"),
        p.SetTyping("general", False),
        p.HistoryRequest("general", before=10, limit=20),
        p.CreateRoom("random"),
        # Version 2.
        p.Hello("token", {"general": 41}, protocol=2),
        p.SendMessage("general", "c2", "re", reply_to=41),
        p.CreateRoom("team", private=True),
        p.SendEdit("general", 42, "hi!", "c3"),
        p.SendDelete("general", 42, "c4"),
        p.SendReact("general", 42, "👍", True, "c5"),
        p.SendTopic("team", "plans", "c6"),
        p.Invite("team", "bob", "c7"),
        p.Remove("team", "bob", "c8"),
        p.Leave("team", "c9"),
        p.OpenDm(("bob", "carol"), "c10"),
        p.SendRead("team", 5),
    ]
    for event in events:
        assert p.decode_client(p.encode(event)) == event


def test_a_v1_message_and_welcome_carry_no_version_2_fields() -> None:
    message = p.Message("general", 1, "c", "alice", "hi", "2026-11-27T10:00:00.123Z")
    assert set(json.loads(p.encode(message))) == {
        "type",
        "room",
        "seq",
        "client_id",
        "author",
        "text",
        "ts",
    }
    welcome = p.Welcome(1, "alice", [p.RoomInfo("general", 1)], [], p.ServerInfo("n", "1"))
    body = json.loads(p.encode(welcome))
    assert "admin" not in body and "features" not in body
    assert body["rooms"] == [{"name": "general", "last_seq": 1}]


def test_a_room_object_without_a_creator_is_one_whose_creator_is_unknown() -> None:
    # An older server sends no "creator"; ours sends null when it does not know.
    bare = {"name": "team", "last_seq": 3, "kind": "private", "members": ["alice"]}
    for body in (bare, {**bare, "creator": None}, {**bare, "creator": ""}):
        assert p.RoomInfo.from_wire(body).creator is None
    assert p.RoomInfo.from_wire({**bare, "creator": "alice"}).creator == "alice"
    # The v1 view never carries it.
    assert p.RoomInfo("team", 3, "private", creator="alice").v1().to_wire() == {
        "name": "team",
        "last_seq": 3,
    }


def test_the_direct_room_name_is_the_contracts() -> None:
    expected = "dm-" + hashlib.sha256(b"alice,bob").hexdigest()[:16]
    assert rules.dm_name(["Bob", "alice"]) == rules.dm_name(["alice", "bob"]) == expected


def test_encoded_message_matches_the_contract_example() -> None:
    text = p.encode(p.Message("general", 42, "9b1d...", "alice", "hi", "2026-11-27T10:00:00.123Z"))
    assert json.loads(text) == {
        "type": "message",
        "room": "general",
        "seq": 42,
        "client_id": "9b1d...",
        "author": "alice",
        "text": "hi",
        "ts": "2026-11-27T10:00:00.123Z",
    }


def test_unknown_fields_are_ignored() -> None:
    event = p.decode_client('{"type":"typing","room":"general","active":true,"extra":[1,2]}')
    assert event == p.SetTyping("general", True)


def test_message_text_is_trimmed_before_it_is_stored() -> None:
    event = p.decode_client(
        '{"type":"message","room":"general","client_id":"c1","text":"  hi \\n"}'
    )
    assert isinstance(event, p.SendMessage)
    assert event.text == "hi"


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("not json", "bad_request"),
        ("[1, 2]", "bad_request"),
        ('{"type": 7}', "bad_request"),
        ('{"type": "dance"}', "unknown_type"),
        ('{"type": "message", "room": "General", "client_id": "c1", "text": "x"}', "bad_request"),
        ('{"type": "message", "room": "general", "client_id": "c1", "text": "   "}', "bad_request"),
        ('{"type": "message", "room": "general", "client_id": "c1", "text": 5}', "bad_request"),
        ('{"type": "typing", "room": "general", "active": 1}', "bad_request"),
        ('{"type": "history", "room": "general", "before": true}', "bad_request"),
        ('{"type": "hello", "token": "t", "since": {"general": -1}}', "bad_request"),
        ("[" * 100_000, "bad_request"),
        ('{"type": "hello", "token": "t", "protocol": "2"}', "bad_request"),
        (
            '{"type": "message", "room": "general", "client_id": "c", "text": "x", "reply_to": -1}',
            "bad_request",
        ),
        (
            '{"type": "edit", "room": "general", "target": 1, "text": " ", "client_id": "c"}',
            "bad_request",
        ),
        (
            '{"type": "edit", "room": "general", "target": "1", "text": "x", "client_id": "c"}',
            "bad_request",
        ),
        ('{"type": "delete", "room": "general", "target": 1}', "bad_request"),
        (
            '{"type": "react", "room": "general", "target": 1, "emoji": "a b", "on": true,'
            ' "client_id": "c"}',
            "bad_request",
        ),
        (
            '{"type": "react", "room": "general", "target": 1, "emoji": "x", "on": 1,'
            ' "client_id": "c"}',
            "bad_request",
        ),
        (
            '{"type": "topic", "room": "general", "topic": "' + "x" * 251 + '", "client_id": "c"}',
            "bad_request",
        ),
        ('{"type": "open-dm", "users": [], "client_id": "c"}', "bad_request"),
        ('{"type": "open-dm", "users": ["no spaces"], "client_id": "c"}', "bad_request"),
        ('{"type": "invite", "room": "team", "client_id": "c"}', "bad_request"),
        ('{"type": "read", "room": "team", "seq": -3}', "bad_request"),
        ('{"type": "create-room", "name": "team", "private": "yes"}', "bad_request"),
    ],
)
def test_bad_frames_raise_protocol_errors_with_the_contract_code(frame: str, code: str) -> None:
    with pytest.raises(p.ProtocolError) as caught:
        p.decode_client(frame)
    assert caught.value.code == code


def test_text_longer_than_4000_characters_is_refused_with_its_client_id_as_ref() -> None:
    frame = p.dump_json(
        {"type": "message", "room": "general", "client_id": "c9", "text": "x" * 4001}
    )
    with pytest.raises(p.ProtocolError) as caught:
        p.decode_client(frame)
    assert caught.value.ref == "c9"


def test_invalid_utf8_bytes_are_a_bad_request() -> None:
    with pytest.raises(p.ProtocolError) as caught:
        p.load_object(b'{"type":"hello","token":"\xff"}')
    assert caught.value.code == "bad_request"


def test_history_limit_above_the_maximum_is_capped_not_refused() -> None:
    event = p.decode_client('{"type":"history","room":"general","limit":100000}')
    assert isinstance(event, p.HistoryRequest)
    assert event.limit == 200


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4)
    ),
    max_leaves=20,
)
frame_types = st.sampled_from(
    [
        "hello",
        "message",
        "typing",
        "history",
        "create-room",
        "welcome",
        "ack",
        "room",
        "gap",
        "user-join",
        "user-leave",
        "error",
        # Version 2.
        "edit",
        "delete",
        "react",
        "topic",
        "invite",
        "remove",
        "leave",
        "open-dm",
        "read",
        "member",
        "room-removed",
        "nope",
    ]
)
field_names = st.sampled_from(
    [
        "token",
        "since",
        "room",
        "client_id",
        "text",
        "active",
        "before",
        "limit",
        "name",
        "seq",
        "author",
        "ts",
        "rooms",
        "online",
        "server",
        "protocol",
        "messages",
        "has_more",
        "user",
        # Version 2.
        "reply_to",
        "target",
        "emoji",
        "on",
        "users",
        "topic",
        "private",
        "action",
        "edited",
        "deleted",
        "reactions",
        "kind",
        "members",
        "read_seq",
        "unread",
        "admin",
        "features",
    ]
)


@settings(max_examples=300, deadline=None)
@given(kind=frame_types, fields=st.dictionaries(field_names, json_values, max_size=8))
def test_decoders_raise_only_protocol_errors_on_arbitrary_shapes(
    kind: str, fields: dict[str, object]
) -> None:
    frame = json.dumps({"type": kind, **fields})
    for decode in (p.decode_client, p.decode_server):
        try:
            decode(frame)
        except p.ProtocolError as exc:
            assert exc.code in {"bad_request", "unknown_type"}


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200) | st.text(max_size=200))
def test_decoders_raise_only_protocol_errors_on_arbitrary_bytes(data: bytes | str) -> None:
    for decode in (p.decode_client, p.decode_server):
        with contextlib.suppress(p.ProtocolError):
            decode(data)


def test_a_message_with_files_needs_no_text_and_keeps_their_order() -> None:
    sent = p.SendMessage.from_wire({"room": "general", "client_id": "c1", "files": ["b", "a", "b"]})
    assert (sent.text, sent.files) == ("", ("b", "a"))
    assert sent.to_wire() == {
        "type": "message",
        "room": "general",
        "client_id": "c1",
        "text": "",
        "files": ["b", "a"],
    }
    # Without files the wire is as in version 1.
    assert "files" not in p.SendMessage("general", "c2", "hi").to_wire()


def test_a_stored_message_carries_its_files_both_ways() -> None:
    message = p.Message(
        "general",
        3,
        "c1",
        "alice",
        "",
        "2026-11-30T21:00:00Z",
        files=(p.FileInfo("id1", "shot.png", 1234, "image/png"),),
    )
    wire = message.to_wire()
    assert wire["files"] == [{"id": "id1", "name": "shot.png", "size": 1234, "type": "image/png"}]
    assert p.Message.from_wire(wire) == message


@pytest.mark.parametrize(
    "files",
    [[], "abc", [1], ["../x"], [f"f{n}" for n in range(rules.FILES_PER_MESSAGE_MAX + 1)]],
)
def test_a_files_list_that_breaks_the_rules_is_bad_request(files: object) -> None:
    with pytest.raises(p.ProtocolError) as refused:
        p.SendMessage.from_wire({"room": "general", "client_id": "c1", "text": "x", "files": files})
    assert refused.value.code == "bad_request" and refused.value.ref == "c1"
