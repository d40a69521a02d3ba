"""``chat-server --redis URL``: refused clearly when it cannot work."""

from __future__ import annotations

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


def test_the_log_never_shows_the_redis_password() -> None:
    from chat_server.cluster.bus import shown_url

    assert shown_url("redis://:secret@db.example:6380/2") == "redis://db.example:6380/2"
    assert shown_url("rediss://user:pw@[::1]:6379/0") == "rediss://[::1]:6379/0"
    assert shown_url("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"
