"""`gpuready install`, start to end: plan -> show -> build -> (lock, snapshot, apply) -> verify -> commit.

Everything a user sees or decides goes through a small `UI` object (terminal or JSON, in
command.py), so this module holds the order of things and the rules for success:

* a step that fails, an interrupt (Ctrl-C, SIGTERM) or a verify failure rolls the environment
  back to the snapshot; the captured output then goes through `gpuready explain`, and the cause,
  evidence and fix are reported (plus a mirror hint for network trouble or a slow index);
* a GPU package that installs but does not work on the GPU is a failure, not a success (unless
  --keep-on-verify-failure);
* a package built from source that comes out without CUDA is a failure before anything is
  installed.

Its inputs and report are install/model.py; the plan it runs comes from install/planfile.py; a failed
step is explained by install/failure.py; the verify verdict is judged in install/verifying.py.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any, Sequence

from gpuready.build.builder import build_wheel
from gpuready.install import knowledge, offline
from gpuready.install.conflicts import Conflicts, find_conflicts, module_of, remove_files
from gpuready.install.envinfo import EnvError, TargetEnv, default_target, inspect_env, venv_python
from gpuready.install.executor import ExecutorError, Installer, NetOptions, find_installer, venv_command
from gpuready.install.failure import explain_output, mirror_hint, network_first
from gpuready.install.lock import LockError, check_machine, covered_by_lock, lock_command_args, requirements_for_installer
from gpuready.install.model import UI, InstallError, InstallOptions, InstallReport
from gpuready.install.offline import offline_env
from gpuready.install.planfile import load_plan_file, make_install_plan, torch_mirror_setting
from gpuready.install.progress import OutputParser, ProgressView
from gpuready.install.project import ResolveError, plan_and_lock
from gpuready.install.runlog import RunLog
from gpuready.install.runner import run_step
from gpuready.install.snapshot import freeze, freeze_diff
from gpuready.install.steps import (
    Step, build_step, built_wheel_steps, order_packages, package_step, removal_steps, request_key, select_packages,
)
from gpuready.install.transaction import (
    EnvLock, LockBusy, Transaction, interrupts_deferred, interrupts_raise, recover, remove_venv, txn_base,
)
from gpuready.install.verifying import judge_verify, run_verify, verify_names
from gpuready.machine import Machine
from gpuready.plan.model import PackagePlan, Plan, PlanFormatError
from gpuready.probe import probe_machine
from gpuready.proc import Result


class StepFailed(Exception):
    def __init__(self, step: Step, result: Result | None, why: str = "") -> None:
        super().__init__(why or step.title)
        self.step = step
        self.result = result
        self.why = why


class VerifyFailed(Exception):
    pass


# --- the install ---------------------------------------------------------------------------------


def run_install(requests: Sequence[str], opts: InstallOptions, ui: UI, log: RunLog | None = None) -> InstallReport:
    """Carry out an install; never raises for a failed step (the report says), raises InstallError for bad input
    and KeyboardInterrupt (after rolling back) when interrupted."""
    start = time.monotonic()
    log = log or RunLog.new("install")
    rep = InstallReport(log=str(log.path))
    what = " ".join(requests) or (f"--plan {opts.plan_file}" if opts.plan_file else "")
    log.section(f"gpuready install {what}" + (f" --offline {opts.offline}" if opts.offline else ""))
    try:
        return _install(requests, opts, ui, log, rep)
    finally:
        rep.seconds = round(time.monotonic() - start, 1)
        log.section(f"result: {rep.status} ({rep.seconds:.1f} s)")
        log.close()


def _target(opts: InstallOptions) -> tuple[str, bool]:
    """(target interpreter, it must be created) from --venv / --python / the active environment."""
    if opts.venv is not None:
        py = venv_python(opts.venv)
        if py.exists():
            return str(py), False
        if opts.venv.exists() and any(opts.venv.iterdir()):
            raise InstallError(f"--venv {opts.venv}: exists but is not a virtual environment (no {py})")
        return str(py), True
    if opts.python:
        if not (os.path.exists(opts.python) or shutil.which(opts.python)):
            raise InstallError(f"--python {opts.python}: no such interpreter")
        found = opts.python if os.path.exists(opts.python) else (shutil.which(opts.python) or opts.python)
        return os.path.abspath(found), False
    return default_target(), False


def _install(requests: Sequence[str], opts: InstallOptions, ui: UI, log: RunLog, rep: InstallReport) -> InstallReport:
    if opts.machine_file is not None and not opts.dry_run:
        raise InstallError("--machine plans for a saved machine; it can only be combined with --dry-run")
    project = opts.project is not None and opts.project.given
    if not requests and opts.plan_file is None and opts.offline is None and opts.lock is None and not project:
        raise InstallError("name at least one package (or pass -r FILE / --project DIR / --lock FILE / --plan FILE / --offline DIR)")
    if sum((opts.plan_file is not None, opts.lock is not None, project)) > 1:
        raise InstallError("choose one of --plan, --lock and -r/--project")
    if project and opts.offline is not None:
        raise InstallError("--offline installs the plan in its folder; it cannot be combined with -r/--project "
                           "(lock the project, `gpuready download --lock FILE -d DIR`, then `install --lock FILE --offline DIR`)")
    target, create = _target(opts)
    rep.target = target
    base_python = opts.python or sys.executable
    manifest = offline.read_manifest(opts.offline) if opts.offline is not None else None
    net = opts.net
    if opts.offline is not None:
        # only the files the manifest lists, hash-checked (an unlisted wheel in the folder is never seen)
        net = NetOptions(offline_dir=str(offline.checked_folder(opts.offline, manifest)), find_links=net.find_links,
                         retries=net.retries, timeout=net.timeout)

    # the machine (the target's Python; for a venv still to be made, the Python it will be made from)
    if opts.machine_file is not None:
        machine = Machine.load(opts.machine_file)
    else:
        machine = probe_machine(base_python if create else target, timeout=opts.timeout)
        if not machine.python.version:  # not a working interpreter: bad input, not a plan for "Python 3"
            why = next((n.message for n in machine.notes if n.subject == "python"), "it did not answer")
            flag = "--python" if opts.python and not create else "the interpreter"
            raise InstallError(f"{flag} {base_python if create else target}: not a working Python interpreter ({why})")

    # the plan
    locked: Path | None = None
    if opts.project is not None and opts.project.given:  # plan the project for this machine, resolve it once, lock it

        try:
            pp = plan_and_lock(machine, requests, opts.project, log.path.with_suffix(".lock.txt"), index_url=net.index_url or None,
                               mirror=net.mirror if net.mirror and net.mirror != torch_mirror_setting() else None,
                               python=target if not create else base_python)
        except (ValueError, ResolveError) as exc:
            raise InstallError(str(exc)) from None
        rep.plan = pp.plan
        if pp.lock is None:
            rep.status = "blocked"
            causes = [{"label": "no_matching_distribution", "explanation": "the resolver found no set of versions that "
                       "satisfies every requirement", "evidence": pp.resolution.conflict.splitlines()[:8],
                       "fix": "relax or remove one of the conflicting requirements named above"}]
            rep.causes = network_first(causes, pp.resolution.conflict)
            if rep.causes[0]["label"] == "network":
                rep.error = f"the package index could not be read while resolving ({pp.resolution.tool}); nothing was changed"
                rep.hints.append(mirror_hint())
            else:
                rep.error = f"the requirements cannot be installed together ({pp.resolution.tool}); nothing was changed"
            ui.show_plan(rep, [], Conflicts(()))
            return rep
        rep.notes += pp.notes
        opts = dataclasses.replace(opts, lock=pp.lock)
        requests = ()
    if opts.lock is not None:  # the lock says what and which files; this machine must be of its kind

        problems = check_machine(opts.lock.target, machine)
        if problems:
            raise InstallError(f"--lock {opts.lock.path}: this machine is not the kind the lock was made for: " + "; ".join(problems))
        try:
            locked = requirements_for_installer(opts.lock, machine, log.path.with_suffix(".lock.txt"))
        except LockError as exc:
            raise InstallError(str(exc)) from None
        plan = opts.lock.plan()
    elif opts.plan_file is not None:
        plan = load_plan_file(opts.plan_file)
    elif manifest is not None:
        try:
            plan = Plan.from_dict(manifest.get("plan") or {"packages": []}, where=f"{opts.offline} manifest")
        except PlanFormatError as exc:
            raise InstallError(str(exc)) from None
        problems = offline.check_target(manifest, machine.python.version, machine.python.platform_tag)
        if problems:
            raise InstallError(f"--offline {opts.offline}: " + "; ".join(problems))
    else:
        if not requests:
            raise InstallError("name at least one package (or pass --plan FILE / --offline DIR)")
        plan = make_install_plan(machine, requests, net)
    rep.plan = plan
    pkgs = order_packages(select_packages(plan, requests))
    rep.packages = [p.label or p.name for p in pkgs]
    wanted = {p.name for p in pkgs}
    blocked = [b for b in plan.blocked if not requests or b.package in wanted or _req_matches(b.package, requests)]
    if blocked:
        rep.status = "blocked"
        for b in blocked:
            rep.causes.append({"label": b.label or "other", "explanation": f"{b.package}: {b.blocking}",
                               "evidence": [], "fix": b.fix})
        ui.show_plan(rep, [], Conflicts(()))
        return rep
    if not pkgs:
        if requests and manifest is not None:
            raise InstallError(f"--offline {opts.offline}: its plan has none of {', '.join(requests)} "
                               f"(it has {', '.join(p.name for p in plan.packages) or 'nothing'})")
        rep.status = "nothing"
        ui.show_plan(rep, [], Conflicts(()))
        return rep

    # the environment and the installer
    env: TargetEnv | None = None
    if not create:
        try:
            env = inspect_env(target)
        except EnvError as exc:
            raise InstallError(str(exc)) from None
    try:
        installer = find_installer(base_python if create else target, opts.installer,
                                   pip_version_hint=env.pip_version if env is not None else "")
    except ExecutorError as exc:
        raise InstallError(str(exc)) from None
    if create:
        installer = dataclasses.replace(installer, python=target)
    rep.installer = installer.name
    conflicts = find_conflicts(env, machine, pkgs) if env is not None else Conflicts(())
    rep.removals = [r.to_dict() for r in conflicts.removals]
    rep.notes = list(conflicts.notes)

    sdists: dict[str, Path | None] = {}
    for p in pkgs:
        if p.is_source and opts.offline is not None and manifest is not None:
            sdists[p.name] = offline.sdist_for(offline.checked_folder(opts.offline, manifest), manifest, p.dist_name, p.version)
    planned: list[Step] = []
    if create:
        make_venv = venv_command(str(opts.venv), base_python, installer, offline=opts.offline is not None)  # offline: no uv --seed
        planned.append(Step("venv", f"create the virtual environment {opts.venv}", "", make_venv))
    planned += [build_step(p, opts.cuda_archs, sdists.get(p.name)) for p in pkgs if p.is_source]
    planned += removal_steps(conflicts, installer)
    for p in pkgs:
        if p.is_source:
            planned += built_wheel_steps(p, None, env or _fake_env(target, machine), installer, net)
        else:
            try:
                planned += _binary_steps(p, pkgs, locked, installer, net)
            except ExecutorError as exc:
                raise InstallError(f"plan package {p.name}: {exc}") from None
    rep.steps = [{"kind": s.kind, "title": s.title, "command": s.display()} for s in planned]
    ui.show_plan(rep, planned, conflicts)
    if opts.dry_run:
        rep.status = "dry-run"
        return rep

    # consent for removals
    if conflicts.removals and not opts.yes:
        listing = "; ".join(f"{r.describe()} ({r.reason})" for r in conflicts.removals)
        if not ui.confirm(f"Remove {listing}?"):
            rep.status = "refused"
            rep.error = "competing copies must be removed first: run again with --yes to allow it"
            return rep

    # builds (nothing in the environment changes yet)
    built: dict[str, Path] = {}
    for p in pkgs:
        if not p.is_source:
            continue
        ok, wheel = _build(p, opts, machine, target if not create else base_python, sdists.get(p.name), ui, log, rep)
        if not ok:
            rep.status = "failed"
            return rep
        built[p.name] = wheel

    # the transaction
    created_venv = ""
    view = ui.view() if opts.progress else ProgressView(enabled=False)
    keep_venv_dir = False
    if create:
        # The user may have made the (empty) folder: then a failure empties it again but leaves it.
        keep_venv_dir = opts.venv.is_dir()
        try:
            res = run_step(planned[0].command, log, view)
        except BaseException:  # Ctrl-C half-way through `venv`: no half environment is left behind
            with interrupts_deferred():
                remove_venv(opts.venv, keep_dir=keep_venv_dir)
            raise
        rep.steps[0].update(rc=res.returncode, seconds=round(res.seconds, 1), ok=res.ok)
        if not res.ok:
            remove_venv(opts.venv, keep_dir=keep_venv_dir)
            rep.status = "failed"
            rep.failed_step = planned[0].title
            rep.causes = explain_output(res.output, machine, "install")
            return rep
        created_venv = str(opts.venv)
        try:
            env = inspect_env(target)
        except EnvError as exc:
            remove_venv(opts.venv, keep_dir=keep_venv_dir)
            raise InstallError(str(exc)) from None
    assert env is not None
    steps: list[Step] = removal_steps(conflicts, installer)
    for p in pkgs:
        steps += built_wheel_steps(p, built[p.name], env, installer, net) if p.is_source else _binary_steps(p, pkgs, locked, installer, net)
    rep.steps = ([rep.steps[0]] if create else []) + [{"kind": s.kind, "title": s.title, "command": s.display()} for s in steps]
    offset = 1 if create else 0
    base = txn_base(env)
    try:
        lock = EnvLock(base)
        lock.acquire()
    except LockBusy as exc:
        rep.status = "failed"
        rep.error = str(exc)
        return rep
    try:
        for journal, rb in recover(base, installer.freeze(), log):
            if rb is not None:
                rep.recovered.append(f"an interrupted install ({journal.id}) was rolled back first: "
                                     + ("exactly" if rb.exact else f"with problems, backup kept in {rb.kept_backup}"))
        txn = Transaction(env, base, installer.freeze(), log, extra_roots=conflicts.extra_roots, created_venv=created_venv,
                          keep_venv_dir=keep_venv_dir)
        return _apply(txn, steps, offset, pkgs, opts, machine, installer, target, ui, view, log, rep)
    finally:
        lock.release()


def _binary_steps(p: PackagePlan, pkgs: Sequence[PackagePlan], locked: Path | None, installer: Installer, net: NetOptions) -> list[Step]:
    """The plan's own command for a binary package; with a lock, one hash-checked step for all of them
    (at the first such package), so exactly the locked files are installed."""
    if locked is None:
        return [package_step(p, installer, net)]

    if not covered_by_lock(p):
        return [package_step(p, installer, net)]
    if p is not next(q for q in pkgs if covered_by_lock(q)):
        return []
    return [Step("install", f"install the locked files (hash-checked, {locked.name})", p.name,
                 installer.install(lock_command_args(locked), net), pkg=p)]


def _req_matches(name: str, requests: Sequence[str]) -> bool:

    return request_key(name) in {request_key(r) for r in requests}


def _fake_env(target: str, machine: Machine) -> TargetEnv:
    """A stand-in for a venv that does not exist yet (dry run): enough to print the commands."""
    py = machine.python
    return TargetEnv(python=target, version=py.version, prefix="", base_prefix="", env_kind="venv", purelib="",
                     platlib="", scripts="", data="", implementation=py.implementation or "cpython",
                     platform=py.platform_tag.replace("_", "-", 1))


def _build(pkg: PackagePlan, opts: InstallOptions, machine: Machine, python: str, sdist: Path | None, ui: UI, log: RunLog,
           rep: InstallReport) -> tuple[bool, Path | None]:
    name = pkg.name
    entry: dict[str, Any] = {"package": name, "version": pkg.version}
    rep.builds.append(entry)
    if opts.offline is not None and sdist is None:
        entry.update(ok=False, problems=[f"no {pkg.dist_name} sdist in {opts.offline}"])
        rep.failed_step = f"build {name}"
        rep.causes.append({"label": "no_matching_distribution", "explanation": f"the offline folder has no source of {name}",
                           "evidence": [], "fix": f"gpuready download {name} --machine FILE -d {opts.offline} on a machine with network"})
        return False, None
    build = pkg.build or {}
    archs = list(opts.cuda_archs or build.get("cuda_arch_bin") or []) or None
    log.section(f"build {name} {pkg.version or ''} (gpuready build; its own log is kept too)")
    ui.message(f"Building {pkg.dist_name} {pkg.version or ''} from source (this can take minutes; a cached wheel is reused)")
    checked = offline.checked_folder(opts.offline) if opts.offline is not None else None
    pip_args = ("--no-index", "--find-links", str(checked)) if checked is not None else ()
    with offline_env(checked):
        res = build_wheel(machine, name, version=pkg.version, sdist=sdist, cuda_archs=archs, python=python,
                          jobs=opts.jobs, progress=opts.progress, use_cache=opts.use_cache, pip_args=pip_args,
                          cuda_major=_cuda_major(build))
    wheel = res.wheel
    entry.update(ok=res.ok, wheel=str(wheel) if wheel else "", cached=res.cached, seconds=round(res.seconds, 1),
                 cuda_enabled=res.cuda_enabled, log=str(res.log or ""), problems=list(res.problems))
    log.write(f"build {name}: ok={res.ok} wheel={wheel} cached={entry['cached']} cuda_enabled={entry['cuda_enabled']} "
              f"seconds={entry['seconds']} log={entry['log']}")
    failed = not res.ok or wheel is None
    if not failed and pkg.gpu and entry["cuda_enabled"] is False:
        failed = True
        entry["problems"].append("the build finished without CUDA: installing it would give a CPU-only module")
    if failed:
        rep.failed_step = f"build {name}"
        cause = dict(res.cause) if res.cause else {}
        if not cause and res.label:  # the build's own log reader named it
            cause = {"label": res.label, "explanation": res.missing or "; ".join(entry["problems"]),
                     "evidence": [], "fix": res.fix}
        if cause:
            rep.causes.append(cause)
        elif entry["log"]:
            try:
                text = Path(entry["log"]).read_text(encoding="utf-8", errors="replace")
            except OSError:
                text = ""
            rep.causes.extend(explain_output(text, machine, "build", name))
        if not rep.error:
            rep.error = "; ".join(entry["problems"]) or f"the {name} build failed"
        return False, None
    return True, wheel


def _cuda_major(build: dict) -> int | None:
    """The CUDA major the plan's build settings use: install builds what the plan showed."""
    major = str(build.get("cuda_version") or "").split(".")[0]
    return int(major) if major.isdigit() else None


def _apply(txn: Transaction, steps: list[Step], offset: int, pkgs: Sequence[PackagePlan], opts: InstallOptions, machine: Machine,
           installer: Installer, target: str, ui: UI, view: ProgressView, log: RunLog, rep: InstallReport) -> InstallReport:
    failure: StepFailed | None = None
    verify_problems: list[str] = []
    try:
        with interrupts_raise():
            snap = txn.begin()
            if snap is not None:
                rep.snapshot = {"files": snap.files, "seconds": snap.seconds, "linked_mb": round(snap.linked_bytes / 1e6, 1),
                                "copied_mb": round(snap.copied_bytes / 1e6, 1), "unreadable": len(snap.failed)}
            with view:
                for i, step in enumerate(steps):
                    view.start_step(i + 1, len(steps), step.title)
                    txn.record(step.title)
                    if step.kind == "remove":
                        assert step.removal is not None
                        fails = remove_files(step.removal.paths, keep=(step.removal.location,))
                        rep.steps[offset + i].update(ok=not fails)
                        view.end_step(not fails)
                        log.section(f"removed {step.removal.describe()}: {len(step.removal.paths)} paths, {len(fails)} failures")
                        if fails:
                            raise StepFailed(step, None, "could not delete: " + "; ".join(fails[:3]))
                        continue
                    assert step.command is not None
                    parser = OutputParser()
                    res = run_step(step.command, log, view, on_start=txn.child_started, parser=parser)
                    rep.steps[offset + i].update(rc=res.returncode, seconds=round(res.seconds, 1), ok=res.ok)
                    slow = parser.slow_downloads(float(knowledge.setting("slow_download_kbps")))
                    for d in slow[:1]:
                        rep.hints.append(mirror_hint(f"{d.name} came at {d.kbps:.0f} kB/s"))
                    view.end_step(res.ok)
                    if not res.ok:
                        raise StepFailed(step, res)
            if opts.verify:
                names = verify_names(pkgs)
                if names:
                    ui.message(f"Verifying {', '.join(names)} on this machine (a real workload in a child process) ...")
                    found = run_verify(target, names, opts.timeout)
                    rep.verify = [dict(f.to_dict(), framework=n) for n, fs in found.items() for f in fs]
                    gpu = {module_of(p.dist_name) for p in pkgs if p.gpu}
                    verify_problems = judge_verify(found, gpu)
                    if verify_problems and not opts.keep_on_verify_failure:
                        raise VerifyFailed("; ".join(verify_problems))
    except StepFailed as exc:
        failure = exc
    except VerifyFailed:
        pass
    except KeyboardInterrupt as exc:
        ui.message("Interrupted: rolling back (this finishes even if you press Ctrl-C again) ...")
        rb = txn.rollback(lambda: ui.message("Still rolling back; please wait."))
        rep.status = "interrupted"
        rep.error = str(exc) or "interrupted"
        rep.rollback = _rollback_dict(rb)
        raise
    if failure is None and not (verify_problems and not opts.keep_on_verify_failure):
        after, ok = _freeze(installer)
        if ok and txn.snapshot is not None:

            rep.changes = freeze_diff(txn.snapshot.freeze, after)
        txn.commit()
        rep.status = "installed"
        if verify_problems:
            rep.hints.append("verify failed, and --keep-on-verify-failure kept the install: " + "; ".join(verify_problems))
        return rep
    # roll back, then explain
    ui.message("Rolling back to the state before the install ...")
    rb = txn.rollback(lambda: ui.message("Still rolling back; please wait."))
    rep.rollback = _rollback_dict(rb)
    if failure is not None:
        rep.status = "rolled-back"
        rep.failed_step = failure.step.title
        output = failure.result.output if failure.result is not None else failure.why
        rep.error = failure.why or f"`{failure.step.display()}` exited with status {failure.result.returncode if failure.result else '?'}"
        rep.causes = explain_output(output, machine, "install", failure.step.package or None)
        rep.causes = network_first(rep.causes, output)
        if rep.causes and rep.causes[0]["label"] == "network":
            rep.hints.insert(0, mirror_hint())
    else:
        rep.status = "verify-failed"
        rep.failed_step = "verify"
        rep.error = "; ".join(verify_problems)
        for f in rep.verify:
            if f.get("severity") in ("error", "warning") and f.get("label"):
                rep.causes.append({"label": f["label"], "explanation": f.get("message", ""), "evidence": list(f.get("evidence", []))[:3],
                                   "fix": f.get("fix", "")})
    return rep


def _freeze(installer: Installer) -> tuple[list[str], bool]:

    return freeze(installer.freeze())


def _rollback_dict(rb) -> dict:
    r = rb.restore
    out = {"exact": rb.exact, "removed_venv": rb.removed_venv, "kept_backup": rb.kept_backup}
    if r is not None:
        out.update(removed=len(r.removed), restored=len(r.restored), failed=r.failed[:10], differences=r.differences[:10],
                   freeze_identical=(r.freeze_before == r.freeze_after) if r.freeze_checked else None, seconds=r.seconds)
    return out
