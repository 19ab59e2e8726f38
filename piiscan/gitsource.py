"""Git as a source of documents: the staged index, the files changed since a revision, history.

Everything is read through the `git` command (no library), never through a shell, with
`core.quotepath=off`, `LC_ALL=C` and no pager, so that paths arrive as raw bytes and messages
in one known language. Blob contents come from ONE long-lived `git cat-file --batch` process per
call, asked for one object at a time (request, then read the answer), so that nothing is
buffered beyond the current blob and the two pipes cannot deadlock. Blobs over the size limit
are read through in chunks and dropped, never held whole.

Only regular files are scanned: submodules (gitlinks, mode 160000) are skipped silently, as
they are a commit id and not content; a staged symlink is reported as skipped, as a walk does.

A git failure (not a repository, an unknown revision, git missing) is a `UsageError` carrying
git's own one-line reason and a hint; nothing here ever lets a traceback through.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Iterable, Iterator
from typing import IO

from piiscan.decoding import decode_bytes, is_binary
from piiscan.errors import UsageError
from piiscan.model import Document, Skipped, SkipReason
from piiscan.sources import DEFAULT_MAX_FILE_SIZE, too_large

_GIT_CONFIG = (
    "-c", "core.quotepath=off",  # raw bytes for non-ASCII paths (we read them with -z anyway)
    "-c", "diff.relative=false",  # a user setting must not make paths relative to a subfolder
    "-c", "log.showSignature=false",  # no gpg output mixed into `git log`
)  # fmt: skip
_MODE_GITLINK = b"160000"
_MODE_SYMLINK = b"120000"
_READ_CHUNK = 1 << 16
_DISCARD_CHUNK = 1 << 20
_COMMIT_MARK = b"\x01"  # starts each commit header in the `git log` stream; never in a sha/date
_GENERIC_HINT = "check that git works here: run the same git command in this folder"


# --- running git ---------------------------------------------------------------------------


def _git_env() -> dict[str, str]:
    env = dict(os.environ)  # keeps GIT_INDEX_FILE, which `git commit -a` sets for its hooks
    env.update(
        LC_ALL="C",
        GIT_PAGER="cat",
        PAGER="cat",
        GIT_TERMINAL_PROMPT="0",  # never wait for a password
        GIT_OPTIONAL_LOCKS="0",  # a read-only scan must not take the index lock
        GIT_NO_LAZY_FETCH="1",  # a partial clone must not fetch missing blobs over the network
    )
    return env


def _git_argv(repo: str, *args: str) -> list[str]:
    return ["git", "--no-pager", "-C", repo, *_GIT_CONFIG, *args]


def _reason(stderr: bytes) -> str:
    """git's first meaningful line, without its 'fatal: ' prefix."""
    for line in stderr.decode("utf-8", "replace").splitlines():
        line = line.strip()
        if line:
            for prefix in ("fatal: ", "error: "):
                line = line.removeprefix(prefix)
            return line
    return "git failed without a message"


def _hint_for(reason: str) -> str:
    if "not a git repository" in reason:
        return "run piiscan inside a git repository, or name files to scan instead"
    if "cannot change to" in reason:
        return "the repository folder does not exist"
    if "work tree" in reason:
        return "--staged and --since need a working tree, not a bare repository"
    return _GENERIC_HINT


def _git_failed(doing: str, repo: str, stderr: bytes) -> UsageError:
    reason = _reason(stderr)
    return UsageError(f"git: cannot {doing} in {repo}: {reason}", _hint_for(reason))


def _git_missing(exc: OSError) -> UsageError:
    if isinstance(exc, FileNotFoundError):
        return UsageError(
            "git is not installed or not on PATH",
            "install git to use --staged, --since or --history",
        )
    return UsageError(f"cannot run git: {exc.strerror or type(exc).__name__}", _GENERIC_HINT)


def _spawn_git(repo: str, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        _git_argv(repo, *args),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        env=_git_env(),
        check=False,
    )


def _run_git(repo: str, doing: str, *args: str) -> bytes:
    """Run one git command to completion and return its stdout; failure -> UsageError."""
    try:
        done = _spawn_git(repo, *args)
    except OSError as exc:
        raise _git_missing(exc) from None
    if done.returncode != 0:
        raise _git_failed(doing, repo, done.stderr)
    return done.stdout


def _resolve_commit(repo: str, rev: str) -> str | None:
    """The full commit id REV names, or None if REV names nothing (an unborn HEAD)."""
    try:
        done = _spawn_git(repo, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    except OSError as exc:
        raise _git_missing(exc) from None
    if done.returncode == 0:
        return done.stdout.decode("ascii").strip()
    if done.returncode == 1 and not done.stderr.strip():  # --quiet: it just does not resolve
        return None
    raise _git_failed(f"resolve {rev!r}", repo, done.stderr)


def _require_commit(repo: str, rev: str) -> str:
    # A revision that starts with "-" would be read by git as an option (--output=FILE ...).
    if not rev or rev.startswith("-") or "\x00" in rev:
        raise UsageError(f"invalid revision {rev!r}", "name a commit, branch or tag, e.g. HEAD~3")
    commit = _resolve_commit(repo, rev)
    if commit is None:
        raise UsageError(
            f"git: unknown revision {rev!r} in {repo}",
            "check it with `git rev-parse REV`; in a shallow clone, fetch more history",
        )
    return commit


def _path_text(raw: bytes) -> str:
    # Paths are bytes in git; undecodable bytes survive as surrogates, as os.listdir gives them.
    return os.fsdecode(raw)


# --- reading blobs -------------------------------------------------------------------------


class _BlobReader:
    """One `git cat-file --batch` process, asked for one object at a time."""

    def __init__(self, repo: str) -> None:
        self._repo = repo
        self._stderr = tempfile.TemporaryFile()  # a file, so a chatty git can never block on it
        try:
            self._proc = subprocess.Popen(
                _git_argv(repo, "cat-file", "--batch"),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self._stderr,
                env=_git_env(),
            )
        except OSError as exc:
            self._stderr.close()
            raise _git_missing(exc) from None

    def read(self, oid: str, max_size: int) -> tuple[int, bytes | None]:
        """-> (size, content), content None when over `max_size`; (-1, None) if missing."""
        proc = self._proc
        assert proc.stdin is not None and proc.stdout is not None
        try:
            proc.stdin.write(oid.encode("ascii") + b"\n")
            proc.stdin.flush()
        except OSError:  # the process died (BrokenPipeError): its stderr says why
            raise self._failure() from None
        header = proc.stdout.readline()
        if not header:
            raise self._failure()
        fields = header.split()
        if len(fields) != 3:  # "<oid> missing" (e.g. a partial clone) or "ambiguous"
            return -1, None
        size = int(fields[2])
        if size > max_size:
            _discard(proc.stdout, size + 1)
            return size, None
        data = proc.stdout.read(size)
        proc.stdout.read(1)  # the LF that ends every object
        if len(data) != size:
            raise self._failure()
        return size, data

    def _failure(self) -> UsageError:
        self._proc.wait()
        self._stderr.seek(0)
        return _git_failed("read objects", self._repo, self._stderr.read())

    def close(self) -> None:
        proc = self._proc
        if proc.stdin is not None:
            try:
                proc.stdin.close()  # EOF: cat-file exits by itself
            except OSError:
                pass
        _stop(proc)
        self._stderr.close()


def _discard(stream: IO[bytes], count: int) -> None:
    while count > 0:
        chunk = stream.read(min(count, _DISCARD_CHUNK))
        if not chunk:
            return
        count -= len(chunk)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Wait briefly for a process we are done with, then kill it; always reap it."""
    if proc.stdout is not None:
        proc.stdout.close()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _blob_to_item(
    reader: _BlobReader,
    oid: str,
    path: str,
    max_file_size: int,
    *,
    commit: str | None = None,
    commit_date: str | None = None,
) -> Document | Skipped:
    where = f" in commit {commit[:12]}" if commit else ""
    size, data = reader.read(oid, max_file_size)
    if size < 0:
        return Skipped(path, SkipReason.UNREADABLE, f"git object {oid[:12]} is missing{where}")
    if data is None:
        return too_large(path, size, max_file_size, where)
    if is_binary(data):
        return Skipped(path, SkipReason.BINARY, f"NUL byte at offset {data.index(0)}{where}")
    text, encoding, bom = decode_bytes(data)
    return Document(
        path=path,
        text=text,
        encoding=encoding,
        bom=bom,
        size=size,
        commit=commit,
        commit_date=commit_date,
    )


# --- the staged index ----------------------------------------------------------------------


def _raw_entries(output: bytes) -> Iterator[tuple[bytes, str, bytes]]:
    """(result mode, result oid, path) from `--raw -z --no-renames` output.

    A raw record is ":srcmode dstmode srcoid dstoid STATUS" then the path; a combined (merge)
    record has one leading ":" per parent and N+1 modes and oids. Either way the result's mode
    and oid are the last of their group.
    """
    tokens = iter(output.split(b"\x00"))
    for token in tokens:
        token = token.lstrip(b"\n")
        if not token.startswith(b":"):
            continue
        path = next(tokens, b"")
        mode, oid = _parse_raw(token)
        yield mode, oid, path


def _parse_raw(record: bytes) -> tuple[bytes, str]:
    parents = len(record) - len(record.lstrip(b":"))
    fields = record[parents:].split(b" ")
    return fields[parents], fields[2 * parents + 1].decode("ascii")


def _is_null_oid(oid: str) -> bool:
    return not oid.strip("0")


def staged_documents(
    repo: str = ".", *, max_file_size: int = DEFAULT_MAX_FILE_SIZE, relative_to: str | None = None
) -> Iterator[Document | Skipped]:
    """The index content of every added, copied, modified or type-changed staged file.

    What is scanned is what `git commit` would record, not the working tree. Paths are relative
    to the repository root, as git prints them (or to the folder `relative_to`, as a walk from
    there names them), in git's (byte) order. A renamed file is scanned
    at its new path (`--no-renames` shows it as added: its content is what matters). `--raw`
    gives each file's index mode and blob id, so the blobs are read by id and a path that holds
    a newline cannot confuse the line-based `cat-file --batch` protocol. Runs inside a hook too:
    `git commit -a` points GIT_INDEX_FILE at its temporary index, which we inherit.
    """
    # Checked first: outside a repository `git diff` silently turns into `git diff --no-index`,
    # and in a bare one `--cached` quietly compares nothing.
    root = repository_root(repo)
    listing = _run_git(
        repo,
        "list staged files",
        "diff", "--cached", "--raw", "-z", "--no-renames", "--no-abbrev", "--no-ext-diff",
        "--ignore-submodules=all", "--diff-filter=ACMT",
    )  # fmt: skip
    entries = [(mode, oid, _named(root, _path_text(path), relative_to))
               for mode, oid, path in _raw_entries(listing)]
    yield from _read_entries(repo, entries, max_file_size)


def _read_entries(
    repo: str, entries: list[tuple[bytes, str, str]], max_file_size: int
) -> Iterator[Document | Skipped]:
    wanted = []
    for mode, oid, path in entries:
        if mode == _MODE_GITLINK:
            continue
        if mode == _MODE_SYMLINK:
            yield Skipped(path, SkipReason.SYMLINK, "a link in git: its target is not scanned")
            continue
        wanted.append((oid, path))
    if not wanted:
        return  # no need to start cat-file at all: the common clean-index case stays cheap
    reader = _BlobReader(repo)
    try:
        for oid, path in wanted:
            yield _blob_to_item(reader, oid, path, max_file_size)
    finally:
        reader.close()


# --- changed since a revision --------------------------------------------------------------


def repository_root(repo: str = ".") -> str:
    """The absolute top folder of the work tree holding `repo`."""
    out = _run_git(repo, "find the repository root", "rev-parse", "--show-toplevel")
    root = os.fsdecode(out.rstrip(b"\n"))
    if not root:
        raise UsageError(
            f"git: {repo} has no working tree", "--staged and --since need a working tree"
        )
    return root


def changed_paths(since: str, repo: str = ".", relative_to: str | None = None) -> list[str]:
    """Tracked files that differ between SINCE and the working tree and still exist.

    Covers commits after SINCE, staged changes (a newly added file too) and unstaged edits;
    deleted files and submodules are left out, and so are untracked files (`git add` them to
    include them). Paths are relative to the repository root (see `repository_root`), or to
    the folder `relative_to`, sorted as git sorts them. An empty list means nothing changed: do not fall back to scanning ".".
    """
    root = repository_root(repo)
    commit = _require_commit(repo, since)
    listing = _run_git(
        repo,
        f"list files changed since {since!r}",
        "diff", "--name-only", "-z", "--no-renames", "--no-ext-diff", "--ignore-submodules=all",
        "--diff-filter=ACMT", commit, "--",
    )  # fmt: skip
    paths = [_path_text(raw) for raw in listing.split(b"\x00") if raw]
    # The diff already excludes deletions; lexists guards against a file removed meanwhile.
    return [_named(root, path, relative_to) for path in paths
            if os.path.lexists(os.path.join(root, path))]


def _named(root: str, path: str, relative_to: str | None) -> str:
    """A path git gives (relative to the repository's top), relative to `relative_to`."""
    return path if relative_to is None else os.path.relpath(os.path.join(root, path), relative_to)


def staged_paths(repo: str = ".") -> list[str]:
    """The working-tree files of what is staged, relative to the current folder.

    For `redact --staged`, which rewrites the files the user is about to commit (and leaves
    staging the result to them), unlike `staged_documents`, which reads the index.
    """
    root = repository_root(repo)
    listing = _run_git(
        repo,
        "list staged files",
        "diff", "--cached", "--name-only", "-z", "--no-renames", "--no-ext-diff",
        "--ignore-submodules=all", "--diff-filter=ACMT",
    )  # fmt: skip
    paths = [_path_text(raw) for raw in listing.split(b"\x00") if raw]
    return [_named(root, path, os.curdir) for path in paths
            if os.path.isfile(os.path.join(root, path))]


# --- history -------------------------------------------------------------------------------


def _nul_tokens(stream: IO[bytes]) -> Iterator[bytes]:
    """Split a stream on NUL bytes as it arrives, holding one chunk at most."""
    pending = b""
    while True:
        chunk = stream.read(_READ_CHUNK)
        if not chunk:
            break
        pending += chunk
        *complete, pending = pending.split(b"\x00")
        yield from complete
    if pending:
        yield pending


def _history_entries(tokens: Iterable[bytes]) -> Iterator[tuple[str, str, bytes, str, bytes]]:
    """(commit, author date, mode, oid, path) for every file record of the log stream."""
    commit = date = ""
    tokens = iter(tokens)
    for token in tokens:
        token = token.lstrip(b"\n")
        if token.startswith(_COMMIT_MARK):
            commit_b, _, date_b = token[1:].partition(b" ")
            commit, date = commit_b.decode("ascii"), date_b.decode("ascii")
        elif token.startswith(b":"):
            path = next(tokens, b"")  # taken verbatim: a path may itself start with ":" or LF
            mode, oid = _parse_raw(token)
            yield commit, date, mode, oid, path


def history_documents(
    repo: str = ".",
    *,
    since: str | None = None,
    max_file_size: int = DEFAULT_MAX_FILE_SIZE,
) -> Iterator[Document | Skipped]:
    """Every distinct blob added or modified by a commit reachable from HEAD, once.

    With `since`, only commits in SINCE..HEAD. Each blob is read once, under the first commit
    that introduced it, oldest first (`--topo-order --reverse`: parents before children, so the
    order is fixed by the graph and the first sighting is the introducing commit). Each
    Document carries `commit` (full id) and `commit_date` (author date, ISO 8601).

    Merges: `git log` shows no diff for a merge by default, so a blob written while resolving a
    merge (an "evil merge") would be missed. `-m` (diff against every parent) finds it but
    re-lists every change of the merged branch once per merge. `--first-parent` would not walk
    side branches at all, missing a value added and removed there before the merge. We use
    `-c` (combined diff): a merge lists exactly the files whose result differs from every
    parent, which is where a blob new to the merge can be; a result equal to some parent's
    version was already introduced by an ancestor that the walk visits anyway.

    Streams: one `git log` pass and one `cat-file --batch`, both read incrementally; only the
    set of blob ids already seen (20 bytes each) grows with the history. A HEAD with no
    commits yields nothing.
    """
    head = _resolve_commit(repo, "HEAD")
    if head is None:
        return
    revisions = [head] if since is None else [f"{_require_commit(repo, since)}..{head}"]
    log_argv = _git_argv(
        repo,
        "log", "--raw", "-z", "-c", "--no-renames", "--no-abbrev", "--no-ext-diff",
        "--no-textconv", "--root", "--topo-order", "--reverse", "--no-color",
        "--format=%x01%H %aI", *revisions, "--",
    )  # fmt: skip
    stderr = tempfile.TemporaryFile()
    try:
        log = subprocess.Popen(
            log_argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=stderr,
            env=_git_env(),
        )  # fmt: skip
    except OSError as exc:
        stderr.close()
        raise _git_missing(exc) from None
    reader: _BlobReader | None = None
    finished = False
    try:
        assert log.stdout is not None
        seen: set[bytes] = set()
        for commit, date, mode, oid, raw_path in _history_entries(_nul_tokens(log.stdout)):
            if not mode.startswith(b"100") or _is_null_oid(oid):
                continue  # deleted, a submodule or a symlink: no file content to scan
            key = bytes.fromhex(oid)
            if key in seen:
                continue
            seen.add(key)
            if reader is None:
                reader = _BlobReader(repo)
            yield _blob_to_item(
                reader, oid, _path_text(raw_path), max_file_size, commit=commit, commit_date=date
            )
        finished = True
    finally:
        if reader is not None:
            reader.close()
        if not finished:
            log.kill()  # the caller stopped early (or failed): do not read the rest
        _stop(log)
        stderr.seek(0)
        message = stderr.read()
        stderr.close()
    if log.returncode != 0:
        raise _git_failed("read the history", repo, message)
