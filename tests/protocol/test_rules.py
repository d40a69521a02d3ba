"""Value rules: names, passwords, time stamps and the long poll's ``since``."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chat_protocol import rules


@pytest.mark.parametrize("name", ["a", "Alice_1.x-y", "x" * 32])
def test_valid_usernames_pass(name: str) -> None:
    assert rules.validate_username(name) == name


@pytest.mark.parametrize("name", ["", "x" * 33, "al ice", "alice\n", "élise", None, 5])
def test_invalid_usernames_are_refused(name: object) -> None:
    with pytest.raises(rules.ValidationError):
        rules.validate_username(name)


@pytest.mark.parametrize("name", ["", "General", "a" * 65, "dev team", "dev\n"])
def test_invalid_room_names_are_refused(name: str) -> None:
    with pytest.raises(rules.ValidationError):
        rules.validate_room_name(name)


def test_password_length_bounds_are_inclusive() -> None:
    assert rules.validate_password("x" * 8)
    assert rules.validate_password("x" * 1024)
    for bad in ("x" * 7, "x" * 1025):
        with pytest.raises(rules.ValidationError):
            rules.validate_password(bad)


def test_time_stamps_are_utc_with_milliseconds_and_parse_back() -> None:
    moment = datetime(2026, 11, 27, 10, 0, 0, 123456, tzinfo=UTC)
    stamp = rules.format_ts(moment)
    assert stamp == "2026-11-27T10:00:00.123Z"
    assert rules.parse_ts(stamp) == moment.replace(microsecond=123000)


def test_since_parameter_round_trips() -> None:
    positions = {"general": 41, "random": 0}
    assert rules.parse_since(rules.format_since(positions)) == positions


@pytest.mark.parametrize("value", ["general", "general:x", "General:1", "general:-1"])
def test_malformed_since_is_refused(value: str) -> None:
    with pytest.raises(rules.ValidationError):
        rules.parse_since(value)


def test_text_with_a_lone_surrogate_is_refused() -> None:
    with pytest.raises(rules.ValidationError):
        rules.normalize_text("hi \ud800 there")
