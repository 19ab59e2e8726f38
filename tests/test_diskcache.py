"""The cache folder: checked reads, and a bounded number of files per kind."""

from __future__ import annotations

import os
import time
from pathlib import Path

from piiscan import diskcache
from piiscan.diskcache import KEEP_PER_KIND, read_checked, write_checked

MAGIC = b"test-cache/1\n"


def cache_name(kind: str, number: int, suffix: str) -> str:
    return f"{kind}-{number:032x}{suffix}"


def plant(folder: Path, name: str, age_seconds: float) -> Path:
    path = folder / name
    write_checked(path, MAGIC, name.encode())
    when = time.time() - age_seconds
    os.utime(path, (when, when))
    return path


def test_a_write_keeps_the_most_recently_used_files_of_its_kind_only(tmp_path: Path) -> None:
    old_databases = [plant(tmp_path, cache_name("hs", i, ".db"), 1000 + i) for i in range(KEEP_PER_KIND + 3)]
    patterns = [plant(tmp_path, cache_name("re", i, ".pickle"), 5000 + i) for i in range(3)]
    foreign = [tmp_path / "hs-notes.txt", tmp_path / "hs-1234.db", tmp_path / f"hs-{'g' * 32}.db"]
    a_day_ago = time.time() - 86400  # the least recently used, were they piiscan's
    for path in foreign:
        path.write_text("not piiscan's")
        os.utime(path, (a_day_ago, a_day_ago))
    stale_temp, fresh_temp = tmp_path / ".tmp-dead.part", tmp_path / ".tmp-busy.part"
    for path in (stale_temp, fresh_temp):
        path.write_bytes(b"half a file")
    two_hours_ago = time.time() - 7200
    os.utime(stale_temp, (two_hours_ago, two_hours_ago))

    new = tmp_path / cache_name("hs", 999, ".db")
    write_checked(new, MAGIC, b"payload")

    kept = sorted(p.name for p in tmp_path.glob("hs-*.db") if p not in foreign)
    # The new file and the KEEP_PER_KIND - 1 youngest of the old ones (smaller age).
    assert kept == sorted([new.name] + [p.name for p in old_databases[: KEEP_PER_KIND - 1]])
    assert all(p.exists() for p in patterns)  # another kind: untouched by an "hs" write
    assert all(p.exists() for p in foreign)
    assert not stale_temp.exists() and fresh_temp.exists()
    assert read_checked(new, MAGIC)[1] == b"payload"


def test_a_read_marks_a_file_used_so_the_clean_up_keeps_it(tmp_path: Path) -> None:
    files = [plant(tmp_path, cache_name("pack", i, ".json"), 100 * (i + 1)) for i in range(KEEP_PER_KIND)]
    oldest = files[-1]
    assert read_checked(oldest, MAGIC) is not None  # used now
    write_checked(tmp_path / cache_name("pack", 777, ".json"), MAGIC, b"new")
    assert oldest.exists()
    assert not files[-2].exists()  # now the least recently used
    assert len(list(tmp_path.glob("pack-*.json"))) == KEEP_PER_KIND


def test_a_failed_read_leaves_the_file_unmarked(tmp_path: Path) -> None:
    path = plant(tmp_path, cache_name("hs", 1, ".db"), 3600)
    before = path.stat().st_mtime
    assert read_checked(path, b"another magic\n") is None
    assert path.stat().st_mtime == before


def test_clean_up_copes_with_an_unlistable_folder(tmp_path: Path, monkeypatch) -> None:
    def refuse(_path):
        raise PermissionError("no listing")

    monkeypatch.setattr(diskcache.os, "scandir", refuse)
    target = tmp_path / cache_name("re", 5, ".pickle")
    write_checked(target, MAGIC, b"still written")
    assert read_checked(target, MAGIC)[1] == b"still written"
