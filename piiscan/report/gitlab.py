"""GitLab's secret-detection report: the `gl-secret-detection-report.json` artifact.

The format is "secret-detection-report-format.json" of GitLab's security-report-schemas,
version 15.x (declared: `SCHEMA_VERSION`). GitLab validates an uploaded report against the
version it declares and drops one that does not pass, so only fields the schema defines are
written. What the schema asks of a secret-detection report, and the choices made here:

- `scan`: `analyzer` and `scanner` (id, name, version, vendor.name), `type`
  "secret_detection", `start_time`/`end_time` as UTC "YYYY-MM-DDTHH:MM:SS", and `status`:
  "failure" when the scan was incomplete (an unreadable file, a regex timeout; those files are
  listed as `messages`), else "success". `primary_identifiers` lists every loaded rule, so
  GitLab can resolve a vulnerability whose rule ran and no longer finds it.
- each vulnerability: `id` (a UUID derived from piiscan's fingerprint, and the commit for
  history scans, so it is the same in every pipeline), `identifiers` (the first one, the
  primary identifier GitLab tracks a vulnerability by, is the rule id), and `location` with
  `file`, lines and the required `commit.sha`: the finding's commit for `--history`, else the
  HEAD of the git work tree holding the file, else "0000000" (what GitLab's own analyzer
  writes when no commit applies).
- `file` is relative to the root of the work tree holding the file (GitLab links it to the
  project's files at that commit); history paths are already relative to it. `--staged`
  paths are too, but are read here as relative to the current folder: run `--staged` from
  the repository's root (as pre-commit and CI jobs do) for a GitLab report.
- `raw_source_code_extract` is the masked excerpt unless the user asked for values: the
  report is an artifact that anyone who can read the pipeline can download.
- test data (`test_data: true`) has severity Info, as its finding has.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from pathlib import PurePath
from typing import Any, TextIO

import piiscan
from piiscan.errors import UsageError
from piiscan.model import Finding, Rule, ScanResult, Severity
from piiscan.report import (
    base_folder, json_array, relative_inside, sentence, work_tree_root, write_json,
)

SCHEMA_VERSION = "15.2.1"
SCHEMA_URL = (
    "https://gitlab.com/gitlab-org/security-products/security-report-schemas/-/raw/"
    f"v{SCHEMA_VERSION}/dist/secret-detection-report-format.json"
)
REPORT_TYPE = "secret_detection"
INFORMATION_URI = "https://github.com/piiscan/piiscan"
IDENTIFIER_TYPE = "piiscan_rule_id"
NO_COMMIT = "0000000"
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S"
NAME_LIMIT = 255  # the schema's maxLength of a vulnerability name
# Vulnerability ids are UUIDv5 in this namespace (itself derived once from the project URI).
ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, INFORMATION_URI + "#gitlab-vulnerability-id")

SEVERITY = {
    Severity.CRITICAL: "Critical",
    Severity.HIGH: "High",
    Severity.MEDIUM: "Medium",
    Severity.LOW: "Low",
    Severity.INFO: "Info",
}

SOLUTION = (
    "Remove the personal data, or replace it with an obviously fake value; if it was "
    "committed, rewrite the history or treat the data as disclosed. `piiscan redact` replaces "
    "values in place."
)


def gitlab_severity(finding: Finding) -> str:
    """GitLab's severity of a finding: test data is Info whatever its rule says."""
    return "Info" if finding.test_data else SEVERITY[finding.severity]


def vulnerability_id(finding: Finding, salt: str = "") -> str:
    """A stable UUID for a finding: from its fingerprint (never the value) and its commit."""
    if finding.fingerprint:
        key = finding.fingerprint
    else:  # a finding made without the engine: its place stands in for the fingerprint
        key = "\x1f".join(
            (finding.rule_id, finding.path, str(finding.line), str(finding.column))
        )
    return str(uuid.uuid5(ID_NAMESPACE, "\x1f".join((key, finding.commit or "", salt))))


def _identifier(rule_id: str) -> dict[str, str]:
    return {"type": IDENTIFIER_TYPE, "name": f"piiscan rule {rule_id}", "value": rule_id}


class WorkTrees:
    """Which git work tree holds a file, and the HEAD commit of each (asked once per tree)."""

    def __init__(self) -> None:
        self._root_of_dir: dict[str, str | None] = {}
        self._head_of_root: dict[str, str] = {}

    def root(self, directory: str) -> str | None:
        """The top folder of the work tree holding `directory` (absolute), or None."""
        return work_tree_root(directory, self._root_of_dir)

    def head(self, root: str) -> str:
        """The commit HEAD names in the work tree `root`, or NO_COMMIT (unborn, no git)."""
        if root not in self._head_of_root:
            self._head_of_root[root] = _head_commit(root)
        return self._head_of_root[root]


def _head_commit(root: str) -> str:
    from piiscan.gitsource import _resolve_commit

    try:
        return _resolve_commit(root, "HEAD") or NO_COMMIT  # None: an unborn HEAD
    except UsageError:  # git is missing, or `root` is no repository: still worth a report
        return NO_COMMIT


def _posix(path: str) -> str:
    return PurePath(path).as_posix()


def _file_and_commit(
    finding: Finding, trees: WorkTrees, base_dir: str
) -> tuple[str, dict[str, str]]:
    """`location.file` and `location.commit` of a finding."""
    if finding.commit:
        # History paths come from git: already relative to the root of the repository.
        commit = {"sha": finding.commit}
        if finding.commit_date:
            commit["date"] = finding.commit_date
        return _posix(finding.path), commit
    if finding.path == "-":
        return "-", {"sha": NO_COMMIT}
    absolute = os.path.abspath(finding.path)
    root = trees.root(os.path.dirname(absolute))
    if root is not None:
        return _posix(os.path.relpath(absolute, root)), {"sha": trees.head(root)}
    relative = relative_inside(absolute, base_dir)
    return _posix(absolute if relative is None else relative), {"sha": NO_COMMIT}


def _description(finding: Finding, rule: Rule | None) -> str:
    if rule is not None:
        text = sentence(rule.description or rule.name)
    else:
        text = sentence(f"{finding.entity} detected by {finding.rule_id}")
    if finding.test_data:
        text += (
            " This value is a well-known test or documentation value: it is reported at"
            " severity Info so that it never fails a build, and stays visible."
        )
    return text


def _details(finding: Finding) -> dict[str, Any]:
    details: dict[str, Any] = {
        "entity": {"type": "text", "name": "Entity", "value": finding.entity},
        "category": {"type": "text", "name": "Privacy category", "value": finding.category.value},
        "confidence": {
            "type": "value",
            "name": "Confidence",
            "value": round(finding.confidence, 3),
        },
        "test_data": {"type": "value", "name": "Well-known test value", "value": finding.test_data},
    }
    if finding.fingerprint:
        details["fingerprint"] = {
            "type": "text",
            "name": "piiscan fingerprint (for baselines)",
            "value": finding.fingerprint,
        }
    return details


def _vulnerability(
    finding: Finding,
    vuln_id: str,
    rule: Rule | None,
    trees: WorkTrees,
    base_dir: str,
    show_values: bool,
) -> dict[str, Any]:
    name = rule.name if rule is not None else finding.entity.replace("_", " ").capitalize()
    file, commit = _file_and_commit(finding, trees, base_dir)
    location: dict[str, Any] = {
        "file": file,
        "start_line": finding.line,
        "end_line": finding.end_line,
        "commit": commit,
    }
    vulnerability: dict[str, Any] = {
        "id": vuln_id,
        "name": name[:NAME_LIMIT],
        "description": _description(finding, rule),
        "severity": gitlab_severity(finding),
        "solution": SOLUTION,
        "identifiers": [_identifier(finding.rule_id)],
        "location": location,
    }
    # Never the raw value unless asked for: the masked excerpt stands in for the source.
    extract = finding.raw_snippet if show_values else finding.snippet
    if extract:
        vulnerability["raw_source_code_extract"] = extract
    vulnerability["details"] = _details(finding)
    return vulnerability


def _component() -> dict[str, Any]:
    return {
        "id": "piiscan",
        "name": "piiscan",
        "url": INFORMATION_URI,
        "vendor": {"name": "piiscan"},
        "version": piiscan.__version__,
    }


def _messages(result: ScanResult) -> list[dict[str, str]]:
    # Only what made the scan incomplete: files skipped by policy (binary, too large,
    # excluded) are not problems, and a large tree has thousands of them.
    messages = []
    for skipped in result.skipped:
        if skipped.is_error:
            text = f"{skipped.path} was not scanned: {skipped.reason.value}"
            if skipped.detail:
                text += f" ({skipped.detail})"
            messages.append({"level": "warn", "value": text})
    return messages


def _vulnerability_ids(findings: Sequence[Finding]) -> list[str]:
    """Each finding's id, unique: equal fingerprints get salted ones, in a stable order."""
    ids: list[str] = []
    used: set[str] = set()
    for finding in findings:
        vuln_id = vulnerability_id(finding)
        salt = 0
        while vuln_id in used:
            salt += 1
            vuln_id = vulnerability_id(finding, str(salt))
        used.add(vuln_id)
        ids.append(vuln_id)
    return ids


def to_dict(
    result: ScanResult,
    *,
    rules: Sequence[Rule] = (),
    show_values: bool = False,
    base_dir: str | None = None,
    now: datetime | None = None,
    trees: WorkTrees | None = None,
) -> dict[str, Any]:
    """The report as a dict. `now` (the end of the scan) and `trees` are for tests."""
    return _document(result, rules, show_values, base_dir, now, trees, lazily=False)


def _document(
    result: ScanResult,
    rules: Sequence[Rule],
    show_values: bool,
    base_dir: str | None,
    now: datetime | None,
    trees: WorkTrees | None,
    *,
    lazily: bool,
) -> dict[str, Any]:
    root = base_folder(base_dir)
    trees = trees if trees is not None else WorkTrees()
    end = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    start = end - timedelta(seconds=max(0.0, float(result.stats.seconds)))
    rule_of = {r.id: r for r in rules}
    primary = [_identifier(r.id) for r in rules]
    listed = set(rule_of)
    for finding in result.findings:  # the identifiers come before the vulnerabilities
        if finding.rule_id not in listed:  # e.g. an NER finding: its rule ran too
            listed.add(finding.rule_id)
            primary.append(_identifier(finding.rule_id))
    numbered = list(zip(result.findings, _vulnerability_ids(result.findings)))

    def entry(item: tuple[Finding, str]) -> dict[str, Any]:
        finding, vuln_id = item
        return _vulnerability(finding, vuln_id, rule_of.get(finding.rule_id), trees, root, show_values)

    vulnerabilities = json_array(numbered, entry, lazily=lazily)
    scan: dict[str, Any] = {
        "analyzer": _component(),
        "scanner": _component(),
        "type": REPORT_TYPE,
        "start_time": start.strftime(TIME_FORMAT),
        "end_time": end.strftime(TIME_FORMAT),
        "status": "failure" if result.incomplete else "success",
    }
    messages = _messages(result)
    if messages:
        scan["messages"] = messages
    if primary:
        scan["primary_identifiers"] = primary
    return {
        "version": SCHEMA_VERSION,
        "schema": SCHEMA_URL,
        "scan": scan,
        "vulnerabilities": vulnerabilities,
    }


def write(
    result: ScanResult,
    stream: TextIO,
    *,
    rules: Sequence[Rule] = (),
    show_values: bool = False,
    base_dir: str | None = None,
) -> None:
    write_json(_document(result, rules, show_values, base_dir, None, None, lazily=True), stream)
