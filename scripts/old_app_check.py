"""Drive the app as built before the conversation work (issue 12) against today's server.

Issue 12 asks that the app of the commit before migration 5 keeps working
against the new server. This runs under a venv with that app installed,
offscreen, against a running server (scripts/old_app_server.py, which also
logs every HTTP request and counts socket frames): it signs in through the
old sign-in dialog, sends from the composer, has a Version 2 raw client
(websockets) send, reply, edit, react, set the topic, delete and read,
checks that what the old app should see arrives, idles to show there is no
loop of requests, then restarts the old app on its saved session and prints
what its window shows. Steps:

    git worktree add /work/oldapp-src 1d882c0    # main before migration 5
    python3 -m venv /work/oldapp && /work/oldapp/bin/pip install -e '/work/oldapp-src[desktop]'
    python scripts/old_app_server.py --host 127.0.0.1 --port 8765 --data-dir /tmp/srv --no-discovery
    QT_QPA_PLATFORM=offscreen /work/oldapp/bin/python scripts/old_app_check.py \
        http://127.0.0.1:8765 /tmp/oldapp-data
"""

import asyncio
import json
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import qasync
import websockets
from PySide6.QtWidgets import QApplication

from chat_desktop.app import ChatApp
from chat_desktop.controller.entries import ConnectionKind

URL = sys.argv[1]
DATA = Path(sys.argv[2])
PASSWORD = "correct horse battery"


def http(path, body=None, token=None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(
        URL + path,
        data=json.dumps(body).encode() if body is not None else None,
        headers=headers,
        method="POST" if body is not None else "GET",
    )
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.load(r)


async def until(what, check, within=20.0):
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        await asyncio.sleep(0.05)
    print(f"ok: {what}", flush=True)


def texts(app):
    return [e.text for e in app.window.messages.entries()]


def mark(label):
    print(f"MARK {label} {time.time():.3f}", flush=True)


async def v2_recv(ws, kind, within=10):
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), within))
        if frame.get("type") == kind:
            return frame


async def main():
    http("/api/v1/register", {"username": "alice", "password": PASSWORD})
    bob = http("/api/v1/register", {"username": "bob", "password": PASSWORD})["token"]
    app = ChatApp(DATA, URL)
    running = asyncio.ensure_future(app.run())
    await until(
        "the old sign-in dialog is shown", lambda: app.dialog is not None and app.dialog.isVisible()
    )
    app.dialog.username.setText("alice")
    app.dialog.password.setText(PASSWORD)
    app.dialog.sign_in_button.click()
    await until(
        "signed in: the old chat window is open",
        lambda: app.window is not None and app.controller is not None,
    )
    await until(
        "the old app is connected", lambda: app.controller.status.kind is ConnectionKind.CONNECTED
    )
    mark("connected")
    async with websockets.connect(URL.replace("http", "ws") + "/ws") as ws:
        await ws.send(json.dumps({"type": "hello", "token": bob, "since": {}, "protocol": 2}))
        welcome = await v2_recv(ws, "welcome")
        print("v2 welcome protocol", welcome.get("protocol"), "features", welcome.get("features"))
        app.window.composer.setPlainText("hello from the old app")
        app.window.composer.submit()
        got = await v2_recv(ws, "message")
        print("v2 client got:", got["author"], repr(got["text"]), "seq", got["seq"])
        alice_seq = got["seq"]

        async def write(frame):
            frame = {"client_id": str(uuid.uuid4()), "room": "general", **frame}
            await ws.send(json.dumps(frame))
            ack = await v2_recv(ws, "ack")
            return ack["seq"]

        mine = await write({"type": "message", "text": "hi from a v2 client"})
        await until("old app shows the v2 message", lambda: "hi from a v2 client" in texts(app))
        reply = await write({"type": "message", "text": "this is a reply", "reply_to": alice_seq})
        await until("old app shows the reply", lambda: "this is a reply" in texts(app))
        await write({"type": "edit", "target": mine, "text": "hi from a v2 client (edited)"})
        await write({"type": "react", "target": alice_seq, "emoji": "👍", "on": True})
        await write({"type": "topic", "topic": "a topic"})
        await write({"type": "delete", "target": reply})
        await ws.send(json.dumps({"type": "read", "room": "general", "seq": mine}))
        await write({"type": "message", "text": "last one after edit, react, delete"})
        await until(
            "old app shows the message after edit/react/delete",
            lambda: "last one after edit, react, delete" in texts(app),
        )
        mark("idle-start")
        print("old window shows:", texts(app))
        await asyncio.sleep(15)
        mark("idle-end")
        app.window.composer.setPlainText("old app still sends")
        app.window.composer.submit()
        got = await v2_recv(ws, "message")
        print("v2 client got:", repr(got["text"]))
    # Restart the old app with the remembered session: the replay shows the current state.
    app.quit()
    await running
    print("old app quit cleanly")
    app2 = ChatApp(DATA, URL)
    running2 = asyncio.ensure_future(app2.run())
    await until(
        "old app reopened with its session",
        lambda: app2.window is not None and app2.controller is not None,
    )
    await until("reconnected", lambda: app2.controller.status.kind is ConnectionKind.CONNECTED)
    await asyncio.sleep(2)
    print("after restart the old window shows:", [e.text for e in app2.window.messages.entries()])
    app2.window.grab().save(str(DATA / "old_app.png"))
    mark("restart-idle-start")
    await asyncio.sleep(10)
    mark("restart-idle-end")
    app2.quit()
    await running2
    print("done")


qt = QApplication(sys.argv[:1])
qt.setQuitOnLastWindowClosed(False)
loop = qasync.QEventLoop(qt)
asyncio.set_event_loop(loop)
loop.run_until_complete(main())
