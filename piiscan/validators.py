"""Named validators that rules reference from YAML (`validator: luhn`).

A validator is a small pure function `(value: str) -> Verdict`:
VALID raises the candidate's confidence, INVALID drops it, UNKNOWN leaves it alone.
Register one with `@validator("name")`; an unknown name in a pack is a load error.
"""

from __future__ import annotations

from collections.abc import Callable

from piiscan.model import Verdict

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
