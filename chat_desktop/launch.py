"""The ``chat-desktop`` command: check that the app can start, then start it.

Two things stop a Qt app before it can show a single window, and Qt's own
answer to both is an abort (exit code 134) with a page of plugin diagnostics
that does not say what to do:

- the app is installed without Qt: the distribution installs without it for
  a headless server (``pip install chat-desktop`` gives ``chat-server``
  alone; the app is the ``desktop`` extra);
- no display can be reached: no ``DISPLAY``/``WAYLAND_DISPLAY`` (an SSH
  session, a service), a ``DISPLAY`` that does not answer, or, on X11, the
  xcb libraries that Qt's platform plugin needs and many fresh desktops lack.

This module checks both *before* any Qt module is imported, says in one line
what is missing and how to get it, and exits 1. It imports nothing heavy;
the X11 checks open (``ctypes``) the very libraries the plugin would load, so
a check that passes here is the check Qt would have passed.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import sys

# The libraries Qt's xcb platform plugin loads, by the soname the dynamic
# loader opens, with the Debian/Ubuntu package that ships each (README says
# so too). Opening them is what the plugin does, and takes microseconds; asking
# ctypes.util.find_library would run ldconfig once per library at every start.
XCB_LIBRARIES = {
    "libxcb.so.1": "libxcb1",
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
}


def missing_packages() -> str | None:
    """One line naming what to install when Qt or qasync is missing, else None."""
    missing = [name for name in ("PySide6", "qasync") if importlib.util.find_spec(name) is None]
    if not missing:
        return None
    return (
        f"{', '.join(missing)} not installed; the app needs the desktop extra:"
        " pip install 'chat-desktop[desktop]'"
    )


def display_problem(environ: os._Environ[str] | dict[str, str]) -> str | None:
    """One line saying why no window can open on this display, or None when one can.

    Only Linux and the other X11/Wayland systems are checked: Windows and
    macOS always have their one platform plugin.
    """
    if sys.platform in ("win32", "darwin"):
        return None
    platform = environ.get("QT_QPA_PLATFORM", "")
    if platform and not platform.startswith("xcb"):
        # offscreen, wayland, vnc, ...: the user chose; Qt reports its own way.
        return None
    if not platform and environ.get("WAYLAND_DISPLAY"):
        return None
    if not environ.get("DISPLAY"):
        return (
            "no display: DISPLAY and WAYLAND_DISPLAY are not set; start it from a desktop"
            " session (or set QT_QPA_PLATFORM=offscreen to run without a screen)"
        )
    absent = [package for soname, package in XCB_LIBRARIES.items() if not _loads(soname)]
    if absent:
        return (
            f"Qt's X11 plugin needs libraries this system lacks; on Debian or Ubuntu:"
            f" sudo apt-get install {' '.join(absent)}"
        )
    if not _x_server_answers():
        return f"cannot reach the X display {environ['DISPLAY']!r}; is it running?"
    return None


def _loads(soname: str) -> bool:
    try:
        ctypes.CDLL(soname)
    except OSError:
        return False
    return True


def _x_server_answers() -> bool:
    """Whether libxcb can connect to $DISPLAY (what the plugin does first)."""
    try:
        xcb = ctypes.CDLL("libxcb.so.1")
    except OSError:
        return False
    xcb.xcb_connect.restype = ctypes.c_void_p
    xcb.xcb_connect.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
    xcb.xcb_connection_has_error.argtypes = [ctypes.c_void_p]
    xcb.xcb_disconnect.argtypes = [ctypes.c_void_p]
    # NULL display name: libxcb reads $DISPLAY itself, exactly as Qt's will.
    connection = xcb.xcb_connect(None, None)
    try:
        return bool(connection) and xcb.xcb_connection_has_error(connection) == 0
    finally:
        # xcb_connect returns an error object even on failure; it is freed the same way.
        if connection:
            xcb.xcb_disconnect(connection)


def main(argv: list[str] | None = None) -> int:
    problem = missing_packages() or display_problem(os.environ)
    if problem is not None:
        print(f"chat-desktop: {problem}", file=sys.stderr)
        return 1
    from chat_desktop.app import main as run_app

    return run_app(argv)


if __name__ == "__main__":
    sys.exit(main())
