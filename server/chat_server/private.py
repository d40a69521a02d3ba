"""Folders only their owner may enter and files only their owner may read.

The server's data folder holds password hashes, session token hashes and
every message; the TLS folder holds the private key. Other local users of the
computer must not read any of it (docs/security.md). The modes are set
explicitly on each folder and file the server makes (and tightened on ones an
older version left open), never through the process umask: the desktop app
hosts this server in its own process, and a process-wide umask would change
the modes of everything else it writes too (saved downloads, say).

On Windows, where these modes mean little, the per-user profile folder the
data lives in already keeps other users out.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)

FOLDER_MODE = 0o700
FILE_MODE = 0o600


def _tighten(path: Path, mode: int) -> None:
    try:
        if stat.S_IMODE(path.stat().st_mode) != mode:
            os.chmod(path, mode)
    except PermissionError:
        # Someone else's folder (an operator's choice of --data-dir): what we
        # create inside it is still private.
        log.warning("cannot restrict %s to its owner (mode %o): not ours", path, mode)


def private_folder(path: Path) -> Path:
    """Make ``path`` (and any missing parents) a folder with mode 0700; return it.

    An existing ``path`` is tightened to 0700; existing parents are left as
    they are (``~/.local/share`` is not ours to change).
    """
    missing = []
    folder = Path(path)
    while not folder.exists():
        missing.append(folder)
        if folder.parent == folder:
            break
        folder = folder.parent
    for new in reversed(missing):
        # The mode here is filtered through the umask; the chmod below is not.
        # (FileExistsError: made meanwhile by another process.)
        with contextlib.suppress(FileExistsError):
            new.mkdir(mode=FOLDER_MODE)
        _tighten(new, FOLDER_MODE)
    _tighten(Path(path), FOLDER_MODE)
    return Path(path)


def private_file(path: Path) -> Path:
    """Make sure ``path`` exists as a file with mode 0600 (created empty if missing); return it.

    Created with 0600 from the start (the umask can only narrow that), so it
    is never readable by others, not even before the chmod.
    """
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, FILE_MODE))
    _tighten(path, FILE_MODE)
    return path
