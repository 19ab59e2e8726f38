"""Bytes to text as piiscan reads every file, and back: which codec, which byte-order mark,
and whether bytes are binary. Pure functions, no I/O: sources decode what they read with
them, and the engine what a library caller hands it as bytes."""

from __future__ import annotations

import codecs

# Longest BOM first: the UTF-32 LE mark FF FE 00 00 begins with the UTF-16 LE mark FF FE.
BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
    (codecs.BOM_UTF8, "utf-8"),
)
_WIDE_ENCODINGS = frozenset({"utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"})


def decode_bytes(data: bytes) -> tuple[str, str, bytes]:
    """-> (text, encoding, bom).

    `bom + text.encode(encoding) == data` always holds, so a rewrite can be byte-exact.
    Order: a BOM whose codec decodes the rest strictly; then strict UTF-8; then latin-1, which
    decodes every byte. A BOM whose rest does not decode is not trusted (random binary data can
    start with FF FE); a UTF-8 BOM is kept in front of a latin-1 fallback so that the text does
    not start with mojibake. Newlines are left exactly as they are.
    """
    data = bytes(data)
    for bom, encoding in BOMS:
        if data.startswith(bom):
            try:
                return data[len(bom) :].decode(encoding), encoding, bom
            except UnicodeDecodeError:
                continue  # e.g. FF FE 00 00 that is UTF-16 LE text starting with U+0000
    try:
        return data.decode("utf-8"), "utf-8", b""
    except UnicodeDecodeError:
        pass
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8) :].decode("latin-1"), "latin-1", codecs.BOM_UTF8
    return data.decode("latin-1"), "latin-1", b""


def _is_wide_text(data: bytes) -> bool:
    """True when a UTF-16/32 BOM is present and the rest decodes with its codec."""
    for bom, encoding in BOMS:
        if encoding in _WIDE_ENCODINGS and data.startswith(bom):
            try:
                data[len(bom) :].decode(encoding)
            except UnicodeDecodeError:
                continue
            return True
    return False


def is_binary(data: bytes) -> bool:
    """ripgrep's rule: a NUL byte anywhere means binary, except in BOM-marked UTF-16/32 text."""
    return b"\x00" in data and not _is_wide_text(data)
