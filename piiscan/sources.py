"""Turn what the user names (paths, stdin) into `Document`s to scan, or `Skipped` records.

No scanning happens here. The rules follow ripgrep's: a directory is walked in name order,
`.git/` is never entered, `.gitignore` files are honoured, symlinks are not followed unless
asked (and loops are caught by the (device, inode) of every ancestor), a file with a NUL byte
is binary and skipped in a walk but decoded when named explicitly. Only regular files are ever
read, and each one is opened non-blocking and checked with `fstat` first, so a FIFO or a device
cannot hang the scan. A problem with one file becomes a `Skipped` record, never an exception.
"""

from __future__ import annotations

import codecs
import errno
import os
import re
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO, NamedTuple

if TYPE_CHECKING:  # pathspec is imported when a walk needs it (a pre-commit run does not)
    from pathspec import GitIgnoreSpec

from piiscan.decoding import BOMS, decode_bytes, is_binary
from piiscan.errors import ScanError, UsageError
from piiscan.model import Document, FileToRead, Skipped, SkipReason, StreamedFile

DEFAULT_MAX_FILE_SIZE = 10 * 1024 * 1024

_O_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_EXTRA = getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
_READ_CHUNK = 1 << 20
NOT_INCLUDED = "not matched by --include"


def read_stream(stream: BinaryIO, path: str = "-") -> Document:
    """Read a whole stream (stdin) and decode it like a file named explicitly."""
    raw = getattr(stream, "buffer", stream)  # accept sys.stdin as well as sys.stdin.buffer
    try:
        data = raw.read()
    except OSError as exc:
        raise ScanError(f"cannot read {path}: {_strerror(exc)}") from None
    if isinstance(data, str):  # a text stream without a buffer (e.g. io.StringIO)
        data = data.encode("utf-8", "surrogateescape")
    text, encoding, bom = decode_bytes(data)
    return Document(path=path, text=text, encoding=encoding, bom=bom, size=len(data),
                    from_stdin=True)


# --- path display and filters -------------------------------------------------------------


def _display_root(given: str) -> str:
    """The path as the user gave it, POSIX separators, without "." parts or a trailing "/"."""
    posix = given.replace(os.sep, "/") if os.sep != "/" else given
    absolute = posix.startswith("/")
    parts = [part for part in posix.split("/") if part not in ("", ".")]
    joined = "/".join(parts)
    return "/" + joined if absolute else joined


def named_path(given: str) -> str:
    """How a path named on the command line is reported (the path of its Document or
    Skipped)."""
    return _join_display(_display_root(given), "")


def _join_display(prefix: str, rel: str) -> str:
    if not prefix:
        return rel or "."
    if not rel:
        return prefix
    return prefix + rel if prefix.endswith("/") else f"{prefix}/{rel}"


@dataclass(frozen=True, slots=True)
class PathScope:
    """The user's --include / --exclude globs (gitignore syntax); exclude wins.

    Public so that sources other than the walk (git's index and history) honour them too.
    """

    include: GlobMatcher | None
    exclude: GlobMatcher | None

    @classmethod
    def build(cls, include: Sequence[str], exclude: Sequence[str]) -> PathScope:
        return cls(user_matcher("--include", include), user_matcher("--exclude", exclude))

    def file_verdict(self, rel: str) -> str | None:
        """None if the file is in scope, else the reason it is excluded."""
        if self.exclude is not None and self.exclude.matches(rel):
            return "matched --exclude"
        if self.include is not None and not self.include.matches(rel):
            return NOT_INCLUDED
        return None

    def dir_excluded(self, rel: str) -> bool:
        # The trailing slash lets directory-only patterns such as "build/" match.
        return self.exclude is not None and self.exclude.matches(rel + "/")


class GlobMatcher(NamedTuple):
    """A gitignore-style pattern list, answered faster where it can be: a walk asks it about
    every entry (`--include`/`--exclude`, and each `.gitignore` on the way)."""

    spec: GitIgnoreSpec
    # When no glob is negated, "does any of them find the path" is the whole answer (the
    # last-match and directory-priority rules only decide between a glob and its negation):
    # the globs' regexes, pathspec's own translation, joined into one and searched once.
    # One glob: 1.6 -> 0.5 us a path; the 30 .gitignore files of a real tree (gsutil):
    # 6 -> 2 us a path and file. None: every path goes to pathspec.
    any_of: re.Pattern[str] | None

    @classmethod
    def of(cls, spec: GitIgnoreSpec) -> GlobMatcher:
        used = [pattern for pattern in spec.patterns if pattern.include is not None]
        if os.sep != "/" or os.altsep or not all(pattern.include for pattern in used):
            return cls(spec, None)
        return cls(spec, _joined([pattern.regex for pattern in used]))

    def verdict(self, path: str) -> bool | None:
        """`spec.check_file(path).include`: True where a glob matches, False where a negated
        one decides, None where none matches."""
        any_of = self.any_of
        # pathspec drops a leading "/" or "./" before matching: such a path takes its way.
        if any_of is None or path.startswith(("/", "./")):
            return self.spec.check_file(path).include
        return True if any_of.search(path) is not None else None

    def matches(self, path: str) -> bool:
        """`spec.match_file(path)`."""
        return bool(self.verdict(path))


# pathspec marks a directory match with this group; joined patterns cannot share its name.
# Only this exact text is made plain: a glob's bracket expression reaches the regex as it is
# written ("[(?P<x>]" is a set of characters), but never holds the "/" this text does.
_DIRECTORY_MARK = "(?P<ps_d>/)"


def _joined(regexes: list[re.Pattern[str]]) -> re.Pattern[str] | None:
    """One pattern that searches for any of `regexes`; None if they cannot be joined as they
    are (flags of their own, a group of another name: pathspec's translation has changed)."""
    if not regexes:
        return re.compile("(?!)")  # matches nothing
    if any(regex.flags != re.UNICODE for regex in regexes):
        return None
    sources = [regex.pattern.replace(_DIRECTORY_MARK, "(?:/)") for regex in regexes]
    try:
        joined = re.compile("|".join(f"(?:{source})" for source in sources))
    except re.error:
        return None
    return None if joined.groupindex else joined


def spec_from(lines: Sequence[str]) -> GitIgnoreSpec:
    """A gitignore-style matcher (pathspec, imported on first use); a malformed pattern
    raises ValueError."""
    from pathspec import GitIgnoreSpec

    # pathspec's plain-regex backend, not its default (hyperscan, since piiscan installs it):
    # the hyperscan one took 25-80 ms to build for 8-100 patterns, once per .gitignore file
    # (30 of them made a 4,700-file tree a second slower to scan), and it missed a match
    # the plain one finds (see test_sources: a 66-character path under a real .gitignore).
    try:
        return GitIgnoreSpec.from_lines(lines, backend="simple")
    except re.error as exc:  # a range such as [z-a]: pathspec leaves it to `re` to find
        raise ValueError(exc.msg) from None  # its position is in the translation, not the glob


def glob_verdict(matcher: GlobMatcher, path: str, scope_path: str | None) -> bool | None:
    """What gitignore-style globs say of a document: matched against the path relative to
    the scanned folder (`scope_path`, as --include and --exclude are), and where no glob
    matches that, against the reported path (a glob written with the folder's name in it).
    True, False for a negated glob, None when no glob matches either."""
    if scope_path is not None and scope_path != path:
        verdict = matcher.verdict(scope_path)
        if verdict is not None:
            return verdict
    return matcher.verdict(path)


def user_matcher(option: str, globs: Sequence[str]) -> GlobMatcher | None:
    spec = user_spec(option, globs)
    return None if spec is None else GlobMatcher.of(spec)


def user_spec(option: str, globs: Sequence[str]) -> GitIgnoreSpec | None:
    """The user's globs for `option` (None when there are none); a bad one is a UsageError
    that names it."""
    if not globs:
        return None
    try:
        return spec_from(list(globs))
    except ValueError as exc:
        error = exc
    for glob in globs:  # one at a time, so that the error names the culprit
        try:
            spec_from([glob])
        except ValueError as exc:
            raise UsageError(f"invalid {option} pattern {glob!r}: {exc}") from None
    raise UsageError(f"invalid {option} patterns: {error}")


# --- gitignore ----------------------------------------------------------------------------


class _IgnoreFile(NamedTuple):
    """One gitignore-style pattern list; its patterns are relative to `base` (a directory)."""

    base: str  # absolute, native separators
    matcher: GlobMatcher


_IgnoreChain = tuple[_IgnoreFile, ...]  # shallowest first; the last one that matches decides


def _is_ignored(chain: _IgnoreChain, abs_path: str, is_dir: bool) -> bool:
    # Git precedence: a deeper .gitignore overrides a shallower one, and inside one file the
    # last matching pattern wins (GlobMatcher.verdict does that part, negations included).
    for ignore in reversed(chain):
        prefix = ignore.base if ignore.base.endswith(os.sep) else ignore.base + os.sep
        if not abs_path.startswith(prefix):
            continue
        rel = abs_path[len(prefix) :]
        if os.sep != "/":
            rel = rel.replace(os.sep, "/")
        verdict = ignore.matcher.verdict(rel + "/" if is_dir else rel)
        if verdict is not None:
            return verdict
    return False


def _load_ignore_file(path: str, base: str) -> _IgnoreFile | None:
    """Parse one .gitignore or info/exclude; a missing, odd or unreadable one counts as empty."""
    content = _read_regular_quietly(path)
    if content is None:
        return None
    lines = content.decode("utf-8", "replace").splitlines()
    try:
        spec = spec_from(lines)
    except ValueError:  # one malformed pattern must not void the rest of the file
        spec = spec_from([line for line in lines if _pattern_ok(line)])
    return _IgnoreFile(base, GlobMatcher.of(spec)) if spec.patterns else None


def _pattern_ok(line: str) -> bool:
    try:
        spec_from([line])
    except ValueError:
        return False
    return True


def _read_regular_quietly(path: str, limit: int = DEFAULT_MAX_FILE_SIZE) -> bytes | None:
    # Same care as for scanned files: a .gitignore that is a FIFO must not hang the walk, and
    # git itself does not follow a symlinked .gitignore.
    try:
        fd = os.open(path, os.O_RDONLY | _O_NONBLOCK | _O_NOFOLLOW | _O_EXTRA)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > limit:
            return None
        return _read_fd(fd, limit)
    except OSError:
        return None
    finally:
        os.close(fd)


def _repository_chain(abs_dir: str) -> _IgnoreChain:
    """What a repository at `abs_dir` (it holds `.git`) ignores before its own .gitignore."""
    git_dir = os.path.join(abs_dir, ".git")
    if not os.path.isdir(git_dir):  # a worktree or submodule's .git file: no info/exclude here
        return ()
    exclude = _load_ignore_file(os.path.join(git_dir, "info", "exclude"), abs_dir)
    return (exclude,) if exclude else ()


def _ancestor_chain(abs_root: str) -> _IgnoreChain:
    """info/exclude and the .gitignore files above a walked root, up to its repository root.

    Outside a repository no ancestor's .gitignore applies (as in git); the root's own and the
    nested ones are always honoured, which is what a user scanning an export expects.
    """
    if os.path.lexists(os.path.join(abs_root, ".git")):
        return ()  # the root is a repository root itself: _open_dir starts its chain
    ancestors: list[str] = []
    current = abs_root
    while True:
        parent = os.path.dirname(current)
        if parent == current:
            return ()  # reached "/" without finding a repository
        current = parent
        ancestors.append(current)
        if os.path.lexists(os.path.join(current, ".git")):
            break
    chain = list(_repository_chain(ancestors[-1]))
    for directory in reversed(ancestors):  # repository root first, nearest parent last
        ignore = _load_ignore_file(os.path.join(directory, ".gitignore"), directory)
        if ignore:
            chain.append(ignore)
    if _is_ignored(tuple(chain), abs_root, True):
        # The user named a folder that the rules above it ignore (say, a virtualenv inside a
        # repository): naming it overrides them, as naming an ignored file does.
        return ()
    return tuple(chain)


# --- reading one file ---------------------------------------------------------------------


def _strerror(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def file_kind(mode: int) -> str:
    """What a non-regular file is, for messages: "named pipe (FIFO)", "socket", ..."""
    if stat.S_ISLNK(mode):
        return "symlink"
    if stat.S_ISFIFO(mode):
        return "named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISCHR(mode):
        return "character device"
    if stat.S_ISBLK(mode):
        return "block device"
    if stat.S_ISDIR(mode):
        return "directory"
    return "not a regular file"


def _size_text(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"


def too_large(shown: str, size: int, limit: int, where: str = "") -> Skipped:
    """A file over --max-file-size (`where`: " in commit ..." for a git blob)."""
    detail = (
        f"{size} bytes ({_size_text(size)}) is over the limit of {limit} bytes "
        f"({_size_text(limit)}){where}; raise --max-file-size to scan it"
    )
    return Skipped(shown, SkipReason.TOO_LARGE, detail)


def _read_fd(fd: int, limit: int) -> bytes:
    """Read up to `limit` bytes; a file that grew past its fstat size is still capped."""
    chunks: list[bytes] = []
    remaining = limit
    while remaining > 0:
        chunk = os.read(fd, min(remaining, _READ_CHUNK))
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def load_file(file: FileToRead) -> Document | StreamedFile | Skipped:
    """Read a file a walk deferred (`iter_sources(defer_reading=True)`)."""
    return _load_file(
        file.os_path, file.path, follow=file.follow, max_file_size=file.max_file_size,
        decode_binary=file.decode_binary, scope_path=file.scope_path,
    )


def _load_file(
    os_path: str, shown: str, *, follow: bool, max_file_size: int, decode_binary: bool,
    scope_path: str | None = None,
) -> Document | StreamedFile | Skipped:
    flags = os.O_RDONLY | _O_NONBLOCK | _O_EXTRA | (0 if follow else _O_NOFOLLOW)
    try:
        fd = os.open(os_path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP and not follow:  # became a symlink since we looked
            return Skipped(shown, SkipReason.SYMLINK, "became a symlink while the scan ran")
        if exc.errno == errno.ENXIO:  # a socket (or a device without a driver)
            return Skipped(shown, SkipReason.SPECIAL_FILE, _strerror(exc))
        return Skipped(shown, SkipReason.UNREADABLE, _strerror(exc))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return Skipped(shown, SkipReason.SPECIAL_FILE, file_kind(st.st_mode))
        if st.st_size > max_file_size:
            return too_large(shown, st.st_size, max_file_size)
        if st.st_size > STREAM_THRESHOLD:
            # Read window by window where it is scanned; a walk still skips it if binary.
            head = os.read(fd, _READ_CHUNK)
            if not decode_binary and is_binary(head):
                return Skipped(shown, SkipReason.BINARY, f"NUL byte at offset {head.index(0)}")
            return StreamedFile(path=shown, os_path=os_path, size=st.st_size, scope_path=scope_path)
        data = _read_fd(fd, max_file_size + 1)
    except OSError as exc:
        return Skipped(shown, SkipReason.UNREADABLE, _strerror(exc))
    finally:
        os.close(fd)
    if len(data) > max_file_size:  # grew between fstat and read
        return too_large(shown, len(data), max_file_size)
    if not decode_binary and is_binary(data):
        return Skipped(shown, SkipReason.BINARY, f"NUL byte at offset {data.index(0)}")
    text, encoding, bom = decode_bytes(data)
    return Document(path=shown, text=text, encoding=encoding, bom=bom, size=len(data),
                    scope_path=scope_path)


# --- large files, window by window -----------------------------------------------------------

# Files above this many bytes are not read whole but scanned in windows (bounded memory).
STREAM_THRESHOLD = 16 * 1024 * 1024
WINDOW_CHARS = 4 * 1024 * 1024
# Each window also sees this much of its neighbours: more than the longest match, the context
# window and the excerpt a fingerprint hashes, so a window finds exactly what a whole scan does.
WINDOW_OVERLAP = 4096


def iter_windows(
    streamed: StreamedFile, *, window: int | None = None, overlap: int | None = None
) -> Iterator[Document]:
    """Overlapping windows of a large file, decoded incrementally, each reporting its share.

    The codec is the one a whole read would choose (a BOM, else UTF-8 if the whole file is
    valid UTF-8, else latin-1), so the windows hold exactly the text a whole read gives.
    """
    window = WINDOW_CHARS if window is None else window
    overlap = WINDOW_OVERLAP if overlap is None else overlap
    blocks = _decoded_blocks(streamed.os_path)
    buf, buf_offset = "", 0  # decoded text kept, and the file offset of buf[0]
    lines_before, column_before = 0, 0  # line breaks before buf[0], and buf[0]'s column
    report = 0  # the file offset where the next window's report starts
    encoding, bom = "utf-8", b""
    header: str | None = None  # the first line, which later windows of a table need
    for block, encoding, bom in blocks:
        buf += block
        if header is None and buf_offset == 0 and "\n" in buf:
            header = buf[: buf.index("\n") + 1]
        while buf_offset + len(buf) - report >= window + overlap:
            yield _window(streamed, buf, buf_offset, lines_before, column_before, report,
                          report + window, overlap, encoding, bom, header)
            report += window
            cut = report - overlap - buf_offset
            if cut > 0:  # forget what no later window can see
                dropped = buf[:cut]
                breaks = dropped.count("\n")
                lines_before += breaks
                column_before = (
                    len(dropped) - dropped.rfind("\n") - 1 if breaks else column_before + cut
                )
                buf, buf_offset = buf[cut:], buf_offset + cut
    yield _window(streamed, buf, buf_offset, lines_before, column_before, report, None,
                  overlap, encoding, bom, header)


def _window(streamed, buf, buf_offset, lines_before, column_before, report, report_end,
            overlap, encoding, bom, header) -> Document:
    start = max(buf_offset, report - overlap)
    end = buf_offset + len(buf) if report_end is None else min(buf_offset + len(buf), report_end + overlap)
    local = start - buf_offset
    breaks = buf.count("\n", 0, local)
    column = local - buf.rfind("\n", 0, local) - 1 if breaks else column_before + local
    return Document(
        path=streamed.path,
        text=buf[local : end - buf_offset],
        encoding=encoding,
        bom=bom,
        size=streamed.size if report_end is None else 0,  # the size counts once, at the end
        offset=start,
        line_base=lines_before + breaks,
        column_base=column,
        report_from=report - start,
        report_to=None if report_end is None else report_end - start,
        header=header if start > 0 else None,
        scope_path=streamed.scope_path,
    )


def _decoded_blocks(os_path: str) -> Iterator[tuple[str, str, bytes]]:
    encoding, bom = _streamed_encoding(os_path)
    # errors="replace" only matters for a BOM file whose rest does not decode (where a whole
    # read falls back to latin-1): a UTF-8 choice was checked over the whole file first.
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    fd = os.open(os_path, os.O_RDONLY | _O_NONBLOCK | _O_EXTRA)
    try:
        data = _read_fd(fd, _READ_CHUNK)[len(bom) :]
        while data:
            yield decoder.decode(data), encoding, bom
            data = os.read(fd, _READ_CHUNK)
        tail = decoder.decode(b"", final=True)
        if tail:
            yield tail, encoding, bom
    finally:
        os.close(fd)


def _streamed_encoding(os_path: str) -> tuple[str, bytes]:
    """The codec `decode_bytes` would pick for the whole file, found in one streaming pass."""
    fd = os.open(os_path, os.O_RDONLY | _O_NONBLOCK | _O_EXTRA)
    try:
        first = _read_fd(fd, _READ_CHUNK)
        for mark, codec in BOMS:
            if first.startswith(mark):
                return codec, mark
        checker = codecs.getincrementaldecoder("utf-8")(errors="strict")
        data = first
        try:
            while data:
                checker.decode(data)
                data = os.read(fd, _READ_CHUNK)
            checker.decode(b"", final=True)
        except UnicodeDecodeError:
            return "latin-1", b""
        return "utf-8", b""
    finally:
        os.close(fd)


# --- walking ------------------------------------------------------------------------------


class _Options(NamedTuple):
    """How `iter_sources` treats what it walks."""

    filters: PathScope
    max_file_size: int
    follow_symlinks: bool
    use_gitignore: bool
    force_text: bool
    named_binary: bool
    defer_reading: bool


class _Dir(NamedTuple):
    """A directory being walked, and what its entries inherit."""

    abs_path: str
    rel: str  # relative to the walked root, POSIX separators, "" for the root
    chain: _IgnoreChain
    ancestors: frozenset[tuple[int, int]]  # (st_dev, st_ino) of it and every ancestor


def _symlink_target(abs_path: str) -> tuple[os.stat_result | None, str | OSError | None]:
    """stat() through a symlink (never opens it). -> (stat, None) or (None, problem detail)."""
    try:
        return os.stat(abs_path), None
    except FileNotFoundError:
        return None, "dangling symlink"
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return None, "symlink loop"
        return None, exc


def iter_sources(
    paths: Sequence[str],
    *,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    max_file_size: int = DEFAULT_MAX_FILE_SIZE,
    follow_symlinks: bool = False,
    use_gitignore: bool = True,
    force_text: bool = False,
    named_binary: bool = True,
    defer_reading: bool = False,
) -> Iterator[Document | StreamedFile | Skipped | FileToRead]:
    """A Document or a Skipped for every file in scope, in a deterministic order.

    `named_binary=False` skips binary files even when named explicitly: a scan may read them,
    a redaction must never rewrite them. `defer_reading=True` gives a `FileToRead` instead
    of each Document a regular file under the size limits would give (`load_file` reads it
    later, maybe in another process). A bad --include/--exclude glob raises UsageError here,
    at the call, not mid-iteration.
    """
    options = _Options(
        PathScope.build(include, exclude), max_file_size, follow_symlinks, use_gitignore,
        force_text, named_binary, defer_reading,
    )
    return _iter_all(list(paths), options)


def _iter_all(
    paths: list[str], options: _Options
) -> Iterator[Document | StreamedFile | Skipped | FileToRead]:
    for given in paths:
        yield from _iter_one(given, options)


def _iter_one(
    given: str, options: _Options
) -> Iterator[Document | StreamedFile | Skipped | FileToRead]:
    shown = named_path(given)
    try:
        st = os.lstat(given)
    except FileNotFoundError:
        yield Skipped(shown, SkipReason.UNREADABLE, "no such file or directory")
        return
    except OSError as exc:
        yield Skipped(shown, SkipReason.UNREADABLE, _strerror(exc))
        return
    if stat.S_ISLNK(st.st_mode):  # named explicitly: the user means what it points at
        target, problem = _symlink_target(given)
        if target is None:
            # Named, so asked for: its content could not be read, as for a missing path.
            detail = _strerror(problem) if isinstance(problem, OSError) else str(problem)
            yield Skipped(shown, SkipReason.UNREADABLE, detail)
            return
        st = target
    if stat.S_ISDIR(st.st_mode):
        yield from _walk(given, _display_root(given), st, options)
        return
    excluded = options.filters.file_verdict(shown)
    if excluded:
        yield Skipped(shown, SkipReason.EXCLUDED, excluded)
    elif not stat.S_ISREG(st.st_mode):
        yield Skipped(shown, SkipReason.SPECIAL_FILE, file_kind(st.st_mode))
    else:
        # ripgrep's rule: a file named explicitly is searched even if it looks binary, and
        # even if a .gitignore would have pruned it from a walk.
        yield _file(given, shown, st.st_size, True, options.named_binary, options, shown)


def _open_dir(directory: _Dir, options: _Options) -> tuple[_Dir, list[os.DirEntry[str]]]:
    """List a directory in name order and add its own ignore files to the chain (may raise)."""
    with os.scandir(directory.abs_path) as scan:
        entries = sorted(scan, key=lambda entry: entry.name)
    if not options.use_gitignore:
        return directory, entries
    chain = directory.chain
    names = {entry.name for entry in entries}
    if ".git" in names:
        # A repository root (the walked one or one nested in it): as in git, the rules of
        # the repository above stop here, and this one's info/exclude ranks below its
        # .gitignore files.
        chain = _repository_chain(directory.abs_path)
    if ".gitignore" in names:
        own = _load_ignore_file(os.path.join(directory.abs_path, ".gitignore"), directory.abs_path)
        if own:
            chain = (*chain, own)
    if chain is directory.chain:
        return directory, entries
    return _Dir(directory.abs_path, directory.rel, chain, directory.ancestors), entries


def _walk(
    given: str, root_display: str, root_stat: os.stat_result, options: _Options
) -> Iterator[Document | StreamedFile | Skipped | FileToRead]:
    abs_root = os.path.abspath(given)
    chain = _ancestor_chain(abs_root) if options.use_gitignore else ()
    root = _Dir(abs_root, "", chain, frozenset({(root_stat.st_dev, root_stat.st_ino)}))
    try:
        root, entries = _open_dir(root, options)
    except OSError as exc:
        yield Skipped(_join_display(root_display, ""), SkipReason.UNREADABLE, _strerror(exc))
        return
    # An explicit stack of (directory, its remaining entries) instead of recursion: depth is
    # bounded only by PATH_MAX, which is deeper than Python's recursion limit.
    stack: list[tuple[_Dir, Iterator[os.DirEntry[str]]]] = [(root, iter(entries))]
    while stack:
        directory, remaining = stack[-1]
        entry = next(remaining, None)
        if entry is None:
            stack.pop()
            continue
        item = _visit(entry, directory, root_display, options)
        if isinstance(item, _Dir):
            try:
                child, child_entries = _open_dir(item, options)
            except OSError as exc:
                shown = _join_display(root_display, item.rel)
                yield Skipped(shown, SkipReason.UNREADABLE, _strerror(exc))
                continue
            stack.append((child, iter(child_entries)))
        elif item is not None:
            yield item


def _visit(
    entry: os.DirEntry[str], directory: _Dir, root_display: str, options: _Options
) -> Document | StreamedFile | Skipped | FileToRead | _Dir | None:
    """Decide about one directory entry: a result to yield, a subdirectory to descend, or
    None for an entry that is out of scope."""
    if entry.name == ".git":  # never entered, never scanned, whatever it is
        return None
    abs_path = entry.path  # scandir joined it with the directory's (absolute) path
    rel = f"{directory.rel}/{entry.name}" if directory.rel else entry.name
    try:
        # A regular file is known from the listing (its d_type), and stat()ed for its size
        # only once it is in scope, which most entries of a narrowed walk are not.
        plain_file = entry.is_file(follow_symlinks=False)
        own = None if plain_file else entry.stat(follow_symlinks=False)
    except OSError as exc:
        return Skipped(_join_display(root_display, rel), SkipReason.UNREADABLE, _strerror(exc))

    is_link = own is not None and stat.S_ISLNK(own.st_mode)
    target: os.stat_result | None = own
    link_problem: str | OSError | None = None
    if is_link:
        target, link_problem = _symlink_target(abs_path)
    target_is_dir = target is not None and stat.S_ISDIR(target.st_mode)
    # Git treats a symlink as a file; only a followed directory link is matched as a directory.
    as_dir = target_is_dir and (not is_link or options.follow_symlinks)

    if options.use_gitignore and _is_ignored(directory.chain, abs_path, as_dir):
        return None  # out of scope by the user's own declaration: pruned silently
    if is_link and target_is_dir and not options.follow_symlinks:
        return None  # like ripgrep: a directory link is simply not part of an unfollowed walk

    if as_dir:
        shown = _join_display(root_display, rel)
        if options.filters.dir_excluded(rel):
            return Skipped(shown, SkipReason.EXCLUDED, "directory matched --exclude")
        assert target is not None
        identity = (target.st_dev, target.st_ino)
        if identity in directory.ancestors:
            return Skipped(shown, SkipReason.SYMLINK, "symlink loop")
        return _Dir(abs_path, rel, directory.chain, directory.ancestors | {identity})

    excluded = options.filters.file_verdict(rel)
    if excluded == NOT_INCLUDED:
        return None  # --include narrows the walk: the rest is out of scope, not "skipped"
    shown = _join_display(root_display, rel)
    if excluded:
        return Skipped(shown, SkipReason.EXCLUDED, excluded)
    if isinstance(link_problem, OSError):
        return Skipped(shown, SkipReason.UNREADABLE, _strerror(link_problem))
    if link_problem:
        return Skipped(shown, SkipReason.SYMLINK, str(link_problem))
    if is_link and not options.follow_symlinks:
        return Skipped(shown, SkipReason.SYMLINK, "--follow-symlinks scans its target")
    if plain_file:
        try:
            target = entry.stat(follow_symlinks=False)
        except OSError as exc:
            return Skipped(shown, SkipReason.UNREADABLE, _strerror(exc))
    assert target is not None
    if not stat.S_ISREG(target.st_mode):  # known from stat alone: never opened
        return Skipped(shown, SkipReason.SPECIAL_FILE, file_kind(target.st_mode))
    return _file(abs_path, shown, target.st_size, is_link, options.force_text, options, rel)


def _file(
    os_path: str, shown: str, size: int, follow: bool, decode_binary: bool, options: _Options,
    scope_path: str,
) -> Document | StreamedFile | Skipped | FileToRead:
    """A regular file: read now, or left for `load_file` (a file read in windows, or over
    the size limit, is opened here: what is done with it is decided in this process)."""
    deferred = FileToRead(shown, os_path, size, follow, options.max_file_size, decode_binary,
                          None if scope_path == shown else scope_path)
    if options.defer_reading and size <= min(STREAM_THRESHOLD, options.max_file_size):
        return deferred
    return load_file(deferred)
