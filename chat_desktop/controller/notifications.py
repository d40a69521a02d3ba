"""The user's preferences, and the one decision "does this message notify, with a sound?".

:class:`Preferences` reads and writes the settings dialog's choices as plain
text keys of :class:`~chat_desktop.controller.settings.AppSettings` (through
``text`` / ``set_text`` only, never QSettings: nothing read is deserialised).
A value that is not one of the known ones reads as the default.

:class:`NotificationPolicy` decides, for a message that arrived from someone
else, whether the window shows a notification and whether it plays a sound:

- "do not disturb" (until a time) silences everything until then;
- a mention of me (``@myname``) notifies in every other case: in a muted
  room and in "mentions and direct messages only" mode, but not with
  notifications turned off altogether;
- otherwise a muted room stays quiet, "mentions only" stays quiet, "all"
  notifies.

The sound follows the notification and the sound switch. The policy is plain
Python with an injected clock, unit-tested without Qt or a window; the main
window asks it and only acts on the answer.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Protocol, TypeVar

from .mentions import mentions

E = TypeVar("E", bound=enum.Enum)

# "Do not disturb until tomorrow" ends at this hour of the next day (local time).
MORNING_HOUR = 8


class TextSettings(Protocol):
    """What :class:`Preferences` needs of AppSettings: plain text per key."""

    def text(self, key: str, default: str = "") -> str: ...

    def set_text(self, key: str, value: str) -> None: ...


class MemorySettings:
    """Preferences kept in memory only (a window opened without a settings file)."""

    def __init__(self) -> None:
        self._values: dict[str, str] = {}

    def text(self, key: str, default: str = "") -> str:
        return self._values.get(key, default)

    def set_text(self, key: str, value: str) -> None:
        self._values[key] = value


class NotifyLevel(enum.Enum):
    """Which messages notify."""

    ALL = "all"
    MENTIONS = "mentions"  # mentions of me and direct messages only
    NONE = "none"


class Appearance(enum.Enum):
    """The colour scheme: the desktop's, or forced light or dark."""

    SYSTEM = "system"
    LIGHT = "light"
    DARK = "dark"


def _choice(kind: type[E], value: str, default: E) -> E:
    try:
        return kind(value)
    except ValueError:
        return default


class Preferences:
    """The settings dialog's choices, each one key of the settings file."""

    def __init__(self, settings: TextSettings) -> None:
        self._settings = settings

    @property
    def level(self) -> NotifyLevel:
        return _choice(NotifyLevel, self._settings.text("notifications/level"), NotifyLevel.ALL)

    @level.setter
    def level(self, value: NotifyLevel) -> None:
        self._settings.set_text("notifications/level", value.value)

    @property
    def muted(self) -> frozenset[str]:
        """The muted rooms (room names have no spaces: the protocol's rule)."""
        return frozenset(self._settings.text("notifications/muted").split())

    def set_muted(self, room: str, muted: bool) -> None:
        rooms = set(self.muted)
        if muted:
            rooms.add(room)
        else:
            rooms.discard(room)
        self._settings.set_text("notifications/muted", " ".join(sorted(rooms)))

    @property
    def quiet_until(self) -> datetime | None:
        """When "do not disturb" ends (local, naive), or None when it is not set."""
        value = self._settings.text("notifications/quiet_until")
        try:
            return datetime.fromisoformat(value) if value else None
        except ValueError:
            return None

    @quiet_until.setter
    def quiet_until(self, value: datetime | None) -> None:
        text = value.isoformat(timespec="seconds") if value is not None else ""
        self._settings.set_text("notifications/quiet_until", text)

    @property
    def sound(self) -> bool:
        return self._settings.text("notifications/sound", "true") == "true"

    @sound.setter
    def sound(self, value: bool) -> None:
        self._settings.set_text("notifications/sound", "true" if value else "false")

    @property
    def appearance(self) -> Appearance:
        return _choice(Appearance, self._settings.text("appearance/scheme"), Appearance.SYSTEM)

    @appearance.setter
    def appearance(self, value: Appearance) -> None:
        self._settings.set_text("appearance/scheme", value.value)

    @property
    def close_to_tray(self) -> bool:
        return self._settings.text("window/close_to_tray") == "true"

    @close_to_tray.setter
    def close_to_tray(self, value: bool) -> None:
        self._settings.set_text("window/close_to_tray", "true" if value else "false")


@dataclass(frozen=True, slots=True)
class Alert:
    """What to do about one message: show a notification, play a sound."""

    show: bool
    sound: bool
    # The message mentions me (the notification says so).
    mention: bool = False


class NotificationPolicy:
    """Decides whether a message notifies and sounds; ``clock`` gives local now."""

    def __init__(
        self, preferences: Preferences, *, clock: Callable[[], datetime] = datetime.now
    ) -> None:
        self.preferences = preferences
        self._clock = clock

    # ------------------------------------------------------- do not disturb

    def quiet_until(self) -> datetime | None:
        """When "do not disturb" ends, or None when it is off (or already over)."""
        until = self.preferences.quiet_until
        return until if until is not None and until > self._clock() else None

    def quiet_left(self) -> float:
        """Seconds until "do not disturb" ends (0 when it is off)."""
        until = self.quiet_until()
        return (until - self._clock()).total_seconds() if until is not None else 0.0

    def quiet_for_an_hour(self) -> datetime:
        return self._set_quiet(self._clock() + timedelta(hours=1))

    def quiet_until_tomorrow(self) -> datetime:
        """Until :data:`MORNING_HOUR` o'clock of the next day."""
        tomorrow = self._clock().date() + timedelta(days=1)
        return self._set_quiet(datetime.combine(tomorrow, time(hour=MORNING_HOUR)))

    def end_quiet(self) -> None:
        self.preferences.quiet_until = None

    def _set_quiet(self, until: datetime) -> datetime:
        self.preferences.quiet_until = until
        return until

    # ------------------------------------------------------------- messages

    def alert(self, room: str, author: str, text: str, me: str) -> Alert:
        """The decision for a message ``author`` wrote in ``room`` (``me`` is my name)."""
        mentioned = author.casefold() != me.casefold() and mentions(text, me)
        level = self.preferences.level
        if self.quiet_until() is not None or level is NotifyLevel.NONE:
            show = False
        elif mentioned:
            show = True
        else:
            show = level is NotifyLevel.ALL and room not in self.preferences.muted
        return Alert(show, show and self.preferences.sound, mentioned)
