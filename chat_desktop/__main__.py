"""``python -m chat_desktop``: the same as the ``chat-desktop`` command."""

import sys

from chat_desktop.launch import main

sys.exit(main())
