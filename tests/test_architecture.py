"""The dependency arrows of docs/architecture: ui -> controller -> {transport, storage} -> protocol.

Walks the import statements of every module (with ``ast``, importing nothing)
and fails when a layer reaches past the one below it: a widget that opens a
socket, a protocol module that imports asyncio, a server that imports Qt.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# For each layer: the imports (prefixes) it must never make.
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "chat_protocol": (
        "asyncio",
        "PySide6",
        "qasync",
        "peewee",
        "playhouse",
        "aiohttp",
        "websockets",
        "chat_desktop",
        "chat_server",
    ),
    "chat_desktop.storage": (
        "PySide6",
        "qasync",
        "aiohttp",
        "websockets",
        "chat_desktop.transport",
        "chat_desktop.controller",
        "chat_desktop.ui",
        "chat_server",
    ),
    "chat_desktop.transport": (
        "PySide6",
        "qasync",
        "peewee",
        "playhouse",
        "chat_desktop.storage",
        "chat_desktop.controller",
        "chat_desktop.ui",
        "chat_server",
    ),
    "chat_desktop.controller": ("chat_desktop.ui", "peewee", "playhouse", "websockets", "aiohttp"),
    "chat_desktop.ui": (
        "chat_desktop.transport",
        "chat_desktop.storage",
        "peewee",
        "playhouse",
        "websockets",
        "aiohttp",
        "chat_server",
    ),
    # The controller's parts are plain asyncio, unit-tested with a fake link;
    # only its Qt faces (chat.py, account.py, ...) wire them to signals.
    **{
        f"chat_desktop.controller.{part}": ("PySide6", "qasync")
        for part in (
            "connection",
            "outbox",
            "history",
            "certificates",
            "typing",
            "roster",
            "conversation",
            "reads",
            "people",
            "actions",
        )
    },
    # The server never imports the desktop package: a headless server is
    # installed without Qt (README, "A server without the app").
    "chat_server": ("PySide6", "qasync", "chat_desktop"),
}


def _module_name(path: Path) -> str:
    relative = path.relative_to(ROOT / "server" if path.is_relative_to(ROOT / "server") else ROOT)
    parts = list(relative.with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, module: str) -> set[str]:
    """Every absolute module name that ``path`` imports, relative imports resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            found.add(name)
            found.update(f"{name}.{alias.name}" for alias in node.names)
    return found


def _modules() -> list[tuple[str, Path]]:
    files = [
        *(ROOT / "chat_protocol").rglob("*.py"),
        *(ROOT / "chat_desktop").rglob("*.py"),
        *(ROOT / "server" / "chat_server").rglob("*.py"),
    ]
    return sorted((_module_name(path), path) for path in files)


def test_the_layers_exist() -> None:
    names = {name for name, _ in _modules()}
    for layer in FORBIDDEN:
        assert layer in names, f"{layer} is missing"


@pytest.mark.parametrize(("module", "path"), _modules(), ids=lambda value: str(value))
def test_module_imports_only_from_the_layers_below_it(module: str, path: Path) -> None:
    rules = [
        banned
        for layer, banned in FORBIDDEN.items()
        if module == layer or module.startswith(layer + ".")
    ]
    imported = _imports(path, module)
    broken = sorted(
        name
        for name in imported
        for banned in (b for rule in rules for b in rule)
        if name == banned or name.startswith(banned + ".")
    )
    assert not broken, f"{module} must not import {broken}"


def test_every_module_opens_with_a_docstring() -> None:
    missing = [
        name for name, path in _modules() if ast.get_docstring(ast.parse(path.read_text())) is None
    ]
    assert not missing, f"modules without a docstring: {missing}"


def test_the_app_reaches_the_server_only_through_its_embedding_entry_point() -> None:
    # "Host a chat on this computer" is the one place the desktop app runs the
    # server; it goes through chat_server.embed so that the server's insides
    # are free to change (and a headless install never needs the app).
    reaching = {
        module: sorted(
            name
            for name in _imports(path, module)
            if name == "chat_server" or name.startswith("chat_server.")
        )
        for module, path in _modules()
        if module.startswith("chat_desktop")
    }
    reaching = {module: names for module, names in reaching.items() if names}
    assert list(reaching) == ["chat_desktop.controller.hosting"], reaching
    names = reaching["chat_desktop.controller.hosting"]
    assert all(name.startswith("chat_server.embed") for name in names), names


# Modules whose classes must stay small enough to change safely (issue 10): the
# socket session was one 830-line module and the client controller one
# 690-line class before they were split by concern. A class's docstring (its
# Signals: list, say) does not count: it makes a class easier to change, not harder.
SMALL_CLASSES = ("chat_server.session", "chat_server.fanout", "chat_desktop.controller.chat")
MAX_CLASS_LINES = 300


def _code_lines(node: ast.ClassDef) -> int:
    assert node.end_lineno is not None
    lines = node.end_lineno - node.lineno + 1
    doc = node.body[0] if node.body else None
    if isinstance(doc, ast.Expr) and isinstance(doc.value, ast.Constant):
        assert doc.end_lineno is not None
        lines -= doc.end_lineno - doc.lineno + 1
    return lines


def test_the_socket_session_and_the_controller_have_no_class_above_300_lines() -> None:
    paths = dict(_modules())
    sizes = {
        f"{module}.{node.name}": _code_lines(node)
        for module in SMALL_CLASSES
        for node in ast.walk(ast.parse(paths[module].read_text(encoding="utf-8")))
        if isinstance(node, ast.ClassDef)
    }
    assert "chat_desktop.controller.chat.ChatController" in sizes
    too_long = {name: lines for name, lines in sizes.items() if lines > MAX_CLASS_LINES}
    assert not too_long, too_long
