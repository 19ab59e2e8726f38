"""Writing a file whole or not at all (reports, baselines).

The text goes into a temporary file beside the target, which is renamed over it once
complete, so a failure midway (a full disk, an error while a report is encoded) leaves the
earlier file as it was. Redaction has its own writer (`redact.writer`): it rewrites bytes
and keeps far more of the original file (owner, ACLs, extended attributes).
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable
from typing import TextIO


def write_whole(
    path: str | os.PathLike[str],
    write: Callable[[TextIO], None],
    *,
    new_mode: int | None = None,
    durable: bool = False,
) -> None:
    """Write the text `write` puts into its handle (UTF-8, "\\n" line breaks) to `path`.
    A lone surrogate (a file name undecodable on disk) is written as `\\udcff`, which in a
    JSON string is that same character escaped.

    A symlink is written through: its target is replaced, the link stays. A path that is
    not a regular file (/dev/stdout, a FIFO) is written directly. An existing file keeps
    its mode; a new one gets `new_mode`, or what the umask gives. `durable` syncs the file
    and its folder to disk before returning. Raises OSError.
    """
    target = os.path.realpath(path)
    try:
        existing = os.stat(target)
    except FileNotFoundError:
        existing = None
    if existing is not None and not stat.S_ISREG(existing.st_mode):
        with open(target, "w", encoding="utf-8", errors="backslashreplace", newline="\n") as handle:
            write(handle)
        return
    import tempfile  # only when a file is written: a scan to stdout never needs it

    folder = os.path.dirname(target)
    fd, temporary = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(target)}.", suffix=".part")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace", newline="\n") as handle:
            write(handle)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        # mkstemp makes it private: give it the mode the file had, or the one it should get.
        if existing is not None:
            mode = stat.S_IMODE(existing.st_mode)
        else:
            mode = 0o666 & ~_umask() if new_mode is None else new_mode
        os.chmod(temporary, mode)
        os.replace(temporary, target)
    except BaseException:
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
        raise
    if durable:
        fsync_folder(folder)


def fsync_folder(folder: str | os.PathLike[str]) -> None:
    """Make a rename in `folder` durable (POSIX; elsewhere a no-op)."""
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        os.fsync(fd)
    except OSError as exc:
        # Some file systems cannot fsync a directory; the rename is done either way.
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EBADF):
            raise
    finally:
        os.close(fd)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
