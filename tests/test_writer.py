"""The atomic writer: byte fidelity, what it keeps, what it refuses, and every way out of it."""

from __future__ import annotations

import codecs
import errno
import os
import signal
import socket
import stat
from pathlib import Path

import pytest
from faker import Faker
from hypothesis import given
from hypothesis import strategies as st

from piiscan.decoding import decode_bytes
from piiscan.errors import RedactionError
from piiscan.redact import writer
from piiscan.redact.writer import (
    FileSnapshot,
    atomic_rewrite,
    encode_like,
    read_for_rewrite,
    write_new_file,
)

fake = Faker()
Faker.seed(4242)
EMAIL = fake.email()
SSN = fake.ssn()
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def temp_files(folder: Path) -> list[Path]:
    return sorted(folder.glob(".piiscan-*.tmp"))


def make_file(folder: Path, data: bytes, name: str = "notes.txt", mode: int = 0o644) -> Path:
    path = folder / name
    path.write_bytes(data)
    os.chmod(path, mode)
    return path


def redact_bytes(data: bytes, value: str, replacement: str) -> bytes:
    """What the redactor does: decode, replace a span in the text, encode like the original."""
    text, encoding, bom = decode_bytes(data)
    assert value in text
    return encode_like(text.replace(value, replacement), encoding, bom)


@pytest.fixture
def alarm():
    """Turn a hang (a FIFO opened for reading blocks) into a test failure."""

    def on_alarm(signum, frame):  # noqa: ARG001
        raise AssertionError("timed out: the writer blocked on a special file")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(5)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


# --- byte fidelity -------------------------------------------------------------------------

BODY = f"Contact: {EMAIL}\nSSN {SSN}\ncafé — naïve ✓\n"

SAMPLES = {
    "utf-8": BODY.encode("utf-8"),
    "utf-8 with BOM": codecs.BOM_UTF8 + BODY.encode("utf-8"),
    "utf-16 le BOM": codecs.BOM_UTF16_LE + BODY.encode("utf-16-le"),
    "utf-16 be BOM": codecs.BOM_UTF16_BE + BODY.encode("utf-16-be"),
    "utf-32 le BOM": codecs.BOM_UTF32_LE + BODY.encode("utf-32-le"),
    "utf-32 be BOM": codecs.BOM_UTF32_BE + BODY.encode("utf-32-be"),
    "invalid utf-8 (latin-1)": b"\xff\xfe broken \xc3\x28 " + BODY.encode("utf-8") + b"\x80\n",
    "utf-8 BOM + invalid utf-8": codecs.BOM_UTF8 + b"x \xe2\x82 " + BODY.encode("utf-8"),
    "crlf": BODY.replace("\n", "\r\n").encode("utf-8"),
    "lf": BODY.encode("utf-8"),
    "mixed endings": ("one\r\ntwo\nthree\rfour\r\n" + BODY).encode("utf-8"),
    "utf-16 be crlf": codecs.BOM_UTF16_BE + BODY.replace("\n", "\r\n").encode("utf-16-be"),
    "no final newline": BODY.rstrip("\n").encode("utf-8"),
    "empty": b"",
}


@pytest.mark.parametrize("data", SAMPLES.values(), ids=SAMPLES.keys())
def test_decode_then_encode_like_is_the_identity(data):
    text, encoding, bom = decode_bytes(data)
    assert encode_like(text, encoding, bom) == data


@pytest.mark.parametrize("data", SAMPLES.values(), ids=SAMPLES.keys())
def test_rewrite_with_unchanged_text_gives_the_same_bytes(tmp_path, data):
    path = make_file(tmp_path, data)
    read, snapshot = read_for_rewrite(str(path))
    assert read == data
    text, encoding, bom = decode_bytes(read)
    atomic_rewrite(str(path), encode_like(text, encoding, bom), snapshot)
    assert path.read_bytes() == data
    assert temp_files(tmp_path) == []


@given(st.binary(max_size=512))
def test_any_bytes_round_trip(data):
    text, encoding, bom = decode_bytes(data)
    assert encode_like(text, encoding, bom) == data


@given(st.sampled_from(list(SAMPLES.values())).map(lambda s: s[:4]), st.binary(max_size=256))
def test_any_bytes_after_a_bom_round_trip(prefix, rest):
    data = prefix + rest
    text, encoding, bom = decode_bytes(data)
    assert encode_like(text, encoding, bom) == data


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (SAMPLES["utf-16 be crlf"], "utf-16-be"),
        (SAMPLES["utf-16 le BOM"], "utf-16-le"),
        (SAMPLES["utf-32 be BOM"], "utf-32-be"),
        (SAMPLES["utf-8 with BOM"], "utf-8"),
        (SAMPLES["mixed endings"], "utf-8"),
    ],
    ids=["utf-16-be crlf", "utf-16-le", "utf-32-be", "utf-8 bom", "mixed endings"],
)
def test_only_the_redacted_span_changes(tmp_path, data, encoding):
    path = make_file(tmp_path, data)
    read, snapshot = read_for_rewrite(str(path))
    atomic_rewrite(str(path), redact_bytes(read, SSN, "[SSN]"), snapshot)
    result = path.read_bytes()
    expected = data.replace(SSN.encode(encoding), "[SSN]".encode(encoding))
    assert expected != data
    assert result == expected
    assert result[:4] == data[:4]  # BOM and byte order kept


def test_invalid_utf8_bytes_outside_the_span_are_kept(tmp_path):
    data = SAMPLES["invalid utf-8 (latin-1)"]
    path = make_file(tmp_path, data)
    read, snapshot = read_for_rewrite(str(path))
    atomic_rewrite(str(path), redact_bytes(read, EMAIL, "[EMAIL_ADDRESS]"), snapshot)
    assert path.read_bytes() == data.replace(EMAIL.encode(), b"[EMAIL_ADDRESS]")


def test_a_replacement_the_encoding_cannot_hold_is_an_error():
    with pytest.raises(RedactionError) as caught:
        encode_like("price: \u20ac", "latin-1", b"")
    assert "U+20AC" in caught.value.message
    assert "latin-1" in caught.value.message
    assert caught.value.hint


def test_an_unknown_encoding_is_an_error():
    with pytest.raises(RedactionError, match="unknown encoding"):
        encode_like("x", "no-such-codec", b"")


# --- what a rewrite keeps ------------------------------------------------------------------


@pytest.mark.parametrize("mode", [0o640, 0o600, 0o664, 0o755])
def test_rewrite_keeps_the_mode(tmp_path, mode):
    path = make_file(tmp_path, BODY.encode(), mode=mode)
    data, snapshot = read_for_rewrite(str(path))
    old_umask = os.umask(0o077)  # the temp file must not take its mode from the umask
    try:
        atomic_rewrite(str(path), redact_bytes(data, EMAIL, "[EMAIL]"), snapshot)
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(os.stat(path).st_mode) == mode
    assert EMAIL not in path.read_text()


def test_rewrite_keeps_the_owner(tmp_path):
    path = make_file(tmp_path, BODY.encode(), mode=0o640)
    before = os.stat(path)
    data, snapshot = read_for_rewrite(str(path))
    atomic_rewrite(str(path), redact_bytes(data, EMAIL, "[EMAIL]"), snapshot)
    after = os.stat(path)
    assert (after.st_uid, after.st_gid) == (before.st_uid, before.st_gid)


@pytest.mark.skipif(not IS_ROOT, reason="only root can give a file to another user")
def test_rewrite_as_root_keeps_another_users_file_theirs(tmp_path):
    path = make_file(tmp_path, BODY.encode(), mode=0o4750)  # set-user-ID survives the chown
    os.chown(path, 1234, 1234)
    os.chmod(path, 0o4750)
    data, snapshot = read_for_rewrite(str(path))
    atomic_rewrite(str(path), redact_bytes(data, EMAIL, "[EMAIL]"), snapshot)
    after = os.stat(path)
    assert (after.st_uid, after.st_gid) == (1234, 1234)
    assert stat.S_IMODE(after.st_mode) == 0o4750


@pytest.mark.skipif(not IS_ROOT, reason="needs a file owned by another user")
def test_an_owner_that_cannot_be_kept_is_refused(tmp_path, monkeypatch):
    # What an unprivileged user meets: the chown back to the owner is not allowed.
    path = make_file(tmp_path, BODY.encode(), mode=0o664)
    os.chown(path, 1234, 1234)
    data, snapshot = read_for_rewrite(str(path))

    def no_chown(fd, uid, gid):
        raise PermissionError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(writer.os, "fchown", no_chown)
    with pytest.raises(RedactionError, match="owned by uid 1234") as caught:
        atomic_rewrite(str(path), redact_bytes(data, EMAIL, "[EMAIL]"), snapshot)
    assert caught.value.hint
    assert path.read_bytes() == BODY.encode()
    assert temp_files(tmp_path) == []


@pytest.mark.skipif(not IS_ROOT, reason="needs a file in a group the test user may not be in")
@pytest.mark.parametrize(("mode", "refused"), [(0o640, True), (0o600, False)])
def test_a_foreign_group_is_kept_out_or_refused(tmp_path, monkeypatch, mode, refused):
    # Without privilege the group may not be kept; that is fine only if it had no access.
    path = make_file(tmp_path, BODY.encode(), mode=mode)
    os.chown(path, os.geteuid(), 1234)
    data, snapshot = read_for_rewrite(str(path))

    def no_chown(fd, uid, gid):
        raise PermissionError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(writer.os, "fchown", no_chown)
    new = redact_bytes(data, EMAIL, "[EMAIL]")
    if refused:
        with pytest.raises(RedactionError, match="group 1234"):
            atomic_rewrite(str(path), new, snapshot)
        assert path.read_bytes() == BODY.encode()
    else:
        atomic_rewrite(str(path), new, snapshot)
        assert path.read_bytes() == new
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert temp_files(tmp_path) == []


def test_rewrite_keeps_extended_attributes(tmp_path):
    path = make_file(tmp_path, BODY.encode())
    try:
        os.setxattr(path, "user.origin", b"export-7")
    except (AttributeError, OSError):
        pytest.skip("this file system has no user extended attributes")
    data, snapshot = read_for_rewrite(str(path))
    atomic_rewrite(str(path), redact_bytes(data, EMAIL, "[EMAIL]"), snapshot)
    assert os.getxattr(path, "user.origin") == b"export-7"


def test_a_successful_rewrite_replaces_the_inode_and_leaves_no_temp(tmp_path):
    path = make_file(tmp_path, BODY.encode())
    old_inode = os.stat(path).st_ino
    data, snapshot = read_for_rewrite(str(path))
    new = redact_bytes(data, SSN, "***-**-****")
    atomic_rewrite(str(path), new, snapshot)
    assert path.read_bytes() == new
    assert os.stat(path).st_ino != old_inode
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_a_relative_path_in_the_current_folder(tmp_path, monkeypatch):
    make_file(tmp_path, BODY.encode())
    monkeypatch.chdir(tmp_path)
    data, snapshot = read_for_rewrite("notes.txt")
    atomic_rewrite("notes.txt", redact_bytes(data, EMAIL, "[EMAIL]"), snapshot)
    assert EMAIL not in (tmp_path / "notes.txt").read_text()
    assert temp_files(tmp_path) == []


def test_large_file_and_short_writes(tmp_path, monkeypatch):
    data = (BODY * 40_000).encode()  # a few MB: several read chunks
    path = make_file(tmp_path, data)
    read, snapshot = read_for_rewrite(str(path))
    assert read == data
    real_write = os.write
    monkeypatch.setattr(writer.os, "write", lambda fd, buf: real_write(fd, bytes(buf[:4093])))
    new = redact_bytes(read, EMAIL, "[EMAIL]")
    atomic_rewrite(str(path), new, snapshot)
    assert path.read_bytes() == new


# --- what is refused -----------------------------------------------------------------------


def test_a_symlink_is_refused_and_its_target_untouched(tmp_path):
    target = make_file(tmp_path, BODY.encode(), name="target.txt")
    link = tmp_path / "link.txt"
    link.symlink_to(target)
    with pytest.raises(RedactionError, match="is a symlink; redact its target instead"):
        read_for_rewrite(str(link))
    assert link.is_symlink()
    assert target.read_bytes() == BODY.encode()


def test_a_hard_link_is_refused_and_both_names_untouched(tmp_path):
    first = make_file(tmp_path, BODY.encode(), name="first.txt")
    second = tmp_path / "second.txt"
    os.link(first, second)
    for name in (first, second):
        with pytest.raises(RedactionError, match="has 2 hard links") as caught:
            read_for_rewrite(str(name))
        assert "other names would keep the original" in caught.value.message
    assert first.read_bytes() == second.read_bytes() == BODY.encode()
    assert os.stat(first).st_ino == os.stat(second).st_ino


def test_a_read_only_file_is_refused_not_chmodded(tmp_path):
    path = make_file(tmp_path, BODY.encode(), mode=0o444)
    with pytest.raises(RedactionError, match="read-only") as caught:
        read_for_rewrite(str(path))
    assert caught.value.hint
    assert path.read_bytes() == BODY.encode()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o444


def test_a_missing_file_is_an_error_naming_it(tmp_path):
    missing = tmp_path / "gone.txt"
    with pytest.raises(RedactionError, match="cannot read .*gone.txt"):
        read_for_rewrite(str(missing))


@pytest.mark.usefixtures("alarm")
def test_a_fifo_is_refused_without_hanging(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(RedactionError, match="named pipe"):
        read_for_rewrite(str(fifo))


@pytest.mark.usefixtures("alarm")
def test_a_symlink_to_a_fifo_is_refused_without_hanging(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    (tmp_path / "link").symlink_to(fifo)
    with pytest.raises(RedactionError, match="symlink"):
        read_for_rewrite(str(tmp_path / "link"))


@pytest.mark.usefixtures("alarm")
@pytest.mark.parametrize("swapped_in", ["symlink", "fifo"])
def test_a_swap_between_lstat_and_open_is_caught(tmp_path, monkeypatch, swapped_in):
    # The lstat saw a regular file; by the time of the open the name is a symlink or a FIFO.
    regular = make_file(tmp_path, BODY.encode(), name="regular.txt")
    path = tmp_path / "notes.txt"
    if swapped_in == "symlink":
        path.symlink_to(regular)
    else:
        os.mkfifo(path)
    real_lstat = os.lstat
    monkeypatch.setattr(
        writer.os, "lstat", lambda p: real_lstat(regular) if p == str(path) else real_lstat(p)
    )
    with pytest.raises(RedactionError, match="symlink" if swapped_in == "symlink" else "FIFO"):
        read_for_rewrite(str(path))
    assert regular.read_bytes() == BODY.encode()


def test_a_directory_is_refused(tmp_path):
    with pytest.raises(RedactionError, match="is a directory"):
        read_for_rewrite(str(tmp_path))


@pytest.mark.usefixtures("alarm")
def test_a_device_is_refused(tmp_path):
    with pytest.raises(RedactionError, match="character device"):
        read_for_rewrite("/dev/null")
    with pytest.raises(RedactionError, match="character device"):
        read_for_rewrite("/dev/zero")


def test_a_socket_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a short relative name: socket paths are limited to ~100 bytes
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind("sock")
        with pytest.raises(RedactionError, match="socket"):
            read_for_rewrite("sock")
    finally:
        server.close()


# --- a file that changed after it was read -------------------------------------------------


def test_a_modified_file_is_refused_and_the_new_content_kept(tmp_path):
    path = make_file(tmp_path, BODY.encode())
    data, snapshot = read_for_rewrite(str(path))
    path.write_bytes(b"edited by someone else\n")
    with pytest.raises(RedactionError, match="changed since it was scanned; nothing written") as e:
        atomic_rewrite(str(path), redact_bytes(data, EMAIL, "[EMAIL]"), snapshot)
    assert EMAIL not in e.value.message and SSN not in e.value.message
    assert path.read_bytes() == b"edited by someone else\n"
    assert temp_files(tmp_path) == []


def test_same_size_and_restored_mtime_is_still_detected(tmp_path):
    path = make_file(tmp_path, BODY.encode())
    data, snapshot = read_for_rewrite(str(path))
    edited = BODY.replace(SSN, "X" * len(SSN)).encode()
    assert len(edited) == snapshot.size
    path.write_bytes(edited)
    os.utime(path, ns=(snapshot.mtime_ns, snapshot.mtime_ns))  # ctime cannot be put back
    assert os.stat(path).st_mtime_ns == snapshot.mtime_ns
    with pytest.raises(RedactionError, match="changed since it was scanned"):
        atomic_rewrite(str(path), redact_bytes(data, EMAIL, "[EMAIL]"), snapshot)
    assert path.read_bytes() == edited


def test_a_file_replaced_by_rename_is_detected_by_its_inode(tmp_path):
    path = make_file(tmp_path, BODY.encode())
    data, snapshot = read_for_rewrite(str(path))
    other = make_file(tmp_path, BODY.encode(), name="editor-save.tmp")
    os.utime(other, ns=(snapshot.mtime_ns, snapshot.mtime_ns))
    os.replace(other, path)  # what an editor's "save" does
    with pytest.raises(RedactionError, match="changed since it was scanned"):
        atomic_rewrite(str(path), redact_bytes(data, EMAIL, "[EMAIL]"), snapshot)
    assert path.read_bytes() == BODY.encode()


@pytest.mark.parametrize("change", ["hard link", "symlink", "deleted", "chmod"])
def test_other_changes_after_the_read_are_detected(tmp_path, change):
    path = make_file(tmp_path, BODY.encode())
    data, snapshot = read_for_rewrite(str(path))
    if change == "hard link":
        os.link(path, tmp_path / "second.txt")
    elif change == "symlink":
        target = make_file(tmp_path, BODY.encode(), name="elsewhere.txt")
        path.unlink()
        path.symlink_to(target)
    elif change == "deleted":
        path.unlink()
    else:
        os.chmod(path, 0o600)
    with pytest.raises(RedactionError, match="changed since it was scanned"):
        atomic_rewrite(str(path), redact_bytes(data, EMAIL, "[EMAIL]"), snapshot)
    assert temp_files(tmp_path) == []
    if change == "symlink":
        assert path.is_symlink()
        assert (tmp_path / "elsewhere.txt").read_bytes() == BODY.encode()
    elif change == "deleted":
        assert not path.exists()
    else:
        assert path.read_bytes() == BODY.encode()


def test_a_snapshot_of_another_path_is_a_programming_error(tmp_path):
    first = make_file(tmp_path, BODY.encode(), name="a.txt")
    second = make_file(tmp_path, BODY.encode(), name="b.txt")
    _, snapshot = read_for_rewrite(str(first))
    with pytest.raises(ValueError, match="another path"):
        atomic_rewrite(str(second), b"x", snapshot)
    assert second.read_bytes() == BODY.encode()


def test_snapshot_is_frozen(tmp_path):
    _, snapshot = read_for_rewrite(str(make_file(tmp_path, b"x")))
    assert isinstance(snapshot, FileSnapshot)
    with pytest.raises(AttributeError):
        snapshot.size = 0  # type: ignore[misc]


# --- failures and interrupts ---------------------------------------------------------------


def _fail_with(exc: BaseException):
    def fail(*args, **kwargs):
        raise exc

    return fail


@pytest.mark.parametrize(
    "patched",
    ["replace", "fsync"],
)
def test_an_error_before_the_rename_leaves_the_original_and_no_temp(tmp_path, monkeypatch, patched):
    path = make_file(tmp_path, BODY.encode(), mode=0o640)
    data, snapshot = read_for_rewrite(str(path))
    monkeypatch.setattr(writer.os, patched, _fail_with(OSError(errno.EIO, "Input/output error")))
    with pytest.raises(RedactionError) as caught:
        atomic_rewrite(str(path), redact_bytes(data, EMAIL, "[EMAIL]"), snapshot)
    assert str(path) in caught.value.message
    assert "Input/output error" in caught.value.message
    assert path.read_bytes() == BODY.encode()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
    assert temp_files(tmp_path) == []


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EDQUOT], ids=["ENOSPC", "EDQUOT"])
def test_disk_full_is_an_error_with_the_original_intact(tmp_path, monkeypatch, code):
    path = make_file(tmp_path, BODY.encode())
    data, snapshot = read_for_rewrite(str(path))
    monkeypatch.setattr(writer.os, "write", _fail_with(OSError(code, os.strerror(code))))
    with pytest.raises(RedactionError) as caught:
        atomic_rewrite(str(path), redact_bytes(data, EMAIL, "[EMAIL]"), snapshot)
    assert str(path) in caught.value.message
    assert os.strerror(code) in caught.value.message
    assert "free some space" in caught.value.hint
    assert EMAIL not in caught.value.message
    assert path.read_bytes() == BODY.encode()
    assert temp_files(tmp_path) == []


def test_a_folder_without_write_access_is_an_error(tmp_path, monkeypatch):
    path = make_file(tmp_path, BODY.encode())
    data, snapshot = read_for_rewrite(str(path))
    monkeypatch.setattr(
        writer.tempfile, "mkstemp", _fail_with(PermissionError(errno.EACCES, "Permission denied"))
    )
    with pytest.raises(RedactionError, match="Permission denied") as caught:
        atomic_rewrite(str(path), redact_bytes(data, EMAIL, "[EMAIL]"), snapshot)
    assert "folder" in caught.value.hint
    assert path.read_bytes() == BODY.encode()


def test_interrupt_before_the_rename_leaves_the_old_file(tmp_path, monkeypatch):
    path = make_file(tmp_path, BODY.encode())
    data, snapshot = read_for_rewrite(str(path))
    monkeypatch.setattr(writer.os, "replace", _fail_with(KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        atomic_rewrite(str(path), redact_bytes(data, EMAIL, "[EMAIL]"), snapshot)
    assert path.read_bytes() == BODY.encode()
    assert temp_files(tmp_path) == []


def test_interrupt_during_the_write_leaves_the_old_file(tmp_path, monkeypatch):
    path = make_file(tmp_path, BODY.encode())
    data, snapshot = read_for_rewrite(str(path))
    real_write = os.write
    calls = []

    def write_then_interrupt(fd, buf):
        calls.append(1)
        if len(calls) > 1:
            raise KeyboardInterrupt
        return real_write(fd, bytes(buf[:10]))  # half the file is in the temp by now

    monkeypatch.setattr(writer.os, "write", write_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        atomic_rewrite(str(path), redact_bytes(data, EMAIL, "[EMAIL]"), snapshot)
    assert path.read_bytes() == BODY.encode()
    assert temp_files(tmp_path) == []


def test_sigterm_during_the_write_leaves_the_old_file_and_no_temp(tmp_path, monkeypatch):
    # Python's default SIGTERM ends the process at once, skipping the clean-up: while a
    # temp file may exist, SIGTERM is raised as an interrupt.
    path = make_file(tmp_path, BODY.encode())
    data, snapshot = read_for_rewrite(str(path))
    real_write = os.write

    def write_then_terminated(fd, buf):
        written = real_write(fd, bytes(buf[:10]))
        os.kill(os.getpid(), signal.SIGTERM)  # handled before the next bytecode
        return written

    def callers_handler(signum, frame):  # reached only if the writer did not take SIGTERM
        raise AssertionError("SIGTERM was not handled by the writer")

    monkeypatch.setattr(writer.os, "write", write_then_terminated)
    before = signal.signal(signal.SIGTERM, callers_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            atomic_rewrite(str(path), redact_bytes(data, EMAIL, "[EMAIL]"), snapshot)
        assert signal.getsignal(signal.SIGTERM) is callers_handler  # the caller's is back
    finally:
        signal.signal(signal.SIGTERM, before)
    assert path.read_bytes() == BODY.encode()
    assert temp_files(tmp_path) == []


def test_interrupt_after_the_rename_leaves_the_new_file(tmp_path, monkeypatch):
    path = make_file(tmp_path, BODY.encode())
    data, snapshot = read_for_rewrite(str(path))
    real_replace = os.replace

    def replace_then_interrupt(src, dst):
        real_replace(src, dst)
        raise KeyboardInterrupt

    monkeypatch.setattr(writer.os, "replace", replace_then_interrupt)
    new = redact_bytes(data, EMAIL, "[EMAIL]")
    with pytest.raises(KeyboardInterrupt):
        atomic_rewrite(str(path), new, snapshot)
    assert path.read_bytes() == new
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_a_failed_folder_sync_after_the_rename_says_the_file_was_rewritten(tmp_path, monkeypatch):
    path = make_file(tmp_path, BODY.encode())
    data, snapshot = read_for_rewrite(str(path))
    real_fsync = os.fsync

    def fsync_files_only(fd):
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            raise OSError(errno.EIO, "Input/output error")
        real_fsync(fd)

    monkeypatch.setattr(writer.os, "fsync", fsync_files_only)
    new = redact_bytes(data, EMAIL, "[EMAIL]")
    with pytest.raises(RedactionError, match="was rewritten, but its folder could not be synced"):
        atomic_rewrite(str(path), new, snapshot)
    assert path.read_bytes() == new
    assert temp_files(tmp_path) == []


# --- write_new_file ------------------------------------------------------------------------


def test_write_new_file_creates_parents_with_the_mode_given(tmp_path):
    target = tmp_path / "out" / "deep" / "notes.txt"
    old_umask = os.umask(0o077)
    try:
        write_new_file(str(target), b"redacted\r\n", mode=0o640)
    finally:
        os.umask(old_umask)
    assert target.read_bytes() == b"redacted\r\n"
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o640
    assert temp_files(target.parent) == []


def test_write_new_file_default_mode(tmp_path):
    target = tmp_path / "a.txt"
    write_new_file(str(target), b"x")
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o644


def test_write_new_file_replaces_a_symlink_instead_of_writing_through_it(tmp_path):
    outside = make_file(tmp_path, b"do not touch", name="outside.txt")
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").symlink_to(outside)
    write_new_file(str(out / "notes.txt"), b"redacted")
    assert not (out / "notes.txt").is_symlink()
    assert (out / "notes.txt").read_bytes() == b"redacted"
    assert outside.read_bytes() == b"do not touch"


def test_write_new_file_is_atomic_over_an_existing_file(tmp_path, monkeypatch):
    target = make_file(tmp_path, b"previous run")
    monkeypatch.setattr(writer.os, "replace", _fail_with(KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        write_new_file(str(target), b"new")
    assert target.read_bytes() == b"previous run"
    assert temp_files(tmp_path) == []
    monkeypatch.undo()
    monkeypatch.setattr(writer.os, "write", _fail_with(OSError(errno.ENOSPC, "No space left")))
    with pytest.raises(RedactionError, match="No space left"):
        write_new_file(str(target), b"new")
    assert target.read_bytes() == b"previous run"
    assert temp_files(tmp_path) == []


def test_write_new_file_refuses_a_directory(tmp_path):
    (tmp_path / "out").mkdir()
    with pytest.raises(RedactionError, match="is a directory"):
        write_new_file(str(tmp_path / "out"), b"x")
    assert (tmp_path / "out").is_dir()
