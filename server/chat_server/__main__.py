"""``python -m chat_server``: the same as the ``chat-server`` command."""

from .cli import main

raise SystemExit(main())
