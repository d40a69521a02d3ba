"""Lean measuring clients: WebSocket, Socket.IO and MQTT spoken directly on asyncio.

The issue warns that a Python client parsing every frame for a hundred
connections adds milliseconds by itself, and then one measures the clients
and not the server. So the measuring clients here are asyncio ``Protocol``
objects that read raw bytes, walk only the frame headers (WebSocket or MQTT),
and find the send time stamp that the sender wrote into the message text with
one ``bytearray.find``: no JSON decoding, no per-frame coroutine, no queue. A
receive costs a few microseconds, the same for every server under test, so
the ratios between servers measure the servers.

A message carries ``~T<monotonic ns>~S<sender>~`` in its text. ``time.monotonic_ns``
reads CLOCK_MONOTONIC, which on Linux is one clock for every process on the
machine, so a receiver in another process subtracts the sender's stamp from its
own reading and gets the send -> receive latency.

Four dialects share the code: ``ours`` (``/ws`` with a hello and token, see
docs/protocol.md), ``bare`` (``/ws``, no hello), ``socketio`` (Engine.IO 4
over WebSocket) and ``mqtt`` (MQTT 3.1.1, QoS 0, one topic). The clients
answer pings (WebSocket, Engine.IO) so long runs stay connected.

This module imports only the standard library: worker processes that hold
thousands of these clients stay small.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import os
import time
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import cast

DIALECTS = ("ours", "bare", "socketio", "mqtt")
MARK = b"~T"
ROOM = "general"
MQTT_TOPIC = b"bench/general"
# Padding so that a message is about the size of a short chat line.
FILLER = "the quick brown fox jumps over the lazy dog "


_SERIAL = itertools.count()


@dataclass(frozen=True)
class Endpoint:
    """Where and how to connect: a dialect, an address and, for ours, the tokens.

    Client number i uses ``tokens[i % len(tokens)]``: the benchmarks share a
    few accounts among many sockets, as one user with several devices would.
    ``ports``, when given, are several servers of one chat (bench.cluster):
    client number i connects to ``ports[i % len(ports)]``, spreading the
    clients evenly, and ``port`` is not used.
    """

    dialect: str
    host: str
    port: int
    tokens: tuple[str, ...] = ()
    ports: tuple[int, ...] = ()

    def port_of(self, index: int) -> int:
        """The port client number ``index`` connects to."""
        return self.ports[index % len(self.ports)] if self.ports else self.port


@dataclass
class Sink:
    """What the clients of one process observed, shared by all of them.

    While ``recording`` is on, ``deliveries`` counts the marked messages
    received that were sent at or after ``since_ns`` (so that messages still in
    flight from a warm-up do not count), and ``latencies`` keeps their send ->
    receive times in ns.

    ``parse`` makes each marked frame cost what it costs an application: its
    JSON decoded into objects (Socket.IO: after the packet type), the
    receive time read after that. Off by default, so that the servers are
    measured and not the clients; on, it shows what parsing receivers add.
    """

    recording: bool = False
    since_ns: int = 0
    keep_latencies: bool = True
    parse: bool = False
    deliveries: int = 0
    errors: int = 0
    lost: int = 0
    latencies: array[int] = field(default_factory=lambda: array("q"))


def ws_frame(payload: bytes, opcode: int = 1) -> bytes:
    """A client WebSocket frame (FIN set). The mask key is zero, so the payload goes as is.

    RFC 6455 wants a fresh mask per frame against cache poisoning by proxies;
    on loopback there is no proxy, and a zero key spares an XOR per byte.
    """
    n = len(payload)
    if n < 126:
        head = bytes((0x80 | opcode, 0x80 | n))
    elif n < 65536:
        head = bytes((0x80 | opcode, 0x80 | 126)) + n.to_bytes(2, "big")
    else:
        head = bytes((0x80 | opcode, 0x80 | 127)) + n.to_bytes(8, "big")
    return head + b"\0\0\0\0" + payload


def _mqtt_length(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def mqtt_packet(kind: int, body: bytes) -> bytes:
    """An MQTT control packet: first byte ``kind``, remaining length, body."""
    return bytes((kind,)) + _mqtt_length(len(body)) + body


def _mqtt_string(value: bytes) -> bytes:
    return len(value).to_bytes(2, "big") + value


def message_event(client_id: str, text: str) -> str:
    """The ``message`` event a client sends (docs/protocol.md), as JSON text."""
    return f'{{"type":"message","room":"{ROOM}","client_id":"{client_id}","text":"{text}"}}'


def hello(token: str) -> str:
    """The ``hello`` that opens a session on our server, asking for no replay."""
    return f'{{"type":"hello","token":"{token}","since":{{}}}}'


def message_text(ts_ns: int, sender: int, size: int) -> str:
    """The text of a benchmark message: the marker, padded to ``size`` characters."""
    text = f"~T{ts_ns}~S{sender}~ "
    if len(text) < size:
        text += (FILLER * (size // len(FILLER) + 1))[: size - len(text)]
    return text


class RawClient(asyncio.Protocol):
    """One connection of one dialect; records marked messages into a shared :class:`Sink`.

    ``ready`` resolves once the session is open (welcome received, namespace
    joined, subscription acknowledged). A sender (``sender`` set) also calls
    ``on_own`` each time one of its own messages comes back, which the
    closed-loop throughput benchmark uses to keep a fixed window in flight.
    """

    def __init__(
        self,
        endpoint: Endpoint,
        index: int,
        sink: Sink,
        *,
        sender: int | None = None,
        on_own: Callable[[RawClient], None] | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.dialect = endpoint.dialect
        self.index = index
        self.sink = sink
        self.sender = sender
        self.on_own = on_own
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        # True until the HTTP upgrade answer is read (WebSocket dialects).
        self.upgrading = self.dialect != "mqtt"
        self.sent = 0
        self.frames_out = 0
        self._own = b"~S%d~" % sender if sender is not None else b""
        # Unique per connection: a client_id repeated by a later connection of the
        # same user would be taken for a retry and (rightly) not broadcast again.
        self._ids = f"{os.getpid()}-{next(_SERIAL)}-"

    # Connection set-up ---------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A cast, not an isinstance check: uvloop's transports (``--uvloop``)
        # have asyncio.Transport's methods without deriving from it.
        self.transport = cast(asyncio.Transport, transport)
        host = f"{self.endpoint.host}:{self.endpoint.port_of(self.index)}"
        if self.dialect == "mqtt":
            client_id = f"bench-{self._ids}{time.monotonic_ns()}".encode()
            # Protocol level 4 (3.1.1), clean session, keepalive 0 (no PINGREQ needed).
            body = _mqtt_string(b"MQTT") + b"\x04\x02\x00\x00" + _mqtt_string(client_id)
            transport.write(mqtt_packet(0x10, body))
            return
        path = "/socket.io/?EIO=4&transport=websocket" if self.dialect == "socketio" else "/ws"
        key = base64.b64encode(os.urandom(16)).decode()
        transport.write(
            (
                f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )

    def _opened(self) -> None:
        """The WebSocket is up: start the dialect's session."""
        if self.dialect == "ours":
            token = self.endpoint.tokens[self.index % len(self.endpoint.tokens)]
            self.write_text(hello(token).encode())
        elif self.dialect == "bare":
            self._set_ready()

    def _set_ready(self) -> None:
        if not self.ready.done():
            self.ready.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.ready.done():
            self.ready.set_exception(ConnectionError(f"closed before ready: {exc}"))
        else:
            self.sink.lost += 1
        self.transport = None

    # Sending --------------------------------------------------------------

    def write_text(self, payload: bytes) -> None:
        if self.transport is not None:
            self.transport.write(ws_frame(payload))
            self.frames_out += 1

    def send_message(self, size: int = 64) -> None:
        """Send one chat message stamped with the current time."""
        self.sent += 1
        text = message_text(time.monotonic_ns(), self.sender or 0, size)
        client_id = f"{self._ids}{self.sent}"
        if self.dialect == "mqtt":
            if self.transport is not None:
                body = _mqtt_string(MQTT_TOPIC) + message_event(client_id, text).encode()
                self.transport.write(mqtt_packet(0x30, body))
                self.frames_out += 1
            return
        event = f'{{"room":"{ROOM}","client_id":"{client_id}","text":"{text}"}}'
        if self.dialect == "socketio":
            self.write_text(f'42["message",{event}]'.encode())
        else:
            self.write_text(message_event(client_id, text).encode())

    def close(self) -> None:
        """Say goodbye politely where the protocol has a way, then close."""
        if self.transport is None:
            return
        if self.dialect == "mqtt":
            self.transport.write(b"\xe0\x00")
        elif not self.upgrading:
            self.transport.write(ws_frame(b"\x03\xe8", 8))
        self.transport.close()

    # Receiving -------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        now = time.monotonic_ns()
        buf = self.buf
        buf += data
        if self.upgrading:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            if b" 101 " not in buf[: buf.find(b"\r\n")]:
                status = bytes(buf[: buf.find(b"\r\n")]).decode(errors="replace")
                self.ready.set_exception(ConnectionError(f"upgrade refused: {status}"))
                assert self.transport is not None
                self.transport.close()
                return
            del buf[: end + 4]
            self.upgrading = False
            self._opened()
        if self.dialect == "mqtt":
            self._mqtt_packets(buf, now)
        else:
            self._ws_frames(buf, now)

    def _ws_frames(self, buf: bytearray, now: int) -> None:
        pos = 0
        n = len(buf)
        # Headers only: server frames are unmasked, lengths are 7, 16 or 64 bits.
        while n - pos >= 2:
            length = buf[pos + 1] & 0x7F
            if length < 126:
                start = pos + 2
            elif length == 126:
                if n - pos < 4:
                    break
                length = (buf[pos + 2] << 8) | buf[pos + 3]
                start = pos + 4
            else:
                if n - pos < 10:
                    break
                length = int.from_bytes(buf[pos + 2 : pos + 10], "big")
                start = pos + 10
            end = start + length
            if end > n:
                break
            opcode = buf[pos] & 0x0F
            if opcode <= 2:
                self._payload(buf, start, end, now)
            elif opcode == 9 and self.transport is not None:
                self.transport.write(ws_frame(bytes(buf[start:end]), 10))
                self.frames_out += 1
            pos = end
        if pos:
            del buf[:pos]

    def _mqtt_packets(self, buf: bytearray, now: int) -> None:
        pos = 0
        n = len(buf)
        while n - pos >= 2:
            length = 0
            shift = 0
            k = pos + 1
            while k < n:
                byte = buf[k]
                length |= (byte & 0x7F) << shift
                k += 1
                if byte < 0x80:
                    break
                shift += 7
            else:
                break
            end = k + length
            if end > n:
                break
            kind = buf[pos] >> 4
            if kind == 3:
                topic_end = k + 2 + ((buf[k] << 8) | buf[k + 1])
                # QoS 1 and 2 carry a packet id; the benchmarks publish QoS 0 only.
                self._payload(buf, topic_end + (2 if buf[pos] & 0x06 else 0), end, now)
            elif kind == 2 and self.transport is not None:
                body = b"\x00\x01" + _mqtt_string(MQTT_TOPIC) + b"\x00"
                self.transport.write(mqtt_packet(0x82, body))
            elif kind == 9:
                self._set_ready()
            pos = end
        if pos:
            del buf[:pos]

    def _payload(self, buf: bytearray, start: int, end: int, now: int) -> None:
        i = buf.find(MARK, start, end)
        if i < 0:
            self._control(buf, start, end)
            return
        sink = self.sink
        j = buf.find(b"~", i + 2, end)
        if sink.parse:
            first = buf.find(b"{", start, end)
            json.loads(bytes(buf[first:end].rstrip(b"]")))
            now = time.monotonic_ns()
        if sink.recording:
            sent = int(buf[i + 2 : j])
            if sent >= sink.since_ns:
                sink.deliveries += 1
                if sink.keep_latencies:
                    sink.latencies.append(now - sent)
        if self.on_own is not None and buf.startswith(self._own, j):
            self.on_own(self)

    def _control(self, buf: bytearray, start: int, end: int) -> None:
        """A frame without a marker: session set-up, Engine.IO ping, or an error."""
        if self.dialect == "ours":
            if not self.ready.done() and buf.find(b'"welcome"', start, end) >= 0:
                self._set_ready()
            elif buf.find(b'"type":"error"', start, end) >= 0:
                self.sink.errors += 1
        elif self.dialect == "socketio":
            head = bytes(buf[start : min(end, start + 2)])
            if head == b"2":
                self.write_text(b"3")
            elif head == b"40":
                self._set_ready()
            elif head[:1] == b"0":
                self.write_text(b"40")


async def connect(
    endpoint: Endpoint,
    count: int,
    sink: Sink,
    *,
    first_index: int = 0,
    concurrency: int = 64,
    within: float = 120.0,
    on_own: Callable[[RawClient], None] | None = None,
) -> list[RawClient]:
    """Open ``count`` clients, at most ``concurrency`` handshakes at a time; all or an error.

    With ``on_own`` the clients are senders numbered from 1, and ``on_own``
    runs each time one of a sender's own messages comes back to it.
    """
    loop = asyncio.get_running_loop()
    gate = asyncio.Semaphore(concurrency)
    clients: list[RawClient] = []

    async def one(index: int) -> None:
        async with gate:
            _, client = await loop.create_connection(
                lambda: RawClient(
                    endpoint,
                    index,
                    sink,
                    sender=index + 1 if on_own is not None else None,
                    on_own=on_own,
                ),
                endpoint.host,
                endpoint.port_of(index),
            )
            clients.append(client)
            await client.ready

    try:
        async with asyncio.timeout(within):
            async with asyncio.TaskGroup() as group:
                for index in range(first_index, first_index + count):
                    group.create_task(one(index))
    except BaseException:
        for client in clients:
            client.close()
        raise
    return clients
