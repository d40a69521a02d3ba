#!/usr/bin/env bash
# The server without the app: installs this checkout into a fresh virtual
# environment WITHOUT the `desktop` extra (what a headless LAN box or a
# container does, README "A server without the app"), then checks what an
# operator relies on: `chat-server --version` runs, a started server answers
# /api/v1/health and stops with exit code 0 on SIGTERM, and Qt is absent
# (`import PySide6` fails), so nothing of the app came along.
#
# Usage: bash packaging/check_server_only.sh   (from anywhere; CI runs it)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WORK="$(mktemp -d)"
SERVER_PID=
# On any exit: stop the server if it still runs (never `kill 0`: that is the
# whole process group), then remove the scratch folder.
trap '[ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null; rm -rf "$WORK"' EXIT

python3 -m venv "$WORK/venv"
"$WORK/venv/bin/pip" install -q "$ROOT"
PY="$WORK/venv/bin/python"

"$WORK/venv/bin/chat-server" --version

if "$PY" -c "import PySide6" 2>/dev/null; then
    echo "server-only install: PySide6 is importable, but it must not be installed" >&2
    exit 1
fi
echo "server-only install: import PySide6 fails, as it should"

# A free loopback port: bind to 0 and read what the kernel gave.
PORT="$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
"$WORK/venv/bin/chat-server" --host 127.0.0.1 --port "$PORT" --data-dir "$WORK/data" \
    --no-discovery >"$WORK/server.log" 2>&1 &
SERVER_PID=$!

# Wait (bounded: 20 s) until the health route answers, then show its body.
"$PY" - "$PORT" <<'PYEOF'
import json
import sys
import time
import urllib.request

url = f"http://127.0.0.1:{sys.argv[1]}/api/v1/health"
deadline = time.monotonic() + 20
while True:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            body = json.load(response)
        break
    except OSError:
        if time.monotonic() > deadline:
            sys.exit(f"server-only install: {url} did not answer within 20 s")
        time.sleep(0.2)
if body.get("status") != "ok":
    sys.exit(f"server-only install: health said {body!r}")
print(f"server-only install: {url} -> {body}")
PYEOF

kill -TERM "$SERVER_PID"
if wait "$SERVER_PID"; then
    echo "server-only install: chat-server stopped with exit code 0"
else
    status=$?
    cat "$WORK/server.log" >&2
    echo "server-only install: chat-server exited with $status on SIGTERM" >&2
    exit 1
fi
SERVER_PID=
