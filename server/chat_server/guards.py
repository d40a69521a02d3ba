"""What keeps strangers' requests from doing harm before a handler acts on them.

The HTTP side of docs/security.md ("Strangers"), in one place for every route:

- :func:`client_address`: *the* address of a request's client, for every
  per-address decision (registration bucket, login throttle). The TCP peer,
  unless that peer is a ``--trusted-proxy``: then the nearest address in
  ``X-Forwarded-For`` that is not itself a trusted proxy. A header from
  anyone else is ignored, or any client could pick its own address.
- :func:`json_body`: the one way a handler reads a JSON body. It accepts only
  ``Content-Type: application/json`` (any parameters), so a web page in a
  colleague's browser cannot reach a route with a "simple" cross-origin POST
  (``text/plain``, form types): a JSON type makes the browser ask first
  (CORS preflight), which this server never grants. It also bounds the time
  the body may take to arrive.
- :func:`runner_options` and :func:`add_to`: a connection that does not send
  complete request headers within ``header_timeout`` seconds of opening (or of
  its previous response) is closed (slowloris), and the ``Server`` header
  names no versions.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Iterable
from typing import Any

from aiohttp import hdrs, web

from chat_protocol import ErrorCode, ProtocolError, load_object

from .config import Network, ServerConfig
from .service import SERVICE_KEY

JSON_TYPE = "application/json"
# What the Server header says: what it is, not which versions of what (a
# scanner's shopping list).
SERVER_NAME = "chat-server"

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _address(text: str) -> Address | None:
    try:
        address = ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        # A dual-stack socket reports IPv4 clients as ::ffff:a.b.c.d.
        return address.ipv4_mapped
    return address


def _trusted(address: Address, proxies: Iterable[Network]) -> bool:
    return any(address in network for network in proxies)


def resolve_client(peer: str, forwarded: Iterable[str], proxies: Iterable[Network]) -> str:
    """The client's address from the TCP ``peer`` and the ``X-Forwarded-For`` values.

    Each proxy appends the address it was reached from, so the list is read
    from the right: past every trusted proxy, the first address is the
    client's. Anything to its left was written by the client itself and is
    not believed. A malformed entry stops the walk at the last address known.
    """
    proxies = tuple(proxies)
    current = _address(peer)
    if current is None or not _trusted(current, proxies):
        return str(current) if current is not None else peer
    hops = [hop for value in forwarded for hop in value.split(",") if hop.strip()]
    for hop in reversed(hops):
        parsed = _address(hop)
        if parsed is None:
            break
        current = parsed
        if not _trusted(parsed, proxies):
            break
    return str(current)


def client_address(request: web.Request) -> str:
    """The address of the client behind ``request`` (see :func:`resolve_client`)."""
    config: ServerConfig = request.app[SERVICE_KEY].config
    forwarded = request.headers.getall(hdrs.X_FORWARDED_FOR, [])
    return resolve_client(request.remote or "", forwarded, config.trusted_proxies)


def through_proxy(request: web.Request) -> bool:
    """Whether ``request`` came from a trusted proxy that named the client behind it."""
    config: ServerConfig = request.app[SERVICE_KEY].config
    peer = _address(request.remote or "")
    if peer is None or not _trusted(peer, config.trusted_proxies):
        return False
    return bool(request.headers.getall(hdrs.X_FORWARDED_FOR, []))


async def json_body(request: web.Request) -> dict[str, Any]:
    """The request's JSON object; 415 unless it is declared as JSON, 408 when it dawdles."""
    if request.content_type != JSON_TYPE:
        raise ProtocolError(
            ErrorCode.UNSUPPORTED_MEDIA_TYPE,
            f"send the body as JSON with Content-Type: {JSON_TYPE}",
        )
    try:
        async with asyncio.timeout(request.app[SERVICE_KEY].config.header_timeout):
            # read() enforces the application's client_max_size with a 413.
            raw = await request.read()
    except TimeoutError:
        raise ProtocolError(ErrorCode.REQUEST_TIMEOUT, "the request body came too slowly") from None
    return load_object(raw)


async def _plain_server_header(request: web.Request, response: web.StreamResponse) -> None:
    response.headers[hdrs.SERVER] = SERVER_NAME


def add_to(app: web.Application) -> None:
    """Install the response hook on ``app`` (the Server header)."""
    app.on_response_prepare.append(_plain_server_header)


def runner_options(config: ServerConfig) -> dict[str, Any]:
    """Keyword arguments for ``web.AppRunner`` that bound how long headers may take.

    aiohttp has no timeout of its own for reading request headers, but its
    keep-alive timer is one: it is armed when a connection opens and again
    when a response ends, it is *not* pushed back by incoming bytes, and when
    it fires it closes the connection if no complete request has arrived,
    while it leaves a running handler (a long poll, a WebSocket) alone. Set
    to ``header_timeout``, a peer that trickles a request line or sends
    nothing is cut at that deadline. The price is that idle keep-alive
    connections are closed after the same time; clients simply open a new one.

    After a refusal that left a body unread (a 408 from :func:`json_body`),
    aiohttp reads and drops the rest for ``lingering_time`` so that the
    client can see the answer: no longer than a body may take either.
    """
    return {"keepalive_timeout": config.header_timeout, "lingering_time": config.header_timeout}
