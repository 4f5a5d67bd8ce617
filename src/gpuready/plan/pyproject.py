"""pyproject.toml, read the way pip and uv read it: [project] dependencies, the optional-dependencies of
the extras asked for (a self-referencing `mypkg[gpu]` followed), PEP 735 dependency groups, requires-python."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Iterable, Mapping

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from gpuready.plan.projectinput import IndexOptions, ProjectError, ProjectInput, ProjectRequirement, parse_requirement


def _toml(path: Path) -> dict:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ProjectError(f"{path.parent}: no pyproject.toml in it") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ProjectError(f"{path}: cannot read ({getattr(exc, 'strerror', None) or exc})") from None
    except ValueError as exc:
        raise ProjectError(f"{path}: not valid TOML ({exc})") from None


def _string_list(value, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ProjectError(f"{where}: expected a list of requirement strings")
    return value


def read_pyproject(folder: str | Path, env: Mapping[str, str], *, extras: Iterable[str] = (), groups: Iterable[str] = ()) -> ProjectInput:
    """[project] dependencies, the optional-dependencies of `extras`, and the PEP 735 `groups`."""
    folder = Path(folder)
    path = folder / "pyproject.toml" if folder.is_dir() or not folder.name.endswith(".toml") else folder
    data = _toml(path)
    project = data.get("project") if isinstance(data.get("project"), dict) else None
    name = canonicalize_name(str(project.get("name", ""))) if project else ""
    fname = path.name
    texts: list[tuple[str, str]] = []
    notes: list[str] = []
    extras = [canonicalize_name(e) for e in extras]
    groups = list(groups)
    if project is None and not groups:
        raise ProjectError(f"{path}: no [project] table (and no --group asked for): nothing to plan")
    if project is not None:
        dynamic = project.get("dynamic") or []
        if "dependencies" in dynamic:
            raise ProjectError(f"{path}: its dependencies are dynamic (computed by the build backend): gpuready cannot read "
                               "them; give them as -r requirements.txt")
        texts += [(t, f"{fname} [project] dependencies") for t in _string_list(project.get("dependencies", []), f"{path} [project] dependencies")]
        optional = project.get("optional-dependencies") or {}
        if not isinstance(optional, dict):
            raise ProjectError(f"{path}: [project.optional-dependencies] must be a table")
        known = {canonicalize_name(k): k for k in optional}
        todo, done = list(extras), set()
        while todo:
            extra = todo.pop(0)
            if extra in done:
                continue
            done.add(extra)
            if extra not in known:
                have = ", ".join(sorted(optional)) or "none"
                raise ProjectError(f"{path}: no optional-dependencies group {extra!r} (it has: {have})")
            for t in _string_list(optional[known[extra]], f"{path} optional-dependencies.{known[extra]}"):
                try:
                    r = Requirement(t)
                except InvalidRequirement as exc:
                    raise ProjectError(f"{path} optional-dependencies.{known[extra]}: {t!r} is not a package requirement ({exc})") from None
                if name and canonicalize_name(r.name) == name:  # mypkg[gpu] inside mypkg's own extras
                    todo += [canonicalize_name(e) for e in r.extras]
                    continue
                texts.append((t, f"{fname} [project.optional-dependencies] {known[extra]}"))
    elif extras:
        raise ProjectError(f"{path}: --extra needs a [project] table with optional-dependencies")
    if groups:
        table = data.get("dependency-groups")
        if not isinstance(table, dict):
            raise ProjectError(f"{path}: no [dependency-groups] table (PEP 735) for --group {', '.join(groups)}")
        from packaging.dependency_groups import resolve_dependency_groups

        for group in groups:
            try:
                resolved = resolve_dependency_groups(table, group)
            except Exception as exc:  # LookupError, ValueError, CyclicDependencyGroup, or an ExceptionGroup of them
                why = "; ".join(str(e) for e in getattr(exc, "exceptions", ())) or str(exc)
                have = ", ".join(sorted(table)) or "none"
                raise ProjectError(f"{path} [dependency-groups]: {why} (groups: {have})") from None
            texts += [(t, f"{fname} [dependency-groups] {group}") for t in resolved]
    reqs: list[ProjectRequirement] = []
    skipped: list[str] = []
    for text, where in texts:
        item = parse_requirement(text, env, where)
        if isinstance(item, str):
            skipped.append(item)
        elif name and item.name == name:
            notes.append(f"{where}: {item.requirement} is the project itself: not planned")
        else:
            reqs.append(item)
    requires_python = str(project.get("requires-python", "")) if project else ""
    if requires_python:
        from packaging.specifiers import InvalidSpecifier, SpecifierSet

        try:
            if env.get("python_full_version") and not SpecifierSet(requires_python).contains(env["python_full_version"], prereleases=True):
                raise ProjectError(f"{path}: requires-python {requires_python}, the target has Python {env['python_full_version']}")
        except InvalidSpecifier:
            notes.append(f"{path}: requires-python {requires_python!r} is not a valid specifier (ignored)")
    if project is not None:
        notes.append(f"the project itself ({project.get('name', folder.name)}) is not installed: after its dependencies, "
                     f"`pip install --no-deps -e {folder}`")
    return ProjectInput(tuple(reqs), (), IndexOptions(), (str(path),), tuple(skipped), tuple(notes), requires_python)
