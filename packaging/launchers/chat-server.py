"""PyInstaller's entry script for the server bundle: the ``chat-server`` command."""

from chat_server.cli import main

raise SystemExit(main())
