"""NotificationPolicy and Preferences: which message notifies and sounds, with an injected clock.

Plain Python over the real settings file (AppSettings in tmp_path): no Qt,
no window. The window only acts on the answers (tests/ui/test_settings.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from chat_desktop.controller.autostart import Autostart, desktop_entry
from chat_desktop.controller.notifications import (
    Alert,
    Appearance,
    NotificationPolicy,
    NotifyLevel,
    Preferences,
)
from chat_desktop.controller.settings import AppSettings

NOON = datetime(2026, 3, 4, 12, 30)


class Clock:
    """A settable local time."""

    def __init__(self, now: datetime = NOON) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def settings(tmp_path: Path) -> AppSettings:
    return AppSettings(tmp_path / "data")


def policy_over(settings: AppSettings, clock: Clock | None = None) -> NotificationPolicy:
    return NotificationPolicy(Preferences(settings), clock=clock or Clock())


def test_by_default_every_message_notifies_with_a_sound(settings: AppSettings) -> None:
    policy = policy_over(settings)
    assert policy.alert("general", "bob", "lunch?", "alice") == Alert(True, True, False)


def test_mentions_only_lets_through_a_mention_of_me_in_any_case(settings: AppSettings) -> None:
    policy = policy_over(settings)
    policy.preferences.level = NotifyLevel.MENTIONS
    assert not policy.alert("general", "bob", "lunch?", "alice").show
    assert not policy.alert("general", "bob", "ask @alicia", "alice").show
    assert not policy.alert("general", "bob", "mail alice@example.org", "alice").show
    mention = policy.alert("general", "bob", "lunch, @ALICE?", "alice")
    assert mention == Alert(True, True, True)


def test_a_muted_room_is_quiet_except_for_mentions_of_me(settings: AppSettings) -> None:
    policy = policy_over(settings)
    policy.preferences.set_muted("random", True)
    assert not policy.alert("random", "bob", "cat pictures", "alice").show
    assert policy.alert("general", "bob", "cat pictures", "alice").show
    assert policy.alert("random", "bob", "@alice look", "alice").show
    policy.preferences.set_muted("random", False)
    assert policy.alert("random", "bob", "cat pictures", "alice").show


def test_none_and_do_not_disturb_silence_even_mentions(settings: AppSettings) -> None:
    clock = Clock()
    policy = policy_over(settings, clock)
    policy.preferences.level = NotifyLevel.NONE
    assert policy.alert("general", "bob", "@alice", "alice") == Alert(False, False, True)
    policy.preferences.level = NotifyLevel.ALL
    until = policy.quiet_for_an_hour()
    assert until == NOON + timedelta(hours=1)
    assert policy.quiet_until() == until
    assert not policy.alert("general", "bob", "@alice", "alice").show
    clock.now += timedelta(minutes=59)
    assert not policy.alert("general", "bob", "@alice", "alice").show
    assert policy.quiet_left() == 60
    clock.now += timedelta(minutes=1)
    assert policy.quiet_until() is None
    assert policy.alert("general", "bob", "@alice", "alice").show


def test_do_not_disturb_until_tomorrow_ends_the_next_morning_or_when_ended(
    settings: AppSettings,
) -> None:
    clock = Clock(datetime(2026, 3, 4, 23, 50))
    policy = policy_over(settings, clock)
    assert policy.quiet_until_tomorrow() == datetime(2026, 3, 5, 8, 0)
    clock.now = datetime(2026, 3, 5, 7, 59)
    assert policy.quiet_until() is not None
    policy.end_quiet()
    assert policy.quiet_until() is None
    assert policy.alert("general", "bob", "hi", "alice").show


def test_the_sound_switch_only_silences_the_sound(settings: AppSettings) -> None:
    policy = policy_over(settings)
    policy.preferences.sound = False
    assert policy.alert("general", "bob", "hi", "alice") == Alert(True, False, False)


def test_my_own_message_mentioning_me_is_no_mention(settings: AppSettings) -> None:
    policy = policy_over(settings)
    policy.preferences.level = NotifyLevel.MENTIONS
    assert not policy.alert("general", "Alice", "note to @alice", "alice").show


def test_the_choices_are_plain_text_in_the_settings_file_and_survive_a_restart(
    tmp_path: Path, settings: AppSettings
) -> None:
    preferences = Preferences(settings)
    preferences.level = NotifyLevel.MENTIONS
    preferences.set_muted("random", True)
    preferences.set_muted("ops", True)
    preferences.sound = False
    preferences.appearance = Appearance.DARK
    preferences.close_to_tray = True
    preferences.quiet_until = NOON
    text = settings.path.read_text()
    assert "level=mentions" in text and "muted=ops random" in text
    assert "@" not in text
    again = Preferences(AppSettings(tmp_path / "data"))
    assert again.level is NotifyLevel.MENTIONS
    assert again.muted == {"ops", "random"}
    assert not again.sound
    assert again.appearance is Appearance.DARK
    assert again.close_to_tray
    assert again.quiet_until == NOON


def test_unknown_or_typed_values_read_as_the_defaults(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "settings.ini").write_text(
        "[notifications]\nlevel=loud\nquiet_until=soon\nsound=@Variant(\\0\\0\\0\\x1\\x1)\n"
        "[appearance]\nscheme=purple\n"
    )
    preferences = Preferences(AppSettings(folder))
    assert preferences.level is NotifyLevel.ALL
    assert preferences.quiet_until is None
    assert preferences.sound
    assert preferences.appearance is Appearance.SYSTEM


def test_start_at_login_writes_an_owner_only_autostart_entry_and_removes_it(
    tmp_path: Path,
) -> None:
    autostart = Autostart(
        tmp_path / "autostart", command=["/opt/chat apps/chat-desktop"], supported=True
    )
    assert not autostart.enabled()
    autostart.set_enabled(True)
    assert autostart.enabled()
    assert autostart.path.stat().st_mode & 0o777 == 0o600
    entry = autostart.path.read_text()
    assert entry.startswith("[Desktop Entry]\nType=Application\n")
    assert 'Exec="/opt/chat apps/chat-desktop"\n' in entry
    autostart.set_enabled(False)
    assert not autostart.path.exists() and not autostart.enabled()


def test_exec_quoting_follows_the_desktop_entry_rules() -> None:
    entry = desktop_entry(["/usr/bin/python3", "-m", "chat_desktop", '100%"$x'])
    assert 'Exec=/usr/bin/python3 -m chat_desktop "100%%\\"\\$x"\n' in entry


def test_where_start_at_login_is_unsupported_nothing_is_written(tmp_path: Path) -> None:
    autostart = Autostart(tmp_path / "autostart", command=["x"], supported=False)
    autostart.set_enabled(True)
    assert not autostart.enabled()
    assert not (tmp_path / "autostart").exists()
