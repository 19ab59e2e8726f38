"""The bundled sample corpus: every planted value is found, and the clean files stay clean.

fixtures/expected.json is written by fixtures/generate.py, which plants the values, so the
ground truth comes from the generator, not from a run of the scanner.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

import piiscan
from piiscan.cli import main
from shared_tools import VALIDATE_SARIF
from piiscan.hsdatabase import hyperscan_available
from piiscan.model import Severity

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"


@pytest.fixture(scope="module")
def expected():
    return json.loads((FIXTURES / "expected.json").read_text(encoding="utf-8"))


def scan_fixtures(**settings):
    """Scan as a user in the repository root would: paths in reports start with fixtures/."""
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(ROOT)
        return piiscan.scan_paths(["fixtures"], **settings)


@pytest.fixture(scope="module")
def scanned():
    return scan_fixtures()


def keyed(items):
    return {(i["path"], i["line"], i["rule_id"]) for i in items}


def test_every_planted_value_is_found(expected, scanned):
    found = {(f.path, f.line, f.rule_id) for f in scanned.findings}
    missed = keyed(expected) - found
    assert not missed, f"missed {len(missed)} of {len(expected)}: {sorted(missed)}"


def test_nothing_else_is_found(expected, scanned):
    found = {(f.path, f.line, f.rule_id) for f in scanned.findings}
    extra = found - keyed(expected)
    assert not extra, f"{len(extra)} findings that were not planted: {sorted(extra)}"


def test_test_data_is_marked_and_never_fails_a_build(expected, scanned):
    planted_test_data = {(i["path"], i["line"], i["rule_id"]) for i in expected if i["test_data"]}
    assert planted_test_data, "the corpus should include well-known test values"
    for f in scanned.findings:
        key = (f.path, f.line, f.rule_id)
        assert f.test_data == (key in planted_test_data), key
        if f.test_data:
            assert f.severity is Severity.INFO


def test_clean_files_fail_nothing(scanned):
    clean = [f for f in scanned.findings if f.path.startswith("fixtures/clean/")]
    assert all(f.test_data for f in clean), [(f.path, f.line, f.rule_id) for f in clean]
    assert any(p.is_file() for p in (FIXTURES / "clean").iterdir())


def test_every_core_rule_is_exercised(expected):
    from piiscan.rulepack import builtin_packs

    planted = {i["rule_id"] for i in expected}
    assert {r.id for r in builtin_packs()["core"].rules} <= planted


def test_scan_is_complete_and_deterministic(scanned):
    assert not scanned.incomplete
    assert scan_fixtures().findings == scanned.findings


@pytest.mark.skipif(not hyperscan_available(), reason="hyperscan is not installed")
def test_backends_agree_on_the_fixtures():
    by_regex = scan_fixtures(backend="regex")
    by_hyperscan = scan_fixtures(backend="hyperscan")
    assert by_hyperscan.findings == by_regex.findings
    assert by_regex.findings




@pytest.mark.skipif(shutil.which("npm") is None, reason="validate-sarif needs npm")
def test_sarif_of_the_fixtures_passes_the_multitool(tmp_path, monkeypatch):
    """The issue's check, verbatim: piiscan scan fixtures/ --format sarif -o x.sarif."""
    monkeypatch.chdir(ROOT)
    report = tmp_path / "x.sarif"
    with pytest.raises(SystemExit) as exit_:
        main(["scan", "fixtures/", "--format", "sarif", "-o", str(report), "--quiet"])
    assert exit_.value.code == 1  # the fixtures hold personal data
    sarif = json.loads(report.read_text(encoding="utf-8"))
    assert sarif["runs"][0]["results"]
    proc = subprocess.run(
        [str(VALIDATE_SARIF), str(report)], capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
