"""Running the `tests: match / no_match` examples that every rule carries.

Each rule is tested alone (an engine of that one rule), so another rule winning an overlap
cannot hide a miss. `piiscan rules test` and the test suite both call `run_rule_tests`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from piiscan.engine import Engine
from piiscan.model import Document, Rule


@dataclass(frozen=True, slots=True)
class RuleTestFailure:
    rule_id: str
    example: str
    expected_match: bool
    message: str


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
                            rule.id, example, expected, f"{kind}[{i}]: {verb} {example!r}"
                        )
                    )
    return failures
