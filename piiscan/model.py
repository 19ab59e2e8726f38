"""The data model shared by every stage: rules, documents, findings and scan results.

Everything here is a frozen, slotted dataclass so that stages can pass values along without
worrying about who else holds them, and so that the engine stays picklable for worker pools.
"""

from __future__ import annotations

import enum
import operator
from dataclasses import dataclass, field

# An entity's name, wherever one is written (packs, strategies, tokens): UPPER_SNAKE, and at
# most 64 characters, which a token has room for.
ENTITY_NAME = r"[A-Z][A-Z0-9_]{0,63}"


class Severity(str, enum.Enum):
    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]

    def __str__(self) -> str:
        return self.value


_SEVERITY_RANK = {s: i for i, s in enumerate(Severity)}


class Category(str, enum.Enum):
    """Privacy category of an entity (what kind of identifier it is)."""

    DIRECT = "direct"  # identifies a person on its own: name, email, SSN
    QUASI = "quasi"  # identifies in combination: ZIP code, birth date, gender
    SENSITIVE = "sensitive"  # special-category data: health, religion, biometrics
    INDIRECT = "indirect"  # points at a device or session: IP, MAC, cookie

    def __str__(self) -> str:
        return self.value


class Verdict(enum.Enum):
    """What a validator says of a candidate value."""

    VALID = "valid"  # checksum or format confirmed: confidence goes up
    INVALID = "invalid"  # cannot be this entity: the candidate is dropped
    UNKNOWN = "unknown"  # the validator cannot tell: confidence is left alone


# The pack of the rules that describe NER findings (their ids are "ner.<entity>").
NER_PACK = "ner"

@dataclass(frozen=True, slots=True)
class Pattern:
    """One regex of a rule and the base confidence of its matches.

    `prefilter`, when set, is a cheaper regex that matches inside every match of `regex`:
    hyperscan looks for it instead (a leading `[A-Za-z0-9._%+-]{0,63}` before an `@` makes
    hyperscan track a start at every letter of the text; `[A-Za-z0-9._%+-]@` does not), and
    the lines where it occurs are then confirmed with `regex` itself.
    """

    regex: str
    score: float
    name: str = ""
    prefilter: str = ""


@dataclass(frozen=True, slots=True)
class RuleTests:
    """A rule's embedded examples: texts it must match and texts it must not."""

    match: tuple[str, ...] = ()
    no_match: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Rule:
    """One detection rule as loaded from a pack (most fields are the pack's keys)."""

    id: str  # stable, lowercase, dotted: the SARIF ruleId and the key of baselines and ignores
    entity: str  # Presidio-style entity name, e.g. US_SSN
    name: str
    category: Category
    severity: Severity
    patterns: tuple[Pattern, ...]
    pack: str
    source: str  # file the rule was loaded from, for error messages
    description: str = ""
    validator: str | None = None  # name in piiscan.validators.VALIDATORS
    context: tuple[str, ...] = ()  # words near a match that raise its confidence
    context_required: bool = False  # drop a match that has no context word nearby
    keywords: tuple[str, ...] = ()  # cheap literal prefilter for the pure-regex backend
    exclude: tuple[str, ...] = ()  # regexes (searched in the value): never a finding
    test_values: tuple[str, ...] = ()  # regexes (searched in the value): well-known test data
    made_up_in_tests: bool = False  # in a test suite's source code its values are test data
    named_in_credits: bool = False  # credits in code give such values: below the threshold there
    tags: tuple[str, ...] = ()
    tests: RuleTests = field(default_factory=RuleTests)


@dataclass(frozen=True, slots=True)
class Document:
    """One decoded text to scan. `path` is the name to report ("-" for stdin, unless the
    user named it: the name also decides its file kind)."""

    path: str
    text: str
    encoding: str = "utf-8"  # explicit codec the bytes were decoded with (utf-16-le, latin-1, ...)
    bom: bytes = b""  # byte-order mark that preceded the text, kept for faithful rewriting
    size: int = 0  # size in bytes as read
    commit: str | None = None  # git commit the text came from, for history scans
    commit_date: str | None = None  # that commit's author date, ISO 8601
    # A window of a larger file (see sources.iter_windows): where text[0] sits in the file,
    # and which part of `text` this window reports (the rest is overlap with its neighbours).
    offset: int = 0  # characters before text[0]
    line_base: int = 0  # line breaks before text[0]
    column_base: int = 0  # characters between the start of its line and text[0]
    report_from: int = 0
    report_to: int | None = None  # None: to the end
    header: str | None = None  # a table's first line, for windows after the first
    # The path --include/--exclude saw: relative to the folder a walk started from, or as
    # given; None when that is `path` itself (stdin, git). What `test_code` globs match.
    scope_path: str | None = None
    from_stdin: bool = False  # a rewrite goes to standard output, whatever `path` says


@dataclass(frozen=True, slots=True)
class StreamedFile:
    """A file too large to hold whole: scanned window by window where it is scanned."""

    path: str  # as reported
    os_path: str  # as opened
    size: int
    scope_path: str | None = None  # see Document.scope_path


@dataclass(frozen=True, slots=True)
class FileToRead:
    """A file a walk found, read where it is scanned: with several workers, a worker reads
    it instead of the main process reading it and sending its text across."""

    path: str  # as reported
    os_path: str  # as opened
    size: int  # from stat, before reading: what batching goes by
    follow: bool  # open through a symlink
    max_file_size: int
    decode_binary: bool  # read it as text even if it looks binary
    scope_path: str | None = None  # see Document.scope_path


@dataclass(frozen=True, slots=True)
class Finding:
    """One reported match: where it is, what it is, how sure, and a masked snippet."""

    rule_id: str
    entity: str
    path: str
    start: int  # character offsets into the decoded text, end exclusive
    end: int
    line: int  # 1-based, of the start
    column: int  # 1-based, in characters
    end_line: int
    end_column: int  # 1-based, exclusive end column (one past the last character)
    confidence: float
    severity: Severity
    category: Category
    test_data: bool
    # The raw matched text: never printed unless the user asks (--show-values); not in the
    # repr either, which lands in logs and assertion messages.
    value: str = field(repr=False)
    # The line around the match (an excerpt of a long one) with every value a rule matched
    # on it masked, and with --only/--disable whatever the left-out rules' patterns match.
    snippet: str
    raw_snippet: str = field(repr=False)  # the same excerpt unmasked, only for --show-values
    fingerprint: str = ""
    commit: str | None = None
    commit_date: str | None = None

    def __reduce__(self):
        # Workers send findings back by the thousand: a tuple of the fields pickles in a
        # quarter of the time of the generated __getstate__, which lists fields() each time.
        return (Finding, _finding_fields(self))


_finding_fields = operator.attrgetter(*Finding.__slots__)


class SkipReason(str, enum.Enum):
    BINARY = "binary"
    TOO_LARGE = "too large"
    EXCLUDED = "excluded"
    SPECIAL_FILE = "not a regular file"
    SYMLINK = "symlink not followed"
    UNREADABLE = "unreadable"
    TIMEOUT = "regex timeout"
    ERROR = "error"

    def __str__(self) -> str:
        return self.value


# Reasons that mean the scan did not complete: they make the exit status 2.
INCOMPLETE_REASONS = frozenset({SkipReason.UNREADABLE, SkipReason.TIMEOUT, SkipReason.ERROR})


@dataclass(frozen=True, slots=True)
class Skipped:
    """An input that was not scanned, and why."""

    path: str
    reason: SkipReason
    detail: str = ""  # a human explanation, e.g. the OS error; never contains a found value

    @property
    def is_error(self) -> bool:
        return self.reason in INCOMPLETE_REASONS


@dataclass(frozen=True, slots=True)
class Stats:
    """Counts and timing of one scan."""

    files_scanned: int = 0
    files_skipped: int = 0
    bytes_scanned: int = 0
    seconds: float = 0.0
    suppressed: int = 0  # findings dropped by ignore comments, the allowlist or the baseline


@dataclass(frozen=True, slots=True)
class ScanResult:
    """Everything a scan found and skipped: what the reporters print."""

    findings: tuple[Finding, ...]
    skipped: tuple[Skipped, ...]
    stats: Stats
    unused_ignores: tuple = ()  # piiscan.suppress.UnusedIgnore records, when asked for

    @property
    def incomplete(self) -> bool:
        return any(s.is_error for s in self.skipped)
