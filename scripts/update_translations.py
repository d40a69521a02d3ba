"""Refresh the translations from the code, then compile them.

    python scripts/update_translations.py [--no-compile]

1. ``pyside6-lupdate`` (PySide6's own, next to the Python running this) reads
   every ``self.tr()``, ``QCoreApplication.translate()`` and
   ``QT_TRANSLATE_NOOP()`` under chat_desktop/ and merges the strings into
   chat_desktop/i18n/chat_desktop_de.ts (new ones come in "unfinished";
   strings gone from the code are dropped) and into chat_desktop_en.ts, which
   keeps only the English plural forms (``-pluralonly``).
2. ``pyside6-lrelease`` compiles each .ts into the .qm the app loads
   (chat_desktop.i18n). Both are committed: the .qm ships in the wheel and the
   bundle, so building needs no Qt tools.

``--check`` changes nothing: it refreshes copies and fails (exit 1) when a
string of the code is missing from a .ts or still untranslated (the tests
run it, so a new string cannot slip past in English).

Translate with Qt Linguist (``pyside6-linguist chat_desktop/i18n/chat_desktop_de.ts``)
or in a text editor, then run this again to compile.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FOLDER = ROOT / "chat_desktop" / "i18n"
# Languages with a full translation; English is the source (plural forms only).
LANGUAGES = ("de",)


def tool(name: str) -> str:
    """PySide6's ``pyside6-<name>``: beside this Python first, then on PATH."""
    beside = Path(sys.executable).parent / f"pyside6-{name}"
    found = str(beside) if beside.exists() else shutil.which(f"pyside6-{name}")
    if found is None:
        sys.exit(f"pyside6-{name} not found: pip install PySide6-Essentials")
    return found


def sources() -> list[str]:
    """Every Python module of the app, relative to the repository (stable locations)."""
    return sorted(str(path.relative_to(ROOT)) for path in (ROOT / "chat_desktop").rglob("*.py"))


def refresh(folder: Path, *, quiet: bool = False) -> None:
    """Merge the code's strings into the .ts files in ``folder``."""
    common = [tool("lupdate"), "-no-obsolete", "-locations", "relative", *sources()]
    if quiet:
        common.append("-silent")
    for language in LANGUAGES:
        ts = folder / f"chat_desktop_{language}.ts"
        subprocess.run(
            [*common, "-target-language", language, "-ts", str(ts)], cwd=ROOT, check=True
        )
    english = folder / "chat_desktop_en.ts"
    subprocess.run(
        [*common, "-pluralonly", "-target-language", "en", "-ts", str(english)],
        cwd=ROOT,
        check=True,
    )


def messages(ts: Path) -> dict[tuple[str, str], bool]:
    """(context, source) -> whether it is translated, for every message of ``ts``."""
    found = {}
    for context in ET.parse(ts).getroot().iter("context"):
        name = context.findtext("name") or ""
        for message in context.iter("message"):
            translation = message.find("translation")
            done = translation is not None and translation.get("type") != "unfinished"
            found[(name, message.findtext("source") or "")] = done
    return found


def check() -> int:
    """Exit status 1 when the committed .ts files lag behind the code."""
    problems = []
    with tempfile.TemporaryDirectory() as temporary:
        copies = Path(temporary)
        for ts in FOLDER.glob("*.ts"):
            shutil.copy(ts, copies / ts.name)
        refresh(copies, quiet=True)
        for ts in sorted(copies.glob("*.ts")):
            committed, current = messages(FOLDER / ts.name), messages(ts)
            problems += [f"{ts.name}: not in the file: {key}" for key in current.keys() - committed]
            problems += [
                f"{ts.name}: gone from the code: {key}" for key in committed.keys() - current
            ]
            problems += [
                f"{ts.name}: untranslated: {key}" for key, done in current.items() if not done
            ]
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-compile", action="store_true", help="refresh the .ts files only")
    parser.add_argument(
        "--check", action="store_true", help="change nothing; fail if a .ts lags behind the code"
    )
    args = parser.parse_args(argv)
    if args.check:
        return check()
    refresh(FOLDER)
    if not args.no_compile:
        lrelease = tool("lrelease")
        for ts in sorted(FOLDER.glob("*.ts")):
            subprocess.run([lrelease, "-silent", str(ts)], cwd=ROOT, check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
