"""The baseline: fingerprints of accepted findings, in a file that diffs and merges cleanly."""

from __future__ import annotations

import json
import os
import random
import shutil
import stat
import subprocess

import pytest
from faker import Faker

import piiscan
from piiscan import baseline as baseline_module
from piiscan.baseline import (
    Baseline,
    BaselineEntry,
    accept,
    baseline_from_findings,
    check_fingerprint_key,
    dumps,
    loads,
    read_baseline,
    update_baseline,
    write_baseline,
)
from piiscan.errors import ConfigError, UsageError
from piiscan.suppress import filter_findings

_rng = random.Random(8086)
_fake = Faker("en_US")
_fake.seed_instance(8086)


def fake_ssn() -> str:
    """A well-formed SSN from the issued ranges (not 000, 666 or 9xx; no zero group/serial)."""
    while True:
        area = _rng.choice([a for a in range(1, 900) if a != 666])
        ssn = f"{area:03d}-{_rng.randint(1, 99):02d}-{_rng.randint(1, 9999):04d}"
        if ssn != "123-45-6789":
            return ssn


def fake_email() -> str:
    return _fake.unique.free_email()


@pytest.fixture(autouse=True)
def no_engine_cache(monkeypatch):
    monkeypatch.setenv("PIISCAN_NO_CACHE", "1")


def scan(text: str, path: str):
    findings = piiscan.scan_text(text, path=path)
    assert findings, "the test text must hold findings for the engine"
    return findings


def people_file() -> str:
    return "".join(
        f"{_fake.first_name()},ssn {fake_ssn()},{fake_email()}\n" for _ in range(3)
    )


@pytest.fixture
def project():
    """Three files of fake people: path -> text."""
    return {path: people_file() for path in ("src/a.py", "data/people.csv", "tests/fixture.txt")}


def scan_project(files: dict[str, str]):
    return [f for path, text in files.items() for f in scan(text, path)]


# --------------------------------------------------------------------------- the file


def test_round_trip_through_text_and_disk(tmp_path, project):
    findings = scan_project(project)
    baseline = baseline_from_findings(findings)
    assert len(baseline) == len(findings) == 18
    assert loads(dumps(baseline), "b.json") == baseline
    target = tmp_path / ".piiscan-baseline.json"
    write_baseline(baseline, target)
    assert read_baseline(target) == baseline
    assert target.read_text(encoding="utf-8") == dumps(baseline)
    assert all(f.fingerprint in baseline for f in findings)


def test_a_keyed_baseline_names_its_key_id_and_keeps_it_through_every_change(project):
    findings = scan_project(project)
    keyed = baseline_from_findings(findings, key_id="3fa9c1e2")
    text = dumps(keyed)
    assert text.splitlines()[0] == '{"piiscan_baseline": 1, "fingerprint_key": "3fa9c1e2", "entries": ['
    assert loads(text, "b.json") == keyed and loads(text, "b.json").key_id == "3fa9c1e2"
    assert update_baseline(keyed, findings[1:]).key_id == "3fa9c1e2"
    assert accept(keyed, findings[0].fingerprint, "made up").key_id == "3fa9c1e2"
    unkeyed = baseline_from_findings(findings)
    assert dumps(unkeyed).splitlines()[0] == '{"piiscan_baseline": 1, "entries": ['
    check_fingerprint_key(keyed, "3fa9c1e2", "b.json")
    check_fingerprint_key(unkeyed, None, "b.json")
    for baseline, key_id in ((keyed, None), (keyed, "0b9f0000"), (unkeyed, "3fa9c1e2")):
        with pytest.raises(UsageError, match="^b.json: the baseline's fingerprints are"):
            check_fingerprint_key(baseline, key_id, "b.json")


def test_the_file_is_one_sorted_entry_per_line_with_no_values_or_positions(project):
    findings = scan_project(project)
    text = dumps(accept(baseline_from_findings(findings), findings[0].fingerprint, "fake data"))
    lines = text.split("\n")
    assert lines[0] == '{"piiscan_baseline": 1, "entries": ['
    assert lines[-2:] == ["]}", ""]  # the closing line, then the trailing newline
    entry_lines = lines[1:-2]
    assert len(entry_lines) == len(findings)
    entries = [json.loads(line.removesuffix(",")) for line in entry_lines]
    assert all(line.endswith(",") for line in entry_lines[:-1]) and not entry_lines[-1].endswith(",")
    assert [(e["path"], e["rule_id"], e["fingerprint"]) for e in entries] == sorted(
        (f.path, f.rule_id, f.fingerprint) for f in findings
    )
    assert {tuple(e) for e in entries} == {
        ("fingerprint", "rule_id", "path"),
        ("fingerprint", "rule_id", "path", "reason"),
    }
    assert sum("reason" in e for e in entries) == 1
    for f in findings:  # no raw value, with or without its separators
        assert f.value not in text and f.value.replace("-", "") not in text
    assert json.loads(text)["piiscan_baseline"] == 1


def test_same_findings_in_any_order_give_the_same_bytes(project):
    findings = scan_project(project)
    expected = dumps(baseline_from_findings(findings))
    for seed in range(5):
        shuffled = findings[:]
        random.Random(seed).shuffle(shuffled)
        assert dumps(baseline_from_findings(shuffled)) == expected
    # A second scan of the same files gives the same file too.
    assert dumps(baseline_from_findings(scan_project(project))) == expected
    # And the same finding seen twice (two commits of a history scan) is recorded once.
    assert dumps(baseline_from_findings(findings + findings[:4])) == expected


def test_a_path_that_is_not_utf8_is_escaped_and_round_trips():
    odd = "data/caf\udce9.csv"  # a Latin-1 file name decoded with surrogateescape
    entry = BaselineEntry("0123456789abcdef0123456789abcdef", "us.ssn", odd)
    plain = BaselineEntry("fedcba9876543210fedcba9876543210", "us.ssn", "data/café.csv")
    text = dumps(Baseline((entry, plain)))
    text.encode("utf-8")  # the file is valid UTF-8
    assert "café" in text and "\\udce9" in text
    assert loads(text, "b.json").entries == Baseline((entry, plain)).entries


# --------------------------------------------------------------------------- filtering and moves


def test_inserting_lines_above_keeps_findings_baselined_and_a_new_one_is_reported():
    path = "src/settings.py"
    original = f"# settings\nOWNER = '{fake_email()}'\nSSN = '{fake_ssn()}'\n"
    baseline = baseline_from_findings(scan(original, path))

    moved = "import os\n\n\ndef helper():\n    return 1\n\n" + original
    moved_findings = scan(moved, path)
    assert [f.line for f in moved_findings] == [8, 9]
    kept, suppressed, _ = filter_findings(moved, moved_findings, baseline=baseline)
    assert kept == [] and suppressed.by_baseline == 2

    new_email = fake_email()
    grown = moved + f"BACKUP = '{new_email}'\n"
    kept, suppressed, _ = filter_findings(grown, scan(grown, path), baseline=baseline)
    assert [f.value for f in kept] == [new_email] and suppressed.by_baseline == 2


def test_update_drops_fixed_entries_keeps_reasons_and_can_add_new(project):
    findings = scan_project(project)
    ssn_in_a = next(f for f in findings if f.path == "src/a.py" and f.entity == "US_SSN")
    email_in_csv = next(f for f in findings if f.path == "data/people.csv" and f.entity == "EMAIL_ADDRESS")
    baseline = accept(baseline_from_findings(findings), ssn_in_a.fingerprint, "fake data for tests")
    baseline = accept(baseline, email_in_csv.fingerprint, "a shared mailbox")

    # Fix the CSV row that holds the e-mail (its SSN goes with it); add an SSN to src/a.py.
    csv_lines = project["data/people.csv"].splitlines(keepends=True)
    project["data/people.csv"] = "".join(
        line for line in csv_lines if email_in_csv.value not in line
    )
    project["src/a.py"] += f"extra,ssn {fake_ssn()},x\n"
    rescanned = scan_project(project)

    updated = update_baseline(baseline, rescanned)
    assert email_in_csv.fingerprint not in updated
    assert len(updated) == len(baseline) - 2
    assert updated.get(ssn_in_a.fingerprint).reason == "fake data for tests"
    new = [f for f in rescanned if f.fingerprint not in baseline]
    assert len(new) == 1 and new[0].fingerprint not in updated

    with_new = update_baseline(baseline, rescanned, add_new=True)
    assert new[0].fingerprint in with_new and len(with_new) == len(baseline) - 1
    assert with_new.get(ssn_in_a.fingerprint).reason == "fake data for tests"


def test_update_keeps_entries_of_paths_the_scan_did_not_cover(project):
    baseline = baseline_from_findings(scan_project(project))
    only_src = scan(project["src/a.py"], "src/a.py")
    updated = update_baseline(baseline, only_src, in_scope=lambda p: p.startswith("src/"))
    assert updated == baseline
    assert {e.path for e in update_baseline(baseline, only_src).entries} == {"src/a.py"}


# --------------------------------------------------------------------------- accept


def test_accept_sets_and_replaces_a_reason_by_fingerprint_or_prefix(project):
    baseline = baseline_from_findings(scan_project(project))
    target = baseline.entries[4].fingerprint
    first = accept(baseline, target, "fake data\nfor tests")
    assert first.get(target).reason == "fake data for tests"  # kept on one line
    second = accept(first, target[:10].upper(), "synthetic fixture")
    assert second.get(target).reason == "synthetic fixture"
    assert [e.reason for e in second.entries].count("") == len(baseline) - 1
    assert accept(second, target, "").get(target).reason == ""
    assert '"reason"' not in dumps(accept(second, target, ""))


def test_accept_refuses_an_unknown_short_or_ambiguous_fingerprint():
    entries = tuple(
        BaselineEntry(fp, "us.ssn", "a.txt")
        for fp in ("aaaaaa11112222333344445555666677", "aaaaaa9999888877776666555544443333", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb")
    )
    baseline = Baseline(entries)
    with pytest.raises(UsageError) as unknown:
        accept(baseline, "cccccccccccccccccccccccccccccccc", "x")
    assert "not in the baseline" in str(unknown.value) and "baseline update" in unknown.value.hint
    with pytest.raises(UsageError) as short:
        accept(baseline, "bbb", "x")
    assert "'bbb' is too short" in str(short.value)  # a prefix of an entry: not "not in the baseline"
    assert "at least 6" in short.value.hint
    with pytest.raises(UsageError) as ambiguous:
        accept(baseline, "aaaaaa", "x")
    assert "matches 2 baseline entries" in str(ambiguous.value)
    assert accept(baseline, "bbbbbb", "ok").get(entries[2].fingerprint).reason == "ok"


# --------------------------------------------------------------------------- strict loading

GOOD_FP = "0123456789abcdef0123456789abcdef"


def entry_line(**fields) -> str:
    base = {"fingerprint": GOOD_FP, "rule_id": "us.ssn", "path": "a.txt"}
    base.update(fields)
    return json.dumps({k: v for k, v in base.items() if v is not ...})


def wrap(*lines: str) -> str:
    return '{"piiscan_baseline": 1, "entries": [\n' + ",\n".join(lines) + "\n]}\n"


@pytest.mark.parametrize(
    "text, message, hint",
    [
        ("{", "b.json:1: not valid JSON", "piiscan baseline create"),
        (
            wrap(entry_line()).replace("\n]}", "\n<<<<<<< HEAD\n=======\n>>>>>>> other\n]}"),
            "b.json:3: not valid JSON",
            "conflict markers",
        ),
        ("[]", "b.json: expected a JSON object", ""),
        ('{"piiscan_baseline": 1, "entries": [], "created": "2024-01-01"}', "b.json: created: unknown key", "allowed"),
        ('{"piiscan_baselin": 1, "entries": []}', "b.json: piiscan_baselin: unknown key", "did you mean 'piiscan_baseline'?"),
        ('{"entries": []}', "b.json: missing 'piiscan_baseline'", ""),
        ('{"piiscan_baseline": 2, "entries": []}', "b.json: unsupported baseline format 2", "newer piiscan"),
        ('{"piiscan_baseline": true, "entries": []}', "b.json: unsupported baseline format True", ""),
        ('{"piiscan_baseline": 1, "entries": {}}', "b.json: 'entries' must be a list", ""),
        (wrap(entry_line(), "[]"), "b.json: entries[1]: expected an object", ""),
        (wrap(entry_line(path=...)), "b.json: entries[0]: missing 'path'", ""),
        (wrap(entry_line(rule_id=7)), "b.json: entries[0].rule_id: expected a string", ""),
        (wrap(entry_line(path="")), "b.json: entries[0].path: empty", ""),
        (wrap(entry_line(reason=None)), "b.json: entries[0].reason: expected a string", ""),
        (wrap(entry_line(fingerprint="536-22-1234")), "b.json: entries[0].fingerprint: not a fingerprint", "lowercase hex"),
        (wrap(entry_line(), entry_line(reasn="x", fingerprint="f" * 32)), "b.json: entries[1].reasn: unknown key", "did you mean 'reason'?"),
        (
            wrap(entry_line(), entry_line(path="b.txt"), entry_line(rule_id="core.email")),
            "b.json: entries[1]: same fingerprint as entries[0]",
            "remove one",
        ),
        (wrap(entry_line()[:-1] + ', "path": "b.txt"}'), "b.json: duplicate key 'path'", ""),
        ('{"piiscan_baseline": 1, "fingerprint_key": "3FA9C1E2", "entries": []}',
         "b.json: fingerprint_key: not a key id", "8 lowercase hex"),
        ('{"piiscan_baseline": 1, "fingerprint_key": 7, "entries": []}',
         "b.json: fingerprint_key: not a key id", ""),
        ('{"piiscan_baseline": 1, "entries": ' + "[" * 100_000 + "]" * 100_000 + "}",
         "b.json: nested too deeply", "piiscan baseline create"),
    ],
)
def test_loading_is_strict_and_names_the_file_and_entry(text, message, hint):
    with pytest.raises(ConfigError) as caught:
        loads(text, "b.json")
    assert str(caught.value).startswith(message)
    assert hint in caught.value.hint


def test_loading_tolerates_unsorted_entries_and_sorts_them():
    fps = ["f" * 32, "e" * 32, "d" * 32]
    text = wrap(*(entry_line(fingerprint=fp, path=p) for fp, p in zip(fps, ["c", "b", "a"])))
    assert [e.path for e in loads(text, "b.json").entries] == ["a", "b", "c"]


def test_reading_a_missing_or_undecodable_file(tmp_path):
    with pytest.raises(UsageError) as missing:
        read_baseline(tmp_path / "nope.json")
    assert "not found" in str(missing.value) and "baseline create" in missing.value.hint
    bad = tmp_path / "latin1.json"
    bad.write_bytes(b'{"piiscan_baseline": 1, "entries": ["\xe9"]}')
    with pytest.raises(ConfigError, match="not UTF-8 at byte"):
        read_baseline(bad)
    bom = tmp_path / "bom.json"
    bom.write_bytes(b"\xef\xbb\xbf" + wrap(entry_line()).encode())
    assert len(read_baseline(bom)) == 1


# --------------------------------------------------------------------------- atomic writes


def test_writing_keeps_the_mode_and_leaves_no_temp_file(tmp_path, project):
    target = tmp_path / "baseline.json"
    baseline = baseline_from_findings(scan_project(project))
    write_baseline(baseline, target)
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    target.chmod(0o600)
    write_baseline(Baseline(baseline.entries[:2]), target)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert len(read_baseline(target)) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["baseline.json"]


def test_a_failed_write_leaves_the_old_file_and_no_temp(tmp_path, project, monkeypatch):
    target = tmp_path / "baseline.json"
    baseline = baseline_from_findings(scan_project(project))
    write_baseline(baseline, target)
    before = target.read_bytes()

    def disk_full(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(baseline_module.os, "replace", disk_full)
    with pytest.raises(ConfigError, match="cannot write baseline: No space left"):
        write_baseline(Baseline(), target)
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["baseline.json"]


def test_writing_into_a_missing_folder_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot write baseline"):
        write_baseline(Baseline(), tmp_path / "no" / "such" / "baseline.json")


# --------------------------------------------------------------------------- git merges


def git(repo, *args: str) -> subprocess.CompletedProcess:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(repo),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "Test",
        "GIT_AUTHOR_EMAIL": "test@example.com",
        "GIT_COMMITTER_NAME": "Test",
        "GIT_COMMITTER_EMAIL": "test@example.com",
    }
    return subprocess.run(
        ["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=False
    )


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_two_branches_adding_entries_merge_without_conflict(tmp_path):
    files = {f"src/{name}.py": people_file() for name in ("a", "b", "c", "d", "e")}
    repo = tmp_path / "repo"
    repo.mkdir()
    assert git(repo, "init", "-q", "-b", "main").returncode == 0
    target = repo / ".piiscan-baseline.json"
    base = baseline_from_findings(scan_project(files))
    write_baseline(base, target)
    git(repo, "add", ".")
    assert git(repo, "commit", "-qm", "baseline").returncode == 0

    def branch(name: str, path: str) -> str:
        """On a new branch, add a finding to `path` and record it; returns its fingerprint."""
        assert git(repo, "checkout", "-q", "-b", name, "main").returncode == 0
        changed = dict(files)
        changed[path] += f"new,ssn {fake_ssn()},x\n"
        findings = scan_project(changed)
        (new,) = [f for f in findings if f.fingerprint not in base]
        write_baseline(update_baseline(read_baseline(target), findings, add_new=True), target)
        assert git(repo, "commit", "-qam", f"accept a finding in {path}").returncode == 0
        return new.fingerprint

    left = branch("left", "src/b.py")
    right = branch("right", "src/d.py")
    assert git(repo, "checkout", "-q", "left").returncode == 0
    merged = git(repo, "merge", "-q", "--no-edit", "right")
    assert merged.returncode == 0, merged.stdout + merged.stderr

    result = read_baseline(target)
    assert left in result and right in result
    assert len(result) == len(base) + 2
    assert target.read_text(encoding="utf-8") == dumps(result)  # still canonical

    # Dropping a fixed entry on one branch and adding one on another merges as well.
    assert git(repo, "checkout", "-q", "-b", "fix", "main").returncode == 0
    fixed = [e for e in base.entries if e.path == "src/a.py"][0]
    write_baseline(Baseline(tuple(e for e in base.entries if e != fixed)), target)
    assert git(repo, "commit", "-qam", "fix one").returncode == 0
    merged = git(repo, "merge", "-q", "--no-edit", "right")
    assert merged.returncode == 0, merged.stdout + merged.stderr
    result = read_baseline(target)
    assert right in result and fixed.fingerprint not in result
