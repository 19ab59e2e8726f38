"""The JSON reporter: the machine-readable contract of DESIGN.md ("Findings (JSON contract)").

Key order is fixed by construction (dicts keep insertion order), so the same result always
gives the same bytes, apart from `stats.seconds`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TextIO

import piiscan
from piiscan.model import Finding, Rule, ScanResult, Skipped
from piiscan.report import json_array, write_json


def finding_to_dict(finding: Finding, *, show_values: bool = False) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "rule_id": finding.rule_id,
        "entity": finding.entity,
        "path": finding.path,
        "start": finding.start,
        "end": finding.end,
        "line": finding.line,
        "column": finding.column,
        "end_line": finding.end_line,
        "end_column": finding.end_column,
        "confidence": round(finding.confidence, 3),
        "severity": finding.severity.value,
        "category": finding.category.value,
        "test_data": finding.test_data,
        "snippet": finding.raw_snippet if show_values else finding.snippet,
        "fingerprint": finding.fingerprint,
    }
    if finding.commit:
        entry["commit"] = finding.commit
    if finding.commit_date:
        entry["commit_date"] = finding.commit_date
    if show_values:
        entry["value"] = finding.value
    return entry


def skipped_to_dict(skipped: Skipped) -> dict[str, Any]:
    entry: dict[str, Any] = {"path": skipped.path, "reason": skipped.reason.value}
    if skipped.detail:
        entry["detail"] = skipped.detail
    return entry


def to_dict(result: ScanResult, *, show_values: bool = False) -> dict[str, Any]:
    return _document(result, show_values, lazily=False)


def _document(result: ScanResult, show_values: bool, *, lazily: bool) -> dict[str, Any]:
    stats = result.stats

    def entry(finding: Finding) -> dict[str, Any]:
        return finding_to_dict(finding, show_values=show_values)

    return {
        "version": piiscan.__version__,
        "findings": json_array(result.findings, entry, lazily=lazily),
        "skipped": [skipped_to_dict(s) for s in result.skipped],
        "stats": {
            "files_scanned": stats.files_scanned,
            "files_skipped": stats.files_skipped,
            "bytes_scanned": stats.bytes_scanned,
            "seconds": round(float(stats.seconds), 3),
        }
        # Beyond DESIGN.md's contract, so only present when something was suppressed.
        | ({"suppressed": stats.suppressed} if stats.suppressed else {}),
    } | (
        {"unused_ignores": [_unused_to_dict(u) for u in result.unused_ignores]}
        if result.unused_ignores
        else {}
    )


def _unused_to_dict(unused) -> dict[str, Any]:
    entry: dict[str, Any] = {"path": unused.path, "line": unused.line}
    if unused.rules is not None:
        entry["rules"] = sorted(unused.rules)
    return entry


def write(
    result: ScanResult,
    stream: TextIO,
    *,
    rules: Sequence[Rule] = (),
    show_values: bool = False,
) -> None:
    # `rules` is accepted for a uniform reporter signature; the JSON contract carries no
    # rule metadata beyond what each finding already holds.
    del rules
    write_json(_document(result, show_values, lazily=True), stream)
