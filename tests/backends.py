"""The matching backends installed here: a test that runs rules on one runs them on each."""

from __future__ import annotations

from piiscan.hsdatabase import hyperscan_available

BACKENDS = ["regex"] + (["hyperscan"] if hyperscan_available() else [])
