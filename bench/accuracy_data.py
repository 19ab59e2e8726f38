"""Labelled test data for the accuracy benchmark (bench/accuracy.py): fake documents with the
exact character span of every planted value.

    from accuracy_data import generate
    for sample in generate(seed=1):          # Sample(name, text, labels)
        for label in sample.labels:          # Label(start, end, entity, context, kind, note)
            ...

Documents are prose, Python/JS/Go code, YAML/JSON/.env config, log lines, CSV with a header
row and SQL inserts, in many Faker locales. Planted values:

* kind "pii": a checksum-correct fake identifier of `entity` (a canonical name; bench/accuracy.py
  maps it to whatever entity the loaded rules report). `context` says where the word that names
  it sits: "near" (within the engine's window, 80 chars before / 40 after), "far" (only in a
  CSV header or an SQL column list further away) or "none" (nothing names it; such values use
  their self-describing printed form, e.g. a dashed SSN).
* kind "test_data": well-known test values (example.* mailboxes, 555-01xx phones, processor
  test cards, the SSA advertising SSNs), expected as test_data findings at severity info.
* kind "negative": look-alikes that are not personal data (UUIDs, hashes, versions,
  timestamps, order ids, checksum-invalid cards/IBANs/national ids, documentation IPs, ports,
  colours, base64); `note` names the class. No finding should touch them.

Everything is a function of the seed (Faker instances seeded per locale, one random.Random),
so a seed always yields the same samples. Well-known test values are assembled from pieces so
that this file does not itself carry them.
"""

from __future__ import annotations

import base64
import hashlib
import random
import re
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import NamedTuple

import phonenumbers
from faker import Faker
from stdnum import ean, iban, luhn, verhoeff
from stdnum.at import vnr
from stdnum.au import tfn
from stdnum.be import nn
from stdnum.br import cpf
from stdnum.ca import sin
from stdnum.ch import ssn as ch_ssn
from stdnum.cl import rut
from stdnum.cn import ric
from stdnum.de import idnr
from stdnum.es import dni, nie
from stdnum.fi import hetu
from stdnum.fr import nir
from stdnum.gb import nhs
from stdnum.ie import pps
from stdnum.il import idnr as il_idnr
from stdnum.in_ import aadhaar, pan
from stdnum.it import codicefiscale
from stdnum.iso7064 import mod_11_10
from stdnum.jp import in_ as jp_in
from stdnum.kr import rrn
from stdnum.mx import curp
from stdnum.nl import bsn
from stdnum.no import fodselsnummer
from stdnum.pl import pesel
from stdnum.pt import nif as pt_nif
from stdnum.se import personnummer
from stdnum.tr import tckimlik
from stdnum.us import itin, ssn
from stdnum.za import idnr as za_idnr

CONTEXT_BEFORE, CONTEXT_AFTER = 80, 40  # the engine's context window (rules.md)
SIZES = {"tiny": 14, "quick": 160, "default": 600}  # documents per seed
LOCALES = ["en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL", "pl_PL", "pt_BR", "en_IN", "ja_JP"]
LANGUAGE = {"de_DE": "de", "fr_FR": "fr", "es_ES": "es", "it_IT": "it", "nl_NL": "nl", "pl_PL": "pl",
            "pt_BR": "pt", "ja_JP": "ja"}  # the rest write English
PHONE_REGION = {"en_US": "US", "en_GB": "GB", "de_DE": "DE", "fr_FR": "FR", "es_ES": "ES", "it_IT": "IT",
                "nl_NL": "NL", "pl_PL": "PL", "pt_BR": "BR", "en_IN": "IN", "ja_JP": "JP"}
IBAN_LOCALES = ["en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL", "pl_PL", "pt_BR"]


class Label(NamedTuple):
    start: int
    end: int
    entity: str  # canonical entity of a pii / test_data value; "" for a negative
    context: str = "near"  # near | far | none (pii only)
    kind: str = "pii"  # pii | test_data | negative
    note: str = ""  # printed form of a value ("dashed", "intl"), or a negative's class


class Sample(NamedTuple):
    name: str
    text: str
    labels: list[Label]


# --------------------------------------------------------------------------- checksums we compute

B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def base58check(payload: bytes) -> str:
    raw = payload + hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4]
    number, out = int.from_bytes(raw, "big"), ""
    while number:
        number, rest = divmod(number, 58)
        out = B58[rest] + out
    return "1" * (len(raw) - len(raw.lstrip(b"\0"))) + out


def bech32_p2wpkh(program: bytes) -> str:
    """A version-0 segwit address (BIP-173) for a 20-byte program."""
    words, acc, bits = [0], 0, 0
    for byte in program:
        acc, bits = (acc << 8) | byte, bits + 8
        while bits >= 5:
            bits -= 5
            words.append((acc >> bits) & 31)
    if bits:
        words.append((acc << (5 - bits)) & 31)
    hrp = "bc"
    values = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp] + words + [0] * 6
    chk = 1
    for v in values:
        top, chk = chk >> 25, ((chk & 0x1FFFFFF) << 5) ^ v
        for i, g in enumerate((0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)):
            if (top >> i) & 1:
                chk ^= g
    chk ^= 1
    return hrp + "1" + "".join(BECH32[d] for d in words + [(chk >> 5 * (5 - i)) & 31 for i in range(6)])


def keccak256(data: bytes) -> bytes:
    """Keccak-256 with the original padding (Ethereum's hash; hashlib's sha3_256 pads differently)."""
    mask = (1 << 64) - 1
    rot = lambda x, n: ((x << n) | (x >> (64 - n))) & mask if n else x  # noqa: E731
    # Round constants from the degree-8 LFSR of the Keccak specification.
    rc, r = [], 1
    for _ in range(24):
        c = 0
        for j in range(7):
            if r & 1:
                c |= 1 << ((1 << j) - 1)
            r = ((r << 1) ^ 0x71) & 0xFF if r & 0x80 else r << 1
        rc.append(c)
    offsets, x, y = [[0] * 5 for _ in range(5)], 1, 0
    for t in range(24):
        offsets[x][y] = ((t + 1) * (t + 2) // 2) % 64
        x, y = y, (2 * x + 3 * y) % 5
    msg = bytearray(data) + b"\x01" + b"\0" * (-(len(data) + 1) % 136)
    msg[-1] |= 0x80
    a = [[0] * 5 for _ in range(5)]
    for block in range(0, len(msg), 136):
        for i in range(17):
            a[i % 5][i // 5] ^= int.from_bytes(msg[block + 8 * i: block + 8 * i + 8], "little")
        for constant in rc:
            col = [a[i][0] ^ a[i][1] ^ a[i][2] ^ a[i][3] ^ a[i][4] for i in range(5)]
            for i in range(5):
                d = col[(i - 1) % 5] ^ rot(col[(i + 1) % 5], 1)
                for j in range(5):
                    a[i][j] ^= d
            b = [[0] * 5 for _ in range(5)]
            for i in range(5):
                for j in range(5):
                    b[j][(2 * i + 3 * j) % 5] = rot(a[i][j], offsets[i][j])
            a = [[b[i][j] ^ (~b[(i + 1) % 5][j] & b[(i + 2) % 5][j]) for j in range(5)] for i in range(5)]
            a[0][0] ^= constant
    return b"".join(a[i % 5][i // 5].to_bytes(8, "little") for i in range(4))


def eth_checksummed(hex40: str) -> str:
    digest = keccak256(hex40.encode()).hex()
    return "0x" + "".join(c.upper() if c.isalpha() and int(digest[i], 16) >= 8 else c for i, c in enumerate(hex40))


VIN_VALUES = {**{str(d): d for d in range(10)}, **dict(zip("ABCDEFGH", range(1, 9))),
              **dict(zip("JKLMN", range(1, 6))), "P": 7, "R": 9, **dict(zip("STUVWXYZ", range(2, 10)))}
VIN_WEIGHTS = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2]


def vin_valid(vin: str) -> bool:
    if not re.fullmatch(r"[A-HJ-NPR-Z0-9]{17}", vin):
        return False
    rest = sum(VIN_VALUES[c] * w for c, w in zip(vin, VIN_WEIGHTS)) % 11
    return vin[8] == ("X" if rest == 10 else str(rest))


def nric_valid(value: str) -> bool:
    """Singapore NRIC/FIN (S/T/F/G series): weighted digits, a check letter per series."""
    if not re.fullmatch(r"[STFG][0-9]{7}[A-Z]", value):
        return False
    total = sum(int(d) * w for d, w in zip(value[1:8], (2, 7, 6, 5, 4, 3, 2))) + (4 if value[0] in "TG" else 0)
    letters = "JZIHGFEDCBA" if value[0] in "ST" else "XWUTRQPNMLK"
    return value[8] == letters[total % 11]


def medicare_valid(value: str) -> bool:
    """Australian Medicare card number: ten digits, the ninth a weighted check digit."""
    digits = re.sub(r"\D", "", value)
    if not re.fullmatch(r"[2-6][0-9]{9}", digits):
        return False
    return int(digits[8]) == sum(int(d) * w for d, w in zip(digits, (1, 3, 7, 9, 1, 3, 7, 9))) % 10


def nino_valid(value: str) -> bool:
    compact = value.replace(" ", "")
    return (re.fullmatch(r"[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z][0-9]{6}[A-D]", compact) is not None
            and compact[:2] not in ("BG", "GB", "KN", "NK", "NT", "TN", "ZZ"))


# --------------------------------------------------------------------------- entity specs


@dataclass(frozen=True)
class Spec:
    """One planted entity: how to make a value, which words name it, how to check it."""

    entity: str
    make: Callable  # (Maker, locale, with_context: bool) -> (value, printed form)
    keys: tuple[str, ...]  # identifiers in code and config
    phrases: tuple[str, ...]  # words in prose and logs
    is_valid: Callable[[str], bool] | None = None  # used to build checksum-invalid look-alikes
    structured: bool = True  # counted in the structured-entity targets
    aliases: tuple[str, ...] = ()  # other entity names a rule may use for it
    validators: tuple[str, ...] = ()  # stdnum modules a rule for it would name
    # A bare digit run (an 11-digit tax id) says nothing about itself: nobody could tell it
    # apart from an order number, so such values are always planted next to a naming word.
    needs_context: bool = False


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(string.digits) for _ in range(n))


def _birth(rng: random.Random, first: int = 1945, last: int = 2004) -> date:
    return date(first, 1, 1) + timedelta(days=rng.randint(0, (last - first) * 365))


def _group(value: str, sizes: tuple[int, ...], sep: str = " ") -> str:
    out, i = [], 0
    for size in sizes:
        out.append(value[i:i + size])
        i += size
    return sep.join(out)


class Maker:
    """Fresh fake values; `m.rng` and `m.fake[locale]` are seeded from the one seed."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.fake: dict[str, Faker] = {}
        for i, locale in enumerate(LOCALES):
            f = Faker(locale)
            f.seed_instance(seed * 1000 + i)
            self.fake[locale] = f
        self.used: set[str] = set()

    def fresh(self, make: Callable[[], str], ok: Callable[[str], bool] = lambda v: True) -> str:
        for _ in range(5000):
            value = make()
            if value and value not in self.used and ok(value):
                self.used.add(value)
                return value
        raise RuntimeError("no fresh value")

    def pick(self, *choices):
        return self.rng.choice(choices)


def make_email(m: Maker, locale: str, ctx: bool):
    f = m.fake[locale]

    def one() -> str:
        user = f.user_name() if m.rng.random() < 0.6 else f"{f.first_name()}.{f.last_name()}".lower()
        domain = f.free_email_domain() if m.rng.random() < 0.5 else f.domain_name()
        return f"{user}@{domain}"

    ok = lambda v: v.isascii() and " " not in v and "example." not in v  # noqa: E731
    return m.fresh(one, ok), "address"


FICTIONAL_PHONE = re.compile(r"55501\d\d$|^7700900|^2079460")


def make_phone(m: Maker, locale: str, ctx: bool):
    style = m.pick("intl", "intl", "e164", "national") if ctx else m.pick("intl", "intl", "e164")
    fmt = {"intl": phonenumbers.PhoneNumberFormat.INTERNATIONAL, "e164": phonenumbers.PhoneNumberFormat.E164,
           "national": phonenumbers.PhoneNumberFormat.NATIONAL}[style]
    for _ in range(50):
        region = PHONE_REGION[locale] if m.rng.random() < 0.8 else m.pick("US", "GB", "DE", "FR", "AU", "CA", "MX", "SE")
        kind = m.pick(phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE)
        example = phonenumbers.example_number_for_type(region, kind)
        if example is None:
            continue
        national = str(example.national_number)
        # A real-looking number: the example's prefix with random subscriber digits.
        for _ in range(200):
            digits = national[:-5] + _digits(m.rng, 5)
            number = phonenumbers.parse(f"+{example.country_code}{digits}")
            text = phonenumbers.format_number(number, fmt)
            if phonenumbers.is_valid_number(number) and not FICTIONAL_PHONE.search(digits) and text not in m.used:
                m.used.add(text)
                return text, f"{style}-{region}"
    raise RuntimeError("no fresh phone number")


def make_card(m: Maker, locale: str, ctx: bool):
    brand = m.pick("visa", "visa", "mastercard", "mastercard", "amex", "discover", "jcb")
    style = m.pick("spaced", "dashed", "bare") if ctx else m.pick("spaced", "dashed")

    def one() -> str:
        digits = m.fake["en_US"].credit_card_number(card_type=brand)
        if not luhn.is_valid(digits) or len(digits) not in (15, 16):
            return ""
        sizes = (4, 6, 5) if len(digits) == 15 else (4, 4, 4, 4)
        return {"spaced": _group(digits, sizes), "dashed": _group(digits, sizes, "-"), "bare": digits}[style]

    return m.fresh(one), f"{brand}-{style}"


def make_iban(m: Maker, locale: str, ctx: bool):
    source = locale if locale in IBAN_LOCALES else m.pick(*IBAN_LOCALES)
    style = m.pick("compact", "grouped")
    value = m.fresh(lambda: m.fake[source].iban(), iban.is_valid)
    return (iban.format(value) if style == "grouped" else value), f"{value[:2]}-{style}"


def make_ssn(m: Maker, locale: str, ctx: bool):
    value = m.fresh(lambda: m.fake["en_US"].ssn(), lambda v: ssn.is_valid(v) and not v.startswith("987-65-432"))
    if ctx and m.rng.random() < 0.25:
        return value.replace("-", ""), "bare"
    return value, "dashed"


def make_itin(m: Maker, locale: str, ctx: bool):
    # Faker's ITINs use groups 70-88 and 90-99; stdnum checks the same ranges.
    value = m.fresh(lambda: m.fake["en_US"].itin(), itin.is_valid)
    if ctx and m.rng.random() < 0.25:
        return value.replace("-", ""), "bare"
    return value, "dashed"


def make_ip(m: Maker, locale: str, ctx: bool):
    if m.rng.random() < 0.7:
        return m.fresh(lambda: m.fake["en_US"].ipv4_public()), "v4"
    head = m.pick("2a02", "2a01", "2a03", "2604", "2607", "2800", "2406", "2001:4860")

    def one() -> str:
        groups = head.split(":") + [f"{m.rng.randint(1, 0xFFFF):x}" for _ in range(8 - len(head.split(":")))]
        if m.rng.random() < 0.3:
            return ":".join(groups[:3]) + "::" + groups[-1]
        return ":".join(groups)

    return m.fresh(one), "v6"


def make_mac(m: Maker, locale: str, ctx: bool):
    style = m.pick("colon", "colon", "dash", "dotted") if ctx else m.pick("colon", "dash")

    def one() -> str:
        octets = [m.rng.randrange(0, 256, 4)] + [m.rng.randint(0, 255) for _ in range(5)]  # unicast, global
        hexed = "".join(f"{o:02x}" for o in octets)
        if hexed in ("000000000000",):
            return ""
        if style == "dotted":
            return f"{hexed[:4]}.{hexed[4:8]}.{hexed[8:]}"
        pairs = [hexed[i:i + 2] for i in range(0, 12, 2)]
        text = (":" if style == "colon" else "-").join(pairs)
        return text.upper() if m.rng.random() < 0.4 or style == "dash" else text

    return m.fresh(one), style


def make_dob(m: Maker, locale: str, ctx: bool):
    style = m.pick("iso", "dmy-slash", "dmy-dot", "mdy-slash", "long")

    def one() -> str:
        born = _birth(m.rng)
        if style == "iso":
            return born.isoformat()
        if style == "dmy-slash":
            return born.strftime("%d/%m/%Y")
        if style == "dmy-dot":
            return born.strftime("%d.%m.%Y")
        if style == "mdy-slash":
            return born.strftime("%m/%d/%Y")
        return m.pick(born.strftime("%d %B %Y").lstrip("0"), born.strftime("%B %d, %Y"))

    return m.fresh(one), style


def make_crypto(m: Maker, locale: str, ctx: bool):
    kind = m.pick("p2pkh", "p2sh", "bech32", "eth", "eth")

    def one() -> str:
        program = m.rng.randbytes(20)
        if kind == "p2pkh":
            return base58check(b"\x00" + program)
        if kind == "p2sh":
            return base58check(b"\x05" + program)
        if kind == "bech32":
            return bech32_p2wpkh(program)
        return eth_checksummed(program.hex())

    return m.fresh(one), kind


def make_url(m: Maker, locale: str, ctx: bool):
    f = m.fake["en_US"]
    scheme, port = m.pick(("postgresql", 5432), ("postgres", 5432), ("mysql", 3306), ("redis", 6379),
                          ("amqp", 5672), ("mongodb", 27017), ("https", 443))
    user = m.pick(f.user_name(), "app", "svc_" + f.word(), "admin")
    password = f.password(length=m.rng.randint(10, 20), special_chars=False)
    host = m.pick(f"db-{m.rng.randint(1, 9)}.{f.domain_name()}", f.hostname() + "." + f.domain_name())
    tail = f":{port}/{f.word()}" if scheme != "https" else f"/{f.word()}/{f.word()}"
    return m.fresh(lambda: f"{scheme}://{user}:{password}@{host}{tail}"), scheme


def make_vin(m: Maker, locale: str, ctx: bool):
    chars = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"

    def one() -> str:
        body = (m.pick("1FT", "1G1", "2T1", "3VW", "5YJ", "JHM", "KMH", "WBA", "WVW", "VF1", "YV1", "ZFA")
                + "".join(m.rng.choice(chars) for _ in range(5)) + "0"
                + m.rng.choice("LMNPRSTVWXY") + m.rng.choice(chars) + _digits(m.rng, 6))
        rest = sum(VIN_VALUES[c] * w for c, w in zip(body, VIN_WEIGHTS)) % 11
        return body[:8] + ("X" if rest == 10 else str(rest)) + body[9:]

    return m.fresh(one, vin_valid), "vin"


def make_nhs(m: Maker, locale: str, ctx: bool):
    def one() -> str:
        head = m.pick("4", "6") + _digits(m.rng, 8)
        check = (11 - sum(int(d) * (10 - i) for i, d in enumerate(head)) % 11) % 11
        return "" if check == 10 else head + str(check)

    value = m.fresh(one, nhs.is_valid)
    style = m.pick("spaced", "spaced", "bare") if ctx else "spaced"
    return (_group(value, (3, 3, 4)) if style == "spaced" else value), style


def make_nino(m: Maker, locale: str, ctx: bool):
    def one() -> str:
        return (m.rng.choice("ABCEGHJKLMNOPRSTWXYZ") + m.rng.choice("ABCEGHJKLMNPRSTWXYZ")
                + _digits(m.rng, 6) + m.rng.choice("ABCD"))

    value = m.fresh(one, lambda v: nino_valid(v) and not v.startswith("QQ"))
    style = m.pick("spaced", "compact")
    return (_group(value, (2, 2, 2, 2, 1)) if style == "spaced" else value), style


# Regional numbers, each built from random parts and its published check digit, then checked
# with python-stdnum's validator (or our own where stdnum has none).


def _dated(m: Maker) -> date:
    return _birth(m.rng)


def make_de_tax(m: Maker, locale: str, ctx: bool):
    def one() -> str:
        digits = m.rng.sample(string.digits, 9)
        digits.insert(m.rng.randint(0, 9), m.rng.choice(digits))
        if digits[0] == "0":
            return ""
        body = "".join(digits)
        return body + mod_11_10.calc_check_digit(body)

    value = m.fresh(one, idnr.is_valid)
    style = m.pick("bare", "spaced")
    return (_group(value, (2, 3, 3, 3)) if style == "spaced" else value), style


def make_fr_nir(m: Maker, locale: str, ctx: bool):
    def one() -> str:
        born = _dated(m)
        body = (m.pick("1", "2") + born.strftime("%y%m") + f"{m.rng.randint(1, 95):02d}".replace("20", "21")
                + f"{m.rng.randint(1, 989):03d}" + f"{m.rng.randint(1, 999):03d}")
        return body + nir.calc_check_digits(body)

    value = m.fresh(one, nir.is_valid)
    style = m.pick("spaced", "bare") if ctx else "spaced"
    return (_group(value, (1, 2, 2, 2, 3, 3, 2)) if style == "spaced" else value), style


def make_es_dni(m: Maker, locale: str, ctx: bool):
    def one() -> str:
        body = _digits(m.rng, 8)
        return body + dni.calc_check_digit(body)

    return m.fresh(one, dni.is_valid), "dni"


def make_es_nie(m: Maker, locale: str, ctx: bool):
    def one() -> str:
        body = m.pick("X", "Y", "Z") + _digits(m.rng, 7)
        return body + nie.calc_check_digit(body)

    return m.fresh(one, nie.is_valid), "nie"


def make_it_cf(m: Maker, locale: str, ctx: bool):
    consonants = "BCDFGHJKLMNPQRSTVZ"

    def one() -> str:
        born = _dated(m)
        day = born.day + (40 if m.rng.random() < 0.5 else 0)
        body = ("".join(m.rng.choice(consonants) for _ in range(3)) + "".join(m.rng.choice(consonants + "AEIOU") for _ in range(3))
                + born.strftime("%y") + "ABCDEHLMPRST"[born.month - 1] + f"{day:02d}"
                + m.rng.choice("ABCDEFGHILM") + _digits(m.rng, 3))
        return body + codicefiscale.calc_check_digit(body)

    return m.fresh(one, codicefiscale.is_valid), "cf"


def make_nl_bsn(m: Maker, locale: str, ctx: bool):
    value = m.fresh(lambda: m.rng.choice("123456789") + _digits(m.rng, 8), bsn.is_valid)
    style = m.pick("bare", "bare", "dotted")
    return (_group(value, (4, 2, 3), ".") if style == "dotted" else value), style


def make_pl_pesel(m: Maker, locale: str, ctx: bool):
    def one() -> str:
        born = _dated(m)
        month = born.month + (20 if born.year >= 2000 else 0)
        body = born.strftime("%y") + f"{month:02d}" + born.strftime("%d") + _digits(m.rng, 4)
        return body + pesel.calc_check_digit(body)

    return m.fresh(one, pesel.is_valid), "pesel"


def make_se_pnr(m: Maker, locale: str, ctx: bool):
    def one() -> str:
        born = _dated(m)
        body = born.strftime("%y%m%d") + _digits(m.rng, 3)
        return born.strftime("%y%m%d") + "-" + body[6:] + luhn.calc_check_digit(body)

    value = m.fresh(one, personnummer.is_valid)
    return value, "dashed"


def make_fi_hetu(m: Maker, locale: str, ctx: bool):
    def one() -> str:
        born = _dated(m)
        serial = f"{m.rng.randint(2, 899):03d}"
        key = born.strftime("%d%m%y") + serial
        return (born.strftime("%d%m%y") + ("-" if born.year < 2000 else "A") + serial
                + "0123456789ABCDEFHJKLMNPRSTUVWXY"[int(key) % 31])

    return m.fresh(one, hetu.is_valid), "hetu"


def make_no_fnr(m: Maker, locale: str, ctx: bool):
    def one() -> str:
        born = _dated(m)
        individual = f"{m.rng.randint(0, 499):03d}" if born.year < 2000 else f"{m.rng.randint(500, 999):03d}"
        body = born.strftime("%d%m%y") + individual
        body += fodselsnummer.calc_check_digit1(body)
        return body + fodselsnummer.calc_check_digit2(body)

    return m.fresh(one, fodselsnummer.is_valid), "fnr"


def make_ie_pps(m: Maker, locale: str, ctx: bool):
    def one() -> str:
        body = _digits(m.rng, 7)
        total = sum(int(d) * w for d, w in zip(body, range(8, 1, -1)))
        return body + "WABCDEFGHIJKLMNOPQRSTUV"[total % 23]

    return m.fresh(one, pps.is_valid), "pps"


def make_pt_nif(m: Maker, locale: str, ctx: bool):
    def one() -> str:
        body = m.pick("1", "2") + _digits(m.rng, 7)
        return body + pt_nif.calc_check_digit(body)

    return m.fresh(one, pt_nif.is_valid), "nif"


def make_ch_ahv(m: Maker, locale: str, ctx: bool):
    def one() -> str:
        body = "756" + _digits(m.rng, 9)
        return body + ean.calc_check_digit(body)

    value = m.fresh(one, ch_ssn.is_valid)
    return _group(value, (3, 4, 4, 2), "."), "dotted"


def make_be_nn(m: Maker, locale: str, ctx: bool):
    def one() -> str:
        born = _dated(m)
        body = born.strftime("%y%m%d") + f"{m.rng.randint(1, 997):03d}"
        check = 97 - int(("2" if born.year >= 2000 else "") + body) % 97
        return body + f"{check:02d}"

    value = m.fresh(one, nn.is_valid)
    style = m.pick("formatted", "bare") if ctx else "formatted"
    return (nn.format(value) if style == "formatted" else value), style


def make_at_svnr(m: Maker, locale: str, ctx: bool):
    def one() -> str:
        serial = m.rng.choice("123456789") + _digits(m.rng, 2)
        number = serial + "0" + _dated(m).strftime("%d%m%y")
        return number[:3] + vnr.calc_check_digit(number) + number[4:]

    value = m.fresh(one, vnr.is_valid)
    style = m.pick("spaced", "bare")
    return (f"{value[:4]} {value[4:]}" if style == "spaced" else value), style


def make_cl_rut(m: Maker, locale: str, ctx: bool):
    def one() -> str:
        body = str(m.rng.randint(5_000_000, 25_999_999))
        return body + rut.calc_check_digit(body)

    value = m.fresh(one, rut.is_valid)
    return rut.format(value), "formatted"


def make_br_cpf(m: Maker, locale: str, ctx: bool):
    def one() -> str:
        digits = [int(d) for d in _digits(m.rng, 9)]
        for size in (9, 10):
            rest = sum(d * w for d, w in zip(digits, range(size + 1, 1, -1))) % 11
            digits.append(0 if rest < 2 else 11 - rest)
        return "".join(map(str, digits))

    value = m.fresh(one, cpf.is_valid)
    style = m.pick("formatted", "formatted", "bare") if ctx else "formatted"
    return (f"{value[:3]}.{value[3:6]}.{value[6:9]}-{value[9:]}" if style == "formatted" else value), style


MX_STATES = "AS BC BS CC CL CM CS CH DF DG GT GR HG JC MC MN MS NT NL OC PL QT QR SP SL SR TC TS TL VZ YN ZS".split()


def make_mx_curp(m: Maker, locale: str, ctx: bool):
    def one() -> str:
        born = _dated(m)
        body = (m.rng.choice("BCDFGHJLMNPRSTVZ") + m.rng.choice("AEIOU") + m.rng.choice("BCDFGHJLMNPRSTVZ")
                + m.rng.choice("ABCDEFGHIJLMNOPRSTVZ") + born.strftime("%y%m%d") + m.pick("H", "M")
                + m.rng.choice(MX_STATES) + "".join(m.rng.choice("BCDFGHJKLMNPRSTVWXZ") for _ in range(3))
                + (m.rng.choice(string.digits) if born.year < 2000 else m.rng.choice("ABCDEF")))
        return body + curp.calc_check_digit(body)

    return m.fresh(one, curp.is_valid), "curp"


def make_in_aadhaar(m: Maker, locale: str, ctx: bool):
    def one() -> str:
        body = m.rng.choice("23456789") + _digits(m.rng, 10)
        return body + verhoeff.calc_check_digit(body)

    value = m.fresh(one, aadhaar.is_valid)
    style = m.pick("spaced", "spaced", "bare") if ctx else "spaced"
    return (_group(value, (4, 4, 4)) if style == "spaced" else value), style


def make_in_pan(m: Maker, locale: str, ctx: bool):
    def one() -> str:
        letters = string.ascii_uppercase
        return ("".join(m.rng.choice(letters) for _ in range(3)) + "P" + m.rng.choice(letters)
                + _digits(m.rng, 4) + m.rng.choice(letters))

    return m.fresh(one, pan.is_valid), "pan"


def make_sg_nric(m: Maker, locale: str, ctx: bool):
    def one() -> str:
        series = m.pick("S", "T", "F", "G")
        body = _digits(m.rng, 7)
        total = sum(int(d) * w for d, w in zip(body, (2, 7, 6, 5, 4, 3, 2))) + (4 if series in "TG" else 0)
        return series + body + ("JZIHGFEDCBA" if series in "ST" else "XWUTRQPNMLK")[total % 11]

    return m.fresh(one, nric_valid), "nric"


def make_au_tfn(m: Maker, locale: str, ctx: bool):
    value = m.fresh(lambda: m.rng.choice("123456789") + _digits(m.rng, 8), tfn.is_valid)
    style = m.pick("spaced", "bare")
    return (_group(value, (3, 3, 3)) if style == "spaced" else value), style


def make_au_medicare(m: Maker, locale: str, ctx: bool):
    def one() -> str:
        body = m.rng.choice("23456") + _digits(m.rng, 7)
        check = sum(int(d) * w for d, w in zip(body, (1, 3, 7, 9, 1, 3, 7, 9))) % 10
        return body + str(check) + m.rng.choice("123456789")

    value = m.fresh(one, medicare_valid)
    return _group(value, (4, 5, 1)), "spaced"


def make_cn_ric(m: Maker, locale: str, ctx: bool):
    def one() -> str:
        area = m.pick("110101", "310104", "440305", "510107", "330106", "420102", "320102", "370202")
        body = area + _dated(m).strftime("%Y%m%d") + _digits(m.rng, 3)
        return body + ric.calc_check_digit(body)

    return m.fresh(one, ric.is_valid), "ric"


def make_kr_rrn(m: Maker, locale: str, ctx: bool):
    def one() -> str:
        born = _dated(m)
        gender = m.pick("1", "2") if born.year < 2000 else m.pick("3", "4")
        body = born.strftime("%y%m%d") + gender + f"{m.rng.randint(0, 95):02d}" + _digits(m.rng, 3)
        return body + rrn.calc_check_digit(body)

    value = m.fresh(one, rrn.is_valid)
    return f"{value[:6]}-{value[6:]}", "dashed"


def make_jp_my_number(m: Maker, locale: str, ctx: bool):
    def one() -> str:
        body = _digits(m.rng, 11)
        return body + jp_in.calc_check_digit(body)

    value = m.fresh(one, jp_in.is_valid)
    style = m.pick("spaced", "bare")
    return (_group(value, (4, 4, 4)) if style == "spaced" else value), style


def make_za_id(m: Maker, locale: str, ctx: bool):
    def one() -> str:
        body = _dated(m).strftime("%y%m%d") + _digits(m.rng, 4) + m.pick("0", "1") + "8"
        return body + luhn.calc_check_digit(body)

    return m.fresh(one, za_idnr.is_valid), "za"


def make_il_id(m: Maker, locale: str, ctx: bool):
    def one() -> str:
        body = _digits(m.rng, 8)
        return body + luhn.calc_check_digit(body)

    return m.fresh(one, il_idnr.is_valid), "il"


def make_tr_tckn(m: Maker, locale: str, ctx: bool):
    def one() -> str:
        body = m.rng.choice("123456789") + _digits(m.rng, 8)
        return body + tckimlik.calc_check_digits(body)

    return m.fresh(one, tckimlik.is_valid), "tckn"


def make_ca_sin(m: Maker, locale: str, ctx: bool):
    def one() -> str:
        body = m.rng.choice("1234567") + _digits(m.rng, 7)
        return body + luhn.calc_check_digit(body)

    value = m.fresh(one, sin.is_valid)
    style = m.pick("spaced", "dashed", "bare") if ctx else m.pick("spaced", "dashed")
    return ({"spaced": _group(value, (3, 3, 3)), "dashed": _group(value, (3, 3, 3), "-"), "bare": value}[style]), style


SPECS: list[Spec] = [
    Spec("EMAIL_ADDRESS", make_email, ("email", "contact_email", "emailAddress", "e_mail", "reply_to", "correo", "courriel"),
         ("email", "e-mail", "E-Mail-Adresse", "adresse e-mail", "correo electrónico", "indirizzo email", "e-mailadres", "adres e-mail", "メールアドレス")),
    Spec("PHONE_NUMBER", make_phone, ("phone", "mobile", "tel", "phoneNumber", "telefon", "telefono", "telefone", "mobile_number"),
         ("phone", "mobile", "Telefon", "téléphone", "teléfono", "telefono", "telefoon", "numer telefonu", "telefone", "電話番号")),
    Spec("CREDIT_CARD", make_card, ("card_number", "cardNumber", "cc_number", "pan", "credit_card"),
         ("card number", "credit card", "Kreditkartennummer", "numéro de carte", "número de tarjeta", "Visa", "Mastercard")),
    Spec("IBAN_CODE", make_iban, ("iban", "bank_account", "ibanNumber", "account_iban"), ("IBAN", "bank account", "Bankverbindung", "IBAN du compte")),
    Spec("US_SSN", make_ssn, ("ssn", "social_security_number", "socialSecurityNumber"), ("SSN", "Social Security number"), ssn.is_valid),
    Spec("US_ITIN", make_itin, ("itin", "taxpayer_id", "itin_number"), ("ITIN", "taxpayer identification number"), itin.is_valid),
    Spec("IP_ADDRESS", make_ip, ("ip", "client_ip", "remote_addr", "ip_address", "last_login_ip"), ("IP address", "client IP", "from IP")),
    Spec("MAC_ADDRESS", make_mac, ("mac", "mac_address", "hwaddr", "macAddress"), ("MAC address", "hardware address")),
    Spec("UK_NHS", make_nhs, ("nhs_number", "nhsNumber", "nhs_no"), ("NHS number", "NHS no."), nhs.is_valid),
    Spec("UK_NINO", make_nino, ("ni_number", "nino", "national_insurance_number"), ("National Insurance number", "NI number"), nino_valid),
    Spec("DATE_TIME", make_dob, ("dob", "date_of_birth", "birth_date", "birthDate", "geburtsdatum", "date_naissance", "fecha_nacimiento", "data_nascita"),
         ("date of birth", "born on", "Geburtsdatum", "né le", "fecha de nacimiento", "data di nascita", "geboortedatum", "data urodzenia", "data de nascimento", "生年月日"),
         structured=False, needs_context=True),
    Spec("CRYPTO", make_crypto, ("wallet", "btc_address", "eth_address", "walletAddress", "payout_address"), ("wallet", "bitcoin address", "ETH wallet"),
         structured=False),
    Spec("URL", make_url, ("database_url", "dsn", "DATABASE_URL", "broker_url", "connection_string"), ("connection string", "DSN"), structured=False),
    Spec("VIN", make_vin, ("vin", "vehicle_vin", "vehicleIdentificationNumber"), ("VIN", "vehicle identification number", "Fahrgestellnummer"),
         vin_valid, structured=False),
    # regional national numbers
    Spec("DE_TAX_ID", make_de_tax, ("steuer_id", "steuerid", "steuerIdentifikationsnummer", "tax_id"), ("Steuer-ID", "Steueridentifikationsnummer", "steuerliche Identifikationsnummer"),
         idnr.is_valid, aliases=("DE_IDNR", "DE_STEUER_ID"), validators=("stdnum.de.idnr",), needs_context=True),
    Spec("FR_NIR", make_fr_nir, ("nir", "numero_securite_sociale", "num_secu", "insee"), ("numéro de sécurité sociale", "NIR", "n° de sécu"),
         nir.is_valid, aliases=("FR_SSN", "FR_INSEE"), validators=("stdnum.fr.nir",)),
    Spec("ES_NIF", make_es_dni, ("dni", "nif", "documento_identidad"), ("DNI", "NIF", "documento nacional de identidad"), dni.is_valid,
         aliases=("ES_DNI",), validators=("stdnum.es.dni", "stdnum.es.nif")),
    Spec("ES_NIE", make_es_nie, ("nie", "numero_extranjero"), ("NIE", "número de identidad de extranjero"), nie.is_valid,
         validators=("stdnum.es.nie",)),
    Spec("IT_FISCAL_CODE", make_it_cf, ("codice_fiscale", "codiceFiscale", "cf"), ("codice fiscale", "C.F."), codicefiscale.is_valid,
         validators=("stdnum.it.codicefiscale",)),
    Spec("NL_BSN", make_nl_bsn, ("bsn", "burgerservicenummer", "bsn_nummer"), ("BSN", "burgerservicenummer"), bsn.is_valid,
         validators=("stdnum.nl.bsn",), needs_context=True),
    Spec("PL_PESEL", make_pl_pesel, ("pesel", "numer_pesel"), ("PESEL", "numer PESEL"), pesel.is_valid, validators=("stdnum.pl.pesel",), needs_context=True),
    Spec("SE_PERSONNUMMER", make_se_pnr, ("personnummer", "personal_number"), ("personnummer",), personnummer.is_valid,
         aliases=("SE_PERSONAL_NUMBER", "SE_PNR"), validators=("stdnum.se.personnummer",), needs_context=True),
    Spec("FI_HETU", make_fi_hetu, ("hetu", "henkilotunnus"), ("henkilötunnus", "HETU"), hetu.is_valid,
         aliases=("FI_PERSONAL_IDENTITY_CODE", "FI_PIC"), validators=("stdnum.fi.hetu",)),
    Spec("NO_FODSELSNUMMER", make_no_fnr, ("fodselsnummer", "fnr"), ("fødselsnummer",), fodselsnummer.is_valid,
         aliases=("NO_FNR", "NO_BIRTH_NUMBER"), validators=("stdnum.no.fodselsnummer",), needs_context=True),
    Spec("IE_PPS", make_ie_pps, ("ppsn", "pps_number"), ("PPS number", "PPSN"), pps.is_valid, aliases=("IE_PPSN",), validators=("stdnum.ie.pps",), needs_context=True),
    Spec("PT_NIF", make_pt_nif, ("nif_pt", "numero_contribuinte", "contribuinte"), ("número de contribuinte", "NIF"), pt_nif.is_valid,
         validators=("stdnum.pt.nif",), needs_context=True),
    Spec("CH_AHV", make_ch_ahv, ("ahv", "ahv_nummer", "avs"), ("AHV-Nummer", "numéro AVS"), ch_ssn.is_valid, aliases=("CH_SSN", "CH_AHV_NUMBER"),
         validators=("stdnum.ch.ssn",)),
    Spec("BE_NATIONAL_NUMBER", make_be_nn, ("rijksregisternummer", "numero_national", "national_number", "insz"),
         ("rijksregisternummer", "numéro de registre national", "national number"), nn.is_valid,
         aliases=("BE_NN", "BE_NATIONAL_ID"), validators=("stdnum.be.nn", "stdnum.be.ssn")),
    Spec("AT_SVNR", make_at_svnr, ("svnr", "sozialversicherungsnummer", "vsnr"), ("Sozialversicherungsnummer", "SV-Nummer"), vnr.is_valid,
         aliases=("AT_SOCIAL_SECURITY",), validators=("stdnum.at.vnr",), needs_context=True),
    Spec("CL_RUT", make_cl_rut, ("rut", "run", "rut_cliente"), ("RUT", "rol único tributario"), rut.is_valid, validators=("stdnum.cl.rut",)),
    Spec("BR_CPF", make_br_cpf, ("cpf", "cpf_cliente"), ("CPF",), cpf.is_valid, validators=("stdnum.br.cpf",)),
    Spec("MX_CURP", make_mx_curp, ("curp",), ("CURP",), curp.is_valid, validators=("stdnum.mx.curp",)),
    Spec("IN_AADHAAR", make_in_aadhaar, ("aadhaar", "aadhaar_number", "aadhar_no"), ("Aadhaar", "Aadhaar number"), aadhaar.is_valid,
         validators=("stdnum.in_.aadhaar",), needs_context=True),
    Spec("IN_PAN", make_in_pan, ("pan_number", "pan_card", "panNo"), ("PAN", "PAN card"), pan.is_valid, validators=("stdnum.in_.pan",)),
    Spec("SG_NRIC_FIN", make_sg_nric, ("nric", "nric_fin", "fin_no"), ("NRIC", "FIN"), nric_valid),
    Spec("AU_TFN", make_au_tfn, ("tfn", "tax_file_number"), ("TFN", "tax file number"), tfn.is_valid, validators=("stdnum.au.tfn",), needs_context=True),
    Spec("AU_MEDICARE", make_au_medicare, ("medicare", "medicare_number"), ("Medicare card number", "Medicare number"), medicare_valid, needs_context=True),
    Spec("CN_RESIDENT_ID", make_cn_ric, ("id_card", "resident_id", "shenfenzheng"), ("身份证号码", "resident identity card number"), ric.is_valid,
         aliases=("CN_RIC", "CN_ID"), validators=("stdnum.cn.ric",)),
    Spec("KR_RRN", make_kr_rrn, ("rrn", "jumin_number", "resident_registration_number"), ("주민등록번호", "resident registration number"), rrn.is_valid,
         validators=("stdnum.kr.rrn",)),
    Spec("JP_MY_NUMBER", make_jp_my_number, ("my_number", "kojin_bango"), ("マイナンバー", "個人番号", "My Number"), jp_in.is_valid,
         aliases=("JP_INDIVIDUAL_NUMBER",), validators=("stdnum.jp.in_",), needs_context=True),
    Spec("ZA_ID", make_za_id, ("sa_id_number", "za_id", "identity_number"), ("South African ID number", "ID number"), za_idnr.is_valid,
         aliases=("ZA_ID_NUMBER", "ZA_IDNR"), validators=("stdnum.za.idnr",), needs_context=True),
    Spec("IL_ID", make_il_id, ("teudat_zehut", "mispar_zehut", "israeli_id"), ("teudat zehut", "מספר זהות"), il_idnr.is_valid,
         aliases=("IL_ID_NUMBER", "IL_IDNR"), validators=("stdnum.il.idnr",), needs_context=True),
    Spec("TR_TC_KIMLIK", make_tr_tckn, ("tc_kimlik_no", "tckn", "kimlik_no"), ("T.C. Kimlik No", "TC kimlik numarası"), tckimlik.is_valid,
         aliases=("TR_TCKN", "TR_ID"), validators=("stdnum.tr.tckimlik",), needs_context=True),
    Spec("CA_SIN", make_ca_sin, ("sin", "social_insurance_number", "sin_number"), ("SIN", "social insurance number", "numéro d'assurance sociale"),
         sin.is_valid, validators=("stdnum.ca.sin",), needs_context=True),
]
SPEC_BY_ENTITY = {s.entity: s for s in SPECS}

# --------------------------------------------------------------------------- negatives and test data

NEUTRAL_KEYS = ("value", "ref", "data", "field_7", "item", "x", "payload_id", "col")


def _well_known(m: Maker) -> tuple[str, str, str]:
    """(entity, value, keys) of a well-known test value; assembled so this file holds none."""
    choice = m.rng.randint(0, 4)
    if choice == 0:
        domain = m.pick("example" + ".com", "example" + ".org", "mail.example" + ".net")
        return "EMAIL_ADDRESS", f"{m.fake['en_US'].user_name()}@{domain}", "email"
    if choice == 1:
        return "PHONE_NUMBER", f"+1 {m.rng.randint(201, 989)}-" + "555" + f"-01{m.rng.randint(0, 99):02d}", "phone"
    if choice == 2:
        return "PHONE_NUMBER", f"({m.rng.randint(201, 989)}) " + "555" + f"-01{m.rng.randint(0, 99):02d}", "phone"
    if choice == 3:
        head, tail = m.pick(("41", "11"), ("42", "42"), ("55", "55"))
        groups = [head + tail] + [tail * 2] * 2 + [tail * 2 if head != "55" else "4444"]
        return "CREDIT_CARD", " ".join(groups), "card_number"
    return "US_SSN", "-".join(["987", "65", "432" + str(m.rng.randint(0, 9))]), "ssn"


def _corrupt(m: Maker, value: str, is_valid: Callable[[str], bool]) -> str:
    """The same value with its last digit (or letter) changed so that its check fails."""
    for i in range(len(value) - 1, -1, -1):
        if value[i].isalnum():
            pool = string.digits if value[i].isdigit() else string.ascii_uppercase
            for c in m.rng.sample(pool, len(pool)):
                candidate = value[:i] + c + value[i + 1:]
                if c != value[i] and not is_valid(candidate.replace(" ", "")) and not is_valid(candidate):
                    return candidate
            return ""
    return ""


NEGATIVE_KEYS = {
    "uuid": ("request_id", "trace_id", "uuid", "session_id", "id"),
    "git-sha": ("commit", "sha", "revision", "git_sha"),
    "sha256": ("sha256", "checksum", "digest", "integrity"),
    "version": ("version", "app_version", "build", "release"),
    "timestamp": ("created_at", "updated_at", "timestamp", "ts"),
    "date-not-birth": ("created", "shipped_on", "release_date", "expires", "valid_until"),
    "order-id": ("order_id", "invoice_no", "order_number", "booking_ref", "ticket"),
    "luhn-invalid-16": ("card_number", "reference", "tracking_number", "card"),
    "invalid-iban": ("iban", "bank_account"),
    "invalid-national-id": (),  # the spec's own keys
    "doc-ip": ("server", "host", "bind_address", "nameserver", "upstream"),
    "port": ("port", "listen_port", "db_port"),
    "hex-colour": ("color", "background", "border_color"),
    "base64": ("avatar", "payload", "signature", "blob"),
    "epoch": ("ts", "epoch", "last_seen"),
    "float": ("ratio", "score", "lat", "weight"),
}


def make_negative(m: Maker, kind: str) -> tuple[str, str, str]:
    """(value, key, spec entity or "") of a look-alike of the given class."""
    r = m.rng
    if kind == "uuid":
        h = r.randbytes(16).hex()
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{r.choice('89ab')}{h[17:20]}-{h[20:]}", "", ""
    if kind == "git-sha":
        return r.randbytes(20).hex()[: r.choice((7, 12, 40, 40))], "", ""
    if kind == "sha256":
        return r.randbytes(32).hex(), "", ""
    if kind == "version":
        parts = [r.randint(0, 20), r.randint(0, 40), r.randint(0, 300)] + ([r.randint(1, 9999)] if r.random() < 0.5 else [])
        text = ".".join(map(str, parts))
        return (text + m.pick("", "", "-beta.1", "-rc.2", "+build.7")), "", ""
    if kind == "timestamp":
        moment = _birth(r, 2015, 2025)
        return f"{moment.isoformat()}{m.pick('T', ' ')}{r.randint(0, 23):02d}:{r.randint(0, 59):02d}:{r.randint(0, 59):02d}{m.pick('Z', '.123Z', '+02:00', '')}", "", ""
    if kind == "date-not-birth":
        moment = _birth(r, 1980, 2025)
        return m.pick(moment.isoformat(), moment.strftime("%d/%m/%Y"), moment.strftime("%d.%m.%Y")), "", ""
    if kind == "order-id":
        return m.pick(f"ORD-{r.randint(2019, 2025)}-{r.randint(0, 9999999):07d}", f"{r.randint(100000000, 999999999)}",
                      f"INV{r.randint(10**9, 10**10 - 1)}", f"#{r.randint(10**5, 10**8)}"), "", ""
    if kind == "luhn-invalid-16":
        digits = m.pick("4", "5") + _digits(r, 15)
        if luhn.is_valid(digits):
            digits = digits[:-1] + str((int(digits[-1]) + 1) % 10)
        return m.pick(digits, _group(digits, (4, 4, 4, 4)), _group(digits, (4, 4, 4, 4), "-")), "", ""
    if kind == "invalid-iban":
        good, _ = make_iban(m, m.pick(*IBAN_LOCALES), True)
        return _corrupt(m, good, iban.is_valid), "", "IBAN_CODE"
    if kind == "invalid-national-id":
        spec = r.choice([s for s in SPECS if s.is_valid is not None])
        good, _ = spec.make(m, m.pick(*LOCALES), True)
        return _corrupt(m, good, spec.is_valid), "", spec.entity
    if kind == "doc-ip":
        return m.pick(f"192.0.2.{r.randint(1, 254)}", f"198.51.100.{r.randint(1, 254)}", f"203.0.113.{r.randint(1, 254)}",
                      "127.0.0.1", "0.0.0.0", "::1", f"2001:db8::{r.randint(1, 0xffff):x}", "localhost"), "", ""
    if kind == "port":
        return str(m.pick(22, 80, 443, 3306, 5432, 6379, 8080, 8443, 9200, 27017, r.randint(1024, 65535))), "", ""
    if kind == "hex-colour":
        return "#" + r.randbytes(3).hex(), "", ""
    if kind == "base64":
        return base64.b64encode(r.randbytes(r.randint(24, 90))).decode(), "", ""
    if kind == "epoch":
        return str(r.randint(1_500_000_000, 1_750_000_000) * m.pick(1, 1000)), "", ""
    if kind == "float":
        return f"{r.random():.{r.randint(8, 17)}f}", "", ""
    raise ValueError(kind)


# --------------------------------------------------------------------------- documents


@dataclass
class Item:
    kind: str  # pii | test_data | negative
    entity: str  # canonical entity (pii/test_data), or the spec a corrupted id imitates
    value: str
    key: str  # word that names it ("" = none)
    note: str = ""


@dataclass
class Doc:
    """Text built piece by piece, remembering where values and their naming words went."""

    name: str
    parts: list[str] = field(default_factory=list)
    size: int = 0
    spans: list[tuple[int, int, Item]] = field(default_factory=list)
    key_spans: list[tuple[int, int, str]] = field(default_factory=list)  # (start, end, entity)

    def text(self, s: str) -> None:
        self.parts.append(s)
        self.size += len(s)

    def key(self, s: str, item: Item | None) -> None:
        # Only a word that really names the value counts: a neutral key ("ref") is no context.
        if item is not None and item.kind == "pii" and item.key:
            self.key_spans.append((self.size, self.size + len(s), item.entity))
        self.text(s)

    def value(self, item: Item) -> None:
        self.spans.append((self.size, self.size + len(item.value), item))
        self.text(item.value)

    def emit(self, template: str, item: Item, key: str | None = None) -> None:
        """template with {k} (the naming word) and {v} (the value) in it."""
        for piece in re.split(r"(\{[kv]\})", template):
            if piece == "{k}":
                self.key(item.key if key is None else key, item)
            elif piece == "{v}":
                self.value(item)
            elif piece:
                self.text(piece)

    def sample(self) -> Sample:
        text = "".join(self.parts)
        labels = []
        for start, end, item in self.spans:
            if item.kind != "pii":
                labels.append(Label(start, end, item.entity if item.kind == "test_data" else "", "", item.kind, item.note))
                continue
            near = any(e == item.entity and ks < end + CONTEXT_AFTER and ke > start - CONTEXT_BEFORE
                       for ks, ke, e in self.key_spans)
            # "far": the value was named (a CSV header, an SQL column list) but out of reach.
            labels.append(Label(start, end, item.entity, "near" if near else "far" if item.key else "none", "pii", item.note))
        return Sample(self.name, text, labels)


def _code_key(key: str, style: str) -> str:
    words = re.split(r"[_\s-]+", re.sub(r"([a-z])([A-Z])", r"\1_\2", key))
    words = [w for w in words if w]
    if style == "camel":
        return words[0].lower() + "".join(w.capitalize() for w in words[1:])
    if style == "pascal":
        return "".join(w.upper() if w.lower() in ("ip", "ssn", "vin", "mac", "id") else w.capitalize() for w in words)
    if style == "upper":
        return "_".join(w.upper() for w in words)
    return "_".join(w.lower() for w in words)


PROSE_NEAR = {
    "en": ["{name}'s {k} is {v}.", "Please update the {k} to {v} before Friday.", "The {k} on file for {name} ({v}) was confirmed.",
           "{name} sent a new {k}: {v}"],
    "de": ["{name} hat als {k} {v} angegeben.", "Die {k} von {name} lautet {v}.", "Bitte {k} {v} im System korrigieren."],
    "fr": ["{k} de {name} : {v}", "Merci de mettre à jour le {k} ({v}) de {name}."],
    "es": ["El {k} de {name} es {v}.", "Actualizar {k}: {v} (cliente {name})."],
    "it": ["{k} di {name}: {v}", "Il cliente {name} ha comunicato {k} {v}."],
    "nl": ["{k} van {name}: {v}", "Graag {k} {v} controleren."],
    "pl": ["{k} klienta {name}: {v}", "Prosimy o weryfikację: {k} {v}."],
    "pt": ["{k} de {name}: {v}", "O cliente {name} informou {k} {v}."],
    "ja": ["{name}さんの{k}は{v}です。", "{k}：{v}（{name}）"],
}
PROSE_NONE = ["Forwarded by {name}: {v}", "See {v} in the attached sheet.", "{name} wrote back with {v} this morning.",
              "Ticket {n} — {v}", "Copied from the form: {v}"]
LOG_LEVELS = ("INFO", "DEBUG", "WARN", "INFO")
FILLER_CODE = {
    "py": ["import logging", "from datetime import datetime", "", "log = logging.getLogger(__name__)", "RETRIES = 3",
           "def _normalise(row: dict) -> dict:", "    return {k.strip(): v for k, v in row.items()}", "# keep in step with the API schema"],
    "js": ["import { describe, it, expect } from 'vitest';", "const TIMEOUT_MS = 4000;", "// fixtures for the checkout flow",
           "export function byId(list, id) { return list.find((x) => x.id === id); }"],
    "go": ["package customers", "import (\n\t\"testing\"\n\t\"time\"\n)", "// fixtures for the repository tests", "const pageSize = 50"],
}


class Composer:
    """Fills documents with items drawn from shuffled decks, so every entity gets its share."""

    def __init__(self, m: Maker) -> None:
        self.m = m
        self.decks: dict[str, list[str]] = {}

    def draw(self, deck: str, cards: list[str]) -> str:
        pile = self.decks.setdefault(deck, [])
        if not pile:
            pile.extend(cards)
            self.m.rng.shuffle(pile)
        return pile.pop()

    def item(self, locale: str, taken: set[str]) -> Item:
        m, r = self.m, self.m.rng
        roll = r.random()
        if roll < 0.62:
            for _ in range(8):
                entity = self.draw("pii", [s.entity for s in SPECS])
                if entity not in taken:
                    break
            spec = SPEC_BY_ENTITY[entity]
            with_context = spec.needs_context or r.random() < 0.75
            value, note = spec.make(m, locale, with_context)
            key = r.choice(spec.keys) if with_context else ""
            return Item("pii", entity, value, key, note)
        if roll < 0.68:
            entity, value, key = _well_known(m)
            return Item("test_data", entity, value, key, "well-known")
        kind = self.draw("neg", list(NEGATIVE_KEYS))
        value, _, imitated = make_negative(m, kind)
        if not value:
            return self.item(locale, taken)
        keys = SPEC_BY_ENTITY[imitated].keys if kind == "invalid-national-id" else NEGATIVE_KEYS[kind]
        note = f"{kind}:{imitated}" if imitated and kind == "invalid-national-id" else kind
        key = r.choice(keys) if r.random() < 0.8 else ""
        return Item("negative", imitated, value, key, note)

    def record(self, locale: str) -> list[Item]:
        items, taken = [], set()
        for _ in range(self.m.rng.randint(2, 5)):
            it = self.item(locale, taken)
            taken.add(it.entity)
            items.append(it)
        # One name per key in a record, as in a real dict or row.
        seen: dict[str, int] = {}
        for it in items:
            if it.key:
                seen[it.key] = seen.get(it.key, 0) + 1
                if seen[it.key] > 1:
                    it.key = f"{it.key}_{seen[it.key]}"
        return items


def _key_or_neutral(m: Maker, it: Item) -> str:
    return it.key or m.rng.choice(NEUTRAL_KEYS)


def build_code(c: Composer, doc: Doc, locale: str, lang: str) -> None:
    m = c.m
    style = {"py": "snake", "js": "camel", "go": "pascal"}[lang]
    filler = FILLER_CODE[lang]
    for line in m.rng.sample(filler, 3):
        doc.text(line + "\n")
    doc.text({"py": "\nFIXTURES = [\n", "js": "\nexport const fixtures = [\n", "go": "\nvar fixtures = []Customer{\n"}[lang])
    for _ in range(m.rng.randint(2, 6)):
        name = m.fake[locale].name()
        doc.text({"py": f'    {{\n        "name": "{name}",\n', "js": f'  {{\n    name: "{name}",\n', "go": f'\t{{\n\t\tName: "{name}",\n'}[lang])
        for it in c.record(locale):
            key = _code_key(_key_or_neutral(m, it), style)
            if m.rng.random() < 0.12 and lang != "go":
                comment = "#" if lang == "py" else "//"
                doc.emit(f"        {comment} {{k}}: {{v}}\n", it, key)
            elif lang == "py":
                doc.emit('        "{k}": "{v}",\n', it, key)
            elif lang == "js":
                doc.emit("    {k}: '{v}',\n" if m.rng.random() < 0.5 else '    {k}: "{v}",\n', it, key)
            else:
                doc.emit('\t\t{k}: "{v}",\n', it, key)
        doc.text({"py": "    },\n", "js": "  },\n", "go": "\t},\n"}[lang])
    doc.text({"py": "]\n", "js": "];\n", "go": "}\n"}[lang])


def build_config(c: Composer, doc: Doc, locale: str, fmt: str) -> None:
    m = c.m
    if fmt == "yaml":
        doc.text("# seeded accounts for staging\nusers:\n")
    elif fmt == "json":
        doc.text('{\n  "users": [\n')
    else:
        doc.text("# local overrides, do not commit\nAPP_ENV=staging\nLOG_LEVEL=debug\n")
    records = m.rng.randint(2, 5)
    for n in range(records):
        name = m.fake[locale].name()
        if fmt == "yaml":
            doc.text(f"  - name: {name}\n")
        elif fmt == "json":
            doc.text(f'    {{\n      "name": "{name}",\n')
        items = c.record(locale)
        for i, it in enumerate(items):
            key = _key_or_neutral(m, it)
            if fmt == "yaml":
                doc.emit("    {k}: '{v}'\n" if m.rng.random() < 0.3 else "    {k}: {v}\n", it, _code_key(key, "snake"))
            elif fmt == "json":
                doc.emit('      "{k}": "{v}"' + ("," if i < len(items) - 1 else "") + "\n", it, _code_key(key, "camel"))
            else:
                doc.emit("{k}={v}\n" if m.rng.random() < 0.7 else '{k}="{v}"\n', it, f"USER{n}_" + _code_key(key, "upper"))
        if fmt == "json":
            doc.text("    }" + ("," if n < records - 1 else "") + "\n")
    if fmt == "json":
        doc.text("  ]\n}\n")


def build_log(c: Composer, doc: Doc, locale: str) -> None:
    m, r = c.m, c.m.rng
    moment = _birth(r, 2023, 2025)
    for _ in range(r.randint(3, 8)):
        stamp = f"{moment.isoformat()} {r.randint(0, 23):02d}:{r.randint(0, 59):02d}:{r.randint(0, 59):02d},{r.randint(0, 999):03d}"
        svc = m.pick("api", "billing", "auth", "worker-3", "sync")
        for it in c.record(locale):
            head = f"{stamp} {m.pick(*LOG_LEVELS):5} [{svc}] "
            if it.key:
                doc.emit(head + m.pick("updated {k}={v} user_id=" + str(r.randint(1, 99999)), "{k} changed to {v}",
                                       "validation ok: {k}='{v}'") + "\n", it, _code_key(it.key, "snake"))
            else:
                doc.emit(head + m.pick("processed {v} in 12ms", "retrying {v} (attempt 2)", "queued {v}") + "\n", it)
        doc.text(f"{stamp} INFO  [{svc}] done in {r.randint(3, 900)}ms\n")


def build_prose(c: Composer, doc: Doc, locale: str) -> None:
    m, r = c.m, c.m.rng
    lang = LANGUAGE.get(locale, "en")
    for _ in range(r.randint(2, 4)):
        doc.text(m.fake[locale].sentence() + " ")
        for it in c.record(locale):
            name = m.fake[locale].name()
            if it.key:
                spec = SPEC_BY_ENTITY.get(it.entity)
                phrase = r.choice(spec.phrases) if spec and it.kind != "negative" else it.key.replace("_", " ")
                template = r.choice(PROSE_NEAR[lang] if r.random() < 0.7 else PROSE_NEAR["en"])
                doc.emit(template.replace("{name}", name) + " ", it, phrase)
            else:
                doc.emit(r.choice(PROSE_NONE).replace("{name}", name).replace("{n}", f"#{r.randint(100, 9999)}") + " ", it)
        doc.text("\n\n")


def build_csv(c: Composer, doc: Doc, locale: str) -> None:
    """A table whose header row is the only thing naming each column."""
    m, r = c.m, c.m.rng
    columns = r.sample([s for s in SPECS if s.entity != "DATE_TIME"], r.randint(2, 4))
    negatives = r.sample(["uuid", "order-id", "timestamp", "version", "float", "luhn-invalid-16"], r.randint(1, 2))
    header = ["id", "name"] + [_code_key(r.choice(s.keys), "snake") for s in columns] + [r.choice(NEGATIVE_KEYS[n]) for n in negatives]
    sep = m.pick(",", ";", "\t")
    keyed = [Item("pii", s.entity, "", name) for s, name in zip(columns, header[2:])]
    doc.text(f"id{sep}name")
    for i, name in enumerate(header[2:]):
        doc.text(sep)
        doc.key(name, keyed[i] if i < len(keyed) else None)
    doc.text("\n")
    for row in range(r.randint(4, 14)):
        doc.text(f"{r.randint(1000, 99999)}{sep}{m.fake[locale].name()}")
        for s, named in zip(columns, keyed):
            value, note = s.make(m, locale, True)
            doc.text(sep)
            doc.value(Item("pii", s.entity, value, named.key, note))
        for n in negatives:
            value, _, _ = make_negative(m, n)
            doc.text(sep)
            doc.value(Item("negative", "", value, "", n))
        doc.text("\n")


def build_sql(c: Composer, doc: Doc, locale: str) -> None:
    m, r = c.m, c.m.rng
    doc.text("-- seed data for the staging database\nBEGIN;\n")
    for _ in range(r.randint(2, 6)):
        items = c.record(locale)
        doc.text("INSERT INTO customers (id, full_name")
        for it in items:
            doc.text(", ")
            doc.key(_code_key(_key_or_neutral(m, it), "snake"), it)
        doc.text(f") VALUES ({r.randint(1, 99999)}, '{m.fake[locale].name().replace(chr(39), ' ')}'")
        for it in items:
            doc.text(", '")
            doc.value(it)
            doc.text("'")
        doc.text(");\n")
    doc.text("COMMIT;\n")


KINDS = [("py", 3), ("js", 2), ("go", 1), ("yaml", 2), ("json", 2), ("env", 1), ("log", 3), ("md", 3), ("csv", 2), ("sql", 1)]
EXTENSIONS = {"py": "py", "js": "test.js", "go": "_test.go", "yaml": "yaml", "json": "json", "env": "env", "log": "log",
              "md": "md", "csv": "csv", "sql": "sql"}


def generate(seed: int, size: str = "default") -> list[Sample]:
    """Labelled documents for one seed; `size` is tiny, quick or default."""
    m = Maker(seed)
    composer = Composer(m)
    kinds = [k for k, weight in KINDS for _ in range(weight)]
    samples = []
    for n in range(SIZES[size]):
        kind, locale = m.rng.choice(kinds), m.rng.choice(LOCALES)
        doc = Doc(f"gen/{seed}/{n:04d}_{locale}.{EXTENSIONS[kind]}".replace("._", "_"))
        if kind in ("py", "js", "go"):
            build_code(composer, doc, locale, kind)
        elif kind in ("yaml", "json", "env"):
            build_config(composer, doc, locale, kind)
        elif kind == "log":
            build_log(composer, doc, locale)
        elif kind == "md":
            build_prose(composer, doc, locale)
        elif kind == "csv":
            build_csv(composer, doc, locale)
        else:
            build_sql(composer, doc, locale)
        samples.append(doc.sample())
    return samples
