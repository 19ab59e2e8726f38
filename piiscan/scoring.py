"""How likely a confirmed match is personal data: exclusions, context words (a table's
column name counts as one: `table_columns`), test values, its shape, where it is written
(credits in source code, test code), and last the validator (`score_match`, `Surroundings`).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Sequence
from typing import NamedTuple

import regex

from piiscan.compiled import CompiledRule
from piiscan.filekinds import (
    in_credit,
    is_attribution_file,
    is_code,
    is_test_code,
    table_delimiter,
)
from piiscan.model import Document, Verdict

# Characters before and after a value where a context word counts for it. The finders
# import them (their "no word within reach" skip must accept whatever scoring would): a
# change is made here, never by patching one module's copy.
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
# people who wrote it, on purpose: below the default threshold (`DEFAULT_MIN_CONFIDENCE`),
# still there for an inventory.
CREDIT_CONFIDENCE_CAP = 0.3
TABLE_SUFFIXES = (".csv", ".tsv")


def is_test_code_by(globs: Sequence[str]) -> Callable[[Document], bool]:
    """Whether a document is test code: the user's gitignore-style `globs` decide where one
    matches (a negated one, "!glob", says "not test code"); the naming conventions of
    `is_test_code` decide the rest. The globs see the path --include and --exclude see
    (relative to the folder scanned; see `glob_verdict`), the conventions the reported one
    (a `tests` folder above the scanned one still counts). A glob may mark any file, data
    files included: the user knows which fixtures are made up."""
    if not globs:
        return lambda document: is_test_code(document.path)
    from piiscan.sources import glob_verdict, user_matcher

    matcher = user_matcher("test_code", globs)

    def check(document: Document) -> bool:
        verdict = glob_verdict(matcher, document.path, document.scope_path)
        return is_test_code(document.path) if verdict is None else verdict

    return check


class Surroundings(NamedTuple):
    """What a document says about every value in it, worked out once per document."""

    column_of: Callable[[int], str] | None = None  # names the table column of an offset
    in_code: bool = False  # a source-code file
    in_test_code: bool = False  # a test suite's source file
    in_credits_file: bool = False  # AUTHORS, CONTRIBUTORS.md ...: every line is a credit

    @classmethod
    def of(
        cls,
        document: Document,
        is_test: Callable[[Document], bool],
        column_of: Callable[[int], str] | None,
    ) -> Surroundings:
        """`is_test` tells test code (see `is_test_code_by`); `column_of` is the first of
        the document's `table_columns`."""
        return cls(
            column_of=column_of,
            in_code=is_code(document.path),
            in_test_code=is_test(document),
            in_credits_file=is_attribution_file(document.path),
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
    """Apply exclusions, context words, shape penalties and the validator. None: not a
    value of the rule at all (an excluded value, no context word where the rule requires
    one, rejected by the validator). Where the validator could not lift the confidence to
    `min_confidence`, it is not run, and the match is given the confidence it has without it.

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
    # Addresses, phone numbers and the like in a test suite's code are made up for the test.
    test_data = known_test_value or (around.in_test_code and c.rule.made_up_in_tests)
    if c.validator is not None:
        # The validator runs last, and only where its verdict can still decide: it is the
        # slowest step (a national phone number is tried against two dozen regions).
        if _final_confidence(score + VALIDATOR_BONUS, capped) < min_confidence:
            return Match(c.order, start, end, _final_confidence(score, capped), test_data)
        verdict = c.validator(value)
        if verdict is Verdict.INVALID:
            return None
        if verdict is Verdict.VALID:
            score += VALIDATOR_BONUS
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
