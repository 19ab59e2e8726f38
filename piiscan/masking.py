"""Masking a found value for display: enough to recognise it, not enough to use it.

Reports and error messages show `mask_value(...)`; the raw value only with --show-values.
"""

from __future__ import annotations

MASK = "*"

# Entities whose last four characters are customarily shown (receipts, bank statements).
_LAST_FOUR = frozenset(
    {"CREDIT_CARD", "US_SSN", "US_ITIN", "PHONE_NUMBER", "IBAN_CODE", "US_BANK_NUMBER", "UK_NHS"}
)


def mask_value(entity: str, value: str) -> str:
    """`jane.doe@acme.net` -> `j***@acme.net`; `536-22-1234` -> `***-**-1234`; others -> stars.

    Separators (anything not a letter or digit) are kept so the shape stays readable.
    """
    if entity == "EMAIL_ADDRESS" and "@" in value:
        local, _, domain = value.rpartition("@")
        return (local[:1] + MASK * 3 if local else "") + "@" + domain
    if entity == "URL" and "@" in value:
        # scheme://user:password@host -> scheme://***:***@host
        head, _, host = value.rpartition("@")
        scheme, sep, _ = head.partition("://")
        return f"{scheme}{sep}{MASK * 3}:{MASK * 3}@{host}" if sep else f"{MASK * 3}@{host}"
    keep = 4 if entity in _LAST_FOUR and _alnum_count(value) >= 8 else 0
    return mask_alnum(value, keep_last=keep)


def _alnum_count(value: str) -> int:
    return sum(ch.isalnum() for ch in value)


def mask_alnum(value: str, keep_last: int) -> str:
    out = []
    kept = 0
    for ch in reversed(value):
        if ch.isalnum():
            if kept < keep_last:
                out.append(ch)
                kept += 1
            else:
                out.append(MASK)
        else:
            out.append(ch)
    return "".join(reversed(out))


def mask_spans(text: str, spans) -> str:
    """`text` with each (start, end, entity, value) span masked by `mask_value`, in one pass.
    Spans may overlap: the first (in start order) is masked whole, the part of a later one
    past it with its separators kept (a part has no entity)."""
    masked, pos = [], 0
    for start, end, entity, value in sorted(spans):
        if max(start, pos) >= end:
            continue
        if start >= pos:
            masked.append(text[pos:start])
            masked.append(mask_value(entity, value))
        else:
            masked.append(mask_alnum(value[pos - start :], keep_last=0))
        pos = end
    masked.append(text[pos:])
    return "".join(masked)
