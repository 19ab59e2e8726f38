"""Findings the user has already judged: inline ignore comments, allowlists and the baseline.

Inline comments. ``piiscan: ignore`` anywhere on a line suppresses every finding that touches
that line; ``piiscan: ignore[us.ssn, EMAIL_ADDRESS]`` only findings of those rule ids or
entity names (compared case-insensitively). The marker is found by text, not by parsing, so
it works in any comment syntax (``#``, ``//``, ``/* */``, ``<!-- -->``, ``--``, ``;``, ``%``,
``REM``) and even inside a string of a format that has no comments (JSON). A malformed list
(``ignore[``, ``ignore[]``, ``ignore[not an id]``) is not an ignore, so a typo never hides
more than the author meant. A comment that suppresses nothing is reported as unused, like
ruff's unused ``noqa`` (RUF100).

Allowlists come from config (see `parse_allowlist`): exact values, regexes searched in the
value, gitignore-style path globs and rule ids or entities that are never reported, either
for every entity or scoped to one.

`filter_findings` applies comments first, then the allowlist, then the baseline
(`piiscan.baseline`), and counts what each one removed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

import regex

from piiscan.config import type_name
from piiscan.errors import ConfigError
from piiscan.model import Finding
from piiscan.sources import GlobMatcher, glob_verdict, spec_from

if TYPE_CHECKING:
    from piiscan.baseline import Baseline

__all__ = [
    "IgnoreComment",
    "find_ignore_comments",
    "Allowlist",
    "parse_allowlist",
    "UnusedIgnore",
    "Suppressed",
    "filter_findings",
]

# --------------------------------------------------------------------------- ignore comments

# `regex` rather than `re`: it finds the literal prefix of this case-insensitive pattern about
# thirty times faster, which matters on a 50 MB file that holds no marker at all.
# The lookbehind keeps `mypiiscan: ignore` from counting; the lookahead after a bare `ignore`
# keeps `ignored`, `ignore-next-line` and an unclosed `ignore[` from counting as a blanket ignore.
_MARKER = regex.compile(
    r"(?<![\w.-])piiscan[ \t]*:[ \t]*ignore(?:\[(?P<names>[^\]\n]*)\]|(?![\w\[-]))",
    regex.IGNORECASE,
)
# A rule id (`us.ssn`, `acme.employee-id`) or an entity name (`US_SSN`).
_NAME = regex.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*")


class IgnoreComment(NamedTuple):
    """A `piiscan: ignore` comment and the rules it names."""

    line: int  # 1-based line it sits on
    rules: frozenset[str] | None  # None = every rule; else rule ids or entity names as written

    def covers(self, finding: Finding) -> bool:
        return self.rules is None or bool(_names_of(finding) & {r.casefold() for r in self.rules})


def find_ignore_comments(text: str, first_line: int = 1) -> dict[int, IgnoreComment]:
    """Ignore comments by the line they sit on (text[0] is on `first_line`). Several markers
    on one line are merged."""
    found: dict[int, IgnoreComment] = {}
    line, counted_to = first_line, 0
    for m in _MARKER.finditer(text):
        rules = _parse_names(m.group("names"))
        if rules is _MALFORMED:
            continue
        line += text.count("\n", counted_to, m.start())  # lines as the engine counts them
        counted_to = m.start()
        earlier = found.get(line)
        if earlier is not None:
            rules = None if rules is None or earlier.rules is None else earlier.rules | rules
        found[line] = IgnoreComment(line=line, rules=rules)
    return found


_MALFORMED = frozenset({"\0malformed"})


def _parse_names(names: str | None) -> frozenset[str] | None:
    if names is None:
        return None
    parts = [part.strip() for part in names.split(",")]
    kept = frozenset(part for part in parts if part)
    if not kept or not all(_NAME.fullmatch(part) for part in kept):
        return _MALFORMED
    return kept


def _names_of(finding: Finding) -> set[str]:
    return {finding.rule_id.casefold(), finding.entity.casefold()}


# --------------------------------------------------------------------------- allowlists


@dataclass(frozen=True, slots=True)
class Allowlist:
    """What is never reported. An empty allowlist allows nothing."""

    values: frozenset[str] = frozenset()  # exact values, compared after stripping whitespace
    patterns: tuple[regex.Pattern, ...] = ()  # searched in the (unstripped) value
    paths: tuple[str, ...] = ()  # gitignore-style globs of the finding's file (glob_verdict)
    rules: frozenset[str] = frozenset()  # rule ids or entity names, case-insensitive
    entities: Mapping[str, Allowlist] = field(default_factory=dict)  # entity or rule id -> scoped
    # Derived once, for cheap checks per finding.
    _values: frozenset[str] = field(init=False, repr=False, compare=False, default=frozenset())
    _rules: frozenset[str] = field(init=False, repr=False, compare=False, default=frozenset())
    _paths: GlobMatcher | None = field(init=False, repr=False, compare=False, default=None)
    _scoped: dict = field(init=False, repr=False, compare=False, default=None)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_values", frozenset(v.strip() for v in self.values))
        object.__setattr__(self, "_rules", frozenset(r.casefold() for r in self.rules))
        paths = GlobMatcher.of(spec_from(list(self.paths))) if self.paths else None
        object.__setattr__(self, "_paths", paths)
        object.__setattr__(self, "_scoped", {k.casefold(): v for k, v in self.entities.items()})

    def __reduce__(self):
        # Rebuilt from the fields (the derived ones are worked out again), so that worker
        # processes receive an allowlist whatever pathspec keeps inside its matcher.
        return (Allowlist, (self.values, self.patterns, self.paths, self.rules, dict(self.entities)))

    def __repr__(self) -> str:
        # Counts only: an allowlisted value may itself be personal data.
        return (
            f"Allowlist(values={len(self.values)}, patterns={len(self.patterns)}, "
            f"paths={len(self.paths)}, rules={sorted(self.rules)}, entities={sorted(self.entities)})"
        )

    def allows(self, finding: Finding, scope_path: str | None = None) -> bool:
        """Whether the finding is allowed; `scope_path` is its file's path relative to the
        scanned folder (see `glob_verdict`), for `paths`."""
        if self._rules and not self._rules.isdisjoint(_names_of(finding)):
            return True
        if self._matches(finding, scope_path):
            return True
        scoped = self._scoped.get(finding.entity.casefold()) or self._scoped.get(
            finding.rule_id.casefold()
        )
        return scoped is not None and scoped.allows(finding, scope_path)

    def _matches(self, finding: Finding, scope_path: str | None) -> bool:
        if self._values and finding.value.strip() in self._values:
            return True
        if any(p.search(finding.value) for p in self.patterns):
            return True
        return self._paths is not None and bool(glob_verdict(self._paths, finding.path, scope_path))


_TOP_KEYS = ("values", "patterns", "paths", "rules", "entities")
_ENTITY_KEYS = ("values", "patterns", "paths")


def parse_allowlist(data: object, source: str, *, key: str = "allowlist") -> Allowlist:
    """An `Allowlist` from plain config data (already loaded from TOML or YAML).

    ``{"values": [...], "patterns": [...], "paths": [...], "rules": [...],
    "entities": {"EMAIL_ADDRESS": {"values": [...], "patterns": [...], "paths": [...]}}}``;
    every key is optional. `source` names the file and `key` where the table sits in it
    (``tool.piiscan.allowlist`` in pyproject.toml): errors read
    ``pyproject.toml: tool.piiscan.allowlist.patterns[2]: bad regex: ...``. Messages never
    repeat a configured value or pattern: an allowlisted value may itself be personal data.
    """
    table = _table(data, source, key, _TOP_KEYS)
    entities: dict[str, Allowlist] = {}
    if "entities" in table:
        by_entity = table["entities"]
        if not isinstance(by_entity, Mapping):
            raise _error(source, f"{key}.entities", f"expected a table, got {type_name(by_entity)}")
        for name, sub in by_entity.items():
            where = f"{key}.entities.{name}"
            if not isinstance(name, str) or not _NAME.fullmatch(name):
                raise _error(source, f"{key}.entities", "keys must be entity names or rule ids")
            entities[name] = _flat_allowlist(_table(sub, source, where, _ENTITY_KEYS), source, where)
    flat = _flat_allowlist(table, source, key)
    rules = _strings(table.get("rules", []), source, f"{key}.rules")
    for i, rule in enumerate(rules):
        if not _NAME.fullmatch(rule):
            raise _error(source, f"{key}.rules[{i}]", "not a rule id or entity name")
    return Allowlist(
        values=flat.values,
        patterns=flat.patterns,
        paths=flat.paths,
        rules=frozenset(rules),
        entities=entities,
    )


def _table(data: object, source: str, key: str, allowed: Sequence[str]) -> Mapping:
    if not isinstance(data, Mapping):
        raise _error(source, key, f"expected a table, got {type_name(data)}")
    for name in data:
        if name not in allowed:
            import difflib  # only for error messages: not at start-up
            close = difflib.get_close_matches(str(name), allowed, n=1)
            hint = f"did you mean {close[0]!r}?" if close else "allowed: " + ", ".join(allowed)
            raise _error(source, f"{key}.{name}", "unknown key", hint)
    return data


def _flat_allowlist(table: Mapping, source: str, key: str) -> Allowlist:
    values = _strings(table.get("values", []), source, f"{key}.values")
    for i, value in enumerate(values):
        if not value.strip():
            raise _error(source, f"{key}.values[{i}]", "empty value")
    patterns = []
    for i, text in enumerate(_strings(table.get("patterns", []), source, f"{key}.patterns")):
        try:
            pattern = regex.compile(text)
        except regex.error as exc:  # the message gives a position, never the pattern
            raise _error(source, f"{key}.patterns[{i}]", f"bad regex: {exc}") from None
        if pattern.search(""):
            raise _error(
                source, f"{key}.patterns[{i}]", "matches the empty string",
                "it would allow every value; to drop a whole rule, list it under `rules`",
            )
        patterns.append(pattern)
    paths = _strings(table.get("paths", []), source, f"{key}.paths")
    for i, glob in enumerate(paths):
        try:
            spec_from([glob])
        except (ValueError, TypeError) as exc:
            raise _error(source, f"{key}.paths[{i}]", f"bad glob: {exc}") from None
    return Allowlist(values=frozenset(values), patterns=tuple(patterns), paths=tuple(paths))


def _strings(data: object, source: str, key: str) -> list[str]:
    if isinstance(data, (str, bytes)) or not isinstance(data, (list, tuple)):
        raise _error(
            source, key, f"expected a list of strings, got {type_name(data)}",
            'write a list, e.g. ["..."]' if isinstance(data, str) else "",
        )
    for i, item in enumerate(data):
        if not isinstance(item, str):
            raise _error(source, f"{key}[{i}]", f"expected a string, got {type_name(item)}", "quote it")
    return list(data)


def _error(source: str, key: str, message: str, hint: str = "") -> ConfigError:
    return ConfigError(f"{source}: {key}: {message}", hint)


# --------------------------------------------------------------------------- filtering


@dataclass(frozen=True, slots=True)
class UnusedIgnore:
    """An ignore comment, or the names in one, that suppressed nothing in this scan."""

    path: str
    line: int
    rules: frozenset[str] | None  # the listed names that matched nothing; None: a blanket ignore


@dataclass(frozen=True, slots=True)
class Suppressed:
    """How many findings each filter removed (each finding is counted once, by the first)."""

    by_comment: int = 0
    by_allowlist: int = 0
    by_baseline: int = 0

    @property
    def total(self) -> int:
        return self.by_comment + self.by_allowlist + self.by_baseline

    def __add__(self, other: Suppressed) -> Suppressed:
        return Suppressed(
            self.by_comment + other.by_comment,
            self.by_allowlist + other.by_allowlist,
            self.by_baseline + other.by_baseline,
        )


def filter_findings(
    text: str,
    findings: Sequence[Finding],
    *,
    allowlist: Allowlist | None = None,
    ignore_comments: bool = True,
    baseline: Baseline | None = None,
    path: str | None = None,
    first_line: int = 1,
    scope_path: str | None = None,
    report_unused: bool = True,
) -> tuple[list[Finding], Suppressed, list[UnusedIgnore]]:
    """The findings of one document that survive its comments, the allowlist and the baseline.

    `text` is the document's decoded text (the findings' offsets index into it). A finding is
    suppressed by a comment on any line its span covers. Order is kept. The unused ignores are
    those of this text that suppressed nothing (none when `ignore_comments` or `report_unused`
    is false; without `report_unused`, a text with no findings is not searched for comments);
    `path` names the document in them (default: the findings' path); `scope_path` is the path
    relative to the scanned folder, which the allowlist's `paths` see first.
    """
    if not findings and not report_unused:
        return [], Suppressed(), []
    comments = find_ignore_comments(text, first_line) if ignore_comments else {}
    used_names: dict[int, set[str]] = {}  # line -> casefolded names that suppressed something
    kept: list[Finding] = []
    by_comment = by_allowlist = by_baseline = 0
    for finding in findings:
        if comments and _suppress_by_comment(comments, finding, used_names):
            by_comment += 1
        elif allowlist is not None and allowlist.allows(finding, scope_path):
            by_allowlist += 1
        elif baseline is not None and finding.fingerprint in baseline:
            by_baseline += 1
        else:
            kept.append(finding)

    if not report_unused:
        return kept, Suppressed(by_comment, by_allowlist, by_baseline), []
    where = path if path is not None else (findings[0].path if findings else "")
    unused = []
    for line, comment in sorted(comments.items()):
        if line not in used_names:
            unused.append(UnusedIgnore(where, line, comment.rules))
        elif comment.rules is not None:
            idle = frozenset(r for r in comment.rules if r.casefold() not in used_names[line])
            if idle:
                unused.append(UnusedIgnore(where, line, idle))
    return kept, Suppressed(by_comment, by_allowlist, by_baseline), unused


def _suppress_by_comment(
    comments: dict[int, IgnoreComment], finding: Finding, used_names: dict[int, set[str]]
) -> bool:
    # Every comment that covers the finding counts as used: removing one alone changes nothing,
    # but reporting both as unused would invite removing both.
    names = _names_of(finding)
    suppressed = False
    for line in range(finding.line, max(finding.line, finding.end_line) + 1):
        comment = comments.get(line)
        if comment is None or not comment.covers(finding):
            continue
        suppressed = True
        used = used_names.setdefault(line, set())
        if comment.rules is not None:
            used.update(names & {r.casefold() for r in comment.rules})
    return suppressed
