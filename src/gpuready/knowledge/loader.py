"""Typed, validated loading of the knowledge TOML files.

Knowledge is data so that a new CUDA release, GPU or error signature is a data edit.
The price of data is that a typo is only found when it is read; this loader turns
every row into a frozen dataclass and checks field names and types on the way, so a
broken file fails a test (and the user's command) with the file and the entry named,
never with a KeyError somewhere in `plan`.
"""

from __future__ import annotations

import dataclasses
import functools
import sys
import types
import typing
from importlib import resources
from typing import Any, TypeVar, Union

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

T = TypeVar("T")

DATA_PACKAGE = "gpuready.knowledge.data"


class KnowledgeError(ValueError):
    """A knowledge data file is missing, not valid TOML, or has an entry of the wrong shape."""


@functools.lru_cache(maxsize=None)
def read_data_file(filename: str) -> dict[str, Any]:
    """The parsed TOML of one packaged data file (cached: the files never change at run time)."""
    try:
        text = resources.files(DATA_PACKAGE).joinpath(filename).read_text(encoding="utf-8")
    except (FileNotFoundError, OSError) as exc:
        raise KnowledgeError(f"knowledge file {filename}: cannot read ({exc})") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise KnowledgeError(f"knowledge file {filename}: not valid TOML ({exc})") from None


def entry_name(row: dict[str, Any], index: int) -> str:
    for key in ("name", "id", "version", "cuda", "label", "package"):
        if key in row:
            return f"{key}={row[key]!r}"
    return f"#{index + 1}"


def load_table(filename: str, table: str, cls: type[T], *, required: bool = True) -> tuple[T, ...]:
    """Rows of the array-of-tables `[[table]]` in `filename`, each checked and built as `cls`."""
    data = read_data_file(filename)
    rows = data.get(table)
    if rows is None:
        if required:
            raise KnowledgeError(f"knowledge file {filename}: no [[{table}]] entries")
        return ()
    if not isinstance(rows, list):
        raise KnowledgeError(f"knowledge file {filename}: {table} must be an array of tables ([[{table}]])")
    return tuple(build(cls, row, f"{filename} [[{table}]] {entry_name(row, i)}") for i, row in enumerate(rows))


@functools.lru_cache(maxsize=None)
def _hints(cls: type) -> dict[str, Any]:
    """Type hints per dataclass, resolved once (get_type_hints per row was a visible share of cold loads)."""
    return typing.get_type_hints(cls)


def build(cls: type[T], row: Any, where: str) -> T:
    """Build the dataclass `cls` from a TOML table, checking names and types."""
    if not isinstance(row, dict):
        raise KnowledgeError(f"{where}: expected a table, got {type(row).__name__}")
    hints = _hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(row) - set(fields))
    if unknown:
        raise KnowledgeError(f"{where}: unknown key(s) {', '.join(unknown)}")
    kwargs = {}
    for name, f in fields.items():
        if name in row:
            kwargs[name] = _coerce(hints[name], row[name], f"{where}: {name}")
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise KnowledgeError(f"{where}: missing key {name!r}")
    obj = cls(**kwargs)
    check = getattr(obj, "validate", None)
    if check is not None:
        try:
            check()
        except (ValueError, TypeError) as exc:
            raise KnowledgeError(f"{where}: {exc}") from None
    return obj


def _coerce(tp: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None:
            return None
        errors = []
        for arg in args:
            try:
                return _coerce(arg, value, where)
            except KnowledgeError as exc:
                errors.append(str(exc))
        raise KnowledgeError(errors[0])
    if origin is tuple:
        if not isinstance(value, list):
            raise KnowledgeError(f"{where}: expected a list, got {value!r}")
        args = typing.get_args(tp)
        item = args[0]
        return tuple(_coerce(item, v, where) for v in value)
    if origin is dict or tp is dict:
        if not isinstance(value, dict):
            raise KnowledgeError(f"{where}: expected a table, got {value!r}")
        args = typing.get_args(tp)
        if args:
            return {k: _coerce(args[1], v, where) for k, v in value.items()}
        return dict(value)
    if dataclasses.is_dataclass(tp):
        return build(tp, value, where)
    if tp is bool:
        if not isinstance(value, bool):
            raise KnowledgeError(f"{where}: expected true/false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise KnowledgeError(f"{where}: expected an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise KnowledgeError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise KnowledgeError(f"{where}: expected a string, got {value!r}")
        return value
    return value
