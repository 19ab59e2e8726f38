"""The `americas` pack: its own validators, and the pack working inside a full engine."""

from __future__ import annotations

import pytest
from stdnum.mx import rfc as stdnum_mx_rfc

from backends import BACKENDS
from piiscan import engine_for
from piiscan.model import Document, Verdict
from piiscan.regional.americas import mx_rfc, us_aba_routing
from piiscan.rulepack import builtin_pack_names
from piiscan.validators import find_validator

# --------------------------------------------------------------------------- ABA routing


def _with_aba_check_digit(first_eight: str) -> str:
    # Weights 3, 7, 1 repeating; the ninth digit brings the weighted sum to a multiple of 10.
    weighted = sum(int(d) * w for d, w in zip(first_eight, (3, 7, 1) * 3))
    return first_eight + str(-weighted % 10)


ASSIGNED_ABA_PREFIXES = {0, *range(1, 13), *range(21, 33), *range(61, 73), 80}


@pytest.mark.parametrize("prefix", range(100))
def test_aba_routing_accepts_only_assigned_federal_reserve_prefixes(prefix):
    number = _with_aba_check_digit(f"{prefix:02d}448219")
    expected = Verdict.VALID if prefix in ASSIGNED_ABA_PREFIXES else Verdict.INVALID
    assert us_aba_routing(number) is expected


@pytest.mark.parametrize("body", ["02443682", "11665367", "32259538", "07144832", "26030159"])
def test_aba_routing_rejects_every_wrong_check_digit(body):
    good = _with_aba_check_digit(body)
    assert us_aba_routing(good) is Verdict.VALID
    for digit in "0123456789":
        if digit != good[-1]:
            assert us_aba_routing(body + digit) is Verdict.INVALID


@pytest.mark.parametrize(
    "value",
    ["000000000", "02443682", "0244368250", "02443682x", "０２４４３６８２５", ""],
)
def test_aba_routing_rejects_filler_and_malformed_values(value):
    assert us_aba_routing(value) is Verdict.INVALID


def test_aba_routing_checksum_agrees_with_stdnum():
    from stdnum.us import rtn

    for body in ("02443682", "11665367", "80123456", "00123456"):
        number = _with_aba_check_digit(body)
        assert rtn.is_valid(number)
        assert us_aba_routing(number) is Verdict.VALID


# --------------------------------------------------------------------------- Mexican RFC


def _rfc(stem: str) -> str:
    """A fake RFC with its correct last check digit (stem = name letters, date, 2 homoclave)."""
    return stem + stdnum_mx_rfc.calc_check_digit(stem)


@pytest.mark.parametrize("stem", ["PELJ850312A7", "GAMA920725QW", "SOTL780930HZ", "TME940101JK"])
def test_rfc_with_right_check_digit_is_valid(stem):
    assert mx_rfc(_rfc(stem)) is Verdict.VALID


def test_rfc_accepts_printed_separators_and_enye():
    number = _rfc("MUÑO800101AB")
    assert mx_rfc(number) is Verdict.VALID
    spaced = f"{number[:4]} {number[4:10]} {number[10:]}"
    dashed = f"{number[:4]}-{number[4:10]}-{number[10:]}"
    assert mx_rfc(spaced) is Verdict.VALID
    assert mx_rfc(dashed) is Verdict.VALID


@pytest.mark.parametrize("stem", ["PELJ850312A7", "TME940101JK"])
def test_rfc_with_wrong_check_digit_is_unknown_not_dropped(stem):
    # About 1.5% of issued RFCs carry a wrong check digit: not proof of a false match.
    right = _rfc(stem)[-1]
    wrong = next(c for c in "0123456789A" if c != right)
    assert mx_rfc(stem + wrong) is Verdict.UNKNOWN


def test_rfc_without_homoclave_has_no_check_digit_to_decide():
    assert mx_rfc("COMG600703") is Verdict.UNKNOWN


@pytest.mark.parametrize(
    "value",
    [
        "PELJ851312A78",  # month 13
        "PELJ850230A78",  # 30 February
        "PUTO850312A71",  # a blocked name word is never issued
        "PEL1850312A78",  # a digit among the name letters
        "PELJ8503121A78",  # one character too many
        "PE850312A78",  # too few name letters
        "",
    ],
)
def test_rfc_rejects_impossible_values(value):
    assert mx_rfc(value) is Verdict.INVALID


# --------------------------------------------------------------------------- the pack


def test_pack_is_built_in_and_its_validators_resolve():
    from piiscan.rulepack import builtin_packs

    assert "americas" in builtin_pack_names()
    rules = builtin_packs()["americas"].rules
    assert {r.id.split(".")[0] for r in rules} >= {"us", "ca", "br", "mx", "ar"}
    for rule in rules:
        assert rule.validator is None or find_validator(rule.validator) is not None, rule.id



@pytest.fixture(scope="module", params=BACKENDS)
def engine(request):
    return engine_for(packs=["core", "americas"], backend=request.param)


def _found(engine, text: str) -> list[tuple[str, str]]:
    return [(f.rule_id, text[f.start : f.end]) for f in engine.scan(Document("t.txt", text))]


def test_printed_national_numbers_are_found_without_context(engine):
    text = (
        "cliente 954.255.503-24 pagou\n"
        "fornecedor 04.538.058/0001-44\n"
        "alta GAMA920725MJCRRN04 registrada\n"
        "proveedor 20-77601432-0 al día\n"
    )
    assert _found(engine, text) == [
        ("br.cpf", "954.255.503-24"),
        ("br.cnpj", "04.538.058/0001-44"),
        ("mx.curp", "GAMA920725MJCRRN04"),
        ("ar.cuit", "20-77601432-0"),
    ]


def test_bare_digits_need_their_own_context_word(engine):
    assert _found(engine, "order 66379563091 shipped") == []
    assert _found(engine, "cpf 66379563091") == [("br.cpf", "66379563091")]
    assert _found(engine, "lot 23807516566") == []
    assert _found(engine, "cuil 23807516566") == [("ar.cuit", "23807516566")]


def test_routing_number_is_not_reported_as_an_ssn(engine):
    # 024436825 is also a well-formed SSN; the routing context decides which rule wins.
    found = _found(engine, 'routing_number = "024436825"')
    assert found == [("us.aba-routing", "024436825")]


def test_sin_context_ignores_decimal_fractions(engine):
    assert _found(engine, "y = sin(0.624185757)") == []
    assert _found(engine, "SIN: 624 185 757") == [("ca.sin", "624 185 757")]


def test_well_known_examples_are_reported_as_test_data(engine):
    findings = engine.scan(Document("t.txt", 'cpf = "111.111.111-11"\nmbi: 1EG4-TE5-MK73'))
    assert [(f.rule_id, f.test_data, f.severity.value) for f in findings] == [
        ("br.cpf", True, "info"),
        ("us.mbi", True, "info"),
    ]


def test_argentine_dni_is_not_read_out_of_a_chilean_rut_or_a_cuit(engine):
    # The DNI word is there, but the check digit after the dash (and the CUIT prefix before)
    # say which number this is.
    assert _found(engine, "DNI / RUT del titular: 16.418.905-8") == [("cl.rut", "16.418.905-8")]
    assert _found(engine, "DNI y CUIT: 20-32418905-0") == [("ar.cuit", "20-32418905-0")]
    assert _found(engine, "DNI 32.418.905, RUT 16.418.905-8") == [
        ("ar.dni", "32.418.905"), ("cl.rut", "16.418.905-8"),
    ]
