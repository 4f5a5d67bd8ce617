"""gpuready.indexconfig against the REAL pip and uv of the test extra, on the same files and variables.

Three kinds of evidence, each cheap:
- pip's own option parser (tests/indexconfig_pip_oracle.py, one process for a whole table of layouts)
  and `pip config debug` for the files pip considers;
- `uv pip compile --emit-index-url --emit-find-links` (uv prints the indexes it settled on; offline);
- real `pip install --dry-run`, `pip download` and `uv pip install --dry-run` against tiny indexes
  served on this machine over http, each with a different version of a tiny wheel made here: which
  servers were asked, and which version was chosen, is what the installer really used. A server on a
  non-loopback address of this machine plays the plain-http lab mirror pip ignores without
  --trusted-host. https is pointed at a dead proxy, so nothing here reaches the network.

A divergence between gpuready and the installer fails here.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from gpuready.indexconfig.pipconfig import read_pip_settings
from gpuready.indexconfig.uvconfig import read_uv_settings
from tests.test_install_support import make_wheel

HERE = Path(__file__).resolve().parent
PY = sys.executable
PKG = "gpr-tiny"


def _has_uv() -> bool:
    return subprocess.run([PY, "-m", "uv", "--version"], capture_output=True).returncode == 0


needs_uv = pytest.mark.skipif(not _has_uv(), reason="uv is not installed (it is in the test extra)")


def base_env(root: Path, **extra: str) -> dict[str, str]:
    """A clean environment whose home, XDG folders and venv are under `root` (no PIP_*/UV_* of the host)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PIP_", "UV_", "XDG_", "VIRTUAL_ENV", "CONDA")) and k.lower() not in (
               "http_proxy", "https_proxy", "all_proxy", "no_proxy")}
    env.update(HOME=str(root / "home"), XDG_CONFIG_HOME=str(root / "cfg"), XDG_CONFIG_DIRS=str(root / "sys"),
               PIP_DISABLE_PIP_VERSION_CHECK="1")
    env.update(extra)
    return env


def write_files(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)


# --- pip: its own parser on a table of layouts --------------------------------------------------------

U = "https://{}.example/simple"
PIP_CASES = {
    "nothing": ({}, {}, "install"),
    "user file": ({"cfg/pip/pip.conf": f"[global]\nindex-url = {U.format('user')}\nextra-index-url = {U.format('ux')}\n"}, {}, "install"),
    "user replaces global, key by key": (
        {"sys/pip/pip.conf": f"[global]\nindex-url = {U.format('sys')}\nextra-index-url = {U.format('sx1')} {U.format('sx2')}\n",
         "cfg/pip/pip.conf": f"[global]\nextra-index-url = {U.format('ux')}\n"}, {}, "install"),
    "two XDG_CONFIG_DIRS: the later one wins": (
        {"sys/pip/pip.conf": f"[global]\nindex-url = {U.format('first')}\n", "sys2/pip/pip.conf": f"[global]\nindex-url = {U.format('second')}\n"},
        {"XDG_CONFIG_DIRS": "{root}/sys:{root}/sys2"}, "install"),
    "legacy ~/.pip then the XDG user file": (
        {"home/.pip/pip.conf": f"[global]\nindex-url = {U.format('legacy')}\nfind-links = /legacy\n",
         "cfg/pip/pip.conf": f"[global]\nindex-url = {U.format('new')}\n"}, {}, "install"),
    "venv (site) file over the user file": (
        {"cfg/pip/pip.conf": f"[global]\nindex-url = {U.format('user')}\n", "venv/pip.conf": f"[global]\nindex-url = {U.format('venv')}\n"}, {}, "install"),
    "PIP_CONFIG_FILE skips the user file, beats the venv file": (
        {"cfg/pip/pip.conf": f"[global]\nextra-index-url = {U.format('user')}\n", "venv/pip.conf": f"[global]\nindex-url = {U.format('venv')}\n",
         "my.conf": f"[global]\nindex-url = {U.format('envfile')}\n"}, {"PIP_CONFIG_FILE": "{root}/my.conf"}, "install"),
    "PIP_CONFIG_FILE missing: the user file still counts": (
        {"cfg/pip/pip.conf": f"[global]\nindex-url = {U.format('user')}\n"}, {"PIP_CONFIG_FILE": "{root}/missing.conf"}, "install"),
    "PIP_CONFIG_FILE=os.devnull: no file at all, variables still": (
        {"cfg/pip/pip.conf": f"[global]\nindex-url = {U.format('user')}\n", "sys/pip/pip.conf": f"[global]\nfind-links = /sys\n"},
        {"PIP_CONFIG_FILE": os.devnull, "PIP_EXTRA_INDEX_URL": U.format("env")}, "install"),
    "PIP_EXTRA_INDEX_URL and PIP_FIND_LINKS replace the files' lists": (
        {"cfg/pip/pip.conf": f"[global]\nextra-index-url = {U.format('ux')}\nfind-links = /from-file\n"},
        {"PIP_EXTRA_INDEX_URL": f"{U.format('e1')} {U.format('e2')}", "PIP_FIND_LINKS": "/from-env"}, "install"),
    "[install] over [global], [download] for pip download": (
        {"cfg/pip/pip.conf": f"[global]\nindex-url = {U.format('global')}\n[install]\nindex-url = {U.format('install')}\n"
                             f"[download]\nextra-index-url = {U.format('download')}\n"}, {}, "install"),
    "[install] over [global], [download] for pip download (download)": (
        {"cfg/pip/pip.conf": f"[global]\nindex-url = {U.format('global')}\n[install]\nindex-url = {U.format('install')}\n"
                             f"[download]\nextra-index-url = {U.format('download')}\n"}, {}, "download"),
    "an empty value goes back to the default": (
        {"sys/pip/pip.conf": f"[global]\nindex-url = {U.format('sys')}\nfind-links = /sys\n", "cfg/pip/pip.conf": "[global]\nindex-url =\n"}, {}, "install"),
    "pypi-url alias, lists over several lines, trusted-host": (
        {"cfg/pip/pip.conf": f"[global]\npypi-url = http://10.1.2.3:8080/simple\nextra-index-url =\n    {U.format('a')}\n    {U.format('b')}\n"
                             "trusted-host = 10.1.2.3\n    mirror.lab\n"}, {}, "install"),
    "no-index from a file, switched off by the variable": (
        {"cfg/pip/pip.conf": "[global]\nno-index = yes\nfind-links = /wheels\n"}, {"PIP_NO_INDEX": "off"}, "install"),
    "PIP_NO_INDEX=1 and an empty PIP_INDEX_URL": (
        {"cfg/pip/pip.conf": f"[install]\nindex-url = {U.format('user')}\n"}, {"PIP_NO_INDEX": "1", "PIP_INDEX_URL": ""}, "install"),
    "PIP_INDEX_URL beats [install]": (
        {"cfg/pip/pip.conf": f"[install]\nindex-url = {U.format('install')}\n"}, {"PIP_INDEX_URL": U.format("env")}, "install"),
}


def _mine_pip(env: dict, prefix: str, command: str) -> dict:
    s = read_pip_settings(env, command=command, prefix=prefix)
    if s.errors:
        return {"error": True}
    return {"index_url": s.index_url, "extra_index_urls": list(s.extra_index_urls), "find_links": list(s.find_links),
            "trusted_hosts": list(s.trusted_hosts), "no_index": s.no_index}


def test_pip_settings_match_pips_own_parser(tmp_path):
    cases, mine = [], []
    for i, (name, (files, env_extra, command)) in enumerate(PIP_CASES.items()):
        root = tmp_path / f"c{i}"
        write_files(root, files)
        env = base_env(root, **{k: v.replace("{root}", str(root)) for k, v in env_extra.items()})
        prefix = str(root / "venv")
        cases.append({"env": env, "prefix": prefix, "command": command})
        mine.append(_mine_pip(env, prefix, command))
    res = subprocess.run([PY, str(HERE / "indexconfig_pip_oracle.py")], input=json.dumps(cases), capture_output=True,
                         text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    pips = json.loads(res.stdout)
    for name, got, want in zip(PIP_CASES, mine, pips):
        if "error" in want:
            assert got == {"error": True}, f"{name}: pip refuses this config ({want['error']}), gpuready read {got}"
        else:
            assert got == want, f"{name}: gpuready {got} != pip {want}"


def test_pip_refusals_are_reported_like_pip(tmp_path):
    bad = {
        "duplicate key": "[global]\nindex-url = https://a.example/simple\nindex-url = https://b.example/simple\n",
        "not a boolean": "[global]\nno-index = maybe\n",
    }
    cases, mine = [], []
    for i, text in enumerate(bad.values()):
        root = tmp_path / f"b{i}"
        write_files(root, {"cfg/pip/pip.conf": text})
        env = base_env(root)
        cases.append({"env": env, "prefix": str(root / "venv")})
        mine.append(read_pip_settings(env, prefix=str(root / "venv")).errors)
    res = subprocess.run([PY, str(HERE / "indexconfig_pip_oracle.py")], input=json.dumps(cases), capture_output=True, text=True, timeout=120)
    for name, errors, want in zip(bad, mine, json.loads(res.stdout)):
        assert "error" in want, f"{name}: pip accepted it"
        assert errors, f"{name}: pip refuses it ({want['error']}) but gpuready saw no problem"


def _pip_config_debug(env: dict) -> list[tuple[str, str, bool]]:
    res = subprocess.run([PY, "-m", "pip", "config", "debug"], env=env, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    out, kind = [], ""
    for line in res.stdout.splitlines():
        if not line.startswith(" ") and line.endswith(":"):
            kind = line[:-1]
        elif line.startswith("  ") and not line.startswith("    ") and ", exists: " in line and kind != "env_var":
            path, _, exists = line.strip().rpartition(", exists: ")
            out.append((kind, path, exists == "True"))
    return out


def test_the_files_pip_reads_are_the_files_pip_config_debug_lists(tmp_path):
    root = tmp_path
    write_files(root, {"cfg/pip/pip.conf": "[global]\n", "my.conf": "[global]\n"})
    # pip config debug runs pip in the test venv, so the "site" file is that venv's
    for extra in ({}, {"PIP_CONFIG_FILE": str(root / "my.conf")}):
        env = base_env(root, **extra)
        mine = [(f.kind, f.path, f.exists) for f in read_pip_settings(env, prefix=sys.prefix).files]
        # `pip config debug` lists the kinds alphabetically (env, global, site, user), each kind's files in order
        assert sorted(mine, key=lambda f: f[0]) == _pip_config_debug(env), extra


# --- uv: the indexes it settles on, printed by uv itself ----------------------------------------------------

UV_CASES = {
    "nothing": ({}, {}),
    "user file": ({"cfg/uv/uv.toml": f'index-url = "{U.format("user")}"\nextra-index-url = ["{U.format("ux")}"]\n'}, {}),
    "project [tool.uv] and [tool.uv.pip], found from a subfolder, joined with the user file": (
        {"cfg/uv/uv.toml": f'index-url = "{U.format("user")}"\nextra-index-url = ["{U.format("ux")}"]\n',
         "proj/pyproject.toml": f'[project]\nname = "p"\nversion = "1"\n[tool.uv]\nextra-index-url = ["{U.format("proj")}"]\n'
                                f'[tool.uv.pip]\nindex-url = "{U.format("projpip")}"\n'}, {}),
    "a system [[index]] default beats the project's index-url; explicit indexes are not searched": (
        {"proj/pyproject.toml": f'[project]\nname = "p"\nversion = "1"\n[tool.uv.pip]\nindex-url = "{U.format("projpip")}"\n',
         "sys/uv/uv.toml": f'[[index]]\nurl = "{U.format("sys")}"\ndefault = true\n[[index]]\nurl = "{U.format("sysx")}"\n'
                           f'[[index]]\nname = "torch"\nurl = "https://mirror.example/whl/cu128"\nexplicit = true\n'}, {}),
    "UV_INDEX_URL, UV_EXTRA_INDEX_URL and UV_INDEX come before the files": (
        {"cfg/uv/uv.toml": f'[[index]]\nurl = "{U.format("file")}"\n'},
        {"UV_INDEX_URL": U.format("envi"), "UV_EXTRA_INDEX_URL": f"{U.format('e1')} {U.format('e2')}", "UV_INDEX": f"named={U.format('n')} {U.format('i2')}"}),
    "UV_DEFAULT_INDEX beats UV_INDEX_URL": ({}, {"UV_DEFAULT_INDEX": U.format("dflt"), "UV_INDEX_URL": U.format("old")}),
    "a repeated index name: the first wins": (
        {"cfg/uv/uv.toml": f'[[index]]\nname = "lab"\nurl = "{U.format("second")}"\n'}, {"UV_INDEX": f"lab={U.format('first')}"}),
    "a uv.toml in a folder between the project root and here is not read": (
        {"proj/pyproject.toml": '[project]\nname = "p"\nversion = "1"\n', "proj/sub/uv.toml": f'index-url = "{U.format("sub")}"\n',
         "cfg/uv/uv.toml": f'index-url = "{U.format("user")}"\n'}, {}),
    "a uv.toml in a parent folder outside any project": (
        {"outside/uv.toml": f'index-url = "{U.format("parent")}"\n'}, {"@cwd": "outside/deep/er"}),
    "UV_CONFIG_FILE is the only file": (
        {"cfg/uv/uv.toml": f'index-url = "{U.format("user")}"\n', "mine.toml": f'extra-index-url = ["{U.format("mine")}"]\n'},
        {"UV_CONFIG_FILE": "{root}/mine.toml"}),
    "UV_NO_CONFIG": ({"cfg/uv/uv.toml": f'index-url = "{U.format("user")}"\n'}, {"UV_NO_CONFIG": "1"}),
    "UV_NO_SYSTEM_CONFIG": ({"sys/uv/uv.toml": f'index-url = "{U.format("sys")}"\n'}, {"UV_NO_SYSTEM_CONFIG": "1"}),
    "find-links from UV_FIND_LINKS (commas) and files, joined": (
        {"cfg/uv/uv.toml": 'find-links = ["{root}/w3"]\n[pip]\nfind-links = ["{root}/w2"]\n'}, {"UV_FIND_LINKS": "{root}/w1,{root}/w0"}),
    "no-index": ({"cfg/uv/uv.toml": 'no-index = true\nfind-links = ["{root}/w1"]\n'}, {}),
}


def _uv_compile(env: dict, cwd: Path, req: Path) -> list[str]:
    res = subprocess.run([PY, "-m", "uv", "pip", "compile", str(req), "--emit-index-url", "--emit-find-links", "--no-header",
                          "--offline", "-q"], env=env, cwd=cwd, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    return [line.strip() for line in res.stdout.splitlines() if line.strip()]


def _mine_uv(env: dict, cwd: Path) -> list[str]:
    s = read_uv_settings(env, cwd=cwd)
    assert not s.errors, s.errors
    out = [] if s.no_index else [f"--index-url {s.default_index}", *[f"--extra-index-url {i.url}" for i in s.indexes]]
    return out + [f"--find-links {u}" for u in s.find_links]


@needs_uv
def test_uv_settings_match_what_uv_prints(tmp_path):
    req = tmp_path / "empty.in"
    req.write_text("")
    jobs = []
    for i, (name, (files, env_extra)) in enumerate(UV_CASES.items()):
        root = tmp_path / f"u{i}"
        write_files(root, {k: v.replace("{root}", str(root)) for k, v in files.items()})
        for w in ("w0", "w1", "w2", "w3"):
            (root / w).mkdir(parents=True)
        extra = {k: v.replace("{root}", str(root)) for k, v in env_extra.items()}
        cwd = root / extra.pop("@cwd", "proj/sub")
        cwd.mkdir(parents=True, exist_ok=True)
        jobs.append((name, base_env(root, **extra), cwd))
    with ThreadPoolExecutor(4) as pool:
        uvs = list(pool.map(lambda j: _uv_compile(j[1], j[2], req), jobs))
    for (name, env, cwd), got_uv in zip(jobs, uvs):
        assert _mine_uv(env, cwd) == got_uv, name


# --- real installs against indexes served here ------------------------------------------------------------


def _lan_address() -> str:
    """An address of this machine that is not loopback (pip treats it as a remote plain-http host)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the outgoing interface
        addr = s.getsockname()[0]
    except OSError:
        return ""
    finally:
        s.close()
    return "" if addr.startswith("127.") else addr


class Index:
    """A tiny PEP 503 index (`/simple/gpr-tiny/`) and find-links page (`/links/`) serving some versions."""

    def __init__(self, host: str, versions: list[str], folder: Path, log: list):
        self.wheels = {p.name: p.read_bytes() for p in (make_wheel(folder, PKG, v) for v in versions)}
        idx = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, head: bool) -> None:
                path = self.path.split("?")[0]
                log.append((idx.url, path))
                if path.rstrip("/") in (f"/simple/{PKG}", "/links"):
                    body = "".join(f'<a href="/files/{n}">{n}</a><br>' for n in idx.wheels).encode()
                    ctype = "text/html"
                elif path.startswith("/files/") and path[7:] in idx.wheels:
                    body, ctype = idx.wheels[path[7:]], "application/octet-stream"
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

            def do_GET(self):
                self._send(False)

            def do_HEAD(self):
                self._send(True)

        self.server = ThreadingHTTPServer((host, 0), Handler)
        self.url = f"http://{host}:{self.server.server_address[1]}"
        self.simple = self.url + "/simple"
        self.links = self.url + "/links/"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def indexes(tmp_path):
    log: list = []
    lan = _lan_address()
    made = {"a": Index("127.0.0.1", ["1.0"], tmp_path / "wa", log), "b": Index("127.0.0.1", ["2.0"], tmp_path / "wb", log),
            "c": Index("127.0.0.1", ["3.0"], tmp_path / "wc", log)}
    if lan:
        try:
            made["lan"] = Index(lan, ["4.0"], tmp_path / "wl", log)
        except OSError:
            pass
    yield made, log
    for ix in made.values():
        ix.close()


def _dead_proxy() -> str:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}"


def _net_env(root: Path, **extra) -> dict:
    return base_env(root, HTTPS_PROXY=_dead_proxy(), NO_PROXY="", **extra)


def _pip_install(env: dict, cwd: Path, *args: str, command: str = "install") -> tuple[int, str, str]:
    if command == "install":
        argv = [PY, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--report", "-", "-q", "--retries", "0",
                "--timeout", "5", *args, PKG]
    else:
        argv = [PY, "-m", "pip", "download", "--no-deps", "-d", str(cwd / "dl"), "-q", "--retries", "0", "--timeout", "5", *args, PKG]
    res = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=120)
    version = ""
    if command == "install" and res.returncode == 0:
        version = json.loads(res.stdout)["install"][0]["metadata"]["version"]
    elif res.returncode == 0:
        version = next(iter(p.name.split("-")[1] for p in (cwd / "dl").glob("*.whl")), "")
    return res.returncode, version, res.stderr


def _uv_install(env: dict, cwd: Path, *args: str) -> tuple[int, str, str]:
    res = subprocess.run([PY, "-m", "uv", "pip", "install", "--dry-run", "--python", PY, "--reinstall", *args, PKG],
                         env=env, cwd=cwd, capture_output=True, text=True, timeout=120)
    version = next((line.split("==")[1].strip() for line in res.stderr.splitlines() if f" {PKG}==" in line), "")
    return res.returncode, version, res.stderr


def _asked(log: list, url: str) -> bool:
    return any(u == url for u, _ in log)


def test_pip_really_uses_what_gpuready_reads(indexes, tmp_path):
    """Per-key override across files and variables, [download] vs [install], PIP_CONFIG_FILE=/dev/null:
    the servers pip asks are exactly the ones gpuready's reading names (and pip takes the best version)."""
    ix, log = indexes
    a, b, c = ix["a"], ix["b"], ix["c"]
    layouts = {
        # merged instead of replaced, c (3.0) would be used: from the global extras or the file's find-links
        "the user file replaces the global extras, PIP_FIND_LINKS the file's find-links": (
            {"sys/pip/pip.conf": f"[global]\nindex-url = {a.simple}\nextra-index-url = {c.simple}\n",
             "cfg/pip/pip.conf": f"[global]\nextra-index-url = {b.simple}\nfind-links = {c.links}\n"},
            {"PIP_FIND_LINKS": b.links}, "install"),
        "[download] is read by pip download only": ({"cfg/pip/pip.conf": f"[global]\nindex-url = {a.simple}\n[download]\nindex-url = {b.simple}\n"
                                                     f"[install]\nindex-url = {c.simple}\n"}, {}, "download"),
        "/dev/null: only the variables, no-index: find-links only": (
            {"cfg/pip/pip.conf": f"[global]\nfind-links = {c.links}\n"},
            {"PIP_CONFIG_FILE": os.devnull, "PIP_INDEX_URL": c.simple, "PIP_NO_INDEX": "yes", "PIP_FIND_LINKS": b.links}, "install"),
    }
    versions = {a.url: "1.0", b.url: "2.0", c.url: "3.0"}

    def run(item):
        name, (files, env_extra, command) = item
        root = tmp_path / name.replace(" ", "_").replace("/", "")
        write_files(root, files)
        (root / "venv").mkdir(parents=True, exist_ok=True)
        env = _net_env(root, **env_extra)
        s = read_pip_settings(env, command=command, prefix=sys.prefix)
        mine = ([] if s.no_index else [s.index_url, *s.extra_index_urls]) + list(s.find_links)
        return name, mine, _pip_install(env, root, command=command)

    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(run, layouts.items()))
    for name, mine, (rc, version, err) in results:
        assert rc == 0, f"{name}: {err[-800:]}"
        servers = {u.split("/simple")[0].split("/links")[0] for u in mine}
        want = max((versions[s] for s in servers), key=float)
        assert version == want, f"{name}: pip installed {version}, gpuready's reading ({mine}) says {want}"
    assert not any("pypi.org" in p for _, p in log)


@needs_uv
def test_uv_really_uses_what_gpuready_reads(indexes, tmp_path):
    """First-index: uv takes the package from the first index in gpuready's search order; unsafe-best-match
    from any. A plain-http mirror on another host is used by uv without any trust option."""
    ix, log = indexes
    a, b, c = ix["a"], ix["b"], ix["c"]
    layouts = {
        "extra index first (first-index)": {"cfg/uv/uv.toml": f'index-url = "{b.simple}"\nextra-index-url = ["{a.simple}"]\n'},
        "unsafe-best-match from the project file": {
            "cfg/uv/uv.toml": f'index-url = "{b.simple}"\nextra-index-url = ["{a.simple}"]\n',
            "proj/uv.toml": 'index-strategy = "unsafe-best-match"\n'},
        "UV_INDEX before the user's [[index]]": {"cfg/uv/uv.toml": f'[[index]]\nurl = "{a.simple}"\n[[index]]\nurl = "{b.simple}"\ndefault = true\n',
                                                 "@UV_INDEX": c.simple},
    }
    versions = {a.simple: "1.0", b.simple: "2.0", c.simple: "3.0"}
    for name, files in layouts.items():
        root = tmp_path / name.split()[0]
        extra = {k[1:]: v for k, v in files.items() if k.startswith("@")}
        write_files(root, {k: v for k, v in files.items() if not k.startswith("@")})
        (root / "proj").mkdir(parents=True, exist_ok=True)
        env = _net_env(root, **extra)
        s = read_uv_settings(env, cwd=root / "proj")
        order = [i.url for i in s.indexes] + [s.default_index]
        want = max((versions[u] for u in order), key=float) if s.index_strategy == "unsafe-best-match" else versions[order[0]]
        rc, version, err = _uv_install(env, root / "proj")
        assert rc == 0 and version == want, f"{name}: uv chose {version!r}, gpuready's reading ({order}, {s.index_strategy}) says {want}: {err[-600:]}"


def test_an_http_mirror_on_another_host_needs_trusted_host_in_pip_but_not_in_uv(indexes, tmp_path):
    ix, log = indexes
    if "lan" not in ix:
        pytest.skip("this machine has no non-loopback address to serve a 'remote' mirror on")
    lan, a = ix["lan"], ix["a"]
    from gpuready.indexconfig import trusted_host_args

    env = _net_env(tmp_path, PIP_CONFIG_FILE=os.devnull, UV_NO_CONFIG="1")
    args = ["--index-url", a.simple, "--extra-index-url", lan.simple]
    rc, version, err = _pip_install(env, tmp_path, *args)
    assert rc == 0 and version == "1.0" and "not a trusted or secure host" in err  # pip ignored the mirror
    hosts = trusted_host_args([a.simple, lan.simple])
    assert hosts == ["--trusted-host", lan.url.split("//")[1].split(":")[0]]  # loopback needs none
    rc, version, err = _pip_install(env, tmp_path, *args, *hosts)
    assert rc == 0 and version == "4.0", err[-600:]
    if _has_uv():
        rc, version, err = _uv_install(env, tmp_path, "--index-url", lan.simple)
        assert rc == 0 and version == "4.0", err[-600:]  # uv: no option needed
        rc, version, err = _uv_install(env, tmp_path, "--index-url", lan.simple, "--allow-insecure-host", hosts[1])
        assert rc == 0 and version == "4.0", err[-600:]  # ... and the translated pip option is accepted


@needs_uv
def test_uv_takes_a_requirements_file_with_trusted_host(tmp_path):
    """gpuready's requirements files carry `--trusted-host` for pip; uv warns that it ignores the line
    (it needs none for plain http) and goes on."""
    req = tmp_path / "req.txt"
    req.write_text(f"--no-index\n--find-links {tmp_path}\n--trusted-host mirror.lab.example\n")
    res = subprocess.run([PY, "-m", "uv", "pip", "compile", str(req), "--offline", "--no-header", "-q"],
                         env=base_env(tmp_path, UV_NO_CONFIG="1"), capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
