"""`gpuready build` and `gpuready cache`: argument parsing and rendering only.

The work is in `builder.build_wheel` (and `settings.build_settings` for --dry-run); the wheel
folder is `cache`. Exit codes: 0 built (or found in the cache), 1 the build failed or would be
blocked, 2 bad usage or unreadable input, 130 interrupted.
"""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import click

from gpuready.report.jsonout import dumps
from gpuready.options import machine_option

TOOLKIT_CHOICES = ("auto", "system", "conda", "pip-wheels")


def _pip_args(offline: Path | None, index_url: str | None) -> tuple[str, ...]:
    args: list[str] = []
    if offline is not None:
        args += ["--no-index", "--find-links", str(offline)]
    if index_url:
        args += ["--index-url", index_url]
    return tuple(args)


def _find_in(folder: Path, names: list[str]) -> Path | None:
    for n in names:
        p = folder / n
        if p.is_file():
            return p
    return None


@click.command(name="build")
@click.argument("package")
@click.option("--cuda-arch", "cuda_arch", multiple=True, metavar="LIST",
              help="GPU architectures to build for, e.g. 8.6,9.0 (default: this machine's GPUs).")
@click.option("--version", "version", default=None, help="Package version (default: the recipe's pinned one).")
@click.option("--sdist", "sdist", type=click.Path(exists=True, path_type=Path), default=None,
              help="Build from this sdist, source tarball or source folder (default: the pinned sdist, downloaded if needed).")
@click.option("--method", type=click.Choice(["pip-wheel", "cmake-tree"]), default=None,
              help="pip-wheel: the sdist's own build; cmake-tree: CMake on a source tree (default: from the source).")
@click.option("--python", "python", default=None, help="Build for this interpreter (default: the one running gpuready).")
@click.option("-j", "--jobs", type=click.IntRange(1, 1024), default=None, help="Parallel compile jobs (default: all cores).")
@click.option("-o", "--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Also copy the wheel here (it is always kept in the cache).")
@click.option("--toolkit", type=click.Choice(TOOLKIT_CHOICES), default="auto", show_default=True,
              help="Where the CUDA toolkit comes from: auto = a system/conda one when it fits, else NVIDIA's pip wheels.")
@click.option("--cuda-major", type=click.IntRange(9, 99), default=None,
              help="Keep the CUDA toolkit on this major (a plan that shares one CUDA between packages passes it).")
@click.option("--offline", "offline", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="No network: take sdists and wheels (toolkit, build requirements) from this folder only.")
@click.option("--index-url", default=None, help="Package index (mirror) for the sdist and toolkit wheels.")
@click.option("--isolation/--no-isolation", "isolation", default=None,
              help="pip build isolation (default: off when the target Python has the build requirements).")
@click.option("--no-cache", "no_cache", is_flag=True, help="Build even when a matching wheel is in the cache.")
@click.option("--no-verify", "no_verify", is_flag=True, help="Skip importing the built wheel in a child process.")
@click.option("--keep-work", is_flag=True, help="Keep the build folder (for debugging).")
@click.option("--timeout", type=click.IntRange(60), default=4 * 3600, show_default=True, help="Seconds per build step.")
@click.option("--dry-run", is_flag=True, help="Print the settings, the commands and the cache key; build nothing.")
@click.option("--trim", "trim", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Only write a trimmed source tarball of this sdist (OpenCV: 152 MB -> 8 MB) into --out, and stop.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--progress/--no-progress", "progress", default=None, help="Progress bars (default: when stderr is a terminal).")
@click.option("--for-fleet", "for_fleet", is_flag=True,
              help="Build one wheel for every GPU architecture of the fleet (--machines DIR or --ray), for a shared lab index.")
@click.option("--machines", "fleet_machines", multiple=True, type=click.Path(exists=True, path_type=Path),
              help="With --for-fleet: a folder of saved machines (or a file; repeat for more).")
@click.option("--ray", "fleet_ray", is_flag=False, flag_value="auto", default=None, metavar="ADDRESS",
              help="With --for-fleet: ask every node of this Ray cluster for its GPUs (alone: the cluster found here).")
@machine_option
def build(package, cuda_arch, version, sdist, method, python, jobs, out_dir, toolkit, cuda_major, offline, index_url, isolation,
          no_cache, no_verify, keep_work, timeout, dry_run, trim, as_json, progress, for_fleet, fleet_machines, fleet_ray,
          machine_file) -> None:
    """Build dlib or OpenCV with CUDA from source into a cached wheel.

    The recipe picks the toolkit (system, conda, or assembled from NVIDIA's pip wheels), one cuDNN
    (header and library from the same copy), a host compiler nvcc accepts, and this machine's GPU
    architectures; it fails loudly when the build log does not confirm CUDA.
    """
    from gpuready.build.recipes import find_recipe, recipes

    recipe = find_recipe(package)
    if recipe is None:
        raise click.UsageError(f"no build recipe for {package!r}; gpuready builds: {', '.join(r.name for r in recipes())}")
    if trim is not None:
        _do_trim(recipe.name, trim, out_dir, as_json)
        return
    if machine_file is not None and not dry_run:
        raise click.UsageError("a build runs on this machine; --machine works with --dry-run only")
    from gpuready.build.toolchain import BuildSettingsError, parse_archs

    if (fleet_machines or fleet_ray) and not for_fleet:
        raise click.UsageError("--machines and --ray go with --for-fleet")
    if for_fleet:
        if cuda_arch:
            raise click.UsageError("--for-fleet computes the architectures; leave out --cuda-arch")
        cuda_arch = (_fleet_archs(fleet_machines, fleet_ray, quiet=as_json),)
    try:
        archs = parse_archs(list(cuda_arch)) if cuda_arch else None
    except BuildSettingsError as exc:
        raise click.BadParameter(str(exc), param_hint="--cuda-arch") from None
    if offline is not None and sdist is None:
        from gpuready.build.recipes import sources_for

        wanted = [s.filename for s in sources_for(recipe.name) if not version or version in (s.version, s.library_version)]
        sdist = _find_in(offline, wanted)
        if sdist is None:
            trimmed = sorted(offline.glob("ocv-trim-*.tar.gz")) if recipe.name == "opencv" else []
            sdist = trimmed[-1] if trimmed else None
        if sdist is None:
            raise click.UsageError(f"--offline {offline}: no source for {recipe.name} there (looked for {', '.join(wanted) or 'a pinned sdist'})")
    from gpuready.options import get_machine

    machine = get_machine(machine_file, python, frameworks=False)
    if dry_run:
        _dry_run(machine, recipe.name, version, archs, method, jobs, toolkit, cuda_major, sdist, as_json)
        return
    from gpuready.build.builder import build_wheel
    from gpuready.build.runner import stderr_is_tty
    from gpuready.build.source import SourceError

    show = (not as_json and stderr_is_tty()) if progress is None else progress
    try:
        result = build_wheel(
            machine, recipe.name, version=version, sdist=sdist, cuda_archs=archs, python=python, jobs=jobs,
            progress=show, use_cache=not no_cache, method=method, out_dir=out_dir, pip_args=_pip_args(offline, index_url),
            isolation=isolation, toolkit=toolkit, cuda_major=cuda_major, verify=not no_verify, keep_work=keep_work, timeout=float(timeout),
        )
    except (SourceError, BuildSettingsError) as exc:
        raise click.UsageError(str(exc)) from None
    if not result.ok and result.problems:
        result.cause = _explain_log(result.log, machine)
    if as_json:
        click.echo(dumps("build", result.to_dict(), default=str))
    else:
        _render_result(result)
    sys.exit(0 if result.ok else 1)


def _fleet_archs(machines: tuple[Path, ...], ray_address: str | None, quiet: bool) -> str:
    """The union of the fleet's compute capabilities, as a --cuda-arch value ("8.6,9.0")."""
    from gpuready.fleet.kinds import fleet_archs

    if bool(machines) == bool(ray_address):
        raise click.UsageError("--for-fleet needs the fleet: --machines DIR or --ray [ADDRESS] (one of them)")
    if machines:
        from gpuready.fleet.saved import load_any, machine_files

        found = [load_any(p)[0] for p in machine_files(list(machines))]
        where = f"{len(found)} saved machine(s)"
    else:
        from gpuready.fleet.ray_backend import RayUnavailable, gather

        try:
            report = gather(None if ray_address == "auto" else ray_address, timeout=120.0)
        except RayUnavailable as exc:
            raise click.UsageError(str(exc)) from None
        found = [n.machine for n in report.nodes if n.machine is not None]
        missing = [n.name for n in report.nodes if n.machine is None]
        where = f"{len(found)} Ray node(s)" + (f" ({len(missing)} did not report: {', '.join(missing)})" if missing else "")
    archs = fleet_archs(found)
    if not archs:
        raise click.UsageError(f"no GPU with a known compute capability on the fleet ({where})")
    if not quiet:
        click.echo(f"building for the fleet's GPUs: compute capability {', '.join(archs)} (from {where})", err=True)
    return ",".join(archs)


def _explain_log(log: Path, machine) -> dict | None:
    """The first cause `gpuready explain` finds in a failed build's log, as the result's JSON carries it."""
    from gpuready.explain import explain_text

    try:
        text = log.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    causes = explain_text(text, machine=machine, stage="build")
    if not causes:
        return None
    c = causes[0]
    return {"label": c.label, "fix": c.fix, "evidence": [e.text for e in c.evidence], "explanation": c.explanation}


def _do_trim(recipe: str, sdist: Path, out_dir: Path | None, as_json: bool) -> None:
    from gpuready.build.trim import rule_for, trim_sdist

    if rule_for(recipe) is None:
        raise click.UsageError(f"the {recipe} recipe has no trim rule")
    out_dir = out_dir or Path.cwd()
    version = sdist.name.rsplit("-", 1)[-1].replace(".tar.gz", "")
    out = out_dir / f"{rule_for(recipe).top}-{version}.tar.gz"
    try:
        res = trim_sdist(sdist, out, recipe)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    if as_json:
        click.echo(dumps("build-trim", {"path": str(res.path), "files": res.files, "bytes_in": res.bytes_in,
                               "bytes_out": res.bytes_out, "manifest": res.manifest}, indent=2))
    else:
        click.echo(f"trimmed {sdist.name} ({res.bytes_in / 1e6:.1f} MB) -> {res.path} ({res.bytes_out / 1e6:.1f} MB, {res.files} files)")
        click.echo(f"build it with: gpuready build {recipe} --sdist {res.path}")


def _dry_run(machine, package, version, archs, method, jobs, toolkit, cuda_major, sdist, as_json) -> None:
    from gpuready.build import cache
    from gpuready.build.recipes import get_recipe
    from gpuready.build.settings import build_settings

    recipe = get_recipe(package)
    if sdist is not None and method is None:
        from gpuready.build.source import SourceError, identify

        try:
            src = identify(sdist, recipe)
        except SourceError as exc:
            raise click.UsageError(str(exc)) from None
        method = "cmake-tree" if src.kind == "tree" else "pip-wheel"
        version = version or src.version or None
    s = build_settings(machine, package, version, archs, method=method, jobs=jobs, toolkit=toolkit, cuda_major=cuda_major)
    key = cache.key_from_settings(s)
    hit = cache.lookup(key)
    commands = _commands(s, sdist)
    if as_json:
        click.echo(dumps("build-settings", {"settings": s, "cache_key": key.to_dict(), "cached": str(hit.path) if hit else None,
                               "commands": commands}, indent=2, default=str))
    else:
        from gpuready.report.terminal import console

        con = console()
        _render_settings(con, s)
        from rich.markup import escape as esc

        con.print(f"[bold]cache key[/] {esc(key.requirement)}  ({key.python_tag}, {key.platform})"
                  + (f"  [green]cached: {esc(str(hit.path))}[/]" if hit else "  [dim]not cached[/]"), soft_wrap=True)
        con.print("[bold]commands[/]")
        for c in commands:
            con.print("  " + esc(c), highlight=False, soft_wrap=True)
    sys.exit(1 if s["problems"] else 0)


def _commands(s: dict, sdist: Path | None) -> list[str]:
    env = " ".join(f"{k}={shlex.quote(v)}" for k, v in s["env"].items())
    src = str(sdist) if sdist else f"--no-binary {s['dist']} {s['dist']}=={s['version']}"
    out = []
    if s["toolkit_source"] == "pip-wheels" and s["toolkit_pending"]:
        out.append(f"# assemble CUDA {s['cuda_version']} from pip wheels into {s['cuda_root']}")
    if s["cudnn"].get("link"):
        out.append(f"ln -s {Path(s['cudnn']['library']).name} {s['cudnn']['link']}")
    if s["method"] == "cmake-tree":
        out.append("cmake -S <tree>/opencv -B build -G Ninja -DCMAKE_INSTALL_PREFIX=stage " + " ".join(shlex.quote(a) for a in s["cmake_args"]))
        out.append(f"cmake --build build --parallel {s['jobs']} && cmake --install build  # then pack stage/python/cv2 into a wheel")
    else:
        out.append(f"{env} python -m pip wheel --no-deps --no-cache-dir -v -w wheelhouse "
                   + (shlex.quote(src) if sdist else src))
    return out


def _render_settings(con, s: dict) -> None:
    from rich.table import Table

    from rich.markup import escape as esc

    t = Table(show_header=False, box=None, pad_edge=False)
    t.add_column(style="bold", no_wrap=True)
    t.add_column(overflow="fold")
    t.add_row("recipe", f"{s['recipe']} {s['version']} ({s['method']}, recipe v{s['recipe_version']})")
    t.add_row("GPU archs", ", ".join(s["cuda_arch_bin"]) or "-")
    t.add_row("CUDA toolkit", esc(f"{s['toolkit_source'] or 'none'} {s['cuda_version']} {s['cuda_root']}".strip()))
    c = s["cudnn"]
    t.add_row("cuDNN", esc(f"{c.get('version') or '-'} ({c.get('origin') or '-'})"))
    t.add_row("  header", esc(c.get("include_dir") or "-"))
    t.add_row("  library", esc(c.get("library") or "-"))
    t.add_row("host compiler", esc(f"{s['host_compiler_version']} {s['host_compiler']} ") + ("[green]ok[/]" if s["host_compiler_ok"] else "[red]refused[/]"))
    con.print(t)
    from rich.markup import escape as esc

    for r in s["reasons"]:
        con.print(f"  [dim]- {esc(r)}[/]", highlight=False, soft_wrap=True)
    for w in s["warnings"]:
        con.print(f"  [yellow]! {esc(w)}[/]", highlight=False, soft_wrap=True)
    for p in s["problems"]:
        con.print(f"  [bold red]✗ {esc(p)}[/]", highlight=False, soft_wrap=True)


def _render_result(r) -> None:
    from rich.markup import escape as esc

    from gpuready.report.terminal import console

    con = console()
    if r.ok:
        how = "found in the cache" if r.cached else f"built in {r.seconds:.0f} s"
        con.print(f"[green]✓[/] {esc(r.package)} {esc(r.version)}: {how}, CUDA confirmed")
        con.print(f"  wheel: {esc(str(r.wheel))}", highlight=False, soft_wrap=True)
        con.print(f"  install: pip install {esc(str(r.wheel))}   (or: pip install --find-links {esc(str(r.wheel.parent))} "
                  f"'{esc(r.requirement)}')", highlight=False, soft_wrap=True)
        if r.check.get("report"):
            con.print(f"  import check: {esc(json.dumps(r.check['report']))}", highlight=False, soft_wrap=True)
        if r.steps:
            con.print("  time: " + ", ".join(f"{k} {v:.0f} s" for k, v in r.steps.items()), highlight=False)
    else:
        con.print(f"[bold red]✗[/] {esc(r.package)} {esc(r.version)}: build failed" + (f" ({esc(r.label)})" if r.label else ""))
        for p in r.problems:
            con.print(f"  - {esc(p)}", highlight=False, soft_wrap=True)
        if r.missing and not any(r.missing in p for p in r.problems):
            con.print(f"  missing: {esc(r.missing)}", highlight=False, soft_wrap=True)
        if r.fix:
            con.print(f"  fix: {esc(r.fix)}", highlight=False, soft_wrap=True)
        if r.cause is not None:
            label, fix = r.cause["label"], r.cause["fix"]
            con.print(f"  explain: {esc(label)}" + (f": {esc(fix)}" if fix else ""), highlight=False, soft_wrap=True)
    for w in r.warnings:
        con.print(f"  [yellow]! {esc(w)}[/]", highlight=False, soft_wrap=True)
    con.print(f"  log: {esc(str(r.log))}", highlight=False, soft_wrap=True)


# --- cache ---------------------------------------------------------------------------------------


@click.group(name="cache")
def cache() -> None:
    """List, locate, clear, index or serve the wheel cache (a folder pip and uv read with --find-links)."""


@cache.command(name="list")
@click.option("--package", default=None, help="Only this package's wheels.")
@click.option("--json", "as_json", is_flag=True, help="Print the entries as JSON.")
def cache_list(package, as_json) -> None:
    """The cached wheels: package, version label (CUDA, cuDNN, archs, recipe), tags, size."""
    from gpuready.build import cache as c

    entries = c.list_entries(package=package)
    if as_json:
        click.echo(dumps("cache", {"dir": str(c.cache_dir()), "entries": [e.to_dict() for e in entries]}))
        return
    from rich.table import Table

    from gpuready.report.terminal import console

    con = console()
    if not entries:
        con.print(f"no wheels in {c.cache_dir()}")
        return
    t = Table(title=str(c.cache_dir()), title_justify="left")
    for col in ("package", "version", "variant", "tags", "size", "stored"):
        t.add_column(col, overflow="fold")
    for e in entries:
        t.add_row(e.name, e.version.split("+")[0], e.local_label or "-", ", ".join(e.tags), f"{e.size / 1e6:.1f} MB",
                  str(e.info.get("stored_at", ""))[:10])
    con.print(t)


@cache.command(name="path")
def cache_path() -> None:
    """Print the cache folder (for pip/uv --find-links)."""
    from gpuready.build import cache as c

    click.echo(str(c.cache_dir()))


@cache.command(name="clear")
@click.argument("package", required=False)
@click.option("--yes", is_flag=True, help="Do not ask.")
def cache_clear(package, yes) -> None:
    """Remove cached wheels (all, or one PACKAGE's), and what dead writers left behind.

    Files another process is writing right now (a build on another node of a shared cache) and
    the locks of live builds are left alone."""
    from gpuready.build import cache as c

    entries = c.list_entries(package=package)
    leftovers = [p for p, dead in c.in_flight() if dead]
    live = [p for p, dead in c.in_flight() if not dead]
    if not entries and not leftovers:
        click.echo(f"nothing to remove in {c.cache_dir()}" + (f" ({len(live)} file(s) of builds under way left alone)" if live else ""))
        return
    if not yes:
        if not sys.stdin.isatty():
            raise click.UsageError(f"would remove {len(entries)} wheel(s) from {c.cache_dir()}; pass --yes to confirm")
        click.confirm(f"remove {len(entries)} wheel(s) from {c.cache_dir()}?", abort=True)
    removed = c.clear(package)
    wheels = sum(1 for p in removed if p.suffix == ".whl")
    others = len([p for p in removed if p.suffix != ".whl" and not p.name.endswith(".whl" + c.SIDECAR)])
    still = [p for p, dead in c.in_flight() if not dead]
    click.echo(f"removed {wheels} wheel(s) from {c.cache_dir()}"
               + (f", and {others} leftover(s) of interrupted writers" if others else "")
               + (f"; left {len(still)} file(s) of builds under way alone" if still else ""))


def _folder(folder: Path | None) -> Path:
    from gpuready.build import cache as c

    d = Path(folder) if folder is not None else c.cache_dir()
    if not d.is_dir():
        raise click.UsageError(f"{d}: no such folder (build a wheel first, or name the folder of wheels)")
    return d


@cache.command(name="index")
@click.argument("folder", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print what was indexed as JSON.")
def cache_index(folder, as_json) -> None:
    """Write a PEP 503 simple index of the wheels in FOLDER (default: the cache) into FOLDER/simple/.

    Any static web server that serves FOLDER then serves an index for pip and uv:
    `pip install --extra-index-url http://HOST:PORT/simple/ dlib`."""
    from gpuready.build import index

    d = _folder(folder)
    try:
        out, projects = index.write_index(d)
    except OSError as exc:
        raise click.UsageError(f"cannot write the index into {d}: {exc.strerror or exc}") from None
    files = sum(len(v) for v in projects.values())
    if as_json:
        click.echo(json.dumps({"index": str(out), "projects": {p: [f.filename for f in fs] for p, fs in projects.items()}},
                              indent=2))
        return
    click.echo(f"indexed {files} wheel(s) of {len(projects)} project(s): {out}/index.html")
    click.echo(f"serve {d} over HTTP (`gpuready cache serve {d}`, or any static server), then: "
               "pip install --extra-index-url http://HOST:PORT/simple/ PACKAGE")


@cache.command(name="serve")
@click.argument("folder", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0: every interface of this machine).")
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True, help="Port (0: any free one).")
@click.option("--verbose", is_flag=True, help="Log every request on stderr.")
def cache_serve(folder, host, port, verbose) -> None:
    """Serve the wheel cache (or FOLDER) over HTTP as a PEP 503 index for pip and uv on other machines.

    Ctrl-C stops it."""
    from gpuready.build.serve import make_server

    d = _folder(folder)
    try:
        server = make_server(d, host, port, quiet=not verbose)
    except OSError as exc:
        raise click.UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    try:
        bound_host, bound_port = server.server_address[:2]
        shown = f"[{bound_host}]" if ":" in str(bound_host) else bound_host
        url = f"http://{shown}:{bound_port}"
        click.echo(f"serving {d} at {url}/simple/ (Ctrl-C stops)")
        click.echo(f"  pip install --extra-index-url {url}/simple/ PACKAGE")
        click.echo(f"  uv pip install --extra-index-url {url}/simple/ PACKAGE   (or --find-links {url}/)")
        sys.stdout.flush()
        server.serve_forever(poll_interval=0.5)
    except KeyboardInterrupt:
        click.echo("gpuready cache serve: stopped", err=True)
    finally:
        server.server_close()
