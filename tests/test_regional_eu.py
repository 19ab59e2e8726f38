"""The `eu` pack's own validators, and the pack working beside core."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from piiscan.engine import Engine
from piiscan.model import Document, Verdict
from piiscan.regional import eu
from piiscan.rulepack import builtin_packs
from piiscan.validators import find_validator

from backends import BACKENDS
from context_keys import assert_key_is_context

VALID, INVALID, UNKNOWN = Verdict.VALID, Verdict.INVALID, Verdict.UNKNOWN

ID_CARD_ALPHABET = "CFGHJKLMNPRTVWXYZ0123456789"


@pytest.mark.parametrize("name", ["de_id_card", "de_rvnr", "es_nss", "uk_driving_licence"])
def test_validators_are_registered_for_packs(name):
    assert find_validator(name) is not None


# ------------------------------------------------------------------ German ID card


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("T220001293", VALID),  # specimen card: MRZ "IDD<<T220001293"
        ("T220001294", INVALID),
        ("T22000129", UNKNOWN),  # as printed on the card: no check digit
        ("LLM2C7XRX4", VALID),
        ("LLM2C7XRX5", INVALID),
        ("A22000129", INVALID),  # A is not in the serial alphabet
        ("TGXRNWZPG", INVALID),  # letters only: not a serial
        ("T2200012", INVALID),
        ("", INVALID),
    ],
)
def test_de_id_card(value, expected):
    assert eu.de_id_card(value) is expected


@given(
    st.sampled_from("CFGHJKLMNPRTVWXYZ"),
    st.text(alphabet="0123456789", min_size=1, max_size=1),
    st.text(alphabet=ID_CARD_ALPHABET, min_size=7, max_size=7),
)
def test_de_id_card_accepts_exactly_one_check_digit(first, digit, rest):
    serial = first + digit + rest
    passing = [d for d in "0123456789" if eu.de_id_card(serial + d) is VALID]
    assert len(passing) == 1


# ------------------------------------------------------------------ German social insurance


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("15070649C103", VALID),  # the widely published worked example 15 070649 C 10 3
        ("15 070649 C 10 3", VALID),
        ("15070649C104", INVALID),
        ("15320649C103", INVALID),  # day 32
        ("15071349C103", INVALID),  # month 13
        ("150706491103", INVALID),  # no letter
        ("15070649c103", VALID),  # case does not matter
        ("15070649C10", INVALID),
    ],
)
def test_de_rvnr(value, expected):
    assert eu.de_rvnr(value) is expected


@given(
    st.integers(0, 99),
    st.integers(1, 28),
    st.integers(1, 12),
    st.integers(0, 99),
    st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
    st.integers(0, 99),
)
def test_de_rvnr_accepts_exactly_one_check_digit(area, day, month, year, letter, serial):
    stem = f"{area:02d}{day:02d}{month:02d}{year:02d}{letter}{serial:02d}"
    passing = [d for d in "0123456789" if eu.de_rvnr(stem + d) is VALID]
    assert len(passing) == 1


# ------------------------------------------------------------------ Spanish NSS


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("281234567840", VALID),  # the Seguridad Social's own example 28/12345678/40
        ("28/12345678/40", VALID),
        ("28 12345678 40", VALID),
        ("281234567841", INVALID),
        ("050326700032", VALID),  # a serial below 10 000 000: province shifted by 10^7
        ("050326700033", INVALID),
        ("001234567840", INVALID),  # no province 00
        ("28123456784", INVALID),
        ("28A234567840", INVALID),
    ],
)
def test_es_nss(value, expected):
    assert eu.es_nss(value) is expected


@given(st.integers(1, 99), st.integers(0, 10**8 - 1))
def test_es_nss_accepts_exactly_one_pair_of_check_digits(province, serial):
    stem = f"{province:02d}{serial:08d}"
    passing = [c for c in range(100) if eu.es_nss(f"{stem}{c:02d}") is VALID]
    assert len(passing) == 1


# ------------------------------------------------------------------ UK driving licence


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("MORGA753116SM9IJ", VALID),  # woman born 11 March 1976 (month + 50)
        ("MORGA 753116 SM9IJ", VALID),
        ("JONES851229AB9CD", VALID),
        ("SHAH9462034PS9XY", VALID),  # short surname padded with 9
        ("WHITE711292J99QZ", VALID),  # one initial padded with 9
        ("MORGA702306SM9IJ", INVALID),  # 30 February
        ("MORGA713116SM9IJ", INVALID),  # month 13
        ("MO9GA753116SM9IJ", INVALID),  # padding inside the surname
        ("99999753116SM9IJ", INVALID),  # no surname at all
        ("MORGA753116S9M9IJ", INVALID),
        ("MORGA753116SM9I", INVALID),
    ],
)
def test_uk_driving_licence(value, expected):
    assert eu.uk_driving_licence(value) is expected


@given(st.text(max_size=40))
def test_eu_validators_never_raise(text):
    for check in (eu.de_id_card, eu.de_rvnr, eu.es_nss, eu.uk_driving_licence):
        assert check(text) in (VALID, INVALID, UNKNOWN)


# ------------------------------------------------------------------ the pack in a scan


def _scan(text: str, packs=("core", "eu")):
    rules = [r for name in packs for r in builtin_packs()[name].rules]
    engine = Engine(rules, backend="regex", cache_dir=None)
    return engine.scan(Document("people.csv", text))


def test_pack_finds_each_country_in_one_document():
    text = "\n".join(
        [
            "steuer_id=13570869260",
            "nir: 1 83 11 69 974 294 87",
            "dni: 74445918R",
            "codice_fiscale: RCCFST65L42B371V",
            "bsn: 742082234",
            "rijksregisternummer: 73.02.26-080.08",
            "pesel: 77111945951",
            "personnummer: 691110-4286",
            "hetu: 100950-628V",
            "cpr: 231290-2926",
            "fodselsnummer: 23118616790",
            "ppsn: 7990195G",
            "ahv: 756.2020.0198.42",
            "svnr: 3721090951",
            "vat: DE160345719",
        ]
    )
    found = {f.entity for f in _scan(text)}
    assert {
        "DE_TAX_ID", "FR_NIR", "ES_NIF", "IT_FISCAL_CODE", "NL_BSN", "BE_NATIONAL_NUMBER",
        "PL_PESEL", "SE_PERSONNUMMER", "FI_PERSONAL_IDENTITY_CODE", "DK_CPR",
        "NO_FODSELSNUMMER", "IE_PPS", "CH_AHV", "AT_SVNR", "EU_VAT_NUMBER",
    } <= found


def test_bare_digit_numbers_need_a_context_word():
    # Checksum-valid BSN, PESEL, Steuer-ID and UTR values with nothing saying what they are.
    text = "rows = [742082234, 77111945951, 13570869260, 2475117169]"
    eu_rule_ids = {r.id for r in builtin_packs()["eu"].rules}
    assert [f.rule_id for f in _scan(text) if f.rule_id in eu_rule_ids] == []


def test_context_word_on_the_line_above_counts():
    findings = _scan("<bsn>\n  742082234\n</bsn>")
    assert [f.rule_id for f in findings] == ["nl.bsn"]


def test_specimen_values_are_reported_as_test_data():
    findings = _scan('"personalausweis": "T22000129"', packs=("eu",))
    assert len(findings) == 1
    assert findings[0].test_data


# Made-up, checksum-valid numbers (python-stdnum).
CAMEL_CASE_KEYS = [
    ("se.personnummer", "personalNumber", "950427-0647"),
    ("be.national-number", "nationalNumber", "93111446083"),
    ("be.national-number", "numeroNational", "85032257190"),
    ("fr.nir", "numSecu", "262045165648720"),
    ("fr.nir", "numeroSecuriteSociale", "175039365149178"),
    ("no.fodselsnummer", "birthNumber", "30078341986"),
    ("de.social-security", "svNummer", "23280999M575"),
    ("es.nss", "numeroSeguridadSocial", "371548570533"),
    ("at.svnr", "svNummer", "3721090951"),
    ("uk.utr", "uniqueTaxpayerReference", "2475117169"),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("rule_id", "key", "value"), CAMEL_CASE_KEYS)
def test_camel_case_keys_are_context(rule_id, key, value, backend):
    rule = next(r for r in builtin_packs()["eu"].rules if r.id == rule_id)
    assert_key_is_context(rule, key, value, backend, min_confidence=0.75)


def test_belgian_national_number_written_bare_next_to_its_name():
    for text in ("numero_national=85032257190", "Numéro national : 93111446083", "n° national 81100984574"):
        assert [f.rule_id for f in _scan(text, packs=("eu",))] == ["be.national-number"], text
    assert _scan("batch 85032257190", packs=("eu",)) == []


def test_french_nir_next_to_the_short_name_of_the_social_security():
    for text in ("Die n° de sécu lautet 262045165648720.", "n° sécu : 1 75 03 93 651 491 78"):
        assert [f.rule_id for f in _scan(text, packs=("eu",))] == ["fr.nir"], text


def test_valid_hetu_outranks_a_phone_number_named_on_the_line_above():
    # A henkilötunnus with a digit for its check character is also a digit run that the phone
    # rule accepts, and "mobile" on the previous line is within its context window.
    text = '    "mobile": "+358 40 1234567",\n    "value": "030962-3350",'
    findings = _scan(text)
    assert [(f.rule_id, f.value) for f in findings if f.value == "030962-3350"] == [("fi.hetu", "030962-3350")]


@pytest.mark.parametrize(
    ("rule_id", "value"),
    [
        ("de.tax-id", "97 041 569 232"),
        ("fr.nir", "1 83 11 69 974 294 87"),
        ("be.national-number", "941212 015 34"),
        ("no.fodselsnummer", "220195 37610"),
        ("pt.nif", "391 385 534"),
        ("at.svnr", "8544 051275"),
        ("uk.utr", "23837 93639"),
    ],
)
def test_grouped_numbers_are_not_read_out_of_a_longer_run_of_groups(rule_id, value):
    rule = next(r for r in builtin_packs()["eu"].rules if r.id == rule_id)
    engine = Engine([rule], backend="regex", cache_dir=None)
    word = rule.context[0]
    assert [f.value for f in engine.scan(Document("a.txt", f"{word}: {value}"))] == [value]
    for text in (f"{word}: {value} 12", f"{word}: 12 {value}"):
        assert engine.scan(Document("a.txt", text)) == [], text
