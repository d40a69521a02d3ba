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
