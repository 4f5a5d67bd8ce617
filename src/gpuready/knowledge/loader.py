"""Typed, validated loading of the knowledge TOML files.

Knowledge is data so that a new CUDA release, GPU or error signature is a data edit.
The price of data is that a typo is only found when it is read; this loader turns
every row into a frozen dataclass and checks field names and types on the way, so a
broken file fails a test (and the user's command) with the file and the entry named,
never with a KeyError somewhere in `plan`.
"""

from __future__ import annotations

import functools
import sys
from importlib import resources
from typing import Any, TypeVar

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

from gpuready.typed import decode

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


def build(cls: type[T], row: Any, where: str) -> T:
    """Build the dataclass `cls` from a TOML table, checking names, types and its validate()."""
    return decode(cls, row, where, KnowledgeError, sep=": ")
