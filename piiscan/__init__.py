"""piiscan: find and redact personal data in files, repositories and streams.

Library use (the CLI runs exactly this engine)::

    import piiscan
    findings = piiscan.scan_text("call me at +44 20 7946 0321")
    result = piiscan.scan_paths(["src/"], only=["core.email"])

Heavy modules are imported on first call, so `import piiscan` stays cheap.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

__version__ = "0.1.0"

if TYPE_CHECKING:
    from piiscan.engine import Engine
    from piiscan.model import Finding, ScanResult
    from piiscan.scan import EngineOptions

__all__ = ["__version__", "scan_text", "scan_paths", "engine_for"]


def engine_for(
    *,
    packs: Sequence[str] | None = ("core",),
    rules: Sequence[str | Path] = (),
    only: Sequence[str] = (),
    disable: Sequence[str] = (),
    min_confidence: float = 0.5,
    backend: str = "auto",
) -> Engine:
    """A ready engine for these settings; built once per distinct settings and reused."""
    from piiscan.scan import EngineOptions

    options = EngineOptions(
        packs=None if packs is None else tuple(packs),
        rule_paths=tuple(str(r) for r in rules),
        only=tuple(only),
        disable=tuple(disable),
        min_confidence=min_confidence,
        backend=backend,
    )
    return _cached_engine(options)


@functools.lru_cache(maxsize=8)
def _cached_engine(options: EngineOptions) -> Engine:
    from piiscan.scan import build_engine

    return build_engine(options)


def scan_text(text: str, *, path: str = "<text>", **engine_settings) -> list[Finding]:
    """Findings in one string. Keyword arguments are those of `engine_for`."""
    from piiscan.model import Document

    return engine_for(**engine_settings).scan(Document(path=path, text=text, size=len(text)))


def scan_paths(
    paths: Sequence[str | Path],
    *,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    max_file_size: int | None = None,
    follow_symlinks: bool = False,
    use_gitignore: bool = True,
    **engine_settings,
) -> ScanResult:
    """Scan files and folders ("-" is stdin) as `piiscan scan` does, returning the result."""
    from piiscan import scan
    from piiscan.sources import DEFAULT_MAX_FILE_SIZE

    sources = scan.SourceOptions(
        include=tuple(include),
        exclude=tuple(exclude),
        max_file_size=DEFAULT_MAX_FILE_SIZE if max_file_size is None else max_file_size,
        follow_symlinks=follow_symlinks,
        use_gitignore=use_gitignore,
    )
    return scan.scan_paths(paths, engine_for(**engine_settings), sources)
