"""The cache folder: checked reads, only from a folder no one else can write, and a clean-up
that removes what is no longer used."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from piiscan import diskcache
from piiscan.diskcache import UNUSED_DAYS, read_checked, writable, write_checked

from ownership import hand_to_another_user

MAGIC = b"test-cache/1\n"
DAY = 86400


def cache_name(kind: str, number: int, suffix: str) -> str:
    return f"{kind}-{number:032x}{suffix}"


def age(path: Path, seconds: float) -> Path:
    when = time.time() - seconds
    os.utime(path, (when, when))
    return path


def plant(folder: Path, name: str, age_seconds: float) -> Path:
    path = folder / name
    write_checked(path, MAGIC, name.encode())
    return age(path, age_seconds)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    private = tmp_path / "cache"
    private.mkdir(mode=0o700)
    return private


def test_a_write_removes_the_files_of_its_kind_unused_for_a_month(folder: Path) -> None:
    recent = [plant(folder, cache_name("hs", i, ".db"), i * DAY) for i in range(20)]
    unused = [plant(folder, cache_name("hs", 100 + i, ".db"), (UNUSED_DAYS + 1 + i) * DAY) for i in range(3)]
    other_kind = plant(folder, cache_name("re", 1, ".pickle"), (UNUSED_DAYS + 5) * DAY)
    # Not names piiscan gives, however old: another tool's files in a shared folder.
    foreign = [folder / "hs-notes.txt", folder / "hs-1234.db", folder / f"hs-{'g' * 32}.db",
               folder / ".tmp-other-tool.part"]
    for path in foreign:
        path.write_text("not piiscan's")
        age(path, 400 * DAY)
    dead_writer, busy_writer = folder / ".tmp-piiscan-dead.part", folder / ".tmp-piiscan-busy.part"
    for path in (dead_writer, busy_writer):
        path.write_bytes(b"half a file")
    age(dead_writer, 7200)

    new = folder / cache_name("hs", 999, ".db")
    write_checked(new, MAGIC, b"payload")

    assert all(p.exists() for p in recent) and new.exists()  # more than a dozen in use: kept
    assert not any(p.exists() for p in unused)
    assert other_kind.exists()  # another kind is cleaned up by its own writes
    assert all(p.exists() for p in foreign)
    assert not dead_writer.exists() and busy_writer.exists()
    assert read_checked(new, MAGIC)[1] == b"payload"


def test_a_write_keeps_at_most_the_most_recently_used_files_of_a_kind(folder, monkeypatch) -> None:
    monkeypatch.setattr(diskcache, "MAX_PER_KIND", 5)
    files = [plant(folder, cache_name("pack", i, ".json"), 60 * (i + 1)) for i in range(8)]
    write_checked(folder / cache_name("pack", 777, ".json"), MAGIC, b"new")
    # Planting also cleans up: the four youngest planted files and the new one remain.
    assert sorted(p.name for p in folder.glob("pack-*.json")) == sorted(
        [cache_name("pack", 777, ".json")] + [p.name for p in files[:4]]
    )


def test_a_read_marks_a_file_used_so_the_clean_up_keeps_it(folder: Path) -> None:
    old = plant(folder, cache_name("pack", 1, ".json"), (UNUSED_DAYS + 10) * DAY)
    assert read_checked(old, MAGIC) is not None  # used now
    write_checked(folder / cache_name("pack", 2, ".json"), MAGIC, b"new")
    assert old.exists()


def test_a_failed_read_leaves_the_file_unmarked(folder: Path) -> None:
    path = plant(folder, cache_name("hs", 1, ".db"), 3600)
    before = path.stat().st_mtime
    assert read_checked(path, b"another magic\n") is None
    assert path.stat().st_mtime == before


def test_a_folder_of_ours_that_others_could_write_is_made_private_first(folder: Path) -> None:
    good = plant(folder, cache_name("hs", 1, ".db"), 0)
    loose = plant(folder, cache_name("hs", 2, ".db"), 0)
    loose.chmod(0o666)  # a file others could have rewritten: never read
    folder.chmod(0o777)  # as an older piiscan under a 002 umask may have left it
    assert read_checked(good, MAGIC) is not None
    assert folder.stat().st_mode & 0o777 == 0o755
    assert read_checked(loose, MAGIC) is None
    folder.chmod(0o775)
    assert writable(folder) and folder.stat().st_mode & 0o777 == 0o755


def test_a_folder_another_user_owns_is_neither_read_nor_written(folder: Path, monkeypatch) -> None:
    good = plant(folder, cache_name("hs", 1, ".db"), 0)
    folder.chmod(0o777)
    hand_to_another_user(folder, monkeypatch)
    assert diskcache.untrusted_folder(folder)  # the folder itself decides, whatever its files
    assert read_checked(good, MAGIC) is None
    assert not writable(folder)
    write_checked(folder / cache_name("hs", 2, ".db"), MAGIC, b"payload")
    assert not (folder / cache_name("hs", 2, ".db")).exists()
    assert folder.stat().st_mode & 0o777 == 0o777  # not ours to change


def test_a_file_another_user_could_have_written_is_not_read(folder: Path, monkeypatch) -> None:
    path = plant(folder, cache_name("re", 1, ".pickle"), 0)
    path.chmod(0o666)
    assert read_checked(path, MAGIC) is None
    path.chmod(0o600)
    assert read_checked(path, MAGIC) is not None
    hand_to_another_user(path, monkeypatch)
    assert read_checked(path, MAGIC) is None


def test_a_symlinked_cache_file_is_not_read(folder: Path) -> None:
    real = plant(folder, cache_name("hs", 1, ".db"), 0)
    link = folder / cache_name("hs", 2, ".db")
    link.symlink_to(real)
    assert read_checked(real, MAGIC) is not None
    assert read_checked(link, MAGIC) is None


def test_a_new_cache_folder_is_private(tmp_path: Path) -> None:
    target = tmp_path / "fresh" / "piiscan"
    assert writable(target)
    assert target.stat().st_mode & 0o777 == 0o700


def test_a_folder_that_cannot_exist_is_not_writable(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("in the way")
    assert not writable(blocker / "cache")
    write_checked(blocker / "cache" / cache_name("hs", 1, ".db"), MAGIC, b"payload")  # no error


def test_clean_up_copes_with_an_unlistable_folder(folder: Path, monkeypatch) -> None:
    real_scandir = os.scandir
    refused = []

    def refuse(path):
        if Path(path) == folder:
            refused.append(path)
            raise PermissionError("no listing")
        return real_scandir(path)

    monkeypatch.setattr(diskcache.os, "scandir", refuse)
    target = folder / cache_name("re", 5, ".pickle")
    write_checked(target, MAGIC, b"still written")
    assert refused  # the clean-up did try to list the folder
    assert read_checked(target, MAGIC)[1] == b"still written"


def test_a_symlinked_cache_folder_is_judged_by_its_target(tmp_path: Path) -> None:
    target = tmp_path / "bigger-disk" / "piiscan"
    target.mkdir(parents=True, mode=0o700)
    link = tmp_path / "piiscan"
    link.symlink_to(target, target_is_directory=True)
    path = plant(link, cache_name("hs", 1, ".db"), 0)
    assert read_checked(path, MAGIC) is not None
    target.chmod(0o777)  # ours: made private again on use
    assert read_checked(path, MAGIC) is not None and target.stat().st_mode & 0o777 == 0o755


def test_the_code_stamp_changes_with_any_file_of_the_package(tmp_path, monkeypatch) -> None:
    import piiscan

    package = tmp_path / "piiscan"
    (package / "report").mkdir(parents=True)
    (package / "__pycache__").mkdir()
    for module in ("__init__.py", "engine.py", "report/json.py", "tlds.txt"):
        (package / module).write_text("# code\n", encoding="utf-8")
    monkeypatch.setattr(piiscan, "__file__", str(package / "__init__.py"))

    def stamp() -> str:
        diskcache.code_stamp.cache_clear()
        return diskcache.code_stamp()

    try:
        first = stamp()
        assert stamp() == first
        (package / "__pycache__" / "engine.cpython-311.pyc").write_bytes(b"compiled")
        assert stamp() == first  # bytecode is made from the sources already stamped
        (package / "report" / "json.py").write_text("# changed code\n", encoding="utf-8")
        second = stamp()
        assert second != first
        later = time.time() + 10
        os.utime(package / "engine.py", (later, later))  # same size, edited
        third = stamp()
        assert third != second
        (package / "tlds.txt").write_text("# a new TLD list\n", encoding="utf-8")
        assert stamp() != third  # data a validator reads counts too
    finally:
        diskcache.code_stamp.cache_clear()
