"""The human reporter: findings grouped by file, then skipped files, then a one-line summary.

Everything that comes from scanned data (paths, snippets, rule names from user packs) is
untrusted. It is put on screen only as `rich.text.Text` (never parsed as markup) after
`visible()` has replaced control characters with escapes, so a file named `[bold]x` or a
line holding `ESC ] 52 ; ...` (clipboard write) or `ESC [ 2 J` (clear screen) is shown, not
obeyed.

The report is built as `_Line`s (text with styles). rich prints them to a terminal or with
colour; piped without colour, where rich would print the same characters without styles and
never wraps (the width is `PIPE_WIDTH`), they are written as plain text without importing
rich, whose import is a tenth of a pre-commit hook's run.
"""

from __future__ import annotations

import codecs
import os
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, TextIO

from piiscan.model import Finding, Rule, ScanResult, Severity, Skipped

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text

# Wide enough that a piped report never wraps or truncates a path or snippet.
PIPE_WIDTH = 10_000
# Policy skips beyond this many are summarised as counts per reason.
MAX_LISTED_POLICY_SKIPS = 10

SEVERITY_STYLE = {
    Severity.CRITICAL: "bold red",
    Severity.HIGH: "red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "dim",
}

# C0 controls except tab, DEL, C1 controls, bidi embedding/override/isolate marks (which can
# reorder what is displayed), line/paragraph separators, and lone surrogates (unencodable).
_INVISIBLE = re.compile(
    "[\x00-\x08\x0a-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]"
)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def visible(text: str, encoding: str = "utf-8") -> str:
    """`text` with every control character shown as an escape (`\\x1b`), tabs as a space,
    and characters the output encoding cannot carry as backslash escapes (`\\u20ac`)."""
    text = _INVISIBLE.sub(_escape, text).replace("\t", " ")
    if not codecs.lookup(encoding).name.startswith("utf"):
        text = text.encode(encoding, "backslashreplace").decode(encoding)
    return text


def _isatty(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def _encoding(stream: TextIO) -> str:
    encoding = getattr(stream, "encoding", None) or "utf-8"
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        return "utf-8"


def _report_console_class() -> type[Console]:
    from rich.console import Console

    class _ReportConsole(Console):
        def on_broken_pipe(self) -> None:
            # rich would exit 1 here, which reads as "findings": let the CLI decide instead.
            raise BrokenPipeError

    return _ReportConsole


def _wants_color(stream: TextIO, color: bool | None) -> bool:
    if color is None:
        return _isatty(stream) and not os.environ.get("NO_COLOR")
    return color


def make_console(stream: TextIO, color: bool | None) -> Console:
    is_tty = _isatty(stream)
    color = _wants_color(stream, color)
    return _report_console_class()(
        file=stream,
        force_terminal=color,
        force_jupyter=False,
        force_interactive=False,
        color_system=("auto" if is_tty else "standard") if color else None,
        no_color=not color,
        width=None if is_tty else PIPE_WIDTH,
        markup=False,
        emoji=False,
        highlight=False,
    )


class _Line:
    """One line of the report: text in a base style plus appended pieces in their own styles
    (what `rich.text.Text(text, style=...).append(...)` builds, without importing rich)."""

    __slots__ = ("base", "parts")

    def __init__(self, text: str = "", style: str = "") -> None:
        self.base = style
        self.parts: list[tuple[str, str]] = [(text, "")] if text else []

    def append(self, text: str, style: str = "") -> _Line:
        self.parts.append((text, style))
        return self

    @property
    def plain(self) -> str:
        return "".join(text for text, _ in self.parts)

    def to_text(self) -> Text:
        from rich.text import Text

        line = Text(style=self.base)
        for text, style in self.parts:
            line.append(text, style=style or None)
        return line


def _cell_len(text: str) -> int:
    if text.isascii() and text.isprintable():
        return len(text)  # what rich's cell_len says of printable ASCII, without rich
    from rich.cells import cell_len

    return cell_len(text)


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _duration(seconds: float) -> str:
    if seconds < 0.1:
        return f"{seconds:.2f}s"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}m{rest:02d}s"


def _group_by_file(findings: Sequence[Finding]) -> dict[tuple[str, str | None], list[Finding]]:
    # Findings arrive sorted; keep that order and group consecutive-or-not by (path, commit).
    groups: dict[tuple[str, str | None], list[Finding]] = {}
    for finding in findings:
        groups.setdefault((finding.path, finding.commit), []).append(finding)
    return groups


def _finding_cells(finding: Finding, encoding: str) -> list[str]:
    return [
        f"{finding.line}:{finding.column}",
        finding.severity.value,
        visible(finding.entity, encoding),
        visible(finding.rule_id, encoding),
        f"{finding.confidence:.2f}",
    ]


def _heading(path: str, commit: str | None, encoding: str) -> _Line:
    shown = "<stdin>" if path == "-" else visible(path, encoding)
    heading = _Line(shown, style="bold magenta")
    if commit:
        heading.append(f" @ {visible(commit[:12], encoding)}", style="dim")
    return heading


# A blank line in the report.
BLANK = None


def column_widths(findings: Sequence[Finding], enc: str) -> list[int]:
    """The widths of the finding table's columns. Its cells are made again for the lines,
    so that a report of 100,000 findings is never held whole."""
    widths = [0] * 5
    for finding in findings:
        widths = [max(w, _cell_len(cell)) for w, cell in zip(widths, _finding_cells(finding, enc))]
    return widths


def _findings_lines(
    result: ScanResult, show_values: bool, enc: str, widths: list[int]
) -> Iterator[_Line | None]:
    for (path, commit), findings in _group_by_file(result.findings).items():
        yield _heading(path, commit, enc)
        for finding in findings:
            location, severity, entity, rule_id, confidence = _finding_cells(finding, enc)
            line = _Line("  ")
            line.append(location.ljust(widths[0]), style="green")
            line.append("  ")
            line.append(severity.ljust(widths[1]), style=SEVERITY_STYLE[finding.severity])
            line.append("  ")
            line.append(entity.ljust(widths[2]), style="bold")
            line.append("  ")
            line.append(rule_id.ljust(widths[3]), style="blue")
            line.append("  ")
            line.append(confidence.rjust(widths[4]))
            snippet = finding.raw_snippet if show_values else finding.snippet
            line.append("  ")
            line.append(visible(snippet.strip(), enc))
            if finding.test_data:
                line.append("  (test data)", style="dim italic")
            yield line
        yield BLANK


def _skip_line(skipped: Skipped, enc: str) -> _Line:
    line = _Line("  ")
    line.append(visible(skipped.path, enc), style="bold" if skipped.is_error else "")
    line.append(": ")
    line.append(skipped.reason.value, style="red" if skipped.is_error else "dim")
    if skipped.detail:
        line.append(f" ({visible(skipped.detail, enc)})", style="dim")
    return line


def _skipped_lines(skipped: Sequence[Skipped], enc: str) -> list[_Line | None]:
    errors = [s for s in skipped if s.is_error]
    policy = [s for s in skipped if not s.is_error]
    lines: list[_Line | None] = []
    if errors:
        lines.append(_Line(f"Could not scan {_plural(len(errors), 'file')}:", style="bold red"))
        lines.extend(_skip_line(item, enc) for item in errors)
    if policy and len(policy) <= MAX_LISTED_POLICY_SKIPS:
        lines.append(_Line(f"Skipped {_plural(len(policy), 'file')}:", style="dim"))
        lines.extend(_skip_line(item, enc) for item in policy)
    elif policy:
        counts = Counter(s.reason.value for s in policy)
        parts = ", ".join(f"{n} {reason}" for reason, n in counts.most_common())
        lines.append(_Line(f"Skipped {_plural(len(policy), 'file')}: {parts}", style="dim"))
    if skipped:
        lines.append(BLANK)
    return lines


def _unused_ignore_lines(unused: Sequence, enc: str) -> list[_Line | None]:
    if not unused:
        return []
    lines: list[_Line | None] = [_Line(f"Unused ignore comments ({len(unused)}):", style="bold")]
    for u in unused:
        names = "" if u.rules is None else " [" + ", ".join(sorted(u.rules)) + "]"
        lines.append(_Line(visible(f"  {u.path}:{u.line}: piiscan: ignore{names} suppresses nothing", enc)))
    lines.append(BLANK)
    return lines


def _summary_line(result: ScanResult, separator: str) -> _Line:
    stats = result.stats
    scanned = f"{_plural(stats.files_scanned, 'file')} scanned in {_duration(stats.seconds)}"
    skipped_count = max(stats.files_skipped, len(result.skipped))
    line = _Line()
    if result.findings:
        by_severity = Counter(f.severity for f in result.findings)
        files = len({(f.path, f.commit) for f in result.findings})
        line.append(_plural(len(result.findings), "finding"), style="bold")
        line.append(" (")
        for i, severity in enumerate(sorted(by_severity, key=lambda s: -s.rank)):
            if i:
                line.append(", ")
            line.append(f"{by_severity[severity]} {severity.value}", style=SEVERITY_STYLE[severity])
        line.append(f") in {_plural(files, 'file')}")
        parts = [f"{skipped_count} skipped"] if skipped_count else []
        parts.append(scanned)
    else:
        line.append(f"No findings in {_plural(stats.files_scanned, 'file')}", style="bold green")
        parts = [f"{skipped_count} skipped"] if skipped_count else []
        parts.append(f"scanned in {_duration(stats.seconds)}")
    for part in parts:
        line.append(separator + part)
    if result.incomplete:
        line.append(separator)
        line.append("scan incomplete", style="bold red")
    return line


def report_lines(
    result: ScanResult, show_values: bool, encoding: str, widths: list[int] | None = None
) -> Iterator[_Line | None]:
    """Every line of the report, in order (`BLANK` for an empty line), made as they are
    taken. `widths` are the `column_widths` of its findings, when known already."""
    if result.findings:
        if widths is None:
            widths = column_widths(result.findings, encoding)
        yield from _findings_lines(result, show_values, encoding, widths)
    yield from _skipped_lines(result.skipped, encoding)
    yield from _unused_ignore_lines(result.unused_ignores, encoding)
    separator = " · " if visible("·", encoding) == "·" else " - "
    yield _summary_line(result, separator)


# What rich would not print as it is: control codes it strips, tabs it expands, line breaks
# it splits at. `visible()` leaves none of them; a line holding one goes through rich anyway.
_NOT_PLAIN = re.compile("[\x07\x08\x09\x0a\x0b\x0c\x0d]")


def _is_plain(lines: Iterable[_Line | None]) -> bool:
    """Whether rich would print these lines piped without colour as they are: no line that
    rich could wrap at `PIPE_WIDTH` cells (a character is at most two cells wide), and none
    that holds a character rich treats specially."""
    for line in lines:
        text = "" if line is None else line.plain
        if len(text) * 2 > PIPE_WIDTH or _NOT_PLAIN.search(text):
            return False
    return True


def _write_plain(lines: Iterable[_Line | None], stream: TextIO) -> None:
    from piiscan.report import write_in_chunks

    write_in_chunks((("" if line is None else line.plain) + "\n" for line in lines), stream)


def write(
    result: ScanResult,
    stream: TextIO,
    *,
    rules: Sequence[Rule] = (),
    show_values: bool = False,
    color: bool | None = None,
    plain: bool = True,
) -> None:
    """Write the report. `plain=False` always prints through rich (the tests compare both)."""
    # `rules` is accepted for a uniform reporter signature; each finding carries what the
    # table shows.
    del rules
    encoding = _encoding(stream)
    widths = column_widths(result.findings, encoding)
    if plain and not _wants_color(stream, color) and not _isatty(stream):
        # Two passes over the lines (made anew each time): the whole report is plain, or
        # all of it goes through rich.
        if _is_plain(report_lines(result, show_values, encoding, widths)):
            _write_plain(report_lines(result, show_values, encoding, widths), stream)
            stream.flush()  # as rich does after each print
            return
    console = make_console(stream, color)
    for line in report_lines(result, show_values, encoding, widths):
        if line is None:
            console.print()
        else:
            console.print(line.to_text())
