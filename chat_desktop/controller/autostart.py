"""Start at login: an XDG autostart entry on Linux, nothing elsewhere (yet).

Desktops that follow the XDG autostart specification (GNOME, KDE, Xfce, ...)
start every ``*.desktop`` file in ``$XDG_CONFIG_HOME/autostart`` (by default
``~/.config/autostart``) when the user logs in. :class:`Autostart` writes or
removes ours; the file is written 0600 like every file the app writes
(:func:`~chat_desktop.storage.private.write_private`). Elsewhere
:attr:`Autostart.supported` is False and the settings dialog says so.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from chat_desktop.storage.private import write_private

ENTRY_NAME = "chat-desktop.desktop"


def default_autostart_dir() -> Path:
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "autostart"


def launch_command() -> list[str]:
    """How to start this app: the installed ``chat-desktop`` script, else this Python."""
    script = shutil.which("chat-desktop")
    return [script] if script else [sys.executable, "-m", "chat_desktop"]


def _exec_quote(argument: str) -> str:
    # The Desktop Entry spec's Exec quoting: double quotes around anything
    # with a reserved character, with ", `, $ and \ escaped by a backslash;
    # "%" is a field code, written "%%".
    argument = argument.replace("%", "%%")
    if not any(char in argument for char in " \t\n\"'\\><~|&;$*?#()`"):
        return argument
    escaped = "".join("\\" + char if char in '"`$\\' else char for char in argument)
    return f'"{escaped}"'


def desktop_entry(command: list[str]) -> str:
    """The text of the autostart entry that runs ``command``."""
    return (
        "[Desktop Entry]\n"
        "Type=Application\n"
        "Name=Chat Desktop\n"
        "Comment=Chat with your team on the LAN\n"
        f"Exec={' '.join(_exec_quote(part) for part in command)}\n"
        "Icon=chat-desktop\n"
        "Terminal=false\n"
        "X-GNOME-Autostart-enabled=true\n"
    )


class Autostart:
    """Our autostart entry in ``folder`` (Linux only)."""

    def __init__(
        self,
        folder: Path | None = None,
        *,
        command: list[str] | None = None,
        supported: bool | None = None,
    ) -> None:
        self.folder = folder or default_autostart_dir()
        self.command = command or launch_command()
        self.supported = sys.platform.startswith("linux") if supported is None else supported

    @property
    def path(self) -> Path:
        return self.folder / ENTRY_NAME

    def enabled(self) -> bool:
        return self.supported and self.path.is_file()

    def set_enabled(self, enabled: bool) -> None:
        """Write or remove the entry; OSError when the folder cannot be written."""
        if not self.supported:
            return
        if enabled:
            # The folder is the desktop's, shared with other apps: create it
            # if missing but leave its mode alone.
            self.folder.mkdir(parents=True, exist_ok=True)
            write_private(self.path, desktop_entry(self.command).encode("utf-8"))
        else:
            self.path.unlink(missing_ok=True)
