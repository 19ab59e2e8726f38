"""The SARIF 2.1.0 reporter, shaped for GitHub code scanning.

Checked against the OASIS schema and the SARIF multitool's "Sarif" and "Gh" rule kinds
(`shared/tools/validate-sarif`). Choices that are not obvious from the spec:

- Every loaded rule is listed in `tool.driver.rules`, so a clean run still tells code scanning
  which checks ran (and closes alerts whose rule produced nothing this time).
- `security-severity` takes a value in the middle of GitHub's band for the rule's severity,
  and every rule carries the `security` tag, without which GitHub ignores that score.
- Offsets are code points of the decoded text, hence `columnKind: unicodeCodePoints`.
- `partialFingerprints["piiscanFingerprint/v1"]` carries piiscan's own fingerprint, which
  never depends on an unkeyed value; GitHub then does not need to hash the source line.
- Region snippets are the masked excerpt unless the user asked for values: SARIF files are
  uploaded and archived, and a scanner must not copy what it finds into them.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path, PurePath
from typing import Any, TextIO
from urllib.parse import quote

import piiscan
from piiscan.model import Finding, Rule, ScanResult, Severity, Skipped
from piiscan.report import (
    base_folder, json_array, relative_inside, sentence, work_tree_root, write_json,
)

SCHEMA_URI = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
INFORMATION_URI = "https://github.com/piiscan/piiscan"
SRCROOT = "%SRCROOT%"
FINGERPRINT_KEY = "piiscanFingerprint/v1"
STDIN_URI = "stdin"

# GitHub's bands: critical 9.0-10.0, high 7.0-8.9, medium 4.0-6.9, low 0.1-3.9, none 0.0.
SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "2.0",
    Severity.INFO: "0.0",
}

LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "warning",
    Severity.INFO: "note",
}


def camel_case(name: str) -> str:
    """'US Social Security number' -> 'USSocialSecurityNumber' (acronyms kept as written)."""
    words = re.findall(r"[A-Za-z0-9]+", name)
    return "".join(w[0].upper() + w[1:] for w in words) or "Rule"


def precision(rule: Rule) -> str:
    """How often a finding of this rule is right, in GitHub's vocabulary."""
    if rule.validator:
        return "high"  # a checksum or format check confirms every match
    if rule.context_required:
        return "medium"  # a context word must stand near the match
    return "low"


def _rule_descriptor(rule: Rule) -> dict[str, Any]:
    description = sentence(rule.description or rule.name)
    facts = (
        f"Entity: {rule.entity}. Category: {rule.category.value}. "
        f"Severity: {rule.severity.value}. Rule pack: {rule.pack}."
    )
    markdown = (
        f"{description}\n\n"
        f"| entity | category | severity | rule pack |\n|---|---|---|---|\n"
        f"| `{rule.entity}` | {rule.category.value} | {rule.severity.value} | {rule.pack} |\n\n"
        "Remove the personal data, or replace it with an obviously fake value, "
        "and rewrite history if it was committed."
    )
    tags = list(dict.fromkeys((*rule.tags, "privacy", "security", rule.category.value)))
    return {
        "id": rule.id,
        "name": camel_case(rule.name),
        "shortDescription": {"text": sentence(rule.name)},
        "fullDescription": {"text": description},
        "help": {"text": f"{description} {facts}", "markdown": markdown},
        "defaultConfiguration": {"level": LEVEL[rule.severity]},
        "properties": {
            "tags": tags,
            "security-severity": SECURITY_SEVERITY[rule.severity],
            "precision": precision(rule),
        },
    }


def _unknown_rule_descriptor(finding: Finding) -> dict[str, Any]:
    # A finding whose rule was not passed in (e.g. from an NER adapter): code scanning
    # rejects a result without a rule, so describe it from the finding itself.
    text = sentence(f"{finding.entity} detected by {finding.rule_id}")
    return {
        "id": finding.rule_id,
        "name": camel_case(finding.rule_id.replace(".", " ").replace("-", " ")),
        "shortDescription": {"text": text},
        "fullDescription": {"text": text},
        "help": {"text": text, "markdown": text},
        "defaultConfiguration": {"level": LEVEL[finding.severity]},
        "properties": {
            "tags": ["privacy", "security", finding.category.value],
            "security-severity": SECURITY_SEVERITY[finding.severity],
            "precision": "medium",
        },
    }


def source_root(base_dir: str | None) -> str:
    """The folder URIs are relative to (%SRCROOT%): `base_dir`, else the top of the git work
    tree holding the current folder (GitHub reads URIs as relative to the repository's root,
    wherever in it piiscan ran), else the current folder."""
    if base_dir is not None:
        return base_folder(base_dir)
    here = base_folder(None)
    return work_tree_root(here) or here


def _quoted(path: str) -> str:
    # surrogateescape: a name undecodable on disk is percent-encoded as the bytes it has.
    return quote(path, safe="/", encoding="utf-8", errors="surrogateescape")


def artifact_location(path: str, base_dir: str, *, from_git: bool = False) -> dict[str, str]:
    """The SARIF artifactLocation of a reported path, relative to `base_dir` when inside it.
    `from_git`: a path of a history scan, which git gives relative to the repository's root
    already."""
    if path == "-":
        return {"uri": STDIN_URI}
    if from_git:
        return {"uri": _quoted(path), "uriBaseId": SRCROOT}
    relative = relative_inside(path, base_dir)
    if relative is None:
        return {"uri": Path(os.path.abspath(path)).as_uri()}
    return {"uri": _quoted(PurePath(relative).as_posix()), "uriBaseId": SRCROOT}


def _message(finding: Finding, rule_name: str, show_values: bool) -> str:
    text = f"{rule_name} ({finding.entity}) found"
    if finding.test_data:
        text += ": a well-known test value"
    if show_values:
        text += f": {finding.value!r}"
    return text + "."


Locate = Callable[[Finding], dict[str, str]]


def _locator(base_dir: str) -> Locate:
    """The artifactLocation of a finding's file, worked out once per file (its findings
    come together; the result and its fix both name it)."""

    @functools.lru_cache(maxsize=64)
    def located(path: str, from_git: bool) -> dict[str, str]:
        return artifact_location(path, base_dir, from_git=from_git)

    return lambda finding: located(finding.path, finding.commit is not None)


def _result(
    finding: Finding, index: int, rule_name: str, locate: Locate, show_values: bool
) -> dict[str, Any]:
    region: dict[str, Any] = {
        "startLine": finding.line,
        "startColumn": finding.column,
        "endLine": finding.end_line,
        "endColumn": finding.end_column,
    }
    snippet = finding.raw_snippet if show_values else finding.snippet
    if snippet:
        region["snippet"] = {"text": snippet}
    level = "note" if finding.test_data else LEVEL[finding.severity]
    properties: dict[str, Any] = {
        "entity": finding.entity,
        "category": finding.category.value,
        "confidence": round(finding.confidence, 3),
        "test_data": finding.test_data,
    }
    if finding.commit:
        properties["commit"] = finding.commit
    if finding.commit_date:
        properties["commit_date"] = finding.commit_date
    result: dict[str, Any] = {
        "ruleId": finding.rule_id,
        "ruleIndex": index,
        "level": level,
        "message": {"text": _message(finding, rule_name, show_values)},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": locate(finding),
                    "region": region,
                }
            }
        ],
    }
    if finding.fingerprint:
        result["partialFingerprints"] = {FINGERPRINT_KEY: finding.fingerprint}
    # A fix edits the file as it is now: not stdin, and not a value found in an older
    # commit, which the file may no longer hold at that place (history is rewritten, not
    # patched).
    if finding.path != "-" and finding.commit is None:
        result["fixes"] = [_label_fix(finding, locate)]
    result["properties"] = properties
    return result


def _label_fix(finding: Finding, locate: Locate) -> dict[str, Any]:
    """The `label` redaction as a SARIF fix, so code-scanning UIs can offer it."""
    deleted = {
        "startLine": finding.line,
        "startColumn": finding.column,
        "endLine": finding.end_line,
        "endColumn": finding.end_column,
    }
    return {
        "description": {"text": f"Replace the value with [{finding.entity}] (piiscan redact)"},
        "artifactChanges": [
            {
                "artifactLocation": locate(finding),
                "replacements": [
                    {"deletedRegion": deleted, "insertedContent": {"text": f"[{finding.entity}]"}}
                ],
            }
        ],
    }


def _notification(skipped: Skipped, base_dir: str) -> dict[str, Any]:
    text = f"Skipped {skipped.path}: {skipped.reason.value}"
    if skipped.detail:
        text += f" ({skipped.detail})"
    return {
        "level": "error" if skipped.is_error else "note",
        "message": {"text": sentence(text)},
        "descriptor": {"id": "skipped/" + skipped.reason.name.lower().replace("_", "-")},
        "locations": [
            {"physicalLocation": {"artifactLocation": artifact_location(skipped.path, base_dir)}}
        ],
    }


def to_dict(
    result: ScanResult,
    *,
    rules: Sequence[Rule],
    show_values: bool = False,
    base_dir: str | None = None,
) -> dict[str, Any]:
    return _document(result, rules, show_values, base_dir, lazily=False)


def _document(
    result: ScanResult,
    rules: Sequence[Rule],
    show_values: bool,
    base_dir: str | None,
    *,
    lazily: bool,
) -> dict[str, Any]:
    root = source_root(base_dir)
    descriptors = [_rule_descriptor(r) for r in rules]
    index_of = {r.id: i for i, r in enumerate(rules)}
    name_of = {r.id: r.name for r in rules}
    for finding in result.findings:  # rules no loaded rule describes come before the results
        if finding.rule_id not in index_of:
            index_of[finding.rule_id] = len(descriptors)
            name_of[finding.rule_id] = finding.entity.replace("_", " ").capitalize()
            descriptors.append(_unknown_rule_descriptor(finding))

    locate = _locator(root)

    def entry(finding: Finding) -> dict[str, Any]:
        rule_id = finding.rule_id
        return _result(finding, index_of[rule_id], name_of[rule_id], locate, show_values)

    results = json_array(result.findings, entry, lazily=lazily)
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "piiscan",
                        "version": piiscan.__version__,
                        "semanticVersion": piiscan.__version__,
                        "informationUri": INFORMATION_URI,
                        "rules": descriptors,
                    }
                },
                "invocations": [
                    {
                        "executionSuccessful": not result.incomplete,
                        "toolExecutionNotifications": [
                            _notification(s, root) for s in result.skipped
                        ],
                    }
                ],
                "originalUriBaseIds": {SRCROOT: {"uri": Path(root).as_uri().rstrip("/") + "/"}},
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }


def write(
    result: ScanResult,
    stream: TextIO,
    *,
    rules: Sequence[Rule],
    show_values: bool = False,
    base_dir: str | None = None,
) -> None:
    write_json(_document(result, rules, show_values, base_dir, lazily=True), stream)
