"""`piiscan redact / restore / keygen / rekey` on the command line: where output goes (in place,
stdin to stdout, --dry-run, --output-dir), what is refused and left untouched (links, read-only,
binary, changed files, bad tokens, missing keys), crashes between write and rename, and keys.

Every in-process call goes through `Piiscan` from test_redact.py, which fails the test if a
planted raw value or key material appears on stdout or stderr.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

import piiscan.engine
import piiscan.redact.redactor
import piiscan.redact.run
import piiscan.redact.writer
from piiscan.masking import mask_value
from piiscan.redact import keys
from piiscan.redact.writer import TEMP_PREFIX, TEMP_SUFFIX
from test_redact import (  # noqa: F401 - fixtures are used by name
    Piiscan,
    clean_environment,
    fake_email,
    fake_people,
    fake_ssn,
    key_file,
    key_material,
    person_lines,
    piiscan_cli,
    scan_entities,
)

TOKEN = re.compile(r"pii1[sg]\.([A-Z_]+)\.([A-Za-z0-9_-]+)\.k([0-9a-f]{8})")


def write_person_file(piiscan_cli: Piiscan, path: Path, count: int = 1, newline: str = "\n") -> list:
    people = fake_people(count)
    for p in people:
        piiscan_cli.forbid(*p.values)
    path.write_bytes("".join(person_lines(p, newline) for p in people).encode())
    return people


def temp_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.name.startswith(TEMP_PREFIX) and p.name.endswith(TEMP_SUFFIX)]


def snapshot(path: Path) -> tuple:
    st = os.lstat(path)
    return path.read_bytes(), stat.S_IMODE(st.st_mode), st.st_ino, st.st_mtime_ns


def error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("piiscan: ") and "error" in line]


def run_subprocess(*argv: object, cwd: Path, stdin: bytes, env_extra: dict | None = None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIISCAN_")}
    env.update({"NO_COLOR": "1", **(env_extra or {})})
    return subprocess.run(
        [sys.executable, "-m", "piiscan.cli", *[str(a) for a in argv]],
        cwd=cwd, input=stdin, capture_output=True, env=env, timeout=120,
    )


# ---------------------------------------------------------------------------- stdin and stdout


def test_stdin_to_stdout_is_byte_exact_subprocess(tmp_path):
    people = fake_people(2)
    text = "".join(person_lines(p, "\r\n") for p in people) + "naïve 日本 \r\n"
    proc = run_subprocess("redact", "--no-config", "-", cwd=tmp_path, stdin=text.encode())
    assert proc.returncode == 0, proc.stderr
    expected = text
    for p in people:
        for value, entity in zip(p.values, ("EMAIL_ADDRESS", "US_SSN", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE")):
            expected = expected.replace(value, f"[{entity}]")
    assert proc.stdout == expected.encode()
    assert b"redacted 1 file: 2 CREDIT_CARD, 2 EMAIL_ADDRESS" in proc.stderr
    assert not [v for p in people for v in p.values if v.encode() in proc.stderr]


def test_stdin_with_a_file_name_still_goes_to_stdout_subprocess(tmp_path):
    """--stdin-filename names the stream (its file kind, its reports); the file of that name,
    if there is one, is neither read nor rewritten."""
    rows = "".join(f"{i},{'x' * 60},{80000 + i}\n" for i in range(20))
    table = "id,note,zip\n" + rows
    (tmp_path / "people.csv").write_text("left alone\n", encoding="utf-8")
    proc = run_subprocess("redact", "--no-config", "-", "--stdin-filename", "people.csv",
                          cwd=tmp_path, stdin=table.encode())
    assert proc.returncode == 0, proc.stderr
    expected = "id,note,zip\n" + "".join(f"{i},{'x' * 60},[POSTAL_CODE]\n" for i in range(20))
    assert proc.stdout.decode() == expected  # every row: the header named the column
    assert (tmp_path / "people.csv").read_text(encoding="utf-8") == "left alone\n"
    assert b"redacted 1 file: 20 POSTAL_CODE" in proc.stderr


def test_stdin_encrypt_then_restore_subprocess(tmp_path, piiscan_cli):
    key = piiscan_cli.keygen(tmp_path / "k.json")
    people = fake_people(1)
    original = ("\ufeff" + person_lines(people[0], "\r\n")).encode("utf-16-le")
    redacted = run_subprocess("redact", "--no-config", "--strategy", "encrypt", "--key-file", key, "-",
                              cwd=tmp_path, stdin=original)
    assert redacted.returncode == 0, redacted.stderr
    assert redacted.stdout.startswith(b"\xff\xfe") and redacted.stdout != original
    restored = run_subprocess("restore", "--no-config", "-", cwd=tmp_path, stdin=redacted.stdout,
                              env_extra={"PIISCAN_KEY_FILE": str(key)})
    assert restored.returncode == 0, restored.stderr
    assert restored.stdout == original
    for proc in (redacted, restored):
        assert not [s for s in key_material(key) if s.encode() in proc.stderr + redacted.stdout]


def test_stdin_without_findings_comes_out_unchanged_subprocess(tmp_path):
    text = "nothing personal here\r\nnaïve café\n".encode()
    proc = run_subprocess("redact", "--no-config", "-", cwd=tmp_path, stdin=text)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == text  # a filter in a pipe must not swallow clean input


def test_stdin_that_fails_verification_does_not_pass_raw_values_on(piiscan_cli, monkeypatch, capsys):
    people = fake_people(1)
    piiscan_cli.forbid(*people[0].values)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(person_lines(people[0]).encode())))
    monkeypatch.setattr(piiscan.redact.redactor, "replacement_text", lambda entity, value, options: value)
    run = piiscan_cli("redact", "--no-config", "-")  # also checks stdout for raw values
    assert run.code == 2
    assert "survived redaction" in run.err


# ---------------------------------------------------------------------------- dry run, output dir, summary


def test_dry_run_prints_a_masked_diff_and_writes_nothing(piiscan_cli, tmp_path):
    path = tmp_path / "people.txt"
    people = write_person_file(piiscan_cli, path)
    before = snapshot(path)
    run = piiscan_cli("redact", "--no-config", "--dry-run", "people.txt")
    assert run.code == 0, run.err
    assert snapshot(path) == before
    assert run.out.startswith("--- a/people.txt\n+++ b/people.txt\n")
    assert f"-ssn ***-**-{people[0].ssn[-4:]}\n" in run.out
    assert "+ssn [US_SSN]\n" in run.out
    assert "would redact 1 file: 1 CREDIT_CARD, 1 EMAIL_ADDRESS, 1 IBAN_CODE, 1 PHONE_NUMBER, 1 US_SSN" in run.err
    assert temp_files(tmp_path) == []


def test_dry_run_reads_the_original_once(piiscan_cli, tmp_path, monkeypatch):
    # One engine pass gives both the findings and the values its diff masks; the other pass
    # is the check that the redacted text has none left.
    write_person_file(piiscan_cli, tmp_path / "people.txt")
    passes = []
    real = piiscan.engine.Engine._model_matches
    monkeypatch.setattr(piiscan.engine.Engine, "_model_matches",
                        lambda self, documents: passes.append(documents[0].text) or real(self, documents))
    run = piiscan_cli("redact", "--no-config", "--dry-run", "people.txt")
    assert run.code == 0, run.err
    original = (tmp_path / "people.txt").read_text(encoding="utf-8")
    assert passes.count(original) == 1 and len(passes) == 2


@pytest.mark.parametrize("strategy", ["label", "partial"])
def test_dry_run_masks_every_value_it_shows_and_shows_every_change(piiscan_cli, tmp_path, strategy):
    (person,) = fake_people(1)
    piiscan_cli.forbid(*person.values)  # checked on stdout and stderr by the fixture
    path = tmp_path / "mixed.txt"
    path.write_text(
        f"ssn {person.ssn} # piiscan: ignore\n"  # kept by its ignore comment: context line
        f"email {person.email}\n"
        f"card {person.card} iban {person.iban} # piiscan: ignore[CREDIT_CARD]\n"
        f"weak id {person.ssn}\n",  # no context word: under --min-confidence 0.8
        encoding="utf-8",
    )
    before = snapshot(path)
    run = piiscan_cli("redact", "--no-config", "--dry-run", "--strategy", strategy,
                      "--min-confidence", "0.8", path)
    assert run.code == 0, run.err
    assert snapshot(path) == before
    lines = run.out.splitlines()
    # partial shows j***@... on both sides: the lines still show as changed.
    assert sum(1 for line in lines if line.startswith("-email ")) == 1
    assert sum(1 for line in lines if line.startswith("+email ")) == 1
    assert f" ssn ***-**-{person.ssn[-4:]} # piiscan: ignore" in lines
    assert f" weak id ***-**-{person.ssn[-4:]}" in lines
    changed_card_line = [line for line in lines if line.startswith("+card ")]
    assert len(changed_card_line) == 1 and person.card[-4:] in changed_card_line[0]


@pytest.mark.parametrize("selection", [("--only", "US_SSN"), ("--disable", "core.credit-card,core.email")])
def test_dry_run_masks_what_the_rules_left_out_match(piiscan_cli, tmp_path, selection):
    (person,) = fake_people(1)
    piiscan_cli.forbid(*person.values)  # checked on stdout and stderr by the fixture
    path = tmp_path / "mixed.txt"
    path.write_text(f"ssn {person.ssn} card {person.card}\nmail {person.email}\n", encoding="utf-8")
    run = piiscan_cli("redact", "--no-config", "--dry-run", *selection, path)
    assert run.code == 0, run.err
    card, email = mask_value("CREDIT_CARD", person.card), mask_value("EMAIL_ADDRESS", person.email)
    assert run.out.splitlines()[3:] == [
        f"-ssn ***-**-{person.ssn[-4:]} card {card}",
        f"+ssn [US_SSN] card {card}",
        f" mail {email}",  # an unchanged line
    ]


def test_dry_run_and_output_dir_together_are_refused(piiscan_cli, tmp_path):
    write_person_file(piiscan_cli, tmp_path / "a.txt")
    run = piiscan_cli("redact", "--no-config", "--dry-run", "--output-dir", "out", "a.txt")
    assert run.code == 2
    assert not (tmp_path / "out").exists()


def test_output_dir_writes_copies_with_the_same_mode_and_leaves_originals(piiscan_cli, tmp_path):
    (tmp_path / "src" / "deep").mkdir(parents=True)
    first, second = tmp_path / "src" / "a.txt", tmp_path / "src" / "deep" / "b.txt"
    write_person_file(piiscan_cli, first)
    write_person_file(piiscan_cli, second, newline="\r\n")
    first.chmod(0o640)
    second.chmod(0o604)
    before = [snapshot(first), snapshot(second)]
    run = piiscan_cli("redact", "--no-config", "--output-dir", "out", "src")
    assert run.code == 0, run.err
    assert [snapshot(first), snapshot(second)] == before
    copies = [tmp_path / "out" / "src" / "a.txt", tmp_path / "out" / "src" / "deep" / "b.txt"]
    for copy, original, mode in zip(copies, (first, second), (0o640, 0o604)):
        assert stat.S_IMODE(copy.stat().st_mode) == mode
        assert copy.read_bytes().count(b"\r\n") == original.read_bytes().count(b"\r\n")
    assert scan_entities(piiscan_cli, tmp_path / "out") == []
    assert "redacted 2 files: 2 CREDIT_CARD, 2 EMAIL_ADDRESS" in run.err


def test_an_output_dir_that_leads_back_to_the_originals_is_refused(piiscan_cli, tmp_path):
    # `--output-dir .` from above the folder: each copy's path is its original's.
    original = tmp_path / "data" / "x.txt"
    original.parent.mkdir()
    write_person_file(piiscan_cli, original)
    original.chmod(0o444)
    os.link(original, tmp_path / "x-link.txt")  # a link the in-place rewrite would refuse
    before = snapshot(original)
    run = piiscan_cli("redact", "--no-config", "--output-dir", ".", "data")
    assert run.code == 2
    assert f"piiscan: error: data/x.txt: its copy {Path('data/x.txt')} is the file itself; nothing written" in run.err
    assert snapshot(original) == before


def test_an_output_dir_copy_that_is_a_hard_link_of_its_original_is_refused(piiscan_cli, tmp_path):
    original = tmp_path / "a.txt"
    write_person_file(piiscan_cli, original)
    (tmp_path / "out").mkdir()
    os.link(original, tmp_path / "out" / "a.txt")
    before = snapshot(original)
    run = piiscan_cli("redact", "--no-config", "--output-dir", "out", "a.txt")
    assert run.code == 2 and "is the file itself; nothing written" in run.err
    assert snapshot(original) == before


def test_two_files_whose_copies_would_share_a_path_are_not_both_written(piiscan_cli, tmp_path, monkeypatch):
    # `../k/a.txt` and `k/a.txt` both go to `out/k/a.txt`: the second is refused, not lost.
    for folder in (tmp_path / "k", tmp_path / "work" / "k"):
        folder.mkdir(parents=True)
        write_person_file(piiscan_cli, folder / "a.txt")
    monkeypatch.chdir(tmp_path / "work")
    run = piiscan_cli("redact", "--no-config", "--output-dir", "out", "../k/a.txt", "k/a.txt")
    assert run.code == 2
    assert "piiscan: error: k/a.txt: its copy out/k/a.txt would replace the copy of another file" in run.err
    assert "redacted 1 file" in run.err
    assert scan_entities(piiscan_cli, tmp_path / "work" / "out") == []


def test_summary_counts_spans_per_entity(piiscan_cli, tmp_path):
    emails = [fake_email() for _ in range(3)]
    ssns = [fake_ssn() for _ in range(2)]
    piiscan_cli.forbid(*emails, *ssns)
    (tmp_path / "a.txt").write_text(f"mail {emails[0]} and {emails[1]}\nssn {ssns[0]}\n")
    (tmp_path / "b.txt").write_text(f"mail {emails[2]}\nssn {ssns[1]}\n")
    (tmp_path / "clean.txt").write_text("nothing here\n")
    run = piiscan_cli("redact", "--no-config", "a.txt", "b.txt", "clean.txt")
    assert run.code == 0, run.err
    assert run.err.strip().splitlines()[-1] == "piiscan: redacted 2 files: 3 EMAIL_ADDRESS, 2 US_SSN"
    assert (tmp_path / "clean.txt").read_text() == "nothing here\n"


# ---------------------------------------------------------------------------- refused files


def test_a_read_only_file_is_an_error_and_untouched(piiscan_cli, tmp_path):
    locked, other = tmp_path / "locked.txt", tmp_path / "other.txt"
    write_person_file(piiscan_cli, locked)
    write_person_file(piiscan_cli, other)
    locked.chmod(0o444)
    before = snapshot(locked)
    run = piiscan_cli("redact", "--no-config", "locked.txt", "other.txt")
    assert run.code == 2
    assert snapshot(locked) == before
    assert [line for line in error_lines(run.err) if "locked.txt" in line and "read-only" in line]
    assert scan_entities(piiscan_cli, other) == []  # one refused file does not stop the others


def test_a_hard_linked_file_is_refused(piiscan_cli, tmp_path):
    path = tmp_path / "a.txt"
    write_person_file(piiscan_cli, path)
    os.link(path, tmp_path / "b.txt")
    before = path.read_bytes()
    run = piiscan_cli("redact", "--no-config", "a.txt")
    assert run.code == 2
    assert "hard link" in run.err and "a.txt" in run.err
    assert path.read_bytes() == (tmp_path / "b.txt").read_bytes() == before


def test_a_symlink_is_refused_named_or_walked(piiscan_cli, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    target = outside / "target.txt"
    write_person_file(piiscan_cli, target)
    (tmp_path / "tree").mkdir()
    os.symlink(target, tmp_path / "tree" / "link.txt")
    os.symlink(target, tmp_path / "named.txt")
    before = snapshot(target)
    walked = piiscan_cli("redact", "--no-config", "tree")
    assert walked.code == 0, walked.err  # not followed in a walk: skipped, as in `scan`
    named = piiscan_cli("redact", "--no-config", "named.txt")
    assert named.code == 2
    assert "named.txt is a symlink" in named.err
    assert snapshot(target) == before
    assert os.path.islink(tmp_path / "named.txt") and os.path.islink(tmp_path / "tree" / "link.txt")


def test_a_binary_file_in_a_walk_is_never_touched(piiscan_cli, tmp_path):
    (tmp_path / "tree").mkdir()
    email = fake_email()
    piiscan_cli.forbid(email)
    blob = tmp_path / "tree" / "blob.bin"
    blob.write_bytes(b"\x00\x01BIN mail " + email.encode() + b"\n\x00")
    (tmp_path / "tree" / "text.txt").write_text(f"mail {email}\n")
    before = snapshot(blob)
    run = piiscan_cli("redact", "--no-config", "tree")
    assert run.code == 0, run.err
    assert snapshot(blob) == before
    assert "redacted 1 file: 1 EMAIL_ADDRESS" in run.err


def test_a_binary_file_named_explicitly_is_never_touched(piiscan_cli, tmp_path):
    email = fake_email()
    piiscan_cli.forbid(email)
    blob = tmp_path / "blob.bin"
    blob.write_bytes(b"\x00\x01BIN mail " + email.encode() + b"\n\x00")
    before = snapshot(blob)
    run = piiscan_cli("redact", "--no-config", "blob.bin")
    assert snapshot(blob) == before  # issue 4.5: binary files are never touched
    # ... and refusing one the user named is an error, not a quiet success.
    assert run.code == 2
    assert "piiscan: error: blob.bin: binary (NUL byte at offset 0); not rewritten" in run.err


def test_a_special_or_too_large_file_named_explicitly_is_an_error(piiscan_cli, tmp_path):
    email = fake_email()
    piiscan_cli.forbid(email)
    os.mkfifo(tmp_path / "pipe")
    big = tmp_path / "big.txt"
    big.write_text(f"mail {email}\n" + "filler line\n" * 200)
    small = tmp_path / "small.txt"
    small.write_text(f"mail {email}\n")
    before = snapshot(big)
    run = piiscan_cli("redact", "--no-config", "--max-file-size", "1k", "pipe", "big.txt", "small.txt")
    assert run.code == 2
    assert "piiscan: error: pipe: not a regular file (named pipe (FIFO)); not rewritten" in run.err
    assert "piiscan: error: big.txt: too large" in run.err and "not rewritten" in run.err
    assert snapshot(big) == before
    assert "redacted 1 file: 1 EMAIL_ADDRESS" in run.err  # the others still are
    assert email not in small.read_text()


def test_a_file_changed_after_the_scan_is_refused(piiscan_cli, tmp_path, monkeypatch):
    path = tmp_path / "a.txt"
    write_person_file(piiscan_cli, path)
    real_read = piiscan.redact.run.read_for_rewrite

    def edited_meanwhile(name):
        with open(name, "a") as handle:
            handle.write("a line someone added\n")
        return real_read(name)

    monkeypatch.setattr(piiscan.redact.run, "read_for_rewrite", edited_meanwhile)
    run = piiscan_cli("redact", "--no-config", "a.txt")
    assert run.code == 2
    assert "a.txt: changed since it was scanned; nothing written" in run.err
    assert path.read_text().endswith("a line someone added\n")
    assert len(scan_entities(piiscan_cli, path)) == 5


def test_a_file_changed_between_read_and_rename_is_refused(piiscan_cli, tmp_path, monkeypatch):
    path = tmp_path / "a.txt"
    write_person_file(piiscan_cli, path)
    real_rewrite = piiscan.redact.run.atomic_rewrite

    def edited_meanwhile(name, data, expected):
        with open(name, "a") as handle:
            handle.write("late edit\n")
        return real_rewrite(name, data, expected)

    monkeypatch.setattr(piiscan.redact.run, "atomic_rewrite", edited_meanwhile)
    run = piiscan_cli("redact", "--no-config", "a.txt")
    assert run.code == 2
    assert "changed since it was scanned" in run.err
    assert path.read_text().endswith("late edit\n") and temp_files(tmp_path) == []


# ---------------------------------------------------------------------------- crashes and verification


@pytest.mark.parametrize(("failure", "code"), [(RuntimeError("disk on fire"), 2), (KeyboardInterrupt(), 130)])
def test_a_crash_between_write_and_rename_leaves_the_original(piiscan_cli, tmp_path, monkeypatch, failure, code):
    path = tmp_path / "a.txt"
    write_person_file(piiscan_cli, path)
    path.chmod(0o640)
    before = snapshot(path)

    def crash(src, dst):
        assert Path(src).name.startswith(TEMP_PREFIX) and Path(src).exists()  # written, not renamed
        raise failure

    monkeypatch.setattr(piiscan.redact.writer.os, "replace", crash)
    run = piiscan_cli("redact", "--no-config", "a.txt")
    assert run.code == code
    assert snapshot(path) == before
    assert temp_files(tmp_path) == []
    assert "Traceback" not in run.err and "disk on fire" not in run.err
    if code == 2:
        assert "internal error (RuntimeError)" in run.err


def test_a_value_that_survives_redaction_is_an_error_and_nothing_is_written(piiscan_cli, tmp_path, monkeypatch):
    path = tmp_path / "a.txt"
    write_person_file(piiscan_cli, path)
    before = snapshot(path)
    monkeypatch.setattr(piiscan.redact.redactor, "replacement_text", lambda entity, value, options: value)
    run = piiscan_cli("redact", "--no-config", "a.txt")
    assert run.code == 2
    [line] = error_lines(run.err)
    assert line.startswith("piiscan: error: a.txt: 5 finding(s) survived redaction (line 2, 3, 4, 5, 6)")
    assert snapshot(path) == before and temp_files(tmp_path) == []


# ---------------------------------------------------------------------------- restore errors


def redact_encrypt(piiscan_cli: Piiscan, key: Path, *paths: object) -> None:
    run = piiscan_cli("redact", "--no-config", "--strategy", "encrypt", "--key-file", key, *paths)
    assert run.code == 0, run.err


def encrypted_person_file(piiscan_cli: Piiscan, key: Path, path: Path) -> tuple:
    """A person's file with every value encrypted; its snapshot, to show nothing changed."""
    write_person_file(piiscan_cli, path)
    redact_encrypt(piiscan_cli, key, path)
    return snapshot(path)


def edit_token(path: Path, line_no: int, edit) -> None:
    lines = path.read_text().splitlines(keepends=True)
    match = TOKEN.search(lines[line_no - 1])
    lines[line_no - 1] = lines[line_no - 1].replace(match[0], edit(match))
    path.write_text("".join(lines))


def _flip_ciphertext(match: re.Match) -> str:
    body = match[2]
    flipped = body[:5] + ("A" if body[5] != "A" else "B") + body[6:]
    return match[0].replace(body, flipped)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (_flip_ciphertext, "token failed authentication"),
        (lambda m: m[0].replace(f".{m[1]}.", ".PHONE_NUMBER."), "token failed authentication"),
        (lambda m: m[0].replace(f".k{m[3]}", ".k00000000"), "unknown key id k00000000"),
        # Cut short (by hand, by a column width, by a copy and paste): found, not passed over.
        (lambda m: m[0][:-3], "malformed token"),
        (lambda m: m[0][: m[0].rindex(".")], "malformed token"),
        (lambda m: m[0][: m[0].index(m[2]) + 12], "malformed token"),
    ],
    ids=["tampered", "entity-swapped", "unknown-key", "key-id-cut", "key-id-lost", "ciphertext-cut"],
)
def test_a_bad_token_names_file_and_line_and_nothing_is_written(piiscan_cli, key_file, tmp_path, edit, message):
    bad, good = tmp_path / "bad.txt", tmp_path / "good.txt"
    write_person_file(piiscan_cli, bad)
    write_person_file(piiscan_cli, good)
    good_text = good.read_text()
    redact_encrypt(piiscan_cli, key_file, bad, good)
    edit_token(bad, 3, edit)  # the SSN line
    before = snapshot(bad)
    run = piiscan_cli("restore", "--no-config", "--key-file", key_file, "bad.txt", "good.txt",
                      values_on_stdout=True)
    assert run.code == 2
    [line] = error_lines(run.err)
    assert line.startswith("piiscan: error: bad.txt:3: ") and message in line and "nothing written" in line
    assert snapshot(bad) == before
    assert good.read_text() == good_text  # the other file is restored


def test_a_wrong_key_is_a_clear_error(piiscan_cli, key_file, tmp_path):
    path = tmp_path / "a.txt"
    write_person_file(piiscan_cli, path, count=2)
    redact_encrypt(piiscan_cli, key_file, path)
    before = snapshot(path)
    other = piiscan_cli.keygen(tmp_path / "other.json")
    run = piiscan_cli("restore", "--no-config", "--key-file", other, "a.txt")
    assert run.code == 2
    [line] = error_lines(run.err)
    assert line.startswith("piiscan: error: a.txt:2: unknown key id k") and "(and 9 more)" in line
    assert snapshot(path) == before


@pytest.mark.parametrize(("command", "strategy"), [("redact", "hash"), ("redact", "encrypt"), ("restore", None)])
def test_a_missing_key_is_a_one_line_error(piiscan_cli, tmp_path, command, strategy):
    path = tmp_path / "a.txt"
    write_person_file(piiscan_cli, path)
    before = snapshot(path)
    argv = [command, "--no-config", *(["--strategy", strategy] if strategy else []), "a.txt"]
    run = piiscan_cli(*argv)
    assert run.code == 2
    assert run.err.splitlines()[0].startswith("piiscan: key error: no key")
    assert snapshot(path) == before


def test_a_strategy_for_an_entity_no_rule_reports_is_refused(piiscan_cli, tmp_path):
    path = tmp_path / "a.txt"
    write_person_file(piiscan_cli, path)
    before = snapshot(path)
    run = piiscan_cli("redact", "--no-config", "--strategy-for", "EMAIL=mask", "a.txt")
    assert run.code == 2
    assert "a strategy is set for 'EMAIL', which no rule reports" in run.err
    assert "did you mean 'EMAIL_ADDRESS'?" in run.err
    (tmp_path / ".piiscan.yaml").write_text("strategies:\n  PHONE_NUMBR: mask\n", encoding="utf-8")
    run = piiscan_cli("redact", "a.txt")
    assert run.code == 2 and "did you mean 'PHONE_NUMBER'?" in run.err
    assert snapshot(path) == before
    # An entity of a pack that is not loaded now is no typo: a shared config may name it.
    (tmp_path / ".piiscan.yaml").write_text("strategies:\n  DE_TAX_ID: mask\n", encoding="utf-8")
    run = piiscan_cli("redact", "a.txt")
    assert run.code == 0, run.err


def test_a_key_file_readable_by_others_is_refused(piiscan_cli, key_file, tmp_path):
    write_person_file(piiscan_cli, tmp_path / "a.txt")
    key_file.chmod(0o644)
    run = piiscan_cli("redact", "--no-config", "--strategy", "hash", "--key-file", key_file, "a.txt")
    assert run.code == 2 and "readable by other users" in run.err


# ---------------------------------------------------------------------------- keys from the environment


def test_keys_from_the_environment(piiscan_cli, key_file, tmp_path, monkeypatch):
    path = tmp_path / "a.txt"
    write_person_file(piiscan_cli, path)
    original = path.read_bytes()
    monkeypatch.setenv("PIISCAN_KEY_FILE", str(key_file))
    redact = piiscan_cli("redact", "--no-config", "--strategy", "encrypt", "a.txt")
    assert redact.code == 0, redact.err
    monkeypatch.delenv("PIISCAN_KEY_FILE")
    document = json.loads(key_file.read_text())
    monkeypatch.setenv("PIISCAN_KEY", document["keys"][document["primary"]])
    restore = piiscan_cli("restore", "--no-config", "a.txt")
    assert restore.code == 0, restore.err
    assert path.read_bytes() == original


# ---------------------------------------------------------------------------- partial restore, linkage


def test_restore_of_one_entity_leaves_the_other_tokens(piiscan_cli, key_file, tmp_path):
    path = tmp_path / "a.txt"
    [person] = write_person_file(piiscan_cli, path)
    redact_encrypt(piiscan_cli, key_file, path)
    run = piiscan_cli("restore", "--no-config", "--key-file", key_file, "--entity", "US_SSN", "a.txt")
    assert run.code == 0, run.err
    assert "restored 1 file: 1 US_SSN" in run.err
    text = path.read_text()
    assert f"ssn {person.ssn}\n" in text
    assert sorted(m[1] for m in TOKEN.finditer(text)) == ["CREDIT_CARD", "EMAIL_ADDRESS", "IBAN_CODE", "PHONE_NUMBER"]
    assert person.email not in text


def test_restore_of_a_misspelt_entity_is_an_error_with_a_did_you_mean(piiscan_cli, key_file, tmp_path):
    path = tmp_path / "a.txt"
    before = encrypted_person_file(piiscan_cli, key_file, path)
    run = piiscan_cli("restore", "--no-config", "--key-file", key_file, "--entity", "EMAIL", "a.txt")
    assert run.code == 2
    assert error_lines(run.err) == [
        "piiscan: error: --entity 'EMAIL': no token of it here, and no rule reports it; "
        "did you mean 'EMAIL_ADDRESS'?"
    ]
    assert snapshot(path) == before


def test_restore_of_a_known_entity_without_tokens_is_not_an_error(piiscan_cli, key_file, tmp_path):
    path = tmp_path / "a.txt"
    before = encrypted_person_file(piiscan_cli, key_file, path)
    run = piiscan_cli("restore", "--no-config", "--key-file", key_file, "--entity", "UK_NHS", "a.txt")
    assert run.code == 0, run.err
    assert "restored 0 files" in run.err
    assert snapshot(path) == before


BADGE_PACK = """pack: acme
rules:
  - id: acme.badge
    entity: ACME_BADGE
    name: Acme staff badge
    category: direct
    severity: high
    patterns:
      - regex: '\\bBDG-[0-9]{6}\\b'
        score: 0.9
    tests:
      match: ['badge BDG-482913']
      no_match: ['BDG-4829']
"""


def test_restore_of_an_entity_from_a_pack_no_longer_loaded(piiscan_cli, key_file, tmp_path):
    """The entity is in the tokens, though no rule loaded at restore time reports it."""
    (tmp_path / "acme.yaml").write_text(BADGE_PACK, encoding="utf-8")
    path = tmp_path / "a.txt"
    path.write_text("badge BDG-730215 at the east door\n", encoding="utf-8")
    run = piiscan_cli(
        "redact", "--no-config", "--packs", "", "--rules", "acme.yaml",
        "--strategy", "encrypt", "--key-file", key_file, "a.txt",
    )
    assert run.code == 0, run.err
    assert "BDG-730215" not in path.read_text()
    run = piiscan_cli("restore", "--no-config", "--key-file", key_file, "--entity", "ACME_BADGE", "a.txt")
    assert run.code == 0, run.err
    assert "restored 1 file: 1 ACME_BADGE" in run.err
    assert path.read_text() == "badge BDG-730215 at the east door\n"


def test_restore_dry_run_writes_nothing_and_prints_no_value(piiscan_cli, key_file, tmp_path):
    path = tmp_path / "a.txt"
    before = encrypted_person_file(piiscan_cli, key_file, path)
    run = piiscan_cli("restore", "--no-config", "--key-file", key_file, "--dry-run", "a.txt")
    assert run.code == 0, run.err
    assert "would restore 1 file: 1 CREDIT_CARD, 1 EMAIL_ADDRESS, 1 IBAN_CODE, 1 PHONE_NUMBER, 1 US_SSN" in run.err
    assert snapshot(path) == before


@pytest.mark.parametrize(("flags", "linked"), [((), True), (("--unlinkable",), False)])
def test_equal_values_give_equal_tokens_unless_unlinkable(piiscan_cli, key_file, tmp_path, flags, linked):
    email = fake_email()
    piiscan_cli.forbid(email)
    path = tmp_path / "a.txt"
    original = f"mail {email}\nmail {email}\n"
    path.write_text(original)
    run = piiscan_cli("redact", "--no-config", "--strategy", "encrypt", *flags, "--key-file", key_file, "a.txt")
    assert run.code == 0, run.err
    first, second = [m[0] for m in TOKEN.finditer(path.read_text())]
    assert (first == second) is linked
    assert first.startswith("pii1g." if flags else "pii1s.")
    assert piiscan_cli("restore", "--no-config", "--key-file", key_file, "a.txt").code == 0
    assert path.read_text() == original


# ---------------------------------------------------------------------------- keygen, rotate, rekey


def test_keygen_writes_0600_and_refuses_to_overwrite(piiscan_cli, tmp_path):
    path = piiscan_cli.keygen(tmp_path / "k.json")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    before = path.read_bytes()
    run = piiscan_cli("keygen", "-o", path)
    assert run.code == 2 and "already exists" in run.err
    assert path.read_bytes() == before
    forced = piiscan_cli("keygen", "-o", path, "--force")
    assert forced.code == 0
    assert path.read_bytes() != before and stat.S_IMODE(path.stat().st_mode) == 0o600
    piiscan_cli.forbid_keys(path)
    assert keys.load_keyring(str(path), environ={}).primary in forced.err


def test_rotate_keeps_the_old_key_and_rekey_moves_tokens_to_the_new_one(piiscan_cli, key_file, tmp_path):
    path = tmp_path / "a.txt"
    write_person_file(piiscan_cli, path, count=2)
    original = path.read_bytes()
    redact_encrypt(piiscan_cli, key_file, path)
    old = keys.load_keyring(str(key_file), environ={})

    run = piiscan_cli("keygen", "-o", key_file, "--rotate")
    assert run.code == 0, run.err
    piiscan_cli.forbid_keys(key_file)
    rotated = keys.load_keyring(str(key_file), environ={})
    assert rotated.primary != old.primary and rotated.keys[old.primary] == old.primary_key

    run = piiscan_cli("rekey", "--no-config", "--key-file", key_file, "a.txt")
    assert run.code == 0, run.err
    assert "re-keyed 1 file: 10 tokens" in run.err
    assert {m[3] for m in TOKEN.finditer(path.read_text())} == {rotated.primary}

    # Only the new key is needed now.
    new_only = tmp_path / "new-only.json"
    keys.write_keyring(keys.Keyring(rotated.primary, {rotated.primary: rotated.primary_key}), new_only)
    run = piiscan_cli("restore", "--no-config", "--key-file", new_only, "a.txt")
    assert run.code == 0, run.err
    assert path.read_bytes() == original


def test_the_leak_check_catches_every_spelling_of_a_key(piiscan_cli, key_file):
    raw = base64.b64decode(next(iter(json.loads(key_file.read_text())["keys"].values())))
    for spelling in (base64.b64encode(raw).decode(), raw.hex(), base64.urlsafe_b64encode(raw).decode()):
        with pytest.raises(pytest.fail.Exception, match="leaked on stdout"):
            piiscan_cli.assert_no_leak(f"piiscan: something {spelling} here", "stdout")


def test_a_file_gone_before_its_copy_is_written_is_an_error_of_that_file(tmp_path):
    from piiscan.model import Document

    summary = piiscan.redact.run.Summary()
    gone = Document(path=str(tmp_path / "gone.txt"), text="x")
    transform = lambda doc: ("[REDACTED]", piiscan.redact.run.Counter({"US_SSN": 1}), "")  # noqa: E731
    target = piiscan.redact.run.Target(output_dir=tmp_path / "out")
    piiscan.redact.run.rewrite_document(gone, transform, target, summary)
    assert summary.errors == [(gone.path, f"{gone.path}: No such file or directory; nothing written")]
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("reader", ["import os; os.read(0, 10)", "pass"])
def test_a_stream_whose_reader_leaves_early_is_an_error_not_a_success(tmp_path, reader):
    # More than a pipe holds (64 KB): the reader takes a little, or nothing, and goes.
    ssns = [fake_ssn() for _ in range(20)]
    (tmp_path / "big.txt").write_text("".join(f"ssn {ssns[i % 20]}\n" for i in range(9000)), encoding="utf-8")
    consumer = subprocess.Popen([sys.executable, "-c", reader], stdin=subprocess.PIPE)
    with open(tmp_path / "big.txt", "rb") as stdin:
        done = subprocess.run(
            [sys.executable, "-m", "piiscan.cli", "redact", "-", "--no-config"],
            stdin=stdin, stdout=consumer.stdin, stderr=subprocess.PIPE, timeout=120,
        )
    consumer.stdin.close()
    consumer.wait(timeout=60)
    err = done.stderr.decode()
    assert done.returncode == 2, err
    assert "piiscan: error: -: stdout was closed before all the output was written" in err
    assert not any(ssn in err for ssn in ssns)
