"""Running a scan: sources -> engine -> ScanResult. The one place the stages are joined.

The CLI and the library API both call `build_engine` and `scan_paths`, so a scan behaves the
same whichever way it is started.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from piiscan.engine import DEFAULT_MIN_CONFIDENCE, DEFAULT_REGEX_TIMEOUT, Engine
from piiscan.errors import ScanError
from piiscan.model import Document, Finding, ScanResult, Skipped, SkipReason, Stats
from piiscan.rulepack import DEFAULT_PACKS, load_rules, select_rules
from piiscan.sources import DEFAULT_MAX_FILE_SIZE, iter_sources, read_stream

STDIN = "-"


@dataclass(frozen=True, slots=True)
class EngineOptions:
    packs: tuple[str, ...] | None = DEFAULT_PACKS  # built-in packs; None = all of them
    rule_paths: tuple[str, ...] = ()  # extra pack files or folders
    only: tuple[str, ...] = ()  # rule ids or entities to keep
    disable: tuple[str, ...] = ()  # rule ids or entities to drop
    min_confidence: float = DEFAULT_MIN_CONFIDENCE
    backend: str = "auto"
    regex_timeout: float = DEFAULT_REGEX_TIMEOUT


@dataclass(frozen=True, slots=True)
class SourceOptions:
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    max_file_size: int = DEFAULT_MAX_FILE_SIZE
    follow_symlinks: bool = False
    use_gitignore: bool = True
    force_text: bool = False


@dataclass(frozen=True, slots=True)
class Progress:
    """What a progress display is told after each file."""

    path: str
    files_done: int
    findings: int = field(default=0)


def build_engine(options: EngineOptions = EngineOptions()) -> Engine:
    rules = load_rules(options.rule_paths, packs=options.packs)
    rules = select_rules(rules, options.only, options.disable)
    return Engine(
        rules,
        min_confidence=options.min_confidence,
        backend=options.backend,
        regex_timeout=options.regex_timeout,
    )


def iter_inputs(paths: Sequence[str], options: SourceOptions) -> Iterable[Document | Skipped]:
    """Documents and skips for every path in order; "-" reads standard input once."""
    files: list[str] = []
    for path in paths:
        if path != STDIN:
            files.append(path)
            continue
        yield from _iter_files(files, options)
        files = []
        yield read_stream(sys.stdin.buffer, STDIN)
    yield from _iter_files(files, options)


def _iter_files(paths: list[str], options: SourceOptions) -> Iterable[Document | Skipped]:
    if not paths:
        return
    yield from iter_sources(
        paths,
        include=options.include,
        exclude=options.exclude,
        max_file_size=options.max_file_size,
        follow_symlinks=options.follow_symlinks,
        use_gitignore=options.use_gitignore,
        force_text=options.force_text,
    )


def scan_inputs(
    engine: Engine,
    inputs: Iterable[Document | Skipped],
    on_progress: Callable[[Progress], None] | None = None,
) -> ScanResult:
    started = time.perf_counter()
    findings: list[Finding] = []
    skipped: list[Skipped] = []
    files = size = 0
    for item in inputs:
        if isinstance(item, Skipped):
            skipped.append(item)
            continue
        try:
            findings.extend(engine.scan(item))
        except ScanError as exc:
            detail = exc.message.removeprefix(f"{item.path}: ")
            skipped.append(Skipped(item.path, SkipReason.TIMEOUT, detail))
            continue
        files += 1
        size += item.size or len(item.text)
        if on_progress is not None:
            on_progress(Progress(item.path, files + len(skipped), len(findings)))
    stats = Stats(
        files_scanned=files,
        files_skipped=len(skipped),
        bytes_scanned=size,
        seconds=round(time.perf_counter() - started, 3),
    )
    return ScanResult(tuple(findings), tuple(skipped), stats)


def scan_paths(
    paths: Sequence[str | Path],
    engine: Engine | None = None,
    sources: SourceOptions = SourceOptions(),
    on_progress: Callable[[Progress], None] | None = None,
) -> ScanResult:
    engine = engine or build_engine()
    inputs = iter_inputs([str(p) for p in paths], sources)
    return scan_inputs(engine, inputs, on_progress)
