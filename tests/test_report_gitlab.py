"""The GitLab secret-detection reporter (`-f gitlab`): schema, masking, ids, commits, CLI.

The schema in tests/data was written from GitLab's documentation of the 15.x report format
(its own schema file is not bundled); it refuses any property GitLab's schema does not define.
Every value is fake: Faker e-mail addresses and SSNs.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import subprocess
import sys
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import jsonschema
import pytest
from faker import Faker

import piiscan
from piiscan import cli
from piiscan.model import (
    Category,
    Finding,
    Pattern,
    Rule,
    ScanResult,
    Severity,
    Skipped,
    SkipReason,
    Stats,
)
from piiscan.report import FORMATS, render
from piiscan.report import gitlab
from git_repos import git, isolate_git_environment, new_repository

SCHEMA = Path(__file__).parent / "data" / "gitlab-secret-detection-report-15.x.schema.json"

fake = Faker("en_US")
Faker.seed(20241105)
EMAIL = fake.free_email()
SSN = fake.ssn()
OTHER_EMAIL = fake.free_email()
NOW = datetime(2024, 11, 5, 9, 30, 0, tzinfo=timezone.utc)


def make_rule(rule_id: str, entity: str, name: str, severity: Severity) -> Rule:
    return Rule(
        id=rule_id, entity=entity, name=name, category=Category.DIRECT, severity=severity,
        patterns=(Pattern(regex=r"\bx\b", score=0.5),), pack="core", source="core.yaml",
        description=f"Finds a {name.lower()}.",
    )


RULES = (
    make_rule("core.email", "EMAIL_ADDRESS", "Email address", Severity.HIGH),
    make_rule("us.ssn", "US_SSN", "US Social Security number", Severity.CRITICAL),
    make_rule("core.phone", "PHONE_NUMBER", "Phone number", Severity.MEDIUM),
)


def email_finding(path: str = "src/app.py", line: int = 7, value: str = EMAIL, **kw) -> Finding:
    prefix = "contact: "
    local, domain = value.split("@")
    return Finding(
        rule_id="core.email", entity="EMAIL_ADDRESS", path=path,
        start=100 + len(prefix), end=100 + len(prefix) + len(value),
        line=line, column=len(prefix) + 1, end_line=line, end_column=len(prefix) + 1 + len(value),
        confidence=kw.pop("confidence", 0.95), severity=kw.pop("severity", Severity.HIGH),
        category=Category.DIRECT, test_data=kw.pop("test_data", False),
        value=value, snippet=f"{prefix}{local[0]}***@{domain}", raw_snippet=prefix + value,
        fingerprint=kw.pop("fingerprint", "fp-email-" + path), **kw,
    )


def ssn_finding(path: str = "data/people.csv", line: int = 3, **kw) -> Finding:
    return Finding(
        rule_id="us.ssn", entity="US_SSN", path=path, start=40, end=40 + len(SSN),
        line=line, column=5, end_line=line, end_column=5 + len(SSN),
        confidence=0.9, severity=kw.pop("severity", Severity.CRITICAL), category=Category.DIRECT,
        test_data=kw.pop("test_data", False), value=SSN, snippet="ssn,***-**-" + SSN[-4:],
        raw_snippet=f"ssn,{SSN}", fingerprint=kw.pop("fingerprint", "fp-ssn-" + path), **kw,
    )


def make_result(findings=(), skipped=(), seconds: float = 0.25) -> ScanResult:
    stats = Stats(files_scanned=10, files_skipped=len(skipped), bytes_scanned=4096,
                  seconds=seconds)
    return ScanResult(tuple(findings), tuple(skipped), stats)


LEAK_COMMIT = fake.sha1()
SAMPLE = make_result(
    [
        email_finding(),
        ssn_finding(),
        ssn_finding("data/fixtures.csv", test_data=True, severity=Severity.INFO),
        ssn_finding("old/people.csv", commit=LEAK_COMMIT, commit_date="2024-05-06T07:08:09+00:00"),
        email_finding("-", line=1),
    ],
    [Skipped("assets/logo.png", SkipReason.BINARY)],
)


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft7Validator:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def report(result: ScanResult = SAMPLE, **kw) -> dict:
    kw.setdefault("now", NOW)
    return gitlab.to_dict(result, rules=RULES, **kw)


def rendered(result: ScanResult = SAMPLE, **kw) -> str:
    out = io.StringIO()
    render("gitlab", result, out, rules=RULES, **kw)
    return out.getvalue()


def by_file(doc: dict) -> dict[str, dict]:
    return {v["location"]["file"]: v for v in doc["vulnerabilities"]}


@pytest.fixture(autouse=True)
def isolated_git(monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_git_environment(monkeypatch)
    monkeypatch.setenv("PIISCAN_NO_CACHE", "1")


COMMIT_DATE = "2024-03-01T10:00:00+01:00"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return new_repository(tmp_path / "repo", fake.name(), fake.email())


def commit_all(root: Path, message: str) -> str:
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message, date=COMMIT_DATE)
    return git(root, "rev-parse", "HEAD")


def outside_any_work_tree(path: Path) -> bool:
    return gitlab.WorkTrees().root(str(path.resolve())) is None


# ----------------------------------------------------------------------------- the format


def test_gitlab_is_one_of_the_formats():
    assert "gitlab" in FORMATS
    text = rendered()
    assert text.endswith("\n")
    assert json.loads(text)["scan"]["type"] == "secret_detection"


def test_report_validates_against_the_schema(validator):
    doc = report()
    validator.validate(doc)
    assert doc["version"].startswith("15.")
    assert doc["schema"].endswith(f"/v{doc['version']}/dist/secret-detection-report-format.json")
    assert len(doc["vulnerabilities"]) == len(SAMPLE.findings)


def test_rendered_text_validates_too(validator):
    validator.validate(json.loads(rendered()))


def test_an_empty_scan_is_a_valid_report_with_no_vulnerabilities(validator):
    doc = report(make_result())
    validator.validate(doc)
    assert doc["vulnerabilities"] == []
    assert doc["scan"]["status"] == "success"
    # The loaded rules are still listed, so GitLab knows what ran and found nothing.
    assert [i["value"] for i in doc["scan"]["primary_identifiers"]] == [r.id for r in RULES]


def test_an_empty_scan_with_no_rules_is_valid(validator):
    doc = gitlab.to_dict(make_result(), now=NOW)
    validator.validate(doc)
    assert doc["vulnerabilities"] == [] and "primary_identifiers" not in doc["scan"]


def test_scan_metadata():
    scan = report(make_result(seconds=90.4))["scan"]
    for component in (scan["analyzer"], scan["scanner"]):
        assert component["id"] == "piiscan"
        assert component["version"] == piiscan.__version__
        assert component["vendor"] == {"name": "piiscan"}
    assert scan["type"] == "secret_detection"
    # The end is when the report was written; the start is that minus the scan's duration.
    assert (scan["start_time"], scan["end_time"]) == ("2024-11-05T09:28:29", "2024-11-05T09:30:00")


def test_scan_times_are_utc_whatever_the_clock_zone():
    paris = timezone(timedelta(hours=1))
    scan = report(make_result(seconds=0), now=datetime(2024, 11, 5, 10, 30, tzinfo=paris))["scan"]
    assert scan["start_time"] == scan["end_time"] == "2024-11-05T09:30:00"


def test_incomplete_scan_is_a_failure_with_a_message_per_unread_file(validator):
    result = make_result(
        [email_finding()],
        [Skipped("secret/locked.txt", SkipReason.UNREADABLE, "Permission denied"),
         Skipped("assets/logo.png", SkipReason.BINARY),
         Skipped("dump.sql", SkipReason.TIMEOUT)],
    )
    doc = report(result)
    validator.validate(doc)
    assert doc["scan"]["status"] == "failure"
    messages = doc["scan"]["messages"]
    assert [m["level"] for m in messages] == ["warn", "warn"]
    assert "secret/locked.txt" in messages[0]["value"]
    assert "Permission denied" in messages[0]["value"]
    assert "dump.sql" in messages[1]["value"]
    assert not any("logo.png" in m["value"] for m in messages)  # a policy skip is no problem


def test_policy_skips_keep_the_scan_a_success():
    doc = report(make_result([], [Skipped("assets/logo.png", SkipReason.BINARY)]))
    assert doc["scan"]["status"] == "success" and "messages" not in doc["scan"]


# ----------------------------------------------------------------------------- vulnerabilities


def test_vulnerability_fields():
    vuln = by_file(report())["src/app.py"]
    assert vuln["name"] == "Email address"
    assert vuln["description"].startswith("Finds a email address.")
    assert vuln["severity"] == "High"
    assert vuln["solution"]
    assert vuln["identifiers"] == [
        {"type": "piiscan_rule_id", "name": "piiscan rule core.email", "value": "core.email"}
    ]
    assert vuln["location"]["start_line"] == vuln["location"]["end_line"] == 7
    details = vuln["details"]
    assert details["entity"]["value"] == "EMAIL_ADDRESS"
    assert details["confidence"]["value"] == 0.95
    assert details["test_data"]["value"] is False
    assert details["fingerprint"]["value"] == "fp-email-src/app.py"


@pytest.mark.parametrize(
    ("severity", "expected"),
    [(Severity.CRITICAL, "Critical"), (Severity.HIGH, "High"), (Severity.MEDIUM, "Medium"),
     (Severity.LOW, "Low"), (Severity.INFO, "Info")],
)
def test_severity_mapping(severity, expected):
    doc = report(make_result([email_finding(severity=severity)]))
    assert doc["vulnerabilities"][0]["severity"] == expected


def test_test_data_is_info_and_says_so():
    vuln = by_file(report())["data/fixtures.csv"]
    assert vuln["severity"] == "Info"
    assert vuln["details"]["test_data"]["value"] is True
    assert "test" in vuln["description"]
    # Even if a rule marked a test value with a higher severity, GitLab gets Info.
    odd = report(make_result([email_finding(test_data=True, severity=Severity.HIGH)]))
    assert odd["vulnerabilities"][0]["severity"] == "Info"


def test_a_finding_of_an_unloaded_rule_is_described_and_listed(validator):
    ner = dataclasses.replace(email_finding(), rule_id="ner.person", entity="PERSON")
    doc = report(make_result([ner]))
    validator.validate(doc)
    vuln = doc["vulnerabilities"][0]
    assert vuln["name"] == "Person"
    assert "ner.person" in vuln["description"]
    assert vuln["identifiers"][0]["value"] == "ner.person"
    assert doc["scan"]["primary_identifiers"][-1]["value"] == "ner.person"


# ----------------------------------------------------------------------------- values


def test_values_are_masked_by_default():
    text = rendered()
    assert EMAIL not in text and SSN not in text
    vuln = by_file(json.loads(text))["src/app.py"]
    assert vuln["raw_source_code_extract"] == "contact: " + email_finding().snippet[9:]
    assert "***@" in vuln["raw_source_code_extract"]


def test_show_values_puts_the_raw_excerpt_in_the_report():
    text = rendered(show_values=True)
    assert EMAIL in text and SSN in text
    doc = json.loads(text)
    vuln = by_file(doc)["src/app.py"]
    assert vuln["raw_source_code_extract"] == "contact: " + EMAIL
    # Only there: names, descriptions and details never carry a value.
    for other in (vuln["name"], vuln["description"], json.dumps(vuln["details"])):
        assert EMAIL not in other


def test_no_extract_when_there_is_no_snippet(validator):
    bare = dataclasses.replace(email_finding(), snippet="", raw_snippet="")
    doc = report(make_result([bare]))
    validator.validate(doc)
    assert "raw_source_code_extract" not in doc["vulnerabilities"][0]


# ----------------------------------------------------------------------------- ids


def test_ids_are_uuids_stable_across_runs():
    first = [v["id"] for v in report()["vulnerabilities"]]
    next_year = datetime(2025, 1, 1, tzinfo=timezone.utc)
    later = [v["id"] for v in report(now=next_year)["vulnerabilities"]]
    assert first == later
    assert len(set(first)) == len(first)
    for vuln_id in first:
        assert str(uuid.UUID(vuln_id)) == vuln_id


def test_ids_follow_the_fingerprint_not_the_value_or_the_line():
    one = report(make_result([email_finding(line=7)]))["vulnerabilities"][0]["id"]
    moved = report(make_result([email_finding(line=70)]))["vulnerabilities"][0]["id"]
    other = report(make_result([email_finding(value=OTHER_EMAIL)]))["vulnerabilities"][0]["id"]
    assert one == moved == other
    refingerprinted = report(make_result([email_finding(fingerprint="another")]))
    assert refingerprinted["vulnerabilities"][0]["id"] != one


def test_history_ids_include_the_commit():
    older = email_finding(commit=fake.sha1())
    newer = email_finding(commit=fake.sha1())
    ids = [v["id"] for v in report(make_result([older, newer]))["vulnerabilities"]]
    assert len(set(ids)) == 2


def test_equal_fingerprints_still_get_distinct_stable_ids():
    twins = make_result([email_finding(), email_finding()])
    ids = [v["id"] for v in report(twins)["vulnerabilities"]]
    assert len(set(ids)) == 2
    assert ids == [v["id"] for v in report(twins)["vulnerabilities"]]


def test_a_finding_without_fingerprint_gets_an_id(validator):
    doc = report(make_result([email_finding(fingerprint="")]))
    validator.validate(doc)
    assert uuid.UUID(doc["vulnerabilities"][0]["id"])


# ----------------------------------------------------------------------------- commits and files


def test_history_findings_carry_their_commit():
    vuln = by_file(report())["old/people.csv"]
    assert vuln["location"]["commit"] == {"sha": LEAK_COMMIT, "date": "2024-05-06T07:08:09+00:00"}


def test_stdin_has_no_commit():
    vuln = by_file(report())["-"]
    assert vuln["location"]["commit"] == {"sha": gitlab.NO_COMMIT}


def test_files_in_a_work_tree_get_its_head_and_a_root_relative_path(repo, monkeypatch):
    (repo / "src").mkdir()
    (repo / "src" / "app.py").write_text(f"contact: {EMAIL}\n", encoding="utf-8")
    head = commit_all(repo, "app")
    monkeypatch.chdir(repo / "src")  # paths as given are relative to here, not to the root
    doc = report(make_result([email_finding(path="app.py")]))
    location = doc["vulnerabilities"][0]["location"]
    assert location["file"] == "src/app.py"
    assert location["commit"] == {"sha": head}


def test_head_is_asked_once_per_work_tree(repo, monkeypatch):
    for name in ("a.txt", "b.txt"):
        (repo / name).write_text("x\n", encoding="utf-8")
    commit_all(repo, "two files")
    trees = gitlab.WorkTrees()
    calls = []
    real = gitlab._head_commit
    monkeypatch.setattr(gitlab, "_head_commit", lambda root: calls.append(root) or real(root))
    monkeypatch.chdir(repo)
    report(make_result([email_finding("a.txt"), email_finding("b.txt")]), trees=trees)
    assert calls == [os.getcwd()]  # one git call for both files, at the work tree's root


def test_a_work_tree_without_commits_gives_the_zero_commit(repo, monkeypatch):
    (repo / "new.txt").write_text("x\n", encoding="utf-8")
    monkeypatch.chdir(repo)
    location = report(make_result([email_finding("new.txt")]))["vulnerabilities"][0]["location"]
    assert location == {"file": "new.txt", "start_line": 7, "end_line": 7,
                        "commit": {"sha": gitlab.NO_COMMIT}}


def test_outside_a_work_tree_the_zero_commit_and_a_relative_path(tmp_path, monkeypatch):
    if not outside_any_work_tree(tmp_path):
        pytest.skip("the temporary folder is inside a git work tree")
    (tmp_path / "logs").mkdir()
    monkeypatch.chdir(tmp_path)
    [vuln] = report(make_result([email_finding("logs/app.log")]))["vulnerabilities"]
    location = vuln["location"]
    assert location["file"] == "logs/app.log"
    assert location["commit"] == {"sha": gitlab.NO_COMMIT}


def test_without_git_the_report_is_still_written(repo, monkeypatch):
    (repo / "a.txt").write_text("x\n", encoding="utf-8")
    commit_all(repo, "a")
    monkeypatch.chdir(repo)
    monkeypatch.setenv("PATH", str(repo / "no-such-bin"))
    location = report(make_result([email_finding("a.txt")]))["vulnerabilities"][0]["location"]
    assert location["commit"] == {"sha": gitlab.NO_COMMIT}


# ----------------------------------------------------------------------------- the CLI


def run(capsys, *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return (0 if info.value.code is None else info.value.code), out, err


@pytest.fixture
def project(repo: Path) -> tuple[Path, str]:
    (repo / "people.txt").write_text(f"name: Jo\nssn: {SSN}\n", encoding="utf-8")
    (repo / "contact.log").write_text(f"mail {EMAIL} today\n", encoding="utf-8")
    (repo / "clean.txt").write_text("nothing personal here\n", encoding="utf-8")
    return repo, commit_all(repo, "files")


def test_cli_writes_the_report_to_a_file(capsys, validator, project, monkeypatch):
    root, head = project
    monkeypatch.chdir(root)
    code, out, err = run(capsys, "scan", ".", "--no-config", "-f", "gitlab", "-o", "report.json")
    assert code == 1  # exit codes do not depend on the format
    assert out == "" and err == ""
    text = (root / "report.json").read_text(encoding="utf-8")
    assert EMAIL not in text and SSN not in text
    doc = json.loads(text)
    validator.validate(doc)
    files = {v["location"]["file"]: v for v in doc["vulnerabilities"]}
    assert {"people.txt", "contact.log"} <= set(files)
    assert files["people.txt"]["identifiers"][0]["value"] == "us.ssn"
    assert {v["location"]["commit"]["sha"] for v in doc["vulnerabilities"]} == {head}


def test_cli_show_values(capsys, project, monkeypatch):
    monkeypatch.chdir(project[0])
    code, out, _ = run(capsys, "scan", ".", "--no-config", "-f", "gitlab", "--show-values")
    assert code == 1
    assert EMAIL in out and SSN in out


def test_cli_clean_scan_exits_0_with_a_valid_empty_report(capsys, validator, project, monkeypatch):
    monkeypatch.chdir(project[0])
    code, out, _ = run(capsys, "scan", "clean.txt", "--no-config", "-f", "gitlab")
    assert code == 0
    doc = json.loads(out)
    validator.validate(doc)
    assert doc["vulnerabilities"] == []


def test_cli_format_from_the_config_file(capsys, validator, project, monkeypatch):
    root = project[0]
    (root / ".piiscan.yaml").write_text("format: gitlab\nfail_on: never\n", encoding="utf-8")
    monkeypatch.chdir(root)
    code, out, _ = run(capsys, "scan", "people.txt")
    assert code == 0
    validator.validate(json.loads(out))


def test_cli_history_scan_uses_the_commit_that_added_the_value(capsys, validator, repo,
                                                                monkeypatch):
    (repo / "people.txt").write_text(f"ssn: {SSN}\n", encoding="utf-8")
    leaked = commit_all(repo, "leak")
    (repo / "people.txt").write_text("removed\n", encoding="utf-8")
    commit_all(repo, "remove")
    monkeypatch.chdir(repo)
    code, out, _ = run(capsys, "scan", "--history", "--no-config", "-f", "gitlab", "-q")
    assert code == 1
    doc = json.loads(out)
    validator.validate(doc)
    [vuln] = [v for v in doc["vulnerabilities"] if v["identifiers"][0]["value"] == "us.ssn"]
    assert vuln["location"]["file"] == "people.txt"
    assert vuln["location"]["commit"]["sha"] == leaked
    assert vuln["location"]["commit"]["date"] == "2024-03-01T10:00:00+01:00"
    assert SSN not in out


def test_cli_unknown_format_lists_gitlab(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "scan", ".", "--no-config", "-f", "xml")
    assert code == 2
    assert "sarif, gitlab" in err


def test_other_formats_do_not_import_the_gitlab_reporter(tmp_path):
    target = tmp_path / "notes.txt"
    target.write_text(f"mail {EMAIL} today\n", encoding="utf-8")
    code = (
        "import atexit, sys\n"
        "atexit.register(lambda: print('piiscan.report.gitlab' in sys.modules))\n"
        "from piiscan.cli import main\n"
        f"main(['scan', {str(target)!r}, '--no-config', '-f', 'json'])\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, env={**os.environ, "PIISCAN_NO_CACHE": "1"})
    assert done.returncode == 1, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "False"
