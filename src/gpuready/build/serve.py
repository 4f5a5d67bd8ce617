"""`gpuready cache serve`: the wheel cache over HTTP, as a PEP 503 index, with the standard library.

Routes: `/simple/` (projects), `/simple/<project>/` (its wheels, with sha256 fragments; a name
that is not normalised is redirected to the normalised one, as PEP 503 allows), `/<file>.whl`
(the wheel), and `/` (every wheel on one page, for `--find-links`). Pages are built from the
folder on each request, so wheels stored by a build a second ago are listed. Nothing outside
the folder can be reached: a file is served only if its name is exactly a wheel listed in it.

It binds where it is told, 127.0.0.1 by default: serving a lab's network is a choice
(`--host 0.0.0.0`), never a default. It is a small threaded server for a lab, not a public mirror.
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from packaging.utils import canonicalize_name

from gpuready.build import index


def make_handler(folder: Path, quiet: bool = True):
    folder = Path(folder).resolve()

    class Handler(BaseHTTPRequestHandler):
        server_version = "gpuready-cache"
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args) -> None:  # noqa: A002 - the stdlib's name
            if not quiet:
                sys.stderr.write("%s - %s\n" % (self.address_string(), format % args))

        def do_HEAD(self) -> None:  # noqa: N802
            self._route(head=True)

        def do_GET(self) -> None:  # noqa: N802
            self._route(head=False)

        def _route(self, head: bool) -> None:
            path = unquote(urlsplit(self.path).path)
            parts = [p for p in path.split("/") if p]
            if not parts:
                return self._html(index.links_page(index.scan(folder)), head)
            if parts[0] == index.INDEX_DIR:
                if len(parts) == 1:
                    if not path.endswith("/"):
                        return self._redirect("/simple/")
                    return self._html(index.root_page(index.scan(folder)), head)
                if len(parts) == 2:
                    wanted = canonicalize_name(parts[1])
                    if parts[1] != wanted or not path.endswith("/"):
                        return self._redirect(f"/simple/{wanted}/")
                    files = index.scan(folder).get(wanted)
                    if not files:
                        return self._error(HTTPStatus.NOT_FOUND, f"no wheels of {wanted} here")
                    return self._html(index.project_page(wanted, files), head)
                if len(parts) == 3 and parts[2] == "index.html":
                    return self._redirect(f"/simple/{canonicalize_name(parts[1])}/")
                return self._error(HTTPStatus.NOT_FOUND, "not found")
            if len(parts) == 1 and parts[0].endswith(".whl") and "/" not in parts[0] and "\\" not in parts[0]:
                return self._file(folder / parts[0], head)
            return self._error(HTTPStatus.NOT_FOUND, "not found")

        def _html(self, text: str, head: bool) -> None:
            data = text.encode("utf-8")
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-cache")
            self.end_headers()
            if not head:
                self.wfile.write(data)

        def _file(self, path: Path, head: bool) -> None:
            if path.parent != folder or path.name.startswith(".") or not path.is_file():
                return self._error(HTTPStatus.NOT_FOUND, "no such wheel")
            try:
                f = open(path, "rb")
            except OSError:
                return self._error(HTTPStatus.NOT_FOUND, "no such wheel")
            with f:
                size = os.fstat(f.fileno()).st_size
                self.send_response(HTTPStatus.OK)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(size))
                self.end_headers()
                if not head:
                    shutil.copyfileobj(f, self.wfile, 1 << 20)

        def _redirect(self, where: str) -> None:
            self.send_response(HTTPStatus.MOVED_PERMANENTLY)
            self.send_header("Location", where)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def _error(self, status: HTTPStatus, text: str) -> None:
            data = (text + "\n").encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

    return Handler


def make_server(folder: Path, host: str = "127.0.0.1", port: int = 8765, quiet: bool = True) -> ThreadingHTTPServer:
    """A bound server (port 0: any free port; see `server.server_address`); call serve_forever()."""
    cls = ThreadingHTTPServer
    if ":" in host:  # an IPv6 address ("::1", "::")
        class V6(ThreadingHTTPServer):
            address_family = socket.AF_INET6

        cls = V6
    server = cls((host.strip("[]"), port), make_handler(folder, quiet=quiet))
    server.daemon_threads = True
    return server
