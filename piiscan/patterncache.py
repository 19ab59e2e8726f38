"""Compiled `regex` patterns kept in piiscan's cache folder.

`regex` parses and compiles a pattern in Python: for the few rules that fire on an ordinary
tree that is ~45 ms of every scan, paid again by every worker process. A compiled pattern
pickles as its compiled program, and unpickling hands that program straight to `regex`'s C
engine, ~10 µs a pattern. So the first engine built for a set of rules compiles all of their
patterns and stores them in one cache file; later processes unpickle each on first use.
(`pickle` itself is imported then: a scan in which no rule fires never needs it.)

A pattern is looked up by its source and flags, and an entry whose pattern has another
source is compiled afresh, so a stale entry cannot stand in for another pattern. The file
is checksummed and read only from a folder no other user can write (`diskcache`): a forged
program could still switch a rule off or crash `regex`'s C engine, as a forged hyperscan
database could. Its outer layer is `marshal`led plain data (a dict of bytes), and unpickling
an entry may call `regex`'s compile function and nothing else.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import marshal
import sys
from pathlib import Path

import regex

from piiscan.diskcache import read_checked, write_checked

_MAGIC = b"piiscan-regex-cache/1\n"
# What a pickled pattern may call: the C function that builds a pattern from its program.
_ALLOWED_GLOBAL = ("regex._regex", "compile")


class PatternCache:
    """Compiled patterns by (source, flags): unpickled from the cache file where it holds
    them, compiled otherwise. Every pattern handed out is kept, for `save`."""

    def __init__(self, stored: dict[tuple[str, int], bytes] | None = None) -> None:
        self._stored = stored or {}
        self._compiled: dict[tuple[str, int], regex.Pattern] = {}

    @property
    def from_file(self) -> bool:
        """Whether a cache file was read (else every pattern is compiled here)."""
        return bool(self._stored)

    def compile(self, source: str, flags: int = 0) -> regex.Pattern:
        key = (source, int(flags))  # a plain int: `regex`'s flags are an IntFlag
        pattern = self._compiled.get(key)
        if pattern is None:
            blob = self._stored.get(key)
            pattern = _unpickled(blob) if blob is not None else None
            if pattern is None or pattern.pattern != source:
                pattern = regex.compile(source, flags)
            self._compiled[key] = pattern
        return pattern

    def save(self, cache_file: Path) -> None:
        """Write every pattern compiled so far (a failed write only costs the next start)."""
        import pickle

        stored = {key: pickle.dumps(pattern, protocol=4) for key, pattern in self._compiled.items()}
        write_checked(cache_file, _MAGIC, marshal.dumps(stored))


def cache_file_for(cache_dir: Path, sources: object) -> Path:
    """The cache file of a set of rules, named by the patterns compiled for them (`sources`:
    JSON-able) and the `regex` and Python versions that compiled them."""
    material = json.dumps([_MAGIC.decode(), regex.__version__, sys.version, sources]).encode()
    return cache_dir / f"re-{hashlib.sha256(material).hexdigest()[:32]}.pickle"


def load_patterns(cache_file: Path) -> PatternCache:
    """The patterns stored in `cache_file`; an empty cache when it is missing or unreadable."""
    checked = read_checked(cache_file, _MAGIC)
    if checked is None:
        return PatternCache()
    try:
        stored = marshal.loads(checked[1])
    except (EOFError, ValueError, TypeError):  # any damage only costs compiling again
        return PatternCache()
    if not isinstance(stored, dict) or not all(
        isinstance(k, tuple) and isinstance(v, bytes) for k, v in stored.items()
    ):
        return PatternCache()
    return PatternCache(stored)


@functools.cache
def _unpickler() -> type:
    import pickle

    class OnlyRegexCompile(pickle.Unpickler):
        def find_class(self, module: str, name: str):
            if (module, name) != _ALLOWED_GLOBAL:
                raise pickle.UnpicklingError(f"global {module}.{name} refused")
            return super().find_class(module, name)

    return OnlyRegexCompile


def _unpickled(blob: bytes) -> regex.Pattern | None:
    try:
        pattern = _unpickler()(io.BytesIO(blob)).load()
    except Exception:  # an entry `regex` cannot rebuild (damaged, refused) is compiled again
        return None
    return pattern if isinstance(pattern, regex.Pattern) else None
