"""Requirements files, read the way pip reads them (pip/_internal/req/req_file.py).

Rules, each as pip applies them:
- a line ending in a backslash continues on the next; `#` starts a comment at the line's start or
  after whitespace; `${VAR}` is replaced from the environment;
- `-r FILE` / `-c FILE` are relative to the file that names them;
- `--index-url` replaces the index *and every extra index named before it*; `--extra-index-url`,
  `-f/--find-links` (a relative folder is taken relative to the file when it exists there) and
  `--trusted-host` add; `--no-index` drops the indexes;
- markers are evaluated for the target machine (not the one gpuready runs on): a line whose marker
  is false there is skipped, and said so.
"""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import replace
from pathlib import Path
from typing import Iterable, Mapping

from gpuready.plan.projectinput import (
    IndexOptions, ProjectError, ProjectInput, ProjectRequirement, bare_artifact, merge_index, parse_requirement,
)

_ENV_VAR = re.compile(r"\$\{([A-Z0-9_]+)\}")
_COMMENT = re.compile(r"(^|\s+)#.*$")
# options that take a value, long and short, as pip spells them in requirements files
_VALUED = {
    "-r": "requirement", "--requirement": "requirement", "-c": "constraint", "--constraint": "constraint",
    "-e": "editable", "--editable": "editable", "-i": "index_url", "--index-url": "index_url",
    "--extra-index-url": "extra_index_url", "-f": "find_links", "--find-links": "find_links",
    "--trusted-host": "trusted_host", "--hash": "hash", "--no-binary": "ignored", "--only-binary": "ignored",
    "--config-settings": "ignored", "-C": "ignored", "--global-option": "ignored", "--use-feature": "ignored",
}
_FLAGS = {"--no-index": "no_index", "--pre": "ignored", "--prefer-binary": "ignored", "--require-hashes": "ignored"}


def _logical_lines(text: str) -> Iterable[tuple[int, str]]:
    """(first line number, joined line) with continuations joined and comments removed, as pip does."""
    buf: list[str] = []
    start = 0
    for no, line in enumerate(text.splitlines(), 1):
        if not buf:
            start = no
        if line.endswith("\\") and not _COMMENT.search(line[:-1]):
            buf.append(line[:-1])
            continue
        buf.append(line)
        joined = _COMMENT.sub("", " ".join(buf) if len(buf) > 1 else buf[0]).strip()
        buf = []
        if joined:
            yield start, joined
    if buf:
        joined = _COMMENT.sub("", " ".join(buf)).strip()
        if joined:
            yield start, joined


def _expand(line: str, env: Mapping[str, str]) -> str:
    return _ENV_VAR.sub(lambda m: env.get(m.group(1), m.group(0)), line)


def _split_line(line: str, where: str) -> tuple[str, list[tuple[str, str]]]:
    """(requirement text, [(option, value)]) the way pip splits a line: the requirement ends at the first option."""
    tokens = line.split(" ")
    req_parts: list[str] = []
    rest: list[str] = []
    for i, tok in enumerate(tokens):
        if tok.startswith("-"):
            rest = tokens[i:]
            break
        req_parts.append(tok)
    try:
        words = shlex.split(" ".join(rest), posix=True)
    except ValueError as exc:
        raise ProjectError(f"{where}: cannot read the options ({exc})") from None
    opts: list[tuple[str, str]] = []
    i = 0
    while i < len(words):
        w = words[i]
        name, eq, value = w.partition("=")
        if w.startswith("--") and eq and name in _VALUED:
            opts.append((_VALUED[name], value))
        elif name in _VALUED and not eq:
            if i + 1 >= len(words):
                raise ProjectError(f"{where}: {w} needs a value")
            opts.append((_VALUED[name], words[i + 1]))
            i += 1
        elif len(w) > 2 and w[:2] in _VALUED and not w.startswith("--"):  # -rfile, -ihttp://...
            opts.append((_VALUED[w[:2]], w[2:]))
        elif w in _FLAGS:
            opts.append((_FLAGS[w], ""))
        else:
            raise ProjectError(f"{where}: unknown option {w!r} (gpuready reads the options pip reads in requirements files)")
        i += 1
    return " ".join(req_parts).strip(), opts


def read_requirements(path: str | Path, env: Mapping[str, str], *, constraint: bool = False,
                      environ: Mapping[str, str] | None = None, _stack: tuple[str, ...] = ()) -> ProjectInput:
    """Read a requirements (or constraints) file and everything it includes."""
    environ = os.environ if environ is None else environ
    p = Path(path)
    if str(path).startswith(("http://", "https://")):
        raise ProjectError(f"{path}: requirements files from URLs are not read by gpuready; download it first")
    key = str(p.resolve())
    if key in _stack:
        raise ProjectError(f"{path}: includes itself (through {' -> '.join(Path(s).name for s in _stack)})")
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProjectError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ProjectError(f"{path}: cannot read ({getattr(exc, 'strerror', None) or exc})") from None
    reqs: list[ProjectRequirement] = []
    cons: list[ProjectRequirement] = []
    skipped: list[str] = []
    notes: list[str] = []
    sources: list[str] = [str(p)]
    idx = IndexOptions()  # a running state: an included file's --index-url replaces what came before it, as in pip
    for no, raw in _logical_lines(text):
        where = f"{p.name}:{no}"
        line = _expand(raw, environ)
        req_text, opts = _split_line(line, where)
        hashes = tuple(v for k, v in opts if k == "hash")
        for k, v in opts:
            if k in ("requirement", "constraint"):
                inc = v if os.path.isabs(v) else str(p.parent / v)
                sub = read_requirements(inc, env, constraint=constraint or k == "constraint", environ=environ, _stack=(*_stack, key))
                reqs += sub.requirements
                cons += sub.constraints
                skipped += sub.skipped
                notes += sub.notes
                sources += sub.sources
                idx = merge_index(idx, sub.index)
            elif k == "editable":
                target = v if "://" in v or os.path.isabs(v) else str((p.parent / v).resolve())
                reqs.append(ProjectRequirement(target, "", where, (), editable=True))
            elif k == "index_url":
                idx = IndexOptions(v, True, (), idx.find_links, idx.trusted_hosts, idx.no_index, idx.origins + (f"--index-url {v} ({where})",))
            elif k == "extra_index_url":
                idx = replace(idx, extra_index_urls=idx.extra_index_urls + (v,), origins=idx.origins + (f"--extra-index-url {v} ({where})",))
            elif k == "find_links":  # relative to the file when it exists there (pip: os.path.join(dirname(abspath(file)), v))
                local = os.path.join(os.path.dirname(os.path.abspath(p)), v)
                value = local if os.path.exists(local) else v
                idx = replace(idx, find_links=idx.find_links + (value,), origins=idx.origins + (f"--find-links {value} ({where})",))
            elif k == "trusted_host":
                idx = replace(idx, trusted_hosts=idx.trusted_hosts + (v,))
            elif k == "no_index":
                idx = replace(idx, no_index=True, origins=idx.origins + (f"--no-index ({where})",))
        if not req_text:
            if hashes:
                raise ProjectError(f"{where}: --hash without a requirement")
            continue
        if bare_artifact(req_text):
            target = req_text if "://" in req_text or os.path.isabs(req_text) else str((p.parent / req_text).resolve())
            item: ProjectRequirement | str = ProjectRequirement(target, "", where, hashes)
        else:
            item = parse_requirement(req_text, env, where, hashes=hashes)
        if isinstance(item, str):
            skipped.append(item)
        elif constraint:
            cons.append(item)
        else:
            reqs.append(item)
    return ProjectInput(tuple(reqs), tuple(cons), idx, tuple(dict.fromkeys(sources)), tuple(skipped), tuple(notes))
