"""The fleet: gpuready's doctor over a lab's machines at once, and what differs between them.

A lab's GPU boxes drift apart: one got a driver update, one has a CPU build of torch from a
hurried `pip install`, one picked up a second cuDNN. `gpuready fleet doctor` runs the same doctor
on every node (through Ray, through Slurm's srun, or over saved machine files) and puts what
differs on top, so the odd node is the first line a person reads.

The stage only gathers and compares: every node's verdicts are the doctor's own (its `--json`
output, or `gpuready.doctor.diagnose` on a saved machine), so a fact has one label whichever
command finds it.

Layout: `model` (one node's report, the fleet's), `differ` (what differs), `render` (table,
Markdown), `ray_backend`, `slurm`, `saved` (the three ways to gather), `noderun` (what runs on
a node: stdlib only, shipped to Ray workers by value), `kinds` (machine kinds for `fleet plan`,
the union of compute capabilities for `build --for-fleet`).
"""

from gpuready.fleet.model import FleetReport, NodeReport

__all__ = ["FleetReport", "NodeReport"]
