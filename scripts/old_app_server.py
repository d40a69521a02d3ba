"""Main's chat-server with aiohttp's access log on and a count of socket frames by type.

For the old-app check (scripts/old_app_check.py): the server as it is, plus
two things to read off afterwards: every HTTP request in the log (aiohttp's
access log, which the server leaves off) and, at exit, how many frames of
each type its sockets received, so that a loop of requests over HTTP or over
the socket would show. With OLD_APP_CHECK_REFUSE_WS=1 it refuses WebSocket
upgrades (403), as a proxy that strips them would, so that the app uses the
HTTP long poll. Arguments are chat-server's.
"""

import atexit
import collections
import json
import logging
import os
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


_app_init = web.Application.__init__


@web.middleware
async def _refuse_ws(request, handler):  # type: ignore[no-untyped-def]
    # As a proxy that strips Upgrade would: the app then falls back to the long poll
    # (the check's own Version 2 client still gets its socket).
    if request.path == "/ws" and "v2-check" not in request.query:
        raise web.HTTPForbidden()
    return await handler(request)


def _without_ws(self, *args, **kwargs):  # type: ignore[no-untyped-def]
    kwargs["middlewares"] = [_refuse_ws, *kwargs.get("middlewares", ())]
    _app_init(self, *args, **kwargs)


if os.environ.get("OLD_APP_CHECK_REFUSE_WS") == "1":
    web.Application.__init__ = _without_ws  # type: ignore[method-assign]
web.AppRunner.__init__ = _with_access_log  # type: ignore[method-assign]
web.WebSocketResponse.receive = _counted  # type: ignore[method-assign]
atexit.register(_report)
from chat_server.cli import main  # noqa: E402

sys.exit(main(sys.argv[1:]))
