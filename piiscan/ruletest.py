"""Running the `tests: match / no_match` examples that every rule carries.

Each rule is tested alone (an engine of that one rule), so another rule winning an overlap
cannot hide a miss. `piiscan rules test` and the test suite both call `run_rule_tests`; a
scan refuses a user's pack whose own examples fail (`refuse_failing_rules`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import regex

from piiscan.diskcache import default_cache_dir, key_for, read_checked, write_checked
from piiscan.engine import Engine
from piiscan.errors import RulePackError
from piiscan.model import Document, Rule
from piiscan.rulepack import PATTERN_FLAGS


@dataclass(frozen=True, slots=True)
class RuleTestFailure:
    rule_id: str
    example: str
    expected_match: bool
    message: str
    where: str  # which example: "match[0]", "no_match[2]"


def run_rule_tests(rules: Sequence[Rule], *, backend: str = "auto") -> list[RuleTestFailure]:
    failures = []
    for rule in rules:
        engine = Engine([rule], backend=backend, cache_dir=None)
        for expected, examples in ((True, rule.tests.match), (False, rule.tests.no_match)):
            for i, example in enumerate(examples):
                found = engine.scan(Document(path=f"<{rule.id} example>", text=example))
                if bool(found) != expected:
                    kind = "match" if expected else "no_match"
                    verb = "found nothing in" if expected else "found something in"
                    failures.append(
                        RuleTestFailure(
                            rule.id, example, expected, f"{kind}[{i}]: {verb} {example!r}",
                            f"{kind}[{i}]",
                        )
                    )
        failures.extend(_prefilter_misses(rule))
    return failures


def _prefilter_misses(rule: Rule) -> Iterator[RuleTestFailure]:
    """A pattern's prefilter must match inside every match of the pattern (end within its
    span), or hyperscan would never name the line: checked on every match example, also
    where hyperscan is not installed."""
    for p in rule.patterns:
        if not p.prefilter:
            continue
        pattern = regex.compile(p.regex, PATTERN_FLAGS)
        prefilter = regex.compile(p.prefilter, PATTERN_FLAGS)
        for i, example in enumerate(rule.tests.match):
            ends = {m.end() for m in prefilter.finditer(example, overlapped=True)}
            for m in pattern.finditer(example):
                if not any(m.start() < end <= m.end() for end in ends):
                    yield RuleTestFailure(
                        rule.id, example, True,
                        f"match[{i}]: the prefilter of pattern {p.name or p.regex!r} does not "
                        f"match inside {m.group()!r}",
                        f"match[{i}]",
                    )


def refuse_failing_rules(rules: Sequence[Rule]) -> None:
    """A rule whose own examples fail is a load error: a pack that misses what its author
    says it finds would scan quietly and report "clean". Run on the user's packs at every
    load (the built-in ones are run by the test suite), on the pure-regex backend, which
    compiles nothing and gives the same findings. The error names the example, not its text:
    a pack's examples are the author's, but the message lands in CI logs.

    A pack whose rules passed is remembered in the cache folder (a hook's every run would
    pay ~5 ms per rule again), keyed by its rules and by `code_stamp`, one mark per pack
    file, so that editing one pack re-tests that pack alone. A failure is never
    remembered: it is found and told again each time."""
    by_pack: dict[str, list[Rule]] = {}
    for rule in rules:
        by_pack.setdefault(rule.source, []).append(rule)
    untested = []  # (mark, rules) of each pack with no mark of having passed
    for pack_rules in by_pack.values():
        passed = _passed_marker(pack_rules)
        if passed is None or read_checked(passed, _PASSED_MAGIC) is None:
            untested.append((passed, pack_rules))
    if not untested:
        return
    failures = run_rule_tests([rule for _, pack_rules in untested for rule in pack_rules], backend="regex")
    failed = {failure.rule_id for failure in failures}
    for passed, pack_rules in untested:
        if passed is not None and not any(rule.id in failed for rule in pack_rules):
            write_checked(passed, _PASSED_MAGIC, b"passed")
    if not failures:
        return
    first = failures[0]
    rule = next(r for r in rules if r.id == first.rule_id)
    verdict = "finds nothing" if first.expected_match else "finds something"
    more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
    raise RulePackError(
        f"{rule.source}: rule {rule.id!r}: tests.{first.where} {verdict}{more}",
        f"`piiscan rules test {rule.source}` shows each failing example",
    )


_PASSED_MAGIC = b"piiscan-rule-tests-passed/1\n"


def _passed_marker(rules: Sequence[Rule]) -> Path | None:
    """The cache file that says these rules (one pack's) passed their examples with this
    code."""
    cache_dir = default_cache_dir()
    if cache_dir is None or not rules:
        return None
    # A rule is a frozen dataclass of strings, numbers, enums and tuples: its repr is stable.
    return cache_dir / f"ruletests-{key_for(_PASSED_MAGIC, *map(repr, rules))}.ok"
