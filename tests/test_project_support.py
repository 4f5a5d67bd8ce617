"""Helpers for the project and lock tests: a PEP 503 index of tiny wheels served over http on 127.0.0.1.

Every wheel in a folder is listed under /simple/<project>/ (with its sha256 in the link, as PyPI does)
and served from /files/; requests are logged, so a test can say which index the installer asked.
No test here reaches the network: the CLI runs get a dead https proxy and no pip/uv configuration.
"""

from __future__ import annotations

import hashlib
import os
import re
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.test_install_support import isolated_env, make_wheel  # noqa: F401 - re-exported for the tests

ROOT = Path(__file__).resolve().parents[1]


def _project(filename: str) -> str:
    return re.sub(r"[-_.]+", "-", filename.split("-")[0]).lower()


class WheelIndex:
    """A folder of wheels as a simple index: http://127.0.0.1:PORT/simple/."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.log: list[str] = []
        idx = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                self._send(head=False)

            def do_HEAD(self):  # uv asks before a range request for a wheel's METADATA
                self._send(head=True)

            def _send(self, head: bool) -> None:
                path = self.path.split("?")[0]
                idx.log.append(path)
                files = sorted(p for p in idx.folder.glob("*") if p.suffix in (".whl", ".gz"))
                m = re.fullmatch(r"/simple/([^/]+)/?", path)
                if path.rstrip("/") == "/simple":
                    names = sorted({_project(p.name) for p in files})
                    body = "".join(f'<a href="/simple/{n}/">{n}</a><br>' for n in names).encode()
                    ctype = "text/html"
                elif m:
                    want = re.sub(r"[-_.]+", "-", m.group(1)).lower()
                    links = [f'<a href="/files/{p.name}#sha256={hashlib.sha256(p.read_bytes()).hexdigest()}">{p.name}</a><br>'
                             for p in files if _project(p.name) == want]
                    if not links:
                        self.send_response(404)
                        self.end_headers()
                        return
                    body, ctype = "".join(links).encode(), "text/html"
                elif path.startswith("/files/") and (idx.folder / path[7:]).is_file():
                    body, ctype = (idx.folder / path[7:]).read_bytes(), "application/octet-stream"
                else:
                    self.send_response(404)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if not head:
                    self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.simple = self.url + "/simple"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def asked(self, project: str) -> bool:
        return any(p.rstrip("/") == f"/simple/{project}" for p in self.log)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def dead_proxy() -> str:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}"


def offline_env(tmp: Path, **extra: str) -> dict:
    """A child environment with no pip/uv configuration, a private gpuready home, and no way out to the network."""
    env = isolated_env({
        "GPUREADY_HOME": str(tmp / "gph"), "GPUREADY_CACHE_DIR": str(tmp / "gph" / "wheels"),
        "GPUREADY_CONFIG_DIR": str(tmp / "gph" / "config"), "HTTPS_PROXY": dead_proxy(), "HTTP_PROXY": "", "NO_PROXY": "127.0.0.1",
        "UV_CACHE_DIR": str(tmp / "uv-cache"), "PIP_NO_CACHE_DIR": "1", "UV_PYTHON_DOWNLOADS": "never",
    })
    env.pop("GPUREADY_TORCH_MIRROR", None)
    env.update(extra)
    return env


def gpuready(args: list[str], env: dict, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gpuready", *args], capture_output=True, text=True, env=env,
                          cwd=str(cwd or ROOT), timeout=timeout)


def has_uv() -> bool:
    return subprocess.run([sys.executable, "-m", "uv", "--version"], capture_output=True).returncode == 0


needs_uv = pytest.mark.skipif(not has_uv(), reason="uv is not installed (it is in the test extra)")


def cuda_index(folder: Path) -> None:
    """Stand-ins for a CUDA 13 framework and its runtime wheels (versions as on PyPI, contents empty)."""
    for v in ("13.0.88", "13.5.37"):
        make_wheel(folder, "nvidia-nvjitlink", v, files={"nvidia_nvjitlink_stub/__init__.py": ""})
    for v in ("13.0.3", "13.5.0"):
        make_wheel(folder, "cuda-bindings", v, files={"cuda_bindings_stub/__init__.py": ""})
    make_wheel(folder, "cuda-toolkit", "13.0.3.0", requires=["nvidia-nvjitlink<14,>=13.0.39"], files={"cuda_toolkit_stub/__init__.py": ""})
    make_wheel(folder, "torch", "2.14.1", requires=["cuda-toolkit==13.0.3.0", "cuda-bindings<14,>=13.0.3", "filelock"],
               files={"torch/__init__.py": "__version__ = '2.14.1'\n"})
    make_wheel(folder, "filelock", "4.3.1")
    make_wheel(folder, "gpr-a", "1.0", requires=["gpr-b>=2"])
    make_wheel(folder, "gpr-b", "1.0")
    make_wheel(folder, "gpr-b", "2.0")
    make_wheel(folder, "gpr-needs-new-jitlink", "1.0", requires=["nvidia-nvjitlink>=13.2"])


@pytest.fixture
def wheel_index(tmp_path):
    folder = tmp_path / "index"
    cuda_index(folder)
    idx = WheelIndex(folder)
    yield idx
    idx.close()


__all__ = ["WheelIndex", "cuda_index", "dead_proxy", "gpuready", "has_uv", "make_wheel", "needs_uv", "offline_env", "wheel_index",
           "os"]
