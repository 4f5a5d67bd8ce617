"""Frozen dataclasses to and from plain data (JSON, TOML), checked on the way in.

Three kinds of typed data cross gpuready's edges: the Machine (a saved machine file), the Plan
(`plan --json`, `install --plan FILE`, the offline manifest) and the knowledge rows (TOML). Each is
a tree of frozen dataclasses, and each must be read back with every name and type checked, so a
typo or a hand-edited file fails with the field named instead of a KeyError later. This is the one
decoder all three use; each passes its own error class (MachineFormatError, PlanFormatError,
KnowledgeError), and a class's `validate()` method, when it has one, checks values after the types.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from typing import Any, Mapping, TypeVar, Union

T = TypeVar("T")


def encode(value: Any) -> Any:
    """A dataclass tree as JSON-ready data: tuples become lists, mappings dicts."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (tuple, list)):
        return [encode(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): encode(v) for k, v in value.items()}
    return value


@functools.lru_cache(maxsize=None)
def _hints(cls: type) -> dict[str, Any]:
    """Type hints per dataclass, resolved once (get_type_hints per row is a visible share of a cold load)."""
    return typing.get_type_hints(cls)


def decode(tp: Any, value: Any, where: str, error: type[ValueError] = ValueError, sep: str = ".") -> Any:
    """`value` (parsed JSON or TOML) as type `tp`; raises `error` naming the place `where` on any mismatch
    (a field's place is `where` + `sep` + its name)."""
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise error(f"{where}: expected a table/object, got {type(value).__name__}")
        hints = _hints(tp)
        fields = dataclasses.fields(tp)
        unknown = sorted(set(value) - {f.name for f in fields})
        if unknown:
            raise error(f"{where}: unknown key(s) {', '.join(map(str, unknown))}")
        kwargs = {}
        for f in fields:
            if f.name in value:
                kwargs[f.name] = decode(hints[f.name], value[f.name], f"{where}{sep}{f.name}", error, sep)
            elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise error(f"{where}: missing key {f.name!r}")
        obj = tp(**kwargs)
        check = getattr(obj, "validate", None)
        if check is not None:
            try:
                check()
            except (ValueError, TypeError) as exc:
                raise error(f"{where}: {exc}") from None
        return obj
    if origin in (Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None:
            if type(None) in typing.get_args(tp):
                return None
            raise error(f"{where}: a value is required")
        first: ValueError | None = None
        for arg in args:
            try:
                return decode(arg, value, where, error, sep)
            except error as exc:
                first = first or exc
        raise first or error(f"{where}: unexpected {value!r}")
    if origin is tuple:
        if not isinstance(value, list):
            raise error(f"{where}: expected a list, got {type(value).__name__}")
        item = typing.get_args(tp)[0]
        return tuple(decode(item, v, f"{where}[{i}]", error, sep) for i, v in enumerate(value))
    if origin in (dict, Mapping) or tp in (dict, Mapping):
        if not isinstance(value, dict):
            raise error(f"{where}: expected a table/object, got {type(value).__name__}")
        args = typing.get_args(tp)
        if len(args) == 2:
            return {str(k): decode(args[1], v, f"{where}{sep}{k}", error, sep) for k, v in value.items()}
        return dict(value)
    if tp is bool:
        if not isinstance(value, bool):
            raise error(f"{where}: expected true/false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise error(f"{where}: expected an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise error(f"{where}: expected a number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise error(f"{where}: expected a string, got {value!r}")
        return value
    return value  # Any
