"""The library API: the same engine as the CLI, usable without it."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
from faker import Faker

import piiscan
from piiscan.model import Document, Finding, ScanResult


def test_scan_text_finds_an_email_with_positions():
    address = Faker().free_email()
    text = f"Reach me at {address} please"
    (finding,) = [f for f in piiscan.scan_text(text) if f.entity == "EMAIL_ADDRESS"]
    assert isinstance(finding, Finding)
    assert text[finding.start : finding.end] == finding.value == address
    assert (finding.line, finding.column) == (1, 13)
    assert address not in finding.snippet and finding.path == "<text>"


def test_scan_text_settings_select_rules():
    text = "mail jane.roe@acme-mail.net ssn 536-22-1234"
    only_ssn = piiscan.scan_text(text, only=["US_SSN"])
    assert {f.entity for f in only_ssn} == {"US_SSN"}
    without_ssn = piiscan.scan_text(text, disable=["us.ssn"])
    assert "US_SSN" not in {f.entity for f in without_ssn}


def test_all_packs_is_spelled_as_in_a_config_file():
    from piiscan.rulepack import builtin_pack_names

    every = {rule.pack for rule in piiscan.engine_for(packs="all").rules}
    assert every == set(builtin_pack_names())
    assert piiscan.engine_for(packs=["all"]).rules == piiscan.engine_for(packs=None).rules


def test_a_list_setting_may_be_one_comma_separated_string():
    text = "mail jane.roe@acme-mail.net ssn 536-22-1234"
    assert piiscan.engine_for(only="US_SSN, core.email") is piiscan.engine_for(only=["US_SSN", "core.email"])
    assert {f.entity for f in piiscan.scan_text(text, only="US_SSN")} == {"US_SSN"}
    (finding,) = piiscan.scan_text('to = "jane.roe@acme-mail.net"', path="qa/flow.py", test_code="qa/")
    assert finding.test_data  # one glob, not the globs "q", "a" and "/"
    from piiscan import _strings

    assert _strings(Path("/packs/a,b.yaml")) == ("/packs/a,b.yaml",)  # a path is one path


def test_engine_is_reused_for_equal_settings():
    assert piiscan.engine_for(only=["core.email"]) is piiscan.engine_for(only=["core.email"])


def test_scan_paths_matches_the_cli_engine(tmp_path):
    (tmp_path / "a.txt").write_text("ssn 536-22-1234\n", encoding="utf-8")
    (tmp_path / "b.bin").write_bytes(b"\x00\x01 ssn 536-22-1234")
    result = piiscan.scan_paths([tmp_path])
    assert isinstance(result, ScanResult)
    assert [(f.path.rsplit("/", 1)[-1], f.entity) for f in result.findings] == [("a.txt", "US_SSN")]
    assert [s.reason.value for s in result.skipped] == ["binary"]
    assert result.stats.files_scanned == 1 and not result.incomplete


def test_findings_pickle_for_worker_pools():
    findings = piiscan.scan_text("ssn 536-22-1234")
    assert pickle.loads(pickle.dumps(findings)) == findings


def test_scan_takes_bytes_as_a_file_would_be_read():
    fake = Faker()
    Faker.seed(5)
    text = f"Grüße, {fake.name()} <{fake.user_name()}@acme-mail.net>\r\nssn 536-22-1234\n"
    expected = [(f.rule_id, f.start, f.end, f.line, f.value) for f in piiscan.scan_text(text)]
    assert len(expected) == 2
    engine = piiscan.engine_for()
    for data in (text.encode("utf-8"), b"\xff\xfe" + text.encode("utf-16-le"), text.encode("latin-1")):
        for found in (piiscan.scan_text(data), engine.scan(Document("notes.txt", data))):
            assert [(f.rule_id, f.start, f.end, f.line, f.value) for f in found] == expected
    (batch,) = engine.scan_many([Document("notes.txt", text.encode("utf-8"))])
    assert [f.value for f in batch] == [v for *_, v in expected]


def test_a_findings_repr_shows_no_raw_value():
    fake = Faker()
    Faker.seed(9)
    address = f"{fake.user_name()}@acme-mail.net"
    (found,) = piiscan.scan_text(f"contact {address}")
    assert found.value == address  # the field is there for --show-values and the redactor
    for shown in (repr(found), str(found), f"{found}", repr([found])):
        assert address not in shown and "contact " in shown  # the masked snippet only


def test_scan_paths_refuses_a_bad_setting_with_piiscans_own_error(tmp_path):
    from piiscan.errors import PiiscanError, UsageError

    with pytest.raises(UsageError, match=r"unknown setting 'onyl'") as unknown:
        piiscan.scan_paths([tmp_path], onyl=["core.email"])
    assert unknown.value.hint == "did you mean 'only'?"
    with pytest.raises(PiiscanError, match=r"scan_paths: min_confidence: must be between 0 and 1, got 2"):
        piiscan.scan_paths([tmp_path], min_confidence=2)
