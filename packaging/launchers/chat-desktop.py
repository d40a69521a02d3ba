"""PyInstaller's entry script for the desktop bundle: the ``chat-desktop`` command."""

from chat_desktop.launch import main

raise SystemExit(main())
