"""Files in piiscan's cache folder: compiled hyperscan databases and parsed rule packs.

Each file is written whole under a temporary name and renamed into place, so a concurrent
reader sees the old file or the new one, never half of one; and it is read back only if its
magic line and the checksum in its header match. A missing, stale, corrupt or unwritable
cache file only costs the work it would have saved.

    <magic line>
    {"sha256": "<hex digest of the payload>", ...more metadata}
    <payload bytes>
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path


def default_cache_dir() -> Path | None:
    """$PIISCAN_CACHE_DIR, else the XDG cache folder; None when PIISCAN_NO_CACHE is set."""
    if os.environ.get("PIISCAN_NO_CACHE"):
        return None
    if os.environ.get("PIISCAN_CACHE_DIR"):
        return Path(os.environ["PIISCAN_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME")
    return (Path(base) if base else Path.home() / ".cache") / "piiscan"


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
        pass  # a cache we cannot write only costs start-up time
