"""The hub's two presence hooks for several servers, with stand-in connections.

A user online on another server counts as online here (``user-join`` once,
``user-leave`` only when they are gone everywhere), and the cluster hears
exactly when a user's connections on this server appear or all end.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from chat_protocol import Limits
from chat_server.fanout import Frame
from chat_server.hub import Hub


@dataclass(eq=False)
class Recorder:
    username: str
    token_hash: str = "token"
    frames: list[Frame] = field(default_factory=list)
    protocol: int = 2

    def deliver(self, frame: Frame) -> None:
        self.frames.append(frame)

    def close_soon(self, code: int, reason: str) -> None:
        pass

    @property
    def texts(self) -> list[str]:
        return [frame.text for frame in self.frames]


JOIN = '{"type":"user-join","user":"alice"}'
LEAVE = '{"type":"user-leave","user":"alice"}'


async def test_a_user_online_elsewhere_is_online_here_until_gone_everywhere() -> None:
    hub = Hub(Limits(), clustered=True)
    heard: list[tuple[str, bool]] = []
    hub.on_local_presence = lambda user, here: heard.append((user, here))
    watcher = Recorder("carol")
    hub.attach(watcher)
    watcher.frames.clear()
    hub.remote_presence("alice", True)
    assert hub.online() == ["alice", "carol"] and watcher.texts == [JOIN]
    # Alice connects here too (her server died, she reconnected): no second
    # join; her old server is dropped: no leave, she is still here.
    laptop = Recorder("alice")
    hub.attach(laptop)
    hub.remote_presence("alice", False)
    assert watcher.texts == [JOIN] and hub.is_online("alice")
    hub.detach(laptop)
    assert watcher.texts == [JOIN, LEAVE] and hub.online() == ["carol"]
    # The cluster heard of alice's connection here, and of carol's, only.
    assert heard == [("carol", True), ("alice", True), ("alice", False)]
