"""What a file's path says about the values in it: source code, test code, credit lists.

A value's meaning depends on where it is written. An address in a customer export is data; the
same address in `__author__` credits the person who wrote the module, and one typed into a
unit test was made up for the test. The engine uses these answers to score matches; the NER
model uses them to skip credits.
"""

from __future__ import annotations

import functools
import os
import re

# Source code: files people write programs in (not data, configuration or documents).
CODE_EXTENSIONS = frozenset("""
    .py .pyi .pyw .js .mjs .cjs .jsx .ts .mts .cts .tsx .java .c .h .cc .cpp .cxx .hpp .hh .hxx
    .m .mm .cs .dart .groovy .gradle .kt .kts .swift .scala .sc .go .rs .php .phtml .sh .bash
    .zsh .ksh .fish .rb .rake .pl .pm .r .ps1 .lua .ex .exs .erl .hs .clj .cljs .elm .jl .fs .vb
""".split())

# Folders that hold tests, by the conventions of the common test runners.
_TEST_FOLDERS = frozenset({"test", "tests", "testing", "__tests__", "spec", "specs", "__mocks__"})
# test_x.py, x_test.go, x.test.ts, x.spec.js, XTest.java, XTests.cs, x_spec.rb, conftest.py.
_TEST_FILE_STEM = re.compile(r"tests?|test_.+|.+_(?:test|tests|spec)|.+\.(?:test|spec)|.+Tests?|conftest")

# Files that exist to list the people behind a project.
_ATTRIBUTION_STEMS = frozenset({
    "authors", "contributors", "credits", "maintainers", "codeowners", "thanks", "license",
    "licence", "copying", "notice", "copyright",
})  # fmt: skip

# A credit in source code names who wrote it. Two kinds of signs, with different reach:
# - a module header's fields (`__author__`, "# Author: ...", "Maintainers:"), which credit the
#   lines below them too: "# Author: Jane Roe" above "# Contact: jane@...";
# - words that credit only on their own line: copyright notices, "written by", "by" and a
#   full name, setup(author_email=...).
_HEADER_CREDIT = (
    r"(?im)__(?:author|maintainer|credits|email|contact)__"
    r"|^[ \t#*/;'\"-]*(?:authors?|maintainers?|contributors?|credits|written by)[ \t]*:"
)
_LINE_CREDIT = (
    r"(?i)copyright|\(c\)\s*\d|©|all rights reserved|\bthanks\s+to\b"
    r"|\b(?:written|contributed|suggested|maintained|ported|originally|implemented|patch(?:ed)?)"
    r"\s+by\b|\b(?:author|maintainer)(?:s|_email)?[ \t]*="
    r"|(?-i:\b[Bb]y\s+[A-ZÀ-ÖØ-Þ][\w'’-]+\s+[A-ZÀ-ÖØ-Þ])"  # "# Cloned by Mark Hammond"
)


@functools.cache
def _credit_patterns() -> tuple[re.Pattern[str], re.Pattern[str]]:
    # Compiled on first use: most scans never need them.
    return re.compile(_HEADER_CREDIT), re.compile(_LINE_CREDIT)


@functools.lru_cache(maxsize=64)  # a document's kinds are asked one after another
def _split(path: str) -> tuple[tuple[str, ...], str, str]:
    parts = path.replace("\\", "/").split("/")
    stem, ext = os.path.splitext(parts[-1])
    return tuple(parts[:-1]), stem, ext.lower()


def is_code(path: str) -> bool:
    return _split(path)[2] in CODE_EXTENSIONS


def is_test_code(path: str) -> bool:
    """A source file of a test suite: under a test folder, or named like a test module.

    Data files next to the tests (fixtures in JSON, CSV, SQL ...) are not test code: that is
    where copies of production data end up, so they are scanned like any other data.
    """
    folders, stem, ext = _split(path)
    if ext not in CODE_EXTENSIONS:
        return False
    return bool(_TEST_FILE_STEM.fullmatch(stem)) or any(f.lower() in _TEST_FOLDERS for f in folders)


def is_attribution_file(path: str) -> bool:
    """AUTHORS, CONTRIBUTORS.md, LICENSE.txt ...; not data such as contributors.csv."""
    _, stem, ext = _split(path)
    return stem.lower() in _ATTRIBUTION_STEMS and ext in ("", ".md", ".txt", ".rst", ".adoc")


# How far before a value a module header's credit still counts: an `__author__` tuple or a
# header block runs over a few lines.
CREDIT_HEADER_REACH = 200


def in_credit(text: str, start: int, end: int) -> bool:
    """Whether text[start:end] is part of a credit (see _HEADER_CREDIT and _LINE_CREDIT)."""
    header, line = _credit_patterns()
    line_start, line_end = line_around(text, start, end)
    return bool(
        line.search(text, line_start, line_end)
        or header.search(text, max(0, start - CREDIT_HEADER_REACH), start)
    )


def line_around(text: str, start: int, end: int) -> tuple[int, int]:
    """The bounds of the line around text[start:end], at most CREDIT_HEADER_REACH characters
    each way (minified files have lines of megabytes)."""
    reach = max(0, start - CREDIT_HEADER_REACH)
    line_start = text.rfind("\n", reach, start) + 1 or reach
    line_end = text.find("\n", end, end + CREDIT_HEADER_REACH)
    line_end = min(len(text), end + CREDIT_HEADER_REACH) if line_end < 0 else line_end
    return line_start, line_end


def table_delimiter(header: str, fixed: str | None = None) -> str:
    """The cell separator of a CSV or TSV table: `fixed` when the file type says (TSV), else
    the most frequent of , ; tab | in its header line (spreadsheets in many locales write ";")."""
    if fixed:
        return fixed
    best = max(",;\t|", key=header.count)
    return best if header.count(best) else ","
