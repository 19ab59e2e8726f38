"""A rule compiled for confirming and scoring: its patterns, context words, exclusions and
test values as `regex` patterns, and its validator looked up.

Compiling with `regex` is slow and most rules never fire in a given file, so the engine
compiles a rule when a finder first names it, from a `PatternCache` that the cache folder
keeps between runs (`pattern_cache`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import NamedTuple

import regex

from piiscan.diskcache import writable
from piiscan.errors import RulePackError
from piiscan.model import Rule, Verdict
from piiscan.patterncache import PatternCache, cache_file_for, load_patterns
from piiscan.rulepack import PATTERN_FLAGS


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
            compile(context_alternation(rule.context), 0), compile(_bounded_alternation(rule.context), 0)
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


def context_alternation(words: Iterable[str]) -> str:
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
        parts.append(r"(?:(?<![A-Za-z0-9])|(?<=[a-z0-9])(?=[A-Z]))" + context_alternation(latin) + r"(?![a-z0-9])")
    if other:
        parts.append(r"(?<![A-Za-z0-9])" + context_alternation(other))
    return "|".join(parts)


def _compiled_sources(rule: Rule) -> list[tuple[str, int]]:
    """Every (source, flags) `compile_rule` compiles for a rule: the pattern cache is named
    by them, so a change to how a pattern is built (not only to the rule) gets a new file."""
    sources = [(p.regex, PATTERN_FLAGS) for p in rule.patterns]
    if rule.context:
        sources += [(context_alternation(rule.context), 0), (_bounded_alternation(rule.context), 0)]
    sources += [(x, PATTERN_FLAGS) for x in (*rule.exclude, *rule.test_values)]
    return [(source, int(flags)) for source, flags in sources]


def requires_context(rule: Rule) -> bool:
    return rule.context_required and bool(rule.context)


def pattern_cache(
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
