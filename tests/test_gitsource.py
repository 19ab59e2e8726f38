"""Tests for piiscan.gitsource against real `git` repositories built in tmp_path.

Personal-looking values are fake: Faker emails and an SSN (536-22-1234) placed next to the
word "ssn" so that the real engine reports it.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
from pathlib import Path

import pytest
from faker import Faker

import piiscan
from piiscan import gitsource
from piiscan.errors import UsageError
from piiscan.gitsource import changed_paths, history_documents, staged_documents
from piiscan.model import Document, Skipped, SkipReason
from piiscan.report import render
from piiscan.scan import scan_inputs
from git_repos import git, isolate_git_environment, new_repository

fake = Faker()
Faker.seed(5150)

SSN = "536-22-1234"
SSN_LINE = f"employee ssn: {SSN}\n"


# --- helpers ------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def isolated_git(monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_git_environment(monkeypatch)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return new_repository(tmp_path / "repo", fake.name(), fake.email())


def write(root: Path, rel: str, content: str | bytes) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def commit(root: Path, message: str, date: str = "2024-03-01T10:00:00+01:00") -> str:
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message, date=date)
    return git(root, "rev-parse", "HEAD")


def clean_text() -> str:
    return f"title: {fake.sentence()}\nnotes: {fake.paragraph()}\n"


def entities(item: Document | Skipped) -> set[str]:
    assert isinstance(item, Document), item
    return {finding.entity for finding in piiscan.engine_for().scan(item)}


# --- staged ---------------------------------------------------------------------------------


def test_staged_scans_the_index_not_the_working_copy(repo: Path) -> None:
    write(repo, "base.txt", clean_text())
    commit(repo, "base")
    write(repo, "people.txt", clean_text() + SSN_LINE)
    git(repo, "add", "people.txt")
    write(repo, "people.txt", clean_text())  # the working copy no longer holds the SSN

    items = list(staged_documents(str(repo)))

    assert [item.path for item in items] == ["people.txt"]
    assert "US_SSN" in entities(items[0])
    assert SSN in items[0].text
    assert items[0].commit is None


def test_staged_ignores_pii_that_is_only_in_the_working_copy(repo: Path) -> None:
    write(repo, "people.txt", clean_text())
    commit(repo, "clean")
    write(repo, "people.txt", clean_text())
    git(repo, "add", "people.txt")
    write(repo, "people.txt", clean_text() + SSN_LINE)  # edited after staging: not staged

    items = list(staged_documents(str(repo)))

    assert [item.path for item in items] == ["people.txt"]
    assert "US_SSN" not in entities(items[0])
    assert SSN not in items[0].text
    assert SSN in (repo / "people.txt").read_text()


def test_staged_lists_only_what_is_staged(repo: Path) -> None:
    write(repo, "keep.txt", clean_text())
    write(repo, "gone.txt", clean_text())
    write(repo, "old-name.txt", clean_text() + f"contact: {fake.email()}\n")
    commit(repo, "base")
    git(repo, "rm", "-q", "gone.txt")
    git(repo, "mv", "old-name.txt", "new-name.txt")
    write(repo, "keep.txt", clean_text())  # modified but not staged
    write(repo, "untracked.txt", SSN_LINE)  # never added

    items = list(staged_documents(str(repo)))

    assert [item.path for item in items] == ["new-name.txt"]
    assert entities(items[0]) == {"EMAIL_ADDRESS"}


def test_staged_in_a_repository_without_commits(repo: Path) -> None:
    write(repo, "a.txt", SSN_LINE)
    write(repo, "sub/b.txt", clean_text())
    git(repo, "add", "-A")

    items = list(staged_documents(str(repo)))

    assert [item.path for item in items] == ["a.txt", "sub/b.txt"]
    assert "US_SSN" in entities(items[0])


def test_staged_paths_are_repository_relative_from_a_subfolder(repo: Path) -> None:
    write(repo, "deep/er/file.txt", SSN_LINE)
    git(repo, "add", "-A")

    items = list(staged_documents(str(repo / "deep")))

    assert [item.path for item in items] == ["deep/er/file.txt"]


def test_staged_odd_paths_survive(repo: Path) -> None:
    names = [
        "with space.txt", "naïve-ünïcode.txt", "new\nline.txt", ":colon.txt", '"quoted".txt'
    ]  # fmt: skip
    for name in names:
        write(repo, name, SSN_LINE)
    git(repo, "add", "-A")

    items = list(staged_documents(str(repo)))

    assert sorted(item.path for item in items) == sorted(names)
    assert all("US_SSN" in entities(item) for item in items)


def test_staged_skips_binary_large_symlink_and_submodule(repo: Path) -> None:
    write(repo, "image.bin", b"\x89PNG\x00\x00" + SSN.encode())
    write(repo, "big.txt", clean_text() * 200)
    write(repo, "small.txt", clean_text())
    os.symlink("small.txt", repo / "link.txt")
    git(repo, "add", "-A")
    sub_commit = commit(repo, "content")  # any commit id will do for a gitlink entry
    git(repo, "update-index", "--add", "--cacheinfo", f"160000,{sub_commit},vendor/sub")
    write(repo, "image.bin", b"\x00" + os.urandom(64))
    write(repo, "big.txt", clean_text() * 200)
    write(repo, "small.txt", SSN_LINE)
    os.remove(repo / "link.txt")
    os.symlink("big.txt", repo / "link.txt")
    git(repo, "add", "image.bin", "big.txt", "small.txt", "link.txt")

    items = list(staged_documents(str(repo), max_file_size=4096))

    by_path = {item.path: item for item in items}
    assert set(by_path) == {"image.bin", "big.txt", "small.txt", "link.txt"}  # no vendor/sub
    assert isinstance(by_path["image.bin"], Skipped)
    assert by_path["image.bin"].reason is SkipReason.BINARY
    assert isinstance(by_path["big.txt"], Skipped)
    assert by_path["big.txt"].reason is SkipReason.TOO_LARGE
    assert "--max-file-size" in by_path["big.txt"].detail
    # Told as a walk tells it (one wording for both).
    from piiscan.sources import iter_sources

    (walked,) = iter_sources([str(repo / "big.txt")], max_file_size=4096)
    assert by_path["big.txt"].detail == walked.detail
    assert isinstance(by_path["link.txt"], Skipped)
    assert by_path["link.txt"].reason is SkipReason.SYMLINK
    assert "US_SSN" in entities(by_path["small.txt"])


def test_staged_keeps_encoding_and_bom(repo: Path) -> None:
    text = "name: Zoë\r\n" + SSN_LINE
    write(repo, "wide.txt", b"\xff\xfe" + text.encode("utf-16-le"))
    git(repo, "add", "-A")

    [item] = staged_documents(str(repo))

    assert isinstance(item, Document)
    assert (item.encoding, item.bom, item.text) == ("utf-16-le", b"\xff\xfe", text)
    assert item.size == 2 + len(text.encode("utf-16-le"))
    assert "US_SSN" in entities(item)


def test_staged_reads_all_blobs_through_one_cat_file_process(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for index in range(6):
        write(repo, f"f{index}.txt", clean_text())
    git(repo, "add", "-A")
    commands: list[list[str]] = []
    real_popen = subprocess.Popen

    def recording_popen(argv, *args, **kwargs):
        commands.append(list(argv))
        return real_popen(argv, *args, **kwargs)

    monkeypatch.setattr(subprocess, "Popen", recording_popen)

    items = list(staged_documents(str(repo)))

    assert len(items) == 6
    cat_files = [argv for argv in commands if "cat-file" in argv]
    assert len(cat_files) == 1
    assert all(argv[0] == "git" for argv in commands)  # argv lists: never a shell


def test_staged_with_nothing_staged_starts_no_cat_file(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(repo, "a.txt", clean_text())
    commit(repo, "base")
    started: list[list[str]] = []
    real_popen = subprocess.Popen

    def recording_popen(argv, *args, **kwargs):
        started.append(list(argv))
        return real_popen(argv, *args, **kwargs)

    monkeypatch.setattr(subprocess, "Popen", recording_popen)

    assert list(staged_documents(str(repo))) == []
    assert not [argv for argv in started if "cat-file" in argv]


def test_staged_follows_the_index_git_commit_a_uses(repo: Path, monkeypatch) -> None:
    # `git commit -a` runs hooks with GIT_INDEX_FILE set to a temporary index.
    write(repo, "a.txt", clean_text())
    commit(repo, "base")
    write(repo, "a.txt", SSN_LINE)
    other_index = repo / ".git" / "other-index"
    env = dict(os.environ, GIT_INDEX_FILE=str(other_index))
    subprocess.run(["git", "-C", str(repo), "read-tree", "HEAD"], env=env, check=True)
    subprocess.run(["git", "-C", str(repo), "add", "a.txt"], env=env, check=True)

    assert list(staged_documents(str(repo))) == []  # the normal index has nothing staged
    monkeypatch.setenv("GIT_INDEX_FILE", str(other_index))
    [item] = staged_documents(str(repo))
    assert "US_SSN" in entities(item)


# --- changed since ----------------------------------------------------------------------------


def test_changed_paths_since_a_revision(repo: Path) -> None:
    for name in ("same.txt", "edited.txt", "deleted.txt", "committed-later.txt"):
        write(repo, name, clean_text())
    base = commit(repo, "base")
    write(repo, "committed-later.txt", clean_text())
    write(repo, "added-later.txt", clean_text())
    commit(repo, "later")
    write(repo, "edited.txt", clean_text())  # unstaged edit
    write(repo, "staged-new.txt", clean_text())
    git(repo, "add", "staged-new.txt")
    os.remove(repo / "deleted.txt")
    write(repo, "untracked.txt", SSN_LINE)

    paths = changed_paths(base, str(repo))

    assert paths == ["added-later.txt", "committed-later.txt", "edited.txt", "staged-new.txt"]
    assert changed_paths("HEAD", str(repo)) == ["edited.txt", "staged-new.txt"]


def test_changed_paths_accepts_names_and_are_repository_relative(repo: Path) -> None:
    write(repo, "a/one.txt", clean_text())
    commit(repo, "base")
    git(repo, "tag", "v1")
    write(repo, "a/two.txt", clean_text())
    commit(repo, "two")

    assert changed_paths("v1", str(repo / "a")) == ["a/two.txt"]
    assert changed_paths("main~1", str(repo)) == ["a/two.txt"]
    assert gitsource.repository_root(str(repo / "a")) == os.path.realpath(repo)


# --- history --------------------------------------------------------------------------------


def test_history_finds_a_value_added_then_removed(repo: Path) -> None:
    write(repo, "people.txt", clean_text())
    commit(repo, "start", date="2024-01-02T03:04:05+00:00")
    write(repo, "people.txt", clean_text() + SSN_LINE)
    leaked = commit(repo, "oops", date="2024-02-03T04:05:06-05:00")
    write(repo, "people.txt", clean_text())
    commit(repo, "remove it", date="2024-03-04T05:06:07+02:00")
    assert SSN not in (repo / "people.txt").read_text()

    items = list(history_documents(str(repo)))

    assert all(isinstance(item, Document) for item in items)
    with_ssn = [item for item in items if "US_SSN" in entities(item)]
    assert len(with_ssn) == 1
    [found] = with_ssn
    assert found.path == "people.txt"
    assert found.commit == leaked
    assert len(found.commit) == 40
    assert found.commit_date == "2024-02-03T04:05:06-05:00"
    [finding] = [f for f in piiscan.engine_for().scan(found) if f.entity == "US_SSN"]
    assert (finding.commit, finding.commit_date) == (leaked, "2024-02-03T04:05:06-05:00")
    # three versions of the file, oldest first
    assert [item.commit_date for item in items] == [
        "2024-01-02T03:04:05+00:00",
        "2024-02-03T04:05:06-05:00",
        "2024-03-04T05:06:07+02:00",
    ]


def test_history_reads_each_blob_once(repo: Path) -> None:
    shared = clean_text() + SSN_LINE
    write(repo, "a.txt", shared)
    write(repo, "copy/a.txt", shared)  # same content, same blob, two paths
    first = commit(repo, "two paths")
    write(repo, "later/a.txt", shared)  # the same blob again, in a later commit
    write(repo, "b.txt", clean_text())
    commit(repo, "later")
    write(repo, "a.txt", clean_text())
    commit(repo, "change a")
    write(repo, "a.txt", shared)  # back to the first content: a known blob
    commit(repo, "revert a")

    items = list(history_documents(str(repo)))

    texts = [item.text for item in items]
    assert len(texts) == len(set(texts)) == 3
    [ssn_doc] = [item for item in items if "US_SSN" in entities(item)]
    assert (ssn_doc.path, ssn_doc.commit) == ("a.txt", first)


def test_history_since_limits_the_range(repo: Path) -> None:
    write(repo, "old.txt", SSN_LINE)
    base = commit(repo, "old")
    write(repo, "new.txt", f"mail: {fake.email()}\n")
    newer = commit(repo, "new")

    items = list(history_documents(str(repo), since=base))

    assert [(item.path, item.commit) for item in items] == [("new.txt", newer)]
    assert list(history_documents(str(repo), since="HEAD")) == []


def test_history_finds_a_blob_written_in_a_merge_resolution(repo: Path) -> None:
    write(repo, "shared.txt", clean_text())
    commit(repo, "base")
    git(repo, "checkout", "-q", "-b", "side")
    write(repo, "side.txt", clean_text() + f"ssn {SSN}\n")
    side = commit(repo, "side adds a value")
    write(repo, "side.txt", clean_text())
    commit(repo, "side removes it before the merge")
    git(repo, "checkout", "-q", "main")
    write(repo, "main.txt", clean_text())
    commit(repo, "main moves on")
    git(repo, "merge", "-q", "--no-ff", "--no-commit", "side")
    write(repo, "shared.txt", clean_text() + f"backup contact: {fake.email()}\n")  # evil merge
    git(repo, "add", "shared.txt")
    merge = commit(repo, "merge side")

    items = list(history_documents(str(repo)))

    by_entity = {entity: item for item in items for entity in entities(item)}
    assert by_entity["US_SSN"].commit == side  # on a side branch, gone before the merge
    assert by_entity["EMAIL_ADDRESS"].commit == merge
    assert by_entity["EMAIL_ADDRESS"].path == "shared.txt"
    # every object in this fresh repository is reachable: each blob is read exactly once
    objects = git(repo, "cat-file", "--batch-all-objects", "--batch-check=%(objecttype)")
    assert len(items) == objects.split().count("blob")


def test_history_skips_binary_and_reports_the_commit(repo: Path) -> None:
    write(repo, "data.bin", b"\x00\x01" + SSN.encode())
    binary = commit(repo, "binary")

    [item] = history_documents(str(repo))

    assert isinstance(item, Skipped)
    assert item.reason is SkipReason.BINARY
    assert binary[:12] in item.detail


def test_history_of_an_empty_repository_is_empty(repo: Path) -> None:
    assert list(history_documents(str(repo))) == []


def test_history_can_stop_early(repo: Path) -> None:
    for index in range(5):
        write(repo, f"f{index}.txt", clean_text())
        commit(repo, f"c{index}")
    stream = history_documents(str(repo))

    first = next(stream)
    stream.close()  # kills and reaps git; must not raise or hang

    assert isinstance(first, Document)
    assert first.path == "f0.txt"


def test_history_commit_reaches_json_and_sarif(repo: Path) -> None:
    write(repo, "people.txt", SSN_LINE)
    leaked = commit(repo, "leak", date="2024-05-06T07:08:09+00:00")
    engine = piiscan.engine_for()

    result = scan_inputs(engine, history_documents(str(repo)))

    as_json = io.StringIO()
    render("json", result, as_json, rules=engine.rules)
    [entry] = [f for f in json.loads(as_json.getvalue())["findings"] if f["entity"] == "US_SSN"]
    assert (entry["commit"], entry["commit_date"]) == (leaked, "2024-05-06T07:08:09+00:00")
    as_sarif = io.StringIO()
    render("sarif", result, as_sarif, rules=engine.rules)
    results = json.loads(as_sarif.getvalue())["runs"][0]["results"]
    assert [r["properties"]["commit"] for r in results if r["ruleId"] == "us.ssn"] == [leaked]
    assert SSN not in as_json.getvalue() + as_sarif.getvalue()


# --- errors -------------------------------------------------------------------------------


def test_unknown_revision_is_a_usage_error(repo: Path) -> None:
    write(repo, "a.txt", clean_text())
    commit(repo, "base")
    with pytest.raises(UsageError) as since_error:
        changed_paths("no-such-branch", str(repo))
    assert "no-such-branch" in since_error.value.message
    assert since_error.value.hint
    with pytest.raises(UsageError):
        list(history_documents(str(repo), since="deadbeef" * 5))


@pytest.mark.parametrize("rev", ["--output={out}", "-p", ""])
def test_option_like_revisions_are_refused(repo: Path, tmp_path: Path, rev: str) -> None:
    write(repo, "a.txt", clean_text())
    commit(repo, "base")
    out = tmp_path / "written-by-git"
    rev = rev.format(out=out)
    with pytest.raises(UsageError, match="invalid revision"):
        changed_paths(rev, str(repo))
    with pytest.raises(UsageError, match="invalid revision"):
        list(history_documents(str(repo), since=rev))
    assert not out.exists()


@pytest.mark.parametrize(
    "call",
    [
        lambda path: list(staged_documents(path)),
        lambda path: changed_paths("HEAD", path),
        lambda path: list(history_documents(path)),
    ],
    ids=["staged", "since", "history"],
)
def test_outside_a_repository_is_a_usage_error(tmp_path: Path, monkeypatch, call) -> None:
    outside = tmp_path / "plain"
    outside.mkdir()
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))  # do not find a repo above
    with pytest.raises(UsageError) as error:
        call(str(outside))
    assert "not a git repository" in error.value.message
    assert "inside a git repository" in error.value.hint


def test_missing_folder_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot change to"):
        list(staged_documents(str(tmp_path / "nope")))


def test_git_not_installed_is_a_usage_error(repo: Path, monkeypatch) -> None:
    monkeypatch.setenv("PATH", str(repo))  # a folder without a git executable
    with pytest.raises(UsageError, match="git is not installed"):
        list(staged_documents(str(repo)))
    with pytest.raises(UsageError, match="git is not installed"):
        list(history_documents(str(repo)))


def test_bare_repository_has_no_index_to_scan(tmp_path: Path) -> None:
    bare = tmp_path / "bare.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    with pytest.raises(UsageError) as error:
        list(staged_documents(str(bare)))
    assert "work tree" in error.value.message
