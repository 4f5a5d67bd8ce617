"""`gpuready fleet doctor` and `gpuready fleet plan`: argument parsing and rendering only.

Exit codes: 0 every node reported and none has a problem; 1 a node has a problem or did not
report; 2 bad usage (no cluster there, unreadable machine file); 130 interrupted.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click


@click.group(name="fleet")
def fleet() -> None:
    """Doctor and plan across a lab's machines: a Ray cluster, Slurm nodes, or saved machine files."""


def _say(progress: bool):
    if not progress:
        return None
    return lambda line: click.echo(line, err=True)


@fleet.command(name="doctor")
@click.option("--ray", "ray_address", is_flag=False, flag_value="auto", default=None, metavar="ADDRESS",
              help="A running Ray cluster (HOST:PORT; alone: $RAY_ADDRESS or the cluster `ray start` made here). The default.")
@click.option("--slurm", is_flag=True, help="Run on Slurm nodes through srun (one task per node).")
@click.option("--partition", default=None, help="Slurm partition (with --slurm).")
@click.option("--nodes", "node_count", type=click.IntRange(1, 10000), default=None, help="How many Slurm nodes (with --slurm; default 1).")
@click.option("--machine", "machine_files", multiple=True, type=click.Path(path_type=Path),
              help="A saved machine (from `gpuready probe --save`) or a folder of them; repeat for each.")
@click.option("--timeout", type=click.FloatRange(5, 3600), default=180.0, show_default=True,
              help="Seconds each node may take; a node that takes longer is a row that says so.")
@click.option("--import-timeout", "import_timeout", type=click.FloatRange(1, 3600), default=None,
              help="Seconds each framework import may take on a node (default: 60, less when --timeout is short).")
@click.option("--python", "python", default=None, help="On each node, inspect this interpreter's environment (default: the one running gpuready there).")
@click.option("--num-cpus", "num_cpus", type=click.FloatRange(0, 64), default=0.0, show_default=True,
              help="CPUs each Ray task asks for (0: it runs even on a node whose CPUs a job holds).")
@click.option("--srun", "srun", default="srun", show_default=True, hidden=True, help="The srun program (tests).")
@click.option("--json", "as_json", is_flag=True, help="Print the fleet report as JSON.")
@click.option("--markdown", is_flag=True, help="Print a Markdown report.")
@click.option("--progress/--no-progress", "progress", default=None, help="Progress lines on stderr (default: when it is a terminal).")
def doctor(ray_address, slurm, partition, node_count, machine_files, timeout, import_timeout, python, num_cpus, srun,
           as_json, markdown, progress) -> None:
    """The doctor on every node at once: one table, and what differs across the nodes on top.

    Each node runs `gpuready doctor --json` in its own environment (gpuready must be installed
    there, next to Ray or in the Slurm job's PATH). Nodes that are down, die or time out are rows
    that say so.
    """
    from gpuready.fleet.differ import finish

    if as_json and markdown:
        raise click.UsageError("choose one of --json and --markdown")
    sources = sum([bool(machine_files), slurm, ray_address is not None])
    if sources > 1:
        raise click.UsageError("choose one of --ray, --slurm and --machine")
    if (partition or node_count) and not slurm:
        raise click.UsageError("--partition and --nodes go with --slurm")
    show = sys.stderr.isatty() and not as_json if progress is None else progress
    if machine_files:
        from gpuready.fleet.saved import gather as gather_saved

        report = gather_saved(list(machine_files), strict=True)
    elif slurm:
        from gpuready.fleet.slurm import SlurmUnavailable, gather as gather_slurm

        try:
            report = gather_slurm(nodes=node_count or 1, partition=partition, timeout=timeout, python=python,
                                  import_timeout=import_timeout, srun=srun, progress=_say(show))
        except SlurmUnavailable as exc:
            raise click.UsageError(str(exc)) from None
    else:
        from gpuready.fleet.ray_backend import RayUnavailable, gather as gather_ray

        try:
            report = gather_ray(None if ray_address in (None, "auto") else ray_address, timeout=timeout, python=python,
                                num_cpus=num_cpus, import_timeout=import_timeout, progress=_say(show))
        except RayUnavailable as exc:
            raise click.UsageError(str(exc)) from None
    finish(report)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
    elif markdown:
        from gpuready.fleet.render import markdown as md

        click.echo(md(report), nl=False)
    else:
        from gpuready.fleet.render import print_report

        print_report(report)
    sys.exit(0 if report.ok else 1)


@fleet.command(name="plan")
@click.argument("packages", nargs=-1, required=True)
@click.option("--machines", "machines", required=True, multiple=True, type=click.Path(exists=True, path_type=Path),
              help="A folder of saved machines (or a file; repeat for more).")
@click.option("--json", "as_json", is_flag=True, help="Print the plans as JSON.")
def plan(packages, machines, as_json) -> None:
    """One plan per distinct kind of machine in the fleet, and what the kinds can share.

    Machines of one kind (same OS, CPU, Python, driver CUDA and GPU architectures) get the same
    plan, so each kind is planned once; packages every kind installs alike are listed as shared,
    and source builds that differ only in GPU architecture can be one `build --for-fleet` wheel.
    """
    from gpuready.fleet.kinds import fleet_plan, render_fleet_plan
    from gpuready.fleet.saved import load_any, machine_files

    files = machine_files(list(machines))
    loaded = [(p.stem, load_any(p)[0]) for p in files]
    result = fleet_plan(loaded, list(packages))
    if as_json:
        click.echo(json.dumps(result, indent=2))
    else:
        render_fleet_plan(result)
    sys.exit(0 if not any(k["plan"].get("blocked") for k in result["kinds"]) else 1)
