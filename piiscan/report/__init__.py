"""Reporters: turn a finished `ScanResult` into table, JSON, SARIF or GitLab text on a stream.

Reporters only format. Filtering, sorting and masking happened before they are called; they
never read files. Raw values (`Finding.value`, `Finding.raw_snippet`) reach the output only
when the caller passes `show_values=True`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import chain
from typing import Any, TextIO

from piiscan.errors import UsageError
from piiscan.model import Rule, ScanResult

FORMATS = ("table", "json", "sarif", "gitlab")


class Lazily(list):
    """A JSON array whose items are made one at a time, as `write_json` reaches them (a
    list subclass, so that `json` encodes it as an array; it holds nothing itself)."""

    def __init__(self, items: Sequence[Any], make: Callable[[Any], Any]) -> None:
        super().__init__()
        self._items = items
        self._make = make

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Any]:
        return map(self._make, self._items)


def json_array(items: Sequence[Any], make: Callable[[Any], Any], *, lazily: bool) -> list:
    """`make` of each item: made as `write_json` reaches them (`Lazily`), or now."""
    return Lazily(items, make) if lazily else [make(item) for item in items]


def write_json(document: Any, stream: TextIO) -> None:
    """`json.dumps(document, ensure_ascii=False, indent=2)` and a line break, the same bytes,
    written as they are encoded: with its long arrays `Lazily`, a report of 100,000
    findings is never whole in memory, neither as dicts nor as text (it doubled the peak
    memory of a 2 GB log's scan)."""
    import json

    encoded = json.JSONEncoder(ensure_ascii=False, indent=2).iterencode(document)
    write_in_chunks(chain(encoded, ("\n",)), stream)


def write_in_chunks(pieces: Iterable[str], stream: TextIO) -> None:
    """Write the pieces about 64 KB at a time (one write per piece is slow, one for the
    whole text holds it all)."""
    pending: list[str] = []
    size = 0
    for piece in pieces:
        pending.append(piece)
        size += len(piece)
        if size >= 1 << 16:
            stream.write("".join(pending))
            pending, size = [], 0
    stream.write("".join(pending))


def sentence(text: str) -> str:
    """One line ending in a full stop: SARIF (multitool rule SARIF2001) and GitLab both show
    descriptions as sentences."""
    text = " ".join(text.split())
    return text if text.endswith((".", "!", "?")) else text + "."


def base_folder(base_dir: str | None) -> str:
    """The folder reported paths are relative to: `base_dir`, else the current one."""
    return os.path.abspath(base_dir if base_dir is not None else os.getcwd())


def work_tree_root(folder: str) -> str | None:
    """The top folder of the git work tree holding `folder` (absolute), or None: the nearest
    folder with a `.git` (a folder in a clone; a file in a worktree or a submodule)."""
    current = folder
    while True:
        if os.path.lexists(os.path.join(current, ".git")):
            return current
        parent = os.path.dirname(current)
        if parent == current:
            return None
        current = parent


def relative_inside(path: str, folder: str) -> str | None:
    """`path` relative to `folder` if it is inside it, else None."""
    try:
        relative = os.path.relpath(os.path.abspath(path), folder)
    except ValueError:  # another drive on Windows
        return None
    if relative == os.pardir or relative.startswith(os.pardir + os.sep):
        return None
    return relative


def render(
    fmt: str,
    result: ScanResult,
    stream: TextIO,
    *,
    rules: Sequence[Rule],
    show_values: bool = False,
    color: bool | None = None,
    base_dir: str | None = None,
) -> None:
    """Write `result` to `stream` in format `fmt` (one of `FORMATS`)."""
    # Imported here so that `piiscan.report.json` is only loaded when asked for, and so a
    # reporter's heavier imports (rich) cost nothing to the other formats.
    if fmt == "table":
        from piiscan.report import table

        table.write(result, stream, rules=rules, show_values=show_values, color=color)
    elif fmt == "json":
        from piiscan.report import json

        json.write(result, stream, rules=rules, show_values=show_values)
    elif fmt == "sarif":
        from piiscan.report import sarif

        sarif.write(result, stream, rules=rules, show_values=show_values, base_dir=base_dir)
    elif fmt == "gitlab":
        from piiscan.report import gitlab

        gitlab.write(result, stream, rules=rules, show_values=show_values, base_dir=base_dir)
    else:
        raise UsageError(
            f"unknown output format {fmt!r}", hint=f"choose one of: {', '.join(FORMATS)}"
        )
