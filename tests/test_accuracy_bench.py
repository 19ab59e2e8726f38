"""The accuracy benchmark's own parts: its data generator and its scoring.

The benchmark's figures are reported, not asserted (issue 6); what is asserted here is that
the figures mean what they say: a seed always gives the same data, every label points at the
value that was planted, and precision/recall/F1 come out right on a case worked by hand.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"
sys.path.insert(0, str(BENCH))

import accuracy  # noqa: E402
import accuracy_data  # noqa: E402
from accuracy_data import SPEC_BY_ENTITY, Label, Sample, generate  # noqa: E402

from piiscan.model import Category, Finding, Severity  # noqa: E402


@pytest.fixture(scope="module")
def tiny() -> list[Sample]:
    return generate(7, "tiny")


def test_same_seed_same_samples(tiny):
    assert generate(7, "tiny") == tiny


def test_other_seed_other_samples(tiny):
    other = generate(8, "tiny")
    assert [s.text for s in other] != [s.text for s in tiny]


def test_labels_point_at_checksum_valid_planted_values(tiny):
    kinds = {"pii": 0, "negative": 0, "test_data": 0}
    for sample in tiny:
        for label in sample.labels:
            value = sample.text[label.start:label.end]
            kinds[label.kind] += 1
            assert value and value == value.strip(), (sample.name, label)
            assert "\n" not in value
            # A label covers the whole value: the characters either side are not part of it.
            before = sample.text[label.start - 1] if label.start else " "
            after = sample.text[label.end] if label.end < len(sample.text) else " "
            assert not (before.isalnum() or after.isalnum()), (sample.name, label, value)
            if label.kind == "pii":
                spec = SPEC_BY_ENTITY[label.entity]
                assert label.context in ("near", "far", "none")
                if spec.is_valid is not None:
                    assert spec.is_valid(value), (label, value)
            elif label.kind == "negative" and label.note.startswith("invalid-national-id:"):
                spec = SPEC_BY_ENTITY[label.note.split(":")[1]]
                assert not spec.is_valid(value), (label, value)
    assert all(kinds.values()), kinds


def test_no_context_label_has_no_naming_word_in_reach():
    sample = accuracy_data.Doc("x.txt")
    named = accuracy_data.Item("pii", "US_SSN", "536-22-1234", "ssn")
    bare = accuracy_data.Item("pii", "US_SSN", "536-22-1235", "")
    sample.emit("{k}: {v}\n", named)
    sample.text("-" * 200 + "\n")
    sample.emit("value: {v}\n", bare, key="value")
    labels = sample.sample().labels
    assert [lb.context for lb in labels] == ["near", "none"]


def _finding(entity: str, start: int, end: int, test_data: bool = False) -> Finding:
    return Finding(
        rule_id="t." + entity.lower(), entity=entity, path="a", start=start, end=end, line=1, column=start + 1,
        end_line=1, end_column=end + 1, confidence=0.9, severity=Severity.HIGH, category=Category.DIRECT,
        test_data=test_data, value="x", snippet="", raw_snippet="",
    )


def test_scoring_on_a_hand_made_case():
    text = "a" * 100
    labels = [
        Label(0, 10, "EMAIL_ADDRESS"),  # found
        Label(20, 30, "EMAIL_ADDRESS", context="none"),  # missed
        Label(40, 50, "US_SSN"),  # found by a partial overlap
        Label(60, 70, "", kind="negative", note="uuid"),  # flagged: a false positive
        Label(80, 90, "EMAIL_ADDRESS", kind="test_data"),  # reported as test data: not scored
    ]
    findings = [
        _finding("EMAIL_ADDRESS", 2, 8),
        _finding("EMAIL_ADDRESS", 62, 68),
        _finding("US_SSN", 45, 55),
        _finding("US_SSN", 92, 99),  # on nothing: a false positive
        _finding("EMAIL_ADDRESS", 80, 90, test_data=True),
    ]
    resolved = {"EMAIL_ADDRESS": {"EMAIL_ADDRESS"}, "US_SSN": {"US_SSN"}}
    ev = accuracy.score([Sample("a", text, labels)], [findings], resolved)
    email, ssn = ev.scores["EMAIL_ADDRESS"], ev.scores["US_SSN"]
    assert (email.tp, email.fn, email.fp) == (1, 1, 1)
    assert email.precision == pytest.approx(0.5) and email.recall == pytest.approx(0.5)
    assert email.f1 == pytest.approx(0.5)
    assert email.context_recall("near") == 1.0 and email.context_recall("none") == 0.0
    assert (ssn.tp, ssn.fn, ssn.fp) == (1, 0, 1)
    assert ssn.precision == pytest.approx(0.5) and ssn.recall == 1.0
    assert ssn.f1 == pytest.approx(2 / 3)
    overall = ev.micro(["EMAIL_ADDRESS", "US_SSN"])
    assert (overall.tp, overall.fn, overall.fp) == (2, 1, 2)
    assert overall.precision == pytest.approx(0.5) and overall.recall == pytest.approx(2 / 3)
    assert ev.negatives["uuid"] == 1 and ev.negatives_flagged["uuid"] == 1
    assert ev.test_data["reported as test data"] == 1


def test_entities_resolve_to_the_names_the_rules_use():
    class R:
        def __init__(self, entity, validator=None):
            self.entity, self.validator = entity, validator

    resolved = accuracy.resolve_entities([R("EMAIL_ADDRESS", "email"), R("FI_PERSONAL_IDENTITY_CODE", "stdnum.fi.hetu")])
    assert resolved["EMAIL_ADDRESS"] == {"EMAIL_ADDRESS"}
    assert resolved["FI_HETU"] == {"FI_PERSONAL_IDENTITY_CODE"}
    assert resolved["US_SSN"] == set()
