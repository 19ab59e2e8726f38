"""Files in piiscan's cache folder: compiled hyperscan databases, parsed rule packs and
compiled regex patterns.

Each file is written whole under a temporary name and renamed into place, so a concurrent
reader sees the old file or the new one, never half of one; and it is read back only if its
magic line and the checksum in its header match. A missing, stale, corrupt or unwritable
cache file only costs the work it would have saved.

Every edit of a rule pack makes new cache files, so the folder is bounded: a read marks a
file used (its mtime), and each write keeps the KEEP_PER_KIND most recently used files of its
kind (the name's part before the first "-") and removes the rest. A reader that loses its
file to another process's clean-up only rebuilds it.

    <magic line>
    {"sha256": "<hex digest of the payload>", ...more metadata}
    <payload bytes>
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path


def default_cache_dir() -> Path | None:
    """$PIISCAN_CACHE_DIR, else the XDG cache folder; None when PIISCAN_NO_CACHE is set."""
    if os.environ.get("PIISCAN_NO_CACHE"):
        return None
    if os.environ.get("PIISCAN_CACHE_DIR"):
        return Path(os.environ["PIISCAN_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME")
    return (Path(base) if base else Path.home() / ".cache") / "piiscan"


KEEP_PER_KIND = 12
_LEFTOVER_SECONDS = 3600  # a temporary file this old belongs to a writer that died


def read_checked(cache_file: Path, magic: bytes) -> tuple[dict, bytes] | None:
    """(metadata, payload) of a cache file written by `write_checked`, or None."""
    try:
        blob = cache_file.read_bytes()
    except OSError:
        return None
    if not blob.startswith(magic):
        return None
    header, _, payload = blob[len(magic) :].partition(b"\n")
    try:
        meta = json.loads(header)
        if hashlib.sha256(payload).hexdigest() != meta["sha256"]:
            return None
    except (ValueError, KeyError, TypeError):
        return None
    try:
        os.utime(cache_file)  # used now: the clean-up keeps the most recently used
    except OSError:
        pass
    return meta, payload


def write_checked(cache_file: Path, magic: bytes, payload: bytes, **meta) -> None:
    header = json.dumps({"sha256": hashlib.sha256(payload).hexdigest(), **meta}).encode()
    try:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        import tempfile  # only when writing: a cache hit never needs it

        fd, tmp = tempfile.mkstemp(dir=cache_file.parent, prefix=".tmp-", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(magic + header + b"\n" + payload)
            os.replace(tmp, cache_file)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError:
        return  # a cache we cannot write only costs start-up time
    _remove_least_used(cache_file)


def _remove_least_used(written: Path) -> None:
    """Keep the KEEP_PER_KIND most recently used files of `written`'s kind; remove the rest,
    and temporary files left by writers that died. Only names piiscan gives are touched
    (kind, 32 hex digits, suffix): $PIISCAN_CACHE_DIR may be a folder shared with others."""
    kind = written.name.partition("-")[0]
    suffix = written.suffix

    def same_kind(name: str) -> bool:
        key = name[len(kind) + 1 : -len(suffix)] if suffix else ""
        return (name.startswith(kind + "-") and name.endswith(suffix) and len(key) == 32
                and all(ch in "0123456789abcdef" for ch in key))

    stale_before = time.time() - _LEFTOVER_SECONDS
    used: list[tuple[float, str]] = []
    remove: list[str] = []
    try:
        with os.scandir(written.parent) as entries:
            for entry in entries:
                name = entry.name
                if not (same_kind(name) or (name.startswith(".tmp-") and name.endswith(".part"))):
                    continue
                try:
                    mtime = entry.stat(follow_symlinks=False).st_mtime
                except OSError:
                    continue  # removed meanwhile
                if same_kind(name):
                    used.append((mtime, name))
                elif mtime < stale_before:
                    remove.append(name)
    except OSError:
        return
    used.sort(reverse=True)
    remove += [name for _, name in used[KEEP_PER_KIND:] if name != written.name]
    for name in remove:
        try:
            (written.parent / name).unlink()
        except OSError:
            pass  # gone already, or not ours to remove
