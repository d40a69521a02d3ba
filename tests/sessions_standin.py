"""STAND-IN for the server's session and password endpoints (issue 11), until they merge.

The real routes (``GET /api/v1/sessions``, ``DELETE /api/v1/sessions/{id}``,
``DELETE /api/v1/sessions?others=1``, ``POST /api/v1/password``) are being
added to chat_server on another branch at the same time. This tiny aiohttp
app answers exactly the shapes agreed for them, so the client's calls and
dialogs can be tested over real HTTP now. Once the server has them, the tests
that use :class:`SessionsStandIn` switch to the ``chat_server_here`` fixture
(tests/ui) or the in-process server (tests/client) and this file goes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from aiohttp import web

from tests.accounts import PASSWORD


@dataclass
class StandInSession:
    id: str
    token: str
    agent: str
    created: str = "2026-11-20T09:15:00.000Z"
    last_used: str = "2026-11-30T08:00:00.000Z"


@dataclass
class SessionsStandIn:
    """One account's sessions and password behind the four agreed endpoints."""

    password: str = PASSWORD
    sessions: list[StandInSession] = field(default_factory=list)
    # The User-Agent of every request, to check what the client sends.
    agents: list[str] = field(default_factory=list)
    runner: web.AppRunner | None = None
    url: str = ""

    def add(self, session_id: str, agent: str, **times: str) -> str:
        token = f"token-{session_id}"
        self.sessions.append(StandInSession(session_id, token, agent, **times))
        return token

    async def start(self) -> str:
        app = web.Application()
        app.router.add_get("/api/v1/sessions", self._list)
        app.router.add_delete("/api/v1/sessions", self._end_others)
        app.router.add_delete("/api/v1/sessions/{id}", self._end)
        app.router.add_post("/api/v1/password", self._password)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = self.runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()

    def _caller(self, request: web.Request) -> StandInSession:
        self.agents.append(request.headers.get("User-Agent", ""))
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        for session in self.sessions:
            if session.token == token:
                return session
        raise _error(web.HTTPUnauthorized, "unauthorized", "Sign in first")

    async def _list(self, request: web.Request) -> web.Response:
        me = self._caller(request)
        rows = [
            {
                "id": s.id,
                "created": s.created,
                "last_used": s.last_used,
                "current": s is me,
                "agent": s.agent,
            }
            for s in self.sessions
        ]
        return web.json_response({"sessions": rows})

    async def _end(self, request: web.Request) -> web.Response:
        self._caller(request)
        before = len(self.sessions)
        self.sessions = [s for s in self.sessions if s.id != request.match_info["id"]]
        if len(self.sessions) == before:
            raise _error(web.HTTPNotFound, "not_found", "No such session")
        return web.Response(status=204)

    async def _end_others(self, request: web.Request) -> web.Response:
        me = self._caller(request)
        if request.query.get("others") != "1":
            raise _error(web.HTTPBadRequest, "bad_request", "Say others=1")
        self.sessions = [me]
        return web.Response(status=204)

    async def _password(self, request: web.Request) -> web.Response:
        me = self._caller(request)
        body = await request.json()
        if body.get("old") != self.password:
            raise _error(web.HTTPForbidden, "wrong_password", "The current password is wrong")
        if len(body.get("new", "")) < 8:
            raise _error(web.HTTPBadRequest, "bad_request", "password must be 8-128 characters")
        self.password = body["new"]
        self.sessions = [me]
        return web.Response(status=204)


def _error(kind: type[web.HTTPException], code: str, message: str) -> web.HTTPException:
    """The server's error body shape (docs/protocol.md): ``{"code","message"}``."""
    body = json.dumps({"code": code, "message": message})
    return kind(text=body, content_type="application/json")
