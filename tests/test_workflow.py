"""The CI workflow through the CLI: ignore comments, allowlists from config, baselines."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from piiscan.cli import main

SSN = "536-22-1234"
OTHER_SSN = "536-22-9876"
EMAIL = "jane.roe@acme-mail.net"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_:
        main(list(argv))
    out, err = capsys.readouterr()
    for text in (out, err):  # nothing a test plants may ever be printed raw
        assert SSN not in text and OTHER_SSN not in text and EMAIL not in text
    return exit_.value.code, out, err


@pytest.fixture
def repo(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "app.py").write_text(
        f'ssn = "{SSN}"\nmail = "{EMAIL}"  # piiscan: ignore\nx = 1  # piiscan: ignore[us.ssn]\n',
        encoding="utf-8",
    )
    return tmp_path


def findings(out: str) -> list[tuple[str, int, str]]:
    return [(f["path"], f["line"], f["rule_id"]) for f in json.loads(out)["findings"]]


def test_ignore_comments_and_their_audit(repo, capsys):
    code, out, _ = run(capsys, "scan", "-f", "json", "-q")
    assert code == 1 and findings(out) == [("app.py", 1, "us.ssn")]
    code, out, _ = run(capsys, "scan", "-f", "json", "-q", "--no-ignore-comments")
    assert ("app.py", 2, "core.email") in findings(out)
    code, out, _ = run(capsys, "scan", "-f", "json", "-q", "--report-unused-ignores")
    assert json.loads(out)["unused_ignores"] == [{"path": "app.py", "line": 3, "rules": ["us.ssn"]}]
    code, out, _ = run(capsys, "scan", "-q", "--report-unused-ignores")
    assert "app.py:3: piiscan: ignore [us.ssn] suppresses nothing" in out


def test_allowlist_from_config(repo, capsys):
    (repo / ".piiscan.yaml").write_text("allowlist:\n  rules: [us.ssn]\n", encoding="utf-8")
    code, out, _ = run(capsys, "scan", "-f", "json", "-q")
    assert code == 0 and findings(out) == [] and json.loads(out)["stats"]["suppressed"] == 2
    (repo / ".piiscan.yaml").write_text("allowlist:\n  valuez: []\n", encoding="utf-8")
    code, _, err = run(capsys, "scan", "-q")
    assert code == 2 and "allowlist" in err and "did you mean 'values'" in err


def test_baseline_lifecycle(repo, capsys):
    code, _, err = run(capsys, "baseline", "create")
    assert code == 0 and "recorded 1 findings" in err
    text = (repo / ".piiscan-baseline.json").read_text(encoding="utf-8")
    assert len(text.splitlines()) == 3  # header, one entry, footer

    code, out, _ = run(capsys, "scan", "-f", "json", "-q", "--baseline", ".piiscan-baseline.json")
    assert code == 0 and findings(out) == []

    # Code inserted above does not make the finding new; a new value is reported.
    original = (repo / "app.py").read_text(encoding="utf-8")
    (repo / "app.py").write_text(f"import os\n\n{original}other = '{OTHER_SSN}'\n", encoding="utf-8")
    code, out, _ = run(capsys, "scan", "-f", "json", "-q", "--baseline", ".piiscan-baseline.json")
    assert code == 1 and findings(out) == [("app.py", 6, "us.ssn")]

    fingerprint = json.loads(text.splitlines()[1].rstrip(","))["fingerprint"]
    code, _, _ = run(capsys, "baseline", "accept", fingerprint[:8], "--reason", "fake data for docs")
    assert code == 0
    assert '"reason": "fake data for docs"' in (repo / ".piiscan-baseline.json").read_text()

    # The first SSN is fixed: update drops it, --add-new records the new one.
    (repo / "app.py").write_text(f"other = '{OTHER_SSN}'\n", encoding="utf-8")
    code, _, err = run(capsys, "baseline", "update", "--add-new")
    assert code == 0 and "1 -> 1 findings" in err
    updated = (repo / ".piiscan-baseline.json").read_text(encoding="utf-8")
    assert fingerprint not in updated and "reason" not in updated


@pytest.mark.parametrize("given", ["src", "./src", "src/", "./src/"])
def test_update_of_a_folder_drops_its_fixed_findings_however_it_is_written(repo, capsys, given):
    (repo / "app.py").unlink()
    (repo / "src").mkdir()
    (repo / "src" / "a.py").write_text(f'ssn = "{SSN}"\n', encoding="utf-8")
    (repo / "b.py").write_text(f'ssn = "{OTHER_SSN}"\n', encoding="utf-8")
    code, _, err = run(capsys, "baseline", "create")
    assert code == 0 and "recorded 2 findings" in err
    (repo / "src" / "a.py").write_text("ssn = None\n", encoding="utf-8")
    code, _, err = run(capsys, "baseline", "update", given)
    assert code == 0 and "2 -> 1 findings" in err  # b.py, outside the scan, is kept
    assert '"path": "b.py"' in (repo / ".piiscan-baseline.json").read_text(encoding="utf-8")


def test_scanned_under_takes_each_target_as_the_scan_reports_it():
    from piiscan.baseline import scanned_under

    in_src = scanned_under(["./src/", "/abs/lib"])
    assert in_src("src/a.py") and in_src("src") and in_src("/abs/lib/x.py")
    assert not in_src("srcs/a.py") and not in_src("b.py") and not in_src("/abs/library/x.py")
    assert scanned_under(["./"])("anything.py") and scanned_under([])("anything.py")


def test_every_baseline_command_uses_the_configs_baseline_file(repo, capsys):
    (repo / ".piiscan.yaml").write_text("baseline: ci/known.json\n", encoding="utf-8")
    (repo / "ci").mkdir()
    code, _, err = run(capsys, "baseline", "create")
    assert code == 0 and err.rstrip().endswith(f"recorded 1 findings in {repo / 'ci/known.json'}")
    assert not (repo / ".piiscan-baseline.json").exists()
    code, _, _ = run(capsys, "scan", "-q")  # the scan reads it from the config too
    assert code == 0
    fingerprint = json.loads((repo / "ci/known.json").read_text().splitlines()[1].rstrip(","))["fingerprint"]
    code, _, err = run(capsys, "baseline", "accept", fingerprint[:8], "--reason", "fake data")
    assert code == 0, err
    assert '"reason": "fake data"' in (repo / "ci/known.json").read_text(encoding="utf-8")
    code, _, err = run(capsys, "baseline", "update")
    assert code == 0 and f"{repo / 'ci/known.json'}: 1 -> 1 findings" in err
    # --no-config (and a flag) still mean the default file, and the flag wins.
    code, _, err = run(capsys, "baseline", "accept", fingerprint[:8], "--reason", "x", "--no-config")
    assert code == 2 and ".piiscan-baseline.json" in err
    code, _, err = run(capsys, "baseline", "create", "-o", "other.json")
    assert code == 0 and (repo / "other.json").exists()


def test_a_project_key_keys_fingerprints_by_value_and_the_baseline_names_it(repo, capsys, monkeypatch):
    from piiscan.redact import keys

    keyring = keys.generate_keyring()
    keys.write_keyring(keyring, repo / "project.key")
    secret = keyring.primary_key

    def fingerprints(*argv: str) -> list[str]:
        code, out, err = run(capsys, "scan", "-f", "json", "-q", *argv)
        assert code == 1, err
        for text in (out, err):  # the key is never printed, in any encoding
            assert secret.hex() not in text and base64.b64encode(secret).decode() not in text
        return [f["fingerprint"] for f in json.loads(out)["findings"]]

    unkeyed = fingerprints()
    keyed = fingerprints("--key-file", "project.key")
    monkeypatch.setenv("PIISCAN_KEY_FILE", "project.key")
    assert fingerprints() == keyed != unkeyed  # the flag and the environment: the same key
    # Keyed, the fingerprint follows the value: a baselined line whose value changes is new.
    code, _, _ = run(capsys, "baseline", "create")
    assert code == 0
    header = (repo / ".piiscan-baseline.json").read_text(encoding="utf-8").splitlines()[0]
    assert json.loads(header + "]}")["fingerprint_key"] == keyring.primary
    code, _, _ = run(capsys, "scan", "-q", "--baseline", ".piiscan-baseline.json")
    assert code == 0
    original = (repo / "app.py").read_text(encoding="utf-8")
    (repo / "app.py").write_text(original.replace(SSN, OTHER_SSN), encoding="utf-8")
    code, out, _ = run(capsys, "scan", "-f", "json", "-q", "--baseline", ".piiscan-baseline.json")
    assert code == 1 and findings(out) == [("app.py", 1, "us.ssn")]

    # A baseline keyed otherwise (or not at all) is refused, not read as all new.
    monkeypatch.delenv("PIISCAN_KEY_FILE")
    code, _, err = run(capsys, "scan", "-q", "--baseline", ".piiscan-baseline.json")
    assert code == 2
    assert f"keyed with project key {keyring.primary}, and this scan has no key" in err
    import piiscan.scan

    with monkeypatch.context() as patched:  # refused before a scan that could only be wasted
        patched.setattr(piiscan.scan, "scan_inputs", lambda *a, **k: pytest.fail("scanned"))
        code, _, err = run(capsys, "baseline", "update")
    assert code == 2 and "this scan has no key" in err
    (repo / "app.py").write_text(original, encoding="utf-8")
    run(capsys, "baseline", "create")
    code, _, err = run(capsys, "scan", "-q", "--baseline", ".piiscan-baseline.json",
                       "--key-file", "project.key")
    assert code == 2
    assert f"fingerprints are unkeyed, but this scan keys them with project key {keyring.primary}" in err


def test_a_keyed_baseline_outlives_a_key_rotation_while_the_keyring_holds_its_key(repo, capsys, monkeypatch):
    from piiscan.redact import keys

    first = keys.generate_keyring()
    keys.write_keyring(first, repo / "project.key")
    monkeypatch.setenv("PIISCAN_KEY_FILE", "project.key")
    (repo / ".piiscan.yaml").write_text("baseline: .piiscan-baseline.json\n", encoding="utf-8")
    assert run(capsys, "baseline", "create")[0] == 0
    assert run(capsys, "scan", "-q")[0] == 0

    rotated = keys.rotate(first)
    assert rotated.primary != first.primary and first.primary in rotated.keys
    keys.write_keyring(rotated, repo / "project.key", overwrite=True)
    code, out, _ = run(capsys, "scan", "-q")
    assert code == 0, out  # still baselined: fingerprints keyed with the baseline's key
    code, _, err = run(capsys, "baseline", "update")  # its entry still matches: not "fixed"
    assert code == 0 and ".piiscan-baseline.json: 1 -> 1 findings" in err
    header = (repo / ".piiscan-baseline.json").read_text(encoding="utf-8").splitlines()[0]
    assert json.loads(header + "]}")["fingerprint_key"] == first.primary
    assert run(capsys, "baseline", "create")[0] == 0  # a new baseline takes the new key
    header = (repo / ".piiscan-baseline.json").read_text(encoding="utf-8").splitlines()[0]
    assert json.loads(header + "]}")["fingerprint_key"] == rotated.primary

    other = keys.generate_keyring()  # a keyring without the baseline's key: refused
    keys.write_keyring(other, repo / "other.key")
    code, _, err = run(capsys, "scan", "-q", "--key-file", "other.key")
    assert code == 2 and f"keyed with project key {rotated.primary}" in err


def test_a_keyed_engine_from_the_library_reads_its_keyed_baseline(repo, capsys, monkeypatch):
    """The engine knows which project key its fingerprints come from, so the baseline check
    needs nothing else: the library's scan_paths matches as the CLI does."""
    from piiscan import scan
    from piiscan.config import Settings
    from piiscan.errors import UsageError
    from piiscan.redact import keys

    keyring = keys.generate_keyring()
    keys.write_keyring(keyring, repo / "project.key")
    monkeypatch.setenv("PIISCAN_KEY_FILE", "project.key")
    assert run(capsys, "baseline", "create")[0] == 0
    settings = Settings(baseline=".piiscan-baseline.json")
    engine = scan.build_engine(settings, keys.fingerprint_key(keyring))
    assert engine.fingerprint_key_id == keyring.primary
    result = scan.scan_paths(["."], engine, settings)
    assert result.findings == () and result.stats.files_scanned >= 1
    with pytest.raises(UsageError, match="this scan has no key"):
        scan.scan_paths(["."], scan.build_engine(settings), settings)


def test_redact_leaves_the_configured_baseline_alone(repo, capsys, monkeypatch):
    """A baseline accepts findings for now; redaction still removes them, and neither needs
    the baseline's key nor the file itself."""
    from piiscan.redact import keys

    keys.write_keyring(keys.generate_keyring(), repo / "project.key")
    (repo / ".piiscan.yaml").write_text("baseline: .piiscan-baseline.json\n", encoding="utf-8")
    code, _, err = run(capsys, "redact", "app.py", "--output-dir", "copies")  # no baseline yet
    assert code == 0 and "redacted 1 file: 1 US_SSN" in err
    monkeypatch.setenv("PIISCAN_KEY_FILE", "project.key")
    assert run(capsys, "baseline", "create")[0] == 0
    monkeypatch.delenv("PIISCAN_KEY_FILE")
    code, _, err = run(capsys, "redact", "app.py")  # the baseline is keyed; redact has no key
    assert code == 0 and "redacted 1 file: 1 US_SSN" in err
    assert SSN not in (repo / "app.py").read_text(encoding="utf-8")


def test_an_unkeyed_fingerprint_does_not_follow_the_value(repo, capsys):
    # Without a key a fingerprint holds nothing of the value (see Fingerprints in the README):
    # the same line with another value in it is the same finding.
    code, out, _ = run(capsys, "scan", "-f", "json", "-q")
    before = [f["fingerprint"] for f in json.loads(out)["findings"]]
    text = (repo / "app.py").read_text(encoding="utf-8")
    (repo / "app.py").write_text(text.replace(SSN, OTHER_SSN), encoding="utf-8")
    code, out, _ = run(capsys, "scan", "-f", "json", "-q")
    assert [f["fingerprint"] for f in json.loads(out)["findings"]] == before


def test_baseline_from_config_and_refusal_of_incomplete_scans(repo, capsys, monkeypatch):
    run(capsys, "baseline", "create")
    (repo / ".piiscan.yaml").write_text("baseline: .piiscan-baseline.json\n", encoding="utf-8")
    code, _, _ = run(capsys, "scan", "-q")
    assert code == 0

    import piiscan.sources

    real_open = piiscan.sources.os.open

    def deny(path, *args, **kwargs):
        if str(path).endswith("app.py"):
            raise PermissionError(13, "Permission denied")
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(piiscan.sources.os, "open", deny)
    before = (repo / ".piiscan-baseline.json").read_bytes()
    code, _, err = run(capsys, "baseline", "update")
    assert code == 2 and "incomplete" in err
    assert (repo / ".piiscan-baseline.json").read_bytes() == before


# -- git sources through the CLI


def git(cwd: Path, *args: str) -> str:
    import subprocess

    env = {"GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_SYSTEM": "/dev/null", "PATH": "/usr/bin:/bin"}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def git_repo(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", "/dev/null")
    git(tmp_path, "init", "-q")
    git(tmp_path, "config", "user.email", "dev@acme-mail.test")
    git(tmp_path, "config", "user.name", "Dev")
    return tmp_path


def test_staged_scans_the_index_not_the_working_tree(git_repo, capsys):
    (git_repo / "a.txt").write_text(f"ssn: {SSN}\n")
    git(git_repo, "add", "a.txt")
    (git_repo / "a.txt").write_text("clean now\n")  # the working copy no longer has it
    code, out, _ = run(capsys, "scan", "--staged", "-f", "json", "-q")
    assert code == 1 and findings(out) == [("a.txt", 1, "us.ssn")]
    code, _, _ = run(capsys, "scan", "a.txt", "-q")
    assert code == 0
    code, _, err = run(capsys, "scan", "--staged", "a.txt")
    assert code == 2 and "take no paths" in err


def test_staged_from_a_subfolder_names_files_as_a_walk_there_would(git_repo, capsys, monkeypatch):
    """Paths relative to the current folder (as `git status` and `--since` give them), so
    that SARIF's URIs, which are relative to the top of the work tree, come out right."""
    (git_repo / "src").mkdir()
    (git_repo / "src" / "a.txt").write_text(f"ssn: {SSN}\n")
    (git_repo / "top.txt").write_text(f"mail {EMAIL}\n")
    git(git_repo, "add", "-A")
    monkeypatch.chdir(git_repo / "src")
    code, out, _ = run(capsys, "scan", "--staged", "-f", "json", "-q")
    assert code == 1 and findings(out) == [("a.txt", 1, "us.ssn"), ("../top.txt", 1, "core.email")]
    code, out, _ = run(capsys, "scan", ".", "-f", "json", "-q")
    assert findings(out) == [("a.txt", 1, "us.ssn")]  # the same name from a walk
    code, out, _ = run(capsys, "scan", "--staged", "-f", "sarif", "-q")
    locations = [r["locations"][0]["physicalLocation"]["artifactLocation"]
                 for r in json.loads(out)["runs"][0]["results"]]
    assert locations == [{"uri": "src/a.txt", "uriBaseId": "%SRCROOT%"},
                         {"uri": "top.txt", "uriBaseId": "%SRCROOT%"}]
    code, out, _ = run(capsys, "scan", "--staged", "--exclude", "top.txt", "-f", "json", "-q")
    assert findings(out) == [("a.txt", 1, "us.ssn")]


def test_history_finds_a_value_added_then_removed_with_its_commit(git_repo, capsys):
    (git_repo / "a.txt").write_text(f"ssn: {SSN}\n")
    git(git_repo, "add", "a.txt")
    git(git_repo, "commit", "-qm", "add")
    added = git(git_repo, "rev-parse", "HEAD").strip()
    (git_repo / "a.txt").write_text("gone\n")
    git(git_repo, "commit", "-qam", "remove")
    code, out, _ = run(capsys, "scan", "--history", "-f", "json", "-q")
    (finding,) = json.loads(out)["findings"]
    assert code == 1 and finding["commit"] == added and finding["commit_date"]
    code, out, _ = run(capsys, "scan", "--history", "--since", "HEAD~1", "-f", "json", "-q")
    assert code == 0 and findings(out) == []
    code, out, _ = run(capsys, "scan", "--history", "-f", "sarif", "-q")
    assert json.loads(out)["runs"][0]["results"][0]["properties"]["commit"] == added


def test_since_scans_only_changed_files_and_unknown_revisions_are_errors(git_repo, capsys):
    (git_repo / "old.txt").write_text(f"ssn: {SSN}\n")
    git(git_repo, "add", "old.txt")
    git(git_repo, "commit", "-qm", "old")
    (git_repo / "new.txt").write_text(f"mail {EMAIL}\n")
    git(git_repo, "add", "new.txt")
    code, out, _ = run(capsys, "scan", "--since", "HEAD", "-f", "json", "-q")
    assert code == 1 and findings(out) == [("new.txt", 1, "core.email")]
    code, _, err = run(capsys, "scan", "--since", "no-such-rev", "-q")
    assert code == 2 and err.startswith("piiscan: usage error:")


def test_since_passes_over_tracked_links_as_a_walk_does(git_repo, capsys, tmp_path_factory):
    outside = tmp_path_factory.mktemp("outside") / "private.txt"
    outside.write_text(f"ssn: {SSN}\n", encoding="utf-8")
    git(git_repo, "commit", "-q", "--allow-empty", "-m", "base")
    (git_repo / "outside").symlink_to(outside)
    (git_repo / "latest").symlink_to("build/out.txt")  # dangling
    (git_repo / "new.txt").write_text(f"mail {EMAIL}\n")
    git(git_repo, "add", "-A")
    code, out, err = run(capsys, "scan", "--since", "HEAD", "-f", "json", "-q")
    assert code == 1, err
    assert findings(out) == [("new.txt", 1, "core.email")]  # not the SSN the link leads to
    assert json.loads(out)["skipped"] == [
        {"path": name, "reason": "symlink not followed", "detail": "--follow-symlinks scans its target"}
        for name in ("latest", "outside")
    ]
    code, out, _ = run(capsys, "scan", "--since", "HEAD", "--follow-symlinks", "--exclude", "latest", "-f", "json", "-q")
    assert ("outside", 1, "us.ssn") in findings(out)


def test_redact_staged_rewrites_working_copies_and_exits_1(git_repo, capsys):
    (git_repo / "b.txt").write_text(f"ssn: {SSN}\n")
    git(git_repo, "add", "b.txt")
    code, _, err = run(capsys, "redact", "--staged")
    assert code == 1 and "redacted 1 file" in err
    assert (git_repo / "b.txt").read_text() == "ssn: [US_SSN]\n"
    assert SSN in git(git_repo, "show", ":b.txt")  # nothing was re-staged: the user reviews
    code, _, _ = run(capsys, "redact", "--staged")  # the working copy is clean now
    assert code == 0


def test_redact_staged_passes_over_a_staged_binary_file(git_repo, capsys):
    # Git lists it like any staged file, but the user named no file: as in a walk, a binary
    # file is left alone without an error, and the text files are still redacted.
    (git_repo / "logo.bin").write_bytes(b"\x89PNG\x00\x00 ssn: " + SSN.encode() + b"\n")
    (git_repo / "b.txt").write_text(f"ssn: {SSN}\n")
    git(git_repo, "add", "logo.bin", "b.txt")
    code, _, err = run(capsys, "redact", "--staged")
    assert code == 1 and "redacted 1 file" in err and "error" not in err
    assert SSN.encode() in (git_repo / "logo.bin").read_bytes()
