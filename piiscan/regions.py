"""Where natural language sits in a file: the only text the NER model is shown.

A name model run over code tags identifiers (`getName`, `PersonName`) as people, and wastes time on
syntax. So each file type gets a small scanner that yields the spans a person would write prose in:
paragraphs of documents, comments and string literals of code, values of data files. Every span
is an exact slice of the original text (`text[r.start:r.end]`), so findings land where they are.

The scanners are pure text processing and avoid per-character Python loops where a compiled regex
can jump to the next interesting place: this runs on every file when NER is on.
"""

from __future__ import annotations

import functools
import keyword
import os
import re
import tokenize
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from piiscan.filekinds import table_delimiter

__all__ = ["Region", "natural_language_regions", "MAX_REGION_CHARS"]

# Longer regions are split (by paragraph, then by line) so the model never gets a giant input.
MAX_REGION_CHARS = 10_000
# Above this size Python files are read with the regex scanner: `tokenize` is pure Python in 3.11
# and too slow for multi-megabyte generated modules.
TOKENIZE_MAX_CHARS = 1_000_000


@dataclass(frozen=True, slots=True)
class Region:
    start: int  # character offsets into the document text
    end: int
    kind: str  # "prose" | "comment" | "string" | "value"
    # For values: the JSON/YAML key or CSV column header. For code strings: the name assigned to
    # or keyed by, when obvious (`name = "..."`, `{"name": ...}`, `first_name: "..."`). Else "".
    key: str = ""


# What scanners yield: (start, end, kind, key). Plain tuples, because a big file has hundreds of
# thousands of candidates and only the survivors of `_finish` become `Region`s.
_Span = tuple[int, int, str, str]


def natural_language_regions(path: str, text: str, header: str | None = None) -> list[Region]:
    """The natural-language spans of `text`, sorted and non-overlapping.

    `header` is a table's first line when `text` is a later window of a large file, so that
    its values still get their column names.
    """
    scanner = _scanner_for(path)
    if header is not None and getattr(scanner, "takes_header", False):
        return _finish(text, scanner(text, header))
    return _finish(text, scanner(text))


# --------------------------------------------------------------------------- file types

_PROSE_NAMES = {
    "readme", "changelog", "changes", "history", "news", "authors", "contributors", "license",
    "licence", "copying", "notice", "todo", "thanks", "maintainers", "codeowners", "credits",
}  # fmt: skip
_HASH_NAMES = {
    "makefile", "gnumakefile", "dockerfile", "containerfile", "gemfile", "rakefile",
    "vagrantfile", "podfile", "brewfile", "procfile", "jenkinsfile",
}  # fmt: skip
_SHELL_DOTFILES = {".bashrc", ".bash_profile", ".profile", ".zshrc", ".zprofile", ".envrc"}


def _scanner_for(path: str) -> Callable[[str], Iterable[_Span]]:
    base = os.path.basename(path.replace("\\", "/")).lower()
    stem, ext = os.path.splitext(base)
    if base.startswith(".env") or ext in _KEY_VALUE_EXTS:
        return _key_value_file
    if base in _SHELL_DOTFILES:
        return _HASH_CODE
    if not ext or base.startswith("."):
        name = stem.split(".")[0] if stem else base
        if name in _HASH_NAMES or base.startswith("dockerfile"):
            return _HASH_CODE
        if name.lstrip(".") in _PROSE_NAMES:
            return _plain_prose
    if base.startswith(("dockerfile", "makefile")):
        return _HASH_CODE
    return _BY_EXTENSION.get(ext, _plain_prose)


# --------------------------------------------------------------------------- finishing

_LETTER = re.compile(r"[^\W\d_]")
_BLANK_LINES = re.compile(r"\n(?:[ \t\r\f\v]*\n)+")
_SPACE = " \t\r\n\f\v"


def _finish(text: str, raw: Iterable[_Span]) -> list[Region]:
    """Trim, drop letterless spans, split long ones, sort and make non-overlapping."""
    pieces: list[_Span] = []
    for span in raw:
        start, end, kind, key = span
        while start < end and text[start] in _SPACE:
            start += 1
        while end > start and text[end - 1] in _SPACE:
            end -= 1
        if end <= start:
            continue
        if end - start > MAX_REGION_CHARS:
            pieces.extend(_split_long(text, start, end, kind, key))
        elif _LETTER.search(text, start, end):
            pieces.append((start, end, kind, key))
    pieces.sort(key=lambda span: (span[0], -span[1]))
    result: list[Region] = []
    last_end = 0
    for start, end, kind, key in pieces:
        if start < last_end:  # scanners do not overlap; this is a last guard
            if end <= last_end:
                continue
            start = last_end
        result.append(Region(start, end, kind, key))
        last_end = end
    return result


def _split_long(text: str, start: int, end: int, kind: str, key: str) -> Iterator[_Span]:
    """A long span as paragraphs, and paragraphs still too long as runs of whole lines."""
    for p_start, p_end in _paragraphs(text, start, end):
        p_end = _rstrip(text, p_start, p_end)
        while p_end - p_start > MAX_REGION_CHARS:
            cut = text.rfind("\n", p_start, p_start + MAX_REGION_CHARS)
            if cut <= p_start:
                cut = max(text.rfind(" ", p_start, p_start + MAX_REGION_CHARS), -1)
            if cut <= p_start:
                cut = p_start + MAX_REGION_CHARS
            if _LETTER.search(text, p_start, cut):
                yield (p_start, _rstrip(text, p_start, cut), kind, key)
            p_start = cut
            while p_start < p_end and text[p_start] in _SPACE:
                p_start += 1
        if p_end > p_start and _LETTER.search(text, p_start, p_end):
            yield (p_start, p_end, kind, key)


def _rstrip(text: str, start: int, end: int) -> int:
    while end > start and text[end - 1] in _SPACE:
        end -= 1
    return end


def _paragraphs(text: str, start: int = 0, end: int | None = None) -> Iterator[tuple[int, int]]:
    """(start, end) of the blank-line separated blocks of text[start:end]."""
    end = len(text) if end is None else end
    pos = start
    for sep in _BLANK_LINES.finditer(text, start, end):
        if sep.start() > pos:
            yield pos, sep.start()
        pos = sep.end()
    if end > pos:
        yield pos, end


# --------------------------------------------------------------------------- prose

def _plain_prose(text: str) -> Iterator[_Span]:
    for start, end in _paragraphs(text):
        yield (start, end, "prose", "")


_LINE = re.compile(r"[^\n]*\n|[^\n]+")
_FENCE = re.compile(r"[ ]{0,3}(`{3,}|~{3,})")
_LIST_ITEM = re.compile(r"\s*(?:[-*+]|\d+[.)])\s")
_MD_CODE_SPAN = re.compile(r"(?<!`)(`+)(?!`).+?(?<!`)\1(?!`)", re.DOTALL)
_RST_CODE_SPAN = re.compile(r"``.+?``", re.DOTALL)
_RST_CODE_DIRECTIVE = re.compile(r"\s*\.\.\s+(?:code-block|code|sourcecode|literalinclude)::")


def _indent(line: str) -> int:
    return len(line.expandtabs(4)) - len(line.expandtabs(4).lstrip(" "))


def _markdown(text: str) -> Iterator[_Span]:
    """Paragraphs outside fenced and indented code blocks, minus inline code spans."""
    blocks: list[list[tuple[int, str]]] = [[]]  # lines (offset, line) grouped by blank lines
    fence = ""
    for m in _LINE.finditer(text):
        line = m.group()
        if fence:
            if line.strip().startswith(fence) and not line.strip().strip(fence[0]):
                fence = ""
            continue
        opening = _FENCE.match(line)
        if opening:
            fence = opening.group(1)
            blocks.append([])
            continue
        if not line.strip():
            blocks.append([])
        else:
            blocks[-1].append((m.start(), line))
    for block in blocks:
        if not block:
            continue
        first = block[0][1]
        if all(_indent(line) >= 4 for _, line in block) and not _LIST_ITEM.match(first):
            continue  # an indented code block
        yield from _without_spans(text, block[0][0], block[-1][0] + len(block[-1][1]),
                                  _MD_CODE_SPAN)


def _restructured_text(text: str) -> Iterator[_Span]:
    """Paragraphs outside literal blocks (after `::`) and code directives."""
    code_below: int | None = None  # indent that content must exceed to be code
    for start, end in _paragraphs(text):
        first = text[start : text.find("\n", start, end) if "\n" in text[start:end] else end]
        indent = _indent(first)
        if code_below is not None:
            if indent > code_below:
                continue
            code_below = None
        if _RST_CODE_DIRECTIVE.match(first):
            code_below = indent
            continue
        if text[start:end].rstrip().endswith("::"):
            code_below = indent
        yield from _without_spans(text, start, end, _RST_CODE_SPAN)


def _without_spans(text: str, start: int, end: int, span: re.Pattern[str]) -> Iterator[_Span]:
    pos = start
    for m in span.finditer(text, start, end):
        if m.start() > pos:
            yield (pos, m.start(), "prose", "")
        pos = m.end()
    if end > pos:
        yield (pos, end, "prose", "")


_EML_HEADER_END = re.compile(r"\r?\n[ \t]*\r?\n")
_EML_SUBJECT = re.compile(r"^Subject:[ \t]*((?:[^\r\n]*)(?:\r?\n[ \t][^\r\n]*)*)",
                          re.IGNORECASE | re.MULTILINE)
_MIME_HEADER = re.compile(r"[\w-]+:|[ \t]|--")
_BASE64_LINE = re.compile(r"[A-Za-z0-9+/=]{40,}\r?")


def _email(text: str) -> Iterator[_Span]:
    """The Subject and the body paragraphs; other headers and MIME part headers are skipped."""
    head = _EML_HEADER_END.search(text)
    body_start = head.end() if head else 0
    if head:
        subject = _EML_SUBJECT.search(text, 0, head.start())
        if subject:
            yield (subject.start(1), subject.end(1), "prose", "subject")
    for start, end in _paragraphs(text, body_start):
        lines = text[start:end].split("\n")
        if all(_MIME_HEADER.match(line) for line in lines):
            continue  # a MIME boundary and part header block
        if all(_BASE64_LINE.fullmatch(line) for line in lines if line.strip()):
            continue  # an encoded attachment
        yield (start, end, "prose", "")


# --------------------------------------------------------------------------- code (generic)

@dataclass(frozen=True, slots=True)
class _Syntax:
    """What starts comments and strings in one family of languages."""

    line_comments: tuple[str, ...] = ()
    block_comments: tuple[tuple[str, str], ...] = ()
    quotes: str = "\"'"  # each may be escaped with a backslash and cannot span lines
    raw_quotes: str = ""  # these can span lines; no escapes except for backtick templates
    triple_quotes: tuple[str, ...] = ()  # '"""' etc., can span lines
    hash_after_space: bool = False  # `#` opens a comment only at line start or after a space
    doubled_quote_escape: bool = False  # SQL: '' inside '...'
    template_interpolation: bool = False  # JS `${...}`, Python f-strings are separate

    @functools.cache  # a few syntaxes; asked by every _scan_code call (one per TOML array line)
    def starter(self) -> re.Pattern[str]:
        options: list[str] = []
        for q in self.triple_quotes:
            options.append(re.escape(q))
        for c in self.line_comments:
            if c == "#" and self.hash_after_space:
                options.append(r"(?:(?<=[\s;])|^)#")
            else:
                options.append(re.escape(c))
        for opening, _ in self.block_comments:
            options.append(re.escape(opening))
        for q in self.quotes + self.raw_quotes:
            options.append(re.escape(q))
        return re.compile("|".join(options), re.MULTILINE)


_STRING_BODY = {
    q: re.compile(rf"(?:[^{q}\\\n]|\\.)*{q}", re.DOTALL) for q in "\"'`"
}  # fmt: skip
_SQL_STRING_BODY = re.compile(r"(?:[^']|'')*'")
_TEMPLATE_BODY = re.compile(r"(?:[^`\\]|\\.)*`", re.DOTALL)  # JS: escapes allowed
_RAW_BODY = {q: re.compile(rf"[^{q}]*{q}") for q in "\"'`"}  # Go raw strings: no escapes

_IDENTIFIER_LIKE = re.compile(r"[A-Za-z_][\w.\-]*")
_KEY_FOLLOWS = re.compile(r"[ \t]*:(?!=)")


def _is_key_literal(text: str, quote_at: int, body_start: int, body_end: int, after: int) -> bool:
    """`{"first_name": ...}` or `row["first_name"]`: the literal names a field, it is not text."""
    if not _IDENTIFIER_LIKE.fullmatch(text, body_start, body_end):
        return False
    if _KEY_FOLLOWS.match(text, after):
        return True
    return text[quote_at - 1 : quote_at] == "[" and text.startswith("]", after)


_NOT_KEYS = set(keyword.kwlist) | {"return", "case", "default", "echo", "print", "else", "then"}
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_$")
_COMPARISON_BEFORE_EQUALS = frozenset("=!<>+-*/%&|^~?.")


def _key_before(text: str, pos: int) -> str:
    """The name a literal at `pos` is assigned to or keyed by, if the code right before says:
    `name = "`, `"name": "`, `name: "`, `name := "`, `'name' => '`, `$name = '`,
    `name: string = "`. Walks back a few characters by hand: a regex searched backwards from
    every string would cost more than the rest of the scan."""
    i = _skip_space_back(text, pos - 1)
    if i < 1:
        return ""
    ch = text[i]
    if ch == "=":
        if text[i - 1] == ":":  # Go `:=`
            i -= 2
        elif text[i - 1] in _COMPARISON_BEFORE_EQUALS:  # `==`, `!=`, `+=`, ...
            return ""
        else:
            i -= 1
    elif ch == ">" and text[i - 1] == "=":  # `=>`
        i -= 2
    elif ch == ":" and text[i - 1] != ":":
        i -= 1
    else:
        return ""
    i = _skip_space_back(text, i)
    if i < 0:
        return ""
    if text[i] in "\"'":  # a quoted key
        opening = text.rfind(text[i], max(0, i - 80), i)
        if opening < 0 or "\n" in text[opening:i]:
            return ""
        return text[opening + 1 : i]
    key = _name_ending_at(text, i)
    if ch == "=" and key:  # `name: Type = "..."`: the name, not the type
        j = _skip_space_back(text, i - len(key))
        if j > 0 and text[j] == ":" and text[j - 1] != ":":
            key = _name_ending_at(text, _skip_space_back(text, j - 1)) or key
    return "" if key in _NOT_KEYS or key[:1].isdigit() else key


def _skip_space_back(text: str, i: int) -> int:
    while i >= 0 and text[i] in _SPACE:
        i -= 1
    return i


def _name_ending_at(text: str, i: int) -> str:
    end = i + 1
    while i >= 0 and text[i] in _NAME_CHARS and end - i <= 80:
        i -= 1
    return text[i + 1 : end].lstrip("$")


def _scan_code(text: str, syntax: _Syntax, start: int = 0,
               keys_at: Callable[[int], str] | None = None,
               end: int | None = None) -> Iterator[_Span]:
    """Comments and string contents of text[start:end], skipping over each construct whole
    so that a quote in a comment or a `//` in a string never derails the scan."""
    starter = syntax.starter()
    block_end = dict(syntax.block_comments)
    pos = start
    n = len(text) if end is None else end
    while pos < n:
        m = starter.search(text, pos, n)
        if not m:
            return
        token = m.group()
        at = m.start()
        after = m.end()
        if token in syntax.triple_quotes:
            close = text.find(token, after, n)
            if close < 0:  # never closed (broken code): the rest of the file is its text
                close = n
            yield (after, close, "string", _key_before(text, at))
            pos = close + len(token)
        elif token in syntax.line_comments or token.endswith("#"):
            newline = text.find("\n", after, n)
            newline = n if newline < 0 else newline
            if at == 0 and text.startswith("#!"):  # a shebang line is not a comment
                pos = newline
                continue
            body = after
            while body < newline and text[body] in "/#!;-*":  # `///`, `##`, `--` etc.
                body += 1
            yield (body, newline, "comment", "")
            pos = newline
        elif token in block_end:
            close = text.find(block_end[token], after, n)
            close = n if close < 0 else close
            body = after
            while body < close and text[body] in "*!":  # `/**` and `/*!`
                body += 1
            yield (body, close, "comment", "")
            pos = close + len(block_end[token])
        else:  # a quote
            if token in syntax.raw_quotes:
                body_re = _TEMPLATE_BODY if syntax.template_interpolation else _RAW_BODY[token]
            elif syntax.doubled_quote_escape and token == "'":
                body_re = _SQL_STRING_BODY
            else:
                body_re = _STRING_BODY[token]
            body = body_re.match(text, after, n)
            if not body:  # unterminated (broken code): its text runs to the end of the line
                newline = text.find("\n", after, n)
                newline = n if newline < 0 else newline
                yield (after, newline, "string", _key_before(text, at))
                pos = newline
                continue
            close = body.end() - 1
            if _is_key_literal(text, at, after, close, body.end()):
                pos = body.end()
                continue
            key = keys_at(at) if keys_at else ""
            key = key or _key_before(text, at)
            if token == "`" and syntax.template_interpolation:
                for s, e in _outside_interpolations(text, after, close, "${"):
                    yield (s, e, "string", key)
            else:
                yield (after, close, "string", key)
            pos = body.end()


def _outside_interpolations(text: str, start: int, end: int, opener: str) -> Iterator[
        tuple[int, int]]:
    """Literal pieces of a template string, without `{...}`/`${...}` code (nested braces ok)."""
    pos = piece = start
    while True:
        at = text.find(opener, pos, end)
        if at < 0:
            break
        if opener == "{" and text.startswith("{{", at):  # an escaped brace is literal
            pos = at + 2
            continue
        depth, i = 0, at + len(opener) - 1
        while i < end:
            ch = text[i]
            if ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
                if depth == 0:
                    break
            i += 1
        if at > piece:
            yield piece, at
        pos = piece = min(i + 1, end)
    if end > piece:
        yield piece, end


_C_FAMILY = _Syntax(line_comments=("//",), block_comments=(("/*", "*/"),), quotes="\"'")
_JS = _Syntax(line_comments=("//",), block_comments=(("/*", "*/"),), quotes="\"'",
              raw_quotes="`", template_interpolation=True)
_GO = _Syntax(line_comments=("//",), block_comments=(("/*", "*/"),), quotes="\"'",
              raw_quotes="`")
# Rust's `'a` lifetimes would open bogus strings; char literals never hold a name anyway.
_RUST = _Syntax(line_comments=("//",), block_comments=(("/*", "*/"),), quotes='"')
_TRIPLE_C = _Syntax(line_comments=("//",), block_comments=(("/*", "*/"),), quotes="\"'",
                    triple_quotes=('"""',))  # Kotlin, Swift, Scala, Java text blocks, C# 11
_PHP = _Syntax(line_comments=("//", "#"), block_comments=(("/*", "*/"),), quotes="\"'",
               hash_after_space=True)
_HASH = _Syntax(line_comments=("#",), quotes="\"'", hash_after_space=True)
_PY_FALLBACK = _Syntax(line_comments=("#",), quotes="\"'", triple_quotes=('"""', "'''"))
_SQL = _Syntax(line_comments=("--",), block_comments=(("/*", "*/"),), quotes="'",
               doubled_quote_escape=True)


def _code(syntax: _Syntax) -> Callable[[str], Iterator[_Span]]:
    def scan(text: str) -> Iterator[_Span]:
        return _scan_code(text, syntax)

    return scan


_HASH_CODE = _code(_HASH)


# --------------------------------------------------------------------------- Python

_STRING_PREFIX = re.compile(r"[A-Za-z]*")


def _python(text: str) -> Iterator[_Span]:
    """Comments and strings by `tokenize`; the regex scanner takes over where it gives up."""
    if len(text) > TOKENIZE_MAX_CHARS:
        yield from _scan_code(text, _PY_FALLBACK)
        return
    line_starts = [0]
    lines = []
    for m in _LINE.finditer(text):
        lines.append(m.group())
        line_starts.append(m.end())

    def offset(row_col: tuple[int, int]) -> int:
        row, col = row_col
        return line_starts[row - 1] + col if row - 1 < len(line_starts) else len(text)

    readline = iter(lines).__next__
    recent: list[tuple[int, str]] = []  # significant tokens before the current one
    fstring_depth, fstring_start, fstring_key = 0, 0, ""
    done = 0  # offset up to which tokenize has gone
    try:
        for tok in tokenize.generate_tokens(readline):
            kind = tok.type
            if kind == tokenize.COMMENT:
                body = offset(tok.start) + 1
                if body == 1 and tok.string.startswith("#!"):
                    continue  # the shebang
                yield (body, offset(tok.end), "comment", "")
            elif kind == tokenize.STRING and not fstring_depth:
                yield from _python_string(text, offset(tok.start), offset(tok.end),
                                          _python_key(recent))
            elif kind == tokenize.ERRORTOKEN and tok.string in ("'", '"'):
                # An unterminated string (3.11 goes on tokenizing): its text runs to the line end.
                yield (offset(tok.end), offset((tok.end[0], len(tok.line))), "string",
                       _python_key(recent))
            elif kind == getattr(tokenize, "FSTRING_START", -1):  # Python 3.12+
                if not fstring_depth:
                    fstring_start, fstring_key = offset(tok.start), _python_key(recent)
                fstring_depth += 1
            elif kind == getattr(tokenize, "FSTRING_END", -1):
                fstring_depth -= 1
                if not fstring_depth:
                    yield from _python_string(text, fstring_start, offset(tok.end), fstring_key)
            if kind not in (tokenize.NL, tokenize.COMMENT, tokenize.ENCODING):
                recent.append((kind, tok.string))
                if len(recent) > 8:
                    del recent[:4]
            done = offset(tok.end)
    except (tokenize.TokenError, SyntaxError, IndexError):
        # Broken code: the rest of the file is read by the forgiving scanner.
        yield from _scan_code(text, _PY_FALLBACK, start=done)


def _python_string(text: str, start: int, end: int, key: str) -> Iterator[_Span]:
    prefix = _STRING_PREFIX.match(text, start).group().lower()
    quote_at = start + len(prefix)
    quote = text[quote_at : quote_at + 3]
    if quote not in ('"""', "'''"):
        quote = text[quote_at]
    body_start, body_end = quote_at + len(quote), end - len(quote)
    if body_end <= body_start or _is_key_literal(text, start, body_start, body_end, end):
        return
    if "f" in prefix:
        for s, e in _outside_interpolations(text, body_start, body_end, "{"):
            yield (s, e, "string", key)
    else:
        yield (body_start, body_end, "string", key)


def _python_key(recent: list[tuple[int, str]]) -> str:
    """The key of `name = "..."`, `name: str = "..."`, `f(name="...")`, `{"name": "..."}` and
    `d["name"] = "..."`."""
    if len(recent) < 2 or recent[-1] not in ((tokenize.OP, "="), (tokenize.OP, ":")):
        return ""
    before = recent[-2]
    if recent[-1][1] == "=" and len(recent) >= 4 and recent[-3] == (tokenize.OP, ":"):
        before = recent[-4]  # an annotated assignment: the name, not the type
    if before[0] == tokenize.NAME and not keyword.iskeyword(before[1]):
        return before[1]
    if before[0] == tokenize.STRING:
        return _literal_text(before[1])
    if before == (tokenize.OP, "]") and len(recent) >= 4 and recent[-3][0] == tokenize.STRING:
        return _literal_text(recent[-3][1])
    return ""


def _literal_text(token: str) -> str:
    body = token[len(_STRING_PREFIX.match(token).group()) :]
    quote = body[:3] if body[:3] in ('"""', "'''") else body[:1]
    return body[len(quote) : len(body) - len(quote)]


# --------------------------------------------------------------------------- SQL

_INSERT = re.compile(r"\binsert\s+into\s+[^\s(]+\s*\(([^()]*)\)\s*values\b", re.IGNORECASE)
_SQL_TOKEN = re.compile(r"'(?:[^']|'')*'|--[^\n]*|/\*.*?\*/|[(),;]", re.DOTALL)


def _sql(text: str) -> Iterator[_Span]:
    """Comments and '...' literals; a literal in an INSERT row is keyed by its column."""
    columns_at: dict[int, str] = {}
    for insert in _INSERT.finditer(text):
        columns = [c.strip().strip('`"[]') for c in insert.group(1).split(",")]
        depth, index = 0, 0
        for tok in _SQL_TOKEN.finditer(text, insert.end()):
            t = tok.group()
            if t == "(":
                depth += 1
                if depth == 1:
                    index = 0
            elif t == ")":
                depth -= 1
            elif t == "," and depth == 1:
                index += 1
            elif t == ";" or depth < 0:
                break
            elif t.startswith("'") and depth == 1 and index < len(columns):
                columns_at[tok.start()] = columns[index]
    return _scan_code(text, _SQL, keys_at=lambda at: columns_at.get(at, ""))


# --------------------------------------------------------------------------- key = value files

_KEY_VALUE_EXTS = {".ini", ".cfg", ".conf", ".properties", ".toml", ".env", ".editorconfig"}
_KEY_VALUE = re.compile(
    r"""[ \t]*(?:export[ \t]+)?("[^"\n]*"|'[^'\n]*'|[^\s=:#;\[][^=:\n]*?)[ \t]*[=:][ \t]*""")
_TRIPLE = re.compile(r'"""|\'\'\'')
_INLINE_COMMENT = re.compile(r"[ \t]+[#;]")


def _key_value_file(text: str) -> Iterator[_Span]:
    """Comment lines, and the value of each `key = value` line with its key."""
    lines = _LINE.finditer(text)
    for m in lines:
        line_start, line_end = m.start(), m.end()
        stripped = m.group().strip()
        if not stripped or stripped.startswith("["):
            continue  # blank, or a section header
        if stripped[0] in "#;!":
            body = text.index(stripped[0], line_start) + 1
            yield (body, line_end, "comment", "")
            continue
        kv = _KEY_VALUE.match(text, line_start, line_end)
        if not kv:
            yield (line_start, line_end, "value", "")  # a continuation line
            continue
        key = kv.group(1).strip().strip("\"'")
        at = kv.end()
        triple = _TRIPLE.match(text, at)
        if triple:
            close = text.find(triple.group(), triple.end())
            close = len(text) if close < 0 else close
            yield (triple.end(), close, "value", key)
            for skipped in lines:  # the lines the multi-line value covered
                if skipped.end() > close:
                    break
            continue
        if at < line_end and text[at] in "\"'":
            close = text.find(text[at], at + 1, line_end)
            if close > at:
                yield (at + 1, close, "value", key)
                continue
        if at < line_end and text[at] in "[{":  # a TOML array or inline table
            yield from ((r[0], r[1], "value", r[3] or key)
                        for r in _scan_code(text, _HASH, start=at, end=line_end))
            continue
        comment = _INLINE_COMMENT.search(text, at, line_end)
        yield (at, comment.start() if comment else line_end, "value", key)
        if comment:
            yield (comment.end(), line_end, "comment", "")


# --------------------------------------------------------------------------- YAML

_YAML_KEY = re.compile(
    r"""([ \t]*)((?:-[ \t]+)*)"""  # indent, list dashes
    r"""(?:("(?:[^"\\\n]|\\.)*"|'(?:[^'\n]|'')*'|[^\s#'"\-?:,\[\]{}&*!|>%@`]"""
    r"""(?:[^:\n#]|:(?=\S)|(?<=\S)#)*?)[ \t]*:(?=[ \t]|$|\r))?[ \t]*""",
    re.MULTILINE,
)
_YAML_DQ = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_YAML_SQ = re.compile(r"'(?:[^']|'')*'")
_YAML_PLAIN_END = re.compile(r"[ \t]+#|\r?$", re.MULTILINE)
_YAML_PROPS = re.compile(r"(?:[!&][^\s]*[ \t]+)+")
_YAML_LITERALS = {"true", "false", "yes", "no", "on", "off", "null", "~"}
_BLOCK_HEADER = re.compile(r"[|>][-+0-9]*[ \t]*(?:#.*)?\r?$")
_YAML_COMMENT = re.compile(r"(?:(?<=[ \t])|^)#[^\n]*", re.MULTILINE)


def _yaml(text: str) -> Iterator[_Span]:
    """Comments, and scalar values with the key they belong to (list items: the list's key).

    A line scanner rather than a YAML parser: it must survive templated and broken files, and it
    needs offsets, which parsed YAML does not keep."""
    keys: list[tuple[int, str]] = []  # (indent, key) of the mappings enclosing the current line
    pos, n = 0, len(text)
    while pos < n:
        line_end = text.find("\n", pos)
        line_end = n if line_end < 0 else line_end
        line = text[pos:line_end]
        stripped = line.strip()
        if not stripped or stripped in ("---", "...") or stripped.startswith("%"):
            pos = line_end + 1
            continue
        if stripped.startswith("#"):
            hash_at = text.index("#", pos)
            yield (hash_at + 1, line_end, "comment", "")
            pos = line_end + 1
            continue
        m = _YAML_KEY.match(text, pos, line_end)
        indent = len(m.group(1)) + len(m.group(2))
        key_token = m.group(3)
        if key_token is not None:
            key = key_token.strip("\"'")
            while keys and keys[-1][0] >= indent:
                keys.pop()
            keys.append((indent, key))
        else:
            while keys and keys[-1][0] >= indent and not (m.group(2) and keys[-1][0] == indent):
                keys.pop()  # a `- item` may sit at its key's indent
            key = keys[-1][1] if keys else ""
        at = m.end()
        props = _YAML_PROPS.match(text, at, line_end)
        if props:
            at = props.end()
        pos = line_end + 1
        if at >= line_end or text[at] in "\r":
            continue  # the value is a nested block
        first = text[at]
        if first == "#":
            yield (at + 1, line_end, "comment", "")
        elif first in "|>" and _BLOCK_HEADER.match(text, at, line_end):
            block_start = pos
            block_end = pos
            while pos < n:  # lines more indented than the key, or blank, belong to the block
                next_end = text.find("\n", pos)
                next_end = n if next_end < 0 else next_end
                next_line = text[pos:next_end]
                if next_line.strip() and _indent(next_line) <= indent:
                    break
                if next_line.strip():
                    block_end = next_end
                pos = next_end + 1
            yield (block_start, block_end, "value", key)
        elif first == '"' or first == "'":
            body = (_YAML_DQ if first == '"' else _YAML_SQ).match(text, at)
            if not body:
                yield (at + 1, line_end, "value", key)
                continue
            yield (at + 1, body.end() - 1, "value", key)
            if body.end() > line_end:  # a quoted scalar over several lines
                pos = text.find("\n", body.end())
                pos = n if pos < 0 else pos + 1
            comment = _YAML_COMMENT.search(text, body.end(), pos if pos <= n else n)
            if comment:
                yield (comment.start() + 1, comment.end(), "comment", "")
        elif first in "[{":
            yield from ((r[0], r[1], "value", r[3] or key)
                        for r in _yaml_flow(text, at, line_end))
        elif first == "*":
            continue  # an alias
        else:
            end = _YAML_PLAIN_END.search(text, at, line_end)
            value_end = end.start() if end else line_end
            if text[at:value_end].strip().lower() not in _YAML_LITERALS:
                yield (at, value_end, "value", key)
            comment = _YAML_COMMENT.search(text, value_end, line_end)
            if comment:
                yield (comment.start() + 1, comment.end(), "comment", "")


_FLOW_ITEM = re.compile(r"""[ \t]*(?:("[^"\n]*"|'[^'\n]*'|[^\s,:\[\]{}"'#][^,:\[\]{}\n#]*?)"""
                        r"""[ \t]*:[ \t]+)?("(?:[^"\\\n]|\\.)*"|'(?:[^'\n]|'')*'|"""
                        r"""[^\s,\[\]{}"'#][^,\[\]{}\n#]*)?""")


def _yaml_flow(text: str, start: int, end: int) -> Iterator[_Span]:
    """Items of a one-line `[a, b]` or `{k: v}`."""
    comment = _YAML_COMMENT.search(text, start, end)
    if comment:
        yield (comment.start() + 1, comment.end(), "comment", "")
        end = comment.start()
    pos = start
    while pos < end:
        if text[pos] in "[]{}, \t\r":
            pos += 1
            continue
        m = _FLOW_ITEM.match(text, pos, end)
        if not m or m.end() == pos:
            pos += 1
            continue
        key = (m.group(1) or "").strip("\"'")
        value = m.group(2)
        if value:
            s, e = m.start(2), m.end(2)
            if value[0] in "\"'":
                s, e = s + 1, e - 1
            if value.strip().lower() not in _YAML_LITERALS:
                yield (s, e, "value", key)
        pos = m.end()


# --------------------------------------------------------------------------- JSON

_JSON_TOKEN = re.compile(r'"((?:[^"\\\n]|\\.)*)"(\s*:)?|[{}\[\]]')


def _json(text: str) -> Iterator[_Span]:
    """String values with their key; a string in an array takes the array's key. Tolerant of
    JSONL, comments and broken files: no parsing, just strings and brackets."""
    stack: list[tuple[str, str]] = []  # (bracket, key the container belongs to)
    last_key = ""
    for m in _JSON_TOKEN.finditer(text):
        body, colon = m.group(1, 2)
        if colon is not None:
            last_key = body
        elif body is not None:
            if not stack:
                key = ""
            else:
                bracket, owner = stack[-1]
                key = last_key if bracket == "{" else owner
            yield (m.start(1), m.end(1), "value", key)
        else:
            token = m.group()
            if token == "{" or token == "[":
                owner = last_key if not stack or stack[-1][0] == "{" else stack[-1][1]
                stack.append((token, owner))
            elif stack:
                stack.pop()


# --------------------------------------------------------------------------- CSV / TSV

def _csv(delimiter: str | None) -> Callable[..., Iterator[_Span]]:
    def scan(text: str, header_line: str | None = None) -> Iterator[_Span]:
        first_line = header_line if header_line is not None else (
            text[: text.find("\n")] if "\n" in text else text)
        sep = table_delimiter(first_line, delimiter)
        cell = re.compile(rf'"((?:[^"]|"")*)"[ \t]*|([^{re.escape(sep)}\r\n]*)')
        header: list[str] | None = None
        pos, n = 0, len(text)
        if header_line is not None:  # a later window: the header is given, and the window's
            header = _cells(cell, sep, header_line.rstrip("\r\n"))  # first line may be partial
            pos = text.find("\n") + 1
            if pos == 0:
                return
        row: list[_Span] = []
        while pos <= n:
            m = cell.match(text, pos)
            group = 1 if m.group(1) is not None else 2
            row.append((m.start(group), m.end(group), "value", ""))
            pos = m.end()
            if pos < n and text[pos] == sep:
                pos += 1
                continue
            # end of row
            if header is None:
                header = [text[r[0] : r[1]].strip().replace('""', '"') for r in row]
            else:
                for column, r in enumerate(row):
                    yield (r[0], r[1], "value", header[column] if column < len(
                        header) else "")
            row = []
            newline = text.find("\n", pos)
            if newline < 0:
                break
            pos = newline + 1

    scan.takes_header = True  # type: ignore[attr-defined]
    return scan


def _cells(cell: re.Pattern[str], sep: str, line: str) -> list[str]:
    cells, pos = [], 0
    while pos <= len(line):
        m = cell.match(line, pos)
        cells.append((m.group(1) if m.group(1) is not None else m.group(2)).strip().replace('""', '"'))
        pos = m.end() + 1
        if m.end() >= len(line) or line[m.end()] != sep:
            break
    return cells


# --------------------------------------------------------------------------- HTML / XML

_MARKUP = re.compile(
    r"<!--(.*?)-->|<!\[CDATA\[(.*?)\]\]>|<(script|style)\b[^>]*>.*?</\3\s*>|<[!?/]?[A-Za-z][^>]*>",
    re.DOTALL | re.IGNORECASE,
)
_TEXT_ATTRIBUTE = re.compile(
    r"""\s(alt|title|aria-label|placeholder|label)\s*=\s*(?:"([^"]*)"|'([^']*)')""",
    re.IGNORECASE,
)


def _markup(text: str) -> Iterator[_Span]:
    """Text nodes, comments, CDATA, and the human-readable attributes (alt, title, ...)."""
    pos = 0
    for m in _MARKUP.finditer(text):
        if m.start() > pos:
            yield (pos, m.start(), "prose", "")
        pos = m.end()
        if m.group(1) is not None:
            yield (m.start(1), m.end(1), "comment", "")
        elif m.group(2) is not None:
            yield (m.start(2), m.end(2), "prose", "")
        elif m.group(3) is None:
            for attr in _TEXT_ATTRIBUTE.finditer(m.group()):
                group = 2 if attr.group(2) is not None else 3
                yield (m.start() + attr.start(group), m.start() + attr.end(group), "value",
                             attr.group(1).lower())
    if len(text) > pos:
        yield (pos, len(text), "prose", "")


# --------------------------------------------------------------------------- table

def _extensions(scanner: Callable[[str], Iterable[_Span]], *exts: str) -> dict:
    return {ext: scanner for ext in exts}


_BY_EXTENSION: dict[str, Callable[[str], Iterable[_Span]]] = {
    **_extensions(_markdown, ".md", ".markdown", ".mdown", ".mkd", ".mdx"),
    **_extensions(_restructured_text, ".rst", ".rest"),
    **_extensions(_plain_prose, ".txt", ".text", ".adoc", ".asciidoc", ".msg", ".log"),
    **_extensions(_email, ".eml", ".mbox"),
    **_extensions(_python, ".py", ".pyi", ".pyw"),
    **_extensions(_code(_JS), ".js", ".mjs", ".cjs", ".jsx", ".ts", ".mts", ".cts", ".tsx"),
    **_extensions(_code(_C_FAMILY), ".java", ".c", ".h", ".cc", ".cpp", ".cxx", ".hpp", ".hh",
                  ".hxx", ".m", ".mm", ".cs", ".dart", ".groovy", ".gradle", ".proto"),
    **_extensions(_code(_TRIPLE_C), ".kt", ".kts", ".swift", ".scala", ".sc"),
    **_extensions(_code(_GO), ".go"),
    **_extensions(_code(_RUST), ".rs"),
    **_extensions(_code(_PHP), ".php", ".phtml"),
    **_extensions(_HASH_CODE, ".sh", ".bash", ".zsh", ".ksh", ".fish", ".rb", ".rake", ".gemspec",
                  ".pl", ".pm", ".r", ".mk", ".dockerfile", ".tf", ".hcl", ".ps1", ".nix",
                  ".cmake", ".gitignore", ".dockerignore"),
    **_extensions(_yaml, ".yaml", ".yml"),
    **_extensions(_json, ".json", ".jsonl", ".ndjson", ".geojson", ".ipynb", ".json5"),
    **_extensions(_csv(None), ".csv"),  # "," unless the header says ";" or "|"
    **_extensions(_csv("\t"), ".tsv", ".tab"),
    **_extensions(_sql, ".sql"),
    **_extensions(_markup, ".html", ".htm", ".xhtml", ".xml", ".svg", ".vue", ".xaml", ".jsp",
                  ".plist", ".xlf", ".resx"),
}
