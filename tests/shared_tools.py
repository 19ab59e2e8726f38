"""Where the shared SARIF schema and validator are.

The project's `shared/` folder sits beside the repository on CI and on developer machines;
a plain clone has copies under tests/ (taken from shared/, refreshed by hand when it
changes), so the suite passes from any fresh clone.
"""

from __future__ import annotations

from pathlib import Path

TESTS = Path(__file__).resolve().parent
_SHARED = TESTS.parent.parent / "shared"


def _prefer_shared(shared: Path, bundled: Path) -> Path:
    return shared if shared.exists() else bundled


SARIF_SCHEMA = _prefer_shared(
    _SHARED / "schemas" / "sarif-schema-2.1.0.json", TESTS / "data" / "sarif-schema-2.1.0.json"
)
VALIDATE_SARIF = _prefer_shared(
    _SHARED / "tools" / "validate-sarif", TESTS / "tools" / "validate-sarif"
)
