"""Candidate search: which rules may match where in a text.

The hyperscan finder scans the whole text once against a database of the rule patterns (or
their cheaper `prefilter`s) and of the context words of rules that require context, then the
lines around the words found against a second database of those rules' patterns, and names
the lines that hold a match end of a rule (a line longer than `SEGMENT_CHARS` is cut into
pieces that overlap by `MAX_MATCH_CHARS`; a piece is named where a match may start). The
pure-regex finder, used where hyperscan is missing, cuts the text into *segments* of about
`SEGMENT_CHARS` characters that end at line breaks and asks each rule's keywords per
segment. Both drop the places of a rule that requires context where none of its context
words is within reach.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import chain
from pathlib import Path
from typing import NamedTuple

import regex

from piiscan.compiled import context_alternation, requires_context
from piiscan.hsdatabase import load_or_build_database, patterns_of
from piiscan.model import Rule
from piiscan.scoring import CONTEXT_AFTER, CONTEXT_BEFORE

SEGMENT_CHARS = 1024
# A longer match is not reported; long-line pieces overlap by this much. The engine and the
# snippets import it: a change is made here, never by patching one module's copy.
MAX_MATCH_CHARS = 256


# Internal records (here, in the engine's other modules and in scan, sources, suppress,
# parallel, config) are NamedTuples, not frozen dataclasses: every start defines them, and on
# Python 3.11 a frozen dataclass costs ~0.6 ms to define (each generated method is compiled
# with exec), a NamedTuple ~0.07 ms. The model and what library users are given stay
# dataclasses.
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
            words = self._patterns[order] = self._compile(context_alternation(self._rules[order].context), 0)
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
        self._needs_context = {i for i in chosen if requires_context(rules[i])}

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
        self._database, self._gated, self._owners, regex_only = load_or_build_database(
            rules, cache_dir
        )
        # Rules hyperscan cannot compile even in prefilter mode fall back to keywords.
        self._fallback = RegexFinder(rules, regex_only, compile) if regex_only else None
        # What each expression stands for (see patterns_of), and each rule's context-words
        # expression.
        self._pattern_of = patterns_of(self._owners)
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
