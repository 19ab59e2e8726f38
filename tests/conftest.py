"""Suite-wide setup: the tests never touch the user's own piiscan cache folder, nor use a
project key from the user's environment (tests that need a key set one)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session", autouse=True)
def private_cache_folder(tmp_path_factory):
    """Engines built with the default cache folder (and piiscan processes the tests start)
    use one temporary folder for the whole session: the user's ~/.cache/piiscan is neither
    filled nor cleaned up by the suite. Tests that need their own folder set it themselves."""
    folder = tmp_path_factory.mktemp("piiscan-cache")
    folder.chmod(0o700)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PIISCAN_CACHE_DIR", str(folder))
        for name in ("PIISCAN_KEY", "PIISCAN_KEY_FILE"):  # a key changes every fingerprint
            patch.delenv(name, raising=False)
        yield folder


@pytest.fixture
def own_cache_folder(tmp_path, monkeypatch):
    """A cache folder of the test's own (not created yet), with caching on."""
    folder = tmp_path / "cache"
    monkeypatch.delenv("PIISCAN_NO_CACHE", raising=False)
    monkeypatch.setenv("PIISCAN_CACHE_DIR", str(folder))
    return folder
