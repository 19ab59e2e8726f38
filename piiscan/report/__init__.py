"""Reporters: turn a finished `ScanResult` into table, JSON, SARIF or GitLab text on a stream.

Reporters only format. Filtering, sorting and masking happened before they are called; they
never read files. Raw values (`Finding.value`, `Finding.raw_snippet`) reach the output only
when the caller passes `show_values=True`.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from json.encoder import JSONEncoder, encode_basestring  # not `import json`: that name is our reporter
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
    text = _Chunks(stream)
    _encode(document, "\n", text)
    text.pieces.append("\n")
    text.write()


class _Chunks:
    """Pieces of text, written to a stream about 64 KB at a time (one write per piece is
    slow, one for the whole text holds it all)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.pieces: list[str] = []
        self._size = self._counted = 0

    def add(self, piece: str) -> None:
        """One piece, written with those before it once they fill a chunk."""
        self.pieces.append(piece)
        self._counted += 1
        self._size += len(piece)
        if self._size >= 1 << 16:
            self.write()

    def write_if_full(self) -> None:
        self._size += sum(map(len, self.pieces[self._counted:]))  # those added since
        self._counted = len(self.pieces)
        if self._size >= 1 << 16:
            self.write()

    def write(self) -> None:
        self.stream.write("".join(self.pieces))
        self.pieces.clear()
        self._size = self._counted = 0


_SCALARS = (str, int, float, type(None))  # bool is an int
_FLAT = frozenset({str, int, float, bool, type(None)})  # exact types: a quick test of a whole object


def _encode(value: Any, newline: str, text: _Chunks) -> None:
    """Add `value` to `text` as `json.dumps(value, ensure_ascii=False, indent=2)` writes it
    where `newline` (a line break and the indent) starts its lines.

    json's indented encoder is pure Python, ~17 µs per finding. An object of scalars (every
    finding) is encoded here in one call of json's C encoder instead, its separators set
    to the indented ones, which gives the same text. Pieces are added to one list, not
    yielded: a generator per level costs each piece a step through every level above it."""
    add = text.pieces.append
    inner = newline + "  "
    if isinstance(value, dict):
        if not value:
            add("{}")
        elif _FLAT.issuperset(map(type, value.values())):
            flat = _flat_encoder(inner).encode(value)  # '{"a": 1,<inner>"b": 2}'
            add("{" + inner + flat[1:-1] + newline + "}")
        else:
            separator = "{" + inner
            for key, item in value.items():
                if not isinstance(key, str):  # the reports' keys are; json would convert
                    raise TypeError(f"keys must be str, not {type(key).__name__}")
                add(separator + encode_basestring(key) + ": ")
                _encode(item, inner, text)
                separator = "," + inner
            add(newline + "}")
    elif isinstance(value, (list, tuple)):
        if not value:
            add("[]")
            return
        made_lazily = isinstance(value, Lazily)  # its items are made as they are reached
        separator = "[" + inner
        for item in value:
            add(separator)
            _encode(item, inner, text)
            if made_lazily:
                text.write_if_full()
            separator = "," + inner
        add(newline + "]")
    elif isinstance(value, str):
        add(encode_basestring(value))
    elif isinstance(value, _SCALARS):
        add(_flat_encoder("").encode(value))  # numbers, true, false and null as json writes them
    else:
        raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


@functools.lru_cache(maxsize=None)
def _flat_encoder(inner: str) -> JSONEncoder:
    # Its objects hold scalars only, which cannot be circular.
    return JSONEncoder(ensure_ascii=False, check_circular=False, separators=("," + inner, ": "))


def write_in_chunks(pieces: Iterable[str], stream: TextIO) -> None:
    """Write the pieces about 64 KB at a time."""
    text = _Chunks(stream)
    for piece in pieces:
        text.add(piece)
    text.write()


def sentence(text: str) -> str:
    """One line ending in a full stop: SARIF (multitool rule SARIF2001) and GitLab both show
    descriptions as sentences."""
    text = " ".join(text.split())
    return text if text.endswith((".", "!", "?")) else text + "."


def base_folder(base_dir: str | None) -> str:
    """The folder reported paths are relative to: `base_dir`, else the current one."""
    return os.path.abspath(base_dir if base_dir is not None else os.getcwd())


def work_tree_root(folder: str, known: dict[str, str | None] | None = None) -> str | None:
    """The top folder of the git work tree holding `folder` (absolute), or None: the nearest
    folder with a `.git` (a folder in a clone; a file in a worktree or a submodule).
    `known`: the answers for folders looked up before, which this call adds to for every
    folder it walks through (a report's files share their parents)."""
    walked = []
    current = folder
    while True:
        if known is not None and current in known:
            found = known[current]
            break
        walked.append(current)
        if os.path.lexists(os.path.join(current, ".git")):
            found = current
            break
        parent = os.path.dirname(current)
        if parent == current:
            found = None
            break
        current = parent
    if known is not None:
        known.update(dict.fromkeys(walked, found))
    return found


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
