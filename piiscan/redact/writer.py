"""Rewrite a file in place without ever leaving it half-written, and keep what made it that file.

A naive temp-file-and-rename loses the mode (0640 becomes 0600), leaves the old content in a
hard link's other name, and turns a symlink into a regular file. The recipe here:

1. `read_for_rewrite` looks at the path without following a link (`lstat`), so a FIFO, a socket
   or a device is refused without ever being opened; then opens it `O_NOFOLLOW | O_NONBLOCK`,
   checks with `fstat` that it is the same regular file, and refuses several hard links and a
   read-only mode. The bytes and the snapshot come from that one open file.
2. `atomic_rewrite` writes a temp file in the same folder (a rename across file systems is not
   atomic), gives it the original owner and mode, writes, fsyncs, checks that the original is
   still the file that was read, renames over it and fsyncs the folder.
3. Until the rename succeeds the original is untouched; whatever happens before it (an error,
   disk full, KeyboardInterrupt) the `finally` removes the temp file. After it, the file is
   wholly new. There is never a mix.

Byte fidelity: `encode_like` is the inverse of `piiscan.decoding.decode_bytes`, so bytes outside
the redacted spans come back exactly (BOM, byte order, line endings, invalid UTF-8 via latin-1).

Messages name the file and the OS reason, never the content.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from collections.abc import Callable
from dataclasses import dataclass

from piiscan.errors import RedactionError
from piiscan.interrupts import terminate_as_interrupt
from piiscan.sources import file_kind
from piiscan.wholefile import fsync_folder

_O_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_EXTRA = getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
_READ_CHUNK = 1 << 20
TEMP_PREFIX = ".piiscan-"
TEMP_SUFFIX = ".tmp"
# An access ACL that cannot be copied would leave the new file with different access rules;
# other extended attributes (user.*, security.* labels the kernel sets itself) are best effort.
_ACL_XATTR = "system.posix_acl_access"


@dataclass(frozen=True, slots=True)
class FileSnapshot:
    """What the file was when it was read; `atomic_rewrite` refuses to replace anything else."""

    path: str
    dev: int
    ino: int
    size: int
    mtime_ns: int
    ctime_ns: int
    mode: int
    uid: int
    gid: int
    nlink: int


def _snapshot(path: str, st: os.stat_result) -> FileSnapshot:
    return FileSnapshot(
        path=path,
        dev=st.st_dev,
        ino=st.st_ino,
        size=st.st_size,
        mtime_ns=st.st_mtime_ns,
        ctime_ns=st.st_ctime_ns,
        mode=st.st_mode,
        uid=st.st_uid,
        gid=st.st_gid,
        nlink=st.st_nlink,
    )


def _reason(exc: OSError) -> str:
    if exc.strerror:
        return exc.strerror
    if exc.errno:
        return os.strerror(exc.errno)
    return type(exc).__name__


def _file_kind(mode: int) -> str:
    kind = file_kind(mode)
    return kind if kind.startswith("not ") else f"a {kind}"


def _refuse_unless_rewritable(path: str, st: os.stat_result) -> None:
    """The checks `read_for_rewrite` makes on an (l)stat of the path."""
    if stat.S_ISLNK(st.st_mode):
        raise RedactionError(
            f"{path} is a symlink; redact its target instead",
            hint="replacing the link would turn it into a regular file",
        )
    if not stat.S_ISREG(st.st_mode):
        raise RedactionError(f"{path} is {_file_kind(st.st_mode)}; only regular files are redacted")
    if st.st_nlink > 1:
        raise RedactionError(
            f"{path} has {st.st_nlink} hard links; the other names would keep the original",
            hint="redact a copy, or remove the other links first (find -samefile lists them)",
        )
    # Mode bits, not os.access: as root every file is "writable", and chmod-ing it is not ours
    # to decide.
    if not st.st_mode & stat.S_IWUSR:
        raise RedactionError(
            f"{path} is read-only; not redacted",
            hint="make it writable (chmod u+w) if it should be redacted in place",
        )


def read_for_rewrite(path: str) -> tuple[bytes, FileSnapshot]:
    """The file's bytes and a snapshot to hand to `atomic_rewrite`.

    Refuses (RedactionError) a symlink, anything but a regular file, a file with several hard
    links and a read-only file. Scan these very bytes: the snapshot vouches for them only.
    """
    try:
        st = os.lstat(path)
    except OSError as exc:
        raise RedactionError(f"cannot read {path}: {_reason(exc)}") from None
    # lstat first, so that a FIFO or a device is refused without being opened at all.
    _refuse_unless_rewritable(path, st)
    try:
        fd = os.open(path, os.O_RDONLY | _O_NONBLOCK | _O_NOFOLLOW | _O_EXTRA)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # swapped for a symlink since the lstat
            raise RedactionError(f"{path} is a symlink; redact its target instead") from None
        raise RedactionError(f"cannot read {path}: {_reason(exc)}") from None
    try:
        opened = os.fstat(fd)
        _refuse_unless_rewritable(path, opened)
        if (opened.st_dev, opened.st_ino) != (st.st_dev, st.st_ino):
            raise RedactionError(f"{path} was replaced while being opened; not redacted")
        chunks: list[bytes] = []
        while chunk := os.read(fd, _READ_CHUNK):
            chunks.append(chunk)
    except OSError as exc:
        raise RedactionError(f"cannot read {path}: {_reason(exc)}") from None
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) != opened.st_size:
        raise RedactionError(
            f"{path} changed while it was being read; not redacted", hint="run again"
        )
    return data, _snapshot(path, opened)


def _changed(expected: FileSnapshot, now: os.stat_result) -> bool:
    return (
        now.st_dev != expected.dev
        or now.st_ino != expected.ino
        or now.st_size != expected.size
        or now.st_mtime_ns != expected.mtime_ns
        or now.st_ctime_ns != expected.ctime_ns
        or now.st_nlink != expected.nlink
        or now.st_mode != expected.mode
        or now.st_uid != expected.uid
        or now.st_gid != expected.gid
    )


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _keep_owner(fd: int, path: str, expected: FileSnapshot) -> None:
    """Give the temp file the original's owner and group, or refuse.

    Without privilege only a file we own can be rewritten; a group we are not in is tolerated
    only when the mode grants the group nothing, because otherwise another group gains access.
    """
    now = os.fstat(fd)
    if (now.st_uid, now.st_gid) == (expected.uid, expected.gid):
        return
    try:
        os.fchown(fd, expected.uid, expected.gid)
        return
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.EINVAL):
            raise
    if expected.uid != now.st_uid:
        raise RedactionError(
            f"cannot redact {path}: it is owned by uid {expected.uid}, and the rewritten file "
            f"would belong to uid {now.st_uid}; nothing written",
            hint="run piiscan as the file's owner (or as root)",
        )
    if expected.mode & stat.S_IRWXG:
        raise RedactionError(
            f"cannot redact {path}: its group {expected.gid} cannot be kept (not a member) and "
            f"group {now.st_gid} would gain access; nothing written",
            hint="run piiscan as a member of the file's group (or as root)",
        )


def _copy_xattrs(fd: int, path: str) -> None:
    """Extended attributes, so a POSIX ACL survives the rename."""
    if not hasattr(os, "listxattr"):
        return
    try:
        names = os.listxattr(path, follow_symlinks=False)
    except OSError:
        return  # the file system has none
    for name in names:
        try:
            os.setxattr(fd, name, os.getxattr(path, name, follow_symlinks=False))
        except OSError as exc:
            if name == _ACL_XATTR:
                raise RedactionError(
                    f"cannot redact {path}: its access control list could not be copied "
                    f"({_reason(exc)}); nothing written"
                ) from None


def _folder_of(path: str) -> str:
    return os.path.dirname(path) or os.curdir


def _os_failure(path: str, exc: OSError) -> RedactionError:
    if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        hint = "free some space (or raise the quota) and run again"
    elif exc.errno in (errno.EACCES, errno.EPERM):
        hint = "piiscan needs write access to the file's folder to replace the file atomically"
    else:
        hint = ""
    return RedactionError(f"cannot write {path}: {_reason(exc)}; the file is unchanged", hint)


def _replace_via_temp(
    path: str,
    data: bytes,
    prepare_temp: Callable[[int], None],
    before_rename: Callable[[], None],
) -> None:
    """Temp file beside `path`, prepared, written, synced, renamed over `path`.

    The temp file is removed in every way out before the rename (KeyboardInterrupt and
    SIGTERM too).
    """
    folder = _folder_of(path)
    temp_path = None
    renamed = False
    with terminate_as_interrupt():  # a temp file may exist: clean it up on SIGTERM too
        try:
            fd, temp_path = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=TEMP_SUFFIX, dir=folder)
            try:
                prepare_temp(fd)
                _write_all(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)
            before_rename()
            os.replace(temp_path, path)
            renamed = True
            fsync_folder(folder)
        except OSError as exc:
            if renamed:
                raise RedactionError(
                    f"{path} was rewritten, but its folder could not be synced: {_reason(exc)}",
                    hint="the new content may not survive a power cut; run sync",
                ) from None
            raise _os_failure(path, exc) from None
        finally:
            if temp_path is not None and not renamed:
                try:
                    os.unlink(temp_path)
                except OSError:
                    pass  # already gone, or the original error (or interrupt) is worth more


def atomic_rewrite(path: str, data: bytes, expected: FileSnapshot) -> None:
    """Replace `path` with `data`, keeping owner, group, mode (and ACL), or leave it untouched.

    `expected` comes from `read_for_rewrite(path)`; if the file changed since (content, inode,
    link count, mode, owner), RedactionError and nothing is written.
    """
    if os.path.abspath(path) != os.path.abspath(expected.path):
        raise ValueError("atomic_rewrite: the snapshot is of another path")

    def prepare_temp(fd: int) -> None:
        _keep_owner(fd, path, expected)
        # After the chown, which clears set-user-ID and set-group-ID bits.
        os.fchmod(fd, stat.S_IMODE(expected.mode))
        _copy_xattrs(fd, path)

    def still_the_same_file() -> None:
        try:
            now = os.lstat(path)
        except FileNotFoundError:
            now = None
        if now is None or _changed(expected, now):
            raise RedactionError(
                f"{path} changed since it was scanned; nothing written",
                hint="scan and redact it again",
            )

    _replace_via_temp(path, bytes(data), prepare_temp, still_the_same_file)


def write_new_file(path: str, data: bytes, *, mode: int = 0o644) -> None:
    """Write `data` to `path` atomically (for --output-dir copies), creating parent folders.

    An existing file (or symlink) at `path` is replaced, never written through. `mode` is set
    exactly, umask notwithstanding.
    """
    folder = _folder_of(path)
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as exc:
        raise RedactionError(f"cannot create the folder {folder}: {_reason(exc)}") from None
    try:
        existing = os.lstat(path)
    except FileNotFoundError:
        existing = None
    except OSError as exc:
        raise _os_failure(path, exc) from None
    if existing is not None and stat.S_ISDIR(existing.st_mode):
        raise RedactionError(f"cannot write {path}: it is a directory")
    _replace_via_temp(
        path, bytes(data), lambda fd: os.fchmod(fd, stat.S_IMODE(mode)), lambda: None
    )


def encode_like(text: str, encoding: str, bom: bytes) -> bytes:
    """`bom + text` in `encoding`: the inverse of `piiscan.decoding.decode_bytes`.

    Strict, so a replacement that the file's encoding cannot hold (say "€" in a latin-1 file)
    is an error rather than a "?" in the output. The caller adds the file's name.
    """
    try:
        return bom + text.encode(encoding, "strict")
    except UnicodeEncodeError as exc:
        code_point = ord(exc.object[exc.start])
        raise RedactionError(
            f"character U+{code_point:04X} cannot be encoded in {encoding}",
            hint="choose a replacement the file's encoding can hold (ASCII always works)",
        ) from None
    except LookupError:
        raise RedactionError(f"unknown encoding {encoding!r}") from None
