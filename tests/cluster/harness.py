"""Several ``chat-server`` processes behind a real nginx, for the tests of issue 15.

A site that runs several servers puts nginx in front of them with
``packaging/nginx/chat.conf``; these tests run that same file:

- :class:`RedisServer`: a private ``redis-server`` on a free port, without
  persistence, so the machine's own Redis (if any) is never touched.
- :class:`Nginx`: Debian's ``nginx`` binary as a non-daemon child
  (``nginx -p DIR -c DIR/nginx.conf -g 'daemon off;'``) with everything it
  writes (pid, logs, temp files) inside ``DIR``, listening on a free
  127.0.0.1 port. The main ``nginx.conf`` here is the harness's own small
  stand-in for Debian's /etc/nginx/nginx.conf; the site inside it is
  ``packaging/nginx/chat.conf`` rendered with this cluster's ports.
- :class:`Cluster`: N ``chat-server`` subprocesses (tests/conftest.py's
  :class:`~tests.conftest.ServerProcess`) on free ports sharing one
  PostgreSQL database, one Redis and one files directory, with nginx in front.

Everything is stopped deterministically by :meth:`Cluster.close` (nginx first,
so that no request reaches a stopping server, then the servers): SIGTERM,
a bounded wait, SIGKILL only for what hangs, and every process reaped.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import pwd
import shutil
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.conftest import ROOT, ServerProcess

# The site configuration an operator installs (docs/operators.md, "Several servers").
SITE_TEMPLATE = ROOT / "packaging" / "nginx" / "chat.conf"
HOST = "127.0.0.1"
# How long a process may take to start or to stop before the harness gives up on it.
START_TIMEOUT = 20.0
# Debian puts nginx in /usr/sbin, which a non-root user's PATH may lack.
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
STOP_TIMEOUT = 10.0
_PR_SET_PDEATHSIG = 1


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now.

    nginx and redis-server take their port from the command line (no port 0),
    so one is picked here; another process could take it in between, which on
    a test machine does not happen in practice, and would fail loudly if it did.
    """
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def _port_open(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=0.5):
        return True
    return False


def _wait_listening(proc: subprocess.Popen[bytes], port: int, what: str, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        if _port_open(port):
            return
        # A child process's port has no event to await: check it every few ms.
        time.sleep(0.02)
    _stop(proc)
    text = log.read_text(errors="replace") if log.exists() else ""
    raise RuntimeError(f"{what} did not start listening on {HOST}:{port}:\n{text}")


def _stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> int:
    """Signal, wait a bounded time, kill if it hangs; always reaped on return."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            return proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
    return proc.wait()


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM when the test process dies, even by SIGKILL.

    nginx and redis-server outlive a killed pytest otherwise, holding their ports.
    """
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def render_site(listen: str, servers: list[str]) -> str:
    """``packaging/nginx/chat.conf`` with its placeholders filled in, as docs/operators.md says."""
    template = SITE_TEMPLATE.read_text()
    upstream = "\n    ".join(f"server {address};" for address in servers)
    return template.replace("@LISTEN@", listen).replace("@SERVERS@", upstream)


@dataclass
class RedisServer:
    """A private ``redis-server`` (no RDB, no AOF) on a free port, its files in ``folder``."""

    folder: Path
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    def start(self) -> RedisServer:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port()
        log = self.folder / "redis.log"
        args = [
            "redis-server",
            "--port", str(self.port),
            "--bind", HOST,
            "--save", "",
            "--appendonly", "no",
            "--dir", str(self.folder),
            "--logfile", str(log),
        ]  # fmt: skip
        self.proc = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,
        )
        _wait_listening(self.proc, self.port, "redis-server", log)
        return self

    def flush(self) -> None:
        """Forget everything (between tests): one session's Redis serves every test."""
        with socket.create_connection((HOST, self.port), timeout=5) as conn:
            conn.sendall(b"FLUSHALL\r\n")
            answer = conn.recv(64)
        assert answer.startswith(b"+OK"), answer

    def stop(self) -> None:
        """Stop it (it saves nothing); restartable on the same port with :meth:`start`."""
        proc, self.proc = self.proc, None
        if proc is not None:
            _stop(proc)


@dataclass
class Nginx:
    """Debian's nginx in the foreground, every file it writes inside ``prefix``."""

    prefix: Path
    servers: list[str]
    # Refuse WebSocket handshakes (403), as a proxy that does not pass them
    # would: the apps must then long-poll. Added beside the site, not in it.
    refuse_websockets: bool = False
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def access_log(self) -> Path:
        return self.prefix / "logs" / "access.log"

    def write_config(self) -> Path:
        """nginx.conf (the main file, Debian's in production) including the rendered site."""
        logs = self.prefix / "logs"
        temp = self.prefix / "temp"
        logs.mkdir(parents=True, exist_ok=True)
        temp.mkdir(parents=True, exist_ok=True)
        site = render_site(f"{HOST}:{self.port}", self.servers)
        if self.refuse_websockets:
            refusal = "    location /ws { return 403; }\n"
            site = site.replace("    location / {", refusal + "    location / {")
        (self.prefix / "chat.conf").write_text(site)
        # nginx run by root drops its workers to `user` (default nobody, who could
        # not write the temp files here): keep them as whoever runs the tests.
        user = f"user {pwd.getpwuid(os.getuid()).pw_name};" if os.getuid() == 0 else ""
        main = f"""
{user}
worker_processes 1;
pid {self.prefix}/nginx.pid;
error_log {logs}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    # $upstream_addr: the tests learn from it which server a request went to.
    log_format chat '$remote_addr "$request" $status upstream=$upstream_addr';
    access_log {logs}/access.log chat;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    include chat.conf;
}}
"""
        config = self.prefix / "nginx.conf"
        config.write_text(main)
        return config

    def start(self) -> Nginx:
        self.prefix.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port()
        config = self.write_config()
        error_log = self.prefix / "logs" / "error.log"
        # -e: nginx opens its compiled-in error log (/var/log/nginx) before it
        # reads the config; point that at our folder too.
        args = [NGINX, "-p", str(self.prefix), "-e", str(error_log), "-c", str(config)]
        check = subprocess.run([*args, "-t", "-q"], capture_output=True, text=True)
        if check.returncode != 0:
            said = error_log.read_text(errors="replace") if error_log.exists() else ""
            raise RuntimeError(f"nginx rejected the configuration:\n{check.stderr}{said}")
        self.proc = subprocess.Popen(
            [*args, "-g", "daemon off;"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,
        )
        _wait_listening(self.proc, self.port, "nginx", error_log)
        return self

    def upstreams(self, path: str) -> list[str]:
        """The servers (HOST:PORT) that finished requests for ``path`` went to, in order.

        nginx writes a request's line when it ends: a WebSocket's when it closes.
        """
        if not self.access_log.exists():
            return []
        found = []
        for line in self.access_log.read_text(errors="replace").splitlines():
            if f" {path}" in line and "upstream=" in line:
                found.append(line.rsplit("upstream=", 1)[1])
        return found

    def stop(self) -> None:
        """SIGQUIT would wait for open WebSockets; SIGTERM closes them and exits at once."""
        proc, self.proc = self.proc, None
        if proc is not None:
            _stop(proc)


@dataclass
class Cluster:
    """N chat-servers on one PostgreSQL database and one Redis, nginx in front.

    ``servers[i]`` is named ``server-i`` (``--name``), which the welcome of a
    WebSocket names, so a test can tell which server a connection landed on.
    """

    folder: Path
    database_url: str
    redis_url: str
    size: int
    # More chat-server options, for every server.
    extra_args: list[str] = field(default_factory=list)
    # nginx refuses WebSockets: every client long-polls (see Nginx).
    refuse_websockets: bool = False
    servers: list[ServerProcess] = field(default_factory=list)
    nginx: Nginx | None = None
    # Servers that did not exit within 20 s of SIGTERM (then killed): a fault.
    hung: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        """Where clients connect: nginx."""
        assert self.nginx is not None
        return self.nginx.url

    def server_args(self, index: int) -> list[str]:
        return [
            "--db", self.database_url,
            "--redis", self.redis_url,
            "--name", f"server-{index}",
            # nginx is on this machine: its X-Forwarded-For names the client.
            "--trusted-proxy", HOST,
            # Uploads land in one directory that every server reads.
            "--files-dir", str(self.folder / "files"),
            "--no-discovery",
            # Every test client registers through nginx from 127.0.0.1.
            "--registration-burst", "1000",
            *self.extra_args,
        ]  # fmt: skip

    def start(self) -> Cluster:
        try:
            # One after the other: the first one creates the schema.
            for index in range(self.size):
                server = ServerProcess(
                    data_dir=self.folder / f"server-{index}", extra_args=self.server_args(index)
                )
                self.servers.append(server)
                server.start(timeout=START_TIMEOUT)
            addresses = [f"{HOST}:{server.port}" for server in self.servers]
            self.nginx = Nginx(self.folder / "nginx", addresses, self.refuse_websockets).start()
        except BaseException:
            self.close()
            raise
        return self

    def server_named(self, name: str) -> ServerProcess:
        return self.servers[int(name.rsplit("-", 1)[1])]

    def kill(self, index: int) -> None:
        """kill -9 one server, as a crash would; nginx sends its clients elsewhere."""
        self.servers[index].kill()

    def tracebacks(self) -> list[str]:
        return [trace for server in self.servers for trace in server.tracebacks()]

    def output(self) -> str:
        return "\n".join(
            f"--- server-{i} ---\n{server.printed()}" for i, server in enumerate(self.servers)
        )

    def close(self) -> None:
        """nginx first (no request reaches a stopping server), then every server, reaped."""
        if self.nginx is not None:
            self.nginx.stop()
        stoppers = [
            threading.Thread(target=self._stop_server, args=(index,))
            for index in range(len(self.servers))
        ]
        # In parallel: each waits for its own process, up to ServerProcess's bound.
        for thread in stoppers:
            thread.start()
        for thread in stoppers:
            thread.join()

    def _stop_server(self, index: int) -> None:
        """SIGTERM; a server still running after ServerProcess's bound is killed and noted.

        ServerProcess.stop gives up after 20 s by raising, and would leave the
        process behind: here it is killed, and the test fails (``hung``).
        """
        server = self.servers[index]
        proc = server.proc
        try:
            server.stop()
        except subprocess.TimeoutExpired:
            self.hung.append(f"server-{index}")
            if proc is not None:
                proc.kill()
                proc.wait()


def missing_programs() -> list[str]:
    """The programs these tests need that this machine lacks (.ci/run installs them)."""
    programs = {"nginx": NGINX, "redis-server": "redis-server"}
    return [name for name, path in programs.items() if shutil.which(path) is None]
