"""Server addresses: what the user typed, the HTTP base URL and the WebSocket URL.

One server port serves both the HTTP API and the WebSocket (docs/protocol.md),
so the client keeps a single *base URL* per server, ``http://host:port`` (or
``https://`` with TLS), and derives the socket's ``ws://host:port/ws`` from it.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from chat_protocol import DEFAULT_PORT


def normalize_base_url(text: str) -> str:
    """Turn what a user typed (``chat.lan``, ``10.0.0.5:9000``, ``https://x/``) into a base URL.

    The scheme defaults to ``http``, the port to the protocol's default port;
    any path, query or fragment is dropped. Raises ValueError with a sentence
    for the user when nothing usable is left.
    """
    raw = text.strip()
    if not raw:
        raise ValueError("Enter the server's address, for example chat.example.lan:8765")
    if "://" not in raw:
        raw = "http://" + raw
    parts = urlsplit(raw)
    scheme = parts.scheme.lower()
    if scheme in ("ws", "wss"):
        scheme = "https" if scheme == "wss" else "http"
    if scheme not in ("http", "https"):
        raise ValueError(f"Unsupported address scheme {parts.scheme!r}; use http:// or https://")
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        raise ValueError(f"{text.strip()!r} has an invalid port number") from None
    if not host:
        raise ValueError(f"{text.strip()!r} does not name a server")
    if ":" in host:
        host = f"[{host}]"
    return urlunsplit((scheme, f"{host}:{port or DEFAULT_PORT}", "", "", ""))


def websocket_url(base_url: str) -> str:
    """The socket of the server at ``base_url``: ``http`` -> ``ws``, ``https`` -> ``wss``, + /ws."""
    parts = urlsplit(base_url.rstrip("/"))
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme.lower())
    if scheme is None:
        raise ValueError(f"{base_url!r} is not an http:// or https:// address")
    return urlunsplit((scheme, parts.netloc, parts.path + "/ws", "", ""))
