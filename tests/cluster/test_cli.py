"""``chat-server --redis URL``: refused clearly when it cannot work."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from chat_server.cli import main


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["--redis", "redis://127.0.0.1:6379/0"], "--redis needs --db postgresql://"),
        (
            ["--redis", "127.0.0.1:6379", "--db", "postgresql://postgres@127.0.0.1/chat"],
            "--redis takes a URL",
        ),
    ],
)
def test_redis_without_a_shared_database_or_a_url_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], complaint: str
) -> None:
    assert main(["--data-dir", str(tmp_path), "--port", "0", *args]) == 2
    assert complaint in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "module", "complaint"),
    [
        (["--redis", "redis://127.0.0.1:6379/0"], "redis", "--redis needs the redis module"),
        ([], "psycopg2", "--db postgresql:// needs the psycopg2 module"),
        (["user", "list"], "psycopg2", "--db postgresql:// needs the psycopg2 module"),
    ],
)
def test_an_install_without_the_client_says_which_extra_to_add(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    module: str,
    complaint: str,
) -> None:
    # An install without the extra cannot be made on demand inside the test
    # environment (which has every extra): None in sys.modules makes the import fail.
    monkeypatch.setitem(sys.modules, module, None)
    db = ["--db", "postgresql://postgres@127.0.0.1/chat"]
    assert main(["--data-dir", str(tmp_path), "--port", "0", *db, *args]) == 2
    err = capsys.readouterr().err
    assert complaint in err and "Traceback" not in err
    extra = "cluster" if module == "redis" else "postgres"
    assert f"pip install 'chat-desktop[{extra}]'" in err


def test_the_log_never_shows_the_redis_password() -> None:
    from chat_server.cluster.bus import shown_url

    assert shown_url("redis://:secret@db.example:6380/2") == "redis://db.example:6380/2"
    assert shown_url("rediss://user:pw@[::1]:6379/0") == "rediss://[::1]:6379/0"
    assert shown_url("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"
