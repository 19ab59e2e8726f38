"""The `apac` and `mea` packs: their own validators and their non-ASCII context words.

The examples each rule carries run in test_rules.py. Here: the validators python-stdnum does
not have (Australian Medicare, Singapore NRIC/FIN), checked against numbers built in this file
from the published algorithms, and every non-ASCII context word of both packs, checked to
reach a value in real sentences (the engine's patterns are ASCII-mode, its context words not).
Every number is made up: check digits are computed here or by python-stdnum.
"""

from __future__ import annotations

import datetime
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum import luhn, verhoeff
from stdnum.au import abn as stdnum_abn
from stdnum.au import tfn as stdnum_tfn
from stdnum.cn import ric as stdnum_ric
from stdnum.jp import in_ as stdnum_jp_in
from stdnum.kr import rrn as stdnum_rrn
from stdnum.nz import ird as stdnum_ird
from stdnum.tr import tckimlik as stdnum_tckimlik

from piiscan.engine import Engine
from piiscan.model import Document, Verdict
from piiscan.regional.apac import sg_nric_check_letter
from piiscan.rulepack import builtin_packs
from piiscan.validators import VALIDATORS, find_validator

from backends import BACKENDS
from context_keys import assert_key_is_context

VALID, INVALID = Verdict.VALID, Verdict.INVALID
rng = random.Random(20240611)


def random_digits(n: int, first: str = "0123456789") -> str:
    return rng.choice(first) + "".join(rng.choice("0123456789") for _ in range(n - 1))


# --------------------------------------------------------------------------------------------
# Australian Medicare card number
# --------------------------------------------------------------------------------------------


def medicare_number(card: str, issue: str = "1", irn: str = "") -> str:
    """8 card digits + the check digit (weights 1 3 7 9 1 3 7 9, mod 10) + issue [+ IRN]."""
    check = sum(int(d) * w for d, w in zip(card, (1, 3, 7, 9, 1, 3, 7, 9))) % 10
    return f"{card}{check}{issue}{irn}"


def test_medicare_worked_example_from_the_specification():
    # NEHTA's example: card 2123 4567 has check digit 0 ("2123 45670 1").
    assert medicare_number("21234567") == "2123456701"
    assert VALIDATORS["au_medicare"]("2123 45670 1") is VALID


MEDICARE_CARDS = [random_digits(8, first="23456") for _ in range(6)]


@pytest.mark.parametrize("card", MEDICARE_CARDS)
def test_medicare_accepts_valid_numbers_in_every_printed_form(card):
    number = medicare_number(card, issue=str(rng.randint(1, 9)))
    grouped = f"{number[:4]} {number[4:9]} {number[9]}"
    for form in (number, grouped, grouped.replace(" ", "-"), number + "3", grouped + "-3"):
        assert VALIDATORS["au_medicare"](form) is VALID, form


@pytest.mark.parametrize("card", MEDICARE_CARDS)
def test_medicare_rejects_a_wrong_check_digit(card):
    number = medicare_number(card)
    wrong = number[:8] + str((int(number[8]) + 1) % 10) + number[9:]
    assert VALIDATORS["au_medicare"](wrong) is INVALID


@pytest.mark.parametrize(
    "value",
    [
        medicare_number("11234567"),  # first digit must be 2-6
        medicare_number("71234567"),
        medicare_number("21234567", irn="0"),  # IRNs count from 1
        medicare_number("21234567")[:9],  # too short
        medicare_number("21234567", irn="12"),  # too long
        "2123 4567A 1",
        "２１２３４５６７０１",  # full-width digits are not what the card prints
        "",
    ],
)
def test_medicare_rejects_malformed_values(value):
    assert VALIDATORS["au_medicare"](value) is INVALID


# --------------------------------------------------------------------------------------------
# Singapore NRIC / FIN
# --------------------------------------------------------------------------------------------

# Written from ICA's description, independently of the module: weights 2 7 6 5 4 3 2, series
# offset (T, G: 4; M: 3), remainder mod 11; S/T and F/G read their table at the remainder,
# the M series reads KLJNPQRTUWX at position P - 1 with P = 11 - remainder.
ST_TABLE, FG_TABLE, M_TABLE = "JZIHGFEDCBA", "XWUTRQPNMLK", "KLJNPQRTUWX"


def nric(series: str, digits: str) -> str:
    total = sum(int(d) * w for d, w in zip(digits, (2, 7, 6, 5, 4, 3, 2)))
    total += {"T": 4, "G": 4, "M": 3}.get(series, 0)
    remainder = total % 11
    if series == "M":
        letter = M_TABLE[(11 - remainder) - 1]
    else:
        letter = (ST_TABLE if series in "ST" else FG_TABLE)[remainder]
    return series + digits + letter


def test_nric_documentation_example():
    assert nric("S", "1234567") == "S1234567D"
    assert VALIDATORS["sg_nric_fin"]("S1234567D") is VALID
    assert VALIDATORS["sg_nric_fin"]("s1234567d") is VALID  # forms upper-case what you type


@given(series=st.sampled_from("STFGM"), digits=st.from_regex(r"\A[0-9]{7}\Z"))
def test_nric_exactly_one_check_letter_is_valid(series, digits):
    expected = nric(series, digits)
    assert sg_nric_check_letter(series, digits) == expected[-1]
    valid_letters = [
        c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
        if VALIDATORS["sg_nric_fin"](series + digits + c) is VALID
    ]
    assert valid_letters == [expected[-1]]


@pytest.mark.parametrize(
    "value",
    [
        "A1234567D", "S123456D", "S12345678D", "S1234567", "S 1234567D",
        "S１234567D",  # a full-width digit
        "S1234567Ä",
        "",
    ],
)
def test_nric_rejects_malformed_values(value):
    assert VALIDATORS["sg_nric_fin"](value) is INVALID


# --------------------------------------------------------------------------------------------
# The packs
# --------------------------------------------------------------------------------------------

PACK_RULES = {
    "apac": {
        "au.tfn": ("AU_TFN", "stdnum.au.tfn", True),
        "au.medicare": ("AU_MEDICARE", "au_medicare", True),
        "au.abn": ("AU_ABN", "stdnum.au.abn", False),
        "nz.ird": ("NZ_IRD", "stdnum.nz.ird", True),
        "in.aadhaar": ("IN_AADHAAR", "stdnum.in_.aadhaar", True),
        "in.pan": ("IN_PAN", "stdnum.in_.pan", False),
        "in.gstin": ("IN_GSTIN", "stdnum.in_.gstin", False),
        "sg.nric-fin": ("SG_NRIC_FIN", "sg_nric_fin", False),
        "cn.resident-id": ("CN_RESIDENT_ID", "stdnum.cn.ric", False),
        "jp.my-number": ("JP_MY_NUMBER", "stdnum.jp.in_", True),
        "kr.rrn": ("KR_RRN", "stdnum.kr.rrn", False),
    },
    "mea": {
        "za.id-number": ("ZA_ID_NUMBER", "stdnum.za.idnr", True),
        "il.id-number": ("IL_ID_NUMBER", "stdnum.il.idnr", True),
        "tr.tc-kimlik": ("TR_TC_KIMLIK", "stdnum.tr.tckimlik", True),
    },
}


@pytest.mark.parametrize("pack", sorted(PACK_RULES))
def test_pack_has_its_rules_entities_and_validators(pack):
    rules = {r.id: r for r in builtin_packs()[pack].rules}
    assert set(rules) == set(PACK_RULES[pack])
    for rule_id, (entity, validator_name, context_required) in PACK_RULES[pack].items():
        rule = rules[rule_id]
        assert (rule.entity, rule.validator, rule.context_required) == (
            entity, validator_name, context_required
        )
        assert find_validator(validator_name) is not None


def _aadhaar() -> str:
    body = random_digits(11, first="23456789")
    return body + verhoeff.calc_check_digit(body)


def _cn_resident_id() -> str:
    born = datetime.date(1960, 1, 1) + datetime.timedelta(days=rng.randint(0, 15000))
    body = "110101" + born.strftime("%Y%m%d") + random_digits(3)
    return body + stdnum_ric.calc_check_digit(body + "0")


def _rrn() -> str:
    born = datetime.date(1960, 1, 1) + datetime.timedelta(days=rng.randint(0, 14000))
    # Birth date, century/sex digit (1-2: born 1900-1999), region 00-96, serial digits.
    body = born.strftime("%y%m%d") + rng.choice("12") + f"{rng.randint(0, 96):02d}"
    body += random_digits(3)
    return f"{body[:6]}-{body[6:]}{stdnum_rrn.calc_check_digit(body)}"


def _za_id() -> str:
    born = datetime.date(1950, 1, 1) + datetime.timedelta(days=rng.randint(0, 20000))
    body = born.strftime("%y%m%d") + random_digits(4) + "08"
    return body + luhn.calc_check_digit(body)


def _tr_kimlik() -> str:
    body = random_digits(9, first="123456789")
    return body + stdnum_tckimlik.calc_check_digits(body)


def _gstin() -> str:
    # State 27, a person's PAN (fourth letter P), registration 1, "Z", then the mod-36 check.
    body = "27" + "ABKPQ" + random_digits(4, first="123456789") + "R" + "1Z"
    return body + luhn.calc_check_digit(body, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def _first_valid(make, is_valid) -> str:
    """A value from `make` that python-stdnum accepts (some bodies have no check digit)."""
    return next(v for v in (make() for _ in range(1000)) if is_valid(v))


def _ird() -> str:
    body = random_digits(7, first="123456789")
    return body + stdnum_ird.calc_check_digit(body)


def _abn() -> str:
    body = random_digits(9)
    return stdnum_abn.format(stdnum_abn.calc_check_digits(body) + body)  # "51 824 753 556"


# One freshly built valid value per rule, in a format the rule's pattern accepts alone.
SAMPLE_VALUES = {
    "au.tfn": lambda: _first_valid(lambda: random_digits(9, "123456789"), stdnum_tfn.is_valid),
    "au.medicare": lambda: medicare_number(random_digits(8, first="23456")),
    "au.abn": _abn,
    "nz.ird": lambda: _first_valid(_ird, stdnum_ird.is_valid),
    "in.aadhaar": _aadhaar,
    "in.pan": lambda: "ABKPQ" + random_digits(4, first="123456789") + "R",
    "in.gstin": _gstin,
    "sg.nric-fin": lambda: nric("S", random_digits(7)),
    "cn.resident-id": _cn_resident_id,
    "jp.my-number": lambda: (lambda b: b + stdnum_jp_in.calc_check_digit(b))(random_digits(11)),
    "kr.rrn": _rrn,
    "za.id-number": _za_id,
    "il.id-number": lambda: (lambda b: b + luhn.calc_check_digit(b))(random_digits(8)),
    "tr.tc-kimlik": _tr_kimlik,
}


def _rules_by_id():
    return {r.id: r for pack in PACK_RULES for r in builtin_packs()[pack].rules}


NON_ASCII_CONTEXT = sorted(
    (rule.id, word)
    for rule in _rules_by_id().values()
    for word in rule.context
    if not word.isascii()
)


def test_every_pack_language_has_native_context_words():
    rules_with_native_words = {rule_id for rule_id, _ in NON_ASCII_CONTEXT}
    # Each country whose language is not written in Latin letters, plus Turkish and Māori.
    assert {"in.aadhaar", "in.pan", "in.gstin", "sg.nric-fin", "cn.resident-id", "jp.my-number",
            "kr.rrn", "il.id-number", "tr.tc-kimlik", "nz.ird"} <= rules_with_native_words


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("rule_id", "word"), NON_ASCII_CONTEXT)
def test_non_ascii_context_words_reach_the_value(rule_id, word, backend):
    rule = _rules_by_id()[rule_id]
    engine = Engine([rule], backend=backend, cache_dir=None)
    value = SAMPLE_VALUES[rule_id]()
    # A full-width colon right before the digits: ASCII-mode \b still sees a boundary between
    # a non-ASCII character and a digit. Then an ASCII colon, and the word after the value.
    for text in (f"{word}：{value}", f"{word}: {value}", f"{value} ({word})"):
        findings = engine.scan(Document("sample.txt", text))
        assert [f.rule_id for f in findings] == [rule_id], text
        assert findings[0].confidence >= 0.8, text  # validator and context both counted


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("rule_id", sorted(SAMPLE_VALUES))
def test_context_required_rules_drop_a_valid_value_without_context(rule_id, backend):
    rule = _rules_by_id()[rule_id]
    engine = Engine([rule], backend=backend, cache_dir=None)
    value = SAMPLE_VALUES[rule_id]()
    findings = engine.scan(Document("sample.txt", f"reference {value} processed"))
    if rule.context_required:
        assert findings == []
    else:
        # Distinctive shapes stand alone: validator only, below the context-boosted score.
        assert [f.rule_id for f in findings] == [rule_id]
        assert 0.5 <= findings[0].confidence < 0.8


def test_turkish_dotted_capital_i_is_context():
    rule = _rules_by_id()["tr.tc-kimlik"]
    value = _tr_kimlik()
    engine = Engine([rule], backend="regex", cache_dir=None)
    for text in (f"T.C. KİMLİK NO: {value}", f"KIMLIK NUMARASI {value}", f"kimlik no {value}"):
        findings = engine.scan(Document("t.txt", text))
        assert [f.rule_id for f in findings] == ["tr.tc-kimlik"], text


# snake_case keys need no listing: "_" separates words.
CAMEL_CASE_KEYS = [
    ("jp.my-number", "kojinBango"),
    ("jp.my-number", "individualNumber"),
    ("kr.rrn", "residentRegistrationNumber"),
    ("in.aadhaar", "uidNumber"),
    ("nz.ird", "inlandRevenue"),
    ("za.id-number", "identityNumber"),
    ("za.id-number", "zaId"),
    ("za.id-number", "rsaId"),
    ("za.id-number", "saIdNumber"),
    ("il.id-number", "israeliId"),
    ("il.id-number", "misparZehut"),
    ("tr.tc-kimlik", "turkishId"),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("rule_id", "key"), CAMEL_CASE_KEYS)
def test_camel_case_keys_are_context(rule_id, key, backend):
    rule = _rules_by_id()[rule_id]
    assert_key_is_context(rule, key, SAMPLE_VALUES[rule_id](), backend, min_confidence=0.8)


def test_south_african_id_with_its_last_three_digits_together():
    value = _za_id()
    rule = _rules_by_id()["za.id-number"]
    engine = Engine([rule], backend="regex", cache_dir=None)
    for printed in (f"{value[:6]} {value[6:10]} {value[10:12]} {value[12]}", f"{value[:6]} {value[6:10]} {value[10:]}"):
        findings = engine.scan(Document("form.txt", f"ID number: {printed}"))
        assert [(f.rule_id, f.value) for f in findings] == [("za.id-number", printed)]
    # Not across a longer run of digit groups.
    assert engine.scan(Document("form.txt", f"ID number: {value[:6]} {value[6:10]} {value[10:]}1")) == []


GROUPED_SAMPLES = {
    "au.tfn": lambda: (lambda v: f"{v[:3]} {v[3:6]} {v[6:]}")(SAMPLE_VALUES["au.tfn"]()),
    "au.medicare": lambda: (lambda v: f"{v[:4]} {v[4:9]} {v[9]}")(SAMPLE_VALUES["au.medicare"]()),
    "au.abn": _abn,
    "nz.ird": lambda: (lambda v: f"{v[:-6]}-{v[-6:-3]}-{v[-3:]}")(SAMPLE_VALUES["nz.ird"]()),
    "in.aadhaar": lambda: (lambda v: f"{v[:4]} {v[4:8]} {v[8:]}")(_aadhaar()),
    "jp.my-number": lambda: (lambda v: f"{v[:4]}-{v[4:8]}-{v[8:]}")(SAMPLE_VALUES["jp.my-number"]()),
    "za.id-number": lambda: (lambda v: f"{v[:6]} {v[6:10]} {v[10:12]} {v[12]}")(_za_id()),
}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("rule_id", sorted(GROUPED_SAMPLES))
def test_grouped_numbers_are_not_read_out_of_a_longer_run_of_groups(rule_id, backend):
    # The first or last groups of a card number, an IBAN or a phone number written in groups
    # can pass a one-digit check by chance; a rule's grouped form must not take them.
    rule = _rules_by_id()[rule_id]
    engine = Engine([rule], backend=backend, cache_dir=None)
    value = GROUPED_SAMPLES[rule_id]()
    sep = "-" if "-" in value else " "
    word = rule.context[0]
    assert [f.value for f in engine.scan(Document("a.txt", f"{word}: {value}"))] == [value]
    for text in (f"{word}: {value}{sep}4539", f"{word}: 4539{sep}{value}"):
        assert engine.scan(Document("a.txt", text)) == [], text
