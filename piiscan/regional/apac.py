"""Validators for the `apac` and `mea` packs that python-stdnum does not provide.

Prefer `validator: stdnum.<country>.<number>` in the pack wherever stdnum has the check;
write one here only where it has none, with its own test. Validators of the `mea` pack
(Middle East and Africa) belong here as well, named by country code (`za_...`, `il_...`);
at present stdnum covers every `mea` rule (za.idnr, il.idnr, tr.tckimlik).
"""

from __future__ import annotations

import re

from piiscan.model import Verdict
from piiscan.validators import validator, verdict

# --------------------------------------------------------------------------------------------
# Australia: Medicare card number
# --------------------------------------------------------------------------------------------

# Printed as "2123 45670 1" (4-5-1), often followed by the individual reference number (IRN,
# the person's position on the family card): "2123 45670 1-1". Digits 1-8 identify the card
# (the first is 2-6), digit 9 is the check digit, digit 10 the card's issue number.
_MEDICARE_SHAPE = re.compile(r"[2-6][0-9]{9}[1-9]?", re.ASCII)
_MEDICARE_WEIGHTS = (1, 3, 7, 9, 1, 3, 7, 9)
_MEDICARE_SEPARATORS = str.maketrans("", "", " \t\u00a0-/")


@validator("au_medicare")
def au_medicare(value: str) -> Verdict:
    digits = value.strip().translate(_MEDICARE_SEPARATORS)
    if not _MEDICARE_SHAPE.fullmatch(digits):
        return Verdict.INVALID
    weighted = sum(int(d) * w for d, w in zip(digits, _MEDICARE_WEIGHTS))
    return verdict(weighted % 10 == int(digits[8]))


# --------------------------------------------------------------------------------------------
# Singapore: NRIC (citizens, permanent residents) and FIN (foreigners)
# --------------------------------------------------------------------------------------------

# A series letter, seven digits and a check letter. The series says who and when: S and T for
# NRICs issued before / from 2000, F and G for FINs before / from 2000, M for FINs from 2022.
# Check: weigh the digits 2 7 6 5 4 3 2, add the series offset, take the sum mod 11 and read
# the letter at that index. (For M, ICA publishes the table KLJNPQRTUWX read at 10 - remainder,
# which is the same as the reversed table below read at the remainder.)
_NRIC_SHAPE = re.compile(r"[STFGM][0-9]{7}[A-Z]", re.ASCII)
_NRIC_WEIGHTS = (2, 7, 6, 5, 4, 3, 2)
_NRIC_OFFSET = {"S": 0, "T": 4, "F": 0, "G": 4, "M": 3}
_NRIC_CHECK_LETTERS = {
    "S": "JZIHGFEDCBA",
    "T": "JZIHGFEDCBA",
    "F": "XWUTRQPNMLK",
    "G": "XWUTRQPNMLK",
    "M": "XWUTRQPNJLK",
}


def sg_nric_check_letter(series: str, digits: str) -> str:
    """The check letter of series letter + 7 digits (S, T, F, G or M; digits ASCII)."""
    total = _NRIC_OFFSET[series] + sum(int(d) * w for d, w in zip(digits, _NRIC_WEIGHTS))
    return _NRIC_CHECK_LETTERS[series][total % 11]


@validator("sg_nric_fin")
def sg_nric_fin(value: str) -> Verdict:
    code = value.strip().upper()
    if not _NRIC_SHAPE.fullmatch(code):
        return Verdict.INVALID
    return verdict(code[8] == sg_nric_check_letter(code[0], code[1:8]))
