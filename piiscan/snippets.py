"""What a finding shows and what its fingerprint hashes: the line around it with every
finding on it masked, and every value a rule matched there but does not report (below the
threshold, or an overlap's loser; under --only/--disable, whatever the left-out rules'
patterns match), and the material of a fingerprint that is stable across
runs and line moves.
"""

from __future__ import annotations

import bisect
import dataclasses
import re
from collections.abc import Callable, Sequence
from itertools import accumulate
from pathlib import Path
from typing import NamedTuple

import regex

from piiscan.finders import MAX_MATCH_CHARS
from piiscan.hsdatabase import load_or_build_database, patterns_of
from piiscan.masking import mask_value
from piiscan.model import Rule
from piiscan.rulepack import PATTERN_FLAGS

SNIPPET_CHARS = 160
_WHITESPACE = re.compile(r"\s+")


def _line_bounds(text: str) -> Callable[[int], tuple[int, int]]:
    """`bounds(offset)`: the line around an offset, without its line break (and without a CR
    before it). Findings come in order, many to a line: the last line found is reused, so a
    minified file's one line of megabytes is searched once, not once per finding."""
    line = [0, -1, 0]  # start, index of its "\n" (or len(text)), end without a CR

    def bounds(offset: int) -> tuple[int, int]:
        if not line[0] <= offset <= line[1]:
            start = text.rfind("\n", 0, offset) + 1
            newline = text.find("\n", offset)
            newline = len(text) if newline < 0 else newline
            end = newline - 1 if newline > start and text[newline - 1] == "\r" else newline
            line[:] = [start, newline, end]
        return line[0], line[2]

    return bounds


class Span(NamedTuple):
    """A kept match, as its snippet and its neighbours' snippets and fingerprints see it."""

    start: int
    end: int
    entity: str
    value: str


def _overlapping(spans: list[Span]):
    """A lookup of the spans overlapping [lo, hi): they are sorted and disjoint."""
    starts = [s.start for s in spans]
    ends = [s.end for s in spans]

    def lookup(lo: int, hi: int) -> list[Span]:
        return spans[bisect.bisect_right(ends, lo) : bisect.bisect_left(starts, hi)]

    return lookup


def masked_snippets(
    text: str,
    spans: list[Span],
    wanted: list[Span],
    unreported: Sequence[Span] = (),
    left_out: Callable[[int, int], list[Span]] | None = None,
) -> list[tuple[str, str]]:
    """The line around each `wanted` span, masked (every one of `spans` on it, the
    `unreported` matches, and what `left_out` finds there) and raw (--show-values)."""
    overlapping = _overlapping(spans)
    unreported_in = _any_overlapping(unreported)
    line_bounds = _line_bounds(text)
    out = []
    masked, bounds = "", None  # findings on one short line share its excerpt
    for span in wanted:
        line_start, line_end = line_bounds(span.start)
        lo, hi = _excerpt_bounds(line_start, line_end, span.start, span.end, SNIPPET_CHARS)
        if (lo, hi) != bounds:
            shown = overlapping(lo, hi)
            others = unreported_in(lo, hi)
            if others:
                shown = _masked_union(shown, others)
            if left_out is not None:
                # Searched beyond the excerpt's ends, so that a value it cuts is masked too.
                around = left_out(max(line_start, lo - MAX_MATCH_CHARS), min(line_end, hi + MAX_MATCH_CHARS))
                shown = _masked_union(shown, [g for g in around if g.end > lo and g.start < hi])
            masked = _replace_spans(text, lo, hi, shown, lambda g: mask_value(g.entity, g.value))
            bounds = (lo, hi)
        prefix = "…" if lo > line_start else ""
        suffix = "…" if hi < line_end else ""
        out.append(
            (f"{prefix}{masked.strip()}{suffix}", f"{prefix}{text[lo:hi].strip()}{suffix}")
        )
    return out


def _any_overlapping(spans: Sequence[Span]) -> Callable[[int, int], list[Span]]:
    """A lookup of the `spans` (which may overlap one another) overlapping [lo, hi)."""
    spans = sorted(spans)
    starts = [s.start for s in spans]
    longest = max((s.end - s.start for s in spans), default=0)

    def lookup(lo: int, hi: int) -> list[Span]:
        first = bisect.bisect_left(starts, lo - longest)
        return [s for s in spans[first : bisect.bisect_left(starts, hi)] if s.end > lo]

    return lookup


def _masked_union(kept: list[Span], others: list[Span]) -> list[Span]:
    """`kept`, and every part of `others` that no span before it covers, sorted and disjoint:
    a value that overlaps a finding, or another value, is still masked to its end. A part of
    a value has no entity, so it is masked whole (a card number's part shows no last four)."""
    taken = list(kept)
    for other in sorted(others):
        pieces, pos = [], other.start
        for span in sorted(taken):  # a handful: an excerpt is one line
            if span.end <= pos or span.start >= other.end:
                continue
            if span.start > pos:
                pieces.append((pos, span.start))
            pos = max(pos, span.end)
        if pos < other.end:
            pieces.append((pos, other.end))
        whole = pieces == [(other.start, other.end)]
        for start, end in pieces:
            value = other.value[start - other.start : end - other.start]
            taken.append(Span(start, end, other.entity if whole else "", value))
    return sorted(taken)


def fingerprint_materials(
    text: str, path: str, reported: list[tuple[str, Span]], neighbours: list[Span],
    key: bytes | None,
) -> list[str]:
    """What the fingerprint of each reported (rule id, span) hashes (with an occurrence
    count, added later), so that it is stable across runs, machines and line moves.

    Without a key: rule, path and the line with every finding replaced by its entity name, so
    it says nothing about the values (a 9-digit SSN has too few values for any unkeyed hash of
    it to stay secret). With a key (an HMAC then): rule, path and the normalised value.
    """
    overlapping = _overlapping(neighbours)
    line_bounds = _line_bounds(text)
    materials = []
    for rule_id, span in reported:
        if key is None:
            line_start, line_end = line_bounds(span.start)
            lo, hi = _excerpt_bounds(line_start, line_end, span.start, span.end, 400)
            shape = _replace_spans(text, lo, hi, overlapping(lo, hi), lambda g: f"<{g.entity}>")
            materials.append("\0".join(("v1", rule_id, path, _WHITESPACE.sub(" ", shape).strip())))
        else:
            materials.append("\0".join(("v1k", rule_id, path, normalise_value(span.value))))
    return materials


def _excerpt_bounds(line_start: int, line_end: int, start: int, end: int, width: int):
    if line_end - line_start <= width:
        return line_start, line_end
    pad = max(20, (width - (end - start)) // 2)
    lo = max(line_start, start - pad)
    hi = min(line_end, max(end, start + 1) + pad)
    return lo, hi


def _replace_spans(text: str, lo: int, hi: int, spans: list[Span], render) -> str:
    parts, pos = [], lo
    for g in spans:  # sorted and disjoint
        s, e = max(g.start, lo), min(g.end, hi)
        if s < pos:
            continue
        parts.append(text[pos:s])
        parts.append(render(g))
        pos = e
    parts.append(text[pos:hi])
    return "".join(parts)


def normalise_value(value: str) -> str:
    """The value as compared across files: case and separators do not matter."""
    return re.sub(r"[\s\-.()/]", "", value).casefold()


class LeftOutPatterns:
    """The patterns of the rules left out by --only/--disable, as snippets need them: what
    they match in a stretch of text, unscored (a superset of what the rules would report,
    since masking more only costs detail).

    Searching each of them with `regex` costs ~4 µs a pattern, so with a cache folder (and
    hyperscan) a database of them names the few that can match a stretch. It is read from
    the cache, or, after `BUILD_AFTER` stretches searched pattern by pattern, compiled and
    cached (~0.3-0.6 s for the core pack): a run that prints a few snippets never pays that.
    A pattern that once timed out is not searched again: each stretch where it may match is
    masked whole, as the one it timed out on."""

    BUILD_AFTER = 1000

    def __init__(
        self, rules: Sequence[Rule], compile: Callable[[str, int], regex.Pattern], cache_dir: Path | None
    ) -> None:
        # Context plays no part in masking: as rules that do not require it, their hyperscan
        # database is one of the patterns alone (no words, no gated part).
        self._rules = [dataclasses.replace(rule, context_required=False) for rule in rules]
        self._cache_dir = cache_dir
        self._patterns = [(r.entity, compile(p.regex, PATTERN_FLAGS)) for r in rules for p in r.patterns]
        self._starts = list(accumulate((len(r.patterns) for r in rules), initial=0))
        self._database = None  # of the patterns alone; None until loaded or built
        self._loaded = False
        self._index_of: dict[int, int] = {}  # expression -> index in self._patterns
        self._always: Sequence[int] = range(len(self._patterns))  # until a database names them
        self._searched = 0
        self._timed_out: set[int] = set()
        self._hits: set[int] = set()
        # Hyperscan keeps a raw pointer to the callback: hold a named reference for our life.
        self._on_match = self._note
        if cache_dir is not None:
            self._use(load_or_build_database(self._rules, cache_dir, build=False))

    def _use(self, loaded) -> None:
        if loaded is None:
            return
        self._database, _, owners, regex_only = loaded  # without context words: no gated part
        self._loaded = True
        for expression, pattern in enumerate(patterns_of(owners)):
            if pattern is not None:
                self._index_of[expression] = self._starts[pattern[0]] + pattern[1]
        self._always = [i for order in sorted(regex_only) for i in range(*self._starts[order : order + 2])]

    def _note(self, expression: int, start: int, end: int, flags: int, context) -> None:
        index = self._index_of.get(expression)
        if index is not None:
            self._hits.add(index)

    def spans(self, text: str, lo: int, hi: int, timeout: float) -> list[Span]:
        """The matches in text[lo:hi]; a pattern that times out masks all of it."""
        self._searched += 1
        if self._searched == self.BUILD_AFTER and self._cache_dir is not None and not self._loaded:
            self._use(load_or_build_database(self._rules, self._cache_dir))
        chosen = set(self._always)
        if self._database is not None:
            try:
                data = text[lo:hi].encode("utf-8", "replace")
                self._database.scan(data, match_event_handler=self._on_match)
                chosen |= self._hits
            finally:
                self._hits = set()
        if chosen & self._timed_out:
            return [Span(lo, hi, "", text[lo:hi])]  # masked whole
        spans = []
        for index in sorted(chosen):
            entity, pattern = self._patterns[index]
            try:
                for m in pattern.finditer(text, lo, hi, timeout=timeout):
                    if m.end() > m.start():
                        spans.append(Span(m.start(), m.end(), entity, m.group()))
            except TimeoutError:
                self._timed_out.add(index)
                return [Span(lo, hi, "", text[lo:hi])]
        return spans
