"""Tests for piiscan.sources: decoding, walking, .gitignore, filters, links and special files.

Every file is generated in tmp_path; personal-looking content comes from a seeded Faker.
"""

from __future__ import annotations

import codecs
import errno
import io
import itertools
import os
import socket
import stat
import threading
from pathlib import Path

import pytest
from faker import Faker
from hypothesis import given
from hypothesis import strategies as st

from piiscan import sources
from piiscan.decoding import decode_bytes, is_binary
from piiscan.errors import UsageError
from piiscan.model import Document, Skipped, SkipReason
from piiscan.sources import iter_sources, read_stream

fake = Faker()
Faker.seed(4242)

ALL_BOMS = [
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
]


# --- helpers ------------------------------------------------------------------------------


def fake_text() -> str:
    """A few CRLF-terminated lines with a fake name, email and a non-ASCII character."""
    return f"name: {fake.name()}\r\nemail: {fake.email()}\r\ncity: Zürich\r\n"


def write(root: Path, rel: str, content: str | bytes | None = None) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    data = fake_text() if content is None else content
    if isinstance(data, str):
        path.write_bytes(data.encode("utf-8"))
    else:
        path.write_bytes(data)
    return path


def scan(*paths: object, **options: object) -> list[Document | Skipped]:
    return list(iter_sources([str(p) for p in paths], **options))  # type: ignore[arg-type]


def scanned(results: list[Document | Skipped]) -> list[str]:
    return [r.path for r in results if isinstance(r, Document)]


def skipped(results: list[Document | Skipped]) -> dict[str, Skipped]:
    return {r.path: r for r in results if isinstance(r, Skipped)}


def run_with_timeout(fn, seconds: float = 10.0):
    """Run fn in a daemon thread; fail (instead of hanging the suite) if it does not return."""
    outcome: dict[str, object] = {}

    def target() -> None:
        try:
            outcome["value"] = fn()
        except BaseException as exc:  # re-raised in the test thread below
            outcome["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"hung for more than {seconds}s"
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["value"]


# --- decoding -----------------------------------------------------------------------------


@pytest.mark.parametrize(("bom", "encoding"), ALL_BOMS)
def test_decode_every_bom_keeps_text_crlf_and_byte_order(bom: bytes, encoding: str) -> None:
    text = fake_text()
    data = bom + text.encode(encoding)
    decoded, got_encoding, got_bom = decode_bytes(data)
    assert (decoded, got_encoding, got_bom) == (text, encoding, bom)
    assert "\r\n" in decoded and "\ufeff" not in decoded
    assert got_bom + decoded.encode(got_encoding) == data


def test_decode_plain_utf8_without_bom() -> None:
    text = fake_text() + "mixed\nendings\rhere"
    assert decode_bytes(text.encode("utf-8")) == (text, "utf-8", b"")


def test_decode_invalid_utf8_falls_back_to_latin1_exactly() -> None:
    data = b"caf\xe9 owner: " + fake.name().encode() + b"\r\n\xff\xfe?"
    text, encoding, bom = decode_bytes(data)
    assert (encoding, bom) == ("latin-1", b"")
    assert text.startswith("café owner: ")
    assert text.encode(encoding) == data


def test_decode_utf8_bom_with_invalid_rest_keeps_bom_in_front_of_latin1() -> None:
    data = codecs.BOM_UTF8 + b"price \xa3 5\r\n"
    text, encoding, bom = decode_bytes(data)
    assert (text, encoding, bom) == ("price £ 5\r\n", "latin-1", codecs.BOM_UTF8)


def test_decode_utf32_le_bom_that_is_really_utf16_le() -> None:
    # FF FE 00 00 is also a UTF-16 LE BOM followed by U+0000; 6 bytes cannot be UTF-32.
    data = codecs.BOM_UTF16_LE + "\x00A".encode("utf-16-le")
    assert decode_bytes(data) == ("\x00A", "utf-16-le", codecs.BOM_UTF16_LE)


def test_decode_bom_lookalike_in_binary_data_is_not_trusted() -> None:
    data = codecs.BOM_UTF16_LE + b"\x00\xd8"  # a lone high surrogate: not UTF-16
    text, encoding, bom = decode_bytes(data)
    assert (encoding, bom) == ("latin-1", b"")
    assert text.encode("latin-1") == data


@given(st.binary(max_size=256))
def test_decode_round_trips_any_bytes(data: bytes) -> None:
    text, encoding, bom = decode_bytes(data)
    assert encoding in {"utf-8", "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be", "latin-1"}
    assert data.startswith(bom)
    assert bom + text.encode(encoding) == data


@given(st.sampled_from([b for b, _ in ALL_BOMS]), st.binary(max_size=64))
def test_decode_round_trips_any_bytes_after_a_bom(bom: bytes, rest: bytes) -> None:
    data = bom + rest
    text, encoding, got_bom = decode_bytes(data)
    assert got_bom + text.encode(encoding) == data


@given(st.sampled_from(ALL_BOMS), st.text(max_size=64).filter(lambda t: not t.startswith("\x00")))
def test_decode_recovers_any_text_written_with_a_bom(bom_and_codec, text: str) -> None:
    # Text starting with U+0000 is excluded: after FF FE it reads as the UTF-32 LE BOM, an
    # ambiguity that no BOM sniffer can resolve.
    bom, encoding = bom_and_codec
    assert decode_bytes(bom + text.encode(encoding)) == (text, encoding, bom)


def test_is_binary() -> None:
    text = fake_text().encode()
    assert not is_binary(text)
    assert is_binary(text[:10] + b"\x00" + text[10:])
    assert is_binary(text + b"\x00")
    assert not is_binary(codecs.BOM_UTF16_LE + "abc".encode("utf-16-le"))
    assert not is_binary(codecs.BOM_UTF32_BE + "abc".encode("utf-32-be"))
    assert is_binary(codecs.BOM_UTF8 + b"a\x00b")  # the UTF-8 BOM does not excuse a NUL
    assert is_binary(codecs.BOM_UTF16_LE + b"\x00\xd8\x00")  # BOM, but not valid UTF-16


# --- read_stream --------------------------------------------------------------------------


def test_read_stream_decodes_like_a_file() -> None:
    text = fake_text()
    data = codecs.BOM_UTF16_BE + text.encode("utf-16-be")
    doc = read_stream(io.BytesIO(data))
    assert doc == Document("-", text, "utf-16-be", codecs.BOM_UTF16_BE, size=len(data),
                           from_stdin=True)


def test_read_stream_accepts_text_wrapper_and_custom_name() -> None:
    data = b"id \x00 " + fake.email().encode() + b"\xff"  # binary stdin is still scanned
    wrapper = io.TextIOWrapper(io.BytesIO(data))
    doc = read_stream(wrapper, path="stdin.log")
    assert doc.path == "stdin.log" and doc.size == len(data) and doc.from_stdin
    assert doc.text.encode(doc.encoding) == data


# --- walking: order and paths -------------------------------------------------------------


def test_walk_order_is_sorted_preorder_and_paths_in_given_order(tmp_path: Path) -> None:
    for rel in ["c.txt", "a/z.txt", "b.txt", "a/b/x.txt", "a/a.txt"]:
        write(tmp_path / "tree", rel)
    write(tmp_path, "single.txt")
    results = scan(tmp_path / "single.txt", tmp_path / "tree")
    prefix = f"{tmp_path.as_posix()}/tree/"
    assert scanned(results) == [
        f"{tmp_path.as_posix()}/single.txt",
        prefix + "a/a.txt",
        prefix + "a/b/x.txt",
        prefix + "a/z.txt",
        prefix + "b.txt",
        prefix + "c.txt",
    ]
    assert scan(tmp_path / "single.txt", tmp_path / "tree") == results


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (".", ["fixtures/app.py", "src/app.py"]),
        ("./", ["fixtures/app.py", "src/app.py"]),
        ("fixtures/", ["fixtures/app.py"]),
        ("./fixtures", ["fixtures/app.py"]),
        ("fixtures//", ["fixtures/app.py"]),
        ("./src/app.py", ["src/app.py"]),
        ("src/./app.py", ["src/app.py"]),
    ],
)
def test_reported_paths_follow_what_the_user_typed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, given: str, expected: list[str]
) -> None:
    write(tmp_path, "src/app.py")
    write(tmp_path, "fixtures/app.py")
    monkeypatch.chdir(tmp_path)
    assert scanned(scan(given)) == expected


def test_absolute_root_is_reported_absolute(tmp_path: Path) -> None:
    write(tmp_path, "src/app.py")
    assert scanned(scan(tmp_path)) == [f"{tmp_path.as_posix()}/src/app.py"]


def test_document_fields(tmp_path: Path) -> None:
    text = fake_text()
    data = codecs.BOM_UTF16_LE + text.encode("utf-16-le")
    write(tmp_path, "notes.txt", data)
    (doc,) = scan(tmp_path)
    assert isinstance(doc, Document)
    assert (doc.text, doc.encoding, doc.bom, doc.size) == (
        text,
        "utf-16-le",
        codecs.BOM_UTF16_LE,
        len(data),
    )


def test_missing_path_is_reported_and_the_rest_scanned(tmp_path: Path) -> None:
    write(tmp_path, "ok.txt")
    missing = tmp_path / "nope"
    results = scan(missing, tmp_path / "ok.txt")
    assert results[0] == Skipped(
        missing.as_posix(), SkipReason.UNREADABLE, "no such file or directory"
    )
    assert results[0].is_error
    assert scanned(results) == [(tmp_path / "ok.txt").as_posix()]


# --- .git and .gitignore ------------------------------------------------------------------


def make_repo(root: Path) -> Path:
    (root / ".git" / "info").mkdir(parents=True)
    write(root, ".git/config", "[user]\n\temail = " + fake.email() + "\n")
    write(root, ".git/HEAD", "ref: refs/heads/main\n")
    return root


def test_dot_git_is_never_walked(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    write(repo, "app.py")
    for kwargs in ({}, {"use_gitignore": False}, {"include": [".git/**"]}):
        results = scan(repo, **kwargs)
        assert not any("/.git" in r.path for r in results), kwargs


def test_nested_gitignore_with_negation(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    write(repo, ".gitignore", "*.log\n!keep.log\nbuild/\n/top-only.txt\n")
    write(repo, "sub/.gitignore", "!sub.log\nsecret.txt\n")
    for rel in [
        "app.log",
        "keep.log",
        "top-only.txt",
        "build/out.txt",
        "main.py",
        "sub/top-only.txt",
        "sub/other.log",
        "sub/sub.log",
        "sub/secret.txt",
        "sub/deep/secret.txt",
        "other/secret.txt",
    ]:
        write(repo, rel)
    results = scan(repo)
    rel_paths = sorted(p.removeprefix(repo.as_posix() + "/") for p in scanned(results))
    assert rel_paths == [
        ".gitignore",
        "keep.log",
        "main.py",
        "other/secret.txt",
        "sub/.gitignore",
        "sub/sub.log",
        "sub/top-only.txt",
    ]
    assert skipped(results) == {}  # ignored files are pruned silently


def test_gitignore_prunes_a_long_path_that_pathspecs_hyperscan_backend_missed(tmp_path: Path) -> None:
    """pathspec's default backend (hyperscan, once installed) said "not ignored" for a
    66-character path under these common .gitignore lines; piiscan uses its plain-regex
    backend, which matches as git does."""
    repo = make_repo(tmp_path)
    write(repo, ".gitignore", "*.py[cod]\n*.egg-info/\nnosetests.xml\n.coverage\ncoverage.xml\n"
                              "htmlcov/\nreduced.pylintrc\n")
    compiled = "services/billing_export/__pycache__/invoice_builds.cpython-312.pyc"
    assert len(compiled) == 66
    write(repo, compiled)
    write(repo, "services/billing_export/invoice_builds.py")
    rel_paths = sorted(p.removeprefix(repo.as_posix() + "/") for p in scanned(scan(repo)))
    assert rel_paths == [".gitignore", "services/billing_export/invoice_builds.py"]


def test_a_gitignore_line_that_re_rejects_is_dropped_alone(tmp_path: Path) -> None:
    """pathspec leaves a reversed range such as [z-a] for `re` to reject, with an error that
    is not a ValueError: the walk stopped there. The line is dropped; the rest of the file
    still applies, as with any other malformed line."""
    repo = make_repo(tmp_path)
    write(repo, ".gitignore", "*.log\nreport-[z-a].txt\nbuild/\n")
    for rel in ["app.log", "build/out.txt", "notes.txt", "report-m.txt"]:
        write(repo, rel)
    rel_paths = sorted(p.removeprefix(repo.as_posix() + "/") for p in scanned(scan(repo)))
    assert rel_paths == [".gitignore", "notes.txt", "report-m.txt"]


def test_a_glob_that_re_rejects_is_a_usage_error_naming_it(project: Path) -> None:
    with pytest.raises(UsageError, match=r"--include pattern '\[z-a\]\.py'"):
        iter_sources(["."], include=["*.txt", "[z-a].py"])


def test_info_exclude_and_ancestor_gitignore_apply_to_a_subdirectory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo(tmp_path / "repo")
    write(repo, ".git/info/exclude", "local-*.txt\n/sub/anchored.txt\n*.md\n")
    write(repo, ".gitignore", "*.tmp\n!README.md\n")  # a .gitignore outranks info/exclude
    write(tmp_path, ".gitignore", "*.py\n")  # above the repository root: not git's business
    for rel in [
        "sub/local-notes.txt",
        "sub/anchored.txt",
        "sub/deeper/anchored.txt",
        "sub/x.tmp",
        "sub/README.md",
        "sub/CHANGES.md",
        "sub/app.py",
    ]:
        write(repo, rel)
    monkeypatch.chdir(repo)
    assert scanned(scan("sub")) == ["sub/README.md", "sub/app.py", "sub/deeper/anchored.txt"]


def test_nested_repository_starts_its_own_rules(tmp_path: Path) -> None:
    outer = make_repo(tmp_path / "outer")
    write(outer, ".gitignore", "*.txt\n")
    inner = make_repo(outer / "inner")
    write(inner, ".git/info/exclude", "*.csv\n")
    write(outer, "a.txt")
    write(inner, "b.txt")
    write(inner, "c.csv")
    write(outer, "d.csv")
    names = [p.removeprefix(outer.as_posix() + "/") for p in scanned(scan(outer))]
    assert names == [".gitignore", "d.csv", "inner/b.txt"]


def test_gitignore_off_and_explicit_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = make_repo(tmp_path)
    write(repo, ".gitignore", "*.log\nvendor/\n")
    write(repo, "app.log")
    write(repo, "vendor/lib.py")
    monkeypatch.chdir(repo)
    assert scanned(scan(".")) == [".gitignore"]
    assert scanned(scan(".", use_gitignore=False)) == [".gitignore", "app.log", "vendor/lib.py"]
    # Named explicitly, an ignored file is still scanned.
    assert scanned(scan("app.log", "vendor/lib.py")) == ["app.log", "vendor/lib.py"]


def test_gitignore_that_is_a_fifo_does_not_hang(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / ".gitignore")
    write(tmp_path, "a.txt")
    results = run_with_timeout(lambda: scan(tmp_path))
    assert scanned(results) == [(tmp_path / "a.txt").as_posix()]
    assert skipped(results)[(tmp_path / ".gitignore").as_posix()].reason is SkipReason.SPECIAL_FILE


# --- include / exclude --------------------------------------------------------------------


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for rel in ["src/a.py", "src/b.txt", "build/x.py", "build/y.py", "docs/readme.md"]:
        write(tmp_path, rel)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_excluded_directory_is_reported_once(project: Path) -> None:
    results = scan(".", exclude=["build/"])
    assert scanned(results) == ["docs/readme.md", "src/a.py", "src/b.txt"]
    assert skipped(results) == {
        "build": Skipped("build", SkipReason.EXCLUDED, "directory matched --exclude")
    }


def test_include_keeps_only_matching_files_and_exclude_wins(project: Path) -> None:
    results = scan(".", include=["*.py"], exclude=["y.py"])
    assert scanned(results) == ["build/x.py", "src/a.py"]
    # --include narrows the scope: files outside it are neither scanned nor listed as skipped
    # (listing every non-.py file of a big tree would drown the report).
    reasons = {path: s.reason for path, s in skipped(results).items()}
    assert reasons == {"build/y.py": SkipReason.EXCLUDED}
    assert "--exclude" in skipped(results)["build/y.py"].detail


def test_globs_match_relative_to_the_walked_root(project: Path) -> None:
    # "/a.py" is anchored to the walked root ("src"), not to the current directory.
    assert scanned(scan("src", exclude=["/a.py"])) == ["src/b.txt"]
    assert scanned(scan(".", exclude=["/a.py"])) == [
        "build/x.py",
        "build/y.py",
        "docs/readme.md",
        "src/a.py",
        "src/b.txt",
    ]


def test_filters_apply_to_explicit_files(project: Path) -> None:
    results = scan(
        "./build/x.py", "src/a.py", "docs/readme.md", exclude=["build/"], include=["*.py"]
    )
    assert scanned(results) == ["src/a.py"]
    assert {p: s.reason for p, s in skipped(results).items()} == {
        "build/x.py": SkipReason.EXCLUDED,
        "docs/readme.md": SkipReason.EXCLUDED,
    }


def test_invalid_glob_is_a_usage_error_at_call_time(project: Path) -> None:
    bad = "bad\\"
    with pytest.raises(UsageError, match="--exclude") as raised:
        iter_sources(["."], exclude=["ok/", bad, "also-ok/"])
    # The message names the culprit, not the globs around it.
    assert f"pattern {bad!r}" in raised.value.message
    assert "ok/" not in raised.value.message


# "[(?P<x>]" is a set of characters (its bracket reaches pathspec's regex as written): the
# join must not take it for a named group.
_GLOB_POOL = ["*.log", "build/", "/dist", "docs/**/*.md", "a?c", "[ab].py", "**/tmp", ".venv", "é*",
              "!keep.log", "!build/", "x/**", "[(?P<x>]"]
_PATHS = ["app.log", "keep.log", "src/app.log", "build", "build/", "build/x.py", "src/build/y", "dist",
          "dist/z", "src/dist", "docs/a/b.md", "docs/b.md", "abc", "a/abc", "a.py", "c.py", "tmp",
          "a/b/tmp/c", ".venv/bin/python", "étude.txt", "x/y/z", "/app.log", "./build/x.py", "x", "P",
          ":", "a/x"]


@pytest.mark.parametrize("size", [1, 2, 3])
def test_glob_matcher_answers_as_pathspec_does_for_every_few_globs(size) -> None:
    """Every list of `size` globs from a pool (negated ones included) against pathspec's
    answers, on paths chosen to be matched by one glob and not another."""
    for globs in itertools.combinations(_GLOB_POOL, size):
        spec = sources.spec_from(list(globs))
        matcher = sources.GlobMatcher.of(spec)
        assert (matcher.any_of is None) == any(glob.startswith("!") for glob in globs)
        for path in _PATHS:
            assert matcher.verdict(path) == spec.check_file(path).include, (globs, path)
            assert matcher.matches(path) == spec.match_file(path), (globs, path)


_GLOB_PARTS = ["a", "b.py", "*", "**", "?", "[ab]", "[!a]", "build", "x*.txt", "..", "é*"]
_PATH_PARTS = ["a", "b.py", "build", "x1.txt", "c", "ab", "..", "my file", "é.txt", "."]


_GLOB = st.tuples(
    st.booleans(),  # negated
    st.booleans(),  # anchored
    st.lists(st.sampled_from(_GLOB_PARTS), min_size=1, max_size=3),
    st.booleans(),  # directories only
)
_PATH = st.tuples(
    # Mostly none: a path with a leading "/" or "./" is left to pathspec itself.
    st.sampled_from(["", "", "", "", "/", "./"]),
    st.lists(st.sampled_from(_PATH_PARTS), min_size=1, max_size=4),
    st.booleans(),  # a directory's trailing "/"
)


@given(globs=st.lists(_GLOB, min_size=1, max_size=4), paths=st.lists(_PATH, min_size=1, max_size=8))
def test_glob_matcher_answers_as_pathspec_does(globs, paths) -> None:
    """The walk's shortcut (the globs' regexes joined, when none is negated) against
    pathspec's own `check_file` and `match_file`, with anchored, directory-only, negated and
    `**` globs, and paths with a leading "/" or "./" or a trailing "/"."""
    lines = [
        "!" * negated + "/" * anchored + "/".join(parts) + "/" * dir_only
        for negated, anchored, parts, dir_only in globs
    ]
    spec = sources.spec_from(lines)
    matcher = sources.GlobMatcher.of(spec)
    assert (matcher.any_of is None) == any(line.startswith("!") for line in lines)
    for prefix, parts, as_dir in paths:
        path = prefix + "/".join(parts) + "/" * as_dir
        assert matcher.verdict(path) == spec.check_file(path).include, (lines, path)
        assert matcher.matches(path) == spec.match_file(path), (lines, path)


# --- binary, size, unreadable -------------------------------------------------------------


@pytest.mark.parametrize("where", ["offset-10", "end"])
def test_binary_skipped_in_walk_but_scanned_when_named_or_forced(
    tmp_path: Path, where: str
) -> None:
    text = fake_text().encode()
    data = text[:10] + b"\x00" + text[10:] if where == "offset-10" else text + b"\x00"
    path = write(tmp_path, "blob.dat", data)
    shown = path.as_posix()

    (walked,) = scan(tmp_path)
    assert walked == Skipped(shown, SkipReason.BINARY, f"NUL byte at offset {data.index(0)}")

    for results in (scan(path), scan(tmp_path, force_text=True)):
        (doc,) = results
        assert isinstance(doc, Document) and doc.path == shown
        assert doc.bom + doc.text.encode(doc.encoding) == data
        assert doc.size == len(data)


def test_binary_with_invalid_utf8_named_explicitly_falls_back_to_latin1(tmp_path: Path) -> None:
    data = b"\x89PNG\r\n\x1a\n\x00\x00" + fake.email().encode()
    path = write(tmp_path, "img.png", data)
    (doc,) = scan(path)
    assert isinstance(doc, Document) and doc.encoding == "latin-1"
    assert doc.text.encode("latin-1") == data


def test_utf16_file_is_text_in_a_walk(tmp_path: Path) -> None:
    text = fake_text()
    write(tmp_path, "win.txt", codecs.BOM_UTF16_LE + text.encode("utf-16-le"))
    (doc,) = scan(tmp_path)
    assert isinstance(doc, Document) and doc.text == text


def test_size_limit_is_checked_before_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    limit = 1000
    write(tmp_path, "exact.txt", b"a" * limit)
    write(tmp_path, "over.txt", b"a" * (limit + 1))
    results = scan(tmp_path, max_file_size=limit)
    assert scanned(results) == [(tmp_path / "exact.txt").as_posix()]
    over = skipped(results)[(tmp_path / "over.txt").as_posix()]
    assert over.reason is SkipReason.TOO_LARGE
    assert str(limit + 1) in over.detail and "raise --max-file-size" in over.detail

    def no_reading(fd: int, n: int) -> bytes:
        raise AssertionError("content of an oversized file was read")

    monkeypatch.setattr(os, "read", no_reading)
    (again,) = scan(tmp_path / "over.txt", max_file_size=limit)
    assert again.reason is SkipReason.TOO_LARGE


def test_unreadable_file_is_reported_and_the_rest_scanned(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, "a.txt")
    locked = write(tmp_path, "b.txt")
    write(tmp_path, "c.txt")
    if os.geteuid() == 0:
        # root reads a mode-000 file anyway: simulate the kernel's refusal instead.
        real_open = os.open

        def refusing_open(path, flags, *args, **kwargs):
            if os.fspath(path) == str(locked):
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
            return real_open(path, flags, *args, **kwargs)

        monkeypatch.setattr(os, "open", refusing_open)
    else:
        locked.chmod(0)
    try:
        results = scan(tmp_path)
    finally:
        locked.chmod(0o644)
    assert scanned(results) == [(tmp_path / n).as_posix() for n in ("a.txt", "c.txt")]
    problem = skipped(results)[locked.as_posix()]
    assert problem == Skipped(locked.as_posix(), SkipReason.UNREADABLE, os.strerror(errno.EACCES))
    assert problem.is_error


def test_unlistable_directory_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, "locked/inner.txt")
    write(tmp_path, "open/ok.txt")
    locked = tmp_path / "locked"
    if os.geteuid() == 0:
        real_scandir = os.scandir

        def refusing_scandir(path="."):
            if os.fspath(path) == str(locked):
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
            return real_scandir(path)

        monkeypatch.setattr(os, "scandir", refusing_scandir)
    else:
        locked.chmod(0)
    try:
        results = scan(tmp_path)
    finally:
        locked.chmod(0o755)
    assert scanned(results) == [(tmp_path / "open/ok.txt").as_posix()]
    assert skipped(results) == {
        locked.as_posix(): Skipped(
            locked.as_posix(), SkipReason.UNREADABLE, os.strerror(errno.EACCES)
        )
    }


# --- symlinks -----------------------------------------------------------------------------


def test_symlinks_not_followed_by_default(tmp_path: Path) -> None:
    root = tmp_path / "root"
    write(tmp_path, "elsewhere/data.txt")
    write(root, "real.txt")
    (root / "dir-link").symlink_to(tmp_path / "elsewhere")
    (root / "file-link.txt").symlink_to(tmp_path / "elsewhere" / "data.txt")
    results = scan(root)
    assert scanned(results) == [(root / "real.txt").as_posix()]
    assert skipped(results) == {
        (root / "file-link.txt").as_posix(): Skipped(
            (root / "file-link.txt").as_posix(), SkipReason.SYMLINK, "--follow-symlinks scans its target"
        )
    }


def test_symlinks_followed_when_asked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "root"
    write(tmp_path, "elsewhere/data.txt")
    write(root, "real.txt")
    (root / "dir-link").symlink_to(tmp_path / "elsewhere")
    (root / "file-link.txt").symlink_to(tmp_path / "elsewhere" / "data.txt")
    monkeypatch.chdir(root)
    assert scanned(scan(".", follow_symlinks=True)) == [
        "dir-link/data.txt",
        "file-link.txt",
        "real.txt",
    ]


def test_symlink_named_explicitly_is_followed(tmp_path: Path) -> None:
    target = write(tmp_path, "target.txt")
    link = tmp_path / "link.txt"
    link.symlink_to(target)
    (doc,) = scan(link)
    assert isinstance(doc, Document) and doc.path == link.as_posix()
    assert doc.text == target.read_bytes().decode("utf-8")


def test_symlink_loop_terminates_and_is_reported_once(tmp_path: Path) -> None:
    root = tmp_path / "root"
    write(root, "a/file.txt")
    (root / "a" / "up").symlink_to("..")  # a/up -> root: an ancestor
    (root / "self").symlink_to("self")  # a link to itself: stat() says ELOOP
    results = run_with_timeout(lambda: scan(root, follow_symlinks=True))
    assert scanned(results) == [(root / "a/file.txt").as_posix()]
    loops = [r for r in results if isinstance(r, Skipped)]
    assert loops == [
        Skipped((root / "a/up").as_posix(), SkipReason.SYMLINK, "symlink loop"),
        Skipped((root / "self").as_posix(), SkipReason.SYMLINK, "symlink loop"),
    ]


@pytest.mark.parametrize("follow", [False, True])
def test_dangling_symlink_reported_once(tmp_path: Path, follow: bool) -> None:
    (tmp_path / "gone.txt").symlink_to(tmp_path / "never-existed.txt")
    results = scan(tmp_path, follow_symlinks=follow)
    shown = (tmp_path / "gone.txt").as_posix()
    assert results == [Skipped(shown, SkipReason.SYMLINK, "dangling symlink")]
    # Named, it is asked for: a target that cannot be read makes the scan incomplete.
    assert scan(tmp_path / "gone.txt") == [Skipped(shown, SkipReason.UNREADABLE, "dangling symlink")]


def test_a_named_symlink_loop_is_unreadable(tmp_path: Path) -> None:
    (tmp_path / "self").symlink_to("self")
    shown = (tmp_path / "self").as_posix()
    assert scan(tmp_path / "self") == [Skipped(shown, SkipReason.UNREADABLE, "symlink loop")]


# --- special files ------------------------------------------------------------------------


@pytest.fixture
def specials(tmp_path: Path):
    root = tmp_path / "s"  # short: a unix socket path must fit in ~100 bytes
    root.mkdir()
    os.mkfifo(root / "fifo")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(root / "sock"))
    (root / "zero").symlink_to("/dev/zero")
    (root / "fifo-link").symlink_to(root / "fifo")
    write(root, "plain.txt")
    yield root
    sock.close()


@pytest.fixture
def open_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    real_open = os.open

    def recording_open(path, flags, *args, **kwargs):
        calls.append(os.fspath(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", recording_open)
    return calls


def test_special_files_in_a_walk_are_never_opened(specials: Path, open_calls: list[str]) -> None:
    for follow in (False, True):
        open_calls.clear()
        results = run_with_timeout(lambda: scan(specials, follow_symlinks=follow))
        assert scanned(results) == [(specials / "plain.txt").as_posix()]
        reasons = {Path(p).name: s.reason for p, s in skipped(results).items()}
        expected_link = SkipReason.SPECIAL_FILE if follow else SkipReason.SYMLINK
        assert reasons == {
            "fifo": SkipReason.SPECIAL_FILE,
            "sock": SkipReason.SPECIAL_FILE,
            "zero": expected_link,
            "fifo-link": expected_link,
        }
        assert open_calls == [str(specials / "plain.txt")]


def test_special_files_named_explicitly_are_never_opened(
    specials: Path, open_calls: list[str]
) -> None:
    names = ["fifo", "sock", "zero", "fifo-link"]
    results = run_with_timeout(lambda: scan(*(specials / n for n in names), "/dev/null"))
    assert [(Path(r.path).name, r.reason) for r in results] == [
        (n, SkipReason.SPECIAL_FILE) for n in [*names, "null"]
    ]
    assert open_calls == []


def test_file_turned_fifo_after_stat_is_caught_by_fstat(specials: Path) -> None:
    # The open + fstat check is the safety net for a file swapped after the walk looked at it.
    for name, follow in [("fifo", False), ("zero", True)]:
        result = run_with_timeout(
            lambda: sources._load_file(
                str(specials / name),
                name,
                follow=follow,
                max_file_size=100,
                decode_binary=True,
            )
        )
        assert isinstance(result, Skipped) and result.reason is SkipReason.SPECIAL_FILE
    # Without following, a symlink swapped in is refused by O_NOFOLLOW rather than opened.
    swapped = sources._load_file(
        str(specials / "zero"), "zero", follow=False, max_file_size=100, decode_binary=True
    )
    assert swapped == Skipped("zero", SkipReason.SYMLINK, "became a symlink while the scan ran")


def test_socket_open_failure_is_a_special_file(specials: Path) -> None:
    result = sources._load_file(
        str(specials / "sock"), "sock", follow=False, max_file_size=100, decode_binary=True
    )
    assert isinstance(result, Skipped) and result.reason is SkipReason.SPECIAL_FILE
    assert stat.S_ISSOCK(os.lstat(specials / "sock").st_mode)


def test_a_folder_named_explicitly_is_walked_even_if_an_ancestor_ignores_it(tmp_path: Path) -> None:
    # e.g. `piiscan scan ~/.pyenv/versions/3.11/lib` where ~/.pyenv/.gitignore has /versions/
    (tmp_path / ".git").mkdir()
    (tmp_path / ".gitignore").write_text("/versions/\n*.log\n")
    write(tmp_path, "versions/lib/mod.py")
    write(tmp_path, "versions/lib/debug.log")
    results = list(iter_sources([str(tmp_path / "versions" / "lib")]))
    names = sorted(r.path.rsplit("/", 1)[-1] for r in results if isinstance(r, Document))
    assert names == ["debug.log", "mod.py"]
    # A walk from the repository root still prunes the ignored folder.
    walked = [r.path for r in iter_sources([str(tmp_path)]) if isinstance(r, Document)]
    assert walked == [f"{tmp_path.as_posix()}/.gitignore"]


def test_deferred_reading_gives_what_reading_at_once_gives(tmp_path: Path, monkeypatch) -> None:
    """With several workers the walk leaves small files to be read where they are scanned;
    what `load_file` reads then is what the walk would have read, skips included."""
    from piiscan.model import FileToRead, StreamedFile

    fake = Faker()
    fake.seed_instance(17)
    (tmp_path / "notes.txt").write_text(f"mail {fake.email()}\n", encoding="utf-8")
    (tmp_path / "latin.txt").write_bytes("caf\xe9\n".encode("latin-1"))
    (tmp_path / "blob.bin").write_bytes(b"\x00\x01\x02")
    (tmp_path / "huge.log").write_text("x" * 5000, encoding="utf-8")
    (tmp_path / "big.log").write_text("y\n" * 900, encoding="utf-8")
    monkeypatch.setattr(sources, "STREAM_THRESHOLD", 1000)
    at_once = list(iter_sources([str(tmp_path)], max_file_size=4000))
    deferred = list(iter_sources([str(tmp_path)], max_file_size=4000, defer_reading=True))
    # big.log, blob.bin, huge.log, latin.txt, notes.txt
    assert [type(item) for item in deferred] == [StreamedFile, FileToRead, Skipped, FileToRead, FileToRead]
    loaded = [sources.load_file(item) if isinstance(item, FileToRead) else item for item in deferred]
    assert loaded == at_once
    assert [type(item) for item in at_once] == [StreamedFile, Skipped, Skipped, Document, Document]


def test_files_carry_the_path_the_scope_globs_saw(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Documents, deferred files and the windows of large files keep the path relative to
    the walked folder (what `test_code` globs match), whatever the folder was called."""
    write(tmp_path, "proj/src/small.py", "x = 1\n")
    write(tmp_path, "proj/data/big.log", "line\n" * 400)
    monkeypatch.setattr(sources, "STREAM_THRESHOLD", 1000)
    scopes = {}
    for item in iter_sources([str(tmp_path / "proj")], defer_reading=True):
        loaded = sources.load_file(item) if isinstance(item, sources.FileToRead) else item
        if isinstance(loaded, sources.StreamedFile):
            windows = list(sources.iter_windows(loaded, window=500, overlap=50))
            assert len(windows) > 1
            scopes[loaded.scope_path] = {w.scope_path for w in windows}
        else:
            scopes[loaded.scope_path] = {loaded.scope_path}
    assert scopes == {"src/small.py": {"src/small.py"}, "data/big.log": {"data/big.log"}}
    (named,) = iter_sources([str(tmp_path / "proj" / "src" / "small.py")])
    assert named.scope_path is None  # named as given: the reported path is the one
