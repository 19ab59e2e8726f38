"""What a redaction replaces each finding with, and how tokens are turned back.

Text in, text out: reading and writing files is `writer.py`'s job, choosing findings is the
engine's (only `known_entities`, for a did-you-mean, reads the built-in packs). Strategies
(DESIGN.md, "Redaction strategies"):

| strategy | `jane.doe@acme-mail.net` becomes       | reversible |
|----------|----------------------------------------|------------|
| label    | `[EMAIL_ADDRESS]`                      | no         |
| mask     | `********@*********.***`               | no         |
| partial  | `j***@acme-mail.net`                   | no         |
| hash     | `EMAIL_ADDRESS_3fa9c1e2d4` (keyed)     | no         |
| encrypt  | a token that `restore` decrypts        | yes        |
"""

from __future__ import annotations

import bisect
import difflib
import itertools
import re
from collections import Counter
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from piiscan.config import STRATEGIES
from piiscan.errors import RedactionError, UsageError
from piiscan.masking import MASK, mask_alnum, mask_spans, mask_value
from piiscan.model import Finding, Rule
from piiscan.redact.keys import Keyring
from piiscan.redact.tokens import (
    TokenError, decrypt_token, encrypt_value, find_damaged_tokens, find_tokens, hash_value,
)

if TYPE_CHECKING:
    from piiscan.snippets import Span

KEYED_STRATEGIES = frozenset({"hash", "encrypt"})
# Characters that cannot start a plain YAML scalar: a replacement starting with one of them
# where a value starts (`key: ***-**-1234`) would turn into an alias, a list or a comment.
_YAML_INDICATORS = frozenset("*&!|>'\"%@`[]{},?:-#")


@dataclass(frozen=True, slots=True)
class RedactOptions:
    strategy: str = "label"
    strategies: Mapping[str, str] = field(default_factory=dict)  # per entity
    keyring: Keyring | None = None
    scope: str = ""
    unlinkable: bool = False

    def strategy_for(self, entity: str) -> str:
        return self.strategies.get(entity, self.strategy)

    def needs_key(self, entities: Collection[str]) -> bool:
        return any(self.strategy_for(e) in KEYED_STRATEGIES for e in entities)


def check_strategy_entities(strategies: Mapping[str, str], rules: Sequence[Rule]) -> None:
    """Refuse a per-entity strategy for an entity no rule reports (the loaded rules, any
    built-in pack's, NER's): a misspelt name would leave that entity to the default strategy
    without a word."""
    loaded = {r.entity for r in rules}
    unknown = [entity for entity in strategies if entity not in loaded]
    if not unknown:
        return
    known = known_entities(rules)
    for entity in unknown:
        if entity not in known:
            raise UsageError(
                f"a strategy is set for {entity!r}, which no rule reports",
                entity_hint(entity, known),
            )


def known_entities(rules: Sequence[Rule]) -> set[str]:
    """Entities some rule reports: the loaded rules', any built-in pack's, NER's."""
    from piiscan.ner import ALL_ENTITIES
    from piiscan.rulepack import builtin_packs

    known = {r.entity for r in rules} | set(ALL_ENTITIES)
    return known | {r.entity for pack in builtin_packs().values() for r in pack.rules}


def entity_hint(entity: str, known: Collection[str]) -> str:
    """A did-you-mean for a misspelt entity: a known name it begins (EMAIL), else the closest."""
    close = sorted(k for k in known if k.startswith(entity.upper())) or (
        difflib.get_close_matches(entity, sorted(known), n=1)
    )
    return f"did you mean {close[0]!r}?" if close else "`piiscan rules list` shows entities"


@dataclass(frozen=True, slots=True)
class Replacement:
    start: int
    end: int
    text: str
    entity: str


def replacement_text(entity: str, value: str, options: RedactOptions) -> str:
    strategy = options.strategy_for(entity)
    if strategy not in STRATEGIES:
        raise UsageError(f"unknown strategy {strategy!r}", "use one of: " + ", ".join(STRATEGIES))
    if strategy == "label":
        return f"[{entity}]"
    if strategy == "mask":
        return _masked_whole(entity, value)
    if strategy == "partial":
        return mask_value(entity, value)
    if options.keyring is None:  # the CLI loads a key whenever a keyed strategy is in play
        raise UsageError(f"the {strategy} strategy needs a key", "see `piiscan keygen --help`")
    if strategy == "hash":
        return hash_value(value, entity, options.keyring)
    return encrypt_value(
        value, entity, options.keyring, scope=options.scope, unlinkable=options.unlinkable
    )


def _masked_whole(entity: str, value: str) -> str:
    """Every character masked but the separators, which keep the shape: an e-mail address
    keeps its @ and the dots of its domain (DESIGN's `********@*********.***` for
    jane.doe@acme-mail.net), other values every character that is not a letter or digit."""
    if entity == "EMAIL_ADDRESS" and "@" in value:
        local, _, domain = value.rpartition("@")
        return MASK * len(local) + "@" + ".".join(MASK * len(label) for label in domain.split("."))
    return mask_alnum(value, keep_last=0)


def plan_replacements(
    text: str, findings: Sequence[Finding], options: RedactOptions, *, syntax: str | None = None
) -> list[Replacement]:
    """One replacement per finding (the engine has already resolved overlaps).

    `syntax` ("yaml", "json" or None) keeps a structured file parsing: in YAML a replacement
    that would start a plain scalar with an indicator (`[`, `*` ...) is single-quoted, with the
    rest of that scalar when more follows; in JSON a bare (number) value becomes a string.
    """
    ordered = sorted(findings, key=lambda f: f.start)
    plan: list[Replacement] = []
    i = 0
    while i < len(ordered):
        f = ordered[i]
        new = replacement_text(f.entity, text[f.start : f.end], options)
        if syntax == "yaml" and new[:1] in _YAML_INDICATORS and _starts_yaml_scalar(text, f.start):
            end = max(_yaml_scalar_end(text, f.start), f.end)
            group = [g for g in ordered[i:] if g.start < end]
            inner = apply_replacements(
                text[f.start : end],
                [
                    Replacement(g.start - f.start, g.end - f.start,
                                replacement_text(g.entity, text[g.start : g.end], options), g.entity)
                    for g in group
                ],
            )
            plan.append(Replacement(f.start, end, "'" + inner.replace("'", "''") + "'", f.entity))
            i += len(group)
            continue
        if syntax == "json" and _bare_json_value(text, f.start):
            new = f'"{new}"'
        plan.append(Replacement(f.start, f.end, new, f.entity))
        i += 1
    return plan


_YAML_SCALAR_START = re.compile(r"(?:^\s*|(?:^|\s)-\s+|:\s+|[\[{,]\s*)$")


def _starts_yaml_scalar(text: str, start: int) -> bool:
    """True where a plain scalar begins: after `key: `, `- `, `[`, `{`, `,` or indentation."""
    line_start = text.rfind("\n", 0, start) + 1
    return _YAML_SCALAR_START.search(text[line_start:start]) is not None


def _yaml_scalar_end(text: str, start: int) -> int:
    """Where the plain scalar starting at `start` ends: a comment, the line end, or (inside
    a flow collection) the next `,`, `]` or `}`."""
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", start)
    line_end = len(text) if line_end < 0 else line_end
    before = text[line_start:start]
    in_flow = before.count("[") + before.count("{") > before.count("]") + before.count("}")
    rest = text[start:line_end]
    cut = len(rest.rstrip("\r"))
    comment = rest.find(" #")
    if comment >= 0:
        cut = min(cut, comment)
    if in_flow:
        for stop in ",]}":
            at = rest.find(stop)
            if at >= 0:
                cut = min(cut, at)
    return start + len(rest[:cut].rstrip(" \t"))


def _bare_json_value(text: str, start: int) -> bool:
    """True for a JSON value outside any string (a number): quotes keep the file valid.

    Outside a string means an even number of unescaped quotes before it on its line (JSON
    strings cannot span lines).
    """
    line_start = text.rfind("\n", 0, start) + 1
    before = text[line_start:start]
    quotes = len(re.findall(r'(?<!\\)(?:\\\\)*"', before))
    return quotes % 2 == 0 and before.rstrip()[-1:] in (":", "[", ",", "")


def apply_replacements(text: str, replacements: Sequence[Replacement]) -> str:
    parts, pos = [], 0
    for r in sorted(replacements, key=lambda r: r.start):
        parts.append(text[pos : r.start])
        parts.append(r.text)
        pos = r.end
    parts.append(text[pos:])
    return "".join(parts)


MAX_REDACTION_ROUNDS = 3


@dataclass(frozen=True, slots=True)
class Redacted:
    text: str
    replaced: Counter  # entity -> spans replaced


def redact_text(
    text: str,
    find: Callable[[str], Sequence[Finding]],
    options: RedactOptions,
    *,
    syntax: str | None = None,
    findings: Sequence[Finding] | None = None,
) -> Redacted:
    """Replace every finding of `find(text)` (or `findings`, when the caller has them
    already), then rescan and redact again what that finds.

    A replacement can join what is left around it into a new match (two addresses written
    back to back, a value glued to a word), so one pass is not enough. Raises RedactionError
    if findings remain after MAX_REDACTION_ROUNDS.
    """
    findings = list(find(text) if findings is None else findings)
    replaced: Counter = Counter()
    for _ in range(MAX_REDACTION_ROUNDS):
        if not findings:
            return Redacted(text, replaced)
        text = apply_replacements(text, plan_replacements(text, findings, options, syntax=syntax))
        replaced.update(f.entity for f in findings)
        findings = list(find(text))
    if not findings:
        return Redacted(text, replaced)
    lines = ", ".join(str(f.line) for f in findings[:5])
    raise RedactionError(
        f"{len(findings)} finding(s) survived redaction (line {lines}); nothing written",
        "this is a bug in a rule or strategy: please report it with the rule id",
    )


@dataclass(frozen=True, slots=True)
class RestoreProblem:
    line: int
    message: str


def restore_text(
    text: str,
    keyring: Keyring,
    *,
    entities: Collection[str] = (),
    scope: str = "",
) -> tuple[str, Counter, list[RestoreProblem]]:
    """Decrypt every token (or only those of `entities`): (text, tokens restored per entity,
    problems).

    Problems are collected, not raised, so the caller can name every bad line of a file and
    still write nothing for it.
    """
    replacements, problems = [], []
    tokens = find_tokens(text)
    for token in tokens:
        if entities and token.entity not in entities:
            continue
        try:
            entity, value = decrypt_token(token, keyring, scope=scope)
        except TokenError as exc:
            problems.append(RestoreProblem(text.count("\n", 0, token.start) + 1, exc.message))
            continue
        replacements.append(Replacement(token.start, token.end, value, entity))
    problems += _damaged(text, tokens, entities)
    restored = Counter(r.entity for r in replacements)
    return apply_replacements(text, replacements), restored, problems


def _damaged(text: str, tokens: list, entities: Collection[str] = ()) -> list[RestoreProblem]:
    return [
        RestoreProblem(text.count("\n", 0, start) + 1, "malformed token: cut short or edited")
        for start, entity in find_damaged_tokens(text, tokens)
        if not entities or entity in entities
    ]


def rekey_text(
    text: str, keyring: Keyring, reencrypt: Callable[[object], str]
) -> tuple[str, int, list[RestoreProblem]]:
    """Re-encrypt every token that is not under the primary key with `reencrypt(token)`."""
    replacements, problems = [], []
    tokens = find_tokens(text)
    for token in tokens:
        if token.key_id == keyring.primary:
            continue
        try:
            new = reencrypt(token)
        except TokenError as exc:
            problems.append(RestoreProblem(text.count("\n", 0, token.start) + 1, exc.message))
            continue
        replacements.append(Replacement(token.start, token.end, new, token.entity))
    problems += _damaged(text, tokens)
    return apply_replacements(text, replacements), len(replacements), problems


def masked_diff(path: str, old: str, new: str, spans: Sequence[Span]) -> str:
    """A unified diff of a redaction, its lines shown with every value in `spans` (of the old
    text: all a rule matched, redacted or not) masked.

    Lines are compared as they are, so a change shows even where old and new look alike
    masked (a `partial` redaction). A replacement rarely adds or removes a line break (only
    a label for a name the model found across one), so line k of the new text is line k of
    the old one redacted: an unchanged line is shown as the old one masked, a changed one
    with the values of the old line that survive in it (one an ignore comment kept) masked.
    Where the line counts differ, a changed line is looked at for every value."""
    old_raw, new_raw = old.splitlines(keepends=True), new.splitlines(keepends=True)
    old_shown = mask_spans(old, spans).splitlines(keepends=True)  # masks keep line breaks
    paired = len(new_raw) == len(old_raw)
    line_starts = [0, *itertools.accumulate(len(line) for line in old_raw)]
    longest_first = sorted(spans, key=lambda s: -len(s.value))  # a value inside another waits
    on_line: dict[int, list[Span]] = {}
    for span in longest_first:
        on_line.setdefault(bisect.bisect_right(line_starts, span.start) - 1, []).append(span)
    new_lines = []
    for k, raw in enumerate(new_raw):
        if paired and raw == old_raw[k]:
            new_lines.append(_Line(old_shown[k], raw))
            continue
        shown = raw
        for span in on_line.get(k, ()) if paired else longest_first:
            if span.value and span.value in shown:
                shown = shown.replace(span.value, mask_value(span.entity, span.value))
        new_lines.append(_Line(shown, raw))
    old_lines = [_Line(shown, raw) for shown, raw in zip(old_shown, old_raw)]
    return "".join(
        difflib.unified_diff(old_lines, new_lines, fromfile=f"a/{path}", tofile=f"b/{path}")
    )


class _Line(str):
    """A line as shown (masked), compared by what it is (raw): the diff is worked out on the
    text itself and printed masked."""

    raw: str

    def __new__(cls, shown: str, raw: str) -> _Line:
        line = super().__new__(cls, shown)
        line.raw = raw
        return line

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Line) and self.raw == other.raw

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __hash__(self) -> int:
        return hash(self.raw)
