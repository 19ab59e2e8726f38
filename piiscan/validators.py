"""Named validators that rules reference from YAML (`validator: luhn`).

A validator is a small pure function `(value: str) -> Verdict`:
VALID raises the candidate's confidence, INVALID drops it, UNKNOWN leaves it alone.
Register one with `@validator("name")`; an unknown name in a pack is a load error.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import importlib
import ipaddress
import os
import re
from collections.abc import Callable
from urllib.parse import unquote

from piiscan.model import Verdict


# python-stdnum and phonenumbers cost ~20 ms to import; a pre-commit run on a few files often
# needs neither, so they are imported on first use.
@functools.cache  # called per candidate: the module lookup once, not each time
def stdnum_module(module: str):
    return importlib.import_module(f"stdnum.{module}")


def _phonenumbers():
    import phonenumbers

    return phonenumbers

Validator = Callable[[str], Verdict]

VALIDATORS: dict[str, Validator] = {}


def validator(name: str) -> Callable[[Validator], Validator]:
    def register(fn: Validator) -> Validator:
        if name in VALIDATORS:
            raise ValueError(f"validator {name!r} registered twice")
        VALIDATORS[name] = fn
        return fn

    return register


def verdict(ok: bool) -> Verdict:
    return Verdict.VALID if ok else Verdict.INVALID


STDNUM_PREFIX = "stdnum."


def find_validator(name: str) -> Validator | None:
    """A registered validator, or `stdnum.<country>.<number>`: python-stdnum's own check.

    python-stdnum knows the checksums of hundreds of national numbers; naming its module in
    a pack (`validator: stdnum.de.idnr`) reuses it instead of writing the checksum again.
    """
    if name in VALIDATORS:
        return VALIDATORS[name]
    if name.startswith(STDNUM_PREFIX):
        return _stdnum_validator(name)
    return None


@functools.lru_cache(maxsize=None)
def _stdnum_validator(name: str) -> Validator | None:
    if not re.fullmatch(r"stdnum(?:\.[a-z_][a-z0-9_]*){1,2}", name):
        return None
    try:
        module = stdnum_module(name.removeprefix(STDNUM_PREFIX))
    except ImportError:
        return None
    is_valid = getattr(module, "is_valid", None)
    if not callable(is_valid):
        return None

    def check(value: str) -> Verdict:
        try:
            return verdict(bool(is_valid(value)))
        except Exception:  # noqa: BLE001 - stdnum raises assorted errors on odd input
            return Verdict.INVALID

    check.__name__ = name
    return check


# Every validator runs on every candidate, so each one is cheap, never raises and does no I/O.
# Well-known test and documentation values (SSA advertising SSNs, 555-01xx phone numbers, test
# cards, example IBANs) are deliberately VALID here: rules flag them through `test_values`, and
# that only works if the validator does not drop them first.

# The separators rule regexes allow inside numbers: spaces, tabs, no-break spaces, dashes, dots.
_SEPARATORS = str.maketrans("", "", " \t\u00a0-.")


def _compact(value: str) -> str:
    return value.strip().translate(_SEPARATORS)


def _is_digits(text: str) -> bool:
    # str.isdigit() alone accepts "²" and Arabic-Indic digits, which int() would then read.
    return text.isascii() and text.isdigit()


def _all_same(text: str) -> bool:
    return len(set(text)) == 1


# --------------------------------------------------------------------------------------------
# Payment cards and bank accounts
# --------------------------------------------------------------------------------------------


@validator("luhn")
def luhn(value: str) -> Verdict:
    digits = _compact(value)
    return verdict(len(digits) >= 2 and _is_digits(digits) and stdnum_module("luhn").is_valid(digits))


_12_TO_19 = range(12, 20)
_16_TO_19 = range(16, 20)

# (lowest prefix, highest prefix, allowed lengths): a card fits when its leading digits, taken
# as many as the bounds have, fall inside the bounds. Overlaps (Discover/UnionPay co-branding
# at 622126-622925) are harmless: one fitting brand is enough.
_CARD_RANGES: tuple[tuple[str, str, tuple[int, ...] | range], ...] = (
    ("4", "4", (13, 16, 19)),  # Visa
    ("51", "55", (16,)),  # Mastercard
    ("2221", "2720", (16,)),  # Mastercard 2-series
    ("34", "34", (15,)),  # American Express
    ("37", "37", (15,)),  # American Express
    ("6011", "6011", _16_TO_19),  # Discover
    ("644", "649", _16_TO_19),  # Discover
    ("65", "65", _16_TO_19),  # Discover
    ("300", "305", range(14, 20)),  # Diners Club International
    ("3095", "3095", range(14, 20)),  # Diners Club
    ("36", "36", range(14, 20)),  # Diners Club
    ("38", "39", range(14, 20)),  # Diners Club (14 long in older issues)
    ("3528", "3589", _16_TO_19),  # JCB
    ("1800", "1800", (15,)),  # JCB, legacy
    ("2131", "2131", (15,)),  # JCB, legacy
    ("62", "62", _16_TO_19),  # UnionPay
    ("50", "50", _12_TO_19),  # Maestro (5018, 5020, 5038, ...)
    ("56", "58", _12_TO_19),  # Maestro
    ("6304", "6304", _12_TO_19),  # Maestro
    ("6759", "6759", _12_TO_19),  # Maestro UK
    ("6761", "6763", _12_TO_19),  # Maestro
    ("2200", "2204", _16_TO_19),  # Mir
)


def _fits_card_brand(digits: str) -> bool:
    for low, high, lengths in _CARD_RANGES:
        if len(digits) in lengths and low <= digits[: len(low)] <= high:
            return True
    return False


@validator("credit_card")
def credit_card(value: str) -> Verdict:
    digits = _compact(value)
    if not (_is_digits(digits) and 12 <= len(digits) <= 19) or _all_same(digits):
        return Verdict.INVALID
    if not stdnum_module("luhn").is_valid(digits):
        return Verdict.INVALID
    if _fits_card_brand(digits):
        return Verdict.VALID
    # The rest of JCB's "35" block (3500-3527, 3590-3599) is issued by no brand today, yet
    # test-card generators (Faker among them) and older BIN tables put JCB numbers there.
    # A Luhn-valid one is card-shaped but unconfirmed: kept only next to a word like "card".
    if digits.startswith("35") and len(digits) in _16_TO_19:
        return Verdict.UNKNOWN
    return Verdict.INVALID


@validator("iban")
def iban(value: str) -> Verdict:
    compact = _compact(value).upper()
    # Longest IBAN is 34 characters; the bound also keeps junk away from stdnum's big-int maths.
    if not (15 <= len(compact) <= 34 and compact.isascii() and compact.isalnum()):
        return Verdict.INVALID
    # check_country=False: the country modules also look bank codes up in registries that
    # change over time (stdnum rejects the EU's documentation IBAN BE68 5390 0754 7034 that
    # way); length, BBAN layout and mod 97 are what make an IBAN an IBAN.
    try:
        return verdict(bool(stdnum_module("iban").validate(compact, check_country=False)))
    except stdnum_module("exceptions").ValidationError:
        return Verdict.INVALID


# --------------------------------------------------------------------------------------------
# US and UK national identifiers
# --------------------------------------------------------------------------------------------

# SSNs printed in advertising and on the sample card in wallets (Woolworth's 1938 wallet
# insert). Structurally impossible or burnt, but well known: rules report them as test data.
_SSN_TEST_VALUES = frozenset({"078051120", *(f"98765432{d}" for d in range(10))})


@validator("us_ssn")
def us_ssn(value: str) -> Verdict:
    digits = _compact(value)
    if not (_is_digits(digits) and len(digits) == 9):
        return Verdict.INVALID
    if digits in _SSN_TEST_VALUES:
        return Verdict.VALID
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    # Area 9xx is never issued as an SSN (it is the ITIN space); 000 and 666 are excluded.
    area_ok = area not in ("000", "666") and area[0] != "9"
    return verdict(area_ok and group != "00" and serial != "0000")


# stdnum.us.itin lacks the 50-65 groups the IRS added in 2011, so the ranges are ours.
_ITIN_GROUPS = frozenset(
    f"{g:02d}" for g in (*range(50, 66), *range(70, 89), *range(90, 93), *range(94, 100))
)


@validator("us_itin")
def us_itin(value: str) -> Verdict:
    digits = _compact(value)
    if not (_is_digits(digits) and len(digits) == 9):
        return Verdict.INVALID
    return verdict(digits[0] == "9" and digits[3:5] in _ITIN_GROUPS)


# First letters of a DEA registration: the registrant's business activity (A, B, F and G for
# practitioners and hospitals, M for mid-level practitioners, P and R for distributors,
# X for buprenorphine prescribers, and the letters DEA has added since).
_DEA_REGISTRANT_TYPES = frozenset("ABCDEFGHJKLMPRSTUX")


@validator("us_dea_number")
def us_dea_number(value: str) -> Verdict:
    """A DEA registration number: registrant type, the first letter of the registrant's last
    name (or 9 for a business), six digits and a check digit, the last digit of
    d1 + d3 + d5 + 2 * (d2 + d4 + d6)."""
    if len(value) != 9 or not value.isascii():
        return Verdict.INVALID
    kind, initial, digits = value[0], value[1], value[2:]
    if kind not in _DEA_REGISTRANT_TYPES or not (initial.isupper() or initial == "9"):
        return Verdict.INVALID
    if not digits.isdigit():
        return Verdict.INVALID
    d = [int(c) for c in digits]
    return verdict((d[0] + d[2] + d[4] + 2 * (d[1] + d[3] + d[5])) % 10 == d[6])


@validator("uk_nhs")
def uk_nhs(value: str) -> Verdict:
    digits = _compact(value)
    if not (_is_digits(digits) and len(digits) == 10) or _all_same(digits):
        # All-same-digit strings pass mod 11 (1111111111 does) but are filler, never issued.
        return Verdict.INVALID
    return verdict(stdnum_module("gb.nhs").is_valid(digits))


_NINO_SHAPE = re.compile(r"[A-Z]{2}[0-9]{6}[A-D]?", re.ASCII)
_NINO_BAD_FIRST = frozenset("DFIQUV")
_NINO_BAD_SECOND = frozenset("DFIOQUV")
_NINO_UNALLOCATED_PREFIXES = frozenset({"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"})


@validator("uk_nino")
def uk_nino(value: str) -> Verdict:
    nino = _compact(value).upper()
    if not _NINO_SHAPE.fullmatch(nino):
        return Verdict.INVALID
    # QQ 12 34 56 C is HMRC's own specimen on forms and guidance: test data, not dropped.
    if nino.startswith("QQ123456"):
        return Verdict.VALID
    first, second = nino[0], nino[1]
    return verdict(
        first not in _NINO_BAD_FIRST
        and second not in _NINO_BAD_SECOND
        and nino[:2] not in _NINO_UNALLOCATED_PREFIXES
    )


# --------------------------------------------------------------------------------------------
# Vehicles
# --------------------------------------------------------------------------------------------

# North-American VIN check digit (49 CFR 565): letters transliterate to digits, each position
# has a weight, and position 9 holds the weighted sum mod 11 ("X" for 10).
_VIN_VALUES = {
    **{str(d): d for d in range(10)},
    **dict(zip("ABCDEFGH", range(1, 9))),
    **dict(zip("JKLMN", range(1, 6))),
    "P": 7,
    "R": 9,
    **dict(zip("STUVWXYZ", range(2, 10))),
}
_VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)


def _vin_check_digit(vin: str) -> str:
    remainder = sum(_VIN_VALUES[c] * w for c, w in zip(vin, _VIN_WEIGHTS)) % 11
    return "X" if remainder == 10 else str(remainder)


@validator("vin")
def vin(value: str) -> Verdict:
    code = _compact(value).upper()
    # I, O and Q are never used (they read as 1 and 0), so _VIN_VALUES leaves them out.
    if len(code) != 17 or any(c not in _VIN_VALUES for c in code) or _all_same(code):
        return Verdict.INVALID
    return verdict(code[8] == _vin_check_digit(code))


# --------------------------------------------------------------------------------------------
# Cryptocurrency addresses
# --------------------------------------------------------------------------------------------

_BASE58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_BASE58_INDEX = {c: i for i, c in enumerate(_BASE58_ALPHABET)}
_BTC_BASE58_VERSIONS = {"1": 0x00, "3": 0x05}  # P2PKH, P2SH on mainnet


def _base58_decode(text: str) -> bytes | None:
    number = 0
    for char in text:
        digit = _BASE58_INDEX.get(char)
        if digit is None:
            return None
        number = number * 58 + digit
    body = number.to_bytes((number.bit_length() + 7) // 8, "big")
    # Each leading "1" stands for one leading zero byte that the number itself cannot carry.
    leading_zeros = len(text) - len(text.lstrip("1"))
    return b"\x00" * leading_zeros + body


def _is_btc_base58(address: str) -> bool:
    if not 26 <= len(address) <= 35:
        return False
    raw = _base58_decode(address)
    if raw is None or len(raw) != 25:  # version byte + 20-byte hash + 4-byte checksum
        return False
    payload, checksum = raw[:21], raw[21:]
    if payload[0] != _BTC_BASE58_VERSIONS.get(address[0]):
        return False
    return hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4] == checksum


# Bech32 (BIP-173) and bech32m (BIP-350): the same BCH code with a different final constant.
_BECH32_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_BECH32_INDEX = {c: i for i, c in enumerate(_BECH32_CHARSET)}
_BECH32_GENERATOR = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
_BECH32_CONST = 1
_BECH32M_CONST = 0x2BC830A3


def _bech32_polymod(values: list[int]) -> int:
    checksum = 1
    for value in values:
        top = checksum >> 25
        checksum = (checksum & 0x1FFFFFF) << 5 ^ value
        for bit, generator in enumerate(_BECH32_GENERATOR):
            if (top >> bit) & 1:
                checksum ^= generator
    return checksum


def _bech32_hrp_expand(hrp: str) -> list[int]:
    return [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]


def _regroup_5_to_8_bits(data: list[int]) -> bytes | None:
    """Witness program bytes from 5-bit groups; None if the padding is not all zero bits."""
    accumulator, bits, out = 0, 0, bytearray()
    for value in data:
        accumulator = (accumulator << 5) | value
        bits += 5
        while bits >= 8:
            bits -= 8
            out.append((accumulator >> bits) & 0xFF)
    if bits >= 5 or accumulator & ((1 << bits) - 1):
        return None
    return bytes(out)


def _is_btc_segwit(address: str) -> bool:
    if len(address) > 90 or (address != address.lower() and address != address.upper()):
        return False
    address = address.lower()
    hrp, _, data_part = address.rpartition("1")
    if hrp != "bc" or len(data_part) < 7:  # witness version + 6 checksum characters
        return False
    data = [_BECH32_INDEX.get(c, -1) for c in data_part]
    if -1 in data:
        return False
    constant = _bech32_polymod(_bech32_hrp_expand(hrp) + data)
    witness_version, program = data[0], _regroup_5_to_8_bits(data[1:-6])
    if program is None or witness_version > 16 or not 2 <= len(program) <= 40:
        return False
    if witness_version == 0:  # v0 is bech32 and a 20-byte key hash or a 32-byte script hash
        return constant == _BECH32_CONST and len(program) in (20, 32)
    return constant == _BECH32M_CONST  # v1+ (taproot and later) use bech32m


@validator("btc_address")
def btc_address(value: str) -> Verdict:
    address = value.strip()
    if address[:3].lower() == "bc1":
        return verdict(_is_btc_segwit(address))
    if address[:1] in _BTC_BASE58_VERSIONS:
        return verdict(_is_btc_base58(address))
    return Verdict.INVALID


# Keccak-256 as Ethereum uses it: the original Keccak padding (domain byte 0x01), which is why
# hashlib.sha3_256 (padding 0x06) gives different digests. Constants are derived as FIPS 202
# specifies them rather than copied as tables, so a typo cannot hide in a hex literal.
_MASK64 = (1 << 64) - 1


def _keccak_round_constants() -> tuple[int, ...]:
    def rc_bit(t: int) -> int:  # FIPS 202 algorithm 5: an LFSR over x^8 + x^6 + x^5 + x^4 + 1
        register = 1
        for _ in range(t % 255):
            register <<= 1
            if register & 0x100:
                register ^= 0x171
        return register & 1

    return tuple(
        sum(rc_bit(j + 7 * round_index) << ((1 << j) - 1) for j in range(7))
        for round_index in range(24)
    )


def _keccak_rotation_offsets() -> tuple[int, ...]:
    offsets = [0] * 25  # indexed x + 5 * y; lane (0, 0) is not rotated
    x, y = 1, 0
    for t in range(24):  # FIPS 202 algorithm 2 (rho)
        offsets[x + 5 * y] = ((t + 1) * (t + 2) // 2) % 64
        x, y = y, (2 * x + 3 * y) % 5
    return tuple(offsets)


_KECCAK_ROUND_CONSTANTS = _keccak_round_constants()
_KECCAK_ROTATIONS = _keccak_rotation_offsets()


def _rotate_left_64(lane: int, shift: int) -> int:
    return ((lane << shift) | (lane >> (64 - shift))) & _MASK64


def _keccak_f1600(lanes: list[int]) -> list[int]:
    for round_constant in _KECCAK_ROUND_CONSTANTS:
        # theta: mix each column's parity into its neighbours
        parity = [
            lanes[x] ^ lanes[x + 5] ^ lanes[x + 10] ^ lanes[x + 15] ^ lanes[x + 20]
            for x in range(5)
        ]
        mix = [parity[(x - 1) % 5] ^ _rotate_left_64(parity[(x + 1) % 5], 1) for x in range(5)]
        lanes = [lane ^ mix[i % 5] for i, lane in enumerate(lanes)]
        # rho and pi: rotate every lane, then move lane (x, y) to (y, 2x + 3y)
        moved = [0] * 25
        for x in range(5):
            for y in range(5):
                moved[y + 5 * ((2 * x + 3 * y) % 5)] = _rotate_left_64(
                    lanes[x + 5 * y], _KECCAK_ROTATIONS[x + 5 * y]
                )
        # chi: the only non-linear step, row by row
        lanes = [
            moved[i] ^ (~moved[(i + 1) % 5 + i - i % 5] & moved[(i + 2) % 5 + i - i % 5])
            for i in range(25)
        ]
        # iota: break the symmetry between rounds
        lanes[0] ^= round_constant
    return lanes


def _keccak_sponge_256(data: bytes, domain_byte: int) -> bytes:
    """A 256-bit Keccak sponge; domain byte 0x01 is Keccak-256, 0x06 is SHA3-256."""
    rate = 136  # bytes absorbed per permutation: (1600 - 2 * 256) / 8
    padded = bytearray(data)
    padded.append(domain_byte)
    padded.extend(b"\x00" * (-len(padded) % rate))
    padded[-1] |= 0x80
    lanes = [0] * 25
    for start in range(0, len(padded), rate):
        block = padded[start : start + rate]
        for i in range(rate // 8):
            lanes[i] ^= int.from_bytes(block[8 * i : 8 * i + 8], "little")
        lanes = _keccak_f1600(lanes)
    return b"".join(lane.to_bytes(8, "little") for lane in lanes[:4])


def _keccak256(data: bytes) -> bytes:
    return _keccak_sponge_256(data, 0x01)


_ETH_ADDRESS = re.compile(r"0[xX][0-9a-fA-F]{40}")


@functools.lru_cache(maxsize=1024)  # the same address tends to recur across a repository
def _eip55_checksummed(hex_digits: str) -> str:
    """The 40 hex digits with EIP-55 capitalisation: a letter is upper case where the Keccak
    hash of the lower-case address has a nibble >= 8 at the same position."""
    lower = hex_digits.lower()
    digest = _keccak256(lower.encode("ascii")).hex()
    return "".join(c.upper() if int(h, 16) >= 8 else c for c, h in zip(lower, digest))


@validator("eth_address")
def eth_address(value: str) -> Verdict:
    address = value.strip()
    if not _ETH_ADDRESS.fullmatch(address):
        return Verdict.INVALID
    hex_digits = address[2:]
    if _all_same(hex_digits) and hex_digits[0] == "0":
        return Verdict.INVALID  # the zero address: a burn/placeholder, nobody's account
    if hex_digits == hex_digits.lower() or hex_digits == hex_digits.upper():
        return Verdict.UNKNOWN  # no checksum was written, so there is nothing to confirm
    return verdict(hex_digits == _eip55_checksummed(hex_digits))


# --------------------------------------------------------------------------------------------
# Contact details
# --------------------------------------------------------------------------------------------

# Regions tried for numbers written without a country code. US also covers Canada and the
# rest of NANP: phonenumbers validates +1 numbers against every NANP region. A national
# number names no country, so any of these may own it; the rules only report one next to a
# word like "phone", and this check drops digit runs that are no country's phone number.
_PHONE_DEFAULT_REGIONS = (
    "US", "GB", "DE", "FR", "IN", "AU",
    "ES", "IT", "NL", "BE", "CH", "AT", "PL", "PT", "SE", "NO", "DK", "FI", "IE",
    "BR", "MX", "AR", "JP", "CN",
)  # fmt: skip
_NANP_FICTIONAL = re.compile(r"1?[2-9][0-9]{2}55501[0-9]{2}", re.ASCII)


def _phone_is_valid(text: str, region: str | None) -> bool:
    phonenumbers = _phonenumbers()
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(text, region))
    except phonenumbers.NumberParseException:
        return False


@validator("phone")
def phone(value: str) -> Verdict:
    text = value.strip()
    digits = "".join(c for c in text if c.isascii() and c.isdigit())
    # E.164 allows at most 15 digits (plus a 00 prefix); the shortest national numbers have 5.
    if not 5 <= len(digits) <= 17 or len(text) > 64:
        return Verdict.INVALID
    if text.startswith("00"):
        text, digits = "+" + text[2:], digits[2:]
    international = text.startswith("+")
    # 555-0100..0199 are reserved for fiction in every NANP area: test data, never dropped,
    # whatever phonenumbers' metadata says about them this year.
    if _NANP_FICTIONAL.fullmatch(digits) and (digits[0] == "1" or not international):
        return Verdict.VALID
    if international:
        return verdict(_phone_is_valid(text, None))
    # Without a country code, five digits are an extension or a short code, whatever region
    # (Austria: Vienna's 1 2345) phonenumbers can find a fit for.
    if len(digits) < 6:
        return Verdict.INVALID
    return verdict(any(_phone_is_valid(text, region) for region in _PHONE_DEFAULT_REGIONS))


# File extensions and code tokens that follow an "@" in code (logo@2x.png, icon@3x.webp,
# foo@bar.setter) and are not real top-level domains. Real TLDs that double as extensions
# (.pl, .rs, .sh, .so, .zip, .cc) are deliberately absent: an address there is plausible.
_CODE_TLDS = frozenset(
    """
    png jpg jpeg gif svg webp ico bmp tif tiff heic psd avif
    js mjs cjs jsx ts tsx css scss sass less vue svelte map
    py pyc pyi pyx ipynb rb go java kt kts scala groovy class jar war swift dart lua php
    cpp hpp cxx hxx cs fs vb erl ex exs hs clj elm nim zig
    json yaml yml xml html htm txt md rst csv tsv ini cfg conf toml env lock log sql db sqlite
    bat cmd ps1 bash zsh exe dll dylib bin obj
    gz tgz tar bz2 xz 7z rar whl egg gem nupkg
    pdf doc docx xls xlsx ppt pptx odt mp3 mp4 wav avi mkv webm flac ogg woff woff2 ttf otf eot
    tf tfvars hcl proto graphql gql j2 jinja tmpl tpl erb ejs hbs twig pug
    bak tmp orig swp patch diff pem crt der
    setter getter deleter prototype
    """.split()
)
# Code-token TLDs that are also country TLDs in real use (.py Paraguay, .md Moldova): there an
# address sits under a familiar second level (mail@empresa.com.py), which a file name does not.
_CCTLD_SECOND_LEVELS = frozenset({"com", "net", "org", "edu", "gov", "mil", "co", "ac"})


@validator("email")
def email(value: str) -> Verdict:
    local, at, domain = value.strip().rpartition("@")
    if not at or not local:
        return Verdict.INVALID
    labels = domain.rstrip(".").lower().split(".")
    if len(labels) < 2 or not all(labels):
        return Verdict.INVALID  # no dot (user@localhost, a@b) or an empty label (a@b..c)
    tld = labels[-1]
    # A TLD is letters (Unicode letters for IDN ones) or punycode; never digits (pkg@1.2.3).
    if not (len(tld) >= 2 and (tld.isalpha() or tld.startswith("xn--"))):
        return Verdict.INVALID
    if tld in _CODE_TLDS:
        if tld in ("py", "md") and len(labels) >= 3 and labels[-2] in _CCTLD_SECOND_LEVELS:
            return Verdict.UNKNOWN
        return Verdict.INVALID
    if not _is_top_level_domain(tld):
        return Verdict.INVALID  # no such TLD: nothing can be delivered there (user@dom.ain)
    return Verdict.UNKNOWN  # plausible; full RFC 5322 checking would not tell us more


# Not in the root zone, but real names: internal mail (`internal` is reserved for it by
# ICANN), and the special-use names of RFC 2606/6761/7686, which rules report as test data.
_PRIVATE_USE_TLDS = frozenset({
    "internal", "local", "lan", "corp", "home", "intranet", "private",
    "test", "example", "invalid", "localhost", "onion",
})  # fmt: skip


def _is_top_level_domain(tld: str) -> bool:
    if not tld.isascii():
        try:
            tld = tld.encode("idna").decode("ascii")
        except UnicodeError:
            return False
    return tld in _PRIVATE_USE_TLDS or tld in _root_zone()


@functools.cache
def _root_zone() -> frozenset[str]:
    """IANA's list of top-level domains (piiscan/tlds.txt, refreshed with each release)."""
    with open(os.path.join(os.path.dirname(__file__), "tlds.txt"), encoding="ascii") as f:
        return frozenset(line.strip().lower() for line in f if line.strip() and line[0] != "#")


# --------------------------------------------------------------------------------------------
# Network identifiers
# --------------------------------------------------------------------------------------------

_IP_DOCUMENTATION_NETWORKS = tuple(
    ipaddress.ip_network(n)
    for n in (
        "192.0.2.0/24",  # TEST-NET-1 (RFC 5737)
        "198.51.100.0/24",  # TEST-NET-2
        "203.0.113.0/24",  # TEST-NET-3
        "2001:db8::/32",  # RFC 3849
        "3fff::/20",  # RFC 9637
    )
)
_IPV4_THIS_NETWORK = ipaddress.ip_network("0.0.0.0/8")  # only ever a source "unknown" address


def _looks_like_netmask(address: ipaddress.IPv4Address) -> bool:
    # Contiguous one bits then zeros (255.255.255.0, 255.255.252.0, 192.0.0.0): a prefix mask
    # in a config file, far more often than a host. Inverted, it is 2^n - 1.
    inverted = ~int(address) & 0xFFFFFFFF
    return address.packed[0] >= 128 and inverted & (inverted + 1) == 0


def _ip_is_identifying(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return _ip_is_identifying(address.ipv4_mapped)
    if (
        address.is_loopback
        or address.is_unspecified
        or address.is_multicast
        or address.is_reserved
        or address.is_link_local
        or any(address in network for network in _IP_DOCUMENTATION_NETWORKS)
    ):
        return False
    if isinstance(address, ipaddress.IPv4Address):
        return address not in _IPV4_THIS_NETWORK and not _looks_like_netmask(address)
    return True


@validator("ip_address")
def ip_address(value: str) -> Verdict:
    text = value.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    if not text.isascii() or len(text) > 64:
        return Verdict.INVALID
    if "." in text and ":" not in text:
        # 010.001.001.001 is octal to some parsers and decimal to others: not an address we
        # can attribute. (ipaddress also rejects it; this keeps the rule explicit.)
        if any(len(octet) > 1 and octet.startswith("0") for octet in text.split(".")):
            return Verdict.INVALID
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return Verdict.INVALID
    # Private ranges stay VALID: they still identify a device inside a network.
    return verdict(_ip_is_identifying(address))


_MAC_SHAPE = re.compile(
    r"[0-9A-Fa-f]{2}([:-])[0-9A-Fa-f]{2}(?:\1[0-9A-Fa-f]{2}){4}"  # one separator throughout
    r"|[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}",  # Cisco dotted form
    re.ASCII,
)


@validator("mac_address")
def mac_address(value: str) -> Verdict:
    text = value.strip()
    if not _MAC_SHAPE.fullmatch(text):
        return Verdict.INVALID
    hex_digits = re.sub(r"[:.\-]", "", text).lower()
    # 00:00:00:00:00:00 is "no address" and ff:ff:ff:ff:ff:ff is broadcast: neither is a device.
    return verdict(hex_digits not in ("000000000000", "ffffffffffff"))


# --------------------------------------------------------------------------------------------
# Dates of birth
# --------------------------------------------------------------------------------------------

_MONTHS = {
    name: number
    for number, full in enumerate(
        (
            "january", "february", "march", "april", "may", "june", "july",
            "august", "september", "october", "november", "december",
        ),
        start=1,
    )
    for name in (full, full[:3])
}
_MONTHS["sept"] = 9

_DATE_YEAR_FIRST = re.compile(r"(\d{4})([-/.])(\d{1,2})\2(\d{1,2})", re.ASCII)
_DATE_YEAR_LAST = re.compile(r"(\d{1,2})([-/.])(\d{1,2})\2(\d{4})", re.ASCII)
_ORDINAL = r"(?:st|nd|rd|th)?"
_DATE_DAY_MONTH_NAME = re.compile(
    rf"(\d{{1,2}}){_ORDINAL}[ -]([a-z]+)\.?,?[ -](\d{{4}})", re.ASCII | re.IGNORECASE
)
_DATE_MONTH_NAME_DAY = re.compile(
    rf"([a-z]+)\.? (\d{{1,2}}){_ORDINAL},? (\d{{4}})", re.ASCII | re.IGNORECASE
)


def _birth_date(year: str, month: str | int | None, day: str, today: datetime.date) -> bool:
    """True if year-month-day exists and is a plausible birth date (1900 up to today)."""
    if month is None:
        return False
    try:
        date = datetime.date(int(year), int(month), int(day))
    except ValueError:
        return False
    return date.year >= 1900 and date <= today


def _is_birth_date(text: str, today: datetime.date) -> bool:
    if m := _DATE_YEAR_FIRST.fullmatch(text):
        return _birth_date(m[1], m[3], m[4], today)
    if m := _DATE_YEAR_LAST.fullmatch(text):
        # 03/04/1985 is 3 April in Europe and March 4 in the US: either reading will do.
        return _birth_date(m[4], m[3], m[1], today) or _birth_date(m[4], m[1], m[3], today)
    if m := _DATE_DAY_MONTH_NAME.fullmatch(text):
        return _birth_date(m[3], _MONTHS.get(m[2].lower()), m[1], today)
    if m := _DATE_MONTH_NAME_DAY.fullmatch(text):
        return _birth_date(m[3], _MONTHS.get(m[1].lower()), m[2], today)
    return False


@validator("date_of_birth")
def date_of_birth(value: str) -> Verdict:
    text = " ".join(value.split())
    if len(text) > 40:
        return Verdict.INVALID
    return verdict(_is_birth_date(text, datetime.date.today()))


# --------------------------------------------------------------------------------------------
# Credentials in URLs
# --------------------------------------------------------------------------------------------

_PLACEHOLDER_PASSWORDS = frozenset(
    {"password", "passwd", "pass", "pwd", "secret", "changeme", "change_me", "redacted"}
)
_PLACEHOLDER_SHAPES = re.compile(
    r"[xX]+|\*+|\.+|…+"  # xxx, ***, ... masks
    r"|<[^<>]*>"  # <password>
    r"|\$\{[^{}]*\}"  # ${DB_PASS}
    # $DB_PASS or $db_pass; a mixed-case tail ($wnDNg3AJ) is a real password that starts with $
    r"|\$[A-Z_][A-Z0-9_]*|\$[a-z_][a-z0-9_]*"
    r"|\{\{.*\}\}|\{[A-Za-z0-9_]*\}"  # {{ password }}, {password}, {}
    r"|%s|%\([A-Za-z0-9_]+\)s",  # printf-style templates
)


def _is_placeholder_password(password: str) -> bool:
    return any(
        candidate.lower() in _PLACEHOLDER_PASSWORDS or _PLACEHOLDER_SHAPES.fullmatch(candidate)
        for candidate in (password, unquote(password))
    )


@validator("url_credentials")
def url_credentials(value: str) -> Verdict:
    scheme, sep, rest = value.strip().partition("://")
    if not sep or not scheme or not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.\-]*", scheme):
        return Verdict.INVALID
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    # The last "@" ends the userinfo: unencoded "@" in passwords happens, in host names never.
    userinfo, at, host = authority.rpartition("@")
    _user, colon, password = userinfo.partition(":")
    if not at or not host or not colon or not password:
        return Verdict.INVALID
    return verdict(not _is_placeholder_password(password))


# The regional packs' own validators register themselves on import. Imported last: they use
# the decorator above.
from piiscan.regional import americas, apac, eu  # noqa: E402,F401
