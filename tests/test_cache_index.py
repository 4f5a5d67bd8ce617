"""The lab wheel index: `gpuready cache index` (static PEP 503 pages) and `gpuready cache serve` (a real
HTTP server on 127.0.0.1), with real pip and uv installing a wheel from it. No network: the wheel is
a tiny pure-Python one made here, with a gpuready-style local version label."""

from __future__ import annotations

import hashlib
import html.parser
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from gpuready.build import index, wheelfile

ROOT = Path(__file__).resolve().parents[1]
VERSION = "1.0.0+cu130.sm86.sm90.r1"


def _wheel(folder: Path, name: str = "lab_demo", version: str = VERSION, requires_python: str = ">=3.8") -> Path:
    tree = folder.parent / f"tree-{name}-{version}"
    pkg = tree / name.replace("-", "_")
    pkg.mkdir(parents=True, exist_ok=True)
    (pkg / "__init__.py").write_text(f"VERSION = {version!r}\n")
    w = wheelfile.make_wheel(tree, name, version, "py3-none-any", folder)
    if requires_python:  # make_wheel writes no Requires-Python; add it the way a real wheel has it
        import zipfile

        tmp = w.with_suffix(".tmp")
        with zipfile.ZipFile(w) as zin, zipfile.ZipFile(tmp, "w") as zout:
            for item in zin.infolist():
                data = zin.read(item)
                if item.filename.endswith(".dist-info/METADATA"):
                    data = data.replace(b"Summary:", f"Requires-Python: {requires_python}\nSummary:".encode(), 1)
                zout.writestr(item, data)
        os.replace(tmp, w)
    return w


class Links(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.links: list[dict] = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self.links.append(dict(attrs))


def links(page: str) -> list[dict]:
    p = Links()
    p.feed(page)
    return p.links


def test_static_index_pages(tmp_path):
    d = tmp_path / "wheels"
    w = _wheel(d)
    _wheel(d, name="Other.Pkg", version="2.0", requires_python="")
    (d / "notes.txt").write_text("not a wheel")
    (d / ".incoming").mkdir()
    (d / ".incoming" / "half-1.0-py3-none-any.whl").write_bytes(b"PK")
    r = subprocess.run([sys.executable, "-m", "gpuready", "cache", "index", str(d)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "indexed 2 wheel(s) of 2 project(s)" in r.stdout
    root = (d / "simple" / "index.html").read_text()
    assert [a["href"] for a in links(root)] == ["lab-demo/", "other-pkg/"]  # PEP 503 normalised names
    page = (d / "simple" / "lab-demo" / "index.html").read_text()
    (a,) = links(page)
    digest = hashlib.sha256(w.read_bytes()).hexdigest()
    assert a["href"] == f"../../lab_demo-1.0.0%2Bcu130.sm86.sm90.r1-py3-none-any.whl#sha256={digest}"
    assert a["data-requires-python"] == ">=3.8"
    # a wheel removed from the folder drops out of the index on the next run
    for p in d.glob("Other*"):
        p.unlink()
    index.write_index(d)
    assert not (d / "simple" / "other-pkg").exists()


def test_index_of_a_missing_folder_is_bad_usage(tmp_path):
    r = subprocess.run([sys.executable, "-m", "gpuready", "cache", "index", str(tmp_path / "nope")], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 2 and "no such folder" in r.stderr


@pytest.fixture
def server(tmp_path):
    d = tmp_path / "wheels"
    _wheel(d)
    p = subprocess.Popen([sys.executable, "-m", "gpuready", "cache", "serve", str(d), "--port", "0"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, start_new_session=True)
    line = p.stdout.readline()
    assert line.startswith("serving "), (line, p.stderr.read() if p.poll() is not None else "")
    url = line.split(" at ", 1)[1].split(" ", 1)[0]  # http://127.0.0.1:PORT/simple/
    assert url.startswith("http://127.0.0.1:") and url.endswith("/simple/")
    yield url, d, p
    if p.poll() is None:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait(timeout=10)


def _get(url: str) -> tuple[int, str, dict]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.read().decode("utf-8", "replace"), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace"), dict(e.headers)


def test_server_routes(server):
    url, d, _p = server
    status, body, headers = _get(url)
    assert status == 200 and headers["Content-Type"].startswith("text/html") and 'href="lab-demo/"' in body
    status, body, _h = _get(url + "lab-demo/")
    assert status == 200 and "lab_demo-1.0.0%2Bcu130" in body and "#sha256=" in body
    status, body, _h = _get(url + "Lab_Demo/")  # not normalised: redirected, then served
    assert status == 200 and "lab_demo-1.0.0" in body
    base = url[: -len("simple/")]
    status, _b, _h = _get(base + "lab_demo-1.0.0%2Bcu130.sm86.sm90.r1-py3-none-any.whl")
    assert status == 200
    for bad in ("../etc/passwd", "%2e%2e/%2e%2e/etc/passwd", ".incoming/x.whl", "nope-1.0-py3-none-any.whl", "simple/none/"):
        assert _get(base + bad)[0] == 404, bad
    # a wheel stored after the server started is listed at once
    _wheel(d, name="late", version="0.1")
    assert _get(url + "late/")[0] == 200


def test_sigterm_stops_the_server(server):
    _url, _d, p = server
    p.send_signal(signal.SIGTERM)
    assert p.wait(timeout=15) == 0
    assert "stopped" in p.stderr.read()


def test_pip_installs_from_the_served_index(server, tmp_path):
    url, _d, _p = server
    target = tmp_path / "pip-site"
    r = subprocess.run([sys.executable, "-m", "pip", "install", "--isolated", "--no-cache-dir", "--disable-pip-version-check",
                        "-q", "--index-url", url, "--target", str(target), "lab-demo==1.0.0"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert (target / f"lab_demo-{VERSION}.dist-info").is_dir()
    # and through --find-links on the server's top page
    target2 = tmp_path / "pip-site2"
    r = subprocess.run([sys.executable, "-m", "pip", "install", "--isolated", "--no-cache-dir", "--disable-pip-version-check",
                        "-q", "--no-index", "--find-links", url[: -len("simple/")], "--target", str(target2), "lab_demo"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert (target2 / "lab_demo" / "__init__.py").is_file()


def test_uv_installs_from_the_served_index(server, tmp_path):
    uv = shutil.which("uv") or str(Path(sys.executable).with_name("uv"))
    if not Path(uv).is_file():
        pytest.fail("uv is not installed: the test extra must bring it")
    url, _d, _p = server
    target = tmp_path / "uv-site"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("UV_", "PIP_"))}
    r = subprocess.run([uv, "pip", "install", "--no-config", "--no-cache", "--index-url", url, "--python", sys.executable,
                        "--target", str(target), f"lab-demo=={VERSION}"], capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode == 0, r.stderr
    assert (target / f"lab_demo-{VERSION}.dist-info").is_dir()
    assert "lab-demo==1.0.0+cu130.sm86.sm90.r1" in r.stderr  # uv names what it installed


def test_serve_refuses_a_busy_port(server, tmp_path):
    url, d, _p = server
    port = url.split(":")[2].split("/")[0]
    r = subprocess.run([sys.executable, "-m", "gpuready", "cache", "serve", str(d), "--port", port], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 2 and "cannot listen on 127.0.0.1:" in r.stderr
    assert time.time()  # and it did not hang
