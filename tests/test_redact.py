"""Redaction through the library and the CLI: what each strategy writes, that `encrypt` round-trips
byte for byte, that a redacted file scans clean, and that structured files still parse.

Every CLI call goes through `Piiscan` (below), which fails the test if a planted raw value or
any key material shows up on stdout or stderr. The data is fake: Faker names on made-up
domains, SSNs built inside the issued ranges, Luhn-valid cards and IBANs computed here.
Error paths, the writer's refusals and the key commands are in test_redact_cli.py.
"""

from __future__ import annotations

import base64
import codecs
import csv
import io
import json
import os
import random
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from faker import Faker
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stdnum import iban as stdnum_iban

import piiscan
from piiscan import cli
from piiscan.decoding import decode_bytes
from piiscan.errors import UsageError
from piiscan.masking import mask_spans
from piiscan.model import Document
from piiscan.redact import keys
from piiscan.redact.redactor import (
    RedactOptions,
    apply_replacements,
    plan_replacements,
    redact_text,
    replacement_text,
    restore_text,
)
from piiscan.redact.tokens import decrypt_token
from piiscan.snippets import Span

STRATEGIES = ("label", "mask", "partial", "hash", "encrypt")
HEX_KEY_LENGTH = 64

# ---------------------------------------------------------------------------- fake data

_FAKE = Faker()
_FAKE.seed_instance(20240611)
_RNG = random.Random(20240611)
# Published test numbers the rules mark as test data; a generated one must not be one of them.
_SSN_PLACEHOLDERS = {"078051120", "219099999", "123456789", "111223333"}


def fake_email() -> str:
    # Faker's own domains are example.* (reserved, flagged as test data): use invented ones.
    return f"{_FAKE.user_name()}@{_FAKE.domain_word()}-mail.net".lower()


def fake_ssn() -> str:
    while True:
        area, group, serial = _RNG.randint(1, 665), _RNG.randint(1, 99), _RNG.randint(1, 9999)
        if area == 666 or area == 987:
            continue
        ssn = f"{area:03d}-{group:02d}-{serial:04d}"
        if ssn.replace("-", "") not in _SSN_PLACEHOLDERS:
            return ssn


def luhn_check_digit(body: str) -> str:
    total = 0
    for position, digit in enumerate(reversed(body)):
        value = int(digit) * (2 if position % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return str((10 - total % 10) % 10)


def fake_card() -> str:
    body = "45" + "".join(str(_RNG.randint(0, 9)) for _ in range(13))
    number = body + luhn_check_digit(body)
    return " ".join(number[i : i + 4] for i in range(0, 16, 4))


def fake_iban() -> str:
    bban = "".join(str(_RNG.randint(0, 9)) for _ in range(18))
    return "DE" + stdnum_iban.calc_check_digits("DE00" + bban) + bban


def fake_phone() -> str:
    area = _RNG.choice(["312", "415", "628", "917", "646"])
    return f"({area}) {_RNG.randint(201, 899)}-{_RNG.randint(1000, 9999)}"


@dataclass(frozen=True)
class Person:
    name: str
    email: str
    ssn: str
    phone: str
    card: str
    iban: str

    @property
    def values(self) -> tuple[str, ...]:
        return (self.email, self.ssn, self.phone, self.card, self.iban)


def fake_people(count: int) -> list[Person]:
    return [
        Person(_FAKE.name(), fake_email(), fake_ssn(), fake_phone(), fake_card(), fake_iban())
        for _ in range(count)
    ]


def person_lines(person: Person, newline: str = "\n") -> str:
    """Free text with each value next to the context word its rule wants."""
    return newline.join(
        [
            f"name: {person.name}",
            f"email {person.email}",
            f"ssn {person.ssn}",
            f"phone: {person.phone}",
            f"card {person.card}",
            f"iban {person.iban}",
        ]
    ) + newline


# ---------------------------------------------------------------------------- the CLI, leak-checked


def key_material(key_file: Path) -> set[str]:
    """Every spelling of every key in a keyring file that must never be printed."""
    document = json.loads(key_file.read_text())
    spellings = set()
    for encoded in document["keys"].values():
        raw = base64.b64decode(encoded)
        spellings |= {encoded, encoded.rstrip("="), raw.hex(), base64.urlsafe_b64encode(raw).decode()}
    return spellings


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str


class Piiscan:
    """Runs `piiscan.cli.main(argv)` in-process and checks every output for leaks."""

    def __init__(self, capsys) -> None:
        self._capsys = capsys
        self.secrets: set[str] = set()

    def forbid(self, *values: str) -> None:
        self.secrets.update(v for v in values if v)

    def forbid_keys(self, key_file: Path) -> None:
        self.secrets |= key_material(key_file)

    def assert_no_leak(self, text: str, where: str) -> None:
        leaked = sum(1 for s in self.secrets if s in text)
        if leaked:  # pytest.fail, not assert: assertion introspection would print the values
            pytest.fail(f"{leaked} raw value(s) or key(s) leaked on {where}", pytrace=False)

    def __call__(self, *argv: object, values_on_stdout: bool = False) -> Run:
        with pytest.raises(SystemExit) as exit_info:
            cli.main([str(a) for a in argv])
        out, err = self._capsys.readouterr()
        self.assert_no_leak(err, "stderr")
        if not values_on_stdout:
            self.assert_no_leak(out, "stdout")
        code = exit_info.value.code
        return Run(0 if code is None else code, out, err)

    def keygen(self, path: Path) -> Path:
        run = self("keygen", "-o", path)
        assert run.code == 0, run.err
        self.forbid_keys(path)
        return path


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch, tmp_path):
    for name in list(os.environ):
        if name.startswith("PIISCAN_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def piiscan_cli(capsys) -> Piiscan:
    return Piiscan(capsys)


@pytest.fixture
def key_file(piiscan_cli, tmp_path) -> Path:
    (tmp_path / "keys").mkdir()
    return piiscan_cli.keygen(tmp_path / "keys" / "k.json")


def scan_entities(piiscan_cli: Piiscan, *paths: object) -> list[str]:
    """Entities `piiscan scan` reports in these paths."""
    run = piiscan_cli("scan", "--no-config", "--format", "json", "--fail-on", "never", *paths)
    assert run.code == 0, run.err
    return [f["entity"] for f in json.loads(run.out)["findings"]]


# ---------------------------------------------------------------------------- strategies (library)

ENGINE = piiscan.engine_for()


def findings_of(text: str, path: str = "mem.txt"):
    return ENGINE.scan(Document(path=path, text=text, size=len(text)))


def test_planted_values_are_all_found():
    # The rest of this file relies on the generated data being found by the core pack.
    for person in fake_people(12):
        found = {f.value for f in findings_of(person_lines(person))}
        assert set(person.values) <= found


def test_the_design_examples_of_mask_and_partial():
    def replaced(strategy: str, entity: str, value: str) -> str:
        return replacement_text(entity, value, RedactOptions(strategy=strategy))

    assert replaced("mask", "EMAIL_ADDRESS", "jane.doe@acme-mail.net") == "********@*********.***"
    assert replaced("partial", "EMAIL_ADDRESS", "jane.doe@acme-mail.net") == "j***@acme-mail.net"
    assert replaced("mask", "US_SSN", "123-45-6789") == "***-**-****"
    assert replaced("partial", "US_SSN", "123-45-6789") == "***-**-6789"
    assert replaced("partial", "CREDIT_CARD", "4242424242424242") == "************4242"


@pytest.mark.parametrize(
    ("entity", "value"),
    [("EMAIL_ADDRESS", fake_email()), ("US_SSN", fake_ssn()), ("PHONE_NUMBER", fake_phone()),
     ("CREDIT_CARD", fake_card()), ("IBAN_CODE", fake_iban())],
)
def test_each_strategy_replaces_as_documented(entity, value):
    keyring = keys.generate_keyring()

    def replaced(strategy: str, ring=keyring) -> str:
        return replacement_text(entity, value, RedactOptions(strategy=strategy, keyring=ring))

    assert replaced("label") == f"[{entity}]"

    masked = replaced("mask")
    assert len(masked) == len(value)
    if entity == "EMAIL_ADDRESS":  # only the @ and the domain's dots are kept
        at = value.rindex("@")
        kept = {at} | {i for i, ch in enumerate(value) if ch == "." and i > at}
        assert all((m == "*") == (i not in kept) for i, m in enumerate(masked))
        assert all(masked[i] == value[i] for i in kept)
    else:
        assert all((m == "*") == v.isalnum() and (v.isalnum() or m == v) for m, v in zip(masked, value))

    partial = replaced("partial")
    if entity == "EMAIL_ADDRESS":
        local, domain = value.split("@")
        assert partial == f"{local[0]}***@{domain}"
    else:
        digits = [ch for ch in value if ch.isalnum()]
        assert [ch for ch in partial if ch.isalnum()] == digits[-4:]
        assert len(partial) == len(value) and partial.count("*") == len(digits) - 4

    hashed = replaced("hash")
    assert re.fullmatch(rf"{entity}_[0-9a-f]{{10}}", hashed)
    assert replaced("hash") == hashed  # same value and key: same output
    assert replaced("hash", keys.generate_keyring()) != hashed  # another key: another output
    other = replacement_text(entity, value[:-1] + ("1" if value[-1] != "1" else "2"),
                             RedactOptions(strategy="hash", keyring=keyring))
    assert other != hashed

    token = replaced("encrypt")
    assert value not in token
    assert decrypt_token(token, keyring) == (entity, value)


def test_keyed_strategies_without_a_key_are_refused():
    for strategy in ("hash", "encrypt"):
        with pytest.raises(UsageError):
            replacement_text("US_SSN", fake_ssn(), RedactOptions(strategy=strategy))


# ---------------------------------------------------------------------------- round trip (property)

_PEOPLE = fake_people(6)
# Pieces that become findings; joined with no separator they sit back to back, and
# `ssn` + an SSN + `@domain` makes an SSN and an email candidate overlap.
_PLANTED = (
    [p.email for p in _PEOPLE]
    + [f"ssn {p.ssn}" for p in _PEOPLE]
    + [f"ssn {p.ssn}@{_FAKE.domain_word()}-mail.org" for p in _PEOPLE[:2]]
    + [f"phone: {p.phone}" for p in _PEOPLE]
    + [f"card {p.card}" for p in _PEOPLE[:3]]
    + [f"iban {p.iban}" for p in _PEOPLE[:3]]
)
_PIECE = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["\r\n", "\n", " ", "é", "日本", "\U0001F600", "\t"]),
    st.sampled_from(_PLANTED),
)
_TEXTS = st.lists(_PIECE, max_size=14).map("".join)

_KEYRING = keys.generate_keyring()


def _encrypt_round_trip(text: str, options: RedactOptions) -> None:
    findings = findings_of(text)
    redacted = apply_replacements(text, plan_replacements(text, findings, options))
    restored, count, problems = restore_text(redacted, _KEYRING)
    assert problems == []
    assert count == Counter(f.entity for f in findings)
    assert restored == text


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_TEXTS)
def test_restore_of_encrypt_returns_any_text_exactly(text):
    _encrypt_round_trip(text, RedactOptions(strategy="encrypt", keyring=_KEYRING))


@settings(max_examples=80, deadline=None)
@given(_TEXTS)
def test_restore_of_unlinkable_encrypt_returns_any_text_exactly(text):
    _encrypt_round_trip(text, RedactOptions(strategy="encrypt", keyring=_KEYRING, unlinkable=True))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(_PLANTED), min_size=2, max_size=6))
def test_back_to_back_values_round_trip(pieces):
    text = "".join(pieces)  # no separator at all between values
    _encrypt_round_trip(text, RedactOptions(strategy="encrypt", keyring=_KEYRING))


# Point 6 names label, mask, hash and encrypt (`partial` keeps an email's domain by design).
@pytest.mark.parametrize("strategy", ["label", "mask", "hash", "encrypt"])
@settings(max_examples=150, deadline=None)
@given(text=_TEXTS)
def test_a_redacted_text_has_no_finding_of_a_redacted_entity(strategy, text):
    findings = findings_of(text)
    options = RedactOptions(strategy=strategy, keyring=_KEYRING)
    redacted = redact_text(text, findings_of, options).text
    redacted_entities = {f.entity for f in findings}
    assert not [f.entity for f in findings_of(redacted) if f.entity in redacted_entities]


# ---------------------------------------------------------------------------- round trip (CLI, bytes)

def _file_bytes(kind: str, people: list[Person]) -> bytes:
    if kind == "latin-1":  # not UTF-8 (0xE9 0xE8 is no UTF-8 sequence): decoded as latin-1
        text = "caf\xe9\xe8 d\xe9j\xe0 vu\n".join(person_lines(p) for p in people)
        return text.encode("latin-1")
    crlf = "".join(person_lines(p, "\r\n") for p in people) + "Zoë naïve 日本\r\n"
    encodings = {
        "utf-16-le-bom": (codecs.BOM_UTF16_LE, "utf-16-le"),
        "utf-16-be-bom": (codecs.BOM_UTF16_BE, "utf-16-be"),
        "utf-8-bom-crlf": (codecs.BOM_UTF8, "utf-8"),
        "utf-8-crlf": (b"", "utf-8"),
    }
    bom, encoding = encodings[kind]
    return bom + crlf.encode(encoding)


@pytest.mark.parametrize("kind", ["utf-16-le-bom", "utf-16-be-bom", "utf-8-bom-crlf", "utf-8-crlf", "latin-1"])
def test_cli_encrypt_then_restore_gives_the_same_bytes(piiscan_cli, key_file, tmp_path, kind):
    people = fake_people(3)
    for p in people:
        piiscan_cli.forbid(*p.values)
    original = _file_bytes(kind, people)
    target = tmp_path / f"people-{kind}.txt"
    target.write_bytes(original)

    run = piiscan_cli("redact", "--no-config", "--strategy", "encrypt", "--key-file", key_file, target)
    assert run.code == 0, run.err
    redacted = target.read_bytes()
    assert redacted != original
    text, encoding, bom = decode_bytes(redacted)
    assert (encoding, bom) == decode_bytes(original)[1:]  # encoding and BOM (byte order) kept
    old_text = decode_bytes(original)[0]
    assert (text.count("\r\n"), text.count("\n")) == (old_text.count("\r\n"), old_text.count("\n"))
    assert scan_entities(piiscan_cli, target) == []

    run = piiscan_cli("restore", "--no-config", "--key-file", key_file, target)
    assert run.code == 0, run.err
    restored = re.search(r"restored 1 file: (.+)", run.err)[1].split(", ")  # "3 EMAIL_ADDRESS, ..."
    assert sum(int(part.split()[0]) for part in restored) == 15
    assert target.read_bytes() == original


def test_bytes_outside_the_spans_are_identical(piiscan_cli, tmp_path):
    people = fake_people(2)
    for p in people:
        piiscan_cli.forbid(*p.values)
    text = "\ufeff" + "".join(person_lines(p, "\r\n") for p in people)
    target = tmp_path / "people.txt"
    target.write_bytes(text.encode("utf-16-le"))
    run = piiscan_cli("redact", "--no-config", target)
    assert run.code == 0, run.err
    expected = text
    for p in people:
        for value, entity in zip(p.values, ("EMAIL_ADDRESS", "US_SSN", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE")):
            expected = expected.replace(value, f"[{entity}]")
    assert target.read_bytes() == expected.encode("utf-16-le")


# ---------------------------------------------------------------------------- scan after redaction


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_scan_of_a_redacted_tree_finds_none_of_the_redacted_entities(piiscan_cli, key_file, tmp_path, strategy):
    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    people = fake_people(4)
    for p in people:
        piiscan_cli.forbid(*p.values)
    (tree / "a.txt").write_text("".join(person_lines(p) for p in people[:2]))
    (tree / "sub" / "b.md").write_text("".join(person_lines(p, "\r\n") for p in people[2:]), newline="")
    before = scan_entities(piiscan_cli, tree)
    assert sorted(set(before)) == ["CREDIT_CARD", "EMAIL_ADDRESS", "IBAN_CODE", "PHONE_NUMBER", "US_SSN"]

    run = piiscan_cli("redact", "--no-config", "--strategy", strategy, "--key-file", key_file, tree)
    assert run.code == 0, run.err
    assert scan_entities(piiscan_cli, tree) == []
    for path in (tree / "a.txt", tree / "sub" / "b.md"):
        text = path.read_text()
        assert not [v for p in people for v in p.values if v in text]


@pytest.mark.parametrize("strategy", ["hash", "encrypt"])
def test_back_to_back_emails_are_redacted_not_refused(piiscan_cli, key_file, tmp_path, strategy):
    # The first match swallows the next local part (`...mail.netbob`); the replacement, which
    # ends in a word character, then joins the leftover `@domain` into a new address.
    letters = "".join(ch for ch in _FAKE.first_name().lower() if "a" <= ch <= "z")
    first, second = fake_email(), f"{letters}@{_FAKE.domain_word()}-mail.org"
    piiscan_cli.forbid(first, second)
    path = tmp_path / "joined.txt"
    path.write_text(f"contacts {first}{second}\n")
    run = piiscan_cli("redact", "--no-config", "--strategy", strategy, "--key-file", key_file, path)
    assert run.code == 0, run.err
    assert scan_entities(piiscan_cli, path) == []


def test_hash_gives_the_same_token_for_the_same_value_in_every_file(piiscan_cli, key_file, tmp_path):
    email = fake_email()
    piiscan_cli.forbid(email)
    (tmp_path / "a.txt").write_text(f"contact {email}\n")
    (tmp_path / "b.csv").write_text(f"id,email\n7,{email}\n")
    run = piiscan_cli("redact", "--no-config", "--strategy", "hash", "--key-file", key_file, "a.txt", "b.csv")
    assert run.code == 0, run.err
    tokens = [re.findall(r"EMAIL_ADDRESS_[0-9a-f]{10}", (tmp_path / n).read_text()) for n in ("a.txt", "b.csv")]
    assert tokens[0] == tokens[1] and len(tokens[0]) == 1


def test_strategy_per_entity_from_flags_and_config(piiscan_cli, key_file, tmp_path):
    person = fake_people(1)[0]
    piiscan_cli.forbid(*person.values)
    text = person_lines(person)
    (tmp_path / "flags.txt").write_text(text)
    run = piiscan_cli("redact", "--no-config", "--strategy", "mask", "--strategy-for", "US_SSN=partial",
                      "--strategy-for", "EMAIL_ADDRESS=label", "flags.txt")
    assert run.code == 0, run.err
    flagged = (tmp_path / "flags.txt").read_text()
    assert "email [EMAIL_ADDRESS]\n" in flagged
    assert f"ssn ***-**-{person.ssn[-4:]}\n" in flagged
    assert "phone: (***) ***-****\n" in flagged

    project = tmp_path / "project"
    project.mkdir()
    (project / ".piiscan.yaml").write_text("strategy: label\nstrategies:\n  US_SSN: mask\n  PHONE_NUMBER: hash\n")
    (project / "conf.txt").write_text(text)
    run = piiscan_cli("redact", "--key-file", key_file, "--strategy-for", "PHONE_NUMBER=partial", project / "conf.txt")
    assert run.code == 0, run.err
    configured = (project / "conf.txt").read_text()
    assert "email [EMAIL_ADDRESS]\n" in configured
    assert "ssn ***-**-****\n" in configured
    assert f"phone: (***) ***-{person.phone[-4:]}\n" in configured  # the flag wins over the config


@pytest.mark.parametrize("argv", [["--strategy", "shred"], ["--strategy-for", "US_SSN=shred"]])
def test_an_unknown_strategy_is_a_usage_error(piiscan_cli, tmp_path, argv):
    (tmp_path / "a.txt").write_text("ssn 536-22-1234\n")
    run = piiscan_cli("redact", "--no-config", *argv, "a.txt")
    assert run.code == 2
    assert "shred" in run.err
    assert (tmp_path / "a.txt").read_text() == "ssn 536-22-1234\n"


# ---------------------------------------------------------------------------- structured files


def _records(people: list[Person]) -> list[dict[str, str]]:
    return [{"name": p.name, "email": p.email, "ssn": p.ssn, "phone": p.phone, "card": p.card}
            for p in people]


def _write_structured(kind: str, path: Path, records: list[dict[str, str]]) -> None:
    if kind == "json":
        path.write_text(json.dumps({"customers": records}, indent=2))
    elif kind == "yaml":
        path.write_text(yaml.safe_dump({"customers": records}, sort_keys=False))
    else:
        with path.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(records[0]))
            writer.writeheader()
            writer.writerows(records)


def _read_structured(kind: str, path: Path) -> list[dict]:
    text = path.read_text()
    if kind == "json":
        return json.loads(text)["customers"]
    if kind == "yaml":
        return yaml.safe_load(text)["customers"]
    return list(csv.DictReader(io.StringIO(text, newline="")))


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("kind", ["json", "yaml", "csv"])
def test_structured_files_still_parse_with_the_same_shape(piiscan_cli, key_file, tmp_path, kind, strategy):
    people = fake_people(3)
    for p in people:
        piiscan_cli.forbid(*p.values)
    path = tmp_path / f"customers.{kind}"
    records = _records(people)
    _write_structured(kind, path, records)
    assert _read_structured(kind, path) == records

    run = piiscan_cli("redact", "--no-config", "--strategy", strategy, "--key-file", key_file, path)
    assert run.code == 0, run.err
    after = _read_structured(kind, path)
    assert [list(r) for r in after] == [list(r) for r in records]
    for old, new in zip(records, after):
        assert all(isinstance(v, str) for v in new.values())
        assert new["name"] == old["name"]
        for column in ("email", "ssn", "phone", "card"):
            assert new[column] != old[column]
    if strategy == "encrypt":
        assert piiscan_cli("restore", "--no-config", "--key-file", key_file, path).code == 0
        assert _read_structured(kind, path) == records


def test_yaml_values_that_start_a_longer_plain_scalar_still_parse(piiscan_cli, tmp_path):
    email, ssn = fake_email(), fake_ssn()
    piiscan_cli.forbid(email, ssn)
    path = tmp_path / "contacts.yaml"
    path.write_text(f"note: {email} is the contact\nfiles:\n  - {ssn} is the ssn on file\n")
    for strategy in ("label", "mask"):
        run = piiscan_cli("redact", "--no-config", "--strategy", strategy, "--dry-run", path)
        assert run.code == 0, run.err
        # The new file: added and context lines of the diff (every line is within 3 of a change).
        redacted = "".join(line[1:] for line in run.out.splitlines(keepends=True)
                           if line.startswith(("+", " ")) and not line.startswith("+++"))
        loaded = yaml.safe_load(redacted)  # a quoted scalar followed by more words is a syntax error
        assert list(loaded) == ["note", "files"] and isinstance(loaded["note"], str)


def test_yaml_flow_sequences_keep_strings(piiscan_cli, tmp_path):
    emails = [fake_email(), fake_email()]
    piiscan_cli.forbid(*emails)
    path = tmp_path / "lists.yaml"
    path.write_text(f"emails: [{emails[0]}, {emails[1]}]\n")
    for strategy in ("label", "mask"):
        copy = tmp_path / f"lists-{strategy}.yaml"
        copy.write_bytes(path.read_bytes())
        run = piiscan_cli("redact", "--no-config", "--strategy", strategy, copy)
        assert run.code == 0, run.err
        loaded = yaml.safe_load(copy.read_text())  # `[**@*.***, ...]` is an alias: error
        assert [type(v) for v in loaded["emails"]] == [str, str]  # not [[EMAIL_ADDRESS]]


@pytest.mark.parametrize("strategy", ["label", "mask", "partial", "encrypt"])
def test_json_numbers_that_are_pii_leave_valid_json(piiscan_cli, key_file, tmp_path, strategy):
    ssn, card = fake_ssn().replace("-", ""), fake_card().replace(" ", "")
    piiscan_cli.forbid(ssn, card)
    path = tmp_path / "numbers.json"
    path.write_text(json.dumps({"ssn": int(ssn), "card": int(card)}))
    run = piiscan_cli("redact", "--no-config", "--strategy", strategy, "--key-file", key_file, path)
    assert run.code == 0, run.err
    assert set(json.loads(path.read_text())) == {"ssn", "card"}


def test_mask_spans_keeps_every_line_break_and_masks_overlaps_to_their_end():
    text = "to Maria\nGonzalez at 536-22-1234-99\n"
    spans = [Span(3, 17, "PERSON", "Maria\nGonzalez"), Span(21, 32, "US_SSN", "536-22-1234"),
             Span(28, 35, "DIGITS", "1234-99")]
    masked = mask_spans(text, spans)
    assert masked == "to *****\n******** at ***-**-1234-**\n"
    assert masked.count("\n") == text.count("\n")
