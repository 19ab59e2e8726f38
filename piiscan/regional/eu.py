"""Validators for the `eu` pack that python-stdnum does not provide.

Prefer `validator: stdnum.<country>.<number>` in the pack wherever stdnum has the check;
write one here only where it has none, with its own test. Like every validator, each one is
cheap, pure and never raises.
"""

from __future__ import annotations

import re

from piiscan.model import Verdict
from piiscan.validators import validator, verdict

# Separators the eu rules allow inside a number: spaces, dashes, dots, slashes.
_SEPARATORS = str.maketrans("", "", " \t\u00a0-./")


def _compact(value: str) -> str:
    return value.strip().translate(_SEPARATORS).upper()


def _is_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _is_day_month(day: int, month: int) -> bool:
    # The year is unknown (or only its last digits are), so 29 February is allowed.
    days_in_month = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
    return 1 <= month <= 12 and 1 <= day <= days_in_month[month - 1]


# --------------------------------------------------------------------------------------------
# Germany
# --------------------------------------------------------------------------------------------

# ICAO Doc 9303 check digit: characters count 0-9 and A=10 .. Z=35, weights 7, 3, 1 repeating.
_ICAO_WEIGHTS = (7, 3, 1)


def _icao_check_digit(text: str) -> str:
    total = sum(int(c, 36) * _ICAO_WEIGHTS[i % 3] for i, c in enumerate(text))
    return str(total % 10)


# Serial numbers of the German ID card since 2010: a letter for the issuing authority, then
# letters and digits from an alphabet without vowels or look-alikes (no A B D E I O Q S U).
_DE_ID_CARD_SHAPE = re.compile(r"[CFGHJKLMNPRTVWXYZ][CFGHJKLMNPRTVWXYZ0-9]{8}[0-9]?", re.ASCII)


@validator("de_id_card")
def de_id_card(value: str) -> Verdict:
    """Personalausweis number: 9 characters, plus the MRZ check digit when it is written."""
    number = _compact(value)
    if not _DE_ID_CARD_SHAPE.fullmatch(number) or not any(c.isdigit() for c in number[:9]):
        return Verdict.INVALID
    if len(number) == 9:
        # The number printed on the card carries no check digit: shape is all there is.
        return Verdict.UNKNOWN
    return verdict(number[9] == _icao_check_digit(number[:9]))


# Rentenversicherungsnummer (the German social insurance number): area (2 digits), date of
# birth DDMMYY, initial of the birth surname, serial (2 digits), check digit.
_DE_RVNR_SHAPE = re.compile(r"[0-9]{8}[A-Z][0-9]{3}", re.ASCII)
_DE_RVNR_WEIGHTS = (2, 1, 2, 5, 7, 1, 2, 1, 2, 1, 2, 1)


def _de_rvnr_check_digit(number: str) -> str:
    # The letter becomes its two-digit place in the alphabet (A=01 .. Z=26); each weighted
    # product contributes its digit sum.
    digits = number[:8] + f"{ord(number[8]) - ord('A') + 1:02d}" + number[9:11]
    total = sum(sum(divmod(int(d) * w, 10)) for d, w in zip(digits, _DE_RVNR_WEIGHTS))
    return str(total % 10)


@validator("de_rvnr")
def de_rvnr(value: str) -> Verdict:
    number = _compact(value)
    if not _DE_RVNR_SHAPE.fullmatch(number):
        return Verdict.INVALID
    if not _is_day_month(int(number[2:4]), int(number[4:6])):
        return Verdict.INVALID
    return verdict(number[11] == _de_rvnr_check_digit(number))


# --------------------------------------------------------------------------------------------
# Spain
# --------------------------------------------------------------------------------------------


@validator("es_nss")
def es_nss(value: str) -> Verdict:
    """Número de afiliación a la Seguridad Social: province, 8 digits, 2 check digits (mod 97)."""
    number = _compact(value)
    if not (_is_digits(number) and len(number) == 12) or number[:2] == "00":
        return Verdict.INVALID
    province, serial, check = int(number[:2]), int(number[2:10]), int(number[10:])
    # Serials below 10 000 000 were issued with 7 digits: the province is shifted by 10^7
    # for them, and by 10^8 (plain concatenation) for the rest.
    base = province * 10**7 + serial if serial < 10**7 else province * 10**8 + serial
    return verdict(base % 97 == check)


# --------------------------------------------------------------------------------------------
# United Kingdom
# --------------------------------------------------------------------------------------------

# DVLA driving licence number (Great Britain): surname (5, padded with 9), decade of birth,
# month of birth (+50 for women), day of birth, year digit, initials (2, padded with 9), a
# tie-break digit, two check letters. Northern Ireland uses 8 digits and is not covered.
_UK_LICENCE_SHAPE = re.compile(
    r"([A-Z9]{5})([0-9])([0-9]{2})([0-9]{2})([0-9])([A-Z9]{2})[0-9][A-Z]{2}", re.ASCII
)


def _is_padded_letters(part: str) -> bool:
    """Letters then only 9s (the padding), at least one letter."""
    letters = part.rstrip("9")
    return bool(letters) and letters.isalpha()


@validator("uk_driving_licence")
def uk_driving_licence(value: str) -> Verdict:
    number = _compact(value)
    shape = _UK_LICENCE_SHAPE.fullmatch(number)
    if shape is None:
        return Verdict.INVALID
    surname, _decade, month, day, _year, initials = shape.groups()
    month_of_birth = int(month) - 50 if int(month) > 50 else int(month)
    initials_ok = _is_padded_letters(initials) or initials == "99"
    return verdict(
        _is_padded_letters(surname) and initials_ok and _is_day_month(int(day), month_of_birth)
    )
