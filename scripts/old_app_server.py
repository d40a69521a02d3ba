"""Main's chat-server with aiohttp's access log on and a count of socket frames by type.

For the old-app check (scripts/old_app_check.py): the server as it is, plus
two things to read off afterwards: every HTTP request in the log (aiohttp's
access log, which the server leaves off) and, at exit, how many frames of
each type its sockets received, so that a loop of requests over HTTP or over
the socket would show. Arguments are chat-server's.
"""

import atexit
import collections
import json
import logging
import sys

import aiohttp.log
from aiohttp import WSMsgType, web

_init = web.AppRunner.__init__
_receive = web.WebSocketResponse.receive
FRAMES: collections.Counter[str] = collections.Counter()


def _with_access_log(self, app, **kwargs):  # type: ignore[no-untyped-def]
    kwargs["access_log"] = aiohttp.log.access_logger
    kwargs["access_log_format"] = '%a "%r" %s %b %Tf'
    _init(self, app, **kwargs)


async def _counted(self, *args, **kwargs):  # type: ignore[no-untyped-def]
    msg = await _receive(self, *args, **kwargs)
    if msg.type is WSMsgType.TEXT:
        try:
            FRAMES[str(json.loads(msg.data).get("type"))] += 1
        except (ValueError, AttributeError):
            FRAMES["(not JSON)"] += 1
    return msg


def _report() -> None:
    logging.getLogger("old_app_check").info("socket frames received: %s", dict(FRAMES))


web.AppRunner.__init__ = _with_access_log  # type: ignore[method-assign]
web.WebSocketResponse.receive = _counted  # type: ignore[method-assign]
atexit.register(_report)
from chat_server.cli import main  # noqa: E402

sys.exit(main(sys.argv[1:]))
