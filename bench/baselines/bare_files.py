"""The floor for file transfer: an aiohttp handler that streams a body to disk, and back.

``POST /upload`` reads the body as it arrives, hashes it (SHA-256, as a
content-addressed store must) and writes it to a file, then fsyncs and
renames it, as our server does; ``GET /download/{id}`` serves it with
aiohttp's ``FileResponse``. No accounts, no database, no limits, no
caps: whatever our ``/api/v1/files`` costs beyond this is the price of its
features (bench.files compares them in the same run).

Run: ``python -m bench.baselines.bare_files --port 0`` (logs "listening on
http://127.0.0.1:PORT"; SIGTERM/SIGINT stop it). Files go to a temporary
folder removed at exit.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import tempfile
from pathlib import Path

from aiohttp import web

from bench.baselines import run

_FOLDER: web.AppKey[Path] = web.AppKey("folder", Path)
CHUNK = 256 * 1024


async def _upload(request: web.Request) -> web.Response:
    folder = request.app[_FOLDER]
    file_id = secrets.token_hex(8)
    part = folder / f"{file_id}.part"
    digest = hashlib.sha256()
    size = 0
    # On the event loop on purpose: the simplest handler anyone would write.
    with open(part, "wb") as sink:  # noqa: ASYNC230
        async for chunk in request.content.iter_chunked(CHUNK):
            digest.update(chunk)
            sink.write(chunk)
            size += len(chunk)
        sink.flush()
        os.fsync(sink.fileno())
    os.replace(part, folder / file_id)
    answer = {"id": file_id, "size": size, "sha256": digest.hexdigest()}
    return web.json_response(answer, status=201)


async def _download(request: web.Request) -> web.FileResponse:
    return web.FileResponse(request.app[_FOLDER] / request.match_info["id"])


def make_app() -> web.Application:
    app = web.Application()
    folder = tempfile.TemporaryDirectory(prefix="bare-files-")
    app[_FOLDER] = Path(folder.name)

    async def remove_folder(_app: web.Application) -> None:
        folder.cleanup()

    app.on_cleanup.append(remove_folder)
    app.router.add_post("/upload", _upload)
    app.router.add_get("/download/{id}", _download)
    return app


if __name__ == "__main__":
    run(make_app, "bare files", __doc__ or "")
