"""One "machine" of the two-machine LAN test: a TLS chat endpoint that advertises, or a browser.

``tests/lan/test_two_machines.py`` runs this module in two network namespaces
joined by a virtual Ethernet cable, so that advertising, browsing, the trust
prompt and the pinned HTTPS connection cross a real (virtual) network with
real multicast, as between two PCs. It speaks JSON lines on stdout and stops
cleanly when its stdin is closed.

    python -m tests.lan.peer serve HOST NAME DATA_DIR   # HTTPS on HOST, announced
    python -m tests.lan.peer browse INTERFACE PIN_FILE  # list; trust on first use; GET /health

The served endpoint is a small aiohttp app, not the full chat server: this
checks the LAN building blocks (discovery, TLS, pinning) end to end.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import aiohttp
from aiohttp import web

from chat_desktop.transport.discovery import DiscoveredServer, ServerBrowser
from chat_desktop.transport.pinning import NeedsTrust, PinStore, Trusted, check_server
from chat_server.discovery import ServerAdvertiser
from chat_server.tls import prepare_tls


def say(event: str, **fields: object) -> None:
    print(json.dumps({"event": event, **fields}), flush=True)


async def stdin_closed() -> None:
    """Wait until the test closes our stdin (read in a thread: stdin is a pipe)."""
    await asyncio.to_thread(sys.stdin.read)


async def serve(host: str, name: str, data_dir: Path) -> None:
    context, fingerprint = prepare_tls(data_dir)

    async def health(request: web.Request) -> web.Response:
        return web.json_response({"name": name})

    app = web.Application()
    app.router.add_get("/health", health)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, host, 0, ssl_context=context)
    await site.start()
    port = int(runner.addresses[0][1])
    advertiser = ServerAdvertiser(
        name=name, port=port, version="1.0", host=host, tls=True, fingerprint=fingerprint
    )
    await advertiser.start()
    say("serving", port=port, fingerprint=fingerprint)
    try:
        await stdin_closed()
    finally:
        await advertiser.stop()
        await runner.cleanup()
    say("stopped")


async def browse(interface: str, pin_file: Path) -> None:
    store = PinStore(pin_file)
    pending: set[asyncio.Task[None]] = set()

    async def meet(server: DiscoveredServer) -> None:
        first = await check_server(server.host, server.port, store)
        say("checked", result=type(first).__name__, fingerprint=first.fingerprint)
        if isinstance(first, NeedsTrust):
            # The user compared the fingerprint and said yes.
            store.pin(server.host, server.port, first.certificate)
        trusted = await check_server(server.host, server.port, store)
        say("checked", result=type(trusted).__name__, fingerprint=trusted.fingerprint)
        if not isinstance(trusted, Trusted):
            return
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{server.url}/health", ssl=trusted.context()) as reply,
        ):
            say("connected", status=reply.status, body=await reply.json())

    def found(server: DiscoveredServer) -> None:
        say("found", name=server.name, url=server.url, fingerprint=server.fingerprint)
        task = asyncio.get_running_loop().create_task(meet(server))
        pending.add(task)
        task.add_done_callback(pending.discard)

    browser = ServerBrowser(found, lambda key: say("lost", key=key), interfaces=[interface])
    await browser.start()
    say("browsing")
    try:
        await stdin_closed()
    finally:
        await browser.stop()
        for task in list(pending):
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
    say("stopped")


def main(argv: list[str]) -> None:
    mode, first, second, *rest = argv
    if mode == "serve":
        asyncio.run(serve(first, second, Path(rest[0])))
    else:
        asyncio.run(browse(first, Path(second)))


if __name__ == "__main__":
    main(sys.argv[1:])
