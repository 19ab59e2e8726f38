"""The `.pre-commit-hooks.yaml` hooks, driven through the real pre-commit framework.

pre-commit installs a hook repository by cloning it at a revision, so the tests first record
this checkout's working tree (committed or not, as `pre-commit try-repo` would) as one commit
in a snapshot repository under a persistent cache. The commit has fixed author, date and no
parent, so its id depends only on the files: unchanged code gives the same revision, and
pre-commit's store (PRE_COMMIT_HOME, also cached) reuses the environment it installed for
it. The first run on a machine pip-installs piiscan and its dependencies into that
environment. `try-repo` always installs into a throwaway store: that test is the slow one.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from faker import Faker

PROJECT = Path(__file__).resolve().parents[1]
CACHE = Path(
    os.environ.get("PIISCAN_TEST_CACHE") or Path.home() / ".cache" / "piiscan-tests"
).resolve()
SSN = "536-22-1234"

fake = Faker()
Faker.seed(2718)


def clean_env(tmp_path: Path) -> dict[str, str]:
    """The environment without the machine's git config or an outer hook's git variables."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("GIT_")}
    env.update(
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_CONFIG_NOSYSTEM="1",
        PRE_COMMIT_HOME=str(CACHE / "pre-commit"),
        PRE_COMMIT_COLOR="never",
        TMPDIR=str(tmp_path),
    )
    return env


def run(argv: list[str], cwd: Path, env: dict[str, str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=900, **kwargs
    )


def git(cwd: Path, env: dict[str, str], *args: str) -> str:
    done = run(["git", *args], cwd, env)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.fixture(scope="session")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """(repository, revision) holding this checkout's working tree, for pre-commit to clone."""
    snapshot = CACHE / "project-snapshot.git"
    env = clean_env(tmp_path_factory.mktemp("snapshot"))
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / "project-snapshot.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two test runs at once must not share a half-made repo
        if not (snapshot / "HEAD").exists():
            git(CACHE, env, "init", "-q", "--bare", str(snapshot))
        index = tmp_path_factory.mktemp("index") / "index"
        tree_env = dict(env, GIT_INDEX_FILE=str(index))
        snap = ["--git-dir", str(snapshot), "--work-tree", str(PROJECT)]
        # The project's own .gitignore decides what belongs to it, as for `git add -A`. Tests,
        # benchmarks and fixtures are not needed to install the hook: leaving them out keeps
        # the revision (and the installed environment) unchanged while only they are edited.
        outside = [f":(exclude){folder}" for folder in ("tests", "bench", "fixtures", ".ci")]
        git(PROJECT, tree_env, *snap, "add", "-A", "--", ".", *outside)
        tree = git(PROJECT, tree_env, *snap, "write-tree")
        fixed = dict(
            env,
            GIT_AUTHOR_NAME="piiscan tests",
            GIT_AUTHOR_EMAIL="tests@piiscan.invalid",
            GIT_COMMITTER_NAME="piiscan tests",
            GIT_COMMITTER_EMAIL="tests@piiscan.invalid",
            GIT_AUTHOR_DATE="2000-01-01T00:00:00+00:00",
            GIT_COMMITTER_DATE="2000-01-01T00:00:00+00:00",
        )
        rev = git(PROJECT, fixed, "--git-dir", str(snapshot), "commit-tree", tree, "-m", "snapshot")
        git(PROJECT, env, "--git-dir", str(snapshot), "update-ref", "refs/heads/main", rev)
        git(PROJECT, env, "--git-dir", str(snapshot), "symbolic-ref", "HEAD", "refs/heads/main")
        _install_and_collect_garbage(str(snapshot), rev, env, tmp_path_factory.mktemp("gc"))
    return str(snapshot), rev


def _install_and_collect_garbage(repository: str, rev: str, env: dict, scratch: Path) -> None:
    """Install the environment for `rev` once, and drop those of older snapshots.

    Each environment is over 100 MB. `pre-commit gc` keeps what a config file that still
    exists refers to, so a config kept in the cache names the current revision; the configs
    of finished tests lived in deleted temp folders and no longer protect anything.
    """
    keeper = CACHE / "current-snapshot-config.yaml"
    keeper.write_text(hook_config(repository, rev))
    git(scratch, env, "init", "-q")
    for command in (["install-hooks", "--config", str(keeper)], ["gc"]):
        done = run(pre_commit(*command), scratch, env)
        assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture
def work_repo(tmp_path: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    """An empty git repository to commit into, and the environment to run things in."""
    root = tmp_path / "work"
    root.mkdir()
    env = clean_env(tmp_path)
    git(root, env, "init", "-q", "-b", "main")
    git(root, env, "config", "user.name", fake.name())
    git(root, env, "config", "user.email", fake.email())
    git(root, env, "config", "commit.gpgsign", "false")
    yield root, env


def write_leak(root: Path) -> Path:
    path = root / "customers.txt"
    path.write_text(f"name: {fake.name()}\nssn: {SSN}\ncity: {fake.city()}\n")
    return path


def write_clean(root: Path) -> Path:
    path = root / "notes.md"
    path.write_text(f"# {fake.sentence()}\n\n{fake.paragraph()}\n")
    return path


def hook_config(repository: str, rev: str) -> str:
    """A .pre-commit-config.yaml that runs the `piiscan` hook of `repository` at `rev`."""
    hook_repo = {"repo": repository, "rev": rev, "hooks": [{"id": "piiscan"}]}
    return yaml.safe_dump({"repos": [hook_repo]})


def pre_commit(*args: str) -> list[str]:
    return [sys.executable, "-m", "pre_commit", *args]


# --- tests --------------------------------------------------------------------------------


def test_manifest_is_valid_for_pre_commit(tmp_path: Path) -> None:
    manifest = PROJECT / ".pre-commit-hooks.yaml"
    done = run(pre_commit("validate-manifest", str(manifest)), PROJECT, clean_env(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    hooks = {hook["id"]: hook for hook in yaml.safe_load(manifest.read_text())}
    assert hooks["piiscan"]["entry"].split()[:2] == ["piiscan", "scan"]
    assert "manual" not in hooks["piiscan"].get("stages", [])
    assert hooks["piiscan-redact"]["entry"].split()[:2] == ["piiscan", "redact"]
    assert hooks["piiscan-redact"]["stages"] == ["manual"]
    for hook in hooks.values():
        assert (hook["language"], hook["types"]) == ("python", ["text"])


@pytest.mark.slow
def test_try_repo_fails_on_an_ssn(hook_repo, work_repo) -> None:
    # try-repo installs into a throwaway store every time (about 20 s): run it once only.
    repository, rev = hook_repo
    root, env = work_repo
    leak, clean = write_leak(root), write_clean(root)
    git(root, env, "add", "-A")

    blocked = run(
        pre_commit("try-repo", repository, "piiscan", "--ref", rev, "--color", "never",
                   "--files", leak.name, clean.name),
        root,
        env,
    )  # fmt: skip

    output = blocked.stdout + blocked.stderr
    assert blocked.returncode == 1, output
    hook_output = output.split("- exit code: 1", 1)[-1]
    assert "piiscan (personal data)" in output and "Failed" in output
    assert leak.name in hook_output
    assert clean.name not in hook_output  # only files with findings are listed
    assert "US_SSN" in hook_output
    assert "***-**-1234" in hook_output
    assert SSN not in output


@pytest.mark.slow
def test_hook_passes_a_clean_file_and_fails_a_leak(hook_repo, work_repo) -> None:
    root, env = work_repo
    (root / ".pre-commit-config.yaml").write_text(hook_config(*hook_repo))
    leak, clean = write_leak(root), write_clean(root)
    git(root, env, "add", "-A")
    hook = pre_commit("run", "piiscan", "--color", "never", "--files")

    passed = run([*hook, clean.name], root, env)
    failed = run([*hook, leak.name], root, env)

    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "Passed" in passed.stdout
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert leak.name in failed.stdout
    assert SSN not in failed.stdout + failed.stderr


@pytest.mark.slow
def test_git_commit_is_blocked_by_the_installed_hook(hook_repo, work_repo) -> None:
    repository, rev = hook_repo
    root, env = work_repo
    (root / ".pre-commit-config.yaml").write_text(hook_config(repository, rev))
    installed = run(pre_commit("install"), root, env)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    write_clean(root)
    git(root, env, "add", "-A")
    first = run(["git", "commit", "-m", "config and notes"], root, env)
    assert first.returncode == 0, first.stdout + first.stderr
    head_before = git(root, env, "rev-parse", "HEAD")

    leak = write_leak(root)
    git(root, env, "add", leak.name)
    blocked = run(["git", "commit", "-m", "add customers"], root, env)

    output = blocked.stdout + blocked.stderr
    assert blocked.returncode != 0, output
    assert "piiscan" in output and "Failed" in output
    assert leak.name in output
    assert SSN not in output
    assert git(root, env, "rev-parse", "HEAD") == head_before  # nothing was committed
    assert leak.name in git(root, env, "diff", "--cached", "--name-only")  # still staged

    # The same file, fixed and re-staged, goes through.
    leak.write_text(f"name: {fake.name()}\ncity: {fake.city()}\n")
    git(root, env, "add", leak.name)
    fixed = run(["git", "commit", "-m", "add customers without the SSN"], root, env)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert "Passed" in fixed.stdout + fixed.stderr
    assert git(root, env, "rev-parse", "HEAD~1") == head_before


@pytest.mark.slow
def test_hook_scans_the_staged_version_when_the_working_copy_differs(
    hook_repo, work_repo
) -> None:
    # pre-commit stashes unstaged edits before running hooks: the SSN that is staged but
    # deleted from the working copy must still block the commit.
    repository, rev = hook_repo
    root, env = work_repo
    (root / ".pre-commit-config.yaml").write_text(hook_config(repository, rev))
    assert run(pre_commit("install"), root, env).returncode == 0
    leak = write_leak(root)
    git(root, env, "add", "-A")
    leak.write_text(f"name: {fake.name()}\n")  # unstaged edit removes the SSN

    blocked = run(["git", "commit", "-m", "staged leak"], root, env)

    assert blocked.returncode != 0, blocked.stdout + blocked.stderr
    assert leak.name in blocked.stdout + blocked.stderr
    assert SSN not in leak.read_text()  # the working copy was restored after the hook
