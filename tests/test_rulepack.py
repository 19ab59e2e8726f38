"""The strict rule-pack loader: what it accepts, what it refuses, and what its errors say.

Every refusal is a `RulePackError` whose message names the file, the line (where the loader
can know it), the rule id and the field, so a pack author can fix the pack from the message
alone. Packs here are written by the tests themselves; nothing depends on the built-in packs.
"""

from __future__ import annotations

import dataclasses
import importlib.resources
import time
from pathlib import Path

import pytest

from piiscan import rulepack, strictyaml
from piiscan.errors import RulePackError, UsageError
from piiscan.model import Category, Pattern, Rule, RuleTests, Severity
from piiscan.rulepack import load_pack_file, load_rules, pack_files, parse_pack, select_rules
from piiscan.ruletest import run_rule_tests

SOURCE = "acme.yaml"
RULE_ID = "acme.ssn"

# The fields of one valid rule, as raw YAML text (so a test can swap in an unquoted `NO` or a
# tag exactly as an author would type it). Values are fake: 536-22-1234 is well-formed but
# built for tests, and 000-12-3456 has an area no SSN is ever issued in.
SSN_RULE = {
    "id": RULE_ID,
    "entity": "US_SSN",
    "name": "Acme SSN",
    "description": "A dashed US social security number.",
    "category": "direct",
    "severity": "critical",
    "patterns": "\n      - regex: '\\b\\d{3}-\\d{2}-\\d{4}\\b'\n        score: 0.3\n        name: dashed",
    "validator": "us_ssn",
    "context": "[SSN, Social Security]",
    "context_required": "false",
    "keywords": "['-']",
    "exclude": "['^000-']",
    "test_values": "['^987-65-432\\d$']",
    "tags": "[gdpr, hipaa]",
    "tests": "\n      match: ['ssn 536-22-1234']\n      no_match: ['build 000-12-3456']",
}

EMAIL_RULE = {
    "id": "acme.email",
    "entity": "EMAIL_ADDRESS",
    "name": "Acme email",
    "description": "An email address.",
    "category": "direct",
    "severity": "high",
    "patterns": "\n      - regex: '\\b[a-z0-9._-]+@[a-z0-9-]+(?:\\.[a-z0-9-]+)+\\b'\n        score: 0.6",
    "validator": "email",
    "tests": "\n      match: ['mail jo@example.org']\n      no_match: ['nothing here']",
}


def rule_yaml(fields: dict[str, str | None]) -> str:
    """One rule as a YAML list item; a field set to None is left out."""
    lines = []
    for key, value in fields.items():
        if value is None:
            continue
        lead = "  - " if not lines else "    "
        lines.append(f"{lead}{key}: {value}" if not value.startswith("\n") else f"{lead}{key}:{value}")
    return "\n".join(lines) + "\n"


def pack_yaml(*rules: dict[str, str | None], header: str = "pack: acme\n") -> str:
    return header + "rules:\n" + "".join(rule_yaml(r) for r in rules)


def with_fields(base: dict[str, str | None] = SSN_RULE, **changes: str | None) -> str:
    """A one-rule pack: `base` with some fields replaced (None removes a field)."""
    return pack_yaml({**base, **changes})


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    """1-based line number of the n-th line containing `needle`."""
    hits = [i for i, line in enumerate(text.splitlines(), 1) if needle in line]
    return hits[occurrence - 1]


def refused(text: str, source: str = SOURCE) -> RulePackError:
    with pytest.raises(RulePackError) as info:
        parse_pack(text, source)
    return info.value


def assert_names(
    error: RulePackError,
    *,
    source: str = SOURCE,
    line: int | None = None,
    rule: str | None = None,
    field: str | None = None,
) -> None:
    message = error.message
    assert message.startswith(source), message
    if line is not None:
        assert message.startswith(f"{source}:{line}:"), message
    if rule is not None:
        assert repr(rule) in message, message
    if field is not None:
        assert repr(field) in message, message
    assert "\n" not in message, "an error is one line"


# ---------------------------------------------------------------------------- a valid pack


def test_the_test_pack_itself_is_valid():
    pack = parse_pack(pack_yaml(SSN_RULE, EMAIL_RULE), SOURCE)
    assert pack.name == "acme"
    assert [r.id for r in pack.rules] == [RULE_ID, "acme.email"]


def test_valid_pack_loads_into_frozen_rules_with_the_right_types():
    text = with_fields(keywords="['SSN', '-']", context_required="true", made_up_in_tests="true",
                       named_in_credits="true")
    pack = parse_pack(text, SOURCE)
    (rule,) = pack.rules
    assert isinstance(rule, Rule)
    assert rule.id == RULE_ID and rule.entity == "US_SSN"
    assert rule.pack == "acme" and rule.source == SOURCE
    assert rule.category is Category.DIRECT
    assert rule.severity is Severity.CRITICAL
    assert isinstance(rule.patterns, tuple)
    assert rule.patterns == (Pattern(regex=r"\b\d{3}-\d{2}-\d{4}\b", score=0.3, name="dashed"),)
    assert isinstance(rule.patterns[0].score, float)
    assert rule.validator == "us_ssn"
    # Context words and keywords are matched case-insensitively, so they are stored lowercased.
    assert rule.context == ("ssn", "social security")
    assert rule.keywords == ("ssn", "-")
    assert rule.context_required is True
    assert rule.made_up_in_tests is True
    assert rule.named_in_credits is True
    assert rule.exclude == ("^000-",)
    assert rule.test_values == (r"^987-65-432\d$",)
    assert rule.tags == ("gdpr", "hipaa")
    assert rule.tests == RuleTests(match=("ssn 536-22-1234",), no_match=("build 000-12-3456",))
    for value in (rule.context, rule.keywords, rule.exclude, rule.tags, rule.tests.match):
        assert isinstance(value, tuple)
    with pytest.raises(dataclasses.FrozenInstanceError):
        rule.severity = Severity.LOW  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        rule.patterns[0].score = 1.0  # type: ignore[misc]


def test_optional_fields_default_to_empty():
    text = with_fields(
        validator=None, context=None, context_required=None, keywords=None, exclude=None,
        test_values=None, tags=None,
    )
    (rule,) = parse_pack(text, SOURCE).rules
    assert rule.validator is None
    assert rule.context == rule.keywords == rule.exclude == rule.test_values == rule.tags == ()
    assert rule.context_required is False
    assert rule.made_up_in_tests is False
    assert rule.named_in_credits is False


def test_made_up_in_tests_takes_a_boolean_only():
    error = refused(with_fields(made_up_in_tests="sometimes"))
    assert "made_up_in_tests" in str(error)


def test_load_pack_file_reads_a_file_and_names_it_as_source(tmp_path):
    path = tmp_path / "acme.yaml"
    path.write_text(pack_yaml(SSN_RULE), encoding="utf-8")
    pack = load_pack_file(path)
    assert pack.source == str(path)
    assert pack.rules[0].source == str(path)


# ---------------------------------------------------------------------------- YAML attacks


def test_python_tag_in_a_value_is_refused_and_not_executed(tmp_path):
    marker = tmp_path / "pwned"
    text = with_fields(name=f'!!python/object/apply:os.system ["touch {marker}"]')
    path = tmp_path / "evil.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RulePackError) as info:
        load_pack_file(path)
    assert_names(info.value, source=str(path), line=line_of(text, "python/object"), field="name")
    assert not marker.exists()


def test_python_tag_as_the_whole_document_is_refused_and_not_executed(tmp_path):
    marker = tmp_path / "pwned"
    text = f'!!python/object/apply:os.system ["touch {marker}"]\n'
    path = tmp_path / "evil.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RulePackError) as info:
        load_pack_file(path)
    assert_names(info.value, source=str(path), line=1)
    assert not marker.exists()


@pytest.mark.parametrize(
    "value",
    ["!!python/name:os.system x", "!!python/object/new:os.system ['true']", "!custom thing"],
)
def test_any_foreign_tag_is_refused(value):
    error = refused(with_fields(description=value))
    assert_names(error, rule=RULE_ID, field="description")


def _billion_laughs(levels: int = 9) -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, levels + 1):
        refs = ", ".join([f"*a{level - 1}"] * 9)
        lines.append(f"a{level}: &a{level} [{refs}]")
    return "pack: acme\n" + "\n".join(lines) + "\n"


def test_alias_bomb_is_refused_fast():
    text = _billion_laughs(9)
    started = time.perf_counter()
    error = refused(text)
    elapsed = time.perf_counter() - started
    assert elapsed < 1.0  # a sanity bound: expanding it would take forever and all memory
    assert "anchor" in error.message or "alias" in error.message
    assert_names(error, line=line_of(text, "&a0"))


@pytest.fixture(params=["libyaml", "python"])
def composer(request, monkeypatch):
    """Each YAML test that takes it runs with libyaml and with PyYAML's pure-Python parser
    (used where PyYAML was built without libyaml)."""
    if request.param == "python":
        monkeypatch.setattr(strictyaml.yaml, "__with_libyaml__", False)
    return request.param


def test_deep_nesting_is_refused_fast_and_names_its_line(composer):
    # Block nesting (no flow brackets) is ours alone to refuse: no YAML parser limits it.
    block = "pack: acme\nrules:\n" + "".join("  " * i + "- \n" for i in range(1, 80))
    error = refused(block)
    assert f"nested deeper than {strictyaml.MAX_DEPTH} levels" in error.message

    # libyaml composes recursively: 100,000 brackets crashed the process.
    text = "pack: acme\nrules:\n  - id: x\n    tags: " + "[" * 100_000 + "]" * 100_000 + "\n"
    started = time.perf_counter()
    error = refused(text)
    assert time.perf_counter() - started < 1.0  # a sanity bound: it used to take ~25 s
    # PyYAML 6.0.4's libyaml refuses deep flow nesting itself, before our own check.
    assert any(m in error.message for m in (f"nested deeper than {strictyaml.MAX_DEPTH} levels",
                                            "exceeded maximum nesting depth"))
    assert_names(error, line=4)


@pytest.mark.parametrize("name", ["core", "eu"])
def test_both_composers_give_the_same_pack(monkeypatch, name):
    text = (rulepack._builtin_folder() / f"{name}.yaml").read_text(encoding="utf-8")
    with_libyaml = parse_pack(text, f"{name}.yaml").rules
    monkeypatch.setattr(strictyaml.yaml, "__with_libyaml__", False)
    assert parse_pack(text, f"{name}.yaml").rules == with_libyaml and len(with_libyaml) > 10


def test_anchors_and_aliases_are_refused_by_both_composers(composer):
    error = refused("pack: acme\nrules:\n  - &one {id: x}\n  - *one\n")
    assert "anchors" in error.message
    assert_names(error, line=3)


def test_recursive_alias_is_refused():
    text = "pack: &loop [*loop]\nrules: []\n"
    error = refused(text)
    assert "anchor" in error.message or "alias" in error.message
    assert_names(error, line=1)


def test_plain_anchor_is_refused():
    text = with_fields(name="&shared Acme SSN")
    error = refused(text)
    assert "anchors" in error.message
    assert_names(error, line=line_of(text, "&shared"))


def test_alias_to_nothing_is_refused():
    text = with_fields(name="*nowhere")
    error = refused(text)
    assert "aliases" in error.message
    assert_names(error, line=line_of(text, "*nowhere"))


def test_merge_key_is_refused():
    text = "pack: acme\nbase: &base {severity: high}\nrules:\n  - <<: *base\n"
    error = refused(text)
    assert "anchor" in error.message or "alias" in error.message


# ---------------------------------------------------------------------------- duplicates


def test_duplicate_key_in_a_rule_is_refused():
    text = pack_yaml(SSN_RULE).replace("    severity: critical\n", "    severity: critical\n    severity: low\n")
    error = refused(text)
    assert "duplicate" in error.message
    assert "severity" in error.message
    assert_names(error, line=line_of(text, "severity", occurrence=2))


def test_duplicate_top_level_key_is_refused():
    text = "pack: acme\npack: other\n" + pack_yaml(SSN_RULE, header="")
    error = refused(text)
    assert "duplicate" in error.message
    assert_names(error, line=2, field="pack")


def test_duplicate_key_in_a_pattern_is_refused():
    text = with_fields(patterns="\n      - regex: 'x\\d'\n        score: 0.3\n        score: 0.9")
    error = refused(text)
    assert "duplicate" in error.message
    assert_names(error, line=line_of(text, "score: 0.9"), rule=RULE_ID)


@pytest.mark.parametrize(
    "edit",
    [
        pytest.param(lambda t: t.replace("    severity: critical\n", "    severity: critical\n    severity: low\n"), id="duplicate-key"),
        pytest.param(lambda t: t.replace("    context:", "    contex:"), id="unknown-key"),
    ],
)
def test_key_errors_inside_a_rule_name_the_rule_id(edit):
    # The rule's `id` is right there in the mapping: the message should say which rule it is,
    # not only `rules[0]`, since packs hold dozens of rules.
    error = refused(edit(pack_yaml(SSN_RULE)))
    assert_names(error, rule=RULE_ID)


def test_duplicate_rule_ids_in_one_pack_are_refused():
    twin = {**EMAIL_RULE, "id": RULE_ID}
    text = pack_yaml(SSN_RULE, twin)
    error = refused(text)
    assert_names(error, line=line_of(text, f"id: {RULE_ID}", 2), rule=RULE_ID, field="rules[1].id")
    assert f"defined twice in this pack (first at line {line_of(text, f'id: {RULE_ID}')})" in error.message
    assert error.hint


def test_duplicate_rule_ids_across_two_packs_are_refused(tmp_path):
    first = tmp_path / "first.yaml"
    second = tmp_path / "second.yaml"
    first.write_text(pack_yaml(SSN_RULE, EMAIL_RULE), encoding="utf-8")
    second.write_text(pack_yaml({**EMAIL_RULE, "name": "Other email"}, header="pack: other\n"), encoding="utf-8")
    with pytest.raises(RulePackError) as info:
        load_rules([first, second], packs=())
    message = info.value.message
    assert "'acme.email'" in message
    assert str(first) in message and str(second) in message


def test_two_packs_with_distinct_ids_load_together(tmp_path):
    first = tmp_path / "first.yaml"
    second = tmp_path / "second.yaml"
    first.write_text(pack_yaml(SSN_RULE), encoding="utf-8")
    second.write_text(pack_yaml(EMAIL_RULE, header="pack: other\n"), encoding="utf-8")
    rules = load_rules([first, second], packs=())
    assert [(r.id, r.pack) for r in rules] == [(RULE_ID, "acme"), ("acme.email", "other")]


# ---------------------------------------------------------------------------- unknown and missing


def test_unknown_rule_key_suggests_the_close_one():
    text = pack_yaml(SSN_RULE).replace("    context:", "    contex:")
    error = refused(text)
    assert "unknown key" in error.message
    assert "contex" in error.message
    assert_names(error, line=line_of(text, "contex:"))
    assert "'context'" in error.hint


def test_unknown_top_level_key_is_refused():
    text = "pack: acme\nrule:\n" + rule_yaml(SSN_RULE)
    error = refused(text)
    assert "unknown key" in error.message
    assert_names(error, line=2, field="rule")
    assert "'rules'" in error.hint


def test_unknown_key_with_nothing_close_lists_the_allowed_keys():
    error = refused(with_fields(zzzzzz="1"))
    assert "context" in error.hint and "severity" in error.hint


def test_unknown_pattern_key_is_refused():
    text = with_fields(patterns="\n      - regex: 'x\\d'\n        scroe: 0.3")
    error = refused(text)
    assert_names(error, line=line_of(text, "scroe"), rule=RULE_ID)
    assert "'score'" in error.hint


@pytest.mark.parametrize("field", ["entity", "name", "category", "severity", "patterns", "tests"])
def test_missing_required_rule_field_is_named(field):
    text = with_fields(**{field: None})
    error = refused(text)
    assert "required" in error.message
    assert_names(error, line=line_of(text, f"id: {RULE_ID}"), rule=RULE_ID, field=field)


# The example rule of DESIGN.md ("Rule packs"), as written there: it has no description.
DESIGN_EXAMPLE = r"""
pack: core
rules:
  - id: us.ssn                 # stable, lowercase, dotted by namespace; the SARIF ruleId
    entity: US_SSN
    name: US Social Security number
    category: direct
    severity: high             # info | low | medium | high | critical
    patterns:
      - regex: '\b(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}\b'
        score: 0.6
    validator: us_ssn          # named function in piiscan/validators.py
    context: [ssn, social security, tax id]   # nearby words raise the score
    keywords: ['-']            # cheap prefilter for the pure-regex backend
    exclude: ['123-45-6789']   # known example / test values
    tags: [gdpr, hipaa]
    tests:                     # run by `piiscan rules test` and by the test suite
      match: ['SSN: 536-22-1234']
      no_match: ['order 000-12-3456', 'version 1.2.3-45-6789']
"""


def test_the_design_example_rule_loads_and_passes_its_own_tests():
    (rule,) = parse_pack(DESIGN_EXAMPLE, "design.yaml").rules
    assert (rule.id, rule.entity, rule.description, rule.tags) == ("us.ssn", "US_SSN", "", ("gdpr", "hipaa"))
    assert run_rule_tests([rule]) == []


def test_missing_rule_id_is_named():
    error = refused(with_fields(id=None))
    assert "required" in error.message
    assert_names(error, field="rules[0].id")


@pytest.mark.parametrize("missing", ["pack", "rules"])
def test_missing_top_level_field_is_named(missing):
    text = {"pack": pack_yaml(SSN_RULE, header=""), "rules": "pack: acme\n"}[missing]
    error = refused(text)
    assert "required" in error.message
    assert_names(error, field=missing)


def test_missing_pattern_score_is_named():
    text = with_fields(patterns="\n      - regex: 'x\\d'")
    error = refused(text)
    assert_names(error, rule=RULE_ID, field="patterns[0].score")


def test_pack_with_no_rules_is_refused():
    error = refused("pack: acme\nrules: []\n")
    assert "no rules" in error.message
    assert_names(error, line=2, field="rules")


def test_empty_pattern_list_is_refused():
    error = refused(with_fields(patterns="[]"))
    assert_names(error, rule=RULE_ID, field="patterns")


def test_bad_pack_name_is_refused():
    error = refused(pack_yaml(SSN_RULE, header="pack: Acme Pack\n"))
    assert_names(error, line=1, field="pack")


# ---------------------------------------------------------------------------- YAML 1.1 traps


def test_unquoted_no_and_off_in_context_must_be_quoted():
    # YAML 1.1 reads NO and off as false: a context word list would silently hold booleans.
    text = with_fields(context="[NO, off]")
    error = refused(text)
    assert "'NO'" in error.message
    assert "quote" in error.hint
    assert_names(error, line=line_of(text, "context:"), rule=RULE_ID, field="context[0]")


def test_quoted_no_and_off_are_fine():
    (rule,) = parse_pack(with_fields(context="['NO', 'off']"), SOURCE).rules
    assert rule.context == ("no", "off")


@pytest.mark.parametrize(
    ("field", "value"),
    [("name", "1:30"), ("description", "off"), ("keywords", "[on]"), ("tags", "[010]")],
)
def test_other_non_strings_where_strings_belong(field, value):
    error = refused(with_fields(**{field: value}))
    assert_names(error, rule=RULE_ID)
    assert field in error.message
    assert "quote" in error.hint


@pytest.mark.parametrize("value", ["yes", "on", "'true'", "1"])
def test_context_required_takes_only_true_or_false(value):
    text = with_fields(context_required=value)
    error = refused(text)
    assert "true or false" in error.message
    assert_names(error, line=line_of(text, "context_required"), rule=RULE_ID, field="context_required")


def test_context_required_false_is_fine():
    (rule,) = parse_pack(with_fields(context_required="false"), SOURCE).rules
    assert rule.context_required is False


@pytest.mark.parametrize("score", ['"high"', "high", "true", "[0.5]"])
def test_score_must_be_a_number(score):
    text = with_fields(patterns=f"\n      - regex: 'x\\d'\n        score: {score}")
    error = refused(text)
    assert "number" in error.message
    assert_names(error, line=line_of(text, "score:"), rule=RULE_ID, field="patterns[0].score")


@pytest.mark.parametrize("score", ["1.5", "-0.1", "2"])
def test_score_out_of_range_is_refused(score):
    text = with_fields(patterns=f"\n      - regex: 'x\\d'\n        score: {score}")
    error = refused(text)
    assert "between 0 and 1" in error.message
    assert_names(error, line=line_of(text, "score:"), rule=RULE_ID, field="patterns[0].score")


@pytest.mark.parametrize("score", ["0", "1", "0.0", "1.0"])
def test_score_bounds_are_inclusive(score):
    text = with_fields(patterns=f"\n      - regex: 'x\\d'\n        score: {score}")
    (rule,) = parse_pack(text, SOURCE).rules
    assert rule.patterns[0].score == float(score)


def test_unknown_severity_is_refused():
    text = with_fields(severity="urgent")
    error = refused(text)
    assert "'urgent'" in error.message
    for level in ("info", "low", "medium", "high", "critical"):
        assert level in error.message
    assert_names(error, line=line_of(text, "severity:"), rule=RULE_ID, field="severity")


def test_unknown_category_is_refused():
    text = with_fields(category="personal")
    error = refused(text)
    assert "'personal'" in error.message
    for category in ("direct", "quasi", "sensitive", "indirect"):
        assert category in error.message
    assert_names(error, line=line_of(text, "category:"), rule=RULE_ID, field="category")


def test_severity_is_case_sensitive():
    error = refused(with_fields(severity="HIGH"))
    assert_names(error, rule=RULE_ID, field="severity")


# ---------------------------------------------------------------------------- regexes and names


def test_unbalanced_paren_names_the_pattern_field():
    text = with_fields(patterns="\n      - regex: '(\\d{3}-\\d{2}'\n        score: 0.3")
    error = refused(text)
    assert "bad regex" in error.message
    assert_names(error, line=line_of(text, "regex:"), rule=RULE_ID, field="patterns[0].regex")


def test_bad_regex_in_the_second_pattern_names_its_index():
    text = with_fields(
        patterns="\n      - regex: 'x\\d'\n        score: 0.3\n      - regex: '[a-'\n        score: 0.3"
    )
    error = refused(text)
    assert_names(error, line=line_of(text, "'[a-'"), rule=RULE_ID, field="patterns[1].regex")


@pytest.mark.parametrize("field", ["exclude", "test_values"])
def test_bad_regex_in_exclude_and_test_values_is_named(field):
    error = refused(with_fields(**{field: "['ok', '(oops']"}))
    assert "bad regex" in error.message
    assert_names(error, rule=RULE_ID, field=f"{field}[1]")


@pytest.mark.parametrize("pattern", [r"\d*", r"(?:x\d)?", "a|", r"[ \t]*"])
def test_pattern_matching_the_empty_string_is_refused(pattern):
    text = with_fields(patterns=f"\n      - regex: '{pattern}'\n        score: 0.3")
    error = refused(text)
    assert "empty" in error.message
    assert_names(error, line=line_of(text, "regex:"), rule=RULE_ID, field="patterns[0].regex")


@pytest.mark.parametrize("pattern", [r"(?=\d{3})", r"\b", r"(?<=ssn)"])
def test_zero_width_pattern_is_refused(pattern):
    # These never match "" itself, but every match they make is empty: a rule built on one
    # reports zero-length findings (value '') all over a file.
    text = with_fields(patterns=f"\n      - regex: '{pattern}'\n        score: 0.3")
    error = refused(text)
    assert_names(error, rule=RULE_ID, field="patterns[0].regex")


def test_unknown_validator_suggests_the_close_one():
    text = with_fields(validator="us_ssm")
    error = refused(text)
    assert "'us_ssm'" in error.message
    assert "'us_ssn'" in error.hint
    assert_names(error, line=line_of(text, "validator:"), rule=RULE_ID, field="validator")


def test_unknown_validator_with_nothing_close_lists_known_ones():
    error = refused(with_fields(validator="zzzzzzzz"))
    assert "us_ssn" in error.hint and "email" in error.hint


@pytest.mark.parametrize("bad_id", ["US.SSN", "ssn", "acme..ssn", "acme.ssn.", "1acme.ssn", "acme.ssn id"])
def test_bad_rule_id_is_refused(bad_id):
    text = with_fields(id=f"'{bad_id}'")
    error = refused(text)
    assert repr(bad_id) in error.message
    assert_names(error, line=line_of(text, "id:"), field="id")
    assert "acme.employee-id" in error.hint


@pytest.mark.parametrize("good_id", ["acme.ssn", "us.driver-license", "x1.y2.z-3"])
def test_good_rule_ids_load(good_id):
    (rule,) = parse_pack(with_fields(id=good_id), SOURCE).rules
    assert rule.id == good_id


@pytest.mark.parametrize("bad_entity", ["us_ssn", "US-SSN", "_SSN", "1SSN", "Us_Ssn", "A" * 65])
def test_bad_entity_is_refused(bad_entity):
    text = with_fields(entity=f"'{bad_entity}'")
    error = refused(text)
    assert repr(bad_entity) in error.message
    assert_names(error, line=line_of(text, "entity:"), rule=RULE_ID, field="entity")


def test_an_entity_name_as_long_as_a_token_takes_loads():
    (rule,) = parse_pack(with_fields(entity="A" * 64), SOURCE).rules
    assert rule.entity == "A" * 64


# ---------------------------------------------------------------------------- tests block


def test_missing_tests_block_is_refused():
    error = refused(with_fields(tests=None))
    assert "required" in error.message
    assert_names(error, rule=RULE_ID, field="tests")


def test_empty_match_list_is_refused():
    text = with_fields(tests="\n      match: []\n      no_match: ['build 000-12-3456']")
    error = refused(text)
    assert_names(error, rule=RULE_ID, field="tests")
    assert "match" in error.message


def test_empty_no_match_list_is_refused():
    error = refused(with_fields(tests="\n      match: ['ssn 536-22-1234']\n      no_match: []"))
    assert_names(error, rule=RULE_ID, field="tests")


def test_missing_no_match_is_refused():
    error = refused(with_fields(tests="\n      match: ['ssn 536-22-1234']"))
    assert "required" in error.message
    assert_names(error, rule=RULE_ID, field="tests.no_match")


def test_tests_must_be_a_mapping():
    error = refused(with_fields(tests="['ssn 536-22-1234']"))
    assert_names(error, rule=RULE_ID, field="tests")


def test_unknown_key_in_tests_is_refused():
    error = refused(with_fields(tests="\n      match: ['a 1']\n      no_match: ['b']\n      nomatch: ['c']"))
    assert_names(error, rule=RULE_ID)
    assert "'no_match'" in error.hint


# ---------------------------------------------------------------------------- files


def test_non_utf8_pack_file_is_refused(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes(with_fields(name="Caf\u00e9 SSN").encode("latin-1"))
    with pytest.raises(RulePackError) as info:
        load_pack_file(path)
    assert "UTF-8" in info.value.message
    assert_names(info.value, source=str(path))


def test_oversized_pack_file_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(rulepack, "MAX_PACK_BYTES", 256)
    text = pack_yaml(SSN_RULE)
    assert len(text.encode()) > 256
    path = tmp_path / "big.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RulePackError) as info:
        load_pack_file(path)
    assert "larger" in info.value.message
    assert_names(info.value, source=str(path))


def test_pack_file_at_the_size_limit_loads(tmp_path, monkeypatch):
    text = pack_yaml(SSN_RULE)
    monkeypatch.setattr(rulepack, "MAX_PACK_BYTES", len(text.encode()))
    path = tmp_path / "exact.yaml"
    path.write_text(text, encoding="utf-8")
    assert load_pack_file(path).rules[0].id == RULE_ID


@pytest.mark.parametrize("content", ["", "\n\n", "# only a comment\n", "---\n"])
def test_empty_pack_file_is_refused(tmp_path, content):
    path = tmp_path / "empty.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(RulePackError) as info:
        load_pack_file(path)
    assert "empty" in info.value.message
    assert_names(info.value, source=str(path))


def test_multiple_yaml_documents_are_refused(tmp_path):
    text = pack_yaml(SSN_RULE) + "---\n" + pack_yaml(EMAIL_RULE, header="pack: other\n")
    path = tmp_path / "two.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RulePackError) as info:
        load_pack_file(path)
    assert_names(info.value, source=str(path), line=line_of(text, "---"))


def test_invalid_yaml_syntax_names_the_line():
    text = pack_yaml(SSN_RULE) + "  - id: [unclosed\n"
    error = refused(text)
    assert_names(error, line=line_of(text, "[unclosed") + 1)


def test_top_level_list_is_refused():
    error = refused("- pack: acme\n")
    assert "mapping" in error.message
    assert_names(error, line=1)


def test_missing_pack_file_is_refused(tmp_path):
    path = tmp_path / "nope.yaml"
    with pytest.raises(RulePackError) as info:
        load_pack_file(path)
    assert_names(info.value, source=str(path))


# ---------------------------------------------------------------------------- pack_files, load_rules


def test_pack_files_on_a_folder_is_sorted_and_only_yaml(tmp_path):
    for name in ("b.yml", "a.yaml", "c.yaml", "notes.txt", "d.json", "yaml"):
        (tmp_path / name).write_text("x", encoding="utf-8")
    (tmp_path / "sub.yaml").mkdir()  # a folder with a pack-like name is not a pack
    assert pack_files(tmp_path) == [tmp_path / "a.yaml", tmp_path / "b.yml", tmp_path / "c.yaml"]


def test_pack_files_on_a_file_returns_it(tmp_path):
    path = tmp_path / "one.yaml"
    path.write_text("x", encoding="utf-8")
    assert pack_files(path) == [path]
    assert pack_files(str(path)) == [path]


def test_pack_files_on_a_missing_path_is_an_error(tmp_path):
    missing = tmp_path / "missing"
    with pytest.raises(RulePackError) as info:
        pack_files(missing)
    assert str(missing) in info.value.message


def test_pack_files_on_a_folder_without_packs_is_an_error(tmp_path):
    (tmp_path / "readme.md").write_text("x", encoding="utf-8")
    with pytest.raises(RulePackError) as info:
        pack_files(tmp_path)
    assert str(tmp_path) in info.value.message


def test_load_rules_reads_every_pack_in_a_folder(tmp_path):
    (tmp_path / "a.yaml").write_text(pack_yaml(SSN_RULE), encoding="utf-8")
    (tmp_path / "b.yml").write_text(pack_yaml(EMAIL_RULE, header="pack: other\n"), encoding="utf-8")
    rules = load_rules([tmp_path], packs=())
    assert [r.id for r in rules] == [RULE_ID, "acme.email"]


def test_load_rules_unknown_builtin_pack_is_a_usage_error():
    with pytest.raises(UsageError) as info:
        load_rules((), packs=("no-such-pack",))
    assert "'no-such-pack'" in info.value.message


def test_no_builtin_packs_means_none_are_parsed(tmp_path, monkeypatch):
    # `--packs ''` asks for no built-in pack: a broken or half-written one must not stop a
    # scan with the user's own rules (nor cost start-up time parsing it).
    shipped = tmp_path / "shipped"
    shipped.mkdir()
    (shipped / "broken.yaml").write_text("pack: broken\nrules: [\n", encoding="utf-8")
    monkeypatch.setattr(importlib.resources, "files", lambda package: shipped)
    user_pack = tmp_path / "mine.yaml"
    user_pack.write_text(pack_yaml(SSN_RULE), encoding="utf-8")
    assert [r.id for r in load_rules([user_pack], packs=())] == [RULE_ID]


# ---------------------------------------------------------------------------- pack cache


def _parsed_builtin(name: str) -> rulepack.Pack:
    text = importlib.resources.files("piiscan.rules").joinpath(f"{name}.yaml").read_text("utf-8")
    return parse_pack(text, f"rules/{name}.yaml", check_regexes=False)


@pytest.mark.parametrize("name", rulepack.builtin_pack_names())
def test_a_cached_builtin_pack_equals_the_parsed_one(own_cache_folder, name):
    expected = _parsed_builtin(name)
    assert rulepack.load_builtin_pack(name) == expected  # parsed, and written to the cache
    assert len(list(own_cache_folder.glob("pack-*.json"))) == 1
    assert rulepack.load_builtin_pack(name) == expected  # read back from it


def test_a_cache_hit_does_not_parse(own_cache_folder, monkeypatch):
    rulepack.load_builtin_pack("core")

    def no_parsing(*args, **kwargs):
        raise AssertionError("parsed although cached")

    monkeypatch.setattr(rulepack, "parse_pack", no_parsing)
    assert rulepack.load_builtin_pack("core") == _parsed_builtin("core")


@pytest.mark.parametrize("damage", [
    lambda blob: blob[: len(blob) // 2],  # cut short by a crash
    lambda blob: blob[:-3] + b"]]}",  # the payload no longer matches its checksum
    lambda blob: b"something else\n" + blob,
    lambda blob: b"",
])
def test_a_damaged_pack_cache_file_is_parsed_again_and_rewritten(own_cache_folder, damage):
    expected = rulepack.load_builtin_pack("core")
    (cached,) = own_cache_folder.glob("pack-*.json")
    good = cached.read_bytes()
    cached.write_bytes(damage(good))
    assert rulepack.load_builtin_pack("core") == expected
    assert cached.read_bytes() == good


def test_a_changed_pack_misses_the_cache(own_cache_folder):
    first = rulepack._parse_cached(pack_yaml(SSN_RULE), "rules/acme.yaml", check_regexes=False)
    renamed = pack_yaml(SSN_RULE).replace("Acme SSN", "Acme social security number")
    second = rulepack._parse_cached(renamed, "rules/acme.yaml", check_regexes=False)
    assert first.rules[0].name != second.rules[0].name
    assert len(list(own_cache_folder.glob("pack-*.json"))) == 2


def test_a_users_pack_is_parsed_once_then_read_from_the_cache(own_cache_folder, tmp_path, monkeypatch):
    user_pack = tmp_path / "mine.yaml"
    user_pack.write_text(pack_yaml(SSN_RULE), encoding="utf-8")
    expected = parse_pack(pack_yaml(SSN_RULE), str(user_pack))
    assert rulepack.load_pack_file(user_pack) == expected
    (cached,) = own_cache_folder.glob("pack-*.json")

    def no_parsing(*args, **kwargs):
        raise AssertionError("parsed although cached")

    with monkeypatch.context() as patch:
        patch.setattr(rulepack, "parse_pack", no_parsing)
        assert rulepack.load_pack_file(user_pack) == expected
    # Another path for the same text is another pack: its rules name their source.
    moved = tmp_path / "moved.yaml"
    moved.write_text(pack_yaml(SSN_RULE), encoding="utf-8")
    assert rulepack.load_pack_file(moved).source == str(moved)
    assert len(list(own_cache_folder.glob("pack-*.json"))) == 2


def test_a_users_broken_pack_is_never_cached(own_cache_folder, tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text(pack_yaml(dict(SSN_RULE, patterns="\n      - regex: '(unclosed'\n        score: 0.3")), encoding="utf-8")
    for _ in range(2):  # the same error the second time: nothing was kept of the first
        with pytest.raises(RulePackError, match="bad regex"):
            rulepack.load_pack_file(broken)
    assert not list(own_cache_folder.glob("pack-*.json"))


def test_a_users_pack_with_its_regexes_checked_is_not_the_unchecked_parse(own_cache_folder):
    # A built-in pack is parsed without compiling its regexes; the same text as a user's pack
    # must not come back from that entry unchecked.
    rulepack._parse_cached(pack_yaml(SSN_RULE), SOURCE, check_regexes=False)
    rulepack._parse_cached(pack_yaml(SSN_RULE), SOURCE, check_regexes=True)
    assert len(list(own_cache_folder.glob("pack-*.json"))) == 2


def test_a_rule_field_the_cache_does_not_know_is_never_cached(tmp_path):
    # A field of a new type must not come back from the cache as something else.
    pack = parse_pack(pack_yaml(SSN_RULE), SOURCE)
    odd = dataclasses.replace(pack, rules=(dataclasses.replace(pack.rules[0], tags=(1, 2)),))
    rulepack._write_pack_cache(tmp_path / "pack-x.json", odd)
    assert not (tmp_path / "pack-x.json").exists()
    rulepack._write_pack_cache(tmp_path / "pack-y.json", pack)
    assert rulepack._read_pack_cache(tmp_path / "pack-y.json") == pack


def test_pack_cache_can_be_off_or_unwritable(tmp_path, monkeypatch):
    monkeypatch.setenv("PIISCAN_NO_CACHE", "1")
    assert rulepack.load_builtin_pack("core") == _parsed_builtin("core")
    monkeypatch.delenv("PIISCAN_NO_CACHE")
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("", encoding="utf-8")
    monkeypatch.setenv("PIISCAN_CACHE_DIR", str(blocker / "cache"))
    assert rulepack.load_builtin_pack("core") == _parsed_builtin("core")
    assert list(tmp_path.iterdir()) == [blocker]  # and no temporary file left behind


# ---------------------------------------------------------------------------- select_rules


@pytest.fixture
def two_rules() -> list[Rule]:
    return list(parse_pack(pack_yaml(SSN_RULE, EMAIL_RULE), SOURCE).rules)


def test_select_everything_by_default(two_rules):
    assert select_rules(two_rules) == two_rules


def test_select_only_by_id(two_rules):
    assert [r.id for r in select_rules(two_rules, only=["acme.email"])] == ["acme.email"]


def test_select_only_by_entity(two_rules):
    assert [r.id for r in select_rules(two_rules, only=["US_SSN"])] == [RULE_ID]


def test_disable_by_id_and_by_entity(two_rules):
    assert [r.id for r in select_rules(two_rules, disable=[RULE_ID])] == ["acme.email"]
    assert [r.id for r in select_rules(two_rules, disable=["EMAIL_ADDRESS"])] == [RULE_ID]


def test_disable_wins_over_only(two_rules):
    kept = select_rules(two_rules, only=[RULE_ID, "acme.email"], disable=["US_SSN"])
    assert [r.id for r in kept] == ["acme.email"]


@pytest.mark.parametrize("option", ["only", "disable"])
def test_unknown_name_is_a_usage_error_with_did_you_mean(two_rules, option):
    with pytest.raises(UsageError) as info:
        select_rules(two_rules, **{option: ["acme.emial"]})
    assert "'acme.emial'" in info.value.message
    assert "'acme.email'" in info.value.hint


def test_unknown_name_with_nothing_close_points_at_rules_list(two_rules):
    with pytest.raises(UsageError) as info:
        select_rules(two_rules, only=["zzzzzzzzzz"])
    assert "rules list" in info.value.hint


def test_nothing_left_is_a_usage_error(two_rules):
    with pytest.raises(UsageError) as info:
        select_rules(two_rules, disable=["US_SSN", "acme.email"])
    assert "no rules left" in info.value.message


def test_select_keeps_rule_order(two_rules):
    kept = select_rules(two_rules, only=["EMAIL_ADDRESS", RULE_ID])
    assert [r.id for r in kept] == [RULE_ID, "acme.email"]


def test_error_message_parts_are_plain_text():
    # The CLI prints `piiscan: rule pack error: <message>`; a pack path is the first thing in it.
    error = refused(with_fields(severity="urgent"), source=str(Path("packs") / "acme.yaml"))
    assert error.message.startswith(str(Path("packs") / "acme.yaml") + ":")
    assert error.kind == "rule pack error"


# ---------------------------------------------------------------------------- prefilters


def test_a_pattern_may_name_a_prefilter():
    text = with_fields(
        patterns="\n      - regex: '\\b\\d{3}-\\d{2}-\\d{4}\\b'\n        prefilter: '-\\d{2}-'\n        score: 0.3"
    )
    (rule,) = parse_pack(text, SOURCE).rules
    assert rule.patterns[0].prefilter == r"-\d{2}-"
    assert parse_pack(with_fields(), SOURCE).rules[0].patterns[0].prefilter == ""


@pytest.mark.parametrize(("prefilter", "complaint"), [("'(-'", "bad regex"), ("'-?'", "empty")])
def test_a_bad_or_empty_prefilter_is_refused_and_named(prefilter, complaint):
    text = with_fields(
        patterns=f"\n      - regex: 'x\\d'\n        prefilter: {prefilter}\n        score: 0.3"
    )
    error = refused(text)
    assert complaint in error.message
    assert_names(error, line=line_of(text, "prefilter:"), rule=RULE_ID, field="patterns[0].prefilter")


@pytest.mark.parametrize("word", ["''", "'  '"])
def test_an_empty_context_word_is_refused(word):
    text = with_fields(context=f"[ssn, {word}]")
    error = refused(text)
    assert "empty" in error.message
    assert_names(error, line=line_of(text, "context:"), rule=RULE_ID, field="context[1]")
