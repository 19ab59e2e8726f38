"""Validators for the `apac` pack that python-stdnum does not provide.

Prefer `validator: stdnum.<country>.<number>` in the pack wherever stdnum has the check;
write one here only where it has none, with its own test.
"""

from __future__ import annotations

from piiscan.model import Verdict  # noqa: F401
from piiscan.validators import validator, verdict  # noqa: F401
