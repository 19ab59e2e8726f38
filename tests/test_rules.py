"""Every built-in rule proves itself with its own examples, on both backends."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backends import BACKENDS
from piiscan.engine import Engine
from piiscan.hsdatabase import hyperscan_available
from piiscan.model import Document
from piiscan.rulepack import builtin_pack_names, builtin_packs, parse_pack
from piiscan.ruletest import run_rule_tests

BUILTIN_RULES = [rule for pack in builtin_packs().values() for rule in pack.rules]

def test_core_pack_is_shipped_and_has_the_core_entities():
    entities = {r.entity for r in builtin_packs()["core"].rules}
    expected = {
        "EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "US_SSN", "US_ITIN",
        "US_PASSPORT", "US_DRIVER_LICENSE", "IP_ADDRESS", "MAC_ADDRESS", "DATE_TIME", "UK_NHS",
        "UK_NINO", "STREET_ADDRESS", "POSTAL_CODE", "VIN", "MEDICAL_RECORD_NUMBER", "CRYPTO", "URL",
    }
    assert expected <= entities


@pytest.mark.parametrize("rule", BUILTIN_RULES, ids=lambda r: r.id)
def test_rule_has_enough_examples(rule):
    assert len(rule.tests.match) >= 3, "every rule needs at least 3 match examples"
    assert len(rule.tests.no_match) >= 3, "every rule needs at least 3 no_match examples"


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("rule", BUILTIN_RULES, ids=lambda r: r.id)
def test_rule_examples(rule, backend):
    failures = run_rule_tests([rule], backend=backend)
    assert not failures, "\n".join(f.message for f in failures)


@pytest.mark.skipif(not hyperscan_available(), reason="hyperscan is not installed")
def test_backends_agree_on_every_example_with_all_rules():
    text = "\n".join(e for r in BUILTIN_RULES for e in (*r.tests.match, *r.tests.no_match))
    doc = Document("examples.txt", text)
    by_regex = Engine(BUILTIN_RULES, backend="regex", cache_dir=None).scan(doc)
    by_hyperscan = Engine(BUILTIN_RULES, backend="hyperscan", cache_dir=None).scan(doc)
    assert by_hyperscan == by_regex
    assert len(by_regex) >= len(BUILTIN_RULES)


@pytest.mark.parametrize("name", builtin_pack_names())
def test_builtin_pack_passes_the_full_checks_users_packs_get(name):
    # Built-in packs load without compiling their regexes (start-up time): this is the check.
    root = Path(__file__).resolve().parent.parent / "rules"
    checked = parse_pack((root / f"{name}.yaml").read_text(encoding="utf-8"), f"rules/{name}.yaml")
    assert checked.rules == builtin_packs()[name].rules


PREFILTERED_PACK = r"""
pack: scratch
rules:
  - id: t.ssn
    entity: US_SSN
    name: SSN
    description: Dashed nine digits, found by hyperscan through their middle group.
    category: direct
    severity: critical
    patterns:
      - regex: '\b\d{3}-\d{2}-\d{4}\b'
        prefilter: PREFILTER
        score: 0.9
    tests: {match: ['ssn 536-22-1234', 'a 536-22-1234 and 536-23-1234'], no_match: ['536-22']}
"""


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_prefilter_inside_every_match_passes(backend):
    rules = parse_pack(PREFILTERED_PACK.replace("PREFILTER", r"'-\d{2}-'"), "p.yaml").rules
    assert run_rule_tests(rules, backend=backend) == []


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_prefilter_that_misses_a_match_is_a_failure_on_every_backend(backend):
    # "-22-" is in the first example's value but not in the second's second value: hyperscan
    # would never name the segment of a line holding only 536-23-1234.
    rules = parse_pack(PREFILTERED_PACK.replace("PREFILTER", r"'-22-'"), "p.yaml").rules
    failures = run_rule_tests(rules, backend=backend)
    assert [f.message for f in failures] == [
        "match[1]: the prefilter of pattern '\\\\b\\\\d{3}-\\\\d{2}-\\\\d{4}\\\\b' does not match "
        "inside '536-23-1234'"
    ]


@pytest.fixture(scope="module")
def both_backends():
    return (
        Engine(BUILTIN_RULES, backend="regex", cache_dir=None),
        Engine(BUILTIN_RULES, backend="hyperscan", cache_dir=None),
    )


_EXAMPLES = [e for r in BUILTIN_RULES for e in (*r.tests.match, *r.tests.no_match)]
_GLUE = ["\n", "\r\n", " ", "", "\t", ", ", "é ", "日本 ", "🙂", "x" * 300, "\n\n", ";"]


@pytest.mark.skipif(not hyperscan_available(), reason="hyperscan is not installed")
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    pieces=st.lists(
        st.tuples(st.sampled_from(_EXAMPLES), st.sampled_from(_GLUE)), min_size=1, max_size=40
    ),
    trailing_newline=st.booleans(),
)
def test_backends_agree_on_rule_examples_glued_every_way(both_backends, pieces, trailing_newline):
    """Hyperscan confirms the lines (and long-line pieces) holding its match ends, the regex
    backend whole segments: on any mix of lines, line endings, long lines and multi-byte
    characters they must find the same."""
    text = "".join(example + glue for example, glue in pieces)
    text = text + "\n" if trailing_newline else text.rstrip("\n")
    by_regex, by_hyperscan = (engine.scan(Document("mix.txt", text)) for engine in both_backends)
    assert by_hyperscan == by_regex
