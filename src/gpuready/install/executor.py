"""Which installer runs a plan's commands (uv or pip), and the exact argv it gets.

A plan speaks pip (`["pip", "install", "torch==2.9.1+cu128", "--index-url", URL]`). This module
turns that into what really runs against the *target* interpreter:

* pip: `TARGET -m pip install ... --retries 5 --timeout 60` (the target's own pip, so packages land
  in the target environment whatever pip is first on PATH);
* uv (much faster; used when `uv` is on PATH or importable as `python -m uv`):
  `uv pip install --python TARGET ...`, with pip-only options mapped or dropped, and the user's pip
  index settings (pip.conf, PIP_INDEX_URL, ...) passed explicitly, because uv does not read pip's
  configuration (https://docs.astral.sh/uv/pip/compatibility/) and a user behind a mirror would
  otherwise silently go to PyPI.

Offline installs, `--index-url` and `--mirror` are argv rewrites done here, once, for both tools.
"""

from __future__ import annotations

import os
import shlex
import sys
from dataclasses import dataclass, field
from typing import Mapping, Sequence

from gpuready.install import knowledge
from gpuready.proc import run, which

# pip install options that take a value (so the value is not mistaken for a requirement).
_PIP_VALUE_OPTS = {
    "-i", "--index-url", "--extra-index-url", "-f", "--find-links", "-c", "--constraint", "-r", "--requirement",
    "--no-binary", "--only-binary", "-C", "--config-settings", "--global-option", "--trusted-host", "--timeout",
    "--retries", "--progress-bar", "--cache-dir", "-t", "--target", "--prefix", "--root", "--platform",
    "--python-version", "--implementation", "--abi", "--upgrade-strategy", "--src", "-e", "--editable",
    "--report", "--log", "--proxy", "--cert", "--client-cert", "--exists-action", "--root-user-action",
    "--python", "--index-strategy", "--prerelease",
}

# pip -> uv: renamed options and flags.
_UV_RENAME = {
    "--force-reinstall": "--reinstall",
    "-I": "--reinstall",
    "--ignore-installed": "--reinstall",
    "--no-cache-dir": "--no-cache",
    "--compile": "--compile-bytecode",
    "--trusted-host": "--allow-insecure-host",
    "--config-settings": "--config-setting",
}
# pip-only options uv has no use for: dropped (with their value when they take one).
_UV_DROP_FLAGS = {
    "--no-warn-script-location", "--prefer-binary", "--no-compile", "--disable-pip-version-check", "--no-input",
    "--isolated", "--no-clean", "--use-pep517", "--no-use-pep517", "--no-python-version-warning",
}
_UV_DROP_VALUED = {"--timeout", "--retries", "--progress-bar", "--upgrade-strategy", "--root-user-action", "--exists-action", "--report", "--log"}


class ExecutorError(ValueError):
    """A plan command gpuready cannot run (not a pip install/uninstall), or no installer at all."""


@dataclass(frozen=True)
class NetOptions:
    """How the network is used: offline from a folder, another default index, a mirror, retries."""

    offline_dir: str | None = None  # install with --no-index --find-links DIR
    index_url: str | None = None  # replaces the default index (PyPI) where the plan names none
    mirror: str | None = None  # replaces a known GPU index's URL prefix (PyTorch's)
    find_links: tuple[str, ...] = ()  # extra local wheel folders (the wheel cache)
    retries: int = 0  # 0: the knowledge default
    timeout: int = 0


@dataclass(frozen=True)
class Command:
    """One program run: argv plus the environment variables it needs on top of ours."""

    argv: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=dict)

    def display(self) -> str:
        """The command as a user would type it in a POSIX shell (for --dry-run and the log)."""
        prefix = " ".join(f"{k}={shlex.quote(v)}" for k, v in sorted(self.env.items()))
        text = " ".join(shlex.quote(a) for a in self.argv)
        return f"{prefix} {text}" if prefix else text


@dataclass(frozen=True)
class Installer:
    kind: str  # "uv" or "pip"
    python: str  # the target interpreter
    uv: tuple[str, ...] = ()  # how to start uv: ("/usr/bin/uv",) or (sys.executable, "-m", "uv")
    version: str = ""  # of uv or of the target's pip
    pip_config: Mapping[str, str] = field(default_factory=dict)  # the user's pip settings (for uv)
    pip_raw_progress: bool = False  # the target's pip has --progress-bar raw

    @property
    def name(self) -> str:
        return f"{self.kind} {self.version}".strip()

    # --- commands -------------------------------------------------------------------------

    def install(self, args: Sequence[str], net: NetOptions = NetOptions()) -> Command:
        """`pip install ARGS` for the target, with the network options applied."""
        args = apply_network(list(args), net)
        if self.kind == "uv":
            return self._uv_install(args, net)
        retries = str(net.retries or knowledge.setting("pip_retries"))
        timeout = str(net.timeout or knowledge.setting("pip_timeout"))
        extra: list[str] = []
        if not _has_opt(args, "--retries"):
            extra += ["--retries", retries]
        if not _has_opt(args, "--timeout"):
            extra += ["--timeout", timeout]
        if self.pip_raw_progress and not _has_opt(args, "--progress-bar"):
            extra += ["--progress-bar", "raw"]
        argv = (self.python, "-m", "pip", "install", "--disable-pip-version-check", "--no-input", *extra, *args)
        return Command(argv, {"PYTHONUNBUFFERED": "1"})

    def uninstall(self, names: Sequence[str]) -> Command:
        if self.kind == "uv":
            return Command((*self.uv, "pip", "uninstall", "--python", self.python, *names))
        return Command((self.python, "-m", "pip", "uninstall", "--disable-pip-version-check", "-y", *names))

    def freeze(self) -> Command:
        if self.kind == "uv":
            return Command((*self.uv, "pip", "freeze", "--python", self.python))
        return Command((self.python, "-m", "pip", "freeze", "--all", "--disable-pip-version-check"))

    def _uv_install(self, args: list[str], net: NetOptions) -> Command:
        out: list[str] = []
        i = 0
        while i < len(args):
            a = args[i]
            opt, eq, val = a.partition("=") if a.startswith("--") else (a, "", "")
            takes_value = opt in _PIP_VALUE_OPTS
            value = val if eq else (args[i + 1] if takes_value and i + 1 < len(args) else None)
            step = 1 if (eq or not takes_value) else 2
            if opt in _UV_DROP_FLAGS:
                pass
            elif opt in _UV_DROP_VALUED:
                pass
            elif opt == "--pre":
                out += ["--prerelease", "allow"]
            elif opt in _UV_RENAME:
                out.append(_UV_RENAME[opt])
                if takes_value and value is not None:
                    out.append(value)
            else:
                out.append(opt if eq else a)
                if takes_value and value is not None:
                    out.append(value)
            i += step
        out = self._pip_config_for_uv(out, net) + out
        if _has_opt(out, "--extra-index-url") and not _has_opt(out, "--index-strategy"):
            # pip takes the best version across all indexes; uv by default stops at the first index
            # that has the package (https://docs.astral.sh/uv/pip/compatibility/). Keep pip's meaning.
            out += ["--index-strategy", "unsafe-best-match"]
        env = {
            "UV_HTTP_TIMEOUT": str(net.timeout or knowledge.setting("uv_http_timeout")),
            "UV_HTTP_RETRIES": str(net.retries or knowledge.setting("uv_http_retries")),
        }
        cert = self.pip_config.get("cert")
        if cert and "SSL_CERT_FILE" not in os.environ:
            env["SSL_CERT_FILE"] = cert
        return Command((*self.uv, "pip", "install", "--python", self.python, *out), env)

    def _pip_config_for_uv(self, args: list[str], net: NetOptions) -> list[str]:
        """The user's pip index settings as explicit uv options, where the command sets none itself."""
        if net.offline_dir or _uv_has_own_index_config():
            return []
        cfg = self.pip_config
        extra: list[str] = []
        if cfg.get("no-index", "").lower() in ("1", "true", "yes", "on") and not _has_opt(args, "--no-index"):
            extra.append("--no-index")
        if cfg.get("index-url") and not (_has_opt(args, "--index-url") or _has_opt(args, "-i") or _has_opt(args, "--default-index")):
            extra += ["--index-url", cfg["index-url"]]
        for url in cfg.get("extra-index-url", "").split():
            if url not in args:
                extra += ["--extra-index-url", url]
        for link in cfg.get("find-links", "").split():
            if link not in args:
                extra += ["--find-links", link]
        for host in cfg.get("trusted-host", "").split():
            extra += ["--allow-insecure-host", host]
        for c in cfg.get("constraint", "").split():
            if os.path.isfile(c):
                extra += ["--constraint", c]
        return extra


def _has_opt(args: Sequence[str], opt: str) -> bool:
    return any(a == opt or a.startswith(opt + "=") for a in args)


def _uv_has_own_index_config() -> bool:
    """True when uv's own settings (UV_* variables, the uv.toml/pyproject.toml files uv reads) say where
    packages come from: then uv's settings win, untouched (gpuready.indexconfig reads them as uv does)."""
    from gpuready.indexconfig.uvconfig import read_uv_settings

    return read_uv_settings().configured()


# --- argv rewrites shared by pip and uv --------------------------------------------------------


def split_pip_argv(argv: Sequence[str]) -> tuple[str, list[str]]:
    """("install", [args]) from a plan's argv: `pip install ...`, `python -m pip install ...`, `uv pip install ...`."""
    items = list(argv)
    if not items:
        raise ExecutorError("empty command in the plan")
    head = os.path.basename(items[0]).lower()
    if head.endswith(".exe"):
        head = head[:-4]
    if head in ("pip", "pip3") or head.startswith("pip3."):
        rest = items[1:]
    elif len(items) > 2 and items[1] == "-m" and items[2] == "pip":
        rest = items[3:]
    elif head == "uv" and len(items) > 1 and items[1] == "pip":
        rest = items[2:]
    else:
        raise ExecutorError(f"not a pip command: {' '.join(items)}")
    if not rest or rest[0] not in ("install", "uninstall"):
        raise ExecutorError(f"gpuready runs only `pip install` and `pip uninstall` from a plan, not: {' '.join(items)}")
    return rest[0], rest[1:]


def requirements_of(args: Sequence[str]) -> list[str]:
    """The positional arguments (requirements, wheel files) of pip install arguments."""
    out: list[str] = []
    i = 0
    while i < len(args):
        a = args[i]
        if a.startswith("-"):
            opt = a.split("=", 1)[0]
            i += 2 if (opt in _PIP_VALUE_OPTS and "=" not in a) else 1
            continue
        out.append(a)
        i += 1
    return out


def _strip_index_options(args: list[str]) -> list[str]:
    """Remove every index and find-links option: an offline install uses its folder only (a plan made
    elsewhere carries that machine's --find-links folders, which do not exist here; uv stops on them)."""
    out: list[str] = []
    i = 0
    while i < len(args):
        a = args[i]
        opt = a.split("=", 1)[0]
        if opt in ("-i", "--index-url", "--extra-index-url", "--default-index", "--index", "-f", "--find-links"):
            i += 1 if "=" in a else 2
            continue
        out.append(a)
        i += 1
    return out


def mirror_url(url: str, mirror: str | None) -> str:
    """`url` with a known GPU index prefix replaced by `mirror` (the path after the prefix kept)."""
    return _mirror_option("--index-url", url, mirror)[1]


def _mirror_option(opt: str, url: str, mirror: str | None) -> list[str]:
    """[opt, url] with the PyTorch index replaced by `mirror` (a find-links page mirror turns the option
    into --find-links), plus --trusted-host for a plain-http mirror; other known GPU indexes by prefix."""
    if not mirror:
        return [opt, url]
    from gpuready.indexconfig import pytorch, trusted_host_args

    if pytorch.is_official(url):
        torch = pytorch.from_setting(mirror, "--mirror")
        rest = url.rstrip("/").split("/whl", 1)[-1].strip("/")
        if rest.endswith(".html"):
            flag, new = torch.source("", "find-links")
        elif not rest:
            flag, new = opt, torch.source("{variant}")[1].replace("/{variant}", "")
        else:
            flag, new = torch.source(rest, "extra-index-url" if opt == "--extra-index-url" else "index-url")
        return [flag if flag == "--find-links" else opt, new, *trusted_host_args([new])]
    for idx in knowledge.indexes():
        if url.rstrip("/").startswith(idx.prefix):
            new = mirror.rstrip("/") + url.rstrip("/")[len(idx.prefix):]
            return [opt, new, *trusted_host_args([new])]
    return [opt, url]


def apply_network(args: list[str], net: NetOptions) -> list[str]:
    """Offline folder, default-index replacement, mirror and extra wheel folders, applied to pip args."""
    if net.offline_dir:
        args = _strip_index_options(args)
        args = ["--no-index", "--find-links", net.offline_dir, *args]
    else:
        out: list[str] = []
        i = 0
        while i < len(args):
            a = args[i]
            opt, eq, val = a.partition("=")
            if opt in ("-i", "--index-url", "--extra-index-url", "-f", "--find-links") and (eq or i + 1 < len(args)):
                url = val if eq else args[i + 1]
                out += _mirror_option(opt, url, net.mirror)
                i += 1 if eq else 2
                continue
            out.append(a)
            i += 1
        args = out
        if net.index_url and not (_has_opt(args, "--index-url") or _has_opt(args, "-i")):
            args = ["--index-url", net.index_url, *args]
    for link in net.find_links:
        if link not in args:
            args = ["--find-links", link, *args]
    return args


# --- finding an installer ----------------------------------------------------------------------


def find_uv() -> tuple[str, ...]:
    """How to start uv here: the `uv` on PATH, else `python -m uv` when the uv package is importable, else ()."""
    exe = which("uv")
    if exe:
        return (exe,)
    res = run([sys.executable, "-m", "uv", "--version"], timeout=20)
    if res.ok and res.stdout.startswith("uv"):
        return (sys.executable, "-m", "uv")
    return ()


def read_pip_config(python: str) -> dict[str, str]:
    """The user's effective pip settings for `pip install` in the target (files and PIP_* variables),
    in `pip config list` spelling, read by gpuready.indexconfig exactly as pip merges them (the
    target's sys.prefix/pip.conf counts: asked from the target, which takes ~20 ms, not pip's ~1 s)."""
    from gpuready.indexconfig.pipconfig import read_pip_settings

    res = run([python, "-c", "import sys; print(sys.prefix)"], timeout=30)
    prefix = res.stdout.strip() if res.ok and res.stdout.strip() else None
    return read_pip_settings(prefix=prefix).as_pip_config()


def parse_pip_config_list(text: str) -> dict[str, str]:
    ranked: dict[str, tuple[int, str]] = {}
    rank_of = {"global": 0, "install": 1, ":env:": 2}
    for line in text.splitlines():
        key, eq, value = line.partition("=")
        if not eq:
            continue
        section, _, name = key.strip().rpartition(".")
        rank = rank_of.get(section)
        if rank is None:
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        if name not in ranked or rank >= ranked[name][0]:
            ranked[name] = (rank, value)
    return {k: v for k, (_, v) in ranked.items()}


def pip_supports_raw_progress(python: str) -> bool:
    """pip >= 24.1 prints `Progress N of M` lines with --progress-bar raw: real download bars."""
    res = run([python, "-m", "pip", "install", "--help"], timeout=30)
    return res.ok and "raw" in res.stdout.split("--progress-bar", 1)[-1][:400]


def pip_version(python: str) -> str:
    res = run([python, "-m", "pip", "--version"], timeout=30)
    if res.ok and res.stdout.startswith("pip "):
        return res.stdout.split()[1]
    return ""


def find_installer(python: str, prefer: str = "auto", *, pip_version_hint: str = "") -> Installer:
    """uv when available (and not refused with prefer="pip"), else the target's pip.

    `pip_version_hint` (from the target's metadata) saves starting pip once just to ask.
    Raises ExecutorError when neither can install into `python`.
    """
    if prefer not in ("auto", "uv", "pip"):
        raise ExecutorError(f"unknown installer {prefer!r} (choose auto, uv or pip)")
    uv = find_uv() if prefer in ("auto", "uv") else ()
    if uv:
        res = run([*uv, "--version"], timeout=20)
        version = res.stdout.split()[1] if res.ok and len(res.stdout.split()) > 1 else ""
        return Installer("uv", python, uv=uv, version=version, pip_config=read_pip_config(python))
    if prefer == "uv":
        raise ExecutorError("uv was asked for (--installer uv) but is neither on PATH nor importable (`pip install uv`)")
    version = pip_version_hint or pip_version(python)
    if not version:
        raise ExecutorError(
            f"{python} has no pip and uv is not installed: run `{python} -m ensurepip` or install uv"
        )
    return Installer("pip", python, version=version, pip_raw_progress=pip_supports_raw_progress(python))


def venv_command(path: str, base_python: str, installer: Installer | None = None) -> Command:
    """Create a virtual environment at `path` (uv venv --seed when uv is there: seconds instead of ~5 s)."""
    if installer is not None and installer.kind == "uv":
        return Command((*installer.uv, "venv", "--seed", "--python", base_python, path))
    return Command((base_python, "-m", "venv", path))
