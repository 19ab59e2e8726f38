"""The detection engine: rules in, findings out, no I/O.

How a document is scanned, in one pass:

1. A *finder* (`piiscan.finders`) says which rules may match where: hyperscan names the lines
   that hold a match end of a rule, the pure-regex finder the segments where a rule's
   keywords occur. Both drop the places of a rule that requires context where none of its
   context words is within reach.
2. Each (rule, line or segment) the finder names is *confirmed* by running the rule's own
   patterns (`piiscan.compiled`) with the `regex` module there only, as if line by line (a
   match never spans a line), with a timeout per call, so a catastrophic pattern raises a
   `ScanError` instead of hanging or passing as "clean".
3. Every match is scored (`piiscan.scoring`): exclusions, context words, test values, where
   it is written (credits in source code, test code), and last the validator.
4. Overlapping matches of different rules are resolved (`resolve_overlaps`), and findings
   get line/column, masked snippets and fingerprints (`piiscan.snippets`).

Both finders feed the same confirmation step, so they give identical findings as long as
hyperscan names at least every line where the regex matches, which prefilter mode and the
rule tests of each `prefilter` guarantee. (A pattern's lookahead should not look past its
line's break: the two finders' windows end in different places after it.)
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import hmac
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import fields as dataclass_fields
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import regex

from piiscan.compiled import CompiledRule, compile_rule, pattern_cache
from piiscan.decoding import decode_bytes
from piiscan.diskcache import default_cache_dir
from piiscan.errors import ScanError, UsageError
from piiscan.finders import MAX_MATCH_CHARS, HyperscanFinder, RegexFinder, Segment
from piiscan.hsdatabase import hyperscan_available
from piiscan.model import NER_PACK, Document, Finding, Rule, Severity
from piiscan.scoring import Match, Surroundings, is_test_code_by, score_match, table_columns
from piiscan.snippets import LeftOutPatterns, Span, fingerprint_materials, masked_snippets

if TYPE_CHECKING:  # imported when NER is on (Engine._build)
    from piiscan.ner import NerOptions

DEFAULT_MIN_CONFIDENCE = 0.5
# Seconds per regex call: one pattern over one line (hyperscan) or one ~1 KB segment (regex
# backend), so a slow but finite pattern may time out on one backend and not on the other.
DEFAULT_REGEX_TIMEOUT = 2.0
BACKENDS = ("auto", "hyperscan", "regex")


class Engine:
    """Compiled rules plus a finder. Build once, then `scan` any number of documents.

    Picklable (the hyperscan database is rebuilt, or read from the disk cache, on unpickling),
    so a process pool can share one engine.
    """

    def __init__(
        self,
        rules: Sequence[Rule],
        *,
        min_confidence: float = DEFAULT_MIN_CONFIDENCE,
        backend: str = "auto",
        regex_timeout: float = DEFAULT_REGEX_TIMEOUT,
        fingerprint_key: bytes | None = None,
        fingerprint_key_id: str | None = None,
        cache_dir: Path | None | str = "default",
        ner: NerOptions | None = None,
        test_code: Sequence[str] = (),
        masked_too: Sequence[Rule] = (),
    ) -> None:
        """`masked_too`: rules loaded but left out (--only, --disable), whose patterns'
        matches are masked in snippets all the same (`_left_out_spans`)."""
        if backend not in BACKENDS:
            raise UsageError(f"unknown backend {backend!r}", "use one of: " + ", ".join(BACKENDS))
        if not rules and ner is None:
            raise UsageError("no rules to run")
        self._options = {
            "rules": tuple(rules),
            "min_confidence": min_confidence,
            "backend": backend,
            "regex_timeout": regex_timeout,
            "fingerprint_key": fingerprint_key,
            "fingerprint_key_id": fingerprint_key_id,
            "cache_dir": default_cache_dir() if cache_dir == "default" else cache_dir,
            "ner": ner,
            "test_code": (test_code,) if isinstance(test_code, str) else tuple(test_code),
            "masked_too": tuple(masked_too),
        }
        self._build()

    def _build(self) -> None:
        o = self._options
        pattern_rules: tuple[Rule, ...] = o["rules"]
        self._ner = None
        ner_descriptors: tuple[Rule, ...] = ()
        if o["ner"] is not None:  # the NER module is imported only when it is asked for
            from piiscan.ner import NerModel, ner_rules

            self._ner = NerModel(o["ner"])
            # NER findings are described by rules of their own, after every pattern rule.
            ner_descriptors = tuple(ner_rules(o["ner"].entities))
        self.rules: tuple[Rule, ...] = pattern_rules + ner_descriptors
        self._ner_order = {r.entity: len(pattern_rules) + i for i, r in enumerate(ner_descriptors)}
        self._is_test_code = is_test_code_by(o["test_code"])
        self.min_confidence: float = o["min_confidence"]
        self.regex_timeout: float = o["regex_timeout"]
        self._fingerprint_key: bytes | None = o["fingerprint_key"]
        # The project key it comes from: a baseline must name the same (check_fingerprint_key).
        self.fingerprint_key_id: str | None = o["fingerprint_key_id"]
        # Compiling with `regex` is slow, and most rules never match a given file: a rule is
        # put together the first time a finder names it, its patterns taken from the pattern
        # cache (which compiles them all once, when the cache folder has none for these rules).
        self._compiled: list[CompiledRule | None] = [None] * len(self.rules)
        self._patterns = pattern_cache(pattern_rules, o["cache_dir"], o["masked_too"])
        backend = o["backend"]
        if backend == "auto":
            backend = "hyperscan" if hyperscan_available() else "regex"
        # The rules left out by --only/--disable, for snippets; built at the first snippet,
        # their hyperscan database kept in the cache folder (with the hyperscan backend).
        self._left_out: LeftOutPatterns | None = None
        cache = Path(o["cache_dir"]) if o["cache_dir"] else None
        self._left_out_cache = cache if backend == "hyperscan" else None
        if backend == "hyperscan":
            if not hyperscan_available():
                raise UsageError(
                    "the hyperscan backend is not installed",
                    "pip install hyperscan, or use --backend regex",
                )
            self._finder = HyperscanFinder(pattern_rules, cache, self._patterns.compile)
        else:
            self._finder = RegexFinder(pattern_rules, compile=self._patterns.compile)

    def __getstate__(self) -> dict:
        return self._options

    def __setstate__(self, state: dict) -> None:
        self._options = state
        self._build()

    @property
    def backend(self) -> str:
        return self._finder.name

    @property
    def uses_model(self) -> bool:
        """Whether the NER model runs (then scanning documents together pays off)."""
        return self._ner is not None

    # -- scanning

    def scan(self, document: Document) -> list[Finding]:
        """Findings in one document. A document given bytes is decoded as a file would be
        (`piiscan.decoding`). The windows of a large file go through `scan_window` and
        `number_fingerprints` instead, so that they get the fingerprints of a whole scan."""
        return self.number_fingerprints(self.scan_window(as_text(document)), {})

    def scan_many(self, documents: Sequence[Document]) -> list[list[Finding]]:
        """Findings in each of several documents: `scan` for each, except that with NER the
        model reads the regions of all of them in one batch (much faster for small files)."""
        documents = [as_text(document) for document in documents]
        return [
            self.number_fingerprints(self._unnumbered(document, *self._kept(document, model)), {})
            for document, model in zip(documents, self._model_matches(documents))
        ]

    def scan_with_spans_to_mask(self, document: Document) -> tuple[list[Finding], list[Span]]:
        """`scan`, and every value a rule matched in the document, reported or not (before
        any ignore comment, allowlist or baseline), and what the rules left out by --only or
        --disable match: what a redaction's --dry-run diff masks, as snippets do. One pass
        for both."""
        document = as_text(document)
        (model,) = self._model_matches([document])
        kept, unreported = self._kept(document, model)
        findings = self.number_fingerprints(self._unnumbered(document, kept, unreported), {})
        to_mask = [self._span(m, document.text) for m in kept] + unreported
        if self._options["masked_too"]:
            to_mask += self._left_out_spans(document.text, 0, len(document.text))
        return findings, to_mask

    def scan_window(self, window: Document) -> list[Unnumbered]:
        """The findings of one document or window, fingerprints not yet numbered, each with
        its fingerprint material: windows of a large file scanned in different processes are
        numbered in file order by `number_fingerprints`, which then gives what a whole-file
        scan gives."""
        (model,) = self._model_matches([window])
        return self._unnumbered(window, *self._kept(window, model))

    def _kept(
        self, document: Document, model: tuple[list[Match], list[Span]]
    ) -> tuple[list[Match], list[Span]]:
        """The pattern rules' matches and the model's, overlaps resolved; and the values
        matched but not reported (below the threshold, the losers of an overlap), which
        snippets mask all the same: a value under the threshold must not show raw beside a
        finding on its line. (What scoring drops as no value of the rule, such as a number
        with no context word where its rule requires one, is not among them: that also
        keeps them the same for both finders.)"""
        model_matches, unreported = model[0], list(model[1])
        matches = self._pattern_matches(document, unreported) + model_matches
        if not matches:
            return [], unreported
        candidates = _dedupe(matches)
        kept = resolve_overlaps(candidates, self.rules)
        if len(kept) < len(candidates):
            chosen = set(kept)
            unreported.extend(self._span(m, document.text) for m in candidates if m not in chosen)
        return kept, unreported

    def _span(self, match: Match, text: str) -> Span:
        """A match as snippets and the dry-run diff mask it."""
        return Span(match.start, match.end, self.rules[match.order].entity, text[match.start : match.end])

    def _pattern_matches(self, document: Document, unreported: list[Span]) -> list[Match]:
        matches: list[Match] = []
        column_of, column_names = table_columns(document)
        around: Surroundings | None = None  # worked out at the first window: most files have none
        for order, window, tried in self._finder.windows(document.text, column_names):
            if around is None:
                around = Surroundings.of(document, self._is_test_code, column_of)
            matches.extend(
                self._confirm(self._compiled_rule(order), document, window, around, tried, unreported)
            )
        return matches

    def _model_matches(self, documents: Sequence[Document]) -> list[tuple[list[Match], list[Span]]]:
        """The model's findings in each document, and the names and places it found that are
        not reported (below the threshold, or of an entity not asked for)."""
        if self._ner is None:
            return [([], []) for _ in documents]
        from piiscan.regions import natural_language_regions

        found = self._ner.find(
            [(d.path, d.text, natural_language_regions(d.path, d.text, d.header)) for d in documents]
        )
        matches = []
        for document, spans in zip(documents, found):
            in_test_code = self._is_test_code(document)
            kept, unreported = [], []
            for span in spans:
                order = self._ner_order.get(span.entity)
                if order is not None and span.confidence >= self.min_confidence:
                    made_up = in_test_code and self.rules[order].made_up_in_tests
                    kept.append(Match(order, span.start, span.end, span.confidence, made_up))
                else:
                    value = document.text[span.start : span.end]
                    unreported.append(Span(span.start, span.end, span.entity, value))
            matches.append((kept, unreported))
        return matches

    def _compiled_rule(self, order: int) -> CompiledRule:
        compiled = self._compiled[order]
        if compiled is None:
            compiled = self._compiled[order] = compile_rule(
                self.rules[order], order, self._patterns.compile
            )
        return compiled

    def _confirm(
        self,
        c: CompiledRule,
        document: Document,
        window: Segment,
        around: Surroundings,
        tried: tuple[int, ...] | None,
        unreported: list[Span],
    ) -> Iterator[Match]:
        """The rule's scored matches in a window, trying its patterns numbered in `tried`
        (all of them when None); the matches that are not reported go to `unreported`."""
        text = document.text
        best: dict[tuple[int, int], float] = {}
        patterns = c.patterns if tried is None else [c.patterns[i] for i in tried]
        for pattern, score in patterns:
            try:
                for start, end in _line_matches(pattern, text, window, self.regex_timeout):
                    if (
                        start >= window.accept_before
                        or (window.cut and end >= window.end)
                        or end - start > MAX_MATCH_CHARS
                    ):
                        continue
                    if score > best.get((start, end), -1.0):
                        best[(start, end)] = score
            except TimeoutError:
                raise ScanError(
                    f"{document.path}: rule {c.rule.id!r} timed out near offset {window.start} "
                    f"(regex timeout {self.regex_timeout:g}s)",
                    "the rule's pattern backtracks badly on this input; fix the pattern or "
                    "disable the rule with --disable",
                ) from None
        for (start, end), score in best.items():
            scored = score_match(c, text, start, end, score, around, self.min_confidence)
            if scored is None:
                continue
            if scored.confidence >= self.min_confidence:
                yield scored
            else:  # below the threshold, yet the rule's value: masked in snippets
                unreported.append(Span(start, end, c.rule.entity, text[start:end]))

    def _unnumbered(
        self, document: Document, kept: list[Match], unreported: list[Span]
    ) -> list[Unnumbered]:
        """The reported findings of a document, in file coordinates, each with what its
        fingerprint hashes; built as Findings once numbered. Snippets mask the `unreported`
        matches too."""
        low = document.report_from
        high = len(document.text) if document.report_to is None else document.report_to
        text = document.text
        # Snippets mask every neighbour, also those in the overlap that another window reports.
        spans = [self._span(m, text) for m in kept]
        shown = [span for span in spans if low <= span.start < high]
        if not shown:
            return []
        left_out = functools.partial(self._left_out_spans, text) if self._options["masked_too"] else None
        snippets = iter(masked_snippets(text, spans, shown, unreported, left_out))
        offset, line_base, column_base = document.offset, document.line_base, document.column_base
        found, reported = [], []
        line, counted_to, line_start = 1, 0, 0
        for m, span in zip(kept, spans):
            # Matches come in order: look for line breaks only since the previous one.
            newline = text.rfind("\n", counted_to, m.start)
            if newline >= 0:
                line += text.count("\n", counted_to, m.start)
                line_start = newline + 1
            counted_to = m.start
            if not low <= m.start < high:  # another window reports it
                continue
            inside = text.count("\n", m.start, m.end)
            end_line = line + inside
            end_line_start = text.rfind("\n", m.start, m.end) + 1 if inside else line_start
            end_column = m.end - end_line_start + 1
            rule = self.rules[m.order]
            snippet, raw_snippet = next(snippets)
            reported.append((rule.id, span))
            # Finding's fields but the fingerprint, in its order. A window's first line may
            # start partway into the file's line (column_base).
            found.append((
                rule.id, rule.entity, document.path, m.start + offset, m.end + offset,
                line + line_base, m.start - line_start + 1 + (column_base if line == 1 else 0),
                end_line + line_base, end_column + (column_base if end_line == 1 else 0),
                m.confidence, Severity.INFO if m.test_data else rule.severity, rule.category,
                m.test_data, span.value, snippet, raw_snippet, document.commit,
                document.commit_date,
            ))
        materials = fingerprint_materials(text, document.path, reported, spans, self._fingerprint_key)
        return [Unnumbered(fields, material) for fields, material in zip(found, materials)]

    def _left_out_spans(self, text: str, lo: int, hi: int) -> list[Span]:
        """What the patterns of the rules left out (--only, --disable) match in text[lo:hi]."""
        if self._left_out is None:
            self._left_out = LeftOutPatterns(
                self._options["masked_too"], self._patterns.compile, self._left_out_cache
            )
        return self._left_out.spans(text, lo, hi, self.regex_timeout)

    def number_fingerprints(
        self, unnumbered: Sequence[Unnumbered], occurrences: dict[str, int]
    ) -> list[Finding]:
        """The findings, with fingerprints numbered in file order; `occurrences` counts the
        materials seen so far in the file (equal lines get #0, #1 ...)."""
        out = []
        for fields, material in unnumbered:
            seen = occurrences.get(material, 0)
            occurrences[material] = seen + 1
            data = f"{material}\0{seen}".encode("utf-8", "replace")
            if self._fingerprint_key is None:
                fingerprint = hashlib.sha256(data).hexdigest()[:32]
            else:
                fingerprint = hmac.new(self._fingerprint_key, data, "sha256").hexdigest()[:32]
            out.append(Finding(*fields[:_FINGERPRINT_AT], fingerprint, *fields[_FINGERPRINT_AT:]))
        return out


def as_text(document: Document) -> Document:
    """The document, its text decoded if a library caller gave bytes."""
    if isinstance(document.text, str):
        return document
    data = document.text
    text, encoding, bom = decode_bytes(data)
    return dataclasses.replace(document, text=text, encoding=encoding, bom=bom, size=document.size or len(data))


class Unnumbered(NamedTuple):
    """A finding before its fingerprint, which counts the equal materials before it in the
    file and so is numbered in file order (`Engine.number_fingerprints`, in the main process
    for the windows of a large file): the Finding's fields but `fingerprint`, and what the
    fingerprint hashes. Each Finding is built once, numbered."""

    fields: tuple
    material: str


_FINGERPRINT_AT = [f.name for f in dataclass_fields(Finding)].index("fingerprint")


def _line_matches(
    pattern: regex.Pattern, text: str, segment: Segment, timeout: float
) -> Iterator[tuple[int, int]]:
    """The spans of a pattern's matches in a segment, found as if each line were searched on
    its own, so that a segment of many lines and a window of one give the same: a match
    across a line break is never one, and hides nothing on the lines it crosses (the rest
    of its first line is searched alone, and the search goes on at the next line)."""
    pos = segment.start
    while True:
        for m in pattern.finditer(text, pos, segment.end, timeout=timeout):
            start, end = m.span()
            newline = text.find("\n", start, end)
            if newline < 0:
                if start < end:
                    yield start, end
                continue
            for rest in pattern.finditer(text, start, newline + 1, timeout=timeout):
                if rest.start() < rest.end() and rest.end() <= newline:
                    yield rest.span()
            pos = newline + 1
            break
        else:
            return


def resolve_overlaps(matches: Iterable[Match], rules: Sequence[Rule]) -> list[Match]:
    """Keep the best of every group of overlapping matches, in text order.

    Best = a rule's match over an NER guess, then the highest confidence, real data over test
    data, the longer span, the more severe rule, and the earlier rule: deterministic whatever
    order the matches came in.
    """

    def priority(m: Match):
        rule = rules[m.order]
        from_model = rule.pack == NER_PACK  # a structured match always beats a model's guess
        return (from_model, -m.confidence, m.test_data, -(m.end - m.start), -rule.severity.rank, m.order)

    ordered = sorted(matches, key=lambda m: (m.start, m.end, m.order))
    kept: list[Match] = []
    cluster: list[Match] = []
    cluster_end = -1
    for m in [*ordered, None]:
        if m is not None and m.start < cluster_end:
            cluster.append(m)
            cluster_end = max(cluster_end, m.end)
            continue
        # The cluster is closed: pick greedily by priority among its members.
        chosen: list[Match] = []
        for candidate in sorted(cluster, key=priority):
            if all(candidate.end <= c.start or candidate.start >= c.end for c in chosen):
                chosen.append(candidate)
        kept.extend(sorted(chosen, key=lambda x: x.start))
        if m is not None:
            cluster, cluster_end = [m], m.end
    return kept


def _dedupe(matches: list[Match]) -> list[Match]:
    """The same rule and span can come from overlapping long-line pieces: keep one."""
    best: dict[tuple[int, int, int], Match] = {}
    for m in matches:
        key = (m.order, m.start, m.end)
        if key not in best or m.confidence > best[key].confidence:
            best[key] = m
    return list(best.values())
