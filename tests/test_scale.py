"""Scale without changing answers: windowed large files and worker pools find exactly
what a whole, single-process scan finds."""

from __future__ import annotations

import codecs
import gc
import multiprocessing
import os
import random

import pytest
from faker import Faker

import piiscan
from piiscan import parallel, scan, sources
from piiscan.config import Settings
from piiscan.model import Document, StreamedFile
from piiscan.scan import EngineOptions, build_engine, filters_from, iter_inputs, scan_inputs

SSN = "536-22-1234"


def corpus(seed: int) -> str:
    fake = Faker(["en_US", "de_DE"])
    Faker.seed(seed)
    rnd = random.Random(seed)
    lines = []
    for i in range(400):
        kind = i % 5
        if kind == 0:
            lines.append(f"user={fake.user_name()} mail={fake.free_email()} ssn: {fake.ssn()}")
        elif kind == 1:
            lines.append("x" * rnd.randint(0, 900) + f" {fake.free_email()} " + "y" * rnd.randint(0, 300))
        elif kind == 2:
            lines.append(f"ünïcödé {fake.name()} ☃ card 4539 1488 0343 6467 # piiscan: ignore[us.ssn]")
        elif kind == 3:
            lines.append(f"Größe: {fake.iban()} ({fake.city()})")
        else:
            lines.append(fake.sentence())
    return "\r\n".join(lines[:200]) + "\n" + "\n".join(lines[200:]) + "\n"


def scan_file(path, jobs=1, **settings):
    engine = build_engine(EngineOptions.from_settings(Settings()))
    chosen = Settings(report_unused_ignores=True, **settings)
    return scan_inputs(engine, iter_inputs([str(path)], chosen), None, filters_from(chosen), jobs)


@pytest.fixture
def small_windows(monkeypatch):
    """Stream every file, in tiny windows and tiny read blocks."""
    monkeypatch.setattr(sources, "STREAM_THRESHOLD", 0)
    monkeypatch.setattr(sources, "WINDOW_CHARS", 997)
    monkeypatch.setattr(sources, "_READ_CHUNK", 313)  # splits multi-byte characters too


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16-le", "latin-1"])
def test_windowed_scan_equals_whole_scan(tmp_path, monkeypatch, encoding):
    text = corpus(3)
    path = tmp_path / f"big-{encoding}.txt"
    data = text.encode("utf-8") if encoding == "utf-8" else (
        codecs.BOM_UTF16_LE + text.encode("utf-16-le") if encoding == "utf-16-le"
        else text.replace("☃", "*").encode("latin-1", "replace") + b"\xff\xfe broken utf-8\n"
    )
    path.write_bytes(data)
    whole = scan_file(path)
    assert len(whole.findings) > 200 and whole.unused_ignores
    monkeypatch.setattr(sources, "STREAM_THRESHOLD", 0)
    monkeypatch.setattr(sources, "WINDOW_CHARS", 997)
    monkeypatch.setattr(sources, "_READ_CHUNK", 313)
    windowed = scan_file(path)
    assert windowed.findings == whole.findings  # offsets, lines, columns, snippets, fingerprints
    assert windowed.unused_ignores == whole.unused_ignores
    assert windowed.stats.files_scanned == 1 and windowed.stats.bytes_scanned == len(data)


def test_windows_of_one_file_shared_by_workers_give_the_whole_scan(tmp_path, monkeypatch):
    # The same line again and again: its fingerprints are numbered across windows, which
    # different workers scan.
    text = corpus(4) + f"ssn: {SSN} # the same line\n" * 300 + corpus(6)
    path = tmp_path / "big.txt"
    path.write_text(text, encoding="utf-8")
    small = tmp_path / "small.txt"
    small.write_text(f"ssn: {SSN}\n", encoding="utf-8")
    whole = scan_file(path)
    monkeypatch.setattr(sources, "STREAM_THRESHOLD", 20_000)  # big.txt streams, small.txt not
    monkeypatch.setattr(sources, "WINDOW_CHARS", 997)
    shared = scan_inputs(
        build_engine(EngineOptions.from_settings(Settings())),
        iter_inputs([str(small), str(path), str(small)], Settings(report_unused_ignores=True)),
        None, filters_from(Settings(report_unused_ignores=True)), 2,
    )
    assert len({f.fingerprint for f in whole.findings}) == len(whole.findings) > 500
    assert [f for f in shared.findings if f.path == str(path)] == list(whole.findings)
    assert [f.path for f in shared.findings].count(str(small)) == 2
    assert shared.findings[0].path == shared.findings[-1].path == str(small)  # order kept
    assert shared.unused_ignores == whole.unused_ignores


def test_a_value_across_a_window_edge_is_found_exactly_once(tmp_path, small_windows):
    for offset in range(0, 60, 7):
        path = tmp_path / f"edge-{offset}.txt"
        prefix = "a" * (997 - offset) + " ssn: "
        path.write_text(prefix + SSN + " tail\n" + "b" * 3000 + "\n", encoding="utf-8")
        (finding,) = scan_file(path).findings
        assert (finding.start, finding.line) == (len(prefix), 1), offset


def test_windows_cover_the_file_once(tmp_path):
    text = corpus(5)
    path = tmp_path / "f.txt"
    path.write_text(text, encoding="utf-8", newline="")
    windows = list(sources.iter_windows(StreamedFile("f.txt", str(path), 0), window=1000, overlap=300))
    assert len(windows) > 10
    covered = [(w.offset + w.report_from, w.offset + (len(w.text) if w.report_to is None else w.report_to)) for w in windows]
    assert covered[0][0] == 0 and covered[-1][1] == len(text)
    assert all(a[1] == b[0] for a, b in zip(covered, covered[1:]))
    for w in windows:  # every window is the file's text at its offset
        assert text[w.offset : w.offset + len(w.text)] == w.text
        assert w.line_base == text.count("\n", 0, w.offset)


def test_jobs_do_not_change_the_result(tmp_path, monkeypatch):
    for i in range(40):
        (tmp_path / f"f{i:02}.txt").write_text(corpus(i)[: 2000 + 50 * i], encoding="utf-8")
    # make sure a pool really runs, with several batches
    monkeypatch.setattr(scan, "DEFAULT_BATCHING", parallel.Batching(items=5, inline_items=4))
    one = piiscan.scan_paths([tmp_path], jobs=1)
    two = piiscan.scan_paths([tmp_path], jobs=2)
    assert one.findings == two.findings and one.skipped == two.skipped
    assert len(one.findings) > 100


def test_ordered_map_keeps_order_and_runs_in_workers():
    batching = parallel.Batching(items=3, inline_items=2)
    out = list(parallel.ordered_map(_pids_and_squares, range(50), jobs=2, size_of=lambda _: 1,
                                    batching=batching))
    assert [square for _, square in out] == [i * i for i in range(50)]
    assert os.getpid() not in {pid for pid, _ in out}


FORKING = "fork" in multiprocessing.get_all_start_methods()


def test_workers_inherit_a_frozen_heap_and_the_caller_keeps_its_own():
    # Frozen at the fork, the inherited objects are never walked by a worker's garbage
    # collector (see parallel._frozen_while_forking); the caller's heap is frozen only then.
    batching = parallel.Batching(items=3, inline_items=2)
    assert gc.get_freeze_count() == 0
    results = parallel.ordered_map(_freeze_counts, range(50), jobs=2, size_of=lambda _: 1,
                                   batching=batching)
    try:
        in_worker = next(results)
        assert gc.get_freeze_count() == 0  # not while the caller iterates
        assert (in_worker > 0) == FORKING
        assert all((count > 0) == FORKING for count in results)
    finally:
        results.close()
    assert gc.get_freeze_count() == 0


def test_a_heap_the_caller_froze_stays_frozen():
    batching = parallel.Batching(items=3, inline_items=2)
    gc.freeze()  # as a forking server does before it forks
    try:
        assert len(list(parallel.ordered_map(_freeze_counts, range(50), jobs=2,
                                             size_of=lambda _: 1, batching=batching))) == 50
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


def _freeze_counts(batch: list[int]) -> list[int]:
    return [gc.get_freeze_count() for _ in batch]


def test_small_jobs_stay_in_process():
    out = list(parallel.ordered_map(_pids_and_squares, range(10), jobs=2, size_of=lambda _: 1))
    assert out == [(os.getpid(), i * i) for i in range(10)]


def _pids_and_squares(batch: list[int]) -> list[tuple[int, int]]:
    return [(os.getpid(), i * i) for i in batch]


def test_streamed_files_are_not_rewritten(tmp_path, small_windows, capsys):
    from piiscan.cli import main

    path = tmp_path / "big.txt"
    path.write_text(f"ssn: {SSN}\n" * 10, encoding="utf-8")
    before = path.read_bytes()
    with pytest.raises(SystemExit) as exit_:
        main(["redact", str(path), "--no-config"])
    assert exit_.value.code == 2 and "too large to rewrite" in capsys.readouterr().err
    assert path.read_bytes() == before


def test_a_document_window_reports_file_coordinates():
    engine = piiscan.engine_for()
    window = Document("f.txt", f"xx\nssn: {SSN}\n", offset=1000, line_base=41, column_base=7,
                      report_from=0, report_to=None)
    (f,) = engine.scan(window)
    assert (f.start, f.line, f.column) == (1000 + 8, 43, 6)
