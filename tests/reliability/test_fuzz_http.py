"""Hypothesis throws hostile requests at every HTTP route of one running server.

The routes are not listed by hand: they come from
:func:`chat_server.http_api.add_routes`, the function the server registers
them with, so a new route is fuzzed too. Each example picks a route and a
method, a room segment (odd Unicode, or raw bytes that are not UTF-8), a
query, an Authorization header (none, garbage, a real token) and a body
(hostile JSON, or bytes that are not UTF-8) sent mostly as
``application/json`` (other types are refused with 415 before any parsing).
The server must never answer 500 (or 503: the database is fine), every
refusal must be JSON with a ``code`` and a ``message``, and a bystander must
still be served afterwards.
ONE ``chat-server`` process serves the module.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from yarl import URL

from chat_server import http_api
from tests.conftest import ServerProcess
from tests.reliability.clients import register
from tests.reliability.hostile import almost_valid_objects, json_values, odd_text, to_json

ROUTES = sorted(
    {
        (route.method, route.resource.canonical)
        for route in _app_routes
        if route.method != "HEAD" and route.resource is not None
    }
    if (
        _app_routes := (lambda app: (http_api.add_routes(app), list(app.router.routes()))[1])(
            web.Application()
        )
    )
    else set()
)

# Mostly real rooms and real parameter names, so that the hostile values reach
# the handlers' own parsing rather than stopping at "no such room".
rooms = st.one_of(
    st.just("general"),
    st.sampled_from(["general", "GENERAL", "nope", "a" * 65, ".", "%00"]),
    odd_text.filter(lambda s: s not in ("", ".", "..")).map(
        lambda s: URL.build(path=s.encode("utf-8", "replace").decode()).raw_path.lstrip("/") or "x"
    ),
    st.binary(min_size=1, max_size=8).map(lambda b: "".join(f"%{byte:02X}" for byte in b)),
)
bodies = st.one_of(
    st.none(),
    json_values.map(to_json).map(str.encode),
    almost_valid_objects().map(to_json).map(str.encode),
    st.binary(max_size=300),
)
hostile_numbers = st.sampled_from(
    ["0", "-1", "1e999", "nan", "²", "٣", "99999999999999999999999", "general:1,x", " 1", "0x10"]
)
queries = st.dictionaries(
    st.sampled_from(["after", "before", "limit", "since"]), hostile_numbers, min_size=1, max_size=2
) | st.dictionaries(
    st.sampled_from(["after", "before", "limit", "since"]) | odd_text,
    hostile_numbers | st.integers(min_value=-(2**70), max_value=2**70).map(str) | odd_text,
    max_size=4,
)
# Mostly JSON, so that the hostile bodies reach the parser (anything else is a
# 415 before it); sometimes another type, which must be refused as cleanly.
content_types = st.just("application/json") | st.sampled_from(
    [
        "application/json; charset=utf-8",
        "APPLICATION/JSON",
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/json; charset",
        "",
    ]
)
waits = st.sampled_from(["0", "-1", "nan", "inf", "1e999", "abc", "0.0", ""])
FUZZ = settings(
    max_examples=800,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


class Requester:
    """An HTTP session on its own loop, for synchronous hypothesis tests."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.loop = asyncio.new_event_loop()
        self.token = self.run(register(url, "fuzzer"))
        self.session: aiohttp.ClientSession = self.run(self._session())
        self.requests = 0
        # Requests the token and type checks let through (not 401 or 415): the
        # fuzz must reach the handlers.
        self.authorized = 0

    async def _session(self) -> aiohttp.ClientSession:
        return aiohttp.ClientSession()

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(asyncio.wait_for(coro, 30))

    async def request(
        self, method: str, path: str, headers: dict[str, str], body: bytes | None
    ) -> tuple[int, bytes]:
        self.requests += 1
        async with self.session.request(
            method, URL(self.url + path, encoded=True), headers=headers, data=body
        ) as response:
            self.authorized += response.status not in (401, 415)
            return response.status, await response.read()

    def close(self) -> None:
        self.run(self.session.close())
        self.loop.close()


@pytest.fixture(scope="module")
def requester(fuzz_target: ServerProcess) -> Iterator[Requester]:
    requester = Requester(fuzz_target.url)
    try:
        yield requester
    finally:
        requester.close()


def test_the_fuzzed_routes_are_the_servers_routes() -> None:
    assert ("GET", "/api/v1/health") in ROUTES
    assert ("POST", "/api/v1/rooms/{room}/messages") in ROUTES
    assert len(ROUTES) >= 11


@pytest.mark.slow
@FUZZ
@given(
    route=st.sampled_from(ROUTES),
    room=rooms,
    query=queries,
    wait=waits,
    auth=st.just("token") | st.sampled_from(["none", "garbage", "basic", "token"]),
    body=bodies,
    content_type=content_types,
)
def test_hostile_requests_never_get_a_500_and_refusals_are_json(
    requester: Requester,
    route: tuple[str, str],
    room: str,
    query: dict[str, str],
    wait: str,
    auth: str,
    body: bytes | None,
    content_type: str,
) -> None:
    method, template = route
    path = template.replace("{room}", room).replace("{username}", room)
    # The long poll may hang up to 30 s: keep it to refusals or wait=0.
    query = {k: v for k, v in query.items() if k != "wait"}
    if template.endswith("/events"):
        query["wait"] = wait
    path += "?" + URL.build(query=query).raw_query_string if query else ""
    token = requester.token
    if template.endswith("/logout"):
        # Logging out the shared token would leave every later example unauthorized.
        token = requester.run(register(requester.url, f"fz{uuid.uuid4().hex[:10]}"))
    headers = {
        "none": {},
        "garbage": {"Authorization": "Bearer \u00ff\u00fe not-a-token"},
        "basic": {"Authorization": "Basic YWxpY2U6cGFzc3dvcmQ="},
        "token": {"Authorization": f"Bearer {token}"},
    }[auth]
    if body is not None:
        headers["Content-Type"] = content_type
    status, raw = requester.run(requester.request(method, path, headers, body))
    assert status not in (500, 502, 503), (method, path, status, raw[:200])
    if status >= 400:
        answer = json.loads(raw)
        assert isinstance(answer.get("code"), str) and answer["code"], answer
        assert isinstance(answer.get("message"), str) and answer["message"], answer


def test_after_the_fuzzing_the_server_serves_a_bystander(
    requester: Requester, fuzz_target: ServerProcess
) -> None:
    if not requester.requests:
        pytest.skip("meaningful only after this module's fuzz tests (run the module)")
    assert requester.authorized > 0, "no fuzzed request got past the token and type checks"

    async def chat() -> int:
        token = await register(fuzz_target.url, f"bystander{uuid.uuid4().hex[:8]}")
        async with aiohttp.ClientSession() as session:
            response = await session.post(
                fuzz_target.url + "/api/v1/rooms/general/messages",
                json={"client_id": "b1", "text": "still here"},
                headers={"Authorization": f"Bearer {token}"},
            )
            return response.status

    assert requester.run(chat()) == 201
    assert fuzz_target.proc is not None and fuzz_target.proc.poll() is None
