"""Plan -> text: the terminal view (rich), a requirements file, a shell script.

A requirements file can name one --index-url and any number of --extra-index-url/--find-links, so
the user's own index stays primary and the PyTorch index is an extra one; torch pins carry their
local tag (+cu126) so pip cannot take PyPI's build of the same version by mistake. What a
requirements file cannot say (a source build, --no-deps, an uninstall) is written as a comment.

Both files are built line by line from tokens: text from a machine file (its description, a GPU name)
only ever lands inside a comment, on one line with its control characters escaped (textsafe.one_line),
so it cannot add a command to the script or an option to the requirements file; commands are
shlex-quoted.
"""

from __future__ import annotations

import shlex

from gpuready.plan.model import PackagePlan, Plan
from gpuready.textsafe import one_line

PIP = ("pip", "install")


def _header(plan: Plan) -> list[str]:
    lines = ["gpuready plan: " + (f"CUDA {plan.cuda}" if plan.cuda else "no CUDA") + (f", cuDNN {plan.cudnn}" if plan.cudnn else "")]
    lines += list(plan.machine)
    return lines


def _index_options(p: PackagePlan) -> tuple[list[str], list[str]]:
    """Split a package's argv into (requirements, options)."""
    reqs: list[str] = []
    opts: list[str] = []
    args = list(p.install[2:]) if tuple(p.install[:2]) == PIP else []
    i = 0
    while i < len(args):
        a = args[i]
        if a in ("--index-url", "--extra-index-url", "--find-links", "--trusted-host") and i + 1 < len(args):
            opts += [a, args[i + 1]]
            i += 2
            continue
        if a in ("-e", "--editable") and i + 1 < len(args):  # a project passed through: "-e PATH" is one requirement line
            reqs.append(f"-e {args[i + 1]}")
            i += 2
            continue
        if a.startswith("-"):
            opts.append(a)
        else:
            reqs.append(a)
        i += 1
    return reqs, opts


def _comment(text: str) -> str:
    return "# " + one_line(text)


def _safe_lines(lines: list[str]) -> str:
    """The file's text: every line one line (a stray newline in a value is escaped, not obeyed)."""
    return "\n".join(one_line(line) for line in lines) + "\n"


def requirements_text(plan: Plan) -> str:
    lines = [_comment(line) for line in _header(plan)]
    primary = ""
    extras: list[str] = []
    finds: list[str] = []
    hosts: list[str] = []
    no_index = False
    body: list[str] = []
    torch_base = str(plan.index.get("pytorch_index") or "https://download.pytorch.org/whl").split("{", 1)[0].rstrip("/")
    for p in plan.packages:
        if not p.install:
            body.append(_comment(f"{p.name}: nothing to install ({p.reasons[-1] if p.reasons else 'no build fits'})"))
            continue
        if tuple(p.install[:2]) != PIP:
            body.append(_comment(f"{p.name}: {p.variant} build, not installable from a requirements file: {shlex.join(p.install)}"))
            continue
        reqs, opts = _index_options(p)
        if "--no-deps" in opts:
            body.append(_comment(f"{p.name}: install with --no-deps after the rest: {shlex.join(p.install)}"))
            continue
        for flag, url in zip(opts[::2], opts[1::2]):
            if flag == "--index-url":
                if url.startswith(torch_base):
                    extras.append(url)  # the PyTorch index is an extra one here; pins carry +cuXY
                else:
                    primary = primary or url
            elif flag == "--extra-index-url":
                extras.append(url)
            elif flag == "--find-links":
                finds.append(url)
            elif flag == "--trusted-host":
                hosts.append(url)
        no_index = no_index or "--no-index" in opts
        if p.conflicts:
            body.append(_comment(f"{p.name}: uninstall {', '.join(p.conflicts)} first (pip uninstall -y {' '.join(p.conflicts)})"))
        body += reqs
    if no_index:
        lines.append("--no-index")
    if primary:
        lines.append(f"--index-url {primary}")
    lines += [f"--extra-index-url {u}" for u in dict.fromkeys(extras) if u != primary]
    lines += [f"--find-links {u}" for u in dict.fromkeys(finds)]
    lines += [f"--trusted-host {h}" for h in dict.fromkeys(hosts)]
    lines += body
    for b in plan.blocked:
        lines.append(_comment(f"BLOCKED {b.package}: {b.blocking}" + (f" -- fix: {b.fix}" if b.fix else "")))
    return _safe_lines(lines)


def script_text(plan: Plan, python: str = "python", competing: dict[str, tuple[str, ...]] | None = None) -> str:
    """Shell commands for the plan. A source build is built into a temporary folder and then installed
    (its dependencies first, then the wheel itself forced in over any CPU copy of the same version),
    after removing the distributions that install the same module (`competing`: module -> dists)."""
    lines = ["#!/bin/sh", *[_comment(line) for line in _header(plan)], "set -e"]
    sources = [p for p in plan.packages if p.install and p.install[0] == "gpuready" and p.gpu]
    if sources:
        lines.append('GPUREADY_WHEELS="$(mktemp -d)"')
    for p in sources:  # builds first: nothing changes in the environment until they have worked
        lines.append(_comment(f"{p.name}: a CUDA build from source (gpuready build), installed below"))
        lines.append(shlex.join([*p.install, "--python", python, "-o"]) + ' "$GPUREADY_WHEELS"')
    for p in plan.packages:
        if not p.install:
            lines.append(_comment(f"{p.name}: nothing to install"))
            continue
        if p in sources:
            dist = p.dist or p.name
            stem = dist.replace("-", "_")
            import_name = (p.build or {}).get("import_name") or p.name
            others = [d for d in (competing or {}).get(import_name, ()) if d != dist]
            if others:
                lines.append(_comment(f"{p.name}: remove the distributions that install the same {import_name} module"))
                lines.append(shlex.join([python, "-m", "pip", "uninstall", "-y", *others]))
            lines.append(shlex.join([python, "-m", "pip", "install"]) + f' "$GPUREADY_WHEELS"/{stem}-*.whl')
            lines.append(shlex.join([python, "-m", "pip", "install", "--force-reinstall", "--no-deps"]) + f' "$GPUREADY_WHEELS"/{stem}-*.whl')
            continue
        if p.conflicts:
            lines.append(shlex.join([python, "-m", "pip", "uninstall", "-y", *p.conflicts]))
        argv = list(p.install)
        if tuple(argv[:2]) == PIP:
            argv = [python, "-m", "pip", *argv[1:]]
        if p.requires:
            lines.append(_comment(f"{p.name} also needs, installed on the system: " + ", ".join(f"{k} {v}" for k, v in p.requires.items())))
        lines.append(shlex.join(argv))
    for b in plan.blocked:
        lines.append(_comment(f"BLOCKED {b.package}: {b.blocking}" + (f" -- fix: {b.fix}" if b.fix else "")))
    return _safe_lines(lines)


def print_plan(plan: Plan, con=None, *, verbose: bool = True) -> None:
    """The readable terminal plan."""
    from rich.table import Table
    from rich.text import Text

    from gpuready.report.terminal import console

    if con is None:
        import sys

        con = console(soft_wrap=not sys.stdout.isatty())
    con.print(Text("Plan for: ", style="bold") + Text(plan.machine[0] if plan.machine else ""))
    for line in plan.machine[1:]:
        con.print(Text("  " + line, style="dim"))
    head = f"CUDA {plan.cuda}" if plan.cuda else "no CUDA (CPU builds)"
    if plan.cudnn:
        head += f", cuDNN {plan.cudnn}"
    con.print(Text(head, style="bold"))
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    for col in ("package", "version", "build", "GPU", "from"):
        table.add_column(col)
    for p in plan.packages:
        gpu = Text("yes", style="green") if p.gpu else Text("no", style="yellow" if p.version else "red")
        src = p.index_url or ("source build" if p.variant == "source" else "your index / PyPI" if p.install else "-")
        table.add_row(p.name, p.version or "-", p.variant, gpu, src)
    con.print(table)
    for p in plan.packages:
        con.print()
        title = Text(p.label or f"{p.name}: nothing fits", style="bold cyan")
        con.print(title)
        for r in p.reasons if verbose else p.reasons[-3:]:
            con.print(Text("  - " + r))
        if p.build:
            env = p.build.get("env") or {}
            con.print(Text(f"  build: CUDA {p.build.get('cuda_version')} at {p.build.get('cuda_root')}, "
                           f"arch {';'.join(p.build.get('cuda_arch_bin') or [])}, host compiler {p.build.get('host_compiler')}"
                           + ("" if p.build.get("host_compiler_ok", True) else " (NOT accepted by nvcc)"), style="dim"))
            if env:
                con.print(Text("  env: " + " ".join(f"{k}={shlex.quote(str(v))}" for k, v in env.items()), style="dim"))
        if p.install:
            con.print(Text("  $ " + shlex.join(p.install), style="green"))
    if plan.blocked:
        con.print()
        con.print(Text("Blocked", style="bold red"))
        for b in plan.blocked:
            con.print(Text(f"  ✗ {b.package}: {b.blocking}", style="red"))
            for i, f in enumerate(b.fixes or ((b.fix,) if b.fix else ())):
                con.print(Text(("  fix: " if i == 0 else "   or: ") + f, style="yellow"))
    for n in plan.notes:
        con.print(Text("note: " + n, style="dim"))
