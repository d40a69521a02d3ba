"""Folders and files only their owner can open: the app's data folder is 0700, each file 0600.

The data folder holds the session token, the message cache and the pinned
certificates, so another user of the same computer must not read any of it.
The modes are set explicitly on the one folder and on each file as it is
created, never through the process-wide umask: the hosted server and the
downloads the user saves run in the same process and keep their own modes.

On Windows ``chmod`` only toggles the read-only flag; a user's app data
folder is already private there through its ACL.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents) and make the folder itself 0700.

    A folder an older version left at 0755 is tightened too. Only ``path`` is
    changed, not its parents (``~/.local/share`` is not ours).
    """
    path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    os.chmod(path, DIR_MODE)
    return path


def private_file(path: Path) -> Path:
    """Create ``path`` empty with mode 0600 if it does not exist; an existing one becomes 0600.

    Call it before anything else (SQLite, say) opens the file, so the file
    never exists with a wider mode, even for a moment.
    """
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE)
    try:
        # The mode of os.open only applies to a new file, and the umask may
        # still have narrowed it: fchmod says exactly 0600 either way.
        if hasattr(os, "fchmod"):
            os.fchmod(descriptor, FILE_MODE)
        else:  # pragma: no cover - Windows
            os.chmod(path, FILE_MODE)
    finally:
        os.close(descriptor)
    return path


def write_private(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically; the file is 0600 from its first byte.

    The new content goes to a temporary file beside it (mkstemp creates it
    0600), is flushed to disk, and renamed over ``path``: a crash leaves the
    old file or the new one, never half of either.
    """
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as file:
            with contextlib.suppress(AttributeError):
                os.fchmod(file.fileno(), FILE_MODE)
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
