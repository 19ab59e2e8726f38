"""The baseline: findings that already exist and are accepted, so a scan reports only new ones.

A finding is recorded by its fingerprint (see `piiscan.engine`), which carries no value and no
line number, so code inserted above a finding does not make it new. The file is built to be
committed and merged:

    {"piiscan_baseline": 1, "entries": [
    {"fingerprint": "0b9f…", "rule_id": "us.ssn", "path": "src/a.py", "reason": "fake data for tests"},
    {"fingerprint": "7c41…", "rule_id": "core.email", "path": "src/b.py"}
    ]}

- one JSON object; `piiscan_baseline` is the format version (1);
- exactly one entry per line, sorted by (path, rule_id, fingerprint), keys in that fixed order,
  `reason` present only when not empty;
- no timestamps, no line numbers, no raw values, no scan settings; a trailing newline.

So the same findings always give the same bytes, and two branches that add or drop different
entries change different lines: git merges them without a conflict. Like any line-based file,
changes to the same or to neighbouring entries (with no unchanged entry between them) still
conflict; adding the new last entry also edits the line before it (its comma).

Fingerprints made with a project key differ from unkeyed ones. A baseline made with a key
names it in its first line (`"fingerprint_key": "<key id>"`: the id, never the key), and a
scan with another key, or none, refuses it instead of reporting every entry as new.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from piiscan.errors import ConfigError, UsageError
from piiscan.model import Finding
from piiscan.redact.keys import KEY_ID

__all__ = [
    "FORMAT_VERSION",
    "BaselineEntry",
    "Baseline",
    "baseline_from_findings",
    "check_fingerprint_key",
    "update_baseline",
    "accept",
    "dumps",
    "loads",
    "read_baseline",
    "write_baseline",
]

FORMAT_VERSION = 1
_HEADER = '{"piiscan_baseline": 1, "entries": ['
_KEYED_HEADER = '{{"piiscan_baseline": 1, "fingerprint_key": "{key_id}", "entries": ['
_FOOTER = "]}"
_ENTRY_KEYS = ("fingerprint", "rule_id", "path", "reason")
# Engine fingerprints are 32 lowercase hex digits; a range leaves room for a longer hash
# later while still refusing what is plainly not a fingerprint (a pasted value, say).
_FINGERPRINT = re.compile(r"[0-9a-f]{16,64}")
_MIN_PREFIX = 6


@dataclass(frozen=True, slots=True)
class BaselineEntry:
    """One recorded finding: its fingerprint, where it was, and why it is accepted."""

    fingerprint: str
    rule_id: str
    path: str
    reason: str = ""

    @property
    def sort_key(self) -> tuple[str, str, str]:
        return (self.path, self.rule_id, self.fingerprint)


@dataclass(frozen=True, slots=True)
class Baseline:
    """Accepted findings, sorted by (path, rule_id, fingerprint); one entry per fingerprint.
    `key_id`: the project key the fingerprints are keyed with (None: unkeyed)."""

    entries: tuple[BaselineEntry, ...] = ()
    key_id: str | None = None
    _by_fingerprint: dict[str, BaselineEntry] = field(
        init=False, repr=False, compare=False, default=None
    )

    def __post_init__(self) -> None:
        entries = tuple(sorted(self.entries, key=lambda e: e.sort_key))
        index = {e.fingerprint: e for e in entries}
        if len(index) != len(entries):
            raise ValueError("a baseline holds each fingerprint once")
        object.__setattr__(self, "entries", entries)
        object.__setattr__(self, "_by_fingerprint", index)

    def __contains__(self, fingerprint: object) -> bool:
        return fingerprint in self._by_fingerprint

    def __len__(self) -> int:
        return len(self.entries)

    def get(self, fingerprint: str) -> BaselineEntry | None:
        return self._by_fingerprint.get(fingerprint)


def _entry_of(finding: Finding) -> BaselineEntry:
    if not finding.fingerprint:
        # Only hand-made findings lack one; recording "" would match every such finding.
        raise ValueError(f"{finding.path}:{finding.line}: finding has no fingerprint")
    return BaselineEntry(finding.fingerprint, finding.rule_id, finding.path)


def baseline_from_findings(findings: Iterable[Finding], key_id: str | None = None) -> Baseline:
    """A baseline of these findings (fingerprinted with the key `key_id`, if any). The same
    finding seen twice (in two commits of a history scan, say) is recorded once."""
    entries: dict[str, BaselineEntry] = {}
    for finding in findings:
        entries.setdefault(finding.fingerprint, _entry_of(finding))
    return Baseline(tuple(entries.values()), key_id)


def check_fingerprint_key(baseline: Baseline, key_id: str | None, source: str) -> None:
    """Refuse a baseline whose fingerprints were made with another key than this scan's (or
    with one, or without): none of its entries could match, and all would look new."""
    if baseline.key_id == key_id:
        return
    if baseline.key_id is None:
        raise UsageError(
            f"{source}: the baseline's fingerprints are unkeyed, but this scan keys them with "
            f"project key {key_id}",
            "recreate it with the key (`piiscan baseline create`), or unset PIISCAN_KEY_FILE "
            "and PIISCAN_KEY (and drop --key-file) to use it as it is",
        )
    raise UsageError(
        f"{source}: the baseline's fingerprints are keyed with project key {baseline.key_id}, "
        + (f"this scan's with {key_id}" if key_id else "and this scan has no key"),
        "use the key the baseline was made with (PIISCAN_KEY_FILE, PIISCAN_KEY or --key-file), "
        "or recreate it with `piiscan baseline create`",
    )


def scanned_under(targets: Iterable[str]) -> Callable[[str], bool]:
    """`update_baseline`'s `in_scope` for a scan of `targets`: whether a reported path lies
    in one of them, each taken as the scan reports it (`./src/` as `src`)."""
    from piiscan.sources import named_path

    roots = [named_path(target) for target in targets]
    if not roots or "." in roots:
        return lambda path: True
    prefixes = tuple(root.rstrip("/") + "/" for root in roots)
    return lambda path: path in roots or path.startswith(prefixes)


def update_baseline(
    old: Baseline,
    findings: Iterable[Finding],
    *,
    add_new: bool = False,
    in_scope: Callable[[str], bool] | None = None,
) -> Baseline:
    """Drop the entries whose finding is gone (fixed); keep the rest with their reasons.

    With `add_new`, findings not yet in the baseline are added. `in_scope(path)` says whether
    a path was covered by this scan; entries outside it are kept untouched, so updating after
    a scan of `src/` does not forget `tests/`. Without it every path counts as scanned. The
    caller must not update from an incomplete scan: a file that could not be read would look
    fixed.
    """
    current: dict[str, Finding] = {}
    for finding in findings:
        current.setdefault(finding.fingerprint, finding)
    kept = [
        e for e in old.entries
        if e.fingerprint in current or (in_scope is not None and not in_scope(e.path))
    ]
    if add_new:
        kept.extend(_entry_of(f) for fp, f in current.items() if fp not in old)
    return Baseline(tuple(kept), old.key_id)


def accept(baseline: Baseline, fingerprint: str, reason: str) -> Baseline:
    """The baseline with `reason` set on one entry (an empty reason clears it).

    `fingerprint` may be a unique prefix of at least six digits, as git takes commit ids.
    """
    entry = _find(baseline, fingerprint.strip().lower())
    updated = replace(entry, reason=" ".join(reason.split()))
    return replace(baseline, entries=tuple(updated if e is entry else e for e in baseline.entries))


def _find(baseline: Baseline, fingerprint: str) -> BaselineEntry:
    exact = baseline.get(fingerprint)
    if exact is not None:
        return exact
    hint = (
        "only findings already in the baseline can be accepted: add new ones with "
        "`piiscan baseline update --add-new`; `piiscan scan --format json` shows fingerprints"
    )
    if len(fingerprint) < _MIN_PREFIX:
        raise UsageError(
            f"fingerprint prefix {fingerprint!r} is too short to name one finding",
            f"give at least {_MIN_PREFIX} digits",
        )
    matches = [e for e in baseline.entries if e.fingerprint.startswith(fingerprint)]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise UsageError(
            f"fingerprint prefix {fingerprint!r} matches {len(matches)} baseline entries",
            "give more digits",
        )
    return _raise_unknown(baseline, fingerprint, hint)


def _raise_unknown(baseline: Baseline, fingerprint: str, hint: str) -> BaselineEntry:
    import difflib  # only for error messages: not at start-up
    close = difflib.get_close_matches(fingerprint, [e.fingerprint for e in baseline.entries], n=1)
    if close:
        hint = f"did you mean {close[0]!r}? " + hint
    raise UsageError(f"fingerprint {fingerprint!r} is not in the baseline", hint)


# --------------------------------------------------------------------------- the file


def dumps(baseline: Baseline) -> str:
    """The file's text: deterministic for equal baselines, one entry per line."""
    lines = [_HEADER if baseline.key_id is None else _KEYED_HEADER.format(key_id=baseline.key_id)]
    last = len(baseline.entries) - 1
    for i, entry in enumerate(baseline.entries):
        lines.append(_entry_json(entry) + ("," if i < last else ""))
    lines.append(_FOOTER)
    return "\n".join(lines) + "\n"


def _entry_json(entry: BaselineEntry) -> str:
    obj = {"fingerprint": entry.fingerprint, "rule_id": entry.rule_id, "path": entry.path}
    if entry.reason:
        obj["reason"] = entry.reason
    text = json.dumps(obj, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        # A path undecodable on disk arrives with lone surrogates: escape that entry only,
        # so the file stays valid UTF-8 and the rest stays readable.
        text = json.dumps(obj, ensure_ascii=True)
    return text


_NOT_A_BASELINE = "is it a baseline written by `piiscan baseline create`?"


def loads(text: str, source: str) -> Baseline:
    """Parse a baseline strictly: any problem is a `ConfigError` naming `source` and the entry."""
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicate_keys)
    except _DuplicateKey as exc:
        raise ConfigError(f"{source}: duplicate key {exc.key!r}", "each key may appear once") from None
    except RecursionError:  # json recurses per nesting level
        raise ConfigError(f"{source}: nested too deeply", _NOT_A_BASELINE) from None
    except json.JSONDecodeError as exc:
        hint = _NOT_A_BASELINE
        if "<<<<<<<" in text or ">>>>>>>" in text:
            hint = "resolve the git conflict markers (keep the entries of both sides)"
        raise ConfigError(f"{source}:{exc.lineno}: not valid JSON: {exc.msg}", hint) from None
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a JSON object", "is it a piiscan baseline?")
    _check_keys(data, ("piiscan_baseline", "fingerprint_key", "entries"), source, "")
    version = data.get("piiscan_baseline")
    if version is None:
        raise ConfigError(f"{source}: missing 'piiscan_baseline'", "is it a piiscan baseline?")
    if type(version) is not int or version != FORMAT_VERSION:
        raise ConfigError(
            f"{source}: unsupported baseline format {version!r}",
            f"this piiscan reads format {FORMAT_VERSION}; a newer piiscan may have written it",
        )
    key_id = data.get("fingerprint_key")
    if key_id is not None and not (isinstance(key_id, str) and KEY_ID.fullmatch(key_id)):
        raise ConfigError(
            f"{source}: fingerprint_key: not a key id", "expected 8 lowercase hex digits"
        )
    raw_entries = data.get("entries")
    if not isinstance(raw_entries, list):
        raise ConfigError(f"{source}: 'entries' must be a list")
    entries: list[BaselineEntry] = []
    first_index: dict[str, int] = {}
    for i, raw in enumerate(raw_entries):
        where = f"entries[{i}]"
        if not isinstance(raw, dict):
            raise ConfigError(f"{source}: {where}: expected an object")
        _check_keys(raw, _ENTRY_KEYS, source, where + ".")
        for key in _ENTRY_KEYS:
            if key == "reason" and key not in raw:
                continue
            if key not in raw:
                raise ConfigError(f"{source}: {where}: missing {key!r}")
            if not isinstance(raw[key], str):
                raise ConfigError(f"{source}: {where}.{key}: expected a string")
            if key != "reason" and not raw[key]:
                raise ConfigError(f"{source}: {where}.{key}: empty")
        fingerprint = raw["fingerprint"]
        if not _FINGERPRINT.fullmatch(fingerprint):
            raise ConfigError(
                f"{source}: {where}.fingerprint: not a fingerprint",
                "expected lowercase hex digits as written by `piiscan baseline create`",
            )
        if fingerprint in first_index:
            raise ConfigError(
                f"{source}: {where}: same fingerprint as entries[{first_index[fingerprint]}]",
                "remove one of the two",
            )
        first_index[fingerprint] = i
        entries.append(BaselineEntry(fingerprint, raw["rule_id"], raw["path"], raw.get("reason", "")))
    return Baseline(tuple(entries), key_id)


class _DuplicateKey(Exception):
    def __init__(self, key: str) -> None:
        self.key = key


def _no_duplicate_keys(pairs: list[tuple[str, object]]) -> dict:
    out: dict = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


def _check_keys(obj: dict, allowed: tuple[str, ...], source: str, where: str) -> None:
    for key in obj:
        if key not in allowed:
            import difflib  # only for error messages: not at start-up
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f"did you mean {close[0]!r}?" if close else "allowed: " + ", ".join(allowed)
            raise ConfigError(f"{source}: {where}{key}: unknown key", hint)


def read_baseline(path: str | os.PathLike[str]) -> Baseline:
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise UsageError(
            f"{path}: baseline file not found", "create one with `piiscan baseline create`"
        ) from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read baseline: {exc.strerror}") from None
    try:
        text = data.decode("utf-8-sig")  # tolerate a BOM added by an editor
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 at byte {exc.start}") from None
    return loads(text, str(path))


def write_baseline(baseline: Baseline, path: str | os.PathLike[str]) -> None:
    """Write it whole or not at all, synced to disk (see `wholefile.write_whole`). An
    existing file keeps its mode; a new one is 0644 (it is meant to be committed)."""
    from piiscan.wholefile import write_whole

    try:
        write_whole(path, lambda handle: handle.write(dumps(baseline)), new_mode=0o644, durable=True)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot write baseline: {exc.strerror or exc}") from None
