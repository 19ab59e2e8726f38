"""What a redaction replaces each finding with, and how tokens are turned back.

Pure text in, text out: reading and writing files is `writer.py`'s job, choosing findings is
the engine's. Strategies (DESIGN.md, "Redaction strategies"):

| strategy | `jane.doe@acme-mail.net` becomes       | reversible |
|----------|----------------------------------------|------------|
| label    | `[EMAIL_ADDRESS]`                      | no         |
| mask     | `********@*********.***`               | no         |
| partial  | `j***@acme-mail.net`                   | no         |
| hash     | `EMAIL_ADDRESS_3fa9c1e2d4` (keyed)     | no         |
| encrypt  | a token that `restore` decrypts        | yes        |
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field

from piiscan.config import STRATEGIES
from piiscan.errors import UsageError
from piiscan.masking import mask_value
from piiscan.model import Finding
from piiscan.redact.keys import Keyring
from piiscan.redact.tokens import TokenError, decrypt_token, encrypt_value, find_tokens, hash_value

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
        return "".join("*" if ch.isalnum() else ch for ch in value)
    if strategy == "partial":
        return mask_value(entity, value)
    if options.keyring is None:  # the CLI loads a key whenever a keyed strategy is in play
        raise UsageError(f"the {strategy} strategy needs a key", "see `piiscan keygen --help`")
    if strategy == "hash":
        return hash_value(value, entity, options.keyring)
    return encrypt_value(
        value, entity, options.keyring, scope=options.scope, unlinkable=options.unlinkable
    )


def plan_replacements(
    text: str, findings: Sequence[Finding], options: RedactOptions, *, yaml: bool = False
) -> list[Replacement]:
    """One replacement per finding (the engine has already resolved overlaps)."""
    plan = []
    for f in findings:
        new = replacement_text(f.entity, text[f.start : f.end], options)
        if yaml and new[:1] in _YAML_INDICATORS and _starts_yaml_scalar(text, f.start):
            new = "'" + new.replace("'", "''") + "'"
        plan.append(Replacement(f.start, f.end, new, f.entity))
    return plan


def _starts_yaml_scalar(text: str, start: int) -> bool:
    """True where a plain scalar begins: after `key: `, `- ` or indentation alone."""
    line_start = text.rfind("\n", 0, start) + 1
    before = text[line_start:start].rstrip(" \t")
    return before == "" or before.endswith((":", "-"))


def apply_replacements(text: str, replacements: Sequence[Replacement]) -> str:
    parts, pos = [], 0
    for r in sorted(replacements, key=lambda r: r.start):
        parts.append(text[pos : r.start])
        parts.append(r.text)
        pos = r.end
    parts.append(text[pos:])
    return "".join(parts)


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
) -> tuple[str, int, list[RestoreProblem]]:
    """Decrypt every token (or only those of `entities`): (text, restored count, problems).

    Problems are collected, not raised, so the caller can name every bad line of a file and
    still write nothing for it.
    """
    replacements, problems = [], []
    for token in find_tokens(text):
        if entities and token.entity not in entities:
            continue
        try:
            entity, value = decrypt_token(token, keyring, scope=scope)
        except TokenError as exc:
            problems.append(RestoreProblem(text.count("\n", 0, token.start) + 1, exc.message))
            continue
        replacements.append(Replacement(token.start, token.end, value, entity))
    return apply_replacements(text, replacements), len(replacements), problems


def rekey_text(
    text: str, keyring: Keyring, reencrypt: Callable[[object], str]
) -> tuple[str, int, list[RestoreProblem]]:
    """Re-encrypt every token that is not under the primary key with `reencrypt(token)`."""
    replacements, problems = [], []
    for token in find_tokens(text):
        if token.key_id == keyring.primary:
            continue
        try:
            new = reencrypt(token)
        except TokenError as exc:
            problems.append(RestoreProblem(text.count("\n", 0, token.start) + 1, exc.message))
            continue
        replacements.append(Replacement(token.start, token.end, new, token.entity))
    return apply_replacements(text, replacements), len(replacements), problems


def masked_diff(path: str, old: str, new: str, findings: Sequence[Finding]) -> str:
    """A unified diff of a redaction in which the old side shows values masked."""
    masked_old = apply_replacements(
        old, [Replacement(f.start, f.end, mask_value(f.entity, f.value), f.entity) for f in findings]
    )
    return "".join(
        difflib.unified_diff(
            masked_old.splitlines(keepends=True),
            new.splitlines(keepends=True),
            fromfile=f"a/{path}",
            tofile=f"b/{path}",
        )
    )
