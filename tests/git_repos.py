"""Real git repositories for the tests: run git, make a fresh repository, keep the machine's
git setup out.

Modules that build repositories import what they need; `isolate_git_environment` is meant
for an autouse fixture of their own.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest


def isolate_git_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the machine's git config and any outer hook's git variables out of a test."""
    for name in list(os.environ):
        if name.startswith("GIT_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")


def git(repo: Path, *args: str, date: str | None = None) -> str:
    """Run git in `repo` and return its output; `date` fixes author and committer dates."""
    env = dict(os.environ)
    if date is not None:
        env.update(GIT_AUTHOR_DATE=date, GIT_COMMITTER_DATE=date)
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, env=env, check=True)
    return done.stdout.decode("utf-8", "surrogateescape").strip()


def new_repository(root: Path, name: str, email: str) -> Path:
    """An empty repository on branch main, committing as `name` <`email`>, unsigned."""
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.name", name)
    git(root, "config", "user.email", email)
    git(root, "config", "commit.gpgsign", "false")
    return root
