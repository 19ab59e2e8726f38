"""Redacting, restoring and re-keying files: documents in, rewritten files and a summary out.

Each file goes through `rewrite_document`: re-read through the writer (which refuses links,
read-only and special files), check it is still what was scanned, transform the text, encode
it exactly as it was encoded (BOM, byte order, line endings untouched), and write it
atomically, to a copy under --output-dir, or nowhere (--dry-run, which prints a masked diff).
One file's failure is recorded and the others go on; the summary says what happened.
"""

from __future__ import annotations

import os
import stat
import sys
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePath

from piiscan.decoding import decode_bytes
from piiscan.engine import Engine
from piiscan.errors import PiiscanError, RedactionError
from piiscan.model import Document, Finding, SkipReason, Skipped, StreamedFile
from piiscan.redact.keys import Keyring
from piiscan.redact.redactor import (
    MAX_REDACTION_ROUNDS,
    RedactOptions,
    entity_hint,
    known_entities,
    masked_diff,
    redact_text,
    rekey_text,
    restore_text,
)
from piiscan.redact.tokens import reencrypt_token
from piiscan.redact.writer import atomic_rewrite, encode_like, read_for_rewrite, write_new_file
from piiscan.rulepack import load_rules
from piiscan.suppress import Allowlist, filter_findings


@dataclass(frozen=True, slots=True)
class Target:
    """Where results go: in place (default), copies under `output_dir`, or nowhere."""

    dry_run: bool = False
    output_dir: Path | None = None


@dataclass
class Summary:
    files_changed: int = 0
    replaced: Counter = field(default_factory=Counter)  # entity -> spans replaced
    errors: list[tuple[str, str]] = field(default_factory=list)  # (path, message)
    skipped: list[Skipped] = field(default_factory=list)
    diffs: list[str] = field(default_factory=list)
    copies: set[str] = field(default_factory=set)  # the --output-dir copies written so far


# A transform gets a document and returns (new text, replaced spans per entity, the diff to
# show for --dry-run). Raising a PiiscanError refuses that file.
Transform = Callable[[Document], tuple[str, Counter, str]]


def rewrite_document(doc: Document, transform: Transform, target: Target, summary: Summary) -> None:
    try:
        new_text, replaced, diff = transform(doc)
        if doc.from_stdin and not target.dry_run:
            # A stream always comes out whole: transformed, or as it came if nothing matched.
            _write_stdout(_encode(doc, new_text))
        elif not replaced:
            return
        elif target.dry_run:
            summary.diffs.append(diff)
        elif target.output_dir is not None:
            copy = _copy_path(doc.path, target.output_dir, summary.copies)
            write_new_file(copy, _encode(doc, new_text), mode=_mode_of(doc.path))
        else:
            data, snapshot = read_for_rewrite(doc.path)
            if decode_bytes(data) != (doc.text, doc.encoding, doc.bom):
                raise RedactionError(f"{doc.path}: changed since it was scanned; nothing written")
            atomic_rewrite(doc.path, _encode(doc, new_text), snapshot)
    except PiiscanError as exc:
        # Nothing is written for a refused file, a refused stream included: passing the
        # original on would hand unredacted values to the next command in the pipe.
        message = exc.message if exc.message.startswith(doc.path) else f"{doc.path}: {exc.message}"
        summary.errors.append((doc.path, message))
        return
    if replaced:
        summary.files_changed += 1
        summary.replaced.update(replaced)


def _write_stdout(data: bytes) -> None:
    """All of `data` on stdout, or an error: output cut short must not look like success."""
    out = sys.stdout.buffer
    try:
        view = memoryview(data)
        while view:  # a pipe whose reader leaves takes part of a write, then refuses the rest
            view = view[out.write(view) :]
        out.flush()
    except BrokenPipeError:
        # Later writes (the summary goes to stderr) must not fail on it again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise RedactionError("stdout was closed before all the output was written") from None
    except OSError as exc:  # a full disk behind a redirect, an I/O error
        raise RedactionError(f"cannot write to stdout: {exc.strerror or exc}") from None


def _encode(doc: Document, text: str) -> bytes:
    try:
        return encode_like(text, doc.encoding, doc.bom)
    except RedactionError as exc:
        raise RedactionError(f"{doc.path}: {exc.message}", exc.hint) from None


def _relative(path: str) -> PurePath:
    """A path below --output-dir: absolute and `..` parts are dropped."""
    return PurePath(*[p for p in PurePath(path).parts if p not in ("/", "..") and not p.endswith(":\\")])


def _copy_path(path: str, output_dir: Path, written: set[str]) -> str:
    """Where the copy of `path` goes (noted in `written`). Refused: the original itself (an
    --output-dir that leads back to the input, or a hard link of it) and a copy this run has
    already written (`../x/a.txt` and `x/a.txt` both go to `x/a.txt`)."""
    copy = str(output_dir / _relative(path))
    if copy in written:
        raise RedactionError(f"its copy {copy} would replace the copy of another file; nothing written",
                             "give --output-dir files whose paths differ below it")
    try:
        is_original = os.path.samefile(path, copy)
    except OSError:  # no such copy yet (or the original is gone: the writer tells)
        is_original = False
    if is_original:
        raise RedactionError(f"its copy {copy} is the file itself; nothing written",
                             "choose an --output-dir outside the files redacted")
    written.add(copy)
    return copy


def _mode_of(path: str) -> int:
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError as exc:
        raise RedactionError(f"{path}: {exc.strerror or exc}; nothing written") from None


# Files a walk passes over by policy, but that a user who names one asked to have rewritten:
# refusing it must not look like success.
_REFUSED_WHEN_NAMED = frozenset({SkipReason.BINARY, SkipReason.SPECIAL_FILE, SkipReason.TOO_LARGE})


def run_over(
    inputs: Iterable[Document | Skipped],
    transform: Transform,
    target: Target,
    named: Collection[str] = (),
) -> Summary:
    """Rewrite every input. `named`: the reported paths of files the user named one by one
    (not found in a walk, nor listed by git): one of those that is skipped is an error."""
    summary = Summary()
    for item in inputs:
        if isinstance(item, StreamedFile):
            # Rewriting needs the whole text in memory and the byte-exact check against it.
            summary.errors.append((item.path, f"{item.path}: too large to rewrite "
                                   f"({item.size} bytes); it can only be scanned"))
            continue
        if isinstance(item, Skipped):
            summary.skipped.append(item)
            if item.is_error:
                summary.errors.append((item.path, f"{item.path}: {item.reason} ({item.detail})"))
            elif item.reason in _REFUSED_WHEN_NAMED and item.path in named:
                detail = f" ({item.detail})" if item.detail else ""
                summary.errors.append((item.path, f"{item.path}: {item.reason}{detail}; not rewritten"))
            continue
        rewrite_document(item, transform, target, summary)
    return summary


# --------------------------------------------------------------------------- the transforms


def redaction(
    engine: Engine,
    options: RedactOptions,
    *,
    allowlist: Allowlist | None = None,
    ignore_comments: bool = True,
    with_diff: bool = False,
) -> Transform:
    """Replace every finding; then scan the result and refuse it if a redacted entity survives.
    `with_diff`: also give the masked diff that --dry-run prints (else "")."""

    def filtered(doc: Document, found: list[Finding]) -> list[Finding]:
        kept, _, _ = filter_findings(
            doc.text, found, allowlist=allowlist, ignore_comments=ignore_comments,
            scope_path=doc.scope_path, report_unused=False,
        )
        return kept

    def transform(doc: Document) -> tuple[str, Counter, str]:
        def find(text: str) -> list[Finding]:
            redone = Document(doc.path, text, doc.encoding, doc.bom, scope_path=doc.scope_path)
            return filtered(redone, engine.scan(redone))

        if not with_diff:
            result = redact_text(doc.text, find, options, syntax=_syntax_of(doc.path))
            return result.text, result.replaced, ""
        found, to_mask = engine.scan_with_spans_to_mask(doc)  # the diff's masks, same pass
        result = redact_text(
            doc.text, find, options, syntax=_syntax_of(doc.path), findings=filtered(doc, found)
        )
        diff = masked_diff(doc.path, doc.text, result.text, to_mask) if result.replaced else ""
        return result.text, result.replaced, diff

    return transform


def _syntax_of(path: str) -> str | None:
    suffix = PurePath(path).suffix.lower()
    if suffix in (".yaml", ".yml"):
        return "yaml"
    if suffix in (".json", ".jsonl", ".ndjson", ".geojson"):
        return "json"
    return None


def restoration(keyring: Keyring, *, entities: Collection[str] = (), scope: str = "") -> Transform:
    def transform(doc: Document) -> tuple[str, Counter, str]:
        # Tokens of a later redaction round can hold tokens of an earlier one: restore until
        # none is left (as many rounds as redaction can take).
        new_text, restored = doc.text, Counter()
        for _ in range(MAX_REDACTION_ROUNDS):
            new_text, restored_now, problems = restore_text(
                new_text, keyring, entities=entities, scope=scope
            )
            _refuse_on(doc, problems)
            restored += restored_now
            if not restored_now:
                break
        # A restore diff would print the restored values: --dry-run only counts.
        return new_text, restored, ""

    return transform


def check_restored_entities(
    summary: Summary,
    entities: Collection[str],
    packs: Sequence[str] | None,
    rule_paths: Sequence[str],
) -> None:
    """An `--entity` that restored nothing and that no rule reports (the config's packs, any
    built-in pack, NER) is a typo: an error (exit 2), not a quiet "restored 0 files". Told
    only after the run, since a token's entity may come from a pack the config does not
    load; the files restored for the other entities are rightly restored."""
    unmatched = [entity for entity in entities if not summary.replaced[entity]]
    if not unmatched:
        return
    known = known_entities(load_rules(rule_paths, packs=packs)) | set(summary.replaced)
    for entity in unmatched:
        if entity not in known:
            message = f"--entity {entity!r}: no token of it here, and no rule reports it"
            summary.errors.append(("", f"{message}; {entity_hint(entity, known)}"))


def rekeying(old: Keyring, scope: str = "") -> Transform:
    def transform(doc: Document) -> tuple[str, Counter, str]:
        new_text, count, problems = rekey_text(
            doc.text, old, lambda token: reencrypt_token(token, old, old, scope=scope)
        )
        _refuse_on(doc, problems)
        return new_text, Counter({"tokens": count}) if count else Counter(), ""

    return transform


def _refuse_on(doc: Document, problems) -> None:
    if problems:
        first = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise RedactionError(f"{doc.path}:{first.line}: {first.message}{more}; nothing written")
