"""The app's translations: which language to speak, and the loader that installs it.

Every user-visible string goes through Qt's translation machinery:
``self.tr()`` in QObject subclasses, ``QCoreApplication.translate(context,
text)`` elsewhere, and ``%n`` with a count for plurals. The sources are the
``.ts`` files in this package (``chat_desktop_de.ts`` is the German
translation; ``chat_desktop_en.ts`` holds only the English plural forms, so
"1 new message" is not "1 new messages"), refreshed from the code by
``scripts/update_translations.py`` (PySide6's own ``pyside6-lupdate``) and
compiled by it with ``pyside6-lrelease`` into the ``.qm`` files next to them,
which ship in the wheel (package data) and in the PyInstaller bundle.

:func:`install_translations` runs once at start, before any window: it picks
the language (``--lang``, else the system's locale, which on Unix follows
``LC_ALL``/``LANG``, with ``LANGUAGE``'s list of preferences), makes it the default
:class:`QLocale` (dates and times follow it), and installs our translator
plus Qt's own (``qtbase_<lang>.qm``: the Cancel and Yes buttons of standard
dialogs) when Qt ships one. Without it (the tests), the English sources show.
"""

from __future__ import annotations

import logging
from contextlib import ExitStack
from importlib import resources

from PySide6.QtCore import QCoreApplication, QLibraryInfo, QLocale, QTranslator

log = logging.getLogger(__name__)

#: The base name of our compiled translations: ``chat_desktop_<lang>.qm``.
DOMAIN = "chat_desktop"
# Keeps the installed translators (and any file extracted for them) alive
# for the life of the process.
_installed: list[QTranslator] = []
_files = ExitStack()


def chosen_locale(language: str | None = None) -> QLocale:
    """``language`` ("de", "de_AT", "en") as a QLocale, else the system's."""
    return QLocale(language) if language else QLocale.system()


def translation_file(language: str) -> str | None:
    """The path of ``chat_desktop_<language>.qm`` as installed, None when there is none.

    Read through importlib.resources, so it is found in a source checkout, an
    installed wheel and the bundle alike.
    """
    resource = resources.files(__name__) / f"{DOMAIN}_{language}.qm"
    if not resource.is_file():
        return None
    return str(_files.enter_context(resources.as_file(resource)))


def install_translations(language: str | None = None) -> QLocale:
    """Install the translators for ``language`` (or the system's) on the running app.

    Returns the locale in use, which is also made QLocale's default. Safe to
    call again: the translators of an earlier call are removed first.
    """
    remove_translations()
    locale = chosen_locale(language)
    QLocale.setDefault(locale)
    app = QCoreApplication.instance()
    if app is None:
        raise RuntimeError("install_translations() needs the QApplication first")
    # The English plural forms last in the search order: Qt asks the most
    # recently installed translator first.
    for language in ("en", _our_language(locale)):
        path = translation_file(language) if language else None
        if path is not None:
            _install(app, path)
    qt_translator = QTranslator(app)
    qt_folder = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
    if qt_translator.load(locale, "qtbase", "_", qt_folder):
        QCoreApplication.installTranslator(qt_translator)
        _installed.append(qt_translator)
    return locale


def remove_translations() -> None:
    """Take every translator of :func:`install_translations` off again (English sources),
    and give QLocale back the system's locale."""
    while _installed:
        QCoreApplication.removeTranslator(_installed.pop())
    QLocale.setDefault(QLocale.system())


def _our_language(locale: QLocale) -> str | None:
    """The first of the locale's UI languages we have a translation for ("de" for
    de-AT), None when English (the sources) comes first or nothing matches."""
    for tag in locale.uiLanguages():  # "de-Latn-AT", "de-AT", "de-Latn", "de", ...
        parts = tag.replace("-", "_").split("_")
        if parts[0] == "en":
            return None
        for candidate in ("_".join(parts), f"{parts[0]}_{parts[-1]}", parts[0]):
            if translation_file(candidate) is not None:
                return candidate
    return None


def _install(app: QCoreApplication, path: str) -> None:
    translator = QTranslator(app)
    if translator.load(path):
        QCoreApplication.installTranslator(translator)
        _installed.append(translator)
    else:
        log.warning("could not load the translation %s", path)
