"""A project in: requirements files and pyproject.toml, planned the way pip and uv would install them.

People do not install one package, they have a `requirements.txt` (with `-r`/`-c` includes, an
`--index-url` for their mirror, markers, hashes) or a `pyproject.toml` (dependencies, extras,
PEP 735 dependency groups). gpuready plans the packages it knows (torch, tensorflow, jax, cupy,
onnxruntime, dlib, opencv, face_recognition, theano/pytensor, torchvision/torchaudio) and passes every
other requirement through to the installer as written, so `numpy>=1.26` keeps its specifier; the
whole set is then resolved once (gpuready.install.resolve) so a conflict shows before anything
changes.

Reading is elsewhere: `plan/projectinput.py` (what a project asks for, markers, command-line packages),
`plan/reqfile.py` (requirements files, as pip reads them), `plan/pyproject.py`. This module splits what
was read into the packages gpuready plans and those passed through, lays the files' index options over
the installer's, and makes the one Plan of both.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Mapping

from packaging.requirements import Requirement

from gpuready.machine import Machine
from gpuready.plan.projectinput import IndexOptions, ProjectInput, ProjectRequirement
from gpuready.plan.pyproject import read_pyproject
from gpuready.plan.reqfile import read_requirements

if TYPE_CHECKING:  # pragma: no cover
    from gpuready.plan.model import PackagePlan


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
    from gpuready.plan.solve import machine_lines, make_plan
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
    return Plan(cuda=None, cudnn=None, packages=passthrough, blocked=(), machine=tuple(machine_lines(target_from_machine(machine), idx)),
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
