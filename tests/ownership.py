"""Making a path another user's, for the cache folder's trust checks."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def hand_to_another_user(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """As root, chown `path` to another user; otherwise pretend to be another user (the
    path then stays the real user's, which is no longer "this user")."""
    if os.getuid() == 0:
        os.chown(path, 4242, -1)
    else:
        real = os.getuid()
        monkeypatch.setattr(os, "getuid", lambda: real + 1)
