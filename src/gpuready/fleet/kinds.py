"""Kinds of machine in a fleet: what `fleet plan` plans once per kind, and the GPU architectures
`build --for-fleet` compiles for.

Two machines get the same plan when the plan's inputs agree: OS, CPU architecture, Python
minor version, the CUDA the driver supports, and the GPUs' compute capabilities. Host names,
framework copies and toolkits do not change what `plan` chooses, so they do not split a kind.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from gpuready.knowledge.cuda import cc_int, cuda_mm
from gpuready.machine import Machine


def kind_key(m: Machine) -> tuple:
    driver = cuda_mm(m.driver.cuda_version) if m.driver.present and m.driver.cuda_version else "none"
    ccs = tuple(sorted({g.compute_capability for g in m.gpus if g.compute_capability}, key=cc_int))
    return (m.os.system, m.os.arch, m.python.minor, driver, ccs)


def kind_name(key: tuple) -> str:
    system, arch, py, driver, ccs = key
    gpus = "CC " + ", ".join(ccs) if ccs else "no GPU"
    return f"{system} {arch}, Python {py}, driver CUDA {driver}, {gpus}"


def group(machines: list[tuple[str, Machine]]) -> "OrderedDict[tuple, list[tuple[str, Machine]]]":
    kinds: OrderedDict[tuple, list[tuple[str, Machine]]] = OrderedDict()
    for name, m in machines:
        kinds.setdefault(kind_key(m), []).append((name, m))
    return kinds


def fleet_archs(machines: list[Machine]) -> list[str]:
    """The union of the fleet's compute capabilities, oldest first ("7.5", "8.6", "9.0")."""
    found = {g.compute_capability for m in machines for g in m.gpus if g.compute_capability}
    return sorted(found, key=cc_int)


def _install_id(p: dict) -> tuple:
    return (p.get("name"), p.get("version"), p.get("variant"), tuple(p.get("install") or ()), p.get("index_url"))


def fleet_plan(machines: list[tuple[str, Machine]], packages: list[str]) -> dict[str, Any]:
    """One plan per kind (planned on its first machine), what every kind installs alike, what
    differs, and the source builds several kinds could share as one multi-architecture wheel."""
    from gpuready.plan import make_plan

    kinds = group(machines)
    out_kinds = []
    for key, members in kinds.items():
        plan = make_plan(members[0][1], list(packages)).to_dict()
        out_kinds.append({"name": kind_name(key), "machines": [n for n, _ in members], "plan": plan,
                          "python": key[2], "os": key[0], "arch": key[1], "ccs": list(key[4])})
    shared, differs = [], []
    names = [p["name"] for p in out_kinds[0]["plan"]["packages"]] if out_kinds else []
    for name in names:
        per_kind = [(k["name"], next((p for p in k["plan"]["packages"] if p["name"] == name), None)) for k in out_kinds]
        ids = {(_install_id(p) if p else None) for _k, p in per_kind}
        first = per_kind[0][1]
        if len(ids) == 1 and first is not None:
            shared.append({"package": name, "label": first.get("label") or first.get("version"),
                           "install": first.get("install"), "kinds": len(out_kinds)})
        else:
            differs.append({"package": name, "by_kind": [{"kind": k, "label": (p or {}).get("label") or (p or {}).get("version"),
                                                           "variant": (p or {}).get("variant"), "install": (p or {}).get("install")}
                                                          for k, p in per_kind]})
    builds = _fleet_builds(out_kinds)
    return {"machines": [n for n, _ in machines], "kinds": out_kinds, "shared": shared, "differs": differs,
            "fleet_builds": builds}


def _fleet_builds(kinds: list[dict]) -> list[dict]:
    """Source builds (dlib, OpenCV) that kinds differing only in GPU architecture can share: one wheel
    holds code for every architecture, so the lab builds once and every node installs it."""
    groups: dict[tuple, dict] = {}
    for k in kinds:
        for p in k["plan"]["packages"]:
            b = p.get("build")
            if p.get("variant") != "source" or not b:
                continue
            gkey = (p["name"], p.get("version"), k["os"], k["arch"], k["python"], p.get("cuda"))
            g = groups.setdefault(gkey, {"package": p["name"], "version": p.get("version"), "python": k["python"],
                                         "cuda": p.get("cuda"), "kinds": [], "archs": set()})
            g["kinds"].append(k["name"])
            g["archs"].update(b.get("cuda_arch_bin") or k["ccs"])
    out = []
    for g in groups.values():
        archs = sorted(g["archs"], key=cc_int)
        out.append({**g, "archs": archs, "shared": len(g["kinds"]) > 1,
                    "command": f"gpuready build {g['package']} --version {g['version']} --cuda-arch {','.join(archs)}"
                    if archs else ""})
    return out


def render_fleet_plan(result: dict) -> None:
    from rich.markup import escape

    from gpuready.report.terminal import console

    con = console()
    kinds = result["kinds"]
    con.print(f"[bold]gpuready fleet plan[/]: {len(result['machines'])} machine(s), {len(kinds)} kind(s)")
    for i, k in enumerate(kinds, 1):
        con.print()
        con.print(f"[bold]kind {i}[/]: {escape(k['name'])}  ({escape(', '.join(k['machines']))})")
        for p in k["plan"]["packages"]:
            how = " ".join(p.get("install") or []) or "-"
            con.print(f"  {escape(p['name'])}: {escape(str(p.get('label') or p.get('version') or '-'))} "
                      f"({escape(str(p.get('variant')))})  [dim]{escape(how)}[/]", highlight=False, soft_wrap=True)
        for b in k["plan"].get("blocked") or []:
            con.print(f"  [red]x {escape(b['package'])}: {escape(b['blocking'])}[/]  fix: {escape(b['fix'])}",
                      highlight=False, soft_wrap=True)
    con.print()
    if result["shared"]:
        con.print("[bold]shared by every kind[/]: " + escape(", ".join(f"{s['package']} {s['label']}" for s in result["shared"])),
                  soft_wrap=True)
    number = {k["name"]: i for i, k in enumerate(kinds, 1)}
    for d in result["differs"]:
        groups: dict[str, list[int]] = {}
        for x in d["by_kind"]:
            groups.setdefault(f"{x['label'] or '-'}", []).append(number[x["kind"]])
        con.print(f"[bold]differs[/]: {escape(d['package'])}: "
                  + escape("; ".join(f"{label} for kind{'s' if len(ks) > 1 else ''} {', '.join(map(str, ks))}"
                                     for label, ks in groups.items())), soft_wrap=True)
    for b in result["fleet_builds"]:
        if b["shared"]:
            con.print(f"[bold]one wheel for {len(b['kinds'])} kinds[/]: {escape(b['package'])} {escape(str(b['version']))} "
                      f"for CC {escape(', '.join(b['archs']))}: {escape(b['command'])}  (or `gpuready build {escape(b['package'])} "
                      f"--for-fleet --machines DIR`), then serve it with `gpuready cache serve`", soft_wrap=True)
