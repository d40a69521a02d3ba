"""The lean measuring clients read frames right however the bytes are cut.

``bench.wire`` parses WebSocket and MQTT framing by hand, so these tests feed
it byte streams cut at every possible position, something a real server
does only by chance. The transport is a stand-in that records what the
client writes back (pongs, subscriptions): the only fake here.
"""

from __future__ import annotations

import asyncio

from bench import wire


class RecordingTransport(asyncio.Transport):
    """Keeps what the client writes; nothing goes anywhere."""

    def __init__(self) -> None:
        super().__init__()
        self.written = bytearray()

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written += data

    def close(self) -> None:
        pass


def server_frame(payload: bytes, opcode: int = 1) -> bytes:
    """An unmasked frame as a server sends it, with the shortest length form."""
    n = len(payload)
    if n < 126:
        head = bytes((0x80 | opcode, n))
    elif n < 65536:
        head = bytes((0x80 | opcode, 126)) + n.to_bytes(2, "big")
    else:
        head = bytes((0x80 | opcode, 127)) + n.to_bytes(8, "big")
    return head + payload


def stamped(sent_ns: int, size: int) -> bytes:
    return f'{{"type":"message","text":"{wire.message_text(sent_ns, 1, size)}"}}'.encode()


async def opened_client(dialect: str, sink: wire.Sink) -> tuple[wire.RawClient, RecordingTransport]:
    client = wire.RawClient(wire.Endpoint(dialect, "127.0.0.1", 1), 0, sink)
    transport = RecordingTransport()
    client.connection_made(transport)
    transport.written.clear()
    if dialect != "mqtt":
        client.data_received(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n")
    return client, transport


async def assert_counted_once_however_cut(
    dialect: str, stream: bytes, messages: int, step: int
) -> None:
    """``stream`` read in two parts, cut at every ``step`` bytes, counts each message once."""
    for cut in range(1, len(stream), step):
        sink = wire.Sink(recording=True)
        client, _ = await opened_client(dialect, sink)
        client.data_received(stream[:cut])
        client.data_received(stream[cut:])
        assert sink.deliveries == messages, cut


async def test_websocket_frames_cut_anywhere_are_each_counted_once() -> None:
    # 7-bit, 16-bit and 64-bit payload lengths, back to back.
    stream = b"".join(
        server_frame(stamped(1000 + i, size)) for i, size in enumerate((40, 300, 70_000))
    )
    await assert_counted_once_however_cut("bare", stream, 3, step=97)


async def test_a_websocket_ping_is_answered_with_a_pong_of_the_same_payload() -> None:
    client, transport = await opened_client("bare", wire.Sink())
    client.data_received(server_frame(b"are you there", opcode=9))
    assert transport.written == wire.ws_frame(b"are you there", opcode=10)


async def test_messages_stamped_before_the_recording_window_are_not_counted() -> None:
    sink = wire.Sink(recording=True, since_ns=2000)
    client, _ = await opened_client("bare", sink)
    client.data_received(server_frame(stamped(1999, 40)) + server_frame(stamped(2000, 40)))
    assert sink.deliveries == 1
    assert len(sink.latencies) == 1


async def test_mqtt_publishes_cut_anywhere_are_each_counted_once() -> None:
    topic = len(wire.MQTT_TOPIC).to_bytes(2, "big") + wire.MQTT_TOPIC
    stream = b"".join(
        wire.mqtt_packet(0x30, topic + stamped(1000 + i, size))
        for i, size in enumerate((40, 300, 20_000))
    )
    await assert_counted_once_however_cut("mqtt", stream, 3, step=89)


async def test_mqtt_client_subscribes_after_connack_and_is_ready_after_suback() -> None:
    client, transport = await opened_client("mqtt", wire.Sink())
    client.data_received(b"\x20\x02\x00\x00")  # CONNACK, accepted
    assert transport.written[:1] == b"\x82"  # SUBSCRIBE
    assert wire.MQTT_TOPIC in transport.written
    assert not client.ready.done()
    client.data_received(b"\x90\x03\x00\x01\x00")  # SUBACK, QoS 0 granted
    assert client.ready.done()
