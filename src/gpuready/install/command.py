"""`gpuready install` and `gpuready download`: options, the terminal/JSON faces, exit codes.

Exit codes: 0 installed (or dry run), 1 the install failed / was rolled back / verify failed,
2 bad usage or unreadable input (a bad plan file, a corrupt offline folder), 130 interrupted
(after the rollback finished).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Sequence

import click

from gpuready.options import SECONDS, machine_option, project_options
from gpuready.proc import interrupt_exit_code
from gpuready.report.jsonout import dumps


class BadInput(click.ClickException):
    exit_code = 2


def _net_options(index_url: str | None, mirror: str | None, retries: int, net_timeout: int, find_links: Sequence[str] = ()):
    from gpuready.install.executor import NetOptions

    for url, opt in ((index_url, "--index-url"), (mirror, "--mirror")):
        if url is not None and not url.strip():
            raise BadInput(f"{opt} needs a URL")
    if retries < 0 or net_timeout < 0:
        raise BadInput("--retries and --net-timeout must be 0 or more")
    if mirror is None:  # the persistent one (`gpuready config set torch-mirror`, GPUREADY_TORCH_MIRROR)
        from gpuready.indexconfig import settings

        mirror = settings.get("torch-mirror")[0] or None
    return NetOptions(index_url=index_url, mirror=mirror, retries=retries, timeout=net_timeout, find_links=tuple(find_links))


def _archs(text: str | None) -> tuple[str, ...]:
    """--cuda-arch "8.6,9.0" -> ("8.6", "9.0"); the same reading and checks as `gpuready build`."""
    if not text:
        return ()
    from gpuready.build.settings import BuildSettingsError, parse_archs

    try:
        return tuple(parse_archs(text))
    except BuildSettingsError as exc:
        raise BadInput(f"--cuda-arch: {exc}") from None


class TerminalUI:
    """Plan and report on stdout (rich), progress and questions on stderr."""

    def __init__(self, *, dry_run: bool, as_json: bool, progress: bool) -> None:
        from gpuready.report.terminal import console

        self.out = console(stderr=as_json)  # with --json, human text goes to stderr; stdout is the JSON
        self.err = console(stderr=True)
        self.dry_run = dry_run
        self.as_json = as_json
        self.progress = progress

    def show_plan(self, report, steps, conflicts) -> None:
        from gpuready.install.render import show_plan

        if self.as_json and not self.progress:
            return
        show_plan(self.out, report, steps, conflicts, dry_run=self.dry_run)

    def confirm(self, question: str) -> bool:
        if not sys.stdin.isatty():
            self.err.print(f"{question}\n  (not asking: stdin is not a terminal; pass --yes to allow)", markup=False, highlight=False)
            return False
        return click.confirm(question, default=False, err=True)

    def message(self, text: str) -> None:
        if self.progress:
            self.err.print(text, markup=False, highlight=False)

    def view(self):
        from gpuready.install.progress import ProgressView

        return ProgressView(self.err, enabled=self.progress)


@click.command()
@click.argument("packages", nargs=-1)
@click.option("--venv", type=click.Path(file_okay=False, path_type=Path), help="Install into this virtual environment (created when missing; deleted again if the install fails).")
@click.option("--python", "python", type=str, default=None, help="Install into this interpreter's environment (default: the active venv/conda env, else gpuready's own).")
@click.option("--dry-run", is_flag=True, help="Print the plan and the exact commands, change nothing.")
@click.option("-y", "--yes", is_flag=True, help="Remove competing or shadowing copies without asking.")
@click.option("--offline", "offline_dir", type=click.Path(file_okay=False, path_type=Path), help="Install from a folder made by `gpuready download` (no network).")
@click.option("--plan", "plan_file", type=click.Path(dir_okay=False, path_type=Path), help="Carry out this plan (`gpuready plan ... --json`) instead of planning.")
@click.option("--lock", "lock_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Install exactly the files of this lock (`gpuready plan --format pylock` or `--format requirements --hashes`), "
                   "hash-checked, after checking this machine is of the kind it was made for.")
@project_options
@click.option("--resolver", type=click.Choice(["auto", "uv", "pip"]), default="auto", show_default=True,
              help="With -r/--project: who resolves the whole set before anything changes (uv when available, else pip).")
@machine_option
@click.option("--index-url", default=None, help="Use this package index instead of PyPI (a mirror).")
@click.option("--mirror", default=None, help="Use this mirror of the PyTorch wheel index (replaces https://download.pytorch.org/whl; "
              "default: `gpuready config get torch-mirror`).")
@click.option("--find-links", "find_links", multiple=True, type=click.Path(file_okay=False), help="Also look for wheels in this folder (a lab's shared wheel cache). Repeatable.")
@click.option("--installer", type=click.Choice(["auto", "uv", "pip"]), default="auto", show_default=True, help="uv when available (faster), else pip.")
@click.option("--no-verify", is_flag=True, help="Do not run verify after installing (a GPU package is then not proven to work).")
@click.option("--keep-on-verify-failure", is_flag=True, help="Keep the install even when verify says it does not work on the GPU.")
@click.option("--cuda-arch", default=None, help="Compute capabilities for source builds, e.g. 8.6,9.0 (default: this machine's GPUs).")
@click.option("-j", "--jobs", type=click.IntRange(1, 512), default=None, help="Parallel compile jobs for source builds.")
@click.option("--rebuild", is_flag=True, help="Build from source even when the wheel cache has a matching wheel.")
@click.option("--retries", type=int, default=0, help="Retries per download (default 5).")
@click.option("--net-timeout", type=int, default=0, help="Network timeout in seconds (default 60).")
@click.option("--timeout", type=SECONDS, default=120.0, show_default=True, help="Seconds each framework probe/verify may take.")
@click.option("--recover", is_flag=True, help="Only undo an install that was killed half-way in this environment, then exit.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON on stdout (progress stays on stderr).")
@click.option("-q", "--quiet", is_flag=True, help="No progress output.")
def install(packages: tuple[str, ...], venv: Path | None, python: str | None, dry_run: bool, yes: bool, offline_dir: Path | None,
            plan_file: Path | None, lock_file: Path | None, requirement_files: tuple[Path, ...], constraint_files: tuple[Path, ...],
            project_dir: Path | None, extras: tuple[str, ...], groups: tuple[str, ...], resolver: str,
            machine_file: Path | None, index_url: str | None, mirror: str | None, find_links: tuple[str, ...],
            installer: str, no_verify: bool, keep_on_verify_failure: bool, cuda_arch: str | None, jobs: int | None, rebuild: bool,
            retries: int, net_timeout: int, timeout: float, recover: bool, as_json: bool, quiet: bool) -> None:
    """Plan, then install (or build) PACKAGES into this environment, verify them on the GPU, and roll back on any failure.

    \b
    Examples:
      gpuready install dlib face_recognition
      gpuready install torch --venv .venv-gpu --dry-run
      gpuready install --offline ./wheels dlib face_recognition
      gpuready install -r requirements.txt --venv .venv
      gpuready install --lock pylock.toml --venv .venv
    """
    from gpuready.install.flow import InstallError, InstallOptions, run_install
    from gpuready.install.offline import OfflineError

    if venv is not None and python is not None:
        raise BadInput("choose one of --venv and --python")
    if plan_file is not None and offline_dir is not None and not dry_run:
        pass  # a plan file with an offline folder is allowed: the plan says what, the folder where from
    if recover:
        sys.exit(_recover(venv, python))
    if (extras or groups) and project_dir is None:
        raise BadInput("--extra and --group need --project DIR")
    lock = None
    if lock_file is not None:
        from gpuready.install.lock import LockError, read_lock

        try:
            lock = read_lock(lock_file)
        except LockError as exc:
            raise BadInput(str(exc)) from None
    from gpuready.install.project import ProjectArgs

    project = ProjectArgs(tuple(requirement_files), tuple(constraint_files), project_dir, tuple(extras), tuple(groups), resolver)
    opts = InstallOptions(
        python=python, venv=venv, dry_run=dry_run, yes=yes, offline=offline_dir, plan_file=plan_file, machine_file=machine_file,
        net=_net_options(index_url, mirror, retries, net_timeout, find_links), installer=installer, verify=not no_verify,
        keep_on_verify_failure=keep_on_verify_failure, cuda_archs=_archs(cuda_arch), jobs=jobs, use_cache=not rebuild,
        timeout=timeout, progress=not quiet, lock=lock, project=project if project.given else None,
    )
    ui = TerminalUI(dry_run=dry_run, as_json=as_json, progress=not quiet)
    from gpuready.install.runlog import RunLog

    log = RunLog.new("install")
    if not quiet and not dry_run:
        ui.err.print(f"log: {log.path}", markup=False, highlight=False, style="dim")
    try:
        report = run_install(packages, opts, ui, log)
    except (InstallError, OfflineError) as exc:
        log.close()
        raise BadInput(str(exc)) from None
    except KeyboardInterrupt as exc:
        # run_install rolled back before re-raising; say so, then exit 130 (143 on SIGTERM)
        ui.err.print("gpuready: interrupted; the environment was rolled back (see the log for details)", markup=False)
        ui.err.print(f"log: {log.path}", markup=False)
        sys.exit(interrupt_exit_code(exc))
    if as_json:
        click.echo(dumps("install", report.to_dict(), default=str))
    else:
        from gpuready.install.render import show_report

        show_report(ui.out, report)
    sys.exit(0 if report.ok else 1)


def _recover(venv: Path | None, python: str | None) -> int:
    from gpuready.install.envinfo import EnvError, default_target, inspect_env, venv_python
    from gpuready.install.executor import ExecutorError, find_installer
    from gpuready.install.runlog import RunLog
    from gpuready.install.transaction import EnvLock, LockBusy, recover, txn_base
    from gpuready.report.terminal import console

    target = str(venv_python(venv)) if venv is not None else (python or default_target())
    try:
        env = inspect_env(target)
    except EnvError as exc:
        raise BadInput(str(exc)) from None
    try:
        freeze = find_installer(target).freeze()
    except ExecutorError:
        freeze = None
    log = RunLog.new("recover")
    con = console()
    base = txn_base(env)
    try:
        with EnvLock(base):
            results = recover(base, freeze, log)
    except LockBusy as exc:
        con.print(f"✗ {exc}", markup=False)
        return 1
    finally:
        log.close()
    undone = [(j, rb) for j, rb in results if rb is not None]
    if not undone:
        con.print(f"Nothing to recover in {env.prefix}.", markup=False)
        return 0
    bad = 0
    for journal, rb in undone:
        if rb.exact:
            con.print(f"✓ rolled back the interrupted install {journal.id}: the environment is as it was before it", markup=False)
        else:
            bad += 1
            con.print(f"✗ rolled back {journal.id} with problems; backup kept in {rb.kept_backup}", markup=False)
    con.print(f"log: {log.path}", markup=False)
    return 1 if bad else 0


@click.command()
@click.argument("packages", nargs=-1)
@click.option("-d", "--dest", "dest", type=click.Path(file_okay=False, path_type=Path), required=True, help="Folder to fill (created if missing; can be reused to add packages).")
@machine_option
@click.option("--python", "python", type=str, default=None, help="Plan for this interpreter's environment (when no --machine).")
@click.option("--plan", "plan_file", type=click.Path(dir_okay=False, path_type=Path), help="Download for this plan instead of planning.")
@click.option("--lock", "lock_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Fetch exactly the files of this lock (hash-checked), for `install --lock FILE --offline DIR` on the target.")
@click.option("--index-url", default=None, help="Use this package index instead of PyPI (a mirror).")
@click.option("--mirror", default=None, help="Use this mirror of the PyTorch wheel index.")
@click.option("--no-build-deps", is_flag=True, help="Skip the build requirements of sdists (the target already has setuptools, cmake, ...).")
@click.option("--exclude", "exclude", multiple=True, help="A project the target already has (numpy, Pillow ...): not fetched. Repeatable.")
@click.option("--glibc", default="", help="The target's glibc (e.g. 2.39) when the machine file's distribution is not known.")
@click.option("--retries", type=int, default=0, help="Retries per download (default 5).")
@click.option("--net-timeout", type=int, default=0, help="Network timeout in seconds (default 60).")
@click.option("--json", "as_json", is_flag=True, help="Print the manifest and the result as JSON.")
@click.option("-q", "--quiet", is_flag=True, help="No progress output.")
def download(packages: tuple[str, ...], dest: Path, machine_file: Path | None, python: str | None, plan_file: Path | None,
             lock_file: Path | None, index_url: str | None, mirror: str | None, no_build_deps: bool, exclude: tuple[str, ...], glibc: str, retries: int, net_timeout: int,
             as_json: bool, quiet: bool) -> None:
    """Fetch every wheel and sdist that installing PACKAGES needs on a machine (this one, or --machine FILE) into DEST.

    \b
    Then, on that machine, with no network:
      gpuready install --offline DEST PACKAGES...
    """
    from gpuready.options import get_machine
    from gpuready.install.download import download as do_download
    from gpuready.install.flow import InstallError, explain_output, load_plan_file, make_install_plan, mirror_hint, network_first
    from gpuready.install.offline import OfflineError
    from gpuready.install.progress import ProgressView
    from gpuready.install.runlog import RunLog
    from gpuready.report.terminal import console

    net = _net_options(index_url, mirror, retries, net_timeout)
    if machine_file is not None and python is not None:
        raise BadInput("choose one of --machine and --python (the machine file says which Python the target has)")
    from gpuready.paths import writable_dir_problem

    if not packages and plan_file is None and lock_file is None:
        raise BadInput("name at least one package (or pass --plan FILE / --lock FILE)")
    if dest.exists() and not dest.is_dir():
        raise BadInput(f"{dest}: not a folder")
    problem = writable_dir_problem(dest)  # before pip runs for minutes
    if problem:
        raise BadInput(problem)
    machine = get_machine(machine_file, python)
    locked = None
    try:
        if lock_file is not None:
            from gpuready.install.lock import LockError, check_machine, read_lock, requirements_for_installer

            try:
                lock = read_lock(lock_file)
                problems = check_machine(lock.target, machine)
                if problems:
                    raise InstallError(f"--lock {lock_file}: the target is not the kind the lock was made for: " + "; ".join(problems))
                locked = requirements_for_installer(lock, machine, dest / ".gpuready-lock-requirements.txt")
            except LockError as exc:
                raise InstallError(str(exc)) from None
            plan = lock.plan()
        else:
            plan = load_plan_file(plan_file) if plan_file is not None else make_install_plan(machine, packages, net)
    except InstallError as exc:
        raise BadInput(str(exc)) from None
    out = console(stderr=as_json)
    err = console(stderr=True)
    if plan.blocked:
        for b in plan.blocked:
            out.print(f"✗ {b.package}: {b.blocking}", markup=False)
            if b.fix:
                out.print(f"  fix: {b.fix}", markup=False)
    log = RunLog.new("download")
    if not quiet:
        err.print(f"log: {log.path}", markup=False, style="dim")
    view = ProgressView(err, enabled=not quiet)
    try:
        with view:
            result = do_download(machine, plan, packages, dest, net=net, build_deps=not no_build_deps, exclude=exclude, log=log,
                                 view=view, glibc_hint=glibc, locked=locked)
    except OfflineError as exc:
        log.close()
        raise BadInput(str(exc)) from None
    except KeyboardInterrupt as exc:
        log.close()
        err.print("gpuready: interrupted; the folder may be incomplete (run the same command again to finish it)", markup=False)
        sys.exit(interrupt_exit_code(exc))
    if locked is not None and lock_file is not None and locked.resolve() != lock_file.resolve():
        locked.unlink(missing_ok=True)  # the one written for a pylock (a hashed requirements lock is used as it is)
    causes: list[dict] = []
    hints: list[str] = []
    for what, res in result.failed:
        causes = network_first(causes + explain_output(res.output, machine, "install", what.split(":", 1)[-1].strip()), res.output)
    if any(c["label"] == "network" for c in causes):
        hints.append(mirror_hint())
    for d in result.slow[:1]:
        hints.append(mirror_hint(f"{d.name} came at {d.kbps:.0f} kB/s"))
    hints += result.notes
    log.close()
    if as_json:
        click.echo(dumps("download", {"ok": result.ok and not plan.blocked, "folder": str(dest), "manifest": result.manifest,
                               "failed": [w for w, _ in result.failed], "causes": causes, "hints": hints, "log": str(log.path)},
                              indent=2, default=str))
    else:
        from gpuready.install.render import show_download

        show_download(out, result, hints, causes, str(log.path))
    sys.exit(0 if result.ok and not plan.blocked else 1)
