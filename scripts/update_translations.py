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

Translate with Qt Linguist (``pyside6-linguist chat_desktop/i18n/chat_desktop_de.ts``)
or in a text editor, then run this again to compile.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-compile", action="store_true", help="refresh the .ts files only")
    args = parser.parse_args(argv)
    lupdate, lrelease = tool("lupdate"), tool("lrelease")
    files = sources()
    common = [lupdate, "-no-obsolete", "-locations", "relative", *files]
    for language in LANGUAGES:
        ts = FOLDER / f"chat_desktop_{language}.ts"
        subprocess.run(
            [*common, "-target-language", language, "-ts", str(ts)], cwd=ROOT, check=True
        )
    english = FOLDER / "chat_desktop_en.ts"
    subprocess.run(
        [*common, "-pluralonly", "-target-language", "en", "-ts", str(english)],
        cwd=ROOT,
        check=True,
    )
    if not args.no_compile:
        for ts in sorted(FOLDER.glob("*.ts")):
            subprocess.run([lrelease, "-silent", str(ts)], cwd=ROOT, check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
