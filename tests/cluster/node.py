"""One server of a test cluster as a process: ``chat-server`` plus test-only settings.

``python -m tests.cluster.node`` takes the CLI's own options (``--db``,
``--redis``...) plus ``--config JSON`` (fields of
:class:`~chat_server.config.ServerConfig` to replace: the cluster's
heartbeat, say, shrunk from seconds to a fraction) and
``--hold-commits-while FILE`` (the crash tests' fault hook: the store stops
after each COMMIT, before the write is answered and published), then runs
:func:`chat_server.cli.serve`. Tests run it through ``ServerProcess`` (see
tests/conftest.py) where they must kill a server with SIGKILL.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from pathlib import Path

from chat_protocol import Limits
from chat_server.cli import build_parser, config_from, serve


def main() -> None:
    parser = build_parser()
    parser.add_argument("--config", type=json.loads, default={}, metavar="JSON")
    parser.add_argument("--limits", type=json.loads, default={}, metavar="JSON")
    parser.add_argument("--hold-commits-while", type=Path, metavar="FILE")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    config = dataclasses.replace(config_from(args), **args.config)
    config.limits = dataclasses.replace(Limits(), **args.limits)
    config.hold_commits_while = args.hold_commits_while
    asyncio.run(serve(config))


if __name__ == "__main__":
    main()
