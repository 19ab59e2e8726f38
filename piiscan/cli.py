"""The command line: parse, call, print, exit. No scanning logic lives here.

Exit codes (DESIGN.md): 0 clean, 1 findings at or above --fail-on, 2 usage/config/rule-pack
error or an incomplete scan, 130 interrupted. `main` is the one place errors are printed.
Heavy modules (the engine, hyperscan, YAML) are imported inside the commands, so `--help`
and `--version` stay fast.
"""

# No `from __future__ import annotations` here: Typer reads every command's annotations at
# each start, and evaluating them from strings costs more than defining them (~4 ms).
import contextlib
import gc
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer

from piiscan import __version__
from piiscan.errors import PiiscanError, UsageError

if TYPE_CHECKING:
    from piiscan.baseline import Baseline
    from piiscan.config import Settings
    from piiscan.model import ScanResult

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 2, 130

app = typer.Typer(
    name="piiscan",
    help="Find and redact personal data (PII) in files, repositories and streams.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,  # a traceback with locals would print found values
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
rules_app = typer.Typer(help="List and test rule packs.", no_args_is_help=True)
app.add_typer(rules_app, name="rules")
config_app = typer.Typer(help="Show the effective configuration.", no_args_is_help=True)
app.add_typer(config_app, name="config")
baseline_app = typer.Typer(
    help="Record today's findings so scans report only new ones.", no_args_is_help=True
)
app.add_typer(baseline_app, name="baseline")

_state: dict = {"debug": False, "origins": {}}


def _version(value: bool) -> None:
    if value:
        typer.echo(f"piiscan {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
    debug: bool = typer.Option(
        False, "--debug", help="Print a traceback for internal errors (may show found values)."
    ),
) -> None:
    _state["debug"] = debug


def _split(values: Optional[list[str]]) -> tuple[str, ...]:
    """Repeatable options also take comma-separated lists: --only us.ssn,core.email."""
    return tuple(part.strip() for v in values or () for part in v.split(",") if part.strip())


# Options that choose what is scanned: shared by `scan` and `redact`, which must agree.
PATHS = typer.Argument(None, help="Files or folders ('-' for stdin). Default: the current folder.")
RULES = typer.Option(None, "--rules", help="Extra rule pack file or folder (repeatable).")
PACKS = typer.Option(None, "--packs", help="Built-in packs, comma-separated, or 'all' (default: core).")
ONLY = typer.Option(None, "--only", help="Only these rule ids or entities (repeatable, comma-separated).")
DISABLE = typer.Option(None, "--disable", help="Skip these rule ids or entities (repeatable, comma-separated).")
MIN_CONFIDENCE = typer.Option(None, "--min-confidence", help="Drop findings below this confidence (default 0.5).")
MAX_FILE_SIZE = typer.Option(None, "--max-file-size", help="Skip (and list) larger files (default 10MB).")
INCLUDE = typer.Option(None, "--include", help="Only files matching this glob (repeatable).")
EXCLUDE = typer.Option(None, "--exclude", help="Skip files matching this glob (repeatable).")
FOLLOW_SYMLINKS = typer.Option(None, "--follow-symlinks/--no-follow-symlinks", help="Follow symbolic links in walks.")
GITIGNORE = typer.Option(None, "--gitignore/--no-gitignore", help="Honour .gitignore files (default: yes).")
TEXT = typer.Option(None, "--text", help="Scan binary-looking files too (decoded as latin-1).")
IGNORE_COMMENTS = typer.Option(
    None, "--ignore-comments/--no-ignore-comments",
    help="Honour `piiscan: ignore` comments (default: yes; --no-... to audit them).",
)
CONFIG = typer.Option(None, "--config", help="Read settings from this file instead of searching.")
NO_CONFIG = typer.Option(False, "--no-config", help="Ignore config files.")
QUIET = typer.Option(False, "--quiet", "-q", help="No progress or warnings on stderr.")
BACKEND = typer.Option(None, "--backend", help="Matching backend: auto (default), hyperscan or regex.")
REGEX_TIMEOUT = typer.Option(None, "--regex-timeout", help="Seconds a rule may spend on one segment (default 2).")
JOBS = typer.Option(None, "--jobs", "-j", help="Worker processes (default: one per core).")
NER = typer.Option(None, "--ner/--no-ner", help="Also find names and places with spaCy (piiscan[ner]).")
NER_MODEL = typer.Option(None, "--ner-model", help="Installed spaCy pipeline (default en_core_web_sm).")
# `scan` only: test code decides how a finding is labelled (test data, at info), not whether
# it is found, and `redact` rewrites test data as well.
TEST_CODE = typer.Option(
    None, "--test-code",
    help="Glob of test code, besides the naming conventions; '!glob' for not test code (repeatable).",
)
KEY_FILE = typer.Option(
    None, "--key-file", help="Keyring file (else $PIISCAN_KEY_FILE, else $PIISCAN_KEY)."
)
STDIN_FILENAME = typer.Option(
    None, "--stdin-filename",
    help="Name for what '-' reads: reported as that file, whose type decides detection "
    "(a .csv header gives its columns context).",
)


def _stdin_name(stdin_filename: Optional[str], targets: list[str]) -> str:
    """What standard input is called: "-", or the name the user gave it."""
    if stdin_filename is None:
        return "-"
    if "-" not in targets:
        raise UsageError("--stdin-filename names standard input, and '-' is not among the paths",
                         "pass - to read standard input")
    if not stdin_filename.strip() or stdin_filename == "-":
        raise UsageError(f"--stdin-filename: not a file name: {stdin_filename!r}")
    return stdin_filename


def _selection_flags(rules, packs, only, disable, min_confidence, max_file_size, include, exclude,
                     follow_symlinks, gitignore, text, ignore_comments, backend, regex_timeout) -> dict:
    return {
        "rules": _split(rules) or None,
        "packs": packs,
        "only": _split(only) or None,
        "disable": _split(disable) or None,
        "min_confidence": min_confidence,
        "max_file_size": max_file_size,
        "include": _split(include) or None,
        "exclude": _split(exclude) or None,
        "follow_symlinks": follow_symlinks,
        "gitignore": gitignore,
        "text": text,
        "ignore_comments": ignore_comments,
        "backend": backend,
        "regex_timeout": regex_timeout,
    }


@app.command()
def scan(
    paths: Optional[list[str]] = PATHS,
    output_format: Optional[str] = typer.Option(
        None, "--format", "-f", help="Report format: table (default), json, sarif or gitlab."
    ),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write the report here."),
    show_values: Optional[bool] = typer.Option(
        None, "--show-values", help="Show raw found values in the report (masked by default)."
    ),
    fail_on: Optional[str] = typer.Option(
        None, "--fail-on", help="Exit 1 on findings of this severity or above (default low), or 'never'."
    ),
    report_unused_ignores: Optional[bool] = typer.Option(
        None, "--report-unused-ignores", help="List ignore comments that suppress nothing."
    ),
    baseline: Optional[str] = typer.Option(
        None, "--baseline", help="Report only findings not recorded in this baseline file."
    ),
    staged: bool = typer.Option(
        False, "--staged", help="Scan what is staged in git (the index, not the working tree)."
    ),
    since: Optional[str] = typer.Option(
        None, "--since", help="Scan files changed since this git revision (with --history: commits)."
    ),
    history: bool = typer.Option(
        False, "--history", help="Scan every blob added in the git history (each once)."
    ),
    rules: Optional[list[str]] = RULES,
    packs: Optional[str] = PACKS,
    only: Optional[list[str]] = ONLY,
    disable: Optional[list[str]] = DISABLE,
    min_confidence: Optional[float] = MIN_CONFIDENCE,
    max_file_size: Optional[str] = MAX_FILE_SIZE,
    include: Optional[list[str]] = INCLUDE,
    exclude: Optional[list[str]] = EXCLUDE,
    follow_symlinks: Optional[bool] = FOLLOW_SYMLINKS,
    gitignore: Optional[bool] = GITIGNORE,
    text: Optional[bool] = TEXT,
    ignore_comments: Optional[bool] = IGNORE_COMMENTS,
    config: Optional[Path] = CONFIG,
    no_config: bool = NO_CONFIG,
    quiet: bool = QUIET,
    backend: Optional[str] = BACKEND,
    regex_timeout: Optional[float] = REGEX_TIMEOUT,
    jobs: Optional[int] = JOBS,
    ner: Optional[bool] = NER,
    ner_model: Optional[str] = NER_MODEL,
    test_code: Optional[list[str]] = TEST_CODE,
    key_file: Optional[str] = KEY_FILE,
    stdin_filename: Optional[str] = STDIN_FILENAME,
) -> None:
    """Scan files, folders or stdin for personal data and report what is found."""
    from piiscan.scan import (
        build_engine, filters_from, git_inputs, iter_inputs, jobs_for, scan_inputs,
    )

    flags = _selection_flags(rules, packs, only, disable, min_confidence, max_file_size, include,
                             exclude, follow_symlinks, gitignore, text, ignore_comments, backend,
                             regex_timeout)
    flags.update(
        format=output_format,
        show_values=show_values,
        fail_on=fail_on,
        report_unused_ignores=report_unused_ignores,
        baseline=baseline,
        jobs=jobs,
        ner=ner,
        ner_model=ner_model,
        test_code=_split(test_code) or None,
    )
    from_git = staged or history or since is not None
    if from_git and paths:
        raise UsageError("--staged, --since and --history take no paths", "run it in the repository")
    if staged and (history or since is not None):
        raise UsageError("--staged cannot be combined with --since or --history")
    targets = paths or ["."]
    stdin_name = _stdin_name(stdin_filename, paths or [])
    settings = _settings(flags, targets, config, no_config).settings
    if settings.baseline:  # read before the engine is built: it may name the fingerprint key
        baseline, key = _baseline_and_key(settings.baseline, key_file)
    else:
        baseline, key = None, _fingerprint_key(key_file)
    engine = build_engine(settings, key)
    if from_git:
        inputs = git_inputs(settings, staged=staged, since=since, history=history)
    else:
        inputs = iter_inputs(targets, settings, defer_reading=True, stdin_name=stdin_name)
    with _progress(enabled=not quiet) as on_progress:
        filters = filters_from(settings, key_id=engine.fingerprint_key_id, baseline=baseline)
        result = scan_inputs(engine, inputs, on_progress, filters, jobs_for(settings))
    if not quiet:
        _warn_incomplete(result)
        _warn_untrusted_cache()
    _write_report(result, settings.format, output, engine.rules, settings.show_values)
    raise typer.Exit(exit_code(result, settings.fail_on))


def _fingerprint_key(
    key_file: Optional[str], baseline: Optional["Baseline"] = None
) -> Optional[tuple[str, bytes]]:
    """(key id, key) that fingerprints are keyed with when a project key is configured (see
    Fingerprints in the README), else None: the baseline's key while the keyring holds it,
    else the primary one."""
    from piiscan.redact.keys import fingerprint_key, key_configured, load_keyring

    if not key_configured(key_file):
        return None
    return fingerprint_key(load_keyring(key_file), baseline.key_id if baseline else None)


def _baseline_and_key(
    path: "str | Path", key_file: Optional[str]
) -> tuple["Baseline", Optional[tuple[str, bytes]]]:
    """The baseline at `path` and the fingerprint key (see `_fingerprint_key`), checked to
    agree before anything is scanned: a missing or broken baseline, or one made with
    another key, costs no scan."""
    from piiscan.baseline import check_fingerprint_key, read_baseline

    baseline = read_baseline(path)
    key = _fingerprint_key(key_file, baseline)
    check_fingerprint_key(baseline, key[0] if key else None, str(path))
    return baseline, key


def _settings(flags: dict, targets: list[str], config: Optional[Path], no_config: bool):
    from piiscan.config import resolve

    first = next((t for t in targets if t != "-"), ".")
    resolved = resolve(flags, start=Path(first), config_file=config, use_config=not no_config)
    _state["origins"] = resolved.origins  # for an error in a setting found later (_placed)
    return resolved


@config_app.command("show")
def config_show(
    path: Optional[str] = typer.Argument(None, help="Where to look for config (default: here)."),
    config: Optional[Path] = typer.Option(None, "--config", help="Use this config file."),
) -> None:
    """Print the effective settings and where each one came from."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from piiscan.config import describe
    from piiscan.report.table import visible

    resolved = _settings({}, [path or "."], config, False)
    found = resolved.config_file
    typer.echo(f"config file: {found if found else '(none found)'}")
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("setting", "value", "from"):
        table.add_column(column)
    for name, value, origin in describe(resolved):
        table.add_row(Text(name), Text(visible(value)), Text(visible(origin)))
    Console(highlight=False, width=None if sys.stdout.isatty() else 200).print(table)


def exit_code(result: "ScanResult", fail_on: str) -> int:
    from piiscan.model import Severity

    if result.incomplete:
        return EXIT_ERROR
    if fail_on == "never":
        return EXIT_CLEAN
    threshold = Severity(fail_on).rank
    failing = any(f.severity.rank >= threshold for f in result.findings)
    return EXIT_FINDINGS if failing else EXIT_CLEAN


def _write_report(result, output_format, output, rules, show_values) -> None:
    from piiscan.report import render
    from piiscan.wholefile import write_whole

    if output is None:
        try:
            with _stdout_for(output_format) as stream:
                render(output_format, result, stream, rules=rules, show_values=show_values)
            sys.stdout.flush()
        except BrokenPipeError:
            # Whoever reads stdout went away: the report is lost, so this is no clean exit.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise PiiscanError("stdout was closed before the report was written") from None
        except OSError as exc:  # a full disk behind a redirect, an I/O error
            raise PiiscanError(f"cannot write the report to stdout: {exc.strerror or exc}") from None
        return
    try:
        write_whole(output, lambda handle: render(
            output_format, result, handle, rules=rules, show_values=show_values, color=False
        ))
    except OSError as exc:
        raise UsageError(f"{output}: cannot write the report: {exc.strerror or exc}") from None


@contextlib.contextmanager
def _stdout_for(output_format: str):
    """stdout for a report: the table in the terminal's encoding; JSON, SARIF and GitLab in
    UTF-8, as those formats are, whatever the locale's encoding (a Windows console's code
    page could not encode a path or snippet in another script, and the report stopped
    halfway)."""
    if output_format == "table" or not hasattr(sys.stdout, "buffer"):
        yield sys.stdout
        return
    import io

    sys.stdout.flush()
    # A lone surrogate (a file name undecodable on disk) goes out as `\udcff`: in a JSON
    # string, that same character escaped.
    stream = io.TextIOWrapper(
        sys.stdout.buffer, encoding="utf-8", errors="backslashreplace", newline="\n", write_through=True
    )
    try:
        yield stream
        stream.flush()
    finally:
        stream.detach()  # sys.stdout keeps its buffer


def _warn_incomplete(result: "ScanResult") -> None:
    from piiscan.report.table import visible

    for skipped in result.skipped:
        if skipped.is_error:
            detail = f" ({skipped.detail})" if skipped.detail else ""
            print(
                visible(f"piiscan: warning: {skipped.path}: {skipped.reason}{detail}"),
                file=sys.stderr,
            )


def _warn_untrusted_cache() -> None:
    from piiscan.diskcache import default_cache_dir, untrusted_folder
    from piiscan.report.table import visible

    folder = default_cache_dir()
    if untrusted_folder(folder):
        print(
            visible(f"piiscan: warning: cache folder {folder} is another user's or open to "
                    "others: it is not used, so every run compiles the rules again"),
            file=sys.stderr,
        )


class _progress:
    """A transient progress line on stderr, only when stderr is a terminal."""

    def __init__(self, enabled: bool) -> None:
        self._display = None
        if enabled and sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            self._display = Progress(
                SpinnerColumn(),
                TextColumn("{task.fields[files]} files · {task.fields[findings]} findings"),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=True,
            )

    def __enter__(self):
        if self._display is None:
            return None
        self._display.start()
        task = self._display.add_task("scan", files=0, findings=0)

        def update(progress) -> None:
            self._display.update(task, files=progress.files_done, findings=progress.findings)

        return update

    def __exit__(self, *exc) -> None:
        if self._display is not None:
            self._display.stop()


@app.command()
def redact(
    paths: Optional[list[str]] = PATHS,
    strategy: Optional[str] = typer.Option(
        None, "--strategy", help="label (default), mask, partial, hash or encrypt."
    ),
    strategy_for: Optional[list[str]] = typer.Option(
        None, "--strategy-for", help="ENTITY=STRATEGY for one entity (repeatable)."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print a masked diff; write nothing."),
    output_dir: Optional[Path] = typer.Option(
        None, "--output-dir", help="Write redacted copies here; leave the originals alone."
    ),
    unlinkable: Optional[bool] = typer.Option(
        None, "--unlinkable", help="encrypt: random-nonce tokens (equal values, different tokens)."
    ),
    staged: bool = typer.Option(
        False, "--staged", help="Redact the files staged in git (working copies); exit 1 if any changed."
    ),
    key_file: Optional[str] = KEY_FILE,
    rules: Optional[list[str]] = RULES,
    packs: Optional[str] = PACKS,
    only: Optional[list[str]] = ONLY,
    disable: Optional[list[str]] = DISABLE,
    min_confidence: Optional[float] = MIN_CONFIDENCE,
    max_file_size: Optional[str] = MAX_FILE_SIZE,
    include: Optional[list[str]] = INCLUDE,
    exclude: Optional[list[str]] = EXCLUDE,
    follow_symlinks: Optional[bool] = FOLLOW_SYMLINKS,
    gitignore: Optional[bool] = GITIGNORE,
    ignore_comments: Optional[bool] = IGNORE_COMMENTS,
    config: Optional[Path] = CONFIG,
    no_config: bool = NO_CONFIG,
    quiet: bool = QUIET,
    backend: Optional[str] = BACKEND,
    regex_timeout: Optional[float] = REGEX_TIMEOUT,
    ner: Optional[bool] = NER,
    ner_model: Optional[str] = NER_MODEL,
    stdin_filename: Optional[str] = STDIN_FILENAME,
) -> None:
    """Replace personal data in files (in place), or from stdin to stdout."""
    from dataclasses import replace

    from piiscan.config import coerce
    from piiscan.redact.keys import load_keyring
    from piiscan.redact.redactor import RedactOptions, check_strategy_entities
    from piiscan.redact.run import Target, redaction, run_over
    from piiscan.scan import build_engine, filters_from, iter_inputs

    flags = _selection_flags(rules, packs, only, disable, min_confidence, max_file_size, include,
                             exclude, follow_symlinks, gitignore, None, ignore_comments, backend,
                             regex_timeout)
    flags.update(strategy=strategy, unlinkable=unlinkable, ner=ner, ner_model=ner_model)
    stdin_name = _stdin_name(stdin_filename, [] if staged else paths or [])
    targets = _staged_paths() if staged else (paths or ["."])
    settings = _settings(flags, targets or ["."], config, no_config).settings
    if strategy_for:  # per-entity flags add to (and win over) the config's per-entity table
        try:
            extra = coerce("strategies", ",".join(strategy_for), from_text=True)
        except ValueError as exc:
            raise UsageError(f"--strategy-for: {exc}") from None
        settings = replace(settings, strategies={**(settings.strategies or {}), **extra})
    if dry_run and output_dir is not None:
        raise UsageError("--dry-run and --output-dir exclude each other")
    # A dry run prints the files: what the rules left out match is masked there too.
    engine = build_engine(settings, mask_left_out=dry_run)
    options = RedactOptions(settings.strategy, settings.strategies or {}, None, settings.scope,
                            settings.unlinkable)
    check_strategy_entities(options.strategies, engine.rules)
    if options.needs_key({r.entity for r in engine.rules}):
        options = replace(options, keyring=load_keyring(key_file))
    # A baseline lists findings accepted for now, not values to keep: all are redacted, and
    # the baseline (perhaps keyed, or not created yet) is not read.
    filters = filters_from(settings, use_baseline=False)
    transform = redaction(engine, options, allowlist=filters.allowlist,
                          ignore_comments=filters.ignore_comments, with_diff=dry_run)
    # Binary files are never rewritten, whether walked, named or --text.
    inputs = iter_inputs(targets, settings, named_binary=False, stdin_name=stdin_name) if targets else ()
    summary = run_over(inputs, transform, Target(dry_run=dry_run, output_dir=output_dir),
                       named=() if staged else _named(targets))
    for diff in summary.diffs:
        sys.stdout.write(diff)
    _finish(summary, "redacted" if not dry_run else "would redact", quiet,
            changed_is_failure=staged)


def _named(targets: list[str]) -> set[str]:
    """The reported paths of the files and folders named on the command line."""
    from piiscan.sources import named_path

    return {named_path(target) for target in targets}


def _staged_paths() -> list[str]:
    from piiscan.gitsource import staged_paths

    return staged_paths()


def _finish(summary, verb: str, quiet: bool, *, changed_is_failure: bool = False) -> None:
    """Print the summary and errors on stderr, then exit 2 on errors, else 0 (or 1)."""
    from piiscan.report.table import visible

    for _, message in summary.errors:
        print(visible(f"piiscan: error: {message}"), file=sys.stderr)
    if not quiet:
        spans = ", ".join(f"{n} {entity}" for entity, n in sorted(summary.replaced.items()))
        noun = "file" if summary.files_changed == 1 else "files"
        print(
            visible(f"piiscan: {verb} {summary.files_changed} {noun}" + (f": {spans}" if spans else "")),
            file=sys.stderr,
        )
    if summary.errors:
        raise typer.Exit(EXIT_ERROR)
    raise typer.Exit(EXIT_FINDINGS if changed_is_failure and summary.files_changed else EXIT_CLEAN)


@app.command()
def restore(
    paths: Optional[list[str]] = PATHS,
    entity: Optional[list[str]] = typer.Option(
        None, "--entity", help="Restore only tokens of this entity (repeatable, comma-separated)."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Count what would be restored."),
    output_dir: Optional[Path] = typer.Option(None, "--output-dir", help="Write restored copies here."),
    key_file: Optional[str] = KEY_FILE,
    config: Optional[Path] = CONFIG,
    no_config: bool = NO_CONFIG,
    quiet: bool = QUIET,
) -> None:
    """Turn encrypt tokens back into the original values (all, or chosen entities)."""
    from piiscan.redact.keys import load_keyring
    from piiscan.redact.run import Target, check_restored_entities, restoration, run_over
    from piiscan.scan import iter_inputs

    targets = paths or ["."]
    settings = _settings({}, targets, config, no_config).settings
    keyring = load_keyring(key_file)
    entities = _split(entity)
    transform = restoration(keyring, entities=entities, scope=settings.scope)
    inputs = iter_inputs(targets, settings, named_binary=False)
    summary = run_over(inputs, transform, Target(dry_run, output_dir), named=_named(targets))
    check_restored_entities(summary, entities, settings.packs, settings.rules)
    _finish(summary, "restored" if not dry_run else "would restore", quiet)


@app.command()
def keygen(
    output: Path = typer.Option(..., "--output", "-o", help="Keyring file to write (mode 0600)."),
    rotate: bool = typer.Option(
        False, "--rotate", help="Add a new primary key to an existing keyring; old keys stay."
    ),
    force: bool = typer.Option(False, "--force", help="Replace an existing file with a new keyring."),
) -> None:
    """Write a new keyring for the hash and encrypt strategies (never printed)."""
    from piiscan.redact import keys

    if rotate:
        keyring = keys.rotate(keys.load_keyring(str(output), environ={}))
        keys.write_keyring(keyring, output, overwrite=True)
    else:
        keyring = keys.generate_keyring()
        keys.write_keyring(keyring, output, overwrite=force)
    typer.echo(f"wrote {output} (primary key id {keyring.primary}); keep it secret and backed up",
               err=True)


@app.command()
def rekey(
    paths: Optional[list[str]] = PATHS,
    key_file: Optional[str] = KEY_FILE,
    dry_run: bool = typer.Option(False, "--dry-run", help="Count what would be re-encrypted."),
    config: Optional[Path] = CONFIG,
    no_config: bool = NO_CONFIG,
    quiet: bool = QUIET,
) -> None:
    """Re-encrypt tokens of older keys with the keyring's primary key (after keygen --rotate)."""
    from piiscan.redact.keys import load_keyring
    from piiscan.redact.run import Target, rekeying, run_over
    from piiscan.scan import iter_inputs

    targets = paths or ["."]
    settings = _settings({}, targets, config, no_config).settings
    transform = rekeying(load_keyring(key_file), scope=settings.scope)
    inputs = iter_inputs(targets, settings, named_binary=False)
    summary = run_over(inputs, transform, Target(dry_run=dry_run), named=_named(targets))
    _finish(summary, "re-keyed" if not dry_run else "would re-key", quiet)


DEFAULT_BASELINE = ".piiscan-baseline.json"
BASELINE_FILE_HELP = f"Baseline file (default: the config's `baseline`, else {DEFAULT_BASELINE})."


def _baseline_path(given: Optional[Path], settings: "Settings") -> Path:
    return given or Path(settings.baseline or DEFAULT_BASELINE)


def _baseline_settings(
    paths: Optional[list[str]], config: Optional[Path], no_config: bool
) -> tuple[list[str], "Settings"]:
    targets = paths or ["."]
    return targets, _settings({}, targets, config, no_config).settings


def _baseline_scan(
    targets: list[str], settings: "Settings", fingerprint_key: Optional[tuple[str, bytes]],
    quiet: bool,
) -> "ScanResult":
    """Scan as `scan` would (ignores and allowlist applied), but without any baseline."""
    from piiscan.scan import build_engine, filters_from, iter_inputs, scan_inputs

    engine = build_engine(settings, fingerprint_key, mask_left_out=False)
    result = scan_inputs(engine, iter_inputs(targets, settings, defer_reading=True), None,
                         filters_from(settings, use_baseline=False))
    if result.incomplete:
        if not quiet:
            _warn_incomplete(result)
        raise UsageError(
            "the scan was incomplete, so the baseline was not written",
            "an unreadable file would look fixed: fix the errors above first",
        )
    return result


@baseline_app.command("create")
def baseline_create(
    paths: Optional[list[str]] = PATHS,
    output: Optional[Path] = typer.Option(None, "--output", "-o", help=BASELINE_FILE_HELP),
    config: Optional[Path] = CONFIG,
    no_config: bool = NO_CONFIG,
    quiet: bool = QUIET,
    key_file: Optional[str] = KEY_FILE,
) -> None:
    """Record every current finding (by fingerprint, never the value) in a baseline file."""
    from piiscan.baseline import baseline_from_findings, write_baseline

    targets, settings = _baseline_settings(paths, config, no_config)
    key = _fingerprint_key(key_file)
    result = _baseline_scan(targets, settings, key, quiet)
    baseline = baseline_from_findings(result.findings, key[0] if key else None)
    path = _baseline_path(output, settings)
    write_baseline(baseline, path)
    typer.echo(f"piiscan: recorded {len(baseline)} findings in {path}", err=True)


@baseline_app.command("update")
def baseline_update(
    paths: Optional[list[str]] = PATHS,
    baseline_file: Optional[Path] = typer.Option(None, "--baseline", "-b", help=BASELINE_FILE_HELP),
    add_new: bool = typer.Option(False, "--add-new", help="Also record findings that are new."),
    config: Optional[Path] = CONFIG,
    no_config: bool = NO_CONFIG,
    quiet: bool = QUIET,
    key_file: Optional[str] = KEY_FILE,
) -> None:
    """Drop fixed findings from the baseline (keeping reasons); --add-new records new ones."""
    from piiscan.baseline import scanned_under, update_baseline, write_baseline

    targets, settings = _baseline_settings(paths, config, no_config)
    path = _baseline_path(baseline_file, settings)
    old, key = _baseline_and_key(path, key_file)
    result = _baseline_scan(targets, settings, key, quiet)
    new = update_baseline(old, result.findings, add_new=add_new, in_scope=scanned_under(targets))
    write_baseline(new, path)
    typer.echo(f"piiscan: {path}: {len(old)} -> {len(new)} findings", err=True)


@baseline_app.command("accept")
def baseline_accept(
    fingerprint: str = typer.Argument(..., help="Fingerprint (or a unique prefix) of the finding."),
    reason: str = typer.Option(..., "--reason", help="Why this finding is acceptable."),
    baseline_file: Optional[Path] = typer.Option(None, "--baseline", "-b", help=BASELINE_FILE_HELP),
    config: Optional[Path] = CONFIG,
    no_config: bool = NO_CONFIG,
) -> None:
    """Attach a reason to a baselined finding."""
    from piiscan.baseline import accept, read_baseline, write_baseline

    _, settings = _baseline_settings(None, config, no_config)
    path = _baseline_path(baseline_file, settings)
    write_baseline(accept(read_baseline(path), fingerprint, reason), path)


@rules_app.command("list")
def rules_list(
    rules: Optional[list[str]] = typer.Option(None, "--rules", help="Extra pack file or folder."),
    packs: str = typer.Option("all", "--packs", help="Built-in packs to list, or 'all'."),
    output_format: str = typer.Option("table", "--format", "-f", help="table or json."),
) -> None:
    """List the rules: id, entity, category, severity and pack."""
    import json

    from piiscan.rulepack import load_rules

    pack_names = _split([packs])
    loaded = load_rules(_split(rules), packs=pack_names)
    rows = [
        {
            "id": r.id,
            "entity": r.entity,
            "category": r.category.value,
            "severity": r.severity.value,
            "pack": r.pack,
            "name": r.name,
        }
        for r in loaded
    ]
    if output_format == "json":
        typer.echo(json.dumps(rows, indent=2))
        return
    if output_format != "table":
        raise UsageError(f"unknown format {output_format!r}", "use table or json")
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from piiscan.report.table import visible

    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("id", "entity", "category", "severity", "pack"):
        table.add_column(column)
    for row in rows:
        table.add_row(*(Text(visible(row[c])) for c in ("id", "entity", "category", "severity", "pack")))
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 200)
    console.print(table)
    console.print(f"{len(rows)} rules")


@rules_app.command("test")
def rules_test(
    packs: Optional[list[str]] = typer.Argument(
        None,
        help="Built-in pack names, or pack files or folders, to test (default: every built-in pack).",
        metavar="[PACK]...",
    ),
    backend: str = typer.Option("auto", "--backend", help="auto, hyperscan or regex."),
) -> None:
    """Run every rule's embedded match / no_match examples; exit 1 on any failure."""
    from piiscan.rulepack import builtin_packs, rules_to_test
    from piiscan.ruletest import run_rule_tests

    if packs:
        loaded = rules_to_test(packs)
    else:
        loaded = [r for pack in builtin_packs().values() for r in pack.rules]
    failures = run_rule_tests(loaded, backend=backend)
    for failure in failures:
        typer.echo(f"FAIL {failure.rule_id}: {failure.message}", err=True)
    examples = sum(len(r.tests.match) + len(r.tests.no_match) for r in loaded)
    typer.echo(f"{len(loaded)} rules, {examples} examples, {len(failures)} failed")
    raise typer.Exit(EXIT_FINDINGS if failures else EXIT_CLEAN)


def main(argv: Optional[list[str]] = None) -> None:
    """Console entry point: the one place errors become messages and exit codes.

    Typer's standalone mode itself exits 2 on usage errors and 130 on Ctrl-C inside a
    command (silently: the line below says why); what reaches the other handlers is ours
    (PiiscanError) or a bug.
    """
    _state["origins"] = {}  # a library caller may run several commands in one process
    try:
        app(args=argv, prog_name="piiscan")
    except SystemExit as exc:
        if exc.code == EXIT_INTERRUPTED:
            print("piiscan: interrupted", file=sys.stderr)
        raise
    except PiiscanError as exc:
        from piiscan.report.table import visible

        print(visible(f"piiscan: {exc.kind}: {_placed(exc)}"), file=sys.stderr)
        if exc.hint:
            print(visible(f"  hint: {exc.hint}"), file=sys.stderr)
        sys.exit(EXIT_ERROR)
    except KeyboardInterrupt:
        print("piiscan: interrupted", file=sys.stderr)
        sys.exit(EXIT_INTERRUPTED)
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): nothing more to say, and no traceback.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(EXIT_ERROR)
    except Exception as exc:  # noqa: BLE001 - the last line of defence
        # The message of an unexpected exception may quote a found value: print only its type.
        print(f"piiscan: internal error ({type(exc).__name__}); rerun with --debug", file=sys.stderr)
        if _state["debug"]:
            import traceback

            traceback.print_exc()
        sys.exit(EXIT_ERROR)


def _placed(exc: PiiscanError) -> str:
    """The error's message, led by the config file or environment variable that gave the
    setting at fault, when one did (a flag is the user's own last words)."""
    origin = _state.get("origins", {}).get(exc.setting) if exc.setting else None
    if origin is None or origin in ("default", "flag"):
        return exc.message
    if origin.startswith("env "):
        return f"environment {origin[len('env '):]}: {exc.message}"
    table = "tool.piiscan." if Path(origin).name == "pyproject.toml" else ""
    return f"{origin}: {table}{exc.setting}: {exc.message}"


def run() -> None:
    """The `piiscan` command: `main`, and an exit that skips the interpreter's last garbage
    collections."""
    try:
        main()
    finally:
        # All is written and the process is about to end: the collections the interpreter
        # runs while shutting down would walk the whole heap (~20 ms after a scan of the
        # standard library) to free next to nothing. They skip frozen objects; buffers,
        # open files and atexit handlers are flushed and closed as always, but an object
        # left in a reference cycle is not finalized (piiscan closes its files in `with`).
        gc.freeze()


if __name__ == "__main__":
    run()
