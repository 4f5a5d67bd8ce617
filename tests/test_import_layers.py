"""The stages import each other in one direction, and no modules import each other in a circle.

Layers, lowest first (a module may import its own package and anything below it):
the typed-data decoder, the Machine contract and plumbing, knowledge, reporting, probe, build, plan, explain, verify,
doctor, then install/bench/fleet on top; the command-line modules (`*/command.py`, cli, options)
sit above everything. ARCHITECTURE.md draws the same picture. Imports inside functions count
too (an import moved into a function to hide a cycle is still a cycle); `if TYPE_CHECKING:`
blocks do not, since they never run.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "gpuready"

LAYERS: tuple[tuple[str, ...], ...] = (
    ("typed",),  # the one decoder of typed data: the Machine, the Plan and the knowledge rows read through it
    ("machine", "findings", "proc", "paths", "textsafe", "elf", "__init__"),
    ("knowledge",),
    ("indexconfig",),  # pip's, uv's, conda's index settings and the PyTorch mirror: read by plan, install, explain
    ("diagnosis",),
    ("report",),
    ("probe",),
    ("build",),
    ("plan",),
    ("explain",),
    ("verify",),
    ("doctor",),
    ("install", "bench", "fleet"),
)
TOP = ("cli", "options", "__main__")


def _unit(module: str) -> str:
    """gpuready.plan.solve -> "plan"; gpuready.proc -> "proc"."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _layer(unit: str) -> int:
    for i, units in enumerate(LAYERS):
        if unit in units:
            return i
    raise AssertionError(f"gpuready.{unit} is in no layer: add it to LAYERS (and ARCHITECTURE.md)")


def _module_name(path: Path) -> str:
    rel = path.relative_to(SRC.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(path: Path) -> list[tuple[str, int]]:
    """(imported gpuready module, line) for every import that runs."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[tuple[str, int]] = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for sub in child.orelse:
                    visit(sub)
                continue
            if isinstance(child, ast.Import):
                found.extend((a.name, child.lineno) for a in child.names if a.name.startswith("gpuready"))
            elif isinstance(child, ast.ImportFrom) and child.module and child.level == 0 and child.module.startswith("gpuready"):
                found.append((child.module, child.lineno))
                # `from gpuready.build import cache` imports the module gpuready.build.cache
                found.extend((f"{child.module}.{a.name}", child.lineno) for a in child.names)
            visit(child)

    visit(tree)
    return found


def _sources() -> list[Path]:
    # The verify children run in the interpreter being verified, with no gpuready importable.
    return [p for p in SRC.rglob("*.py") if "children" not in p.parts]


def _known(modules: set[str], name: str) -> str | None:
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def test_stages_import_downwards_only():
    wrong = []
    modules = {_module_name(p) for p in _sources()}
    for path in _sources():
        me = _module_name(path)
        unit = _unit(me)
        if unit in TOP or path.name == "command.py":
            continue
        for target, line in _imports(path):
            target = _known(modules, target) or target
            other = _unit(target)
            if other == unit or target == "gpuready":
                continue
            if other in TOP:
                wrong.append(f"{me}:{line} imports {target} (command-line code)")
            elif _layer(other) >= _layer(unit):
                wrong.append(f"{me}:{line} imports {target} (layer {_layer(other)} >= its own {_layer(unit)})")
    assert not wrong, "\n".join(wrong)


def test_no_import_circles():
    paths = _sources()
    modules = {_module_name(p) for p in paths}
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for path in paths:
        me = _module_name(path)
        for target, _ in _imports(path):
            hit = _known(modules, target)
            if hit and hit != me and not me.startswith(hit + "."):  # a package's own __init__ is not a cycle
                graph[me].add(hit)
    # Tarjan's strongly connected components: any with two or more modules is a circle.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    circles: list[list[str]] = []
    counter = [0]

    def strong(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                circles.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            strong(v)
    assert not circles, circles


def test_every_package_is_in_a_layer():
    for path in _sources():
        unit = _unit(_module_name(path))
        if unit not in TOP:
            _layer(unit)
