"""The desktop client's network transport: everything between the controller and the server.

- :mod:`.link`: :class:`ServerLink`, one self-healing session (WebSocket with
  keepalive, reconnect with backoff and jitter, HTTP long-polling fallback)
  that yields protocol events;
- :mod:`.http_api`: :class:`AccountClient` for register, login, logout and
  health, and the HTTP plumbing the polling fallback shares;
- :mod:`.polling`, :mod:`.reconnect`, :mod:`.state`, :mod:`.urls`: the parts.

Plain asyncio, no Qt: the controller runs it on qasync's loop. Nothing here
imports the cache; the controller passes cached positions in as a callback.
"""

from .http_api import AccountClient, ApiError, Credentials
from .link import ServerLink
from .reconnect import Jitter, ReconnectPolicy
from .state import LinkKind, LinkState
from .urls import normalize_base_url, websocket_url

__all__ = [
    "AccountClient",
    "ApiError",
    "Credentials",
    "Jitter",
    "LinkKind",
    "LinkState",
    "ReconnectPolicy",
    "ServerLink",
    "normalize_base_url",
    "websocket_url",
]
