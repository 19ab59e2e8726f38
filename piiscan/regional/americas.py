"""Validators for the `americas` pack that python-stdnum does not provide.

Prefer `validator: stdnum.<country>.<number>` in the pack wherever stdnum has the check;
write one here only where it has none, with its own test.
"""

from __future__ import annotations

import re


from piiscan.model import Verdict
from piiscan.validators import stdnum_module, validator, verdict

# Separators the pack's regexes allow inside these numbers.
_SEPARATORS = str.maketrans("", "", " -")


def _compact(value: str) -> str:
    return value.strip().translate(_SEPARATORS)


# --------------------------------------------------------------------------------------------
# US: ABA routing transit number
# --------------------------------------------------------------------------------------------

# stdnum.us.rtn checks the 3-7-1 weighted checksum only, which one random nine-digit number in
# ten passes. The first two digits are a Federal Reserve routing symbol and only these ranges
# are assigned: 00 (US government), 01-12 (Federal Reserve districts), 21-32 (thrift
# institutions), 61-72 (electronic transactions), 80 (traveller's cheques). That rules out
# about two thirds of the checksum-passing numbers.
_ABA_PREFIXES = frozenset(
    f"{p:02d}" for p in (0, *range(1, 13), *range(21, 33), *range(61, 73), 80)
)


@validator("us_aba_routing")
def us_aba_routing(value: str) -> Verdict:
    digits = _compact(value)
    if not (len(digits) == 9 and digits.isascii() and digits.isdigit()):
        return Verdict.INVALID
    # 000000000 passes the checksum and sits in the 00 range, but is filler, never assigned.
    if len(set(digits)) == 1:
        return Verdict.INVALID
    return verdict(digits[:2] in _ABA_PREFIXES and stdnum_module("us.rtn").is_valid(digits))


# --------------------------------------------------------------------------------------------
# MX: RFC (Registro Federal de Contribuyentes)
# --------------------------------------------------------------------------------------------

_RFC_SHAPE = re.compile(r"[A-Z&\u00d1]{3,4}[0-9]{6}(?:[0-9A-Z]{3})?")


@validator("mx_rfc")
def mx_rfc(value: str) -> Verdict:
    """Shape, name-word blocklist and date from stdnum; the check digit decides VALID.

    stdnum leaves the last check digit out of `is_valid` because about 1.5% of the RFCs in use
    were issued with a wrong one. So a wrong check digit is not a reason to drop a match: it
    gives UNKNOWN (the pattern score stands, a context word is then needed), and a right one
    gives VALID. The ten-character form without homoclave has no check digit at all.
    """
    code = _compact(value).upper()
    if not _RFC_SHAPE.fullmatch(code) or not stdnum_module("mx.rfc").is_valid(code):
        return Verdict.INVALID
    if len(code) == 10:
        return Verdict.UNKNOWN
    if stdnum_module("mx.rfc").is_valid(code, validate_check_digits=True):
        return Verdict.VALID
    return Verdict.UNKNOWN
