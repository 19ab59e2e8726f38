"""Reporters: JSON contract, SARIF validity, and a table that never obeys what it prints."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import re
import shutil
import subprocess

import jsonschema
import pytest
from faker import Faker

import piiscan
from shared_tools import SARIF_SCHEMA, VALIDATE_SARIF
from piiscan.errors import UsageError
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
from piiscan.report import sarif as sarif_report
from piiscan.report import table as table_report
from piiscan.suppress import UnusedIgnore


fake = Faker("en_US")
Faker.seed(20240611)

EMAIL = fake.email()
SSN = fake.ssn()
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def make_rule(rule_id: str, entity: str, name: str, severity: Severity, **kw) -> Rule:
    return Rule(
        id=rule_id,
        entity=entity,
        name=name,
        category=kw.pop("category", Category.DIRECT),
        severity=severity,
        patterns=(Pattern(regex=r"\bx\b", score=0.5),),
        pack="core",
        source="core.yaml",
        description=kw.pop("description", f"Finds a {name.lower()}."),
        **kw,
    )


RULES = (
    make_rule("core.email", "EMAIL_ADDRESS", "Email address", Severity.HIGH, validator="email",
              tags=("gdpr",)),
    make_rule("us.ssn", "US_SSN", "US Social Security number", Severity.CRITICAL,
              validator="us_ssn", tags=("hipaa",)),
    make_rule("core.phone", "PHONE_NUMBER", "Phone number", Severity.MEDIUM, validator="phone"),
    make_rule("core.postal-code", "POSTAL_CODE", "Postal code", Severity.LOW,
              category=Category.QUASI, context_required=True),
    make_rule("core.street-address", "STREET_ADDRESS", "Street address", Severity.MEDIUM),
)


def mask_email(value: str) -> str:
    local, domain = value.split("@")
    return f"{local[0]}***@{domain}"


def email_finding(path: str = "src/app.py", line: int = 7, **kw) -> Finding:
    prefix = "contact: "
    return Finding(
        rule_id="core.email", entity="EMAIL_ADDRESS", path=path,
        start=100 + len(prefix), end=100 + len(prefix) + len(EMAIL),
        line=line, column=len(prefix) + 1, end_line=line,
        end_column=len(prefix) + 1 + len(EMAIL),
        confidence=kw.pop("confidence", 0.95), severity=kw.pop("severity", Severity.HIGH),
        category=Category.DIRECT, test_data=kw.pop("test_data", False),
        value=EMAIL, snippet=prefix + mask_email(EMAIL), raw_snippet=prefix + EMAIL,
        fingerprint=kw.pop("fingerprint", "fp-email-" + path), **kw,
    )


def ssn_finding(path: str = "data/people.csv", line: int = 3, **kw) -> Finding:
    masked = "***-**-" + SSN[-4:]
    return Finding(
        rule_id="us.ssn", entity="US_SSN", path=path, start=40, end=40 + len(SSN),
        line=line, column=5, end_line=line, end_column=5 + len(SSN),
        confidence=kw.pop("confidence", 0.9), severity=kw.pop("severity", Severity.CRITICAL),
        category=Category.DIRECT, test_data=kw.pop("test_data", False),
        value=SSN, snippet=f"ssn,{masked}", raw_snippet=f"ssn,{SSN}",
        fingerprint="fp-ssn-" + path, **kw,
    )


def make_result(findings=(), skipped=(), **stats) -> ScanResult:
    defaults = {"files_scanned": 10, "files_skipped": len(skipped), "bytes_scanned": 4096,
                "seconds": 0.25}
    return ScanResult(tuple(findings), tuple(skipped), Stats(**{**defaults, **stats}))


SAMPLE = make_result(
    [email_finding(), ssn_finding(), ssn_finding("data/fixtures.csv", test_data=True,
                                                 severity=Severity.INFO, commit="c0ffee" * 6)],
    [Skipped("assets/logo.png", SkipReason.BINARY),
     Skipped("secret/locked.txt", SkipReason.UNREADABLE, "Permission denied")],
)


def rendered(fmt: str, result: ScanResult = SAMPLE, **kw) -> str:
    out = io.StringIO()
    render(fmt, result, out, rules=RULES, **kw)
    return out.getvalue()


# ----------------------------------------------------------------------------- dispatch


def test_formats_are_the_four_reporters():
    assert FORMATS == ("table", "json", "sarif", "gitlab")
    for fmt in FORMATS:
        assert rendered(fmt).endswith("\n")


def test_unknown_format_is_a_usage_error():
    with pytest.raises(UsageError) as err:
        rendered("xml")
    assert "xml" in err.value.message and "sarif" in err.value.hint


# ----------------------------------------------------------------------------- JSON

FINDING_KEYS = {
    "rule_id": str, "entity": str, "path": str, "start": int, "end": int, "line": int,
    "column": int, "end_line": int, "end_column": int, "confidence": float, "severity": str,
    "category": str, "test_data": bool, "snippet": str, "fingerprint": str,
}


def test_json_has_exactly_the_contract_fields_in_order():
    text = rendered("json")
    doc = json.loads(text)
    assert list(doc) == ["version", "findings", "skipped", "stats"]
    assert doc["version"] == piiscan.__version__
    first = doc["findings"][0]
    assert list(first) == list(FINDING_KEYS)
    for key, kind in FINDING_KEYS.items():
        assert type(first[key]) is kind, key
    assert first["rule_id"] == "core.email" and first["severity"] == "high"
    assert first["category"] == "direct" and first["path"] == "src/app.py"
    assert (first["line"], first["column"]) == (7, 10)
    assert first["end_column"] - first["column"] == len(EMAIL)
    assert doc["stats"] == {"files_scanned": 10, "files_skipped": 2, "bytes_scanned": 4096,
                            "seconds": 0.25}
    assert doc["skipped"] == [
        {"path": "assets/logo.png", "reason": "binary"},
        {"path": "secret/locked.txt", "reason": "unreadable", "detail": "Permission denied"},
    ]
    # 2-space indentation and one trailing newline
    assert text.startswith('{\n  "version"') and text.endswith("}\n")


def test_json_commit_only_when_present():
    findings = json.loads(rendered("json"))["findings"]
    assert "commit" not in findings[0] and "commit" not in findings[1]
    assert findings[2]["commit"] == "c0ffee" * 6
    assert findings[2]["test_data"] is True


def test_json_never_contains_raw_values_by_default():
    text = rendered("json")
    assert EMAIL not in text and SSN not in text
    doc = json.loads(text)
    assert all("value" not in f for f in doc["findings"])
    assert doc["findings"][0]["snippet"] == "contact: " + mask_email(EMAIL)


def test_json_show_values_adds_value_and_raw_snippet():
    doc = json.loads(rendered("json", show_values=True))
    first = doc["findings"][0]
    assert list(first)[-1] == "value" and first["value"] == EMAIL
    assert first["snippet"] == "contact: " + EMAIL
    assert doc["findings"][1]["value"] == SSN


def test_json_rounds_confidence_and_keeps_unicode():
    result = make_result([email_finding(path="données/café.txt", confidence=2 / 3)])
    text = rendered("json", result)
    assert "données/café.txt" in text  # ensure_ascii=False
    assert json.loads(text)["findings"][0]["confidence"] == 0.667


def test_json_is_deterministic():
    assert rendered("json") == rendered("json")


def test_json_empty_result():
    doc = json.loads(rendered("json", make_result()))
    assert doc["findings"] == [] and doc["skipped"] == []


# ----------------------------------------------------------------------------- SARIF


@pytest.fixture(scope="module")
def sarif_validator():
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    return jsonschema.Draft4Validator(schema)


def sarif(result: ScanResult = SAMPLE, **kw) -> dict:
    kw.setdefault("base_dir", os.getcwd())
    return json.loads(rendered("sarif", result, **kw))


@pytest.mark.parametrize("result", [SAMPLE, make_result()], ids=["findings", "empty"])
def test_sarif_validates_against_schema(sarif_validator, result):
    errors = [e.message for e in sarif_validator.iter_errors(sarif(result))]
    assert errors == []


def test_sarif_driver_lists_every_loaded_rule():
    doc = sarif()
    assert doc["version"] == "2.1.0" and doc["$schema"].endswith("sarif-schema-2.1.0.json")
    (run,) = doc["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "piiscan"
    assert driver["version"] == driver["semanticVersion"] == piiscan.__version__
    assert driver["informationUri"].startswith("https://")
    assert [r["id"] for r in driver["rules"]] == [r.id for r in RULES]
    ssn = driver["rules"][1]
    assert ssn["name"] == "USSocialSecurityNumber"
    assert ssn["shortDescription"]["text"].startswith("US Social Security number")
    assert ssn["fullDescription"]["text"] == "Finds a us social security number."
    assert ssn["help"]["text"] and "US_SSN" in ssn["help"]["markdown"]
    assert ssn["defaultConfiguration"]["level"] == "error"
    props = ssn["properties"]
    assert props["tags"][0] == "hipaa"
    assert {"privacy", "security", "direct"} <= set(props["tags"])
    assert props["precision"] == "high"
    postal = driver["rules"][3]["properties"]
    assert "quasi" in postal["tags"] and postal["precision"] == "medium"
    assert driver["rules"][4]["properties"]["precision"] == "low"


# GitHub's bands: critical 9.0-10.0, high 7.0-8.9, medium 4.0-6.9, low 0.1-3.9, none 0.0.
@pytest.mark.parametrize(
    "severity, low, high, level",
    [
        (Severity.CRITICAL, 9.0, 10.0, "error"),
        (Severity.HIGH, 7.0, 8.9, "error"),
        (Severity.MEDIUM, 4.0, 6.9, "warning"),
        (Severity.LOW, 0.1, 3.9, "warning"),
        (Severity.INFO, 0.0, 0.0, "note"),
    ],
)
def test_sarif_severity_bands_and_levels(severity, low, high, level):
    rule = make_rule("core.email", "EMAIL_ADDRESS", "Email address", severity)
    finding = email_finding(severity=severity)
    out = io.StringIO()
    render("sarif", make_result([finding]), out, rules=[rule])
    run = json.loads(out.getvalue())["runs"][0]
    score = run["tool"]["driver"]["rules"][0]["properties"]["security-severity"]
    assert isinstance(score, str) and low <= float(score) <= high
    assert run["tool"]["driver"]["rules"][0]["defaultConfiguration"]["level"] == level
    assert run["results"][0]["level"] == level


def test_sarif_results():
    run = sarif()["runs"][0]
    assert run["columnKind"] == "unicodeCodePoints"
    rules = run["tool"]["driver"]["rules"]
    email, ssn, test_ssn = run["results"]
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
    assert email["level"] == "error" and ssn["level"] == "error"
    assert test_ssn["level"] == "note"
    assert "Email address" in email["message"]["text"]
    assert "EMAIL_ADDRESS" in email["message"]["text"]
    location = email["locations"][0]["physicalLocation"]
    assert location["region"] == {
        "startLine": 7, "startColumn": 10, "endLine": 7, "endColumn": 10 + len(EMAIL),
        "snippet": {"text": "contact: " + mask_email(EMAIL)},
    }
    assert email["partialFingerprints"] == {"piiscanFingerprint/v1": "fp-email-src/app.py"}
    assert email["properties"] == {"entity": "EMAIL_ADDRESS", "category": "direct",
                                   "confidence": 0.95, "test_data": False}
    assert test_ssn["properties"]["commit"] == "c0ffee" * 6
    assert test_ssn["properties"]["test_data"] is True


def test_sarif_never_contains_raw_values_by_default():
    text = rendered("sarif", base_dir=os.getcwd())
    assert EMAIL not in text and SSN not in text
    shown = rendered("sarif", base_dir=os.getcwd(), show_values=True)
    assert EMAIL in shown and SSN in shown


def test_sarif_uris_relative_to_base_dir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    inside = os.path.join("src", "sub dir", "app.py")
    outside = tmp_path.parent / "elsewhere.txt"
    result = make_result([
        email_finding(path=inside),
        email_finding(path=str(tmp_path / "abs.py")),
        email_finding(path=str(outside)),
        email_finding(path="-"),
    ])
    run = sarif(result, base_dir=None)["runs"][0]  # default base: the working directory
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == tmp_path.as_uri() + "/"
    locations = [r["locations"][0]["physicalLocation"]["artifactLocation"]
                 for r in run["results"]]
    assert locations[0] == {"uri": "src/sub%20dir/app.py", "uriBaseId": "%SRCROOT%"}
    assert locations[1] == {"uri": "abs.py", "uriBaseId": "%SRCROOT%"}
    assert locations[2] == {"uri": outside.as_uri()}
    assert locations[3]["uri"] == "stdin"


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_sarif_uris_are_relative_to_the_repository_when_run_in_a_subfolder(tmp_path, monkeypatch):
    repo = tmp_path / "repo"
    (repo / "services" / "billing").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    monkeypatch.chdir(repo / "services")
    result = make_result([
        email_finding(path="billing/app.py"),  # as a scan of `billing/` from here reports it
        email_finding(path="db/seed.sql", commit="ab" * 20),  # history: from the root already
        email_finding(path=str(tmp_path / "outside.txt")),
    ])
    run = sarif(result, base_dir=None)["runs"][0]
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == repo.as_uri() + "/"
    locations = [r["locations"][0]["physicalLocation"]["artifactLocation"] for r in run["results"]]
    assert locations == [
        {"uri": "services/billing/app.py", "uriBaseId": "%SRCROOT%"},
        {"uri": "db/seed.sql", "uriBaseId": "%SRCROOT%"},
        {"uri": (tmp_path / "outside.txt").as_uri()},
    ]
    fixes = [r["fixes"][0]["artifactChanges"][0]["artifactLocation"]
             for r in run["results"] if "fixes" in r]
    assert fixes == [locations[0], locations[2]]  # a history finding gets no fix (see below)


def test_sarif_explicit_base_dir(tmp_path, monkeypatch):
    (tmp_path / "repo").mkdir()
    monkeypatch.chdir(tmp_path)
    result = make_result([email_finding(path="repo/pkg/mod.py")])
    run = sarif(result, base_dir="repo")["runs"][0]
    location = run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert location == {"uri": "pkg/mod.py", "uriBaseId": "%SRCROOT%"}


def test_sarif_notifications_for_skipped_files():
    run = sarif()["runs"][0]
    (invocation,) = run["invocations"]
    assert invocation["executionSuccessful"] is False
    binary, unreadable = invocation["toolExecutionNotifications"]
    assert binary["level"] == "note"
    assert "assets/logo.png" in binary["message"]["text"]
    assert "binary" in binary["message"]["text"]
    assert unreadable["level"] == "error"
    assert "secret/locked.txt" in unreadable["message"]["text"]
    assert "unreadable" in unreadable["message"]["text"]


def test_sarif_policy_skips_keep_execution_successful():
    result = make_result([], [Skipped("big.iso", SkipReason.TOO_LARGE)])
    invocation = sarif(result)["runs"][0]["invocations"][0]
    assert invocation["executionSuccessful"] is True
    assert invocation["toolExecutionNotifications"][0]["level"] == "note"


def test_sarif_finding_of_an_unloaded_rule_gets_a_descriptor(sarif_validator):
    stray = Finding("ner.person", "PERSON", "notes.txt", 0, 4, 1, 1, 1, 5, 0.6, Severity.MEDIUM,
                    Category.DIRECT, False, "xxxx", "****", "xxxx")
    doc = sarif(make_result([stray]))
    rules = doc["runs"][0]["tool"]["driver"]["rules"]
    result = doc["runs"][0]["results"][0]
    assert rules[result["ruleIndex"]]["id"] == "ner.person"
    assert "partialFingerprints" not in result  # no fingerprint: none invented
    assert list(sarif_validator.iter_errors(doc)) == []


@pytest.mark.parametrize("name, expected", [
    ("US Social Security number", "USSocialSecurityNumber"),
    ("Email address", "EmailAddress"),
    ("IBAN (international bank account)", "IBANInternationalBankAccount"),
])
def test_camel_case(name, expected):
    assert sarif_report.camel_case(name) == expected


@pytest.mark.skipif(shutil.which("npm") is None, reason="validate-sarif needs npm")
def test_sarif_passes_validate_sarif(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = make_result(
        [email_finding(), ssn_finding(), ssn_finding("data/fixtures.csv", test_data=True,
                                                     severity=Severity.INFO, commit="ab" * 20),
         email_finding(path="-")],
        [Skipped("assets/logo.png", SkipReason.BINARY),
         Skipped("secret/locked.txt", SkipReason.UNREADABLE, "Permission denied")],
    )
    report = tmp_path / "piiscan.sarif"
    with report.open("w", encoding="utf-8") as out:
        render("sarif", result, out, rules=RULES)
    proc = subprocess.run([str(VALIDATE_SARIF), str(report)], capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "no errors" in proc.stdout


# ----------------------------------------------------------------------------- table

EVIL_PATH = "src/\x1b[2J[bold]x[/]\x9b31m.py"
OSC52 = "\x1b]52;c;ZXZpbA==\x07"


def evil_result() -> ScanResult:
    finding = email_finding(path=EVIL_PATH)
    snippet = f"{OSC52}[red]boom[/red] \x7f\tcontact: {mask_email(EMAIL)}"
    raw = snippet.replace(mask_email(EMAIL), EMAIL)
    bad = dataclasses.replace(finding, snippet=snippet, raw_snippet=raw)
    return make_result([bad], [Skipped("dir/\x1b]0;title\x07.bin", SkipReason.BINARY)])


def test_table_masks_values():
    text = rendered("table")
    assert EMAIL not in text and SSN not in text
    assert mask_email(EMAIL) in text and "***-**-" + SSN[-4:] in text
    shown = rendered("table", show_values=True)
    assert EMAIL in shown and SSN in shown


def test_table_groups_by_file_and_marks_test_data():
    lines = rendered("table").splitlines()
    assert lines[0] == "src/app.py"
    row = lines[1].split()
    assert row[:5] == ["7:10", "high", "EMAIL_ADDRESS", "core.email", "0.95"]
    assert "data/people.csv" in lines
    test_row = next(line for line in lines if "(test data)" in line)
    assert "info" in test_row and "us.ssn" in test_row
    assert any(line.startswith("data/fixtures.csv @ c0ffeec0ffee") for line in lines)


def test_table_escapes_control_characters_and_markup():
    text = rendered("table", evil_result())
    assert "\x1b" not in text and "\x07" not in text and "\x9b" not in text
    assert "\x7f" not in text and "\t" not in text
    assert "src/\\x1b[2J[bold]x[/]\\x9b31m.py" in text  # path shown literally
    assert "\\x1b]52;c;ZXZpbA==\\x07[red]boom[/red] \\x7f contact:" in text
    assert "dir/\\x1b]0;title\\x07.bin" in text


def test_table_escapes_even_with_colour():
    text = rendered("table", evil_result(), color=True)
    assert ANSI.search(text)  # colours are on...
    assert "\\x1b[2J[bold]x[/]" in text  # ...yet the file's escapes are still only text
    assert "\x1b[2J" not in text and "\x1b]" not in text and "\x07" not in text


@pytest.mark.parametrize("raw, shown", [
    ("a\x1bb", "a\\x1bb"),
    ("tab\there", "tab here"),
    ("nl\nx", "nl\\x0ax"),
    ("del\x7f", "del\\x7f"),
    ("csi\x9b", "csi\\x9b"),
    ("rlo\u202eabc", "rlo\\u202eabc"),
    ("[bold]plain[/]", "[bold]plain[/]"),
    ("naïve €", "naïve €"),
])
def test_visible(raw, shown):
    assert table_report.visible(raw) == shown


def test_table_no_ansi_when_not_a_terminal():
    assert "\x1b" not in rendered("table")


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_table_colour_auto_follows_the_terminal(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    tty = FakeTerminal()
    render("table", SAMPLE, tty, rules=RULES)
    assert ANSI.search(tty.getvalue())
    plain = FakeTerminal()
    render("table", SAMPLE, plain, rules=RULES, color=False)
    assert "\x1b" not in plain.getvalue()
    monkeypatch.setenv("NO_COLOR", "1")
    no_color = FakeTerminal()
    render("table", SAMPLE, no_color, rules=RULES)
    assert "\x1b" not in no_color.getvalue()


def test_table_summary_counts():
    severities = [Severity.CRITICAL] * 3 + [Severity.HIGH] * 5 + [Severity.INFO] * 4
    paths = ["a.py", "b.py", "c.txt", "d/e.yaml"]
    findings = [email_finding(path=paths[i % 4], line=i + 1, severity=s)
                for i, s in enumerate(severities)]
    skipped = [Skipped("x.bin", SkipReason.BINARY), Skipped("y.iso", SkipReason.TOO_LARGE)]
    result = make_result(findings, skipped, files_scanned=120, seconds=0.4)
    last = rendered("table", result).splitlines()[-1]
    assert last == ("12 findings (3 critical, 5 high, 4 info) in 4 files · 2 skipped · "
                    "120 files scanned in 0.4s")


def test_table_summary_without_findings():
    text = rendered("table", make_result(files_scanned=1, seconds=0.04))
    assert text == "No findings in 1 file · scanned in 0.04s\n"
    text = rendered("table", make_result(files_scanned=2, seconds=75.2))
    assert text == "No findings in 2 files · scanned in 1m15s\n"
    text = rendered("table", make_result(files_scanned=37))
    assert text.splitlines()[-1].startswith("No findings in 37 files")


def test_table_lists_errors_and_summarises_many_policy_skips():
    skipped = ([Skipped(f"img/{i}.png", SkipReason.BINARY) for i in range(30)]
               + [Skipped(f"dump{i}.sql", SkipReason.TOO_LARGE) for i in range(5)]
               + [Skipped("locked.txt", SkipReason.UNREADABLE, "Permission denied")])
    text = rendered("table", make_result([], skipped))
    assert "locked.txt: unreadable (Permission denied)" in text
    assert "img/3.png" not in text
    assert "Skipped 35 files: 30 binary, 5 too large" in text
    assert text.rstrip().endswith("scan incomplete")


def test_table_lists_few_policy_skips():
    text = rendered("table", make_result([], [Skipped("logo.png", SkipReason.BINARY)]))
    assert "logo.png: binary" in text


def test_table_does_not_wrap_long_paths_when_piped():
    deep = "/".join(f"directory-{i}" for i in range(40)) + "/file.py"
    text = rendered("table", make_result([email_finding(path=deep)]))
    assert deep in text.splitlines()
    assert all(line == line.rstrip() for line in text.splitlines())


def test_table_survives_a_non_utf8_stream():
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="ascii")
    render("table", make_result([email_finding(path="café/naïve.py")]), stream, rules=RULES)
    stream.flush()
    text = raw.getvalue().decode("ascii")
    assert "caf\\xe9/na\\xefve.py" in text
    assert " - 10 files scanned" in text


def _table_both_ways(result: ScanResult, show_values: bool = False) -> tuple[str, str]:
    plain, through_rich = io.StringIO(), io.StringIO()
    table_report.write(result, plain, show_values=show_values)
    table_report.write(result, through_rich, show_values=show_values, plain=False)
    return plain.getvalue(), through_rich.getvalue()


def test_piped_table_is_plain_text_equal_to_what_rich_prints():
    # Piped without colour the table is written without rich: it must be what rich prints.
    wide = email_finding(path="données/日本語/ｗｉｄｅ.py", line=12345)
    odd = dataclasses.replace(ssn_finding(), snippet="  \xa0zero\u200bwidth é\u0301 😀  ",
                              entity="X", rule_id="x.y")
    long_line = email_finding(path="d/" * 3000 + "f.py")  # rich may wrap it: rich prints it
    unused = UnusedIgnore("a.py", 3, frozenset({"core.email", "us.ssn"}))
    results = [
        SAMPLE, evil_result(), make_result(), make_result([wide, odd], SAMPLE.skipped),
        make_result([long_line]), make_result([odd], []),
        ScanResult(SAMPLE.findings, SAMPLE.skipped, SAMPLE.stats, (unused, UnusedIgnore("b", 1, None))),
        make_result([], [Skipped(f"{i}.png", SkipReason.BINARY) for i in range(30)]),
    ]
    for result in results:
        for show_values in (False, True):
            plain, through_rich = _table_both_ways(result, show_values)
            assert plain == through_rich
    lines = table_report.report_lines(SAMPLE, False, "utf-8")
    assert table_report._is_plain(lines)  # the plain path is the usual one


def test_sarif_results_carry_the_label_redaction_as_a_fix():
    finding = ssn_finding()
    (result,) = sarif_report.to_dict(make_result([finding], []), rules=RULES)["runs"][0]["results"]
    (fix,) = result["fixes"]
    (change,) = fix["artifactChanges"]
    (replacement,) = change["replacements"]
    assert replacement["insertedContent"] == {"text": "[US_SSN]"}
    assert replacement["deletedRegion"] == {
        "startLine": finding.line, "startColumn": finding.column,
        "endLine": finding.end_line, "endColumn": finding.end_column,
    }
    assert change["artifactLocation"] == result["locations"][0]["physicalLocation"]["artifactLocation"]
    assert finding.value not in json.dumps(fix)


def test_a_finding_from_git_history_carries_no_fix():
    """Its file may have changed since that commit: the region would now hold something
    else, and history is rewritten (git filter-repo), not patched."""
    from_history = ssn_finding(commit="c0ffee" * 6 + "beef")
    (result,) = sarif_report.to_dict(make_result([from_history], []), rules=RULES)["runs"][0]["results"]
    assert "fixes" not in result
    assert result["properties"]["commit"] == from_history.commit


def test_json_extensions_appear_only_when_used():
    from piiscan.suppress import UnusedIgnore

    plain = json.loads(_render_json(make_result([email_finding()], [])))
    assert set(plain) == {"version", "findings", "skipped", "stats"}
    assert "suppressed" not in plain["stats"]
    result = make_result([email_finding()], [], suppressed=3)
    result = ScanResult(result.findings, result.skipped, result.stats,
                        (UnusedIgnore("src/a.py", 4, frozenset({"us.ssn"})),))
    doc = json.loads(_render_json(result))
    assert doc["stats"]["suppressed"] == 3
    assert doc["unused_ignores"] == [{"path": "src/a.py", "line": 4, "rules": ["us.ssn"]}]


def _render_json(result) -> str:
    out = io.StringIO()
    render("json", result, out, rules=RULES)
    return out.getvalue()


# -- streamed JSON


@pytest.mark.parametrize("show_values", [False, True])
def test_json_reports_are_streamed_with_the_bytes_of_one_dumps(show_values):
    """The JSON, SARIF and GitLab writers encode findings one at a time as they write
    (`Lazily`): the text must equal that of the whole document dumped at once, empty
    arrays included."""
    from piiscan.report import gitlab as gitlab_report
    from piiscan.report import json as json_report

    from datetime import datetime, timezone

    from piiscan.report import write_json

    other_rule = dataclasses.replace(ssn_finding("b.csv"), rule_id="ner.person", entity="PERSON")
    twin = email_finding(line=8)  # the same fingerprint as email_finding(): a salted GitLab id
    results = [
        make_result([email_finding(), ssn_finding(), twin, email_finding("src/other.py", 9), other_rule]),
        make_result([]),
    ]
    now = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)
    for result in results:
        expected = json.dumps(json_report.to_dict(result, show_values=show_values), ensure_ascii=False, indent=2)
        written = io.StringIO()
        json_report.write(result, written, show_values=show_values)
        assert written.getvalue() == expected + "\n"

        expected = json.dumps(sarif_report.to_dict(result, rules=RULES, show_values=show_values),
                              ensure_ascii=False, indent=2)
        written = io.StringIO()
        sarif_report.write(result, written, rules=RULES, show_values=show_values)
        assert written.getvalue() == expected + "\n"

        # GitLab's write reads the clock: its document is streamed here with a fixed one.
        expected = json.dumps(gitlab_report.to_dict(result, rules=RULES, show_values=show_values, now=now),
                              ensure_ascii=False, indent=2)
        written = io.StringIO()
        write_json(gitlab_report._document(result, RULES, show_values, None, now, None, lazily=True), written)
        assert written.getvalue() == expected + "\n"
        ids = [v["id"] for v in json.loads(written.getvalue())["vulnerabilities"]]
        assert len(ids) == len(set(ids)) == len(result.findings)


def test_write_json_gives_the_bytes_of_json_dumps_for_any_document():
    """write_json encodes objects of scalars with json's C encoder and indents the rest
    itself: on documents of every shape (empty and nested containers, tuples, escapes,
    lines separators, surrogate pairs, big ints, NaN, -0.0) the text must be json.dumps'."""
    import random

    from piiscan.report import Lazily, write_json

    rnd = random.Random(8)
    characters = 'ab"\\\n\t\u00e9\u2028\U0001f600/<>\x00\x1f'
    scalars = [
        lambda: rnd.randint(-(10**20), 10**20), lambda: rnd.random() * 1e5, lambda: True,
        lambda: False, lambda: None, lambda: float("nan"), lambda: float("-inf"), lambda: -0.0,
        lambda: "".join(rnd.choice(characters) for _ in range(rnd.randint(0, 8))),
    ]

    def value(depth):
        kind = rnd.random()
        if depth > 4 or kind < 0.4:
            return rnd.choice(scalars)()
        if kind < 0.7:
            return {f"k{i}\u00e9\"": value(depth + 1) for i in range(rnd.randint(0, 4))}
        if kind < 0.85:
            return [value(depth + 1) for _ in range(rnd.randint(0, 4))]
        return tuple(value(depth + 1) for _ in range(rnd.randint(0, 3)))

    for _ in range(2000):
        document = value(0)
        written = io.StringIO()
        write_json(document, written)
        assert written.getvalue() == json.dumps(document, ensure_ascii=False, indent=2) + "\n"

    items = [{"a": 1}, {"b": [1, {"c": None}]}, {}]
    written = io.StringIO()
    write_json({"items": Lazily(items, lambda item: item), "none": Lazily([], str)}, written)
    assert written.getvalue() == json.dumps({"items": items, "none": []}, indent=2) + "\n"


def test_write_json_refuses_what_json_cannot_encode():
    from piiscan.report import write_json

    with pytest.raises(TypeError, match="set is not JSON serializable"):
        write_json({"a": [{1, 2}]}, io.StringIO())
    with pytest.raises(TypeError, match="keys must be str"):
        write_json({"a": {1: [2]}}, io.StringIO())


def test_lazily_makes_each_item_only_when_the_encoder_reaches_it():
    from piiscan.report import Lazily, write_json

    made = []

    class Spy(io.StringIO):
        def write(self, text):
            made.append(("write", len(text)))
            return super().write(text)

    def make(i):
        made.append(("make", i))
        return {"n": i, "pad": "x" * 40_000}  # two items fill the 64 KB buffer

    out = Spy()
    write_json({"items": Lazily(range(6), make)}, out)
    assert json.loads(out.getvalue())["items"][5]["n"] == 5
    # Writes happen between makes: the whole array was never made before writing began.
    first_write = next(i for i, event in enumerate(made) if event[0] == "write")
    assert ("make", 5) in made[first_write:]


def test_a_report_file_is_written_whole_or_not_at_all(tmp_path):
    from piiscan.wholefile import write_whole as write_to_file

    target = tmp_path / "findings.json"
    target.write_text("the previous report\n", encoding="utf-8")
    target.chmod(0o640)

    def fails_midway(handle):
        handle.write("{\n" + "x" * 200_000)  # well past any buffer: bytes reach the disk
        raise UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed")

    with pytest.raises(UnicodeEncodeError):
        write_to_file(target, fails_midway)
    assert target.read_text(encoding="utf-8") == "the previous report\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["findings.json"]  # no leftovers

    write_to_file(target, lambda handle: handle.write("new\n"))
    assert target.read_text(encoding="utf-8") == "new\n"
    assert target.stat().st_mode & 0o777 == 0o640  # the mode it had

    fresh = tmp_path / "fresh.sarif"
    old_mask = os.umask(0o027)
    try:
        write_to_file(fresh, lambda handle: handle.write("{}\n"))
    finally:
        os.umask(old_mask)
    assert fresh.stat().st_mode & 0o777 == 0o640  # what the umask gives, not mkstemp's 0600


def test_a_report_or_baseline_written_to_a_symlink_goes_to_its_target(tmp_path):
    from piiscan.baseline import Baseline, read_baseline, write_baseline
    from piiscan.wholefile import write_whole

    (tmp_path / "reports").mkdir()
    real = tmp_path / "reports" / "latest.json"
    real.write_text("old\n", encoding="utf-8")
    link = tmp_path / "findings.json"
    link.symlink_to(real)
    write_whole(link, lambda handle: handle.write("new\n"))
    assert link.is_symlink() and real.read_text(encoding="utf-8") == "new\n"
    assert sorted(p.name for p in (tmp_path / "reports").iterdir()) == ["latest.json"]

    kept = tmp_path / "reports" / "baseline.json"
    (tmp_path / ".piiscan-baseline.json").symlink_to(kept)
    write_baseline(Baseline(), tmp_path / ".piiscan-baseline.json")
    assert (tmp_path / ".piiscan-baseline.json").is_symlink()
    assert read_baseline(kept) == Baseline()
