"""A project in: requirements files and pyproject.toml, read the way pip and uv read them.

People do not install one package, they have a `requirements.txt` (with `-r`/`-c` includes, an
`--index-url` for their mirror, markers, hashes) or a `pyproject.toml` (dependencies, extras,
PEP 735 dependency groups). gpuready plans the packages it knows (torch, tensorflow, jax, cupy,
onnxruntime, dlib, opencv, face_recognition, theano/pytensor, torchvision/torchaudio) and passes every
other requirement through to the installer as written, so `numpy>=1.26` keeps its specifier; the
whole set is then resolved once (gpuready.install.resolve) so a conflict shows before anything
changes.

Rules, each as pip applies them (pip/_internal/req/req_file.py):
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

import difflib
import os
import re
import shlex
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterable, Mapping

from packaging.markers import Marker, UndefinedComparison, UndefinedEnvironmentName
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from gpuready.machine import Machine

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


class ProjectError(ValueError):
    """A requirements file or pyproject.toml that cannot be read (exit 2)."""


@dataclass(frozen=True)
class ProjectRequirement:
    """One requirement as the user wrote it (marker already evaluated for the target)."""

    requirement: str  # PEP 508 text without the marker: "numpy>=1.26", "pkg @ https://...", or a path for -e
    name: str  # canonical project name ("" for a bare path or URL)
    origin: str  # "requirements.txt:3", "pyproject.toml [project] dependencies"
    hashes: tuple[str, ...] = ()  # "sha256:..." from --hash options
    editable: bool = False

    @property
    def direct(self) -> bool:
        """A URL, a path or an editable: it names one artifact, nothing to plan."""
        return self.editable or not self.name or "@" in self.requirement.split(";")[0]

    @property
    def exact_version(self) -> str | None:
        try:
            spec = list(Requirement(self.requirement).specifier) if self.name and not self.direct else []
        except InvalidRequirement:
            return None
        if len(spec) == 1 and spec[0].operator in ("==", "===") and "*" not in spec[0].version:
            return spec[0].version
        return None


@dataclass(frozen=True)
class IndexOptions:
    """Index options found in requirements files, in pip's terms, to lay over the installer's settings."""

    index_url: str = ""  # the last --index-url ("" when none)
    replaces: bool = False  # an --index-url was given: it replaces the installer's index and extras named before it
    extra_index_urls: tuple[str, ...] = ()  # the extras still in force
    find_links: tuple[str, ...] = ()
    trusted_hosts: tuple[str, ...] = ()
    no_index: bool = False
    origins: tuple[str, ...] = ()  # "--index-url http://mirror/simple (requirements.txt:1)"

    @property
    def any(self) -> bool:
        return bool(self.index_url or self.extra_index_urls or self.find_links or self.trusted_hosts or self.no_index)


@dataclass(frozen=True)
class ProjectInput:
    requirements: tuple[ProjectRequirement, ...] = ()
    constraints: tuple[ProjectRequirement, ...] = ()
    index: IndexOptions = IndexOptions()
    sources: tuple[str, ...] = ()  # the files read, in order
    skipped: tuple[str, ...] = ()  # requirements whose marker is false on the target
    notes: tuple[str, ...] = ()
    requires_python: str = ""  # [project] requires-python of a pyproject

    def merged(self, other: "ProjectInput") -> "ProjectInput":
        return ProjectInput(
            self.requirements + other.requirements, self.constraints + other.constraints,
            _merge_index(self.index, other.index), self.sources + other.sources, self.skipped + other.skipped,
            self.notes + other.notes, other.requires_python or self.requires_python)


def _merge_index(a: IndexOptions, b: IndexOptions) -> IndexOptions:
    if b.replaces:
        index_url, replaces, extras = b.index_url, True, b.extra_index_urls
    else:
        index_url, replaces, extras = a.index_url, a.replaces, a.extra_index_urls + b.extra_index_urls
    return IndexOptions(index_url, replaces, tuple(dict.fromkeys(extras)), tuple(dict.fromkeys(a.find_links + b.find_links)),
                        tuple(dict.fromkeys(a.trusted_hosts + b.trusted_hosts)), a.no_index or b.no_index, a.origins + b.origins)


# --- the target's marker environment -------------------------------------------------------------


def marker_environment(machine: Machine) -> dict[str, str]:
    """PEP 508 marker variables of the machine's Python (the target, which need not be this one)."""
    system = machine.os.system or {"win32": "windows", "darwin": "macos"}.get(sys.platform, "linux")
    sys_platform = {"linux": "linux", "windows": "win32", "macos": "darwin"}.get(system, system)
    arch = machine.os.arch or "x86_64"
    if system == "windows":
        platform_machine = {"x86_64": "AMD64", "aarch64": "ARM64", "arm64": "ARM64"}.get(arch, arch)
    elif system == "macos":
        platform_machine = "arm64" if arch in ("arm64", "aarch64") else arch
    else:
        platform_machine = arch
    version = machine.python.version or "%d.%d.%d" % sys.version_info[:3]
    impl = machine.python.implementation or "cpython"
    return {
        "python_version": ".".join(version.split(".")[:2]),
        "python_full_version": version,
        "implementation_name": impl,
        "implementation_version": version,
        "platform_python_implementation": {"cpython": "CPython", "pypy": "PyPy"}.get(impl, impl),
        "sys_platform": sys_platform,
        "platform_system": {"linux": "Linux", "windows": "Windows", "macos": "Darwin"}.get(system, system),
        "platform_machine": platform_machine,
        "platform_release": machine.os.release,
        "platform_version": "",
        "os_name": "nt" if system == "windows" else "posix",
        "extra": "",
    }


def _marker_true(marker: Marker | None, env: Mapping[str, str], where: str) -> bool:
    if marker is None:
        return True
    try:
        return marker.evaluate(dict(env))
    except (UndefinedComparison, UndefinedEnvironmentName) as exc:
        raise ProjectError(f"{where}: cannot evaluate the marker {marker} ({exc})") from None


def _parse_requirement(text: str, env: Mapping[str, str], where: str, *, hashes: tuple[str, ...] = ()) -> ProjectRequirement | str:
    """A ProjectRequirement, or the text of a requirement skipped by its marker."""
    try:
        req = Requirement(text)
    except InvalidRequirement as exc:
        raise ProjectError(f"{where}: {text!r} is not a package requirement ({str(exc).splitlines()[0]})") from None
    if not _marker_true(req.marker, env, where):
        return f"{text} ({where}: marker false for the target)"
    req.marker = None
    return ProjectRequirement(str(req), canonicalize_name(req.name), where, hashes)


def _bare_artifact(text: str) -> bool:
    """A path or URL pip accepts in place of a requirement (./pkg, dist/x.whl, https://.../x.tar.gz)."""
    t = text.strip()
    if re.match(r"^[A-Za-z0-9][A-Za-z0-9._-]*\s*(\[[^\]]*\])?\s*@", t):  # "name @ URL": a PEP 508 requirement
        return False
    return bool(re.match(r"^(\.{0,2}/|~|[A-Za-z]:[\\/]|[a-z+]+://)", t)) or t.endswith((".whl", ".tar.gz", ".zip"))


# --- requirements files --------------------------------------------------------------------------


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
                idx = _merge_index(idx, sub.index)
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
        if _bare_artifact(req_text):
            target = req_text if "://" in req_text or os.path.isabs(req_text) else str((p.parent / req_text).resolve())
            item: ProjectRequirement | str = ProjectRequirement(target, "", where, hashes)
        else:
            item = _parse_requirement(req_text, env, where, hashes=hashes)
        if isinstance(item, str):
            skipped.append(item)
        elif constraint:
            cons.append(item)
        else:
            reqs.append(item)
    return ProjectInput(tuple(reqs), tuple(cons), idx, tuple(dict.fromkeys(sources)), tuple(skipped), tuple(notes))


# --- pyproject.toml ------------------------------------------------------------------------------


def _toml(path: Path) -> dict:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ProjectError(f"{path.parent}: no pyproject.toml in it") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ProjectError(f"{path}: cannot read ({getattr(exc, 'strerror', None) or exc})") from None
    except ValueError as exc:
        raise ProjectError(f"{path}: not valid TOML ({exc})") from None


def _string_list(value, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ProjectError(f"{where}: expected a list of requirement strings")
    return value


def read_pyproject(folder: str | Path, env: Mapping[str, str], *, extras: Iterable[str] = (), groups: Iterable[str] = ()) -> ProjectInput:
    """[project] dependencies, the optional-dependencies of `extras`, and the PEP 735 `groups`."""
    folder = Path(folder)
    path = folder / "pyproject.toml" if folder.is_dir() or not folder.name.endswith(".toml") else folder
    data = _toml(path)
    project = data.get("project") if isinstance(data.get("project"), dict) else None
    name = canonicalize_name(str(project.get("name", ""))) if project else ""
    fname = path.name
    texts: list[tuple[str, str]] = []
    notes: list[str] = []
    extras = [canonicalize_name(e) for e in extras]
    groups = list(groups)
    if project is None and not groups:
        raise ProjectError(f"{path}: no [project] table (and no --group asked for): nothing to plan")
    if project is not None:
        dynamic = project.get("dynamic") or []
        if "dependencies" in dynamic:
            raise ProjectError(f"{path}: its dependencies are dynamic (computed by the build backend): gpuready cannot read "
                               "them; give them as -r requirements.txt")
        texts += [(t, f"{fname} [project] dependencies") for t in _string_list(project.get("dependencies", []), f"{path} [project] dependencies")]
        optional = project.get("optional-dependencies") or {}
        if not isinstance(optional, dict):
            raise ProjectError(f"{path}: [project.optional-dependencies] must be a table")
        known = {canonicalize_name(k): k for k in optional}
        todo, done = list(extras), set()
        while todo:
            extra = todo.pop(0)
            if extra in done:
                continue
            done.add(extra)
            if extra not in known:
                have = ", ".join(sorted(optional)) or "none"
                raise ProjectError(f"{path}: no optional-dependencies group {extra!r} (it has: {have})")
            for t in _string_list(optional[known[extra]], f"{path} optional-dependencies.{known[extra]}"):
                try:
                    r = Requirement(t)
                except InvalidRequirement as exc:
                    raise ProjectError(f"{path} optional-dependencies.{known[extra]}: {t!r} is not a package requirement ({exc})") from None
                if name and canonicalize_name(r.name) == name:  # mypkg[gpu] inside mypkg's own extras
                    todo += [canonicalize_name(e) for e in r.extras]
                    continue
                texts.append((t, f"{fname} [project.optional-dependencies] {known[extra]}"))
    elif extras:
        raise ProjectError(f"{path}: --extra needs a [project] table with optional-dependencies")
    if groups:
        table = data.get("dependency-groups")
        if not isinstance(table, dict):
            raise ProjectError(f"{path}: no [dependency-groups] table (PEP 735) for --group {', '.join(groups)}")
        from packaging.dependency_groups import resolve_dependency_groups

        for group in groups:
            try:
                resolved = resolve_dependency_groups(table, group)
            except Exception as exc:  # LookupError, ValueError, CyclicDependencyGroup, or an ExceptionGroup of them
                why = "; ".join(str(e) for e in getattr(exc, "exceptions", ())) or str(exc)
                have = ", ".join(sorted(table)) or "none"
                raise ProjectError(f"{path} [dependency-groups]: {why} (groups: {have})") from None
            texts += [(t, f"{fname} [dependency-groups] {group}") for t in resolved]
    reqs: list[ProjectRequirement] = []
    skipped: list[str] = []
    for text, where in texts:
        item = _parse_requirement(text, env, where)
        if isinstance(item, str):
            skipped.append(item)
        elif name and item.name == name:
            notes.append(f"{where}: {item.requirement} is the project itself: not planned")
        else:
            reqs.append(item)
    requires_python = str(project.get("requires-python", "")) if project else ""
    if requires_python:
        from packaging.specifiers import InvalidSpecifier, SpecifierSet

        try:
            if env.get("python_full_version") and not SpecifierSet(requires_python).contains(env["python_full_version"], prereleases=True):
                raise ProjectError(f"{path}: requires-python {requires_python}, the target has Python {env['python_full_version']}")
        except InvalidSpecifier:
            notes.append(f"{path}: requires-python {requires_python!r} is not a valid specifier (ignored)")
    if project is not None:
        notes.append(f"the project itself ({project.get('name', folder.name)}) is not installed: after its dependencies, "
                     f"`pip install --no-deps -e {folder}`")
    return ProjectInput(tuple(reqs), (), IndexOptions(), (str(path),), tuple(skipped), tuple(notes), requires_python)


def from_arguments(texts: Iterable[str], env: Mapping[str, str]) -> ProjectInput:
    """Packages typed on the command line (`torch>=2.4 "numpy<2"`), as requirements."""
    reqs: list[ProjectRequirement] = []
    skipped: list[str] = []
    for i, text in enumerate(texts, 1):
        t = text.strip()
        if not t:
            raise ProjectError("empty package name")
        if _bare_artifact(t):
            reqs.append(ProjectRequirement(t, "", f"argument {i}"))
            continue
        item = _parse_requirement(t, env, f"argument {i}")
        if isinstance(item, str):
            skipped.append(item)
        else:
            reqs.append(replace(item, requirement=t if ";" not in t else item.requirement))
    return ProjectInput(tuple(reqs), skipped=tuple(skipped))


# --- GPU packages and the rest -------------------------------------------------------------------


@dataclass(frozen=True)
class Split:
    gpu: tuple[ProjectRequirement, ...]  # planned by gpuready
    passthrough: tuple[ProjectRequirement, ...]  # given to the installer as written
    notes: tuple[str, ...] = field(default_factory=tuple)


def split(inp: ProjectInput) -> Split:
    """Which requirements gpuready plans (it knows them) and which pass through."""
    from gpuready.plan.requests import ALIASES, RequestError, parse_request

    gpu: list[ProjectRequirement] = []
    rest: list[ProjectRequirement] = []
    notes: list[str] = []
    for r in inp.requirements:
        if r.direct:
            if r.name:
                try:
                    parse_request(r.name)
                    notes.append(f"{r.requirement} ({r.origin}) names one artifact: gpuready does not plan it, the installer takes it as given")
                except RequestError:
                    pass
            rest.append(r)
            continue
        try:
            parse_request(r.requirement)
        except RequestError:
            rest.append(r)
            family = any(r.name.startswith(a.replace("_", "-") + "-") for a in ALIASES)  # tensorflow-hub, face-recognition-models
            close = [] if family else [a for a in difflib.get_close_matches(r.name, list(ALIASES), n=1, cutoff=0.8)
                                       if abs(len(a) - len(r.name)) <= 2]
            if close:  # a typo of a GPU package would otherwise pass through silently
                notes.append(f"{r.name} is not a package gpuready plans (it passes through as written): did you mean {close[0]}?")
            continue
        if r.hashes:
            notes.append(f"{r.requirement} ({r.origin}): gpuready plans its build, so your --hash values for it are replaced "
                         "by those of the planned files (see the lock)")
        gpu.append(r)
    return Split(tuple(gpu), tuple(rest), tuple(notes))


def apply_index_options(idx, opts: IndexOptions, *, origin: str = "requirements file"):
    """The installer's IndexConfig with a requirements file's index options laid over it, as pip does."""
    import dataclasses

    from gpuready.indexconfig import pytorch

    if not opts.any:
        return idx
    index_url, index_origin, extras = idx.index_url, idx.origin, list(idx.extra_index_urls)
    if opts.no_index:
        extras = []
    if opts.replaces and not opts.no_index:
        index_url, index_origin, extras = opts.index_url, origin, []
    notes = list(idx.notes)
    torch = idx.torch
    kept: list[str] = []
    for url in (*extras, *opts.extra_index_urls):
        if pytorch.is_official(url):
            notes.append(f"the {origin} names the PyTorch index {url}: gpuready picks the torch build for this machine itself "
                         "(the variant in the plan)")
            continue
        mirror = pytorch.recognise(url, origin, find_links=False)
        if mirror is not None and torch.is_default:
            torch = mirror
            continue
        kept.append(url)
    links = list(idx.find_links)
    for url in opts.find_links:
        mirror = pytorch.recognise(url, origin, find_links=True)
        if mirror is not None and torch.is_default:
            torch = mirror
            continue
        links.append(url)
    return dataclasses.replace(
        idx, index_url=index_url, origin=index_origin, extra_index_urls=tuple(dict.fromkeys(kept)),
        find_links=tuple(dict.fromkeys(links)), trusted_hosts=tuple(dict.fromkeys((*idx.trusted_hosts, *opts.trusted_hosts))),
        no_index=idx.no_index or opts.no_index, pytorch_base=torch.base, pytorch_origin=torch.origin, pytorch_style=torch.style,
        notes=tuple(notes))


# --- the plan of a project -----------------------------------------------------------------------


def index_config_for(machine: Machine, inp: ProjectInput, *, index_url: str | None = None, mirror: str | None = None):
    """The index configuration a project's plan uses: the installer's settings, the files' options over them,
    then the command-line flags over both (a flag is the user's last word)."""
    import dataclasses

    from gpuready.indexconfig import configured_torch_mirror, portable, read_index_config
    from gpuready.plan.solve import is_this_machine

    here = is_this_machine(machine)
    idx = read_index_config(prefix=(machine.python.prefix or None) if here else None)
    if not here:
        idx = portable(idx)
    idx = apply_index_options(idx, inp.index, origin=", ".join(Path(s).name for s in inp.sources) or "requirements file")
    if index_url:
        idx = dataclasses.replace(idx, index_url=index_url, origin="--index-url")
    if mirror:
        torch = configured_torch_mirror(mirror=mirror)
        idx = dataclasses.replace(idx, pytorch_base=torch.base, pytorch_origin=torch.origin, pytorch_style=torch.style)
    return idx


def passthrough_plan(r: ProjectRequirement, idx) -> "PackagePlan":
    """A requirement gpuready does not plan: installed as written, from the user's indexes."""
    from gpuready.plan.installs import user_index_args, with_trusted_hosts
    from gpuready.plan.model import PackagePlan

    argv = ["pip", "install", *(["-e", r.requirement] if r.editable else [r.requirement]), *user_index_args(idx, primary=True)]
    what = "an editable project" if r.editable else "a direct URL or path" if r.direct else "not a GPU package gpuready plans"
    return PackagePlan(
        name=r.name or r.requirement, version=r.exact_version, variant="passthrough", gpu=False,
        install=tuple(with_trusted_hosts(argv, idx)),
        reasons=(f"{what}: passed to the installer as written ({r.origin})",),
        dist=r.name, label=("-e " if r.editable else "") + r.requirement, requested=True, source=r.origin)


def plan_project(machine: Machine, inp: ProjectInput, *, index_url: str | None = None, mirror: str | None = None):
    """Plan the GPU packages of a project, pass the others through; one Plan for both."""
    import dataclasses

    from gpuready.plan.model import Plan
    from gpuready.plan.solve import _machine_lines, make_plan
    from gpuready.plan.target import target_from_machine

    parts = split(inp)
    idx = index_config_for(machine, inp, index_url=index_url, mirror=mirror)
    notes = list(parts.notes) + list(inp.notes)
    if inp.skipped:
        notes.append("skipped (marker false on the target): " + "; ".join(inp.skipped))
    if parts.passthrough:
        notes.append("passed through to the installer (not GPU packages gpuready plans): "
                     + ", ".join(("-e " if r.editable else "") + r.requirement for r in parts.passthrough))
    if inp.constraints:
        notes.append("constraints: " + ", ".join(c.requirement for c in inp.constraints))
    passthrough = tuple(passthrough_plan(r, idx) for r in _dedupe(parts.passthrough))
    if parts.gpu:
        plan = make_plan(machine, [r.requirement for r in parts.gpu], index_config=idx)
        return dataclasses.replace(plan, packages=plan.packages + passthrough, notes=plan.notes + tuple(notes))
    return Plan(cuda=None, cudnn=None, packages=passthrough, blocked=(), machine=tuple(_machine_lines(target_from_machine(machine), idx)),
                notes=tuple(notes) + idx.notes, index=idx.to_dict())


def _dedupe(reqs: Iterable[ProjectRequirement]) -> list[ProjectRequirement]:
    """One plan package per project name; the specifiers of repeats are joined (`numpy>=1.26` and `numpy<2`)."""
    out: dict[str, ProjectRequirement] = {}
    for r in reqs:
        key = r.name or r.requirement
        if key in out and r.name and not r.direct and not out[key].direct:
            a, b = Requirement(out[key].requirement), Requirement(r.requirement)
            a.specifier &= b.specifier
            a.extras |= b.extras
            out[key] = replace(out[key], requirement=str(a), origin=f"{out[key].origin}, {r.origin}", hashes=out[key].hashes + r.hashes)
        else:
            out.setdefault(key, r)
    return list(out.values())


def read_project_input_files(env: Mapping[str, str], requirement_files: Iterable = (), constraint_files: Iterable = (),
                             project_dir=None, extras: Iterable[str] = (), groups: Iterable[str] = ()) -> ProjectInput:
    """-r files, -c files and a --project pyproject, merged in that order."""
    inp = ProjectInput()
    for f in requirement_files:
        inp = inp.merged(read_requirements(f, env))
    for f in constraint_files:
        inp = inp.merged(read_requirements(f, env, constraint=True))
    if project_dir is not None:
        inp = inp.merged(read_pyproject(project_dir, env, extras=extras, groups=groups))
    return inp


def is_plain(inp: ProjectInput) -> bool:
    """Only packages gpuready plans, typed on the command line: the plan needs no project handling."""
    return not inp.sources and not inp.constraints and not inp.skipped and not inp.index.any and not split(inp).passthrough


def with_versions(plan, versions: Mapping[str, str]):
    """The plan with the resolver's version on each passed-through package that named none."""
    import dataclasses

    pkgs = tuple(dataclasses.replace(p, version=versions.get(p.name) or p.version)
                 if p.variant == "passthrough" and not p.version and p.name in versions else p for p in plan.packages)
    return dataclasses.replace(plan, packages=pkgs)


def user_hashes(inp: ProjectInput) -> dict[str, tuple[str, ...]]:
    """{project: hashes} the user's files pin (`--hash=sha256:...`) for the packages passed through."""
    out: dict[str, tuple[str, ...]] = {}
    for r in split(inp).passthrough:
        if r.name and r.hashes:
            out[r.name] = out.get(r.name, ()) + r.hashes
    return out
