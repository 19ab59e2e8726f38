"""The detection engine: rules in, findings out, no I/O.

How a document is scanned, in one pass:

1. A *finder* says which rules may match where. The hyperscan finder scans the whole text
   once against a database of the rule patterns (or their cheaper `prefilter`s) and of the
   context words of rules that require context, then the lines around the words found
   against a second database of those rules' patterns, and names the lines that hold a
   match end of a rule (a line longer than `SEGMENT_CHARS` is cut into pieces that
   overlap by `MAX_MATCH_CHARS`; a piece is named where a match may start). The pure-regex
   finder, used where hyperscan is missing, cuts the text into *segments* of about
   `SEGMENT_CHARS` characters that end at line breaks and asks each rule's keywords per
   segment. Both drop the places of a rule that requires context where none of its context
   words is within reach.
2. Each (rule, line or segment) the finder names is *confirmed* by running the rule's own
   patterns with the `regex` module there only, as if line by line (a match never spans a
   line), with a timeout per call, so a catastrophic pattern raises a `ScanError` instead
   of hanging or passing as "clean".
3. Every match is scored: exclusions, context words, test values, where it is written
   (credits in source code, test code), and last the validator (`score_match`,
   `Surroundings`).
4. Overlapping matches of different rules are resolved (`resolve_overlaps`), and findings
   get line/column, masked snippets and fingerprints.

Both finders feed the same confirmation step, so they give identical findings as long as
hyperscan names at least every line where the regex matches, which prefilter mode and the
rule tests of each `prefilter` guarantee. (A pattern's lookahead should not look past its
line's break: the two finders' windows end in different places after it.)
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import hmac
import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import fields as dataclass_fields
from itertools import accumulate, chain
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import regex

import piiscan
from piiscan.diskcache import default_cache_dir, read_checked, writable, write_checked
from piiscan.errors import RulePackError, ScanError, UsageError
from piiscan.filekinds import (
    in_credit,
    is_attribution_file,
    is_code,
    is_test_code,
    table_delimiter,
)
from piiscan.masking import mask_value
from piiscan.model import NER_PACK, Document, Finding, Rule, Severity, Verdict
from piiscan.patterncache import PatternCache, cache_file_for, load_patterns
from piiscan.rulepack import PATTERN_FLAGS

if TYPE_CHECKING:  # imported when NER is on (Engine._build)
    from piiscan.ner import NerOptions

SEGMENT_CHARS = 1024
MAX_MATCH_CHARS = 256  # a longer match is not reported; long-line pieces overlap by this much
CONTEXT_BEFORE = 80
CONTEXT_AFTER = 40
VALIDATOR_BONUS = 0.4
CONTEXT_BONUS = 0.3
# Shapes that real identifiers rarely have, and that code and test data are full of.
REPEATED_PENALTY = 0.3  # 111-11-1111, 0000 0000 0000 0000
SEQUENTIAL_PENALTY = 0.3  # 123-45-6789, 12345678
EMBEDDED_PENALTY = 0.4  # a piece of a UUID, hex digest or base64 blob
VERSION_PENALTY = 0.4  # right after a version word, or in a version column
# A credit in source code (`__author__`, "# Written by ...", a copyright line) names the
# people who wrote it, on purpose: below the default threshold, still there for an inventory.
CREDIT_CONFIDENCE_CAP = 0.3
TABLE_SUFFIXES = (".csv", ".tsv")
DEFAULT_MIN_CONFIDENCE = 0.5
# Seconds per regex call: one pattern over one line (hyperscan) or one ~1 KB segment (regex
# backend), so a slow but finite pattern may time out on one backend and not on the other.
DEFAULT_REGEX_TIMEOUT = 2.0
SNIPPET_CHARS = 160
BACKENDS = ("auto", "hyperscan", "regex")


# --------------------------------------------------------------------------- segments


# Internal records (here and in scan, sources, suppress, parallel, config) are NamedTuples,
# not frozen dataclasses: every start defines them, and on Python 3.11 a frozen dataclass
# costs ~0.6 ms to define (each generated method is compiled with exec), a NamedTuple
# ~0.07 ms. The model and what library users are given stay dataclasses.
class Segment(NamedTuple):
    """A stretch of text a rule is confirmed on: a segment the regex finder cut, or a line
    (a piece of a long line) hyperscan named."""

    start: int
    end: int
    # Matches must start before `accept_before` and, in a piece cut out of a long line, end
    # strictly before `end` (the cut may have truncated them); the next piece finds the rest.
    accept_before: int
    cut: bool


def split_segments(text: str, size: int) -> list[Segment]:
    segments = []
    pos, n = 0, len(text)
    while pos < n:
        limit = pos + size
        if limit >= n:
            segments.append(Segment(pos, n, n, False))
            break
        newline = text.rfind("\n", pos, limit)
        if newline >= 0:
            segments.append(Segment(pos, newline + 1, newline + 1, False))
            pos = newline + 1
        else:
            end = min(n, limit + MAX_MATCH_CHARS)
            segments.append(Segment(pos, end, limit, end < n))
            pos = limit
    return segments


# --------------------------------------------------------------------------- compiled rules


class ContextPattern(NamedTuple):
    """A rule's context words, found where they stand as words.

    `bounded` says what counts as a word (boundaries, camelCase humps), but its boundary
    test comes first and runs at every position: searched alone it was the slowest step of
    scoring. `anywhere` is the same alternation without boundaries, which the `regex` module
    scans for by its literals. Every bounded match starts where an anywhere match starts, so
    `bounded` only needs trying there.
    """

    anywhere: regex.Pattern
    bounded: regex.Pattern

    def search(self, text: str, pos: int = 0, endpos: int | None = None) -> bool:
        endpos = len(text) if endpos is None else endpos
        return any(
            self.bounded.match(text, m.start(), endpos)
            for m in self.anywhere.finditer(text, pos, endpos, overlapped=True)
        )


class CompiledRule(NamedTuple):
    rule: Rule
    order: int
    patterns: tuple[tuple[regex.Pattern, float], ...]
    context: ContextPattern | None
    validator: Callable[[str], Verdict] | None
    exclude: tuple[regex.Pattern, ...]
    test_values: tuple[regex.Pattern, ...]


def compile_rule(
    rule: Rule, order: int, compile: Callable[[str, int], regex.Pattern] = regex.compile
) -> CompiledRule:
    """A rule's patterns, context words, exclusions and test values compiled (by `compile`,
    e.g. a `PatternCache`'s), and its validator looked up."""
    from piiscan.validators import find_validator  # a file where no rule fires never needs them

    validator = find_validator(rule.validator) if rule.validator else None
    if rule.validator and validator is None:  # packs are checked when parsed; a cached one too
        raise RulePackError(
            f"{rule.source}: rule {rule.id!r}: unknown validator {rule.validator!r}",
            "is python-stdnum older than the pack expects? `pip install -U python-stdnum`",
        )
    context = None
    if rule.context:
        context = ContextPattern(
            compile(_alternation(rule.context), 0), compile(_bounded_alternation(rule.context), 0)
        )
    return CompiledRule(
        rule=rule,
        order=order,
        patterns=tuple((compile(p.regex, PATTERN_FLAGS), p.score) for p in rule.patterns),
        context=context,
        validator=validator,
        exclude=tuple(compile(x, PATTERN_FLAGS) for x in rule.exclude),
        test_values=tuple(compile(x, PATTERN_FLAGS) for x in rule.test_values),
    )


def _alternation(words: Iterable[str]) -> str:
    # "_" and "-" separate words, so `customer_ssn` counts as "ssn"; a space in a phrase
    # also stands for them, so "date of birth" finds date_of_birth.
    alternatives = sorted(
        (r"[\s_-]+".join(_escaped(part) for part in word.split()) for word in words),
        key=len,
        reverse=True,
    )
    return "(?i:" + "|".join(alternatives) + ")"


def _escaped(part: str) -> str:
    # `regex.escape` leaves letters and digits as they are, and is slow Python: every engine
    # build names its pattern cache by these alternations (1.7 ms for the core pack).
    return part if part.isalnum() else regex.escape(part)


def _bounded_alternation(words: tuple[str, ...]) -> str:
    # A Latin word starts after a non-alphanumeric or at a camelCase hump (`customerSsn`,
    # `numeroContribuinte`), and ends before one or before an upper-case letter (`bsnNummer`).
    # Words in scripts written without spaces (주민등록번호, 身份证号码) may touch the value.
    latin = [w for w in words if w.isascii()]
    other = [w for w in words if not w.isascii()]
    parts = []
    if latin:
        parts.append(r"(?:(?<![A-Za-z0-9])|(?<=[a-z0-9])(?=[A-Z]))" + _alternation(latin) + r"(?![a-z0-9])")
    if other:
        parts.append(r"(?<![A-Za-z0-9])" + _alternation(other))
    return "|".join(parts)


def _compiled_sources(rule: Rule) -> list[tuple[str, int]]:
    """Every (source, flags) `compile_rule` compiles for a rule: the pattern cache is named
    by them, so a change to how a pattern is built (not only to the rule) gets a new file."""
    sources = [(p.regex, PATTERN_FLAGS) for p in rule.patterns]
    if rule.context:
        sources += [(_alternation(rule.context), 0), (_bounded_alternation(rule.context), 0)]
    sources += [(x, PATTERN_FLAGS) for x in (*rule.exclude, *rule.test_values)]
    return [(source, int(flags)) for source, flags in sources]


# --------------------------------------------------------------------------- finders


class ContextWords:
    """Each rule's context words as the finders look for them: boundary-free and
    case-insensitive (the `anywhere` pattern of scoring's ContextPattern), compiled on
    first use by `compile`."""

    def __init__(self, rules: Sequence[Rule], compile: Callable[[str, int], regex.Pattern]) -> None:
        self._rules = rules
        self._compile = compile
        self._patterns: dict[int, regex.Pattern] = {}

    def near(self, order: int, text: str, window: Segment, column_names: str) -> bool:
        words = self._patterns.get(order)
        if words is None:
            words = self._patterns[order] = self._compile(_alternation(self._rules[order].context), 0)
        return context_near(words, text, window, column_names)


def context_near(words: regex.Pattern, text: str, window: Segment, column_names: str) -> bool:
    """Whether any of a rule's context `words` (see ContextWords) is within reach of
    `window`: a superset of what scoring accepts (a window without one holds nothing a rule
    that requires context could keep). In a table any column name may be a value's, so the
    column names count too."""
    low = max(0, window.start - CONTEXT_BEFORE)
    high = min(len(text), window.end + CONTEXT_AFTER)
    return words.search(text, low, high) is not None or (
        bool(column_names) and words.search(column_names) is not None
    )


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


def _requires_context(rule: Rule) -> bool:
    return rule.context_required and bool(rule.context)


class RegexFinder:
    """Pure-regex backend: a rule is tried in each segment where one of its keywords occurs
    (or in every segment), and for a rule that requires context, where a context word is
    within reach."""

    name = "regex"

    def __init__(
        self,
        rules: Sequence[Rule],
        orders: Iterable[int] | None = None,
        compile: Callable[[str, int], regex.Pattern] = regex.compile,
    ) -> None:
        chosen = range(len(rules)) if orders is None else sorted(orders)
        self._always = [i for i in chosen if not rules[i].keywords]
        self._keyed = [(i, rules[i].keywords) for i in chosen if rules[i].keywords]
        self._context_words = ContextWords(rules, compile)
        self._needs_context = {i for i in chosen if _requires_context(rules[i])}

    def windows(self, text: str, column_names: str = "") -> Iterator[tuple[int, Segment, None]]:
        """(rule order, segment, None: every pattern) for every rule that may match in a
        segment."""
        for segment in split_segments(text, SEGMENT_CHARS):
            for order in self.rules_in(text, segment):
                if order not in self._needs_context or self._context_words.near(
                    order, text, segment, column_names
                ):
                    yield order, segment, None

    def rules_in(self, text: str, segment: Segment) -> list[int]:
        if not self._keyed:
            return list(self._always)
        lowered = text[segment.start : segment.end].lower()
        keyed = [i for i, words in self._keyed if any(w in lowered for w in words)]
        return sorted(self._always + keyed)


class HyperscanFinder:
    """All rule patterns (or their prefilters) in hyperscan databases, with the context words
    of the rules that require them: one database run once over the whole text, and one for
    the patterns of rules whose words are in the first, run only where those words were found.

    Hyperscan reports where each match *ends*, and every match of a rule's pattern holds an
    end of its own (or of its prefilter's): a rule is tried on the lines that hold one, not
    on the whole text, and of its patterns only those with an end there. One scan per
    document costs far less than one per line or segment (the Python around each call was
    most of the time). Every match end calls back into Python, so number-dense text costs
    more: each end is only appended to its expression's list. A context word's end is kept
    too, to drop the lines of a rule that requires context where none of its words is
    within reach.

    The patterns of such a rule (ID numbers, record numbers: digit runs) end a match on
    most lines of a log or a CSV, and only the ends within reach of a word count. They are
    in a database of their own ("gated"), scanned over the stretches of text around the
    words found, or over the whole text when a table's header holds one.
    """

    name = "hyperscan"

    def __init__(
        self,
        rules: Sequence[Rule],
        cache_dir: Path | None,
        compile: Callable[[str, int], regex.Pattern] = regex.compile,
    ) -> None:
        self._database, self._gated, self._owners, regex_only = _load_or_build_database(
            rules, cache_dir
        )
        # Rules hyperscan cannot compile even in prefilter mode fall back to keywords.
        self._fallback = RegexFinder(rules, regex_only, compile) if regex_only else None
        # What each expression stands for (see _patterns_of), and each rule's context-words
        # expression.
        self._pattern_of = _patterns_of(self._owners)
        self._words_expression = {~owner: e for e, owner in enumerate(self._owners) if owner < 0}
        # A rule that requires context has its words in the first database and its patterns
        # in the gated one (unless it was left to the fallback, which tries it whole).
        self._gated_rules = sorted(self._words_expression) if self._gated is not None else []
        self._ends: dict[int, list[int]] = {}  # expression: its match ends
        # Hyperscan keeps a raw pointer to the callback: hold a named reference for our life.
        self._on_match = self._note_end

    def _note_end(self, expression: int, start: int, end: int, flags: int, context) -> None:
        ends = self._ends.get(expression)
        if ends is None:
            self._ends[expression] = [end]
        else:
            ends.append(end)

    def windows(
        self, text: str, column_names: str = ""
    ) -> Iterator[tuple[int, Segment, tuple[int, ...] | None]]:
        """(rule order, window, the indexes of the patterns to try) for every rule that may
        match on a line: the line that holds one of its match ends (a piece of it, for a line
        longer than SEGMENT_CHARS), and the patterns whose own expression ends there."""
        if self._database is not None:
            ends = self._scan(text, self._database)
            in_header = self._scan(column_names, self._database)
            in_columns = {order for order, e in self._words_expression.items() if e in in_header}
            if self._gated is not None:
                self._add_gated_ends(text, ends, in_columns)
            # Only the rules with an end anywhere: most rules have none in a given file.
            found_by_rule: dict[int, list[tuple[list[int], int]]] = {}
            for expression, offsets in ends.items():
                pattern = self._pattern_of[expression]
                if pattern is not None:
                    found_by_rule.setdefault(pattern[0], []).append((offsets, pattern[1]))
            for order in sorted(found_by_rule):
                found = found_by_rule[order]
                if len(found) == 1:
                    rule_ends = found[0][0]
                else:
                    found.sort(key=lambda ends_and_index: ends_and_index[1])
                    rule_ends = sorted(chain.from_iterable(e for e, _ in found))
                words = None  # the ends of its context words, where they decide
                if order in self._words_expression and order not in in_columns:
                    words = ends.get(self._words_expression[order], ())
                    # Number-shaped rules end matches on most lines of a log or a CSV; only
                    # those near a word can pass the check below, so the others are dropped
                    # before any window is built.
                    rule_ends = _ends_near(rule_ends, words)
                for window in _windows_holding(text, rule_ends):
                    if words is not None and not _any_within(
                        words, window.start - CONTEXT_BEFORE, window.end + CONTEXT_AFTER
                    ):
                        continue
                    # Every match of a pattern holds an end of its own expression: the
                    # patterns without one in this window cannot match in it.
                    tried = tuple(index for pattern_ends, index in found
                                  if _any_within(pattern_ends, window.start, window.end))
                    yield order, window, tried
        if self._fallback is not None:
            yield from self._fallback.windows(text, column_names)

    def _add_gated_ends(self, text: str, ends: dict[int, list[int]], in_columns: set[int]) -> None:
        """The gated patterns' match ends, added to `ends`: all of them when a table's header
        holds one of their rules' words (the rule counts on every row) or words are
        everywhere, else those in the stretches around the words found. `_ends_near` then
        keeps, rule by rule, the ends near its own words, as it would with ends from the
        whole text."""
        found = [ends[e] for e in map(self._words_expression.get, self._gated_rules) if e in ends]
        words_everywhere = sum(map(len, found)) * WORDS_EVERYWHERE > len(text)
        if words_everywhere or any(order in in_columns for order in self._gated_rules):
            ends.update(self._scan(text, self._gated))
            return
        if not found:
            return
        words = found[0] if len(found) == 1 else sorted(chain.from_iterable(found))
        for start, stop in _stretches_around(text, words):
            # Stretches are apart and in order: each expression's ends stay sorted.
            for expression, offsets in self._scan(text[start:stop], self._gated).items():
                ends.setdefault(expression, []).extend(offset + start for offset in offsets)

    def _scan(self, text: str, database) -> dict[int, list[int]]:
        """The match ends of `database` in `text` by expression, sorted, as character
        offsets."""
        if not text:
            return {}
        # "replace" keeps the bytes valid UTF-8 (hyperscan's UTF-8 mode requires it); a lone
        # surrogate becomes one "?", so character offsets are kept.
        data = text.encode("utf-8", "replace")
        self._ends = {}
        try:
            database.scan(data, match_event_handler=self._on_match)
            found = self._ends
        finally:
            self._ends = {}
        if len(data) != len(text):
            _to_character_offsets(data, found)
        for offsets in found.values():
            offsets.sort()
        return found


def _windows_holding(text: str, ends: Sequence[int]) -> Iterator[Segment]:
    """Where the matches holding these match ends (sorted, exclusive) may be found, each
    window once: the line of an end, or on a line longer than SEGMENT_CHARS the pieces that
    `split_segments` would give where such a match may start."""
    line_start = line_end = 0
    last_start = -1
    for end in ends:
        if line_start <= end - 1 < line_end:
            if line_end - line_start <= SEGMENT_CHARS:
                continue  # a short line is one window, given already
        else:
            # Ends come in order: the line break before this one is after the last line's.
            line_start = text.rfind("\n", max(0, line_end - 1), end - 1) + 1
            line_end = text.find("\n", end - 1)
            line_end = len(text) if line_end < 0 else line_end + 1  # with its line break
            if line_end - line_start <= SEGMENT_CHARS:
                yield Segment(line_start, line_end, line_end, False)
                continue
        for piece in _pieces_holding(text, line_start, line_end, end, after=last_start):
            last_start = piece.start
            yield piece


def _pieces_holding(
    text: str, line_start: int, line_end: int, end: int, *, after: int
) -> Iterator[Segment]:
    """The pieces of a long line that may hold the start of a match ending at `end`, those
    starting after `after` only (the others were given already)."""
    # The pieces start every SEGMENT_CHARS from the line's start, and a match starts at most
    # MAX_MATCH_CHARS before its end: one or two pieces may hold its start.
    first = max(0, end - MAX_MATCH_CHARS - line_start) // SEGMENT_CHARS
    if after >= line_start:
        first = max(first, (after - line_start) // SEGMENT_CHARS + 1)
    last = max(0, end - 1 - line_start) // SEGMENT_CHARS
    for j in range(first, last + 1):
        start = line_start + j * SEGMENT_CHARS
        limit = start + SEGMENT_CHARS
        if limit >= line_end:  # the line's last piece
            yield Segment(start, line_end, line_end, False)
        else:
            piece_end = min(len(text), limit + MAX_MATCH_CHARS)
            yield Segment(start, piece_end, limit, piece_end < len(text))


def _to_character_offsets(data: bytes, found: dict[int, list[int]]) -> None:
    """Byte offsets into the UTF-8 `data` -> character offsets, in place (one pass)."""
    offsets = sorted({offset for values in found.values() for offset in values})
    char_at, done, chars = {}, 0, 0
    for offset in offsets:  # every end is a character boundary: hyperscan's UTF-8 mode
        chars += len(data[done:offset].decode("utf-8", "replace"))
        char_at[offset], done = chars, offset
    for values in found.values():
        values[:] = [char_at[offset] for offset in values]


def _word_reach() -> int:
    """How far from a context word's end a match end may be for the word to count for the
    match's window: that window spans at most SEGMENT_CHARS plus MAX_MATCH_CHARS on either
    side of the match end, and a word counts up to CONTEXT_BEFORE before a window and
    CONTEXT_AFTER after it."""
    return SEGMENT_CHARS + MAX_MATCH_CHARS + max(CONTEXT_BEFORE, CONTEXT_AFTER) + 1


# Characters scanned beyond what a match needs where a stretch starts or stops inside a long
# line (a margin: \b looks one character out).
STRETCH_EDGE = 16
# A text with a context word every this many characters or fewer is scanned whole for the
# gated patterns: the stretches would cover most of it, at a cost per word.
WORDS_EVERYWHERE = 2048


def _stretches_around(text: str, words: Sequence[int]) -> list[tuple[int, int]]:
    """(start, stop) of the stretches of `text` that hold every whole match in a window a
    word ending at one of `words` (sorted) counts for; overlapping ones joined.

    A word counts for the windows that reach from CONTEXT_AFTER before it to CONTEXT_BEFORE
    after it: the lines there, whole, and a long line that ends up to MAX_MATCH_CHARS before
    (its pieces overlap the next piece by that much, past the line's end). Matches lie within
    lines. On a long line, no more than `_word_reach()` either side of the word (the bound
    `_ends_near` keeps), with room for a match before that and STRETCH_EDGE characters to
    spare."""
    stretches: list[tuple[int, int]] = []
    reach = _word_reach()
    for word in words:
        # The bounds on a long line; the line breaks are looked for within them only, or
        # a line of many words would be searched end to end for each.
        low = max(0, word - reach - MAX_MATCH_CHARS - STRETCH_EDGE)
        high = min(len(text), word + reach + STRETCH_EDGE)
        first = max(low, word - CONTEXT_AFTER - MAX_MATCH_CHARS - 1)
        last = min(high, word + CONTEXT_BEFORE)
        if stretches and first <= stretches[-1][1]:
            # Joins the last stretch, whose stop is the line break after it or its bound:
            # no line break lies between there and that stop.
            joined, previous_stop = stretches[-1]
            stop = text.find("\n", max(last, previous_stop - 1), high) + 1 or high
            stretches[-1] = (joined, stop)
            continue
        start = text.rfind("\n", low, first) + 1 or low
        stop = text.find("\n", last, high) + 1 or high
        if stretches and start <= stretches[-1][1]:
            stretches[-1] = (stretches[-1][0], max(stop, stretches[-1][1]))
        else:
            stretches.append((start, stop))
    return stretches


def _ends_near(ends: list[int], words: Sequence[int]) -> list[int]:
    """The match `ends` (sorted) that a context word ending at one of `words` (sorted) may be
    within reach of (`_word_reach`). A superset of what `_any_within` then accepts."""
    if not words:
        return []
    reach = _word_reach()
    kept: list[int] = []
    taken_to = 0  # ends[:taken_to] were looked at already
    for word in words:
        low = bisect.bisect_left(ends, word - reach, taken_to)
        high = bisect.bisect_right(ends, word + reach, low)
        kept.extend(ends[low:high])
        taken_to = high
    return kept


def _any_within(offsets: Sequence[int], low: int, high: int) -> bool:
    """Whether any of the sorted `offsets` lies in (low, high]."""
    i = bisect.bisect_right(offsets, low)
    return i < len(offsets) and offsets[i] <= high


def _hyperscan_flags(hs, prefilter: bool) -> int:
    # Not SINGLEMATCH: every match end is needed to tell which lines a rule may match on.
    flags = hs.HS_FLAG_UTF8 | hs.HS_FLAG_MULTILINE
    return flags | hs.HS_FLAG_PREFILTER if prefilter else flags


# The non-ASCII letters that `regex`'s case-insensitive matching takes for ASCII ones: dotted
# capital I (U+0130) for i, the Kelvin sign (U+212A) for k, long s (U+017F) for s; and the
# other way round, dotless i (U+0131) for I. Hyperscan's caseless mode misses the two i's;
# all are spelled out (a test checks every code point against `regex`).
_CASE_FOLDED_INTO = {"i": "iI\u0130\u0131", "k": "kK\u212a", "s": "sS\u017f"}
# The same pairs the other way round: each of those letters, and the ASCII letter it is for.
_FOLDS_INTO_ASCII = {
    letter: ascii + ascii.upper()
    for ascii, letters in _CASE_FOLDED_INTO.items()
    for letter in letters
    if not letter.isascii()
}

# Hyperscan's caseless mode knows the case pairs of its Unicode tables, older than `regex`'s:
# these letters (first and last code point of each run) have partners it does not know
# (Cyrillic в also matches ᲀ for `regex`, ß the capital ẞ; Georgian, Cherokee, Osage and
# others have gained capitals). A test compares the two on every letter that `regex`'s own
# Unicode tables or Python's call cased, and checks this list.
_HYPERSCAN_CASE_GAPS = (
    (0x00DF, 0x00DF), (0x019B, 0x019B), (0x0264, 0x0264), (0x026A, 0x026A), (0x0277, 0x0277),
    (0x027C, 0x027C), (0x0282, 0x0282), (0x029D, 0x029D), (0x0390, 0x0390), (0x03B0, 0x03B0),
    (0x0412, 0x0414), (0x041E, 0x041E), (0x0421, 0x0422), (0x042A, 0x042A), (0x0432, 0x0434),
    (0x043E, 0x043E), (0x0441, 0x0442), (0x044A, 0x044A), (0x0462, 0x0463), (0x10D0, 0x10FF),
    (0x13A0, 0x13FD), (0x1C80, 0x1C8A), (0x1C90, 0x1CBF), (0x1D8E, 0x1D8E), (0x1E9E, 0x1E9E),
    (0x1FD3, 0x1FD3), (0x1FE3, 0x1FE3), (0x2C2F, 0x2C2F), (0x2C5F, 0x2C5F), (0xA64A, 0xA64B),
    (0xA794, 0xA794), (0xA7AE, 0xA7AE), (0xA7B2, 0xA7E2), (0xA7F5, 0xA7F6), (0xAB4B, 0xAB4C),
    (0xAB53, 0xAB53), (0xAB6C, 0xAB6D), (0xAB70, 0xABBF), (0xFB05, 0xFB06), (0x104B0, 0x104FB),
    (0x10570, 0x105BC), (0x10C80, 0x10CF2), (0x10D50, 0x10D85), (0x16E40, 0x16E7F), (0x16EA0, 0x16ED3),
    (0x1DF40, 0x1DF95), (0x1E900, 0x1E943),
)


def _hyperscan_letter(ch: str) -> str:
    """One character of a context word, for hyperscan's caseless mode: itself (hyperscan
    folds "É" into "é", "Σ" into "ς"), ASCII punctuation escaped, with the letters `regex`
    folds into ASCII ones or ASCII ones into them spelled out, and a letter whose case
    partners hyperscan does not all know as any non-ASCII character (a superset)."""
    if ch.isascii():
        if ch.lower() in _CASE_FOLDED_INTO:
            return f"[{_CASE_FOLDED_INTO[ch.lower()]}]"
        return ch if ch.isalnum() else "\\x%02x" % ord(ch)
    if ch in _FOLDS_INTO_ASCII:
        return f"(?:{ch}|[{_FOLDS_INTO_ASCII[ch]}])"
    code = ord(ch)
    if any(low <= code <= high for low, high in _HYPERSCAN_CASE_GAPS):
        return "[^\\x00-\\x7f]"
    return ch


def _context_pattern(rule: Rule) -> str | None:
    """A rule's context words as one hyperscan pattern (caseless) that ends wherever one of
    them ends as scoring finds it (`_bounded_alternation`); None for a rule that does not
    require context.

    A word starts after a non-alphanumeric (the one character is part of the match: the
    match's end is the word's; matched case-sensitively, since hyperscan's caseless mode
    takes the Kelvin sign and long s for letters) or at the start of a line, or, for a Latin
    word, at a camelCase hump: an upper-case first letter after a lower-case letter or
    digit. What follows a word is not checked (a superset), so "ein" still ends in
    "Einheit", but no longer in "being".
    """
    if not _requires_context(rule):
        return None

    def literal(part: str) -> str:
        return "".join(map(_hyperscan_letter, part))

    def phrase(parts: list[str]) -> str:
        # Between a phrase's words `regex` takes any of [\s_-]+ (Unicode spaces too): any
        # run of non-alphanumerics here, a superset.
        return "[^A-Za-z0-9]+".join(literal(part) for part in parts)

    alternatives = []
    for word in rule.context:
        head, *tail = word.split()
        alternatives.append("(?:^|(?-i:[^A-Za-z0-9]))" + phrase([head, *tail]))
        if word.isascii() and head[0].isalpha():  # customerZip: an upper-case first letter
            alternatives.append(f"[a-z0-9](?-i:{head[0].upper()})" + phrase([head[1:], *tail]))
    return "|".join(alternatives)


# What hyperscan reads as literal text where `regex` does not: fuzzy matching,
# `(?:kappa){e<=1}` (any unescaped brace pair holding a lone e, i, d or s), and a quantifier
# without its minimum, `{,3}`. A rule with either would never see a hyperscan match end where
# `regex` finds one; a brace pair that is meant literally only costs its rule some speed.
_READ_AS_LITERAL_BY_HYPERSCAN = re.compile(
    r"(?<!\\)\{(?:[^{}]*(?<![A-Za-z])[eids](?![A-Za-z])[^{}]*|,[0-9]*)\}"
)


def _classify_patterns(hs, rules: Sequence[Rule]):
    """Compile each pattern alone first: a multi-pattern compile error names no culprit.

    Returns the expressions, their flags, the owner of each (a rule's order, or `~order` for
    the rule's context words) and the rules left to the regex fallback: those with a pattern
    hyperscan cannot take even in prefilter mode, or would read in part as literal text
    (`_READ_AS_LITERAL_BY_HYPERSCAN`). Such a rule is tried whole by the fallback, none of
    its patterns in the database.
    Expression ids are their positions: hyperscan ran a third slower with ids shared by a
    rule's patterns."""
    expressions, owners, flags, regex_only = [], [], [], set()
    for order, rule in enumerate(rules):
        compiled = []  # (expression, flags) of each of the rule's patterns
        for pattern in rule.patterns:
            source = pattern.prefilter or pattern.regex
            if _READ_AS_LITERAL_BY_HYPERSCAN.search(source):
                break
            expression = source.encode("utf-8")
            for prefilter in (False, True):
                candidate_flags = _hyperscan_flags(hs, prefilter)
                try:
                    hs.Database().compile(expressions=[expression], flags=[candidate_flags])
                except hs.error:
                    continue
                compiled.append((expression, candidate_flags))
                break
            else:
                break
        if len(compiled) < len(rule.patterns):
            regex_only.add(order)
            continue
        for expression, expression_flags in compiled:
            expressions.append(expression)
            owners.append(order)
            flags.append(expression_flags)
    for order, rule in enumerate(rules):
        words = _context_pattern(rule)
        if words is not None and order not in regex_only:
            expressions.append(words.encode("utf-8"))
            owners.append(~order)
            flags.append(_hyperscan_flags(hs, False) | hs.HS_FLAG_CASELESS)
    return expressions, owners, flags, regex_only


_CACHE_MAGIC = b"piiscan-hyperscan-cache/5\n"  # 5: gated patterns in a database of their own


def _patterns_of(owners: Sequence[int]) -> list[tuple[int, int] | None]:
    """What each expression of a database stands for: (rule order, index of the pattern in
    the rule) for a pattern, None for a rule's context words (a negative owner)."""
    out: list[tuple[int, int] | None] = []
    seen: dict[int, int] = {}
    for owner in owners:
        if owner < 0:
            out.append(None)
        else:
            out.append((owner, seen.get(owner, 0)))
            seen[owner] = seen.get(owner, 0) + 1
    return out


def _load_or_build_database(rules: Sequence[Rule], cache_dir: Path | None, build: bool = True):
    """(first database, gated database, owner of each expression, rules left to `regex`),
    from the cache folder or compiled (and cached); None if not cached and `build` is
    False."""
    import hyperscan as hs

    key_material = json.dumps(
        [_CACHE_MAGIC.decode(), piiscan.__version__, getattr(hs, "__version__", "?"), hs.HS_MODE_BLOCK,
         _hyperscan_flags(hs, False), _hyperscan_flags(hs, True), hs.HS_FLAG_CASELESS]
        + [[[p.regex, p.prefilter] for p in rule.patterns] for rule in rules]
        + [_context_pattern(rule) for rule in rules]
    ).encode()
    key = hashlib.sha256(key_material).hexdigest()[:32]
    cache_file = cache_dir / f"hs-{key}.db" if cache_dir else None
    if cache_file is not None:
        cached = _read_cache(hs, cache_file)
        if cached is not None:
            return cached
    if not build:
        return None

    expressions, owners, flags, regex_only = _classify_patterns(hs, rules)
    if not expressions:  # every rule needs the regex fallback
        return None, None, [], regex_only
    # A rule's patterns are gated when its context words are in the database (see
    # HyperscanFinder); ids stay the positions in `expressions` in both databases.
    with_words = {~owner for owner in owners if owner < 0}
    gated = [i for i, owner in enumerate(owners) if owner in with_words]
    first = [i for i, owner in enumerate(owners) if owner not in with_words]
    database = _compiled(hs, expressions, flags, first)
    gated_database = _compiled(hs, expressions, flags, gated) if gated else None
    if cache_file is not None:
        _write_cache(hs, cache_file, database, gated_database, owners, regex_only)
    return database, gated_database, owners, regex_only


def _compiled(hs, expressions: list[bytes], flags: list[int], chosen: list[int]):
    database = hs.Database(mode=hs.HS_MODE_BLOCK)
    database.compile(
        expressions=[expressions[i] for i in chosen], ids=chosen, flags=[flags[i] for i in chosen]
    )
    return database


def _read_cache(hs, cache_file: Path):
    checked = read_checked(cache_file, _CACHE_MAGIC)
    if checked is None:  # never hand hyperscan bytes we did not write whole: it trusts them
        return None
    meta, payload = checked
    try:
        split = meta["first_size"]
        database = _loaded(hs, payload[:split])
        gated_database = _loaded(hs, payload[split:]) if len(payload) > split else None
        return database, gated_database, list(meta["owners"]), set(meta["regex_only"])
    except (KeyError, TypeError, hs.error):
        return None


def _loaded(hs, serialized: bytes):
    database = hs.loadb(serialized, hs.HS_MODE_BLOCK)
    database.scratch = hs.Scratch(database)  # a loaded database comes without one
    return database


def _write_cache(
    hs, cache_file: Path, database, gated_database, owners: list[int], regex_only: set[int]
) -> None:
    first = hs.dumpb(database)
    gated = hs.dumpb(gated_database) if gated_database is not None else b""
    write_checked(
        cache_file, _CACHE_MAGIC, first + gated,
        first_size=len(first), owners=owners, regex_only=sorted(regex_only),
    )


def _pattern_cache(
    rules: Sequence[Rule], cache_dir: Path | str | None, masked_too: Sequence[Rule] = ()
) -> PatternCache:
    """The rules' compiled patterns (and the patterns alone of `masked_too`) from the cache
    folder. When it has none for these rules and can keep them, every rule is compiled now
    and written there: one slow start, then fast ones. Without a usable folder, patterns are
    compiled as rules first fire."""
    if not cache_dir:
        return PatternCache()
    sources = [source for rule in rules for source in _compiled_sources(rule)]
    sources += [(p.regex, int(PATTERN_FLAGS)) for rule in masked_too for p in rule.patterns]
    cache_file = cache_file_for(Path(cache_dir), sources)
    patterns = load_patterns(cache_file)
    if not patterns.from_file and writable(cache_file.parent):
        for source, flags in sources:  # (ContextWords' patterns are among these)
            patterns.compile(source, flags)
        patterns.save(cache_file)
    return patterns


def hyperscan_available() -> bool:
    try:
        import hyperscan  # noqa: F401
    except ImportError:
        return False
    return True


# --------------------------------------------------------------------------- scoring


def is_test_code_by(globs: Sequence[str]) -> Callable[[Document], bool]:
    """Whether a document is test code: the user's gitignore-style `globs` decide where one
    matches (a negated one, "!glob", says "not test code"); the naming conventions of
    `is_test_code` decide the rest. The globs see the path --include and --exclude see
    (relative to the folder scanned; see `glob_verdict`), the conventions the reported one
    (a `tests` folder above the scanned one still counts). A glob may mark any file, data files included: the
    user knows which fixtures are made up."""
    if not globs:
        return lambda document: is_test_code(document.path)
    from piiscan.sources import glob_verdict, user_spec

    spec = user_spec("test_code", globs)

    def check(document: Document) -> bool:
        verdict = glob_verdict(spec, document.path, document.scope_path)
        return is_test_code(document.path) if verdict is None else verdict

    return check


class Surroundings(NamedTuple):
    """What a document says about every value in it, worked out once per document."""

    column_of: Callable[[int], str] | None = None  # names the table column of an offset
    in_code: bool = False  # a source-code file
    in_test_code: bool = False  # a test suite's source file
    in_credits_file: bool = False  # AUTHORS, CONTRIBUTORS.md ...: every line is a credit
    # Every column name of a table: its header line (CSV, TSV), or the column lists of its
    # INSERT statements (SQL). Context for the finders' "no context word near" skip.
    column_names: str = ""

    @classmethod
    def of(
        cls,
        document: Document,
        is_test: Callable[[Document], bool],
        columns: tuple[Callable[[int], str] | None, str] | None = None,
    ) -> Surroundings:
        """`is_test` tells test code (see `is_test_code_by`); `columns` are the document's
        `table_columns`, when they are known already."""
        column_of, column_names = table_columns(document) if columns is None else columns
        return cls(
            column_of=column_of,
            in_code=is_code(document.path),
            in_test_code=is_test(document),
            in_credits_file=is_attribution_file(document.path),
            column_names=column_names,
        )


class Match(NamedTuple):
    """A confirmed, scored match before it becomes a Finding."""

    order: int
    start: int
    end: int
    confidence: float
    test_data: bool


def score_match(
    c: CompiledRule,
    text: str,
    start: int,
    end: int,
    base: float,
    around: Surroundings = Surroundings(),
    min_confidence: float = 0.0,
) -> Match | None:
    """Apply exclusions, context words, shape penalties and the validator; None drops it,
    as does a confidence that cannot reach `min_confidence` whatever the validator says.

    `around.column_of(start)` names the table column a value sits in (a CSV header cell, an
    SQL INSERT's column): that name counts as a context word, as a key name does in JSON.
    """
    column_of = around.column_of
    value = text[start:end]
    if any(x.search(value) for x in c.exclude):
        return None
    score = base
    if c.context is not None:
        near = (
            c.context.search(text, max(0, start - CONTEXT_BEFORE), start)
            or c.context.search(text, end, min(len(text), end + CONTEXT_AFTER))
            or (column_of is not None and c.context.search(column_of(start)))
        )
        if near:
            score += CONTEXT_BONUS
        elif c.rule.context_required:
            return None
    known_test_value = any(t.search(value) for t in c.test_values)
    if not known_test_value:  # known test values stay visible (as info), whatever their shape
        score -= shape_penalty(text, start, end)
        if _names_a_version(text, start, column_of):
            score -= VERSION_PENALTY
    capped = c.rule.named_in_credits and not known_test_value and (
        around.in_credits_file or (around.in_code and in_credit(text, start, end))
    )
    if c.validator is not None:
        # The validator runs last, and only where its verdict can still decide: it is the
        # slowest step (a national phone number is tried against two dozen regions).
        if _final_confidence(score + VALIDATOR_BONUS, capped) < min_confidence:
            return None
        verdict = c.validator(value)
        if verdict is Verdict.INVALID:
            return None
        if verdict is Verdict.VALID:
            score += VALIDATOR_BONUS
    # Addresses, phone numbers and the like in a test suite's code are made up for the test.
    test_data = known_test_value or (around.in_test_code and c.rule.made_up_in_tests)
    return Match(c.order, start, end, _final_confidence(score, capped), test_data)


def _final_confidence(score: float, capped: bool) -> float:
    score = max(0.0, min(1.0, score))
    # A credit in source code names the people who wrote it, on purpose (see the cap).
    return round(min(score, CREDIT_CONFIDENCE_CAP) if capped else score, 4)


# "version: 12.4.1.200", "build 2024.05.17", "appVersion": "...", v3.11.4.1: what follows
# a version word, or sits in a version column, numbers a release, not a person.
_VERSION_BEFORE = re.compile(
    # the word on its own, or a camelCase part (appVersion); not "conversion", "rebuild"
    r"(?:(?<![A-Za-z])(?i:version|release|build|firmware|revision|ver|rev)"
    r"|(?<=[a-z])(?:Version|Release|Build|Firmware|Revision))[\s\"'`:=(\[]{0,4}$"
    r"|(?<![A-Za-z0-9-])[vV]$"  # v3.11.4.1, but not the -v flag of a command line
)
_VERSION_COLUMN = re.compile(r"(?i)(?:version|release|build|firmware|revision)$")


def _names_a_version(text: str, start: int, column_of: Callable[[int], str] | None) -> bool:
    return bool(
        _VERSION_BEFORE.search(text, max(0, start - 24), start)
        or (column_of is not None and _VERSION_COLUMN.search(column_of(start).strip()))
    )


_ASCENDING = "0123456789" * 3
_DESCENDING = "9876543210" * 3
# Characters of identifiers, hex and base64 blobs ("=" only pads a blob's end: not here).
_TOKEN_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/_-")
_HEX = frozenset("0123456789abcdefABCDEF-")
_UUID = regex.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def shape_penalty(text: str, start: int, end: int) -> float:
    """How much less likely a match is personal data because of its shape or surroundings."""
    penalty = 0.0
    digits = "".join(ch for ch in text[start:end] if ch.isdigit())
    if len(digits) >= 6:
        if max(digits.count(d) for d in set(digits)) >= 0.8 * len(digits):
            penalty += REPEATED_PENALTY
        elif digits in _ASCENDING or digits in _DESCENDING:
            penalty += SEQUENTIAL_PENALTY
    if all(ch in _TOKEN_CHARS for ch in text[start:end]) and _embedded_in_blob(text, start, end):
        penalty += EMBEDDED_PENALTY
    return penalty


def _embedded_in_blob(text: str, start: int, end: int) -> bool:
    """Whether the match is a piece of a longer UUID, hex digest or base64 token."""
    low, high = start, end
    while low > 0 and text[low - 1] in _TOKEN_CHARS and start - low < 128:
        low -= 1
    while high < len(text) and text[high] in _TOKEN_CHARS and high - end < 128:
        high += 1
    around = text[low:start] + text[end:high]
    if len(around) < 6:
        return False
    token = text[low:high]
    return bool(
        _UUID.search(token)
        or (len(token) >= 16 and all(ch in _HEX for ch in token))
        or (
            len(around) >= 8
            and "_" not in around
            and any(ch.isupper() for ch in around)
            and any(ch.islower() for ch in around)
            and any(ch.isdigit() for ch in around)
        )
    )


def _unquoted_count(segment: str, delimiter: str, quote: str) -> int:
    count, quoted = 0, False
    for ch in segment:
        if ch == quote:
            quoted = not quoted
        elif ch == delimiter and not quoted:
            count += 1
    return count


def _split_unquoted(line: str, delimiter: str) -> list[str]:
    cells, current, quoted = [], [], False
    for ch in line.rstrip("\r\n"):
        if ch == '"':
            quoted = not quoted
        if ch == delimiter and not quoted:
            cells.append("".join(current))
            current = []
        else:
            current.append(ch)
    cells.append("".join(current))
    return cells


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


# --------------------------------------------------------------------------- the engine


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
        if not rules:
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
        self._patterns = _pattern_cache(pattern_rules, o["cache_dir"], o["masked_too"])
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

    def scan(self, document: Document, occurrences: dict[str, int] | None = None) -> list[Finding]:
        """Findings in one document (or one window of a large file: see Document.offset).

        `occurrences` carries the fingerprint occurrence counts from one window of a file to
        the next, so that a file scanned in windows gets the fingerprints of a whole scan.
        """
        unnumbered = self.scan_window(document)
        return self.number_fingerprints(unnumbered, {} if occurrences is None else occurrences)

    def scan_many(self, documents: Sequence[Document]) -> list[list[Finding]]:
        """Findings in each of several documents: `scan` for each, except that with NER the
        model reads the regions of all of them in one batch (much faster for small files)."""
        return [
            self.number_fingerprints(self._unnumbered(document, self._kept(document, extra)), {})
            for document, extra in zip(documents, self._model_matches(documents))
        ]

    def scan_window(self, window: Document) -> list[Unnumbered]:
        """The findings of one document or window, fingerprints not yet numbered, each with
        its fingerprint material: windows of a large file scanned in different processes are
        numbered in file order by `number_fingerprints`, which then gives what a whole-file
        scan gives."""
        (model_matches,) = self._model_matches([window])
        return self._unnumbered(window, self._kept(window, model_matches))

    def _kept(self, document: Document, model_matches: list[Match]) -> list[Match]:
        """The pattern rules' matches and the model's, overlaps resolved."""
        matches = self._pattern_matches(document) + model_matches
        return resolve_overlaps(_dedupe(matches), self.rules) if matches else []

    def _pattern_matches(self, document: Document) -> list[Match]:
        matches: list[Match] = []
        columns = table_columns(document)
        around: Surroundings | None = None  # worked out at the first window: most files have none
        for order, window, tried in self._finder.windows(document.text, columns[1]):
            if around is None:
                around = Surroundings.of(document, self._is_test_code, columns)
            matches.extend(self._confirm(self._compiled_rule(order), document, window, around, tried))
        return matches

    def _model_matches(self, documents: Sequence[Document]) -> list[list[Match]]:
        if self._ner is None:
            return [[] for _ in documents]
        from piiscan.regions import natural_language_regions

        found = self._ner.find(
            [(d.path, d.text, natural_language_regions(d.path, d.text, d.header)) for d in documents]
        )
        matches = []
        for document, spans in zip(documents, found):
            in_test_code = self._is_test_code(document)
            kept = []
            for span in spans:
                if span.confidence >= self.min_confidence:
                    order = self._ner_order[span.entity]
                    made_up = in_test_code and self.rules[order].made_up_in_tests
                    kept.append(Match(order, span.start, span.end, span.confidence, made_up))
            matches.append(kept)
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
        tried: tuple[int, ...] | None = None,
    ) -> Iterator[Match]:
        """The rule's scored matches in a window, trying its patterns numbered in `tried`
        (all of them when None)."""
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
            if scored is not None and scored.confidence >= self.min_confidence:
                yield scored

    def _unnumbered(self, document: Document, kept: list[Match]) -> list[Unnumbered]:
        """The reported findings of a document, in file coordinates, each with what its
        fingerprint hashes; built as Findings once numbered."""
        low = document.report_from
        high = len(document.text) if document.report_to is None else document.report_to
        if not any(low <= m.start < high for m in kept):
            return []
        text = document.text
        # Snippets mask every neighbour, also those in the overlap that another window reports.
        spans = [_Span(m.start, m.end, self.rules[m.order].entity, text[m.start : m.end]) for m in kept]
        shown = [span for span in spans if low <= span.start < high]
        left_out = functools.partial(self._left_out_spans, text) if self._options["masked_too"] else None
        snippets = iter(_snippets(text, spans, shown, left_out))
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
        materials = _fingerprint_materials(text, document.path, reported, spans, self._fingerprint_key)
        return [Unnumbered(fields, material) for fields, material in zip(found, materials)]

    def _left_out_spans(self, text: str, lo: int, hi: int) -> list[_Span]:
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
        self._rules = rules
        self._cache_dir = cache_dir
        self._patterns = [(r.entity, compile(p.regex, PATTERN_FLAGS)) for r in rules for p in r.patterns]
        self._starts = list(accumulate((len(r.patterns) for r in rules), initial=0))
        self._databases: list = []
        self._index_of: dict[int, int] = {}  # expression -> index in self._patterns
        self._always: Sequence[int] = range(len(self._patterns))  # until a database names them
        self._searched = 0
        self._timed_out: set[int] = set()
        self._hits: set[int] = set()
        # Hyperscan keeps a raw pointer to the callback: hold a named reference for our life.
        self._on_match = self._note
        if cache_dir is not None:
            self._use(_load_or_build_database(rules, cache_dir, build=False))

    def _use(self, loaded) -> None:
        if loaded is None:
            return
        first, gated, owners, regex_only = loaded
        self._databases = [db for db in (first, gated) if db is not None]
        for expression, pattern in enumerate(_patterns_of(owners)):
            if pattern is not None:
                self._index_of[expression] = self._starts[pattern[0]] + pattern[1]
        self._always = [i for order in sorted(regex_only) for i in range(*self._starts[order : order + 2])]

    def _note(self, expression: int, start: int, end: int, flags: int, context) -> None:
        index = self._index_of.get(expression)
        if index is not None:
            self._hits.add(index)

    def spans(self, text: str, lo: int, hi: int, timeout: float) -> list[_Span]:
        """The matches in text[lo:hi]; a pattern that times out masks all of it."""
        self._searched += 1
        if self._searched == self.BUILD_AFTER and self._cache_dir is not None and not self._databases:
            self._use(_load_or_build_database(self._rules, self._cache_dir))
        chosen = set(self._always)
        if self._databases:
            data = text[lo:hi].encode("utf-8", "replace")
            try:
                for database in self._databases:
                    database.scan(data, match_event_handler=self._on_match)
                chosen |= self._hits
            finally:
                self._hits = set()
        if chosen & self._timed_out:
            return [_Span(lo, hi, "", text[lo:hi])]  # masked whole
        spans = []
        for index in sorted(chosen):
            entity, pattern = self._patterns[index]
            try:
                for m in pattern.finditer(text, lo, hi, timeout=timeout):
                    if m.end() > m.start():
                        spans.append(_Span(m.start(), m.end(), entity, m.group()))
            except TimeoutError:
                self._timed_out.add(index)
                return [_Span(lo, hi, "", text[lo:hi])]
        return spans


class Unnumbered(NamedTuple):
    """A finding before its fingerprint, which counts the equal materials before it in the
    file and so is numbered in file order (`Engine.number_fingerprints`, in the main process
    for the windows of a large file): the Finding's fields but `fingerprint`, and what the
    fingerprint hashes. Each Finding is built once, numbered."""

    fields: tuple
    material: str


_FINGERPRINT_AT = [f.name for f in dataclass_fields(Finding)].index("fingerprint")


def table_columns(document: Document) -> tuple[Callable[[int], str] | None, str]:
    """For a table: a function naming the column at a text offset, and every column name (a
    CSV or TSV file's header line, an SQL file's INSERT column lists). (None, "") otherwise."""
    name = document.path.lower()
    if name.endswith(TABLE_SUFFIXES):
        header = table_header(document)
        return (None, "") if header is None else (_csv_columns(document, header), header)
    if name.endswith(".sql"):
        statements = [(m.end(), m.group(1)) for m in _INSERT.finditer(document.text)]
        return _sql_columns(document.text, statements), " ".join(c for _, c in statements)
    return None, ""


def table_header(document: Document) -> str | None:
    """The first line of a CSV or TSV file, also for the later windows of a large one."""
    if document.header is not None:
        return document.header
    if document.offset == 0:
        newline = document.text.find("\n")
        return document.text if newline < 0 else document.text[: newline + 1]
    return None


def _csv_columns(document: Document, header: str) -> Callable[[int], str]:
    text = document.text
    first_row = 0 if document.header is not None else len(header)  # a later window: all rows
    delimiter = table_delimiter(header, "\t" if document.path.lower().endswith(".tsv") else None)
    cells = [cell.strip().strip('"') for cell in _split_unquoted(header, delimiter)]

    def column_of(start: int) -> str:
        if start < first_row:
            return ""  # the header row itself
        line_start = text.rfind("\n", 0, start) + 1
        column = _unquoted_count(text[line_start:start], delimiter, '"')
        return cells[column] if column < len(cells) else ""

    return column_of


# How far back an SQL value looks for its INSERT's column list: less than the overlap of the
# windows a large file is read in, so a windowed scan sees exactly what a whole one does.
SQL_LOOKBACK = 4000
_INSERT = regex.compile(r"(?i)\binsert\s+into\s+[^\s(]+\s*\(([^()]*)\)\s*values\b")


def _sql_columns(text: str, inserts: list[tuple[int, str]]) -> Callable[[int], str]:
    """`inserts`: where each INSERT's VALUES ends, and its column list."""
    statements = [(end, columns.split(",")) for end, columns in inserts]
    ends = [end for end, _ in statements]

    def column_of(start: int) -> str:
        i = bisect.bisect_right(ends, start) - 1
        if i < 0 or start - ends[i] > SQL_LOOKBACK:
            return ""
        values_at, columns = statements[i]
        # Walk the row with quote state: a "(" or "," inside a string literal is data.
        column, quoted = -1, False
        for ch in text[max(values_at, start - SQL_LOOKBACK) : start]:
            if ch == "'":
                quoted = not quoted
            elif not quoted and ch == "(":
                column = 0
            elif not quoted and ch == "," and column >= 0:
                column += 1
            elif not quoted and ch == ")":
                column = -1
        if column < 0 or column >= len(columns):
            return ""
        return columns[column].strip().strip('`"[]')

    return column_of


def _dedupe(matches: list[Match]) -> list[Match]:
    """The same rule and span can come from overlapping long-line pieces: keep one."""
    best: dict[tuple[int, int, int], Match] = {}
    for m in matches:
        key = (m.order, m.start, m.end)
        if key not in best or m.confidence > best[key].confidence:
            best[key] = m
    return list(best.values())


# --------------------------------------------------------------------------- snippets, fingerprints

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


class _Span(NamedTuple):
    """A kept match, as its snippet and its neighbours' snippets and fingerprints see it."""

    start: int
    end: int
    entity: str
    value: str


def _overlapping(spans: list[_Span]):
    """A lookup of the spans overlapping [lo, hi): they are sorted and disjoint."""
    starts = [s.start for s in spans]
    ends = [s.end for s in spans]

    def lookup(lo: int, hi: int) -> list[_Span]:
        return spans[bisect.bisect_right(ends, lo) : bisect.bisect_left(starts, hi)]

    return lookup


def _snippets(
    text: str,
    spans: list[_Span],
    wanted: list[_Span],
    left_out: Callable[[int, int], list[_Span]] | None = None,
) -> list[tuple[str, str]]:
    """The line around each `wanted` span, masked (every one of `spans` on it, and what
    `left_out` finds there) and raw (--show-values)."""
    overlapping = _overlapping(spans)
    line_bounds = _line_bounds(text)
    out = []
    masked, bounds = "", None  # findings on one short line share its excerpt
    for span in wanted:
        line_start, line_end = line_bounds(span.start)
        lo, hi = _excerpt_bounds(line_start, line_end, span.start, span.end, SNIPPET_CHARS)
        if (lo, hi) != bounds:
            shown = overlapping(lo, hi)
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


def _masked_union(kept: list[_Span], others: list[_Span]) -> list[_Span]:
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
            taken.append(_Span(start, end, other.entity if whole else "", value))
    return sorted(taken)


def _fingerprint_materials(
    text: str, path: str, reported: list[tuple[str, _Span]], neighbours: list[_Span],
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


def _replace_spans(text: str, lo: int, hi: int, spans: list[_Span], render) -> str:
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
