"""Running a scan: sources -> engine -> filters -> ScanResult. The one place stages are joined.

The CLI and the library API both call `build_engine`, `iter_inputs` and `scan_inputs` with a
`Settings`, so a scan behaves the same whichever way it is started.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import os
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

from piiscan.config import DEFAULT_NER_ENTITIES, DEFAULT_NER_MODEL, Settings
from piiscan.engine import Engine, Unnumbered
from piiscan.errors import ScanError
from piiscan.model import (
    NER_PACK,
    Document,
    FileToRead,
    Finding,
    ScanResult,
    Skipped,
    SkipReason,
    Stats,
    StreamedFile,
)
from piiscan.parallel import DEFAULT_BATCHING, Batching, default_jobs, ordered_map
from piiscan.rulepack import load_rules, pack_files, select_rules
from piiscan.sources import (
    NOT_INCLUDED,
    PathScope,
    iter_sources,
    iter_windows,
    load_file,
    named_path,
    read_stream,
)
from piiscan.suppress import Allowlist, UnusedIgnore, filter_findings, parse_allowlist

if TYPE_CHECKING:  # imported when a baseline is read, or NER is on
    from piiscan.baseline import Baseline
    from piiscan.ner import NerOptions

STDIN = "-"
# The model reads a batch of documents in one stream and is some fifty times slower than the
# patterns, so with NER batches are smaller and a pool starts as soon as there are two.
NER_BATCHING = Batching(items=64, bytes=128 * 1024, inline_items=2, inline_bytes=128 * 1024)


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
    ner: NerOptions | None = None
    test_code: tuple[str, ...] = ()

    @classmethod
    def from_settings(cls, settings: Settings) -> EngineOptions:
        return cls(
            packs=settings.packs,
            rule_paths=settings.rules,
            only=settings.only,
            disable=settings.disable,
            min_confidence=settings.min_confidence,
            backend=settings.backend,
            regex_timeout=settings.regex_timeout,
            ner=ner_options(settings.ner, settings.ner_model, settings.ner_entities),
            test_code=settings.test_code,
        )


@dataclass(frozen=True, slots=True)
class Filters:
    """What happens to findings after the engine: ignores, allowlist, baseline."""

    ignore_comments: bool = True
    allowlist: Allowlist | None = None
    baseline: Baseline | None = None
    report_unused: bool = False


class Progress(NamedTuple):
    """What a progress display is told after each file."""

    path: str
    files_done: int
    findings: int


def ner_options(
    enabled: bool, model: str | None = None, entities: Sequence[str] | None = None
) -> NerOptions | None:
    """The engine's NER options (None when NER is off), the entity names checked; a model or
    entities not given are the settings' defaults."""
    if not enabled:
        return None
    from piiscan.ner import NerOptions, check_entities

    return NerOptions(
        DEFAULT_NER_MODEL if model is None else model,
        check_entities(DEFAULT_NER_ENTITIES if entities is None else entities),
    )


def build_engine(
    settings: Settings | EngineOptions,
    fingerprint_key: tuple[str, bytes] | None = None,
    *,
    mask_left_out: bool = True,
) -> Engine:
    """An engine for these settings; `fingerprint_key`: (key id, key) when a project key
    keys the fingerprints (from the key, never from settings). `mask_left_out=False` where
    no text is shown (redaction without --dry-run, baselines): the rules left out by
    only/disable then never run, not even to mask their values in snippets or diffs."""
    options = settings if isinstance(settings, EngineOptions) else EngineOptions.from_settings(settings)
    loaded = load_rules(options.rule_paths, packs=options.packs)
    if options.rule_paths:
        from piiscan.ruletest import refuse_failing_rules

        own_packs = {str(file) for location in options.rule_paths for file in pack_files(location)}
        refuse_failing_rules([rule for rule in loaded if rule.source in own_packs])
    ner = options.ner
    candidates = list(loaded)
    if ner is not None:  # the model's rules are named in --only/--disable like the others
        from piiscan.ner import ner_rules

        candidates += ner_rules(ner.entities)
    chosen = select_rules(candidates, options.only, options.disable)
    rules = [rule for rule in chosen if rule.pack != NER_PACK]
    if ner is not None:
        # The model still runs for the entities left out: what it finds is masked in snippets.
        ner = dataclasses.replace(ner, entities=tuple(r.entity for r in chosen if r.pack == NER_PACK))
    selected = {rule.id for rule in rules}
    return Engine(
        rules,
        masked_too=[rule for rule in loaded if rule.id not in selected] if mask_left_out else (),
        min_confidence=options.min_confidence,
        backend=options.backend,
        regex_timeout=options.regex_timeout,
        ner=ner,
        test_code=options.test_code,
        fingerprint_key=fingerprint_key[1] if fingerprint_key else None,
        fingerprint_key_id=fingerprint_key[0] if fingerprint_key else None,
    )


def filters_from(
    settings: Settings, *, use_baseline: bool = True, key_id: str | None = None,
    baseline: Baseline | None = None,
) -> Filters:
    """The filters of these settings; `key_id`: the project key the engine's fingerprints
    are keyed with, which the baseline's must be too. `baseline`: the settings' baseline,
    if the caller read it already."""
    if not (settings.baseline and use_baseline):
        baseline = None
    else:
        from piiscan.baseline import check_fingerprint_key, read_baseline

        if baseline is None:
            baseline = read_baseline(settings.baseline)
        check_fingerprint_key(baseline, key_id, settings.baseline)
    return Filters(
        ignore_comments=settings.ignore_comments,
        allowlist=parse_allowlist(settings.allowlist, "allowlist") if settings.allowlist else None,
        baseline=baseline,
        report_unused=settings.report_unused_ignores,
    )


def iter_inputs(
    paths: Sequence[str],
    settings: Settings,
    *,
    named_binary: bool = True,
    defer_reading: bool = False,
    stdin_name: str = STDIN,
) -> Iterable[Document | Skipped]:
    """Documents and skips for every path in order; "-" reads standard input once, named
    `stdin_name`.

    `named_binary=False` (for rewriting commands) skips binary files even when named.
    `defer_reading=True` (for `scan_inputs`) leaves small files to be read where they are
    scanned (see `FileToRead`).
    """
    files: list[str] = []
    for path in paths:
        if path != STDIN:
            files.append(path)
            continue
        yield from _iter_files(files, settings, named_binary, defer_reading)
        files = []
        yield read_stream(sys.stdin.buffer, stdin_name)
    yield from _iter_files(files, settings, named_binary, defer_reading)


def _iter_files(
    paths: list[str], settings: Settings, named_binary: bool, defer_reading: bool
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
        defer_reading=defer_reading,
    )


def git_inputs(
    settings: Settings, *, staged: bool = False, since: str | None = None, history: bool = False
) -> Iterable[Document | Skipped]:
    """What git names: the index (--staged), files changed since REV, or history blobs.
    Staged and changed files are named relative to the current folder, as a walk names
    them; history blobs by their path in the repository, as git does (they may no longer
    exist in the working tree)."""
    from piiscan import gitsource

    if staged:
        items = gitsource.staged_documents(
            ".", max_file_size=settings.max_file_size, relative_to=os.curdir
        )
    elif history:
        items = gitsource.history_documents(".", since=since, max_file_size=settings.max_file_size)
    else:
        return _changed_since(since, settings)
    return _in_scope(items, PathScope.build(settings.include, settings.exclude))


def _changed_since(since: str, settings: Settings) -> Iterable[Document | Skipped | FileToRead]:
    """The working-tree files git says changed since `since`, as named files, save links.

    Git names them, the user did not: a link is passed over as a walk passes it (a named one
    is followed), so a tracked link to a file outside the repository is not read, nor is a
    dangling one an error on every run."""
    from piiscan import gitsource

    paths = gitsource.changed_paths(since, ".", relative_to=os.curdir)
    links = set() if settings.follow_symlinks else {path for path in paths if os.path.islink(path)}
    passed_over = _in_scope(
        (Skipped(named_path(path), SkipReason.SYMLINK, "--follow-symlinks scans its target")
         for path in paths if path in links),
        PathScope.build(settings.include, settings.exclude),
    )
    files = [path for path in paths if path not in links]
    # Nothing changed means nothing to scan (not the whole tree); binaries stay skipped.
    scanned = iter_inputs(files, settings, named_binary=False, defer_reading=True) if files else ()
    return itertools.chain(passed_over, scanned)


def _in_scope(items: Iterable[Document | Skipped], scope: PathScope) -> Iterable[Document | Skipped]:
    for item in items:
        verdict = scope.file_verdict(item.path)
        if verdict == NOT_INCLUDED:
            continue
        if verdict is not None:
            yield Skipped(item.path, SkipReason.EXCLUDED, verdict)
            continue
        yield item


class Outcome(NamedTuple):
    """What scanning one input gave: its findings, or why it was skipped."""

    path: str
    findings: tuple[Finding, ...] = ()
    skipped: Skipped | None = None
    suppressed: int = 0
    unused: tuple[UnusedIgnore, ...] = ()
    size: int = 0


def scan_one(engine: Engine, filters: Filters, item: Document | StreamedFile | Skipped) -> Outcome:
    """The whole per-document job (engine, then filters)."""
    if isinstance(item, Skipped):
        return Outcome(item.path, skipped=item)
    if isinstance(item, StreamedFile):
        return _scan_streamed(engine, filters, item)
    try:
        raw = engine.scan(item)
    except ScanError as exc:
        return _timed_out(item.path, exc)
    return _outcome(filters, item, raw)


def scan_group(
    engine: Engine,
    filters: Filters,
    items: list[Document | StreamedFile | Skipped | FileToRead | Window],
) -> list[Outcome | WindowScan]:
    """`scan_one` (or `scan_window`) for each item, the documents scanned together
    (`Engine.scan_many`, which batches the NER model across them): what a worker process
    runs, one batch at a time. Files not yet read are read here."""
    items = [load_file(item) if isinstance(item, FileToRead) else item for item in items]
    documents = [item for item in items if isinstance(item, Document)]
    try:
        found = iter(engine.scan_many(documents)) if len(documents) > 1 else None
    except ScanError:
        found = None  # one of them timed out: scanned one by one, the others still count
    results: list[Outcome | WindowScan] = []
    for item in items:
        if isinstance(item, Window):
            results.append(scan_window(engine, item))
        elif isinstance(item, Document) and found is not None:
            results.append(_outcome(filters, item, next(found)))
        else:
            results.append(scan_one(engine, filters, item))
    return results


class Window(NamedTuple):
    """One window of a large file, as a unit of work of its own when there are several
    workers. `document` is None when reading the file failed here (`error` says why)."""

    streamed: StreamedFile
    document: Document | None
    last: bool
    error: str = ""


class WindowScan(NamedTuple):
    """A window's findings with their fingerprint materials, numbered later in file order."""

    unnumbered: tuple[Unnumbered, ...] = ()
    timed_out: str | None = None


def scan_window(engine: Engine, window: Window) -> WindowScan:
    if window.document is None:
        return WindowScan()
    try:
        return WindowScan(tuple(engine.scan_window(window.document)))
    except ScanError as exc:
        return WindowScan(timed_out=_timeout_detail(window.streamed.path, exc))


def split_large_files(items: Iterable[Document | StreamedFile | Skipped]) -> Iterator[Document | Skipped | Window]:
    """Large files as their windows, so that several workers share one: read here, in order,
    while the workers scan the windows already read."""
    for item in items:
        if not isinstance(item, StreamedFile):
            yield item
            continue
        try:
            windows = iter_windows(item)
            current = next(windows)
            for following in windows:
                yield Window(item, current, last=False)
                current = following
        except OSError as exc:
            yield Window(item, None, last=True, error=exc.strerror or type(exc).__name__)
            continue
        yield Window(item, current, last=True)


class _LargeFile:
    """The windows of one large file, taken in order (from the workers, or scanned here):
    numbers their fingerprints across windows and filters them."""

    def __init__(self, streamed: StreamedFile, engine: Engine, filters: Filters) -> None:
        self.streamed = streamed
        self.engine = engine
        self.filters = filters
        self.findings: list[Finding] = []
        self.unused: list[UnusedIgnore] = []
        self.suppressed = 0
        self.occurrences: dict[str, int] = {}
        self.skipped: Skipped | None = None

    def add(self, window: Window, scanned: WindowScan) -> None:
        if self.skipped is not None:
            return
        path = self.streamed.path
        if window.document is None:
            self.skipped = Skipped(path, SkipReason.UNREADABLE, window.error)
            return
        if scanned.timed_out is not None:
            self.skipped = Skipped(path, SkipReason.TIMEOUT, scanned.timed_out)
            return
        raw = self.engine.number_fingerprints(scanned.unnumbered, self.occurrences)
        kept, counts, unused_here = _filter(self.filters, window.document, raw)
        self.findings.extend(kept)
        self.suppressed += counts.total
        self.unused.extend(u for u in unused_here if _reports_line(window.document, u.line))

    def outcome(self) -> Outcome:
        if self.skipped is not None:
            return Outcome(self.streamed.path, skipped=self.skipped)
        return Outcome(self.streamed.path, tuple(self.findings), None, self.suppressed,
                       tuple(self.unused), self.streamed.size)


def _outcome(filters: Filters, document: Document, raw: list[Finding]) -> Outcome:
    kept, counts, unused = _filter(filters, document, raw)
    return Outcome(
        document.path,
        findings=tuple(kept),
        suppressed=counts.total,
        unused=tuple(unused),
        size=document.size or len(document.text),
    )


def _scan_streamed(engine: Engine, filters: Filters, streamed: StreamedFile) -> Outcome:
    """A large file window by window, in one worker: memory stays bounded and the windows
    share one occurrence count, so the findings equal those of a whole-file scan."""
    large = _LargeFile(streamed, engine, filters)
    for window in split_large_files([streamed]):
        large.add(window, scan_window(engine, window))
        if large.skipped is not None:
            break
    return large.outcome()


def _filter(filters: Filters, document: Document, raw: list[Finding]):
    return filter_findings(
        document.text,
        raw,
        allowlist=filters.allowlist,
        ignore_comments=filters.ignore_comments,
        baseline=filters.baseline,
        path=document.path,
        first_line=document.line_base + 1,
        scope_path=document.scope_path,
        report_unused=filters.report_unused,
    )


def _reports_line(window: Document, line: int) -> bool:
    """Whether an ignore comment on `line` lies in the part of the file `window` reports."""
    text, low = window.text, window.report_from
    high = len(text) if window.report_to is None else window.report_to
    first = window.line_base + 1 + text.count("\n", 0, low)
    last = first + text.count("\n", low, high)
    return first <= line <= last and (window.report_to is None or line < last)


def _timed_out(path: str, exc: ScanError) -> Outcome:
    return Outcome(path, skipped=Skipped(path, SkipReason.TIMEOUT, _timeout_detail(path, exc)))


def _timeout_detail(path: str, exc: ScanError) -> str:
    # The skip record names the file already; the engine's message starts with it too.
    return exc.message.removeprefix(f"{path}: ")


def _input_size(item: Document | StreamedFile | Skipped | FileToRead | Window) -> int:
    if isinstance(item, Window):
        return len(item.document.text) if item.document is not None else 0
    if isinstance(item, Skipped):
        return 0
    if isinstance(item, Document):
        return item.size or len(item.text)
    return item.size


def _outcomes(
    engine: Engine, filters: Filters, inputs: Iterable[Document | Skipped], jobs: int
) -> Iterator[Outcome]:
    """The outcome of every input, in input order. With several workers, large files are
    split into windows that any worker may scan, and put together again here."""
    work = functools.partial(scan_group, engine, filters)
    batching = NER_BATCHING if engine.uses_model else DEFAULT_BATCHING
    if jobs <= 1:
        yield from ordered_map(work, inputs, jobs=1, size_of=_input_size, batching=batching)
        return
    in_flight: deque[Window] = deque()  # windows sent and not yet back, oldest first

    def remembered(items: Iterable[Document | Skipped | Window]) -> Iterator:
        for item in items:
            if isinstance(item, Window):
                in_flight.append(item)
            yield item

    large: _LargeFile | None = None
    work_items = remembered(split_large_files(inputs))
    for result in ordered_map(work, work_items, jobs=jobs, size_of=_input_size, batching=batching):
        if isinstance(result, Outcome):
            yield result
            continue
        window = in_flight.popleft()
        if large is None:
            large = _LargeFile(window.streamed, engine, filters)
        large.add(window, result)
        if window.last:
            yield large.outcome()
            large = None


def scan_inputs(
    engine: Engine,
    inputs: Iterable[Document | Skipped],
    on_progress: Callable[[Progress], None] | None = None,
    filters: Filters = Filters(),
    jobs: int = 1,
) -> ScanResult:
    """Scan every input with `jobs` processes; the result is the same for any `jobs`."""
    started = time.perf_counter()
    findings: list[Finding] = []
    skipped: list[Skipped] = []
    unused: list[UnusedIgnore] = []
    suppressed = files = size = 0
    for outcome in _outcomes(engine, filters, inputs, jobs):
        if outcome.skipped is not None:
            skipped.append(outcome.skipped)
            continue
        findings.extend(outcome.findings)
        unused.extend(outcome.unused)
        suppressed += outcome.suppressed
        files += 1
        size += outcome.size
        if on_progress is not None:
            on_progress(Progress(outcome.path, files + len(skipped), len(findings)))
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
    inputs = iter_inputs(paths, settings, defer_reading=True)
    filters = filters_from(settings, key_id=engine.fingerprint_key_id)
    return scan_inputs(engine, inputs, on_progress, filters, jobs_for(settings))


def jobs_for(settings: Settings) -> int:
    return settings.jobs or default_jobs()
