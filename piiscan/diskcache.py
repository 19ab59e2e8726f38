"""Files in piiscan's cache folder: compiled hyperscan databases, parsed rule packs, which of
the user's packs passed their own examples, and compiled regex patterns.

Each file is written whole under a temporary name and renamed into place, so a concurrent
reader sees the old file or the new one, never half of one; and it is read back only if its
magic line and the checksum in its header match. A missing, stale, corrupt or unwritable
cache file only costs the work it would have saved.

What is in the folder is trusted as the installed code is: hyperscan loads a database as it
finds it, a compiled regex program goes to `regex`'s C engine, and a parsed pack (or a pack's
"passed" mark) decides which rules run. The checksum catches damage, not forgery. So a
folder or a file that another user could have written (not owned by this user or root, or
writable by group or others) is never read or written: everything is then rebuilt in
memory, slowly but safely. The folder is created private (0700); one this user owns that
group or others may write (made so by an older piiscan under a 002 umask, say) is made
private first, and the files others left in it stay unread, as they are not this user's.

Every edit of a rule pack makes new cache files, so the folder is bounded: a read marks a
file used (its mtime), and each write removes the files of its kind (the name's part before
the first "-") unused for UNUSED_DAYS, and beyond the MAX_PER_KIND most recently used. A
reader that loses its file to another process's clean-up only rebuilds it.

    <magic line>
    {"sha256": "<hex digest of the payload>", ...more metadata}
    <payload bytes>
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import sys
import stat
import time
from pathlib import Path

UNUSED_DAYS = 30
MAX_PER_KIND = 64  # a backstop: rule sets in use by turns must not evict each other
_TEMP_PREFIX = ".tmp-piiscan-"
_LEFTOVER_SECONDS = 3600  # a temporary file this old belongs to a writer that died


def default_cache_dir() -> Path | None:
    """$PIISCAN_CACHE_DIR, else the XDG cache folder; None when PIISCAN_NO_CACHE is set."""
    if os.environ.get("PIISCAN_NO_CACHE"):
        return None
    if os.environ.get("PIISCAN_CACHE_DIR"):
        return Path(os.environ["PIISCAN_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME")
    return (Path(base) if base else Path.home() / ".cache") / "piiscan"


@functools.cache
def code_stamp() -> str:
    """What a cached result of piiscan's own work depends on besides its input: piiscan's
    version and files (the size and modification time of each, as a development checkout
    keeps its version while its code changes; data such as `tlds.txt` included), the
    interpreter, and the libraries that decide a pattern's or a validator's verdict: regex's
    version, and python-stdnum's and phonenumbers' package files read whole, as they name
    their versions and a packaging system may give every file the same time. ~1 ms."""
    import importlib.util

    import regex

    import piiscan

    parts = [piiscan.__version__, sys.version, f"regex {regex.__version__}"]
    package = os.path.dirname(piiscan.__file__)
    for folder, subfolders, names in os.walk(package):
        subfolders[:] = sorted(d for d in subfolders if d != "__pycache__")
        for name in sorted(names):
            path = os.path.join(folder, name)
            parts.append(f"{os.path.relpath(path, package)} {_file_stamp(path)}")
    digest = hashlib.sha256("\n".join(parts).encode("utf-8", "surrogatepass"))
    for library in ("stdnum", "phonenumbers"):
        spec = importlib.util.find_spec(library)
        try:
            digest.update(Path(spec.origin).read_bytes() if spec and spec.origin else b"missing")
        except OSError:
            digest.update(b"unreadable")
    return digest.hexdigest()


def key_for(magic: bytes, *parts: str) -> str:
    """The 32 hex digits that name a cache file of piiscan's own work on `parts` (a pack's
    text, a rule set): a hash of them, of `magic` and of `code_stamp()`."""
    digest = hashlib.sha256(magic)
    for part in (code_stamp(), *parts):
        digest.update(part.encode("utf-8", "surrogatepass") + b"\0")
    return digest.hexdigest()[:32]


def _file_stamp(path: str) -> str:
    try:
        info = os.stat(path)
    except OSError:
        return "unreadable"
    return f"{info.st_size} {info.st_mtime_ns}"


def read_checked(cache_file: Path, magic: bytes) -> tuple[dict, bytes] | None:
    """(metadata, payload) of a cache file written by `write_checked`, or None."""
    try:
        if not (_private_folder(cache_file.parent) and _trusted(cache_file)):
            return None
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
        os.utime(cache_file)  # used now: the clean-up keeps what is in use
    except OSError:
        pass
    return meta, payload


def untrusted_folder(folder: Path | None) -> bool:
    """Whether `folder` exists but is another user's (or others may write it and it is
    not this user's to fix): its files are then never used, and every start is slow."""
    if folder is None:
        return False
    try:
        return not _private_folder(folder)
    except FileNotFoundError:
        return False  # made private when first written
    except OSError:
        return True


def writable(folder: Path) -> bool:
    """Whether cache files can be written to `folder` (created private if missing), and
    read back: a cache nobody can keep is not worth building ahead of need."""
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        return _private_folder(folder) and os.access(folder, os.W_OK | os.X_OK)
    except OSError:
        return False


def write_checked(cache_file: Path, magic: bytes, payload: bytes, **meta) -> None:
    if not writable(cache_file.parent):
        return  # a cache we cannot write (or would not read back) only costs start-up time
    header = json.dumps({"sha256": hashlib.sha256(payload).hexdigest(), **meta}).encode()
    try:
        import tempfile  # only when writing: a cache hit never needs it

        fd, tmp = tempfile.mkstemp(dir=cache_file.parent, prefix=_TEMP_PREFIX, suffix=".part")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(magic + header + b"\n" + payload)
            os.replace(tmp, cache_file)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError:
        return
    _remove_unused(cache_file)


def _private_folder(folder: Path) -> bool:
    """Whether only this user (or root) could have written in `folder`, after taking group
    and others' write permission away from a folder of this user's (may raise OSError). A
    symlinked folder is judged by its target (a cache moved to a bigger disk)."""
    if not hasattr(os, "getuid"):  # Windows: ACLs, not mode bits; the user's profile folder
        return True
    info = os.stat(folder)
    if not stat.S_ISDIR(info.st_mode):
        return False
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH) and info.st_uid == os.getuid():
        os.chmod(folder, stat.S_IMODE(info.st_mode) & ~(stat.S_IWGRP | stat.S_IWOTH))
        info = os.stat(folder)
    return _owned_and_private(info)


def _trusted(cache_file: Path) -> bool:
    """Whether only this user (or root) could have written `cache_file`, itself not a
    symlink (may raise OSError)."""
    if not hasattr(os, "getuid"):
        return True
    info = os.stat(cache_file, follow_symlinks=False)
    return stat.S_ISREG(info.st_mode) and _owned_and_private(info)


def _owned_and_private(info: os.stat_result) -> bool:
    return info.st_uid in (os.getuid(), 0) and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def _remove_unused(written: Path) -> None:
    """Remove the files of `written`'s kind unused for UNUSED_DAYS or beyond the MAX_PER_KIND
    most recently used, and temporary files left by writers that died. Only names piiscan
    gives are touched (kind, 32 hex digits, suffix; our temporary prefix)."""
    kind = written.name.partition("-")[0]
    suffix = written.suffix

    def same_kind(name: str) -> bool:
        key = name[len(kind) + 1 : -len(suffix)] if suffix else ""
        return (name.startswith(kind + "-") and name.endswith(suffix) and len(key) == 32
                and all(ch in "0123456789abcdef" for ch in key))

    now = time.time()
    used: list[tuple[float, str]] = []
    remove: list[str] = []
    try:
        with os.scandir(written.parent) as entries:
            for entry in entries:
                name = entry.name
                ours = same_kind(name)
                if not (ours or name.startswith(_TEMP_PREFIX)):
                    continue
                try:
                    mtime = entry.stat(follow_symlinks=False).st_mtime
                except OSError:
                    continue  # removed meanwhile
                if ours:
                    used.append((mtime, name))
                elif mtime < now - _LEFTOVER_SECONDS:
                    remove.append(name)
    except OSError:
        return
    used.sort(reverse=True)
    for rank, (mtime, name) in enumerate(used):
        if rank >= MAX_PER_KIND or mtime < now - UNUSED_DAYS * 86400:
            remove.append(name)
    for name in remove:
        if name == written.name:
            continue
        try:
            (written.parent / name).unlink()
        except OSError:
            pass  # gone already, or not ours to remove
