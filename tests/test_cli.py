"""The command line, driven for real: exit codes, what goes to stdout and to stderr, and that
no found value leaks into output the user did not ask for.

A few tests run `python -m piiscan.cli` in a subprocess (real pipes, real exit status, a clean
import state); the rest call `piiscan.cli.main(argv)` in-process, which is much faster.
Every scan uses `--packs ''` and a pack written by the test, never the built-in packs.
"""

from __future__ import annotations

import errno
import gc
import json
import os
import random
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
from faker import Faker

import piiscan
import piiscan.engine
import piiscan.errors
import piiscan.report
from piiscan import cli, config
from piiscan.masking import mask_value
from piiscan.snippets import SNIPPET_CHARS

from ownership import hand_to_another_user

# ---------------------------------------------------------------------------- test data

PACK = r"""pack: acme
rules:
  - id: acme.ssn
    entity: US_SSN
    name: Acme SSN
    description: A dashed US social security number.
    category: direct
    severity: critical
    patterns:
      - regex: '\b\d{3}-\d{2}-\d{4}\b'
        score: 0.3
    validator: us_ssn
    context: [ssn]
    test_values: ['^987-65-432\d$']
    tests:
      match: ['ssn 536-22-1234']
      no_match: ['ssn 000-22-1234']
  - id: acme.email
    entity: EMAIL_ADDRESS
    name: Acme email
    description: An email address.
    category: direct
    severity: high
    patterns:
      - regex: '\b[a-z0-9._-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)+\b'
        score: 0.6
    validator: email
    tests:
      match: ['mail jo@example.org']
      no_match: ['nothing here']
"""

# The second example of the email rule cannot match: `rules test` must say so.
WRONG_EXAMPLE = "no address in this line"
WRONG_PACK = PACK.replace("match: ['mail jo@example.org']", f"match: ['mail jo@example.org', '{WRONG_EXAMPLE}']")

SLOW_PACK = r"""pack: slow
rules:
  - id: slow.backtrack
    entity: SLOW_THING
    name: Backtracking pattern
    description: Exponential backtracking on a run of a's that does not end the line.
    category: indirect
    severity: low
    patterns:
      - regex: '(?:a|aa)+$'
        score: 0.9
    tests:
      match: ['aaa']
      no_match: ['bbb']
"""

_rng = random.Random(20240601)
_fake = Faker("en_US")
_fake.seed_instance(20240601)


def fake_ssn() -> str:
    """A well-formed SSN from the issued ranges (not 000, 666 or 9xx; no zero group/serial)."""
    area = _rng.choice([a for a in range(1, 900) if a != 666])
    return f"{area:03d}-{_rng.randint(1, 99):02d}-{_rng.randint(1, 9999):04d}"


SSN = fake_ssn()
EMAIL = _fake.unique.user_name().lower().replace(" ", "") + "@example.net"
TEST_SSN = "987-65-4321"  # a documentation value: the pack lists it under test_values


@pytest.fixture(autouse=True)
def no_engine_cache(monkeypatch):
    # Compiled hyperscan databases are cached under ~/.cache by default: keep tests hermetic.
    monkeypatch.setenv("PIISCAN_NO_CACHE", "1")
    monkeypatch.setenv("NO_COLOR", "1")


@pytest.fixture
def pack(tmp_path) -> Path:
    path = tmp_path / "acme.yaml"
    path.write_text(PACK, encoding="utf-8")
    return path


@pytest.fixture
def tree(tmp_path) -> Path:
    """A folder to scan: one file with an SSN, one with an email, one clean."""
    root = tmp_path / "tree"
    root.mkdir()
    (root / "people.txt").write_text(f"name: Jo\nssn: {SSN}\n", encoding="utf-8")
    (root / "contact.log").write_text(f"mail {EMAIL} today\n", encoding="utf-8")
    (root / "clean.txt").write_text("nothing personal here\n", encoding="utf-8")
    return root


def run(capsys, *argv: str) -> tuple[int, str, str]:
    """Call the CLI in-process: (exit status, stdout, stderr)."""
    with pytest.raises(SystemExit) as info:
        cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    code = info.value.code
    return (0 if code is None else code), out, err


def scan(capsys, pack: Path, *argv: str) -> tuple[int, str, str]:
    return run(capsys, "scan", "--packs", "", "--rules", str(pack), *argv)


def scan_json(capsys, pack: Path, *argv: str) -> tuple[int, dict, str]:
    code, out, err = scan(capsys, pack, "--format", "json", *argv)
    return code, json.loads(out), err


def subprocess_env() -> dict[str, str]:
    return {**os.environ, "PIISCAN_NO_CACHE": "1", "NO_COLOR": "1"}


def run_subprocess(*argv: str, cwd: Path, input: bytes | None = None, pre: tuple[str, ...] = ()):
    return subprocess.run(
        [sys.executable, *pre, "-m", "piiscan.cli", *[str(a) for a in argv]],
        cwd=cwd, input=input, capture_output=True, env=subprocess_env(), timeout=120,
    )


def run_patched_subprocess(patch: str, *argv: str, cwd: Path):
    """The CLI in a real process after `patch` (Python source) has swapped in a failure."""
    script = patch + "from piiscan.cli import main\nmain(sys.argv[1:])\n"
    return subprocess.run(
        [sys.executable, "-c", "import sys\n" + script, *[str(a) for a in argv]],
        cwd=cwd, capture_output=True, env=subprocess_env(), timeout=120,
    )


# ---------------------------------------------------------------------------- version and help


def test_version_subprocess(tmp_path):
    proc = run_subprocess("--version", cwd=tmp_path)
    assert proc.returncode == 0
    assert proc.stdout.decode().strip() == f"piiscan {piiscan.__version__}"
    assert proc.stderr == b""


def test_help_lists_the_commands(capsys):
    code, out, _ = run(capsys, "--help")
    assert code == 0
    assert "Usage" in out
    assert re.search(r"^\s+scan\b", out, re.MULTILINE)
    assert re.search(r"^\s+rules\b", out, re.MULTILINE)


def test_no_arguments_shows_help(capsys):
    code, out, err = run(capsys)
    shown = out + err
    assert "Usage" in shown and "scan" in shown and "rules" in shown
    assert code in (0, 2)
    assert "Traceback" not in shown


def test_scan_help_lists_its_options(capsys):
    code, out, _ = run(capsys, "scan", "--help")
    assert code == 0
    for option in ("--format", "--fail-on", "--rules", "--only", "--disable", "--show-values"):
        assert option in out


def test_help_imports_no_heavy_modules(tmp_path):
    proc = run_subprocess("--help", cwd=tmp_path, pre=("-X", "importtime"))
    assert proc.returncode == 0
    imported = set()
    for line in proc.stderr.decode().splitlines():
        if line.startswith("import time:") and "|" in line:
            name = line.rsplit("|", 1)[1].strip()
            imported.add(name.split(".")[0])
    assert "piiscan" in imported, "the importtime output was not parsed"
    heavy = {"hyperscan", "yaml", "_yaml", "regex", "_regex", "spacy"}
    assert not imported & heavy


# ---------------------------------------------------------------------------- exit codes


def test_clean_folder_exits_0_subprocess(tmp_path, pack):
    clean = tmp_path / "clean"
    clean.mkdir()
    (clean / "a.txt").write_text("just words\n", encoding="utf-8")
    proc = run_subprocess("scan", "--packs", "", "--rules", pack, clean, cwd=tmp_path)
    assert proc.returncode == 0
    assert proc.stderr == b""


def test_the_command_exits_as_main_does_with_the_heap_frozen(capsys, monkeypatch, pack, tree):
    # `piiscan` is `cli.run`: the interpreter's last collections skip a frozen heap.
    monkeypatch.setattr(sys, "argv", ["piiscan", "scan", "--packs", "", "--rules", str(pack), str(tree)])
    assert gc.get_freeze_count() == 0
    try:
        with pytest.raises(SystemExit) as info:
            cli.run()
        assert info.value.code == 1
        assert "acme.ssn" in capsys.readouterr().out
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


def test_the_installed_command_is_cli_run():
    tomllib = pytest.importorskip("tomllib" if sys.version_info >= (3, 11) else "tomli")
    pyproject = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    assert pyproject["project"]["scripts"]["piiscan"] == "piiscan.cli:run"


def test_finding_exits_1_with_report_on_stdout_only_subprocess(tmp_path, pack, tree):
    proc = run_subprocess("scan", "--packs", "", "--rules", pack, tree, cwd=tmp_path)
    assert proc.returncode == 1
    out = proc.stdout.decode()
    assert "US_SSN" in out and "acme.ssn" in out
    assert "people.txt" in out
    assert SSN not in out
    assert proc.stderr == b""


def test_default_path_is_the_current_folder_subprocess(tmp_path, pack, tree):
    proc = run_subprocess("scan", "--packs", "", "--rules", pack, "--format", "json", cwd=tree)
    assert proc.returncode == 1
    report = json.loads(proc.stdout)
    assert {f["rule_id"] for f in report["findings"]} == {"acme.ssn", "acme.email"}


def test_clean_folder_exits_0(capsys, tmp_path, pack):
    clean = tmp_path / "clean"
    clean.mkdir()
    (clean / "a.txt").write_text("nothing to see\n", encoding="utf-8")
    code, out, err = scan(capsys, pack, clean)
    assert code == 0
    assert err == ""


def test_finding_at_default_fail_on_exits_1(capsys, pack, tree):
    code, _, _ = scan(capsys, pack, tree)
    assert code == 1


def test_fail_on_critical_with_only_high_findings_exits_0(capsys, pack, tree):
    code, report, _ = scan_json(capsys, pack, tree / "contact.log", "--fail-on", "critical")
    assert [f["severity"] for f in report["findings"]] == ["high"]
    assert code == 0


def test_fail_on_high_with_a_high_finding_exits_1(capsys, pack, tree):
    code, _, _ = scan(capsys, pack, tree / "contact.log", "--fail-on", "high")
    assert code == 1


def test_fail_on_never_exits_0(capsys, pack, tree):
    code, out, _ = scan(capsys, pack, tree, "--fail-on", "never")
    assert code == 0
    assert "US_SSN" in out  # still reported


def test_test_data_does_not_fail_at_the_default(capsys, tmp_path, pack):
    sample = tmp_path / "docs.md"
    sample.write_text(f"example ssn: {TEST_SSN}\n", encoding="utf-8")
    code, report, _ = scan_json(capsys, pack, sample)
    assert [(f["test_data"], f["severity"]) for f in report["findings"]] == [(True, "info")]
    assert code == 0
    code, _, _ = scan(capsys, pack, sample, "--fail-on", "info")
    assert code == 1


def test_test_code_globs_from_the_flag_or_the_config_file_mark_test_data(capsys, tmp_path):
    """--test-code (or `test_code` in the config file) names test code the conventions miss;
    with several workers too (each rebuilds the engine from its options)."""
    for i in range(20):  # 40 files: enough for a process pool
        for folder in ("qa", "src"):
            path = tmp_path / folder / f"flow_{i}.py"
            path.parent.mkdir(exist_ok=True)
            path.write_text(f'contact = "{_fake.user_name()}@acme-mail.net"\n', encoding="utf-8")

    def severities(*argv: str) -> dict[str, set[str]]:
        code, out, _ = run(capsys, "scan", tmp_path, "--packs", "core", "-f", "json", "--fail-on", "never", *argv)
        assert code == 0
        found: dict[str, set[str]] = {}
        for f in json.loads(out)["findings"]:
            found.setdefault(Path(f["path"]).parent.name, set()).add(f["severity"])
        return found

    assert severities("--no-config") == {"qa": {"high"}, "src": {"high"}}
    for jobs in ("1", "2"):  # anchored to the scanned folder, which is named absolute here
        assert severities("--no-config", "--test-code", "/qa/", "--jobs", jobs) == {"qa": {"info"}, "src": {"high"}}
    (tmp_path / ".piiscan.yaml").write_text("test_code: ['/qa/']\n", encoding="utf-8")
    assert severities() == {"qa": {"info"}, "src": {"high"}}
    code, _, err = run(capsys, "scan", tmp_path, "--no-config", "--test-code", "bad\\")
    assert code == 2 and "test_code pattern 'bad\\\\'" in err


def test_test_code_globs_see_paths_relative_to_the_scanned_folder(capsys, tmp_path, monkeypatch):
    """Anchored globs and negations apply however the folder is named: absolute, relative,
    or as "." (the paths --include and --exclude see), and to files named as given."""
    project = tmp_path / "proj"
    files = {
        "e2e/flows/login.ts": "info",  # a glob makes it test code
        "spec/fixtures/made_up.json": "info",  # a data file vouched for
        "tests/test_real_export.py": "high",  # the negation beats the naming convention
        "tests/test_signup.py": "info",  # no glob: the convention
    }
    for rel in files:
        path = project / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f'contact = "{_fake.user_name()}@acme-mail.net"\n', encoding="utf-8")
    globs = ["--test-code", "e2e/**/*.ts", "--test-code", "spec/fixtures/made_up.json",
             "--test-code", "!tests/test_real_export.py"]

    def severities(target: str, cwd: Path) -> dict[str, str]:
        monkeypatch.chdir(cwd)
        code, out, _ = run(capsys, "scan", target, "--packs", "core", "-f", "json", "--no-config",
                           "--fail-on", "never", *globs)
        assert code == 0
        prefix = "" if target == "." else target.rstrip("/") + "/"
        return {f["path"].removeprefix(prefix): f["severity"] for f in json.loads(out)["findings"]}

    assert severities(str(project), tmp_path) == files
    assert severities("proj", tmp_path) == files
    assert severities(".", project) == files
    assert severities("spec/fixtures/made_up.json", project) == {"spec/fixtures/made_up.json": "info"}


def test_allowlist_paths_see_the_path_relative_to_the_scanned_folder(capsys, tmp_path, monkeypatch):
    """An anchored allowlist glob applies however the folder is named; one written with the
    folder's own name in it (against the reported path) still applies too."""
    project = tmp_path / "proj"
    for rel in ("docs/examples/signup.md", "docs/private/notes.md", "src/app.py"):
        path = project / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f'contact = "{_fake.user_name()}@acme-mail.net"\n', encoding="utf-8")
    config = tmp_path / "piiscan.yaml"

    def reported(target: str, cwd: Path, paths: list[str]) -> list[str]:
        config.write_text(f"allowlist:\n  paths: {json.dumps(paths)}\n", encoding="utf-8")
        monkeypatch.chdir(cwd)
        code, out, _ = run(capsys, "scan", target, "--packs", "core", "-f", "json", "--config", config,
                           "--fail-on", "never")
        assert code == 0
        return sorted(f["path"].partition("proj/")[2] or f["path"] for f in json.loads(out)["findings"])

    anchored = ["/docs/examples/"]
    assert reported(".", project, anchored) == ["docs/private/notes.md", "src/app.py"]
    assert reported(str(project), tmp_path, anchored) == ["docs/private/notes.md", "src/app.py"]
    assert reported("proj", tmp_path, anchored) == ["docs/private/notes.md", "src/app.py"]
    assert reported("proj", tmp_path, ["proj/docs/"]) == ["src/app.py"]  # the reported path


@pytest.mark.parametrize("fmt", ["json", "sarif", "gitlab"])
def test_json_reports_on_stdout_are_utf8_whatever_the_locale_subprocess(tmp_path, fmt):
    """Under an ASCII (or a Windows code page) stdout, a path or snippet in another script
    stopped the report halfway; JSON formats are UTF-8, so stdout gets UTF-8."""
    name = "ファイル_données.py"
    (tmp_path / name).write_text(f'contact = "{_fake.user_name()}@acme-mail.net"  # 日本\n', encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "piiscan.cli", "scan", ".", "--no-config", "--packs", "core", "-f", fmt],
        cwd=tmp_path, capture_output=True, timeout=120,
        env={**subprocess_env(), "PYTHONIOENCODING": "ascii", "PYTHONUTF8": "0"},
    )
    assert proc.returncode == 1, proc.stderr
    text = json.dumps(json.loads(proc.stdout.decode("utf-8")), ensure_ascii=False)
    assert name in text or quote(name) in text  # SARIF gives the path as a URI


def test_a_cache_folder_that_cannot_be_trusted_is_reported(capsys, tmp_path, monkeypatch, own_cache_folder, pack):
    folder = own_cache_folder
    folder.mkdir(mode=0o700)
    sample = tmp_path / "notes.txt"
    sample.write_text("nothing personal\n", encoding="utf-8")
    code, _, err = scan(capsys, pack, sample)
    assert code == 0 and "cache folder" not in err
    folder.chmod(0o777)
    hand_to_another_user(folder, monkeypatch)
    code, _, err = scan(capsys, pack, sample)
    assert code == 0 and f"cache folder {folder} is another user's" in err
    code, _, err = scan(capsys, pack, sample, "-q")
    assert code == 0 and err == ""


@pytest.mark.parametrize(
    "argv",
    [
        ("scan", "--bogus"),
        ("--bogus",),
        ("scan", "--min-confidence", "2"),
        ("frobnicate",),
    ],
)
def test_unknown_option_exits_2(capsys, argv):
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert err.strip()
    assert "Traceback" not in err


def test_unknown_format_exits_2(capsys, pack, tree):
    code, out, err = scan(capsys, pack, tree, "--format", "xml")
    assert code == 2
    assert out == ""
    assert err.startswith("piiscan: usage error:") and "'xml'" in err


def test_unknown_fail_on_exits_2(capsys, pack, tree):
    code, _, err = scan(capsys, pack, tree, "--fail-on", "severe")
    assert code == 2
    assert "'severe'" in err


def _assert_one_error_line(err: str, prefix: str) -> None:
    lines = err.splitlines()
    assert lines and lines[0].startswith(prefix), err
    assert len(lines) <= 2, err
    if len(lines) == 2:
        assert lines[1].startswith("  hint: "), err
    assert "Traceback" not in err


def test_bad_pack_exits_2_with_one_line_subprocess(tmp_path, tree):
    bad = tmp_path / "bad.yaml"
    bad.write_text(PACK.replace("severity: critical", "severity: urgent"), encoding="utf-8")
    proc = run_subprocess("scan", "--packs", "", "--rules", bad, tree, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stdout == b""
    err = proc.stderr.decode()
    _assert_one_error_line(err, "piiscan: rule pack error:")
    assert str(bad) in err and "'acme.ssn'" in err and "'severity'" in err


@pytest.mark.parametrize(
    ("old", "new", "hinted"),
    [
        ("    context: [ssn]", "    contex: [ssn]", True),
        ("    context: [ssn]", "    context: [NO]", True),
        (r"'\b\d{3}-\d{2}-\d{4}\b'", r"'(\d{3}'", False),
        ("pack: acme", "pack: &a acme", False),
    ],
)
def test_bad_pack_message_is_one_line_plus_hint(capsys, tmp_path, tree, old, new, hinted):
    bad = tmp_path / "bad.yaml"
    bad.write_text(PACK.replace(old, new, 1), encoding="utf-8")
    code, out, err = scan(capsys, bad, tree)
    assert code == 2
    assert out == ""
    _assert_one_error_line(err, f"piiscan: rule pack error: {bad}:")
    assert ("  hint: " in err) == hinted


def test_missing_rules_path_exits_2(capsys, tmp_path, tree):
    missing = tmp_path / "nowhere.yaml"
    code, out, err = scan(capsys, missing, tree)
    assert code == 2
    assert out == ""
    _assert_one_error_line(err, "piiscan: rule pack error:")
    assert str(missing) in err


def test_unknown_only_name_exits_2_with_did_you_mean(capsys, pack, tree):
    code, out, err = scan(capsys, pack, tree, "--only", "acme.snn")
    assert code == 2
    assert out == ""
    _assert_one_error_line(err, "piiscan: usage error:")
    assert "'acme.snn'" in err and "'acme.ssn'" in err


def test_unknown_builtin_pack_exits_2(capsys, tree):
    code, _, err = run(capsys, "scan", "--packs", "no-such-pack", str(tree))
    assert code == 2
    _assert_one_error_line(err, "piiscan: usage error:")
    assert "'no-such-pack'" in err


def test_bad_max_file_size_exits_2(capsys, pack, tree):
    code, _, err = scan(capsys, pack, tree, "--max-file-size", "lots")
    assert code == 2
    assert "--max-file-size" in err


@pytest.mark.parametrize(("text", "size"), [("1k", 1024), ("10MB", 10 * 1024**2), ("512", 512), ("2GiB", 2 * 1024**3)])
def test_parse_size(text, size):
    assert config.parse_size(text) == size


# ---------------------------------------------------------------------------- incomplete scans


def test_unreadable_file_is_reported_and_the_rest_scanned(capsys, monkeypatch, pack, tree):
    locked = tree / "locked.txt"
    locked.write_text(f"ssn {fake_ssn()}\n", encoding="utf-8")
    real_open = os.open

    def deny_locked(path, flags, *args, **kwargs):
        if os.path.basename(os.fspath(path)) == "locked.txt":
            raise PermissionError(errno.EACCES, "Permission denied", os.fspath(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", deny_locked)
    code, report, err = scan_json(capsys, pack, tree)
    assert code == 2
    assert {f["rule_id"] for f in report["findings"]} == {"acme.ssn", "acme.email"}
    skipped = [s for s in report["skipped"] if s["path"].endswith("locked.txt")]
    assert [s["reason"] for s in skipped] == ["unreadable"]
    warnings = [line for line in err.splitlines() if "locked.txt" in line]
    assert len(warnings) == 1 and warnings[0].startswith("piiscan: warning:")


def test_missing_path_is_unreadable_exit_2(capsys, tmp_path, pack, tree):
    missing = tmp_path / "not-there.txt"
    code, report, err = scan_json(capsys, pack, missing, tree)
    assert code == 2
    assert {f["rule_id"] for f in report["findings"]} == {"acme.ssn", "acme.email"}
    assert [(s["path"], s["reason"]) for s in report["skipped"]] == [(str(missing), "unreadable")]
    assert str(missing) in err and "piiscan: warning:" in err


def test_quiet_hides_the_warning_but_not_the_exit_status(capsys, tmp_path, pack):
    code, out, err = scan(capsys, pack, tmp_path / "not-there.txt", "--quiet")
    assert code == 2
    assert err == ""
    assert "not-there.txt" in out  # still listed in the report itself


@pytest.mark.parametrize("backend", ["regex", "auto"])
def test_regex_timeout_is_an_error_not_a_clean_result(capsys, tmp_path, pack, backend):
    slow_pack = tmp_path / "slow.yaml"
    slow_pack.write_text(SLOW_PACK, encoding="utf-8")
    victim = tmp_path / "victim.txt"
    # The first line makes the pattern backtrack exponentially from its start, and it ends in
    # a real match, so a prefiltering backend too sends it to the regex confirmation step.
    victim.write_text("a" * 40 + "!a\n" + f"ssn {SSN}\n", encoding="utf-8")
    code, out, err = run(
        capsys, "scan", "--packs", "", "--rules", str(pack), "--rules", str(slow_pack),
        "--regex-timeout", "0.05", "--backend", backend, "--format", "json", str(victim),
    )
    assert code == 2
    assert "slow.backtrack" in err
    report = json.loads(out)
    assert [(s["path"], s["reason"]) for s in report["skipped"]] == [(str(victim), "regex timeout")]
    assert "slow.backtrack" in report["skipped"][0].get("detail", "")
    assert SSN not in out and SSN not in err


def test_regex_timeout_in_one_file_does_not_stop_the_others(capsys, tmp_path, pack, tree):
    slow_pack = tmp_path / "slow.yaml"
    slow_pack.write_text(SLOW_PACK, encoding="utf-8")
    (tree / "victim.txt").write_text("a" * 40 + "!a\n", encoding="utf-8")
    code, report, _ = scan_json(capsys, pack, tree, "--rules", str(slow_pack), "--regex-timeout", "0.05")
    assert code == 2
    assert {f["rule_id"] for f in report["findings"]} == {"acme.ssn", "acme.email"}
    assert [s["reason"] for s in report["skipped"]] == ["regex timeout"]


# ---------------------------------------------------------------------------- --only, --disable


@pytest.mark.parametrize("selection", [("--only", "acme.email"), ("--disable", "US_SSN")])
def test_values_of_rules_left_out_are_masked_in_snippets_all_the_same(capsys, tmp_path, pack, selection):
    # A snippet shows the rest of its line: a value only a left-out rule finds must not show.
    row = tmp_path / "row.txt"
    row.write_text(f"contact {EMAIL} ssn {SSN} today\n", encoding="utf-8")
    _, everything, _ = scan_json(capsys, pack, row, "--fail-on", "never")
    whole = {f["rule_id"]: f["snippet"] for f in everything["findings"]}
    assert set(whole) == {"acme.email", "acme.ssn"}
    for fmt in ("json", "sarif", "gitlab", "table"):
        code, out, err = scan(capsys, pack, row, *selection, "--format", fmt, "--fail-on", "never")
        assert code == 0 and SSN not in out + err and EMAIL not in out + err, fmt
    code, report, _ = scan_json(capsys, pack, row, *selection, "--fail-on", "never")
    (finding,) = report["findings"]
    assert finding["rule_id"] == "acme.email"
    assert finding["snippet"] == whole["acme.email"]  # masked as a scan of every rule masks it
    _, shown, _ = scan_json(capsys, pack, row, *selection, "--fail-on", "never", "--show-values")
    assert SSN in shown["findings"][0]["snippet"] and EMAIL in shown["findings"][0]["snippet"]


@pytest.mark.parametrize("selection", [("--only", "acme.email"), ("--disable", "slow.backtrack")])
def test_a_left_out_rule_that_times_out_masks_the_whole_snippet(capsys, tmp_path, pack, selection):
    # --disable is how a user gets past a rule that backtracks: the file is still scanned.
    slow_pack = tmp_path / "slow.yaml"
    slow_pack.write_text(SLOW_PACK, encoding="utf-8")
    victim = tmp_path / "victim.txt"
    victim.write_text(f"mail {EMAIL} " + "a" * 40 + "!a\n", encoding="utf-8")
    code, report, err = scan_json(
        capsys, pack, victim, "--rules", str(slow_pack), *selection, "--regex-timeout", "0.05",
    )
    assert code == 1 and report["skipped"] == []
    (finding,) = report["findings"]
    assert finding["rule_id"] == "acme.email"
    rest = finding["snippet"].replace(mask_value("EMAIL_ADDRESS", EMAIL), "", 1)
    assert len(rest) < len(finding["snippet"]) and not re.search(r"[A-Za-z0-9]", rest)
    assert EMAIL not in json.dumps(report) + err


def test_redact_never_runs_the_rules_left_out(capsys, tmp_path, pack, monkeypatch):
    # Redaction shows no snippet: a disabled rule must not run at all there.
    def never(*args):
        raise AssertionError("a left-out rule ran")

    monkeypatch.setattr(piiscan.engine.Engine, "_left_out_spans", never)
    slow_pack = tmp_path / "slow.yaml"
    slow_pack.write_text(SLOW_PACK, encoding="utf-8")
    victim = tmp_path / "victim.txt"
    victim.write_text(f"mail {EMAIL} " + "a" * 40 + "!a\n", encoding="utf-8")
    code, _, err = run(
        capsys, "redact", "--packs", "", "--rules", str(pack), "--rules", str(slow_pack),
        "--disable", "slow.backtrack", "--regex-timeout", "0.05", str(victim),
    )
    assert code == 0, err
    assert EMAIL not in victim.read_text(encoding="utf-8") and victim.read_text(encoding="utf-8").endswith("a" * 40 + "!a\n")


def test_a_left_out_value_cut_by_the_end_of_a_long_snippet_is_masked(capsys, tmp_path, pack):
    # The excerpt around the address ends four characters into the SSN.
    filler = (SNIPPET_CHARS - len(EMAIL)) // 2 - 10
    line = f"mail {EMAIL} " + "x" * filler + f" ssn {SSN} " + "y" * 300
    (tmp_path / "long.txt").write_text(line + "\n", encoding="utf-8")
    code, report, _ = scan_json(capsys, pack, tmp_path / "long.txt", "--only", "acme.email", "--fail-on", "never")
    (finding,) = report["findings"]
    assert finding["snippet"].endswith("…")
    for cut in range(4, len(SSN) + 1):  # no run of the SSN's leading characters shows
        assert SSN[:cut] not in finding["snippet"]



def test_fifo_and_dangling_symlink_are_listed_not_opened_subprocess(tmp_path, pack, tree):
    os.mkfifo(tree / "pipe.txt")  # opening it for reading would block forever
    os.symlink(tree / "gone.txt", tree / "dangling.txt")
    proc = run_subprocess(
        "scan", "--packs", "", "--rules", pack, "--format", "json", tree, tree / "pipe.txt",
        cwd=tmp_path,
    )
    assert proc.returncode == 1  # the findings; neither special file makes the scan incomplete
    report = json.loads(proc.stdout)
    reasons = {(Path(s["path"]).name, s["reason"]) for s in report["skipped"]}
    assert ("pipe.txt", "not a regular file") in reasons
    assert ("dangling.txt", "symlink not followed") in reasons
    assert {f["rule_id"] for f in report["findings"]} == {"acme.ssn", "acme.email"}


def test_interrupt_exits_130(capsys, monkeypatch, pack, tree):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(piiscan.report, "render", interrupted)
    code, _, err = scan(capsys, pack, tree)
    assert code == 130
    assert err.splitlines()[-1] == "piiscan: interrupted"
    assert "Traceback" not in err


CTRL_C = "os.killpg(0, signal.SIGINT)"  # a terminal signals the whole process group


def ctrl_c_during_pooled_scan(
    tmp_path: Path, pack: Path, *, files: int, pause: float, after: float, press: str = CTRL_C
):
    """`scan --jobs 2` of `files` files in batches of two, in a real process group, where a
    worker presses Ctrl-C (or runs another `press`) `pause` seconds into the first batch, so
    the moment is certain; the other batches take `after` seconds each. Gives the process
    and how many batches were started."""
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(files):
        (folder / f"f{i:02}.txt").write_text(f"ssn {SSN}\n", encoding="utf-8")
    ran = tmp_path / "ran"
    patch = (
        "import os, signal, time\n"
        "import piiscan.parallel, piiscan.scan\n"
        "piiscan.scan.DEFAULT_BATCHING = piiscan.parallel.Batching(items=2, inline_items=2)\n"
        "real = piiscan.scan.scan_group\n"
        "def slow_group(*args):\n"
        f"    with open({str(ran)!r}, 'a') as log:\n"
        "        log.write('.')\n"
        "    try:\n"  # the first batch to get here presses Ctrl-C
        f"        os.close(os.open({str(tmp_path / 'pressed')!r}, os.O_CREAT | os.O_EXCL))\n"
        "    except FileExistsError:\n"
        "        pass\n"
        "    else:\n"
        f"        time.sleep({pause})\n"
        f"        {press}\n"
        f"    time.sleep({after})\n"
        "    return real(*args)\n"
        "piiscan.scan.scan_group = slow_group\n"
        "from piiscan.cli import run\n"
        "run()\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", "import sys\n" + patch, "scan", "--packs", "", "--rules", str(pack),
         "--jobs", "2", str(folder)],
        cwd=tmp_path, capture_output=True, env=subprocess_env(), timeout=120, start_new_session=True,
    )
    return proc, len(ran.read_text())


def test_ctrl_c_with_an_idle_worker_prints_one_line_subprocess(tmp_path, pack):
    # Three batches: one worker holds the first while the other runs the two others and
    # waits for more, where Python's own SIGINT handler would print it a traceback.
    proc, _ = ctrl_c_during_pooled_scan(tmp_path, pack, files=6, pause=1.0, after=0)
    assert proc.returncode == 130, proc.stderr
    assert proc.stderr.decode() == "piiscan: interrupted\n"
    assert proc.stdout == b""


@pytest.mark.parametrize("press", [CTRL_C, "os.kill(os.getppid(), signal.SIGTERM)"], ids=["ctrl-c", "kill"])
def test_an_interrupt_drops_the_batches_not_yet_started_subprocess(tmp_path, pack, press):
    # Forty batches of half a second. Eight are submitted when the signal comes; the two
    # running and the three handed to the pool's queue may still run, the rest must not.
    # SIGTERM to the main process alone (`kill`, a cancelled CI job) stops the workers too.
    proc, started = ctrl_c_during_pooled_scan(
        tmp_path, pack, files=80, pause=0.2, after=0.5, press=press
    )
    assert proc.returncode == 130, proc.stderr
    assert proc.stderr.decode() == "piiscan: interrupted\n"
    assert started <= 6


def test_sigterm_mid_rewrite_exits_130_and_leaves_the_file_and_no_temp_subprocess(tmp_path, pack, tree):
    """A real process killed with SIGTERM while the temp file is half written (the kill is
    sent from inside the write, so the moment is certain)."""
    victim = tree / "people.txt"
    before = victim.read_bytes()
    patch = (
        "import os, signal\n"
        "from piiscan.redact import writer\n"
        "real_write = os.write\n"
        "def write_then_killed(fd, data):\n"
        "    written = real_write(fd, bytes(data[:5]))\n"
        "    os.kill(os.getpid(), signal.SIGTERM)\n"
        "    return written\n"
        "writer.os.write = write_then_killed\n"
    )
    proc = run_patched_subprocess(patch, "redact", "--packs", "", "--rules", pack, victim, cwd=tmp_path)
    assert proc.returncode == 130, proc.stderr
    assert proc.stderr.decode().splitlines()[-1] == "piiscan: interrupted"
    assert victim.read_bytes() == before
    assert sorted(p.name for p in tree.iterdir()) == ["clean.txt", "contact.log", "people.txt"]


def test_closed_stdout_is_an_error_not_findings_subprocess(tmp_path, pack, tree):
    # `piiscan scan | head -0`: the report could not be delivered. Exit 1 would read as
    # "findings at or above --fail-on", which --fail-on never rules out.
    proc = subprocess.Popen(
        [sys.executable, "-m", "piiscan.cli", "scan", "--packs", "", "--rules", str(pack),
         "--fail-on", "never", str(tree)],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=subprocess_env(),
    )
    proc.stdout.close()  # long before the interpreter has started and written anything
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait(timeout=120) == 2
    assert "Traceback" not in err


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux)")
@pytest.mark.parametrize("command", [["scan", "-f", "table"], ["scan", "-f", "json"], ["redact", "-"]])
def test_a_full_stdout_is_a_one_line_error_subprocess(tmp_path, command):
    (tmp_path / "t.txt").write_text(f"ssn {SSN}\n", encoding="utf-8")
    argv = [*command, "t.txt"] if command[0] == "scan" else command
    with open("/dev/full", "wb") as full, open(tmp_path / "t.txt", "rb") as stdin:
        proc = subprocess.run(
            [sys.executable, "-m", "piiscan.cli", *argv, "--no-config"], cwd=tmp_path, stdin=stdin,
            stdout=full, stderr=subprocess.PIPE, env=subprocess_env(), timeout=120,
        )
    err = proc.stderr.decode()
    assert proc.returncode == 2
    assert "No space left on device" in err and "internal error" not in err and SSN not in err


# ---------------------------------------------------------------------------- stdin


def test_stdin_is_scanned_subprocess(tmp_path, pack):
    proc = run_subprocess(
        "scan", "--packs", "", "--rules", pack, "--format", "json", "-",
        cwd=tmp_path, input=f"hello\nssn {SSN}\n".encode(),
    )
    assert proc.returncode == 1
    report = json.loads(proc.stdout)
    assert [(f["path"], f["rule_id"], f["line"]) for f in report["findings"]] == [("-", "acme.ssn", 2)]
    assert SSN.encode() not in proc.stdout


def test_stdin_filename_names_stdin_and_decides_its_file_kind_subprocess(tmp_path):
    """A CSV piped in has its header as context for rows far below it only when piiscan is
    told it is a CSV; the name is then what reports show."""
    rows = "".join(f"{i},{'x' * 60},{80000 + i}\n" for i in range(30))  # zip codes, ~2 KB
    table = ("id,note,zip\n" + rows).encode()
    unnamed = run_subprocess("scan", "--no-config", "-f", "json", "-", cwd=tmp_path, input=table)
    named = run_subprocess("scan", "--no-config", "-f", "json", "-", "--stdin-filename",
                           "exports/people.csv", cwd=tmp_path, input=table)
    postal = lambda proc: [(f["path"], f["line"]) for f in json.loads(proc.stdout)["findings"]
                           if f["entity"] == "POSTAL_CODE"]
    assert postal(unnamed) == [("-", 2)]  # only the row within reach of the header's "zip"
    assert postal(named) == [("exports/people.csv", line) for line in range(2, 32)]
    table_report = run_subprocess("scan", "--no-config", "-", "--stdin-filename", "people.csv",
                                  cwd=tmp_path, input=table)
    assert table_report.stdout.startswith(b"people.csv\n")


@pytest.mark.parametrize("argv", [["--stdin-filename", "a.csv"], [".", "--stdin-filename", "a.csv"],
                                  ["-", "--stdin-filename", ""], ["-", "--stdin-filename", "-"]])
def test_stdin_filename_needs_stdin_and_a_name(capsys, argv):
    code, _, err = run(capsys, "scan", "--no-config", *argv)
    assert code == 2 and "--stdin-filename" in err


def test_empty_stdin_is_clean_subprocess(tmp_path, pack):
    proc = run_subprocess("scan", "--packs", "", "--rules", pack, "-", cwd=tmp_path, input=b"")
    assert proc.returncode == 0
    assert proc.stderr == b""


# ---------------------------------------------------------------------------- reports and values


def test_json_report_parses_and_masks_values(capsys, pack, tree):
    code, report, err = scan_json(capsys, pack, tree)
    assert code == 1
    assert err == ""
    assert {(Path(f["path"]).name, f["entity"]) for f in report["findings"]} == {
        ("people.txt", "US_SSN"),
        ("contact.log", "EMAIL_ADDRESS"),
    }
    text = json.dumps(report)
    assert SSN not in text and EMAIL not in text
    assert all("value" not in f for f in report["findings"])
    assert report["stats"]["files_scanned"] == 3


def test_json_show_values_includes_raw_values(capsys, pack, tree):
    _, report, _ = scan_json(capsys, pack, tree, "--show-values")
    assert {f["value"] for f in report["findings"]} == {SSN, EMAIL}


def test_sarif_report_parses_and_masks_values(capsys, pack, tree):
    code, out, _ = scan(capsys, pack, tree, "--format", "sarif")
    assert code == 1
    sarif = json.loads(out)
    assert sarif["version"] == "2.1.0"
    (sarif_run,) = sarif["runs"]
    assert {r["ruleId"] for r in sarif_run["results"]} == {"acme.ssn", "acme.email"}
    assert {r["id"] for r in sarif_run["tool"]["driver"]["rules"]} >= {"acme.ssn", "acme.email"}
    assert SSN not in out and EMAIL not in out


def test_sarif_show_values_includes_raw_values(capsys, pack, tree):
    _, out, _ = scan(capsys, pack, tree, "--format", "sarif", "--show-values")
    assert SSN in out and EMAIL in out


def test_table_report_masks_values(capsys, pack, tree):
    code, out, _ = scan(capsys, pack, tree)
    assert code == 1
    assert "people.txt" in out and "acme.email" in out
    assert SSN not in out and EMAIL not in out
    assert SSN[-4:] in out or "***" in out


def test_table_show_values_includes_raw_values(capsys, pack, tree):
    _, out, _ = scan(capsys, pack, tree, "--show-values")
    assert SSN in out and EMAIL in out


@pytest.mark.parametrize("fmt", ["table", "json", "sarif"])
def test_output_file_gets_the_report_and_stdout_nothing(capsys, tmp_path, pack, tree, fmt):
    target = tmp_path / f"report.{fmt}"
    code, out, err = scan(capsys, pack, tree, "--format", fmt, "-o", str(target))
    assert code == 1
    assert out == "" and err == ""
    written = target.read_text(encoding="utf-8")
    assert "acme.ssn" in written
    assert SSN not in written
    if fmt != "table":
        json.loads(written)
    else:
        assert "\x1b" not in written  # no colour codes in a file


def test_output_to_an_unwritable_place_exits_2(capsys, tmp_path, pack, tree):
    code, _, err = scan(capsys, pack, tree, "-o", str(tmp_path / "no-such-dir" / "r.json"))
    assert code == 2
    assert err.startswith("piiscan: usage error:")


# ---------------------------------------------------------------------------- hostile names and content


def test_control_characters_in_names_and_content_are_escaped_subprocess(tmp_path, pack):
    folder = tmp_path / "hostile"
    folder.mkdir()
    name = "[bold]x\x1b[31mred.txt"
    (folder / name).write_text(f"ssn {SSN} \x1b]52;c;ZXZpbA==\x07 done\n", encoding="utf-8")
    missing = folder / "gone\x1b[2J[red].txt"  # a warning line on stderr names this one
    proc = run_subprocess("scan", "--packs", "", "--rules", pack, folder, missing, cwd=tmp_path)
    assert proc.returncode == 2
    out, err = proc.stdout.decode(), proc.stderr.decode()
    for stream in (out, err):
        assert "\x1b" not in stream
        assert "\x07" not in stream
    assert "[bold]x" in out and "red.txt" in out
    assert "\\x1b" in out  # shown, not obeyed
    assert "US_SSN" in out
    assert "gone" in err and "[red].txt" in err
    assert SSN not in out


@pytest.mark.parametrize("target", ["self", "nowhere"])
def test_a_named_symlink_that_leads_nowhere_is_an_incomplete_scan(capsys, tmp_path, monkeypatch, target):
    # A loop named first used to stop the config lookup with an internal error.
    monkeypatch.chdir(tmp_path)
    (tmp_path / "link").symlink_to(target if target == "nowhere" else "link")
    code, out, err = run(capsys, "scan", "link")
    assert code == 2 and "internal error" not in err
    assert "link: unreadable" in out + err


@pytest.mark.parametrize("output_format", ["json", "sarif", "gitlab"])
@pytest.mark.parametrize("to_file", [False, True])
def test_a_file_name_undecodable_on_disk_is_reported_subprocess(tmp_path, pack, output_format, to_file):
    folder = tmp_path / "tree"
    folder.mkdir()
    name = os.fsdecode(b"bad\xffname.txt")  # invalid UTF-8: a lone surrogate in Python
    (folder / name).write_text(f"ssn {SSN}\n", encoding="utf-8")
    (folder / os.fsdecode(b"bin\xfe.dat")).write_bytes(b"\0\1\2")  # skipped, and listed
    argv = ["scan", "--packs", "", "--rules", pack, "tree", "-f", output_format]
    proc = run_subprocess(*argv, *(["-o", "report"] if to_file else []), cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    report = json.loads((tmp_path / "report").read_bytes() if to_file else proc.stdout)
    if output_format == "json":
        # The name comes back as it is on disk: JSON escapes the lone surrogate.
        assert [os.fsencode(f["path"]) for f in report["findings"]] == [b"tree/bad\xffname.txt"]
        assert [os.fsencode(s["path"]) for s in report["skipped"]] == [b"tree/bin\xfe.dat"]
    elif output_format == "sarif":
        (result,) = report["runs"][0]["results"]
        location = result["locations"][0]["physicalLocation"]["artifactLocation"]
        assert location["uri"] == "tree/bad%FFname.txt"  # the bytes on disk, percent-encoded
    else:
        (vulnerability,) = report["vulnerabilities"]
        assert os.fsencode(vulnerability["location"]["file"]) == b"tree/bad\xffname.txt"


def test_control_characters_in_rule_pack_errors_are_escaped(capsys, tmp_path, tree):
    bad = tmp_path / "bad\x1b[2J.yaml"
    bad.write_text("pack: acme\nrules: []\n", encoding="utf-8")
    code, _, err = scan(capsys, bad, tree)
    assert code == 2
    assert "\x1b" not in err
    assert "bad\\x1b[2J.yaml" in err


# ---------------------------------------------------------------------------- selecting rules and files


@pytest.mark.parametrize(
    ("option", "name", "expected"),
    [
        ("--only", "acme.ssn", {"US_SSN"}),
        ("--only", "EMAIL_ADDRESS", {"EMAIL_ADDRESS"}),
        ("--disable", "acme.ssn", {"EMAIL_ADDRESS"}),
        ("--disable", "EMAIL_ADDRESS", {"US_SSN"}),
        ("--only", "acme.ssn,acme.email", {"US_SSN", "EMAIL_ADDRESS"}),
    ],
)
def test_only_and_disable_change_what_is_found(capsys, pack, tree, option, name, expected):
    _, report, _ = scan_json(capsys, pack, tree, option, name)
    assert {f["entity"] for f in report["findings"]} == expected


def test_disabling_every_rule_exits_2(capsys, pack, tree):
    code, _, err = scan(capsys, pack, tree, "--disable", "US_SSN", "--disable", "EMAIL_ADDRESS")
    assert code == 2
    assert "no rules left" in err


def test_include_limits_the_files_scanned(capsys, pack, tree):
    code, report, _ = scan_json(capsys, pack, tree, "--include", "*.txt")
    assert {Path(f["path"]).name for f in report["findings"]} == {"people.txt"}
    assert code == 1


def test_exclude_drops_files_without_an_error(capsys, pack, tree):
    code, report, _ = scan_json(capsys, pack, tree, "--exclude", "*.txt")
    assert {Path(f["path"]).name for f in report["findings"]} == {"contact.log"}
    assert code == 1
    assert all(s["reason"] != "unreadable" for s in report["skipped"])


def test_exclude_everything_with_pii_exits_0(capsys, pack, tree):
    code, report, _ = scan_json(capsys, pack, tree, "--exclude", "people.txt", "--exclude", "*.log")
    assert report["findings"] == []
    assert code == 0


def test_too_large_file_is_listed_but_not_an_error(capsys, tmp_path, pack):
    folder = tmp_path / "big"
    folder.mkdir()
    big = folder / "big.txt"
    big.write_text(f"ssn {SSN}\n" + "x" * 2048 + "\n", encoding="utf-8")
    (folder / "small.txt").write_text("fine\n", encoding="utf-8")
    code, report, err = scan_json(capsys, pack, folder, "--max-file-size", "1k")
    assert [(Path(s["path"]).name, s["reason"]) for s in report["skipped"]] == [("big.txt", "too large")]
    assert report["findings"] == []
    assert code == 0
    assert err == ""


def test_too_large_file_with_another_finding_exits_1_not_2(capsys, tmp_path, pack, tree):
    (tree / "big.txt").write_text("y" * 2048 + "\n", encoding="utf-8")
    code, report, _ = scan_json(capsys, pack, tree, "--max-file-size", "1k")
    assert ("big.txt", "too large") in [(Path(s["path"]).name, s["reason"]) for s in report["skipped"]]
    assert code == 1


# ---------------------------------------------------------------------------- rules list / test


def test_rules_list_shows_ids(capsys, pack):
    code, out, _ = run(capsys, "rules", "list", "--packs", "", "--rules", str(pack))
    assert code == 0
    assert "acme.ssn" in out and "acme.email" in out
    assert "2 rules" in out


def test_rules_list_json(capsys, pack):
    code, out, _ = run(capsys, "rules", "list", "--packs", "", "--rules", str(pack), "--format", "json")
    assert code == 0
    rows = json.loads(out)
    assert [(r["id"], r["entity"], r["severity"], r["pack"]) for r in rows] == [
        ("acme.ssn", "US_SSN", "critical", "acme"),
        ("acme.email", "EMAIL_ADDRESS", "high", "acme"),
    ]


def test_rules_list_unknown_format_exits_2(capsys, pack):
    code, _, err = run(capsys, "rules", "list", "--packs", "", "--rules", str(pack), "--format", "xml")
    assert code == 2
    assert "'xml'" in err


def test_rules_test_good_pack_exits_0(capsys, pack):
    code, out, err = run(capsys, "rules", "test", str(pack))
    assert code == 0
    assert "2 rules, 4 examples, 0 failed" in out
    assert err == ""


def test_rules_test_wrong_example_exits_1_and_names_it(capsys, tmp_path):
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text(WRONG_PACK, encoding="utf-8")
    code, out, err = run(capsys, "rules", "test", str(wrong))
    assert code == 1
    assert "2 rules, 5 examples, 1 failed" in out
    (failure,) = [line for line in err.splitlines() if line.startswith("FAIL")]
    assert "acme.email" in failure and WRONG_EXAMPLE in failure
    assert "acme.ssn" not in err


@pytest.mark.parametrize("command", ["scan", "redact"])
def test_a_pack_whose_own_example_misses_is_a_load_error_naming_the_rule(capsys, tmp_path, tree, command):
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text(WRONG_PACK, encoding="utf-8")
    before = {p: p.read_bytes() for p in tree.iterdir()}
    code, out, err = run(capsys, command, "--packs", "", "--rules", str(wrong), str(tree))
    assert code == 2
    assert out == ""
    first = err.splitlines()[0]
    assert first == f"piiscan: rule pack error: {wrong}: rule 'acme.email': tests.match[1] finds nothing"
    assert f"piiscan rules test {wrong}" in err
    assert WRONG_EXAMPLE not in err  # named by its place, not copied into a CI log
    assert {p: p.read_bytes() for p in tree.iterdir()} == before


def test_a_pack_whose_no_match_example_matches_is_a_load_error(capsys, tmp_path, tree):
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text(PACK.replace("no_match: ['nothing here']", f"no_match: ['nothing here', 'cc {EMAIL}']"), encoding="utf-8")
    code, _, err = run(capsys, "scan", "--packs", "", "--rules", str(wrong), str(tree))
    assert code == 2
    assert f"{wrong}: rule 'acme.email': tests.no_match[1] finds something" in err
    assert EMAIL not in err


def test_a_pack_with_several_failing_examples_names_the_first_and_counts_the_rest(tmp_path):
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text(
        WRONG_PACK.replace("match: ['ssn", "match: ['no number here', 'ssn"), encoding="utf-8"
    )
    with pytest.raises(piiscan.errors.RulePackError) as error:
        piiscan.engine_for(packs=(), rules=[wrong])
    assert error.value.message == f"{wrong}: rule 'acme.ssn': tests.match[0] finds nothing (and 1 more)"


def build_engine_with(rules: Path):
    """An engine built afresh (`engine_for` would hand back the one it built before)."""
    from piiscan.scan import build_engine

    return build_engine(config.Settings(packs=(), rules=(str(rules),)))


def test_a_pack_that_passed_its_examples_is_not_tested_again(tmp_path, pack, own_cache_folder, monkeypatch):
    import piiscan.ruletest

    runs = []
    real = piiscan.ruletest.run_rule_tests
    monkeypatch.setattr(piiscan.ruletest, "run_rule_tests", lambda *a, **k: runs.append(1) or real(*a, **k))
    for _ in range(2):
        build_engine_with(pack)
    assert len(runs) == 1
    assert len(list(own_cache_folder.glob("ruletests-*.ok"))) == 1
    pack.write_text(pack.read_text(encoding="utf-8").replace("ssn 536-22-1234", "ssn: 536-22-1234"), encoding="utf-8")
    build_engine_with(pack)
    assert len(runs) == 2  # the same file, edited: tested again


def test_editing_one_of_two_packs_tests_that_pack_alone(tmp_path, pack, own_cache_folder, monkeypatch):
    import piiscan.ruletest
    from piiscan.scan import build_engine

    other = tmp_path / "other.yaml"
    other.write_text(PACK.replace("acme", "other"), encoding="utf-8")
    tested = []  # the rules each run of the examples was given
    real = piiscan.ruletest.run_rule_tests
    monkeypatch.setattr(
        piiscan.ruletest, "run_rule_tests",
        lambda rules, **k: tested.append(sorted(r.id for r in rules)) or real(rules, **k),
    )

    def load() -> None:
        build_engine(config.Settings(packs=(), rules=(str(pack), str(other))))

    load()
    assert tested == [["acme.email", "acme.ssn", "other.email", "other.ssn"]]
    assert len(list(own_cache_folder.glob("ruletests-*.ok"))) == 2  # one mark per pack
    load()
    assert len(tested) == 1  # both remembered
    other.write_text(other.read_text(encoding="utf-8").replace("ssn 536-22-1234", "ssn: 536-22-1234"), encoding="utf-8")
    load()
    assert tested[1:] == [["other.email", "other.ssn"]]


def test_a_failing_pack_does_not_keep_the_other_pack_from_being_remembered(tmp_path, pack, own_cache_folder):
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text(WRONG_PACK.replace("acme", "wrong"), encoding="utf-8")
    with pytest.raises(piiscan.errors.RulePackError, match=r"wrong\.yaml: rule 'wrong\.email'"):
        build_engine_with_all(pack, wrong)
    assert len(list(own_cache_folder.glob("ruletests-*.ok"))) == 1  # acme's, not wrong's
    with pytest.raises(piiscan.errors.RulePackError):
        build_engine_with_all(pack, wrong)  # refused again


def build_engine_with_all(*packs: Path):
    from piiscan.scan import build_engine

    return build_engine(config.Settings(packs=(), rules=tuple(map(str, packs))))


def test_a_pack_whose_examples_fail_is_refused_every_time(tmp_path, own_cache_folder):
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text(WRONG_PACK, encoding="utf-8")
    for _ in range(2):
        with pytest.raises(piiscan.errors.RulePackError, match=r"tests\.match\[1\] finds nothing"):
            build_engine_with(wrong)
    assert list(own_cache_folder.glob("pack-*.json"))  # the parsed pack was kept,
    assert not list(own_cache_folder.glob("ruletests-*"))  # no verdict


def test_rules_test_takes_built_in_pack_names_and_files_together(capsys, pack, tmp_path, monkeypatch):
    from piiscan.rulepack import builtin_packs

    monkeypatch.chdir(tmp_path)  # no folder named like a pack here
    mea = builtin_packs()["mea"].rules
    mea_examples = sum(len(r.tests.match) + len(r.tests.no_match) for r in mea)
    code, out, err = run(capsys, "rules", "test", "mea", str(pack))
    assert code == 0, err
    assert f"{len(mea) + 2} rules, {mea_examples + 4} examples, 0 failed" in out


def test_rules_test_prefers_a_folder_named_like_a_built_in_pack(capsys, pack, tmp_path, monkeypatch):
    (tmp_path / "core").mkdir()
    (tmp_path / "core" / "mine.yaml").write_text(pack.read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(capsys, "rules", "test", "core")
    assert code == 0
    assert "2 rules, 4 examples, 0 failed" in out


def test_rules_test_on_an_unknown_pack_names_it_and_the_built_in_ones(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "rules", "test", "nordics")
    assert code == 2
    assert "nordics: no such rule pack file or folder" in err
    assert "built-in packs: americas, apac, core, eu, mea" in err


def test_rules_test_on_a_bad_pack_exits_2(capsys, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(PACK.replace("validator: email", "validator: emial"), encoding="utf-8")
    code, _, err = run(capsys, "rules", "test", str(bad))
    assert code == 2
    _assert_one_error_line(err, "piiscan: rule pack error:")
    assert "'email'" in err


# ---------------------------------------------------------------------------- internal errors


def _explode(*args, **kwargs):
    raise RuntimeError(SSN)  # an exception message that happens to quote a found value


def test_internal_error_hides_the_exception_message(capsys, monkeypatch, pack, tree):
    monkeypatch.setattr(piiscan.report, "render", _explode)
    code, out, err = scan(capsys, pack, tree)
    assert code == 2
    assert "internal error" in err
    assert SSN not in err and SSN not in out
    assert "Traceback" not in err


def test_internal_error_with_debug_prints_a_traceback(capsys, monkeypatch, pack, tree):
    monkeypatch.setattr(piiscan.report, "render", _explode)
    code, _, err = run(capsys, "--debug", "scan", "--packs", "", "--rules", str(pack), str(tree))
    assert code == 2
    assert "internal error" in err
    assert "Traceback" in err and "RuntimeError" in err


def test_debug_does_not_stick_to_the_next_run(capsys, monkeypatch, pack, tree):
    monkeypatch.setattr(piiscan.report, "render", _explode)
    run(capsys, "--debug", "scan", "--packs", "", "--rules", str(pack), str(tree))
    code, _, err = scan(capsys, pack, tree)
    assert code == 2
    assert "Traceback" not in err and SSN not in err


def test_internal_error_subprocess_has_no_traceback(tmp_path, pack, tree):
    # The same crash in a real process: a tiny wrapper swaps the reporter, then runs main().
    patch = (
        "import piiscan.report\n"
        "def boom(*a, **k):\n"
        f"    raise RuntimeError({SSN!r})\n"
        "piiscan.report.render = boom\n"
    )
    proc = run_patched_subprocess(patch, "scan", "--packs", "", "--rules", pack, tree, cwd=tmp_path)
    assert proc.returncode == 2
    err = proc.stderr.decode()
    assert "internal error" in err
    assert SSN not in err and "Traceback" not in err


# Loaded on first use only: validators' libraries, spaCy, PyYAML (packs come from the disk
# cache, and there is no YAML config file), rich (the piped table is plain text), the process
# pool (one small file never starts one), TOML (no pyproject.toml is read with --no-config),
# tempfile (only cache and baseline writes need it).
HEAVY_AT_START = ("pydantic", "pathspec", "phonenumbers", "stdnum", "spacy", "yaml", "rich",
                  "multiprocessing", "concurrent.futures", "tomllib", "piiscan.regions", "piiscan.ner",
                  "tempfile")


@pytest.mark.parametrize("text", ["nothing personal here\n", f"mail {EMAIL} today\n"])
def test_a_small_scan_imports_nothing_it_does_not_need(tmp_path, text):
    """Start-up is most of a pre-commit hook's time: heavy libraries load on first use."""
    target = tmp_path / "notes.txt"
    target.write_text(text, encoding="utf-8")
    # Where no rule fires, no rule is compiled, and the validators are not needed either.
    heavy = HEAVY_AT_START + (() if EMAIL in text else ("piiscan.validators",))
    code = (
        "import atexit, sys\n"
        f"atexit.register(lambda: print([m for m in {heavy!r} if m in sys.modules]))\n"
        "from piiscan.cli import main\n"
        f"main(['scan', {str(target)!r}, '--no-config'])\n"
    )
    env = {**os.environ, "PIISCAN_CACHE_DIR": str(tmp_path / "cache")}
    env.pop("PIISCAN_NO_CACHE", None)
    env.pop("NO_COLOR", None)
    first = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           timeout=60, env=env)
    assert first.returncode in (0, 1), first.stderr
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, env=env)
    assert done.returncode in (0, 1), done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"
    # The first run filled the caches (and imported PyYAML); the report is the same.
    def report(stdout: str) -> list[str]:
        return [re.sub(r"in [0-9.]+s\b", "in Ns", line) for line in stdout.splitlines()[:-1]]

    assert "yaml" in first.stdout.strip().splitlines()[-1]
    assert report(first.stdout) == report(done.stdout)
    assert (EMAIL in text) == ("EMAIL_ADDRESS" in done.stdout)
