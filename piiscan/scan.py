"""Running a scan: sources -> engine -> filters -> ScanResult. The one place stages are joined.

The CLI and the library API both call `build_engine`, `iter_inputs` and `scan_inputs` with a
`Settings`, so a scan behaves the same whichever way it is started.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from piiscan.baseline import Baseline, read_baseline
from piiscan.config import Settings
from piiscan.engine import Engine
from piiscan.errors import ScanError
from piiscan.model import Document, Finding, ScanResult, Skipped, SkipReason, Stats
from piiscan.rulepack import load_rules, select_rules
from piiscan.sources import NOT_INCLUDED, PathScope, iter_sources, read_stream
from piiscan.suppress import Allowlist, UnusedIgnore, filter_findings, parse_allowlist

STDIN = "-"


@dataclass(frozen=True, slots=True)
class EngineOptions:
    """The settings an engine is built from (hashable, so engines can be cached by them)."""

    packs: tuple[str, ...] | None
    rule_paths: tuple[str, ...]
    only: tuple[str, ...]
    disable: tuple[str, ...]
    min_confidence: float
    backend: str
    regex_timeout: float

    @classmethod
    def from_settings(cls, settings: Settings) -> EngineOptions:
        return cls(
            packs=None if settings.packs == ("all",) else settings.packs,
            rule_paths=settings.rules,
            only=settings.only,
            disable=settings.disable,
            min_confidence=settings.min_confidence,
            backend=settings.backend,
            regex_timeout=settings.regex_timeout,
        )


@dataclass(frozen=True, slots=True)
class Filters:
    """What happens to findings after the engine: ignores, allowlist, baseline."""

    ignore_comments: bool = True
    allowlist: Allowlist | None = None
    baseline: Baseline | None = None
    report_unused: bool = False


@dataclass(frozen=True, slots=True)
class Progress:
    """What a progress display is told after each file."""

    path: str
    files_done: int
    findings: int


def build_engine(settings: Settings | EngineOptions) -> Engine:
    options = settings if isinstance(settings, EngineOptions) else EngineOptions.from_settings(settings)
    rules = load_rules(options.rule_paths, packs=options.packs)
    rules = select_rules(rules, options.only, options.disable)
    return Engine(
        rules,
        min_confidence=options.min_confidence,
        backend=options.backend,
        regex_timeout=options.regex_timeout,
    )


def filters_from(settings: Settings, *, use_baseline: bool = True) -> Filters:
    return Filters(
        ignore_comments=settings.ignore_comments,
        allowlist=parse_allowlist(settings.allowlist, "allowlist") if settings.allowlist else None,
        baseline=read_baseline(settings.baseline) if settings.baseline and use_baseline else None,
        report_unused=settings.report_unused_ignores,
    )


def iter_inputs(
    paths: Sequence[str], settings: Settings, *, named_binary: bool = True
) -> Iterable[Document | Skipped]:
    """Documents and skips for every path in order; "-" reads standard input once.

    `named_binary=False` (for rewriting commands) skips binary files even when named.
    """
    files: list[str] = []
    for path in paths:
        if path != STDIN:
            files.append(path)
            continue
        yield from _iter_files(files, settings, named_binary)
        files = []
        yield read_stream(sys.stdin.buffer, STDIN)
    yield from _iter_files(files, settings, named_binary)


def _iter_files(
    paths: list[str], settings: Settings, named_binary: bool
) -> Iterable[Document | Skipped]:
    if not paths:
        return
    yield from iter_sources(
        paths,
        include=settings.include,
        exclude=settings.exclude,
        max_file_size=settings.max_file_size,
        follow_symlinks=settings.follow_symlinks,
        use_gitignore=settings.gitignore,
        force_text=settings.text,
        named_binary=named_binary,
    )


def git_inputs(
    settings: Settings, *, staged: bool = False, since: str | None = None, history: bool = False
) -> Iterable[Document | Skipped]:
    """What git names: the index (--staged), files changed since REV, or history blobs."""
    from piiscan import gitsource

    if staged:
        items = gitsource.staged_documents(".", max_file_size=settings.max_file_size)
    elif history:
        items = gitsource.history_documents(".", since=since, max_file_size=settings.max_file_size)
    else:
        root = gitsource.repository_root(".")
        paths = [os.path.relpath(os.path.join(root, p)) for p in gitsource.changed_paths(since, ".")]
        # Nothing changed means nothing to scan (not the whole tree); binaries stay skipped.
        return iter_inputs(paths, settings, named_binary=False) if paths else ()
    return _in_scope(items, PathScope.build(settings.include, settings.exclude))


def _in_scope(items: Iterable[Document | Skipped], scope: PathScope) -> Iterable[Document | Skipped]:
    for item in items:
        verdict = scope.file_verdict(item.path)
        if verdict == NOT_INCLUDED:
            continue
        if verdict is not None:
            yield Skipped(item.path, SkipReason.EXCLUDED, verdict)
            continue
        yield item


def scan_inputs(
    engine: Engine,
    inputs: Iterable[Document | Skipped],
    on_progress: Callable[[Progress], None] | None = None,
    filters: Filters = Filters(),
) -> ScanResult:
    started = time.perf_counter()
    findings: list[Finding] = []
    skipped: list[Skipped] = []
    unused: list[UnusedIgnore] = []
    suppressed = files = size = 0
    for item in inputs:
        if isinstance(item, Skipped):
            skipped.append(item)
            continue
        try:
            raw = engine.scan(item)
        except ScanError as exc:
            detail = exc.message.removeprefix(f"{item.path}: ")
            skipped.append(Skipped(item.path, SkipReason.TIMEOUT, detail))
            continue
        kept, counts, unused_here = filter_findings(
            item.text,
            raw,
            allowlist=filters.allowlist,
            ignore_comments=filters.ignore_comments,
            baseline=filters.baseline,
            path=item.path,
        )
        findings.extend(kept)
        if filters.report_unused:
            unused.extend(unused_here)
        suppressed += counts.by_comment + counts.by_allowlist + counts.by_baseline
        files += 1
        size += item.size or len(item.text)
        if on_progress is not None:
            on_progress(Progress(item.path, files + len(skipped), len(findings)))
    stats = Stats(
        files_scanned=files,
        files_skipped=len(skipped),
        bytes_scanned=size,
        seconds=round(time.perf_counter() - started, 3),
        suppressed=suppressed,
    )
    return ScanResult(tuple(findings), tuple(skipped), stats, tuple(unused))


def scan_paths(
    paths: Sequence[str],
    engine: Engine,
    settings: Settings = Settings(),
    on_progress: Callable[[Progress], None] | None = None,
) -> ScanResult:
    return scan_inputs(engine, iter_inputs(paths, settings), on_progress, filters_from(settings))
