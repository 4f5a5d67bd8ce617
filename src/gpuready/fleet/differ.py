"""What differs across the nodes that reported: the odd driver, the CPU build of torch, the second cuDNN.

Each node is reduced to a few comparable facts (strings); a fact with more than one value across
the fleet is a `Difference`, with the value most nodes share as "common" and every other node
named with its own value. The order of the facts is the order a lab reads them in: the driver and
the GPUs first (they decide what can run at all), then each framework's build and verdict, then
the CUDA libraries, Python and the OS, then problems that only some nodes have.
"""

from __future__ import annotations

from collections import Counter

from gpuready.findings import Finding
from gpuready.fleet.model import Difference, NodeReport
from gpuready.machine import Framework, Machine


def gpu_summary(m: Machine) -> str:
    """ "2x NVIDIA H200 (CC 9.0)" per model, "none" without GPUs."""
    if not m.gpus:
        return "none"
    count: Counter[tuple[str, str]] = Counter((g.name, g.compute_capability or "?") for g in m.gpus)
    return ", ".join(f"{n}x {name} (CC {cc})" for (name, cc), n in count.items())


def driver_summary(m: Machine) -> str:
    if not m.driver.present:
        return "none"
    return m.driver.version


def framework_verdict(fw: Framework, findings: tuple[Finding, ...] = ()) -> str:
    """What the doctor said of one framework, in a few words: "works on the GPU", "CPU-only build"...

    The words come from the doctor's finding for this framework when there is one (its label for a
    problem), else from the facts the probe recorded, the same facts the doctor judged.
    """
    mine = [f for f in findings if fw.version and f.subject.endswith(" " + fw.version)]
    problem = next((f for f in mine if f.is_problem), None)
    if fw.status != "ok":
        how = {"crashed": f"crashed ({fw.signal or 'signal'})", "timeout": "import hung", "import_error": "import fails"}
        return how.get(fw.status, fw.status)
    if problem is not None:
        return f"{problem.label or problem.severity}"
    if fw.cuda_build is False:
        return "CPU-only build"
    if fw.sees_gpu:
        return "works on the GPU"
    if fw.cuda_build:
        return "CUDA build, sees no GPU"
    return "installed"


def framework_fact(fw: Framework | None, findings: tuple[Finding, ...] = ()) -> str:
    if fw is None:
        return "not installed"
    build = f"CUDA {fw.cuda_version}" if fw.cuda_build and fw.cuda_version else ""
    head = " ".join(x for x in (fw.version or "?", build) if x)
    return f"{head}: {framework_verdict(fw, findings)}"


def cudnn_summary(m: Machine) -> str:
    if not m.cudnns:
        return "none"
    versions = [f"{c.version or '?'} ({c.origin or '?'})" for c in m.cudnns]
    prefix = f"{len(versions)} copies: " if len(versions) > 1 else ""
    return prefix + ", ".join(versions)


def toolkit_summary(m: Machine) -> str:
    if not m.toolkits:
        return "none"
    return ", ".join(sorted({t.version or "?" for t in m.toolkits}))


def facts(node: NodeReport, framework_names: list[str], problem_labels: list[str]) -> list[tuple[str, str, str]]:
    """(key, what, value) for one node that reported, in reading order."""
    m = node.machine
    assert m is not None
    rows: list[tuple[str, str, str]] = [
        ("driver", "NVIDIA driver", driver_summary(m)),
        ("driver_cuda", "driver's CUDA", m.driver.cuda_version or "none"),
        ("gpus", "GPUs", gpu_summary(m)),
    ]
    for name in framework_names:
        rows.append((f"framework:{name}", name, framework_fact(m.framework(name), node.findings)))
    rows += [
        ("cudnn", "cuDNN", cudnn_summary(m)),
        ("toolkits", "CUDA toolkits", toolkit_summary(m)),
        ("python", "Python", m.python.version or "?"),
        ("os", "OS", f"{m.os.distro or m.os.system} {m.os.arch}".strip()),
    ]
    labels = {f.label for f in node.problems if f.label}
    for label in problem_labels:
        rows.append((f"problem:{label}", f"problem [{label}]", "yes" if label in labels else "no"))
    rows.append(("gpuready", "gpuready version", m.gpuready_version or "?"))
    return rows


def differences(nodes: list[NodeReport]) -> list[Difference]:
    """Every fact that is not the same on all reporting nodes (none with fewer than two)."""
    reporting = [n for n in nodes if n.reported]
    if len(reporting) < 2:
        return []
    framework_names: list[str] = []
    problem_labels: list[str] = []
    for n in reporting:
        assert n.machine is not None
        for fw in n.machine.frameworks:
            if fw.name not in framework_names:
                framework_names.append(fw.name)
        for f in n.problems:
            if f.label and f.label not in problem_labels:
                problem_labels.append(f.label)
    table = {n.name: facts(n, framework_names, problem_labels) for n in reporting}
    order = [(k, what) for k, what, _ in table[reporting[0].name]]
    out: list[Difference] = []
    for i, (key, what) in enumerate(order):
        values = {name: rows[i][2] for name, rows in table.items()}
        if len(set(values.values())) < 2:
            continue
        counts = Counter(values.values())
        # the most common value; on a tie, the one the first node has (a stable, explainable choice)
        top = max(counts.values())
        common = next(v for v in values.values() if counts[v] == top)
        if key.startswith("problem:"):
            common = "no"  # a problem is the odd one out, however many nodes have it
        out.append(
            Difference(
                key=key,
                what=what,
                common=common,
                common_nodes=tuple(n for n, v in values.items() if v == common),
                odd=tuple((n, v) for n, v in values.items() if v != common),
            )
        )
    return out


def unique_names(names: list[str], tags: list[tuple[str, ...]], ids: list[str]) -> list[str]:
    """Host names made unique: when several nodes share one (Ray nodes on one host, containers
    named alike), each gets its first tag, else a short id, after a slash."""
    counts = Counter(names)
    out = []
    for name, tag, ident in zip(names, tags, ids):
        if counts[name] > 1:
            suffix = tag[0] if tag else (ident[:6] if ident else "")
            name = f"{name}/{suffix}" if suffix else name
        out.append(name)
    # still repeated (two nodes with the same first tag): number them
    seen: Counter[str] = Counter()
    final = []
    again = Counter(out)
    for name in out:
        if again[name] > 1:
            seen[name] += 1
            final.append(f"{name}#{seen[name]}")
        else:
            final.append(name)
    return final


def finish(report) -> None:
    """Give every node a unique name, then compute the differences (in place)."""
    import dataclasses

    names = unique_names([n.name for n in report.nodes], [n.tags for n in report.nodes], [n.node_id for n in report.nodes])
    report.nodes = [dataclasses.replace(n, name=name) for n, name in zip(report.nodes, names)]
    report.differences = differences(report.nodes)
