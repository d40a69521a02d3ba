"""Dates and times as the user's locale writes them ("14:05", "2:05 PM", "Freitag, 27. November").

Everything goes through :class:`QLocale` (its default, which
:func:`chat_desktop.i18n.install_translations` sets to the chosen language),
never ``strftime``, whose month and day names follow the C library's locale
and not the language the app speaks. "Today" and "Yesterday" are translated.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from PySide6.QtCore import QCoreApplication, QDate, QDateTime, QLocale, QTime


def _qdate(day: date) -> QDate:
    return QDate(day.year, day.month, day.day)


def _qtime(moment: datetime, *, seconds: bool = False) -> QTime:
    return QTime(moment.hour, moment.minute, moment.second if seconds else 0)


def clock(moment: datetime) -> str:
    """The time of day, short: "14:05" (or "2:05 PM" where the locale says so)."""
    return QLocale().toString(_qtime(moment), QLocale.FormatType.ShortFormat)


def long_date(day: date) -> str:
    """ "Friday, 27 November 2026", in the locale's words and order."""
    return QLocale().toString(_qdate(day), QLocale.FormatType.LongFormat)


def day_label(day: date, today: date | None = None) -> str:
    """ "Today", "Yesterday" or the long date: the conversation's day separator."""
    today = today or datetime.now().astimezone().date()
    if day == today:
        return QCoreApplication.translate("dates", "Today")
    if day == today - timedelta(days=1):
        return QCoreApplication.translate("dates", "Yesterday")
    return long_date(day)


def when(moment: datetime | None) -> str:
    """A time in a list: "Today 14:05", "Yesterday 09:12" or "03.11.26 17:40" (short date)."""
    if moment is None:
        return "—"
    days = (datetime.now(moment.tzinfo).date() - moment.date()).days
    if days == 0:
        return QCoreApplication.translate("dates", "Today {time}").format(time=clock(moment))
    if days == 1:
        return QCoreApplication.translate("dates", "Yesterday {time}").format(time=clock(moment))
    stamp = QDateTime(_qdate(moment.date()), _qtime(moment))
    return QLocale().toString(stamp, QLocale.FormatType.ShortFormat)


def full(moment: datetime) -> str:
    """Date and time with seconds, for a tooltip: "Friday, 27 November 2026, 14:05:09"."""
    locale = QLocale()
    # The locale's short time ("h:mm AP", "HH:mm") with the seconds added: its
    # long one names the time zone too.
    pattern = locale.timeFormat(QLocale.FormatType.ShortFormat)
    if "ss" not in pattern:
        pattern = pattern.replace("mm", "mm:ss", 1)
    time = locale.toString(_qtime(moment, seconds=True), pattern)
    return QCoreApplication.translate("dates", "{date}, {time}").format(
        date=long_date(moment.date()), time=time
    )
