"""Settings in layers: defaults < config file < environment < flags, each with its origin."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from piiscan.cli import main
from piiscan.config import Settings, find_config_file, resolve
from piiscan.errors import ConfigError, UsageError


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def run(capsys, *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_:
        main(list(argv))
    out, err = capsys.readouterr()
    return exit_.value.code, out, err


def test_defaults_without_any_source(tmp_path):
    resolved = resolve({}, start=tmp_path, environ={})
    assert resolved.settings == Settings()
    assert set(resolved.origins.values()) == {"default"}
    assert resolved.config_file is None


def test_pyproject_table_is_found_walking_up_and_paths_are_relative_to_it(tmp_path):
    write(
        tmp_path / "pyproject.toml",
        '[project]\nname = "x"\n\n[tool.piiscan]\nfail_on = "high"\nexclude = ["tests/**"]\n'
        'rules = ["packs/acme.yaml"]\nmax_file_size = "1MB"\nbaseline = ".piiscan-baseline.json"\n',
    )
    deep = tmp_path / "src" / "pkg"
    deep.mkdir(parents=True)
    resolved = resolve({}, start=deep, environ={})
    s = resolved.settings
    assert resolved.config_file == tmp_path / "pyproject.toml"
    assert (s.fail_on, s.exclude, s.max_file_size) == ("high", ("tests/**",), 1024 * 1024)
    assert s.rules == (str(tmp_path / "packs" / "acme.yaml"),)
    assert s.baseline == str(tmp_path / ".piiscan-baseline.json")
    assert resolved.origins["fail_on"] == str(tmp_path / "pyproject.toml")
    assert resolved.origins["min_confidence"] == "default"


def test_pyproject_without_our_table_is_passed_over(tmp_path):
    write(tmp_path / ".piiscan.yaml", "fail_on: critical\n")
    write(tmp_path / "sub" / "pyproject.toml", '[project]\nname = "x"\n')
    assert find_config_file(tmp_path / "sub") == tmp_path / ".piiscan.yaml"


def test_nearest_file_wins_and_yaml_beats_pyproject_in_one_folder(tmp_path):
    write(tmp_path / "pyproject.toml", '[tool.piiscan]\nfail_on = "medium"\n')
    write(tmp_path / ".piiscan.yaml", "fail_on: high\n")
    assert resolve({}, start=tmp_path, environ={}).settings.fail_on == "high"
    write(tmp_path / "inner" / ".piiscan.yml", "fail_on: critical\n")
    assert resolve({}, start=tmp_path / "inner", environ={}).settings.fail_on == "critical"


def test_environment_beats_file_and_flags_beat_environment(tmp_path):
    write(tmp_path / ".piiscan.yaml", "fail_on: high\nmin_confidence: 0.6\nonly: [US_SSN]\n")
    env = {"PIISCAN_FAIL_ON": "critical", "PIISCAN_ONLY": "US_SSN,EMAIL_ADDRESS", "PIISCAN_TEXT": "yes"}
    resolved = resolve({"min_confidence": 0.9}, start=tmp_path, environ=env)
    s = resolved.settings
    assert (s.fail_on, s.only, s.text, s.min_confidence) == (
        "critical", ("US_SSN", "EMAIL_ADDRESS"), True, 0.9,
    )
    assert resolved.origins["fail_on"] == "env PIISCAN_FAIL_ON"
    assert resolved.origins["min_confidence"] == "flag"
    assert resolved.origins["only"] == "env PIISCAN_ONLY"


def test_allowlist_and_strategies_come_from_files(tmp_path):
    write(
        tmp_path / ".piiscan.yaml",
        "allowlist:\n  values: ['ops@acme-mail.net']\n  paths: ['docs/**']\n"
        "strategy: mask\nstrategies:\n  EMAIL_ADDRESS: hash\n  US_SSN: encrypt\n",
    )
    s = resolve({}, start=tmp_path, environ={}).settings
    assert s.allowlist == {"values": ["ops@acme-mail.net"], "paths": ["docs/**"]}
    assert (s.strategy, dict(s.strategies)) == ("mask", {"EMAIL_ADDRESS": "hash", "US_SSN": "encrypt"})
    env = {"PIISCAN_STRATEGIES": "PHONE_NUMBER=partial"}
    assert resolve({}, start=tmp_path, environ=env).settings.strategies == {"PHONE_NUMBER": "partial"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("fail_ob: high\n", "did you mean 'fail_on'"),
        ("fail_on: urgent\n", "fail_on: expected one of"),
        ("min_confidence: 2\n", "min_confidence: must be between 0 and 1"),
        ("text: yes\n", "text: expected true or false"),  # YAML 1.1's yes is no bool here
        ("only: US_SSN\nonly: EMAIL\n", "duplicate key"),
        ("base: &a {fail_on: high}\nother: *a\n", "anchors"),
        ("exclude: [1, 2]\n", "exclude: expected a list of strings"),
        ("strategies: {EMAIL_ADDRESS: shred}\n", "expected one of label"),
        ("fail_on: !!python/object/apply:os.system ['true']\n", "unsupported YAML tag"),
        # Flow nesting: PyYAML 6.0.4's libyaml refuses it itself ("exceeded maximum nesting
        # depth"); block nesting is refused by our own check.
        ("exclude: " + "[" * 100_000 + "]" * 100_000 + "\n", ":1: "),
        ("exclude:\n" + "".join("  " * i + "-\n" for i in range(1, 80)), "nested deeper than 64 levels"),
        ('allowlist: {patterns: ["(x"]}\n', "allowlist.patterns[0]: bad regex"),
        ("allowlist: {valeus: [x]}\n", "did you mean 'values'"),
    ],
)
def test_bad_config_names_the_file_and_key(tmp_path, text, message):
    config = write(tmp_path / ".piiscan.yaml", text)
    with pytest.raises(ConfigError) as error:
        resolve({}, start=tmp_path, environ={})
    assert str(config) in error.value.message
    assert message in error.value.message + " " + error.value.hint


def test_bad_allowlist_in_pyproject_names_the_file_and_table(tmp_path):
    config = write(tmp_path / "pyproject.toml", '[tool.piiscan.allowlist]\npatterns = ["(x"]\n')
    with pytest.raises(ConfigError) as error:
        resolve({}, start=tmp_path, environ={})
    assert error.value.message.startswith(f"{config}: tool.piiscan.allowlist.patterns[0]: bad regex")


def test_bad_pyproject_value_names_the_table_key(tmp_path):
    write(tmp_path / "pyproject.toml", '[tool.piiscan]\nmax_file_size = "lots"\n')
    with pytest.raises(ConfigError, match=r"tool\.piiscan\.max_file_size: cannot read 'lots'"):
        resolve({}, start=tmp_path, environ={})


def test_bad_environment_and_flags(tmp_path):
    with pytest.raises(ConfigError, match="environment PIISCAN_MIN_CONFIDENCE"):
        resolve({}, start=tmp_path, environ={"PIISCAN_MIN_CONFIDENCE": "high"})
    with pytest.raises(ConfigError, match="can only be set in a config file"):
        resolve({}, start=tmp_path, environ={"PIISCAN_ALLOWLIST": "x"})
    with pytest.raises(UsageError, match="--fail-on"):
        resolve({"fail_on": "sometimes"}, start=tmp_path, environ={})


def test_explicit_config_file_and_no_config(tmp_path):
    write(tmp_path / ".piiscan.yaml", "fail_on: high\n")
    other = write(tmp_path / "ci" / "strict.yaml", "fail_on: info\n")
    assert resolve({}, start=tmp_path, config_file=other, environ={}).settings.fail_on == "info"
    assert resolve({}, start=tmp_path, use_config=False, environ={}).settings.fail_on == "low"
    with pytest.raises(UsageError, match="no such file"):
        resolve({}, start=tmp_path, config_file=tmp_path / "missing.yaml", environ={})


# -- through the CLI


SSN_LINE = "customer ssn: 536-22-1234\n"


def test_config_changes_what_scan_does(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "app.py", SSN_LINE)
    code, _, _ = run(capsys, "scan", "app.py", "-q")
    assert code == 1
    write(tmp_path / ".piiscan.yaml", "fail_on: never\nformat: json\n")
    code, out, _ = run(capsys, "scan", "app.py", "-q")
    assert code == 0 and json.loads(out)["findings"][0]["entity"] == "US_SSN"
    code, _, _ = run(capsys, "scan", "app.py", "-q", "--fail-on", "low")  # a flag wins
    assert code == 1
    monkeypatch.setenv("PIISCAN_DISABLE", "US_SSN")
    code, out, _ = run(capsys, "scan", "app.py", "-q")
    assert json.loads(out)["findings"] == []


def test_config_is_found_from_the_scanned_path_not_the_cwd(tmp_path, capsys, monkeypatch):
    project = tmp_path / "project"
    write(project / "pyproject.toml", '[tool.piiscan]\nexclude = ["fixtures/**"]\n')
    write(project / "fixtures" / "users.txt", SSN_LINE)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    code, out, _ = run(capsys, "scan", str(project), "-q", "-f", "json")
    assert code == 0 and json.loads(out)["findings"] == []
    code, _, _ = run(capsys, "scan", str(project), "-q", "--no-config")
    assert code == 1


def test_bad_config_is_exit_2_with_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path / ".piiscan.yaml", "fail-on: sometimes\n")
    write(tmp_path / "a.txt", "nothing here\n")
    code, out, err = run(capsys, "scan", "a.txt")
    assert code == 2 and out == ""
    assert err.splitlines()[0].startswith(f"piiscan: config error: {tmp_path / '.piiscan.yaml'}: fail_on")


def test_config_show_prints_values_and_origins(tmp_path, capsys, monkeypatch):
    write(tmp_path / "pyproject.toml", '[tool.piiscan]\nfail_on = "high"\n')
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PIISCAN_MIN_CONFIDENCE", "0.8")
    code, out, _ = run(capsys, "config", "show")
    assert code == 0
    assert f"config file: {tmp_path / 'pyproject.toml'}" in out
    rows = {line.split()[0]: line.split() for line in out.splitlines()[2:] if line.strip()}
    assert rows["fail_on"][1:] == ["high", str(tmp_path / "pyproject.toml")]
    assert rows["min_confidence"][1:] == ["0.8", "env", "PIISCAN_MIN_CONFIDENCE"]
    assert rows["format"][1:] == ["table", "default"]


def test_the_settings_defaults_are_the_librarys_defaults():
    """`config` keeps its own copy of these (it stays light: `piiscan config show` and
    `keygen` never import the engine), so a change to one side must reach the other."""
    from piiscan import config, engine, sources

    defaults = Settings()
    assert defaults.min_confidence == engine.DEFAULT_MIN_CONFIDENCE
    assert defaults.regex_timeout == engine.DEFAULT_REGEX_TIMEOUT
    assert config.BACKENDS == engine.BACKENDS
    assert defaults.max_file_size == config.DEFAULT_MAX_FILE_SIZE == sources.DEFAULT_MAX_FILE_SIZE


def test_a_misshapen_allowlist_is_named_by_its_type_not_its_values(tmp_path):
    email = "jo.sample@example-mail.net"
    write(tmp_path / ".piiscan.yaml", f"allowlist: [{email}]\n")
    with pytest.raises(ConfigError) as error:
        resolve({}, start=tmp_path, environ={})
    assert error.value.message.endswith("allowlist: expected a mapping, got a list")
    assert email not in error.value.message


@pytest.mark.parametrize("value", ["0", "0.5", "0k"])
def test_a_file_size_limit_of_nothing_is_refused(tmp_path, value):
    # A limit under one byte skips every file and would report a clean scan.
    with pytest.raises(UsageError, match="--max-file-size: expected a size above 0"):
        resolve({"max_file_size": value}, start=tmp_path, environ={})


@pytest.mark.parametrize("value", ["inf", "nan", "1e300", "0", "-1", "3601"])
def test_a_regex_timeout_that_is_no_number_of_seconds_is_refused(tmp_path, value):
    with pytest.raises(UsageError, match="--regex-timeout: must be above 0 and at most 3600 seconds"):
        resolve({"regex_timeout": value}, start=tmp_path, environ={})


def test_a_regex_timeout_of_an_hour_is_taken(tmp_path):
    assert resolve({"regex_timeout": "3600"}, start=tmp_path, environ={}).settings.regex_timeout == 3600


def test_a_strategy_for_an_entity_name_no_token_could_hold_is_refused(tmp_path):
    with pytest.raises(UsageError, match="at most 64 characters"):
        resolve({"strategies": "A" * 65 + "=encrypt"}, start=tmp_path, environ={})


@pytest.mark.parametrize(
    ("file", "text", "expected"),
    [
        (".piiscan.yaml", "packs: [core, europe]\n", "{config}: packs: unknown rule pack 'europe'"),
        (".piiscan.yaml", "disable: [core.emial]\n", "{config}: disable: no rule or entity named 'core.emial'"),
        (".piiscan.yaml", "only: [US_SNN]\n", "{config}: only: no rule or entity named 'US_SNN'"),
        ("pyproject.toml", '[tool.piiscan]\npacks = ["europe"]\n', "{config}: tool.piiscan.packs: unknown rule pack 'europe'"),
    ],
)
def test_a_bad_pack_or_rule_name_in_a_config_file_names_the_file_and_key(capsys, tmp_path, monkeypatch, file, text, expected):
    monkeypatch.chdir(tmp_path)
    config = write(tmp_path / file, text)
    code, out, err = run(capsys, "scan", ".")
    assert code == 2 and out == ""
    assert err.splitlines()[0] == "piiscan: usage error: " + expected.format(config=config)
    # From a flag or the environment, the same mistake is named as such.
    monkeypatch.setenv("PIISCAN_PACKS", "core,europe")
    code, _, err = run(capsys, "scan", ".", "--no-config")
    assert err.splitlines()[0] == "piiscan: usage error: environment PIISCAN_PACKS: unknown rule pack 'europe'"
    monkeypatch.delenv("PIISCAN_PACKS")
    code, _, err = run(capsys, "scan", ".", "--no-config", "--packs", "europe")
    assert err.splitlines()[0] == "piiscan: usage error: unknown rule pack 'europe'"
