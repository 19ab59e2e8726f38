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
    regex_timeout: float = 2.0,
    ner: bool = False,
    ner_model: str | None = None,
    ner_entities: Sequence[str] | None = None,
    test_code: Sequence[str] = (),
) -> Engine:
    """A ready engine for these settings; built once per distinct settings and reused.

    `ner=True` adds spaCy's names and places (needs `pip install 'piiscan[ner]'` and a model):
    `ner_model` defaults to en_core_web_sm, `ner_entities` to PERSON, LOCATION and NRP.
    `test_code` adds gitignore-style globs of test code to the naming conventions. A list
    may also be given as one comma-separated string, as in a config file.
    """
    from piiscan.scan import EngineOptions, ner_options

    options = EngineOptions(
        packs=None if packs is None else _strings(packs),
        rule_paths=_strings(rules),
        only=_strings(only),
        disable=_strings(disable),
        min_confidence=min_confidence,
        backend=backend,
        regex_timeout=regex_timeout,
        ner=ner_options(ner, ner_model, None if ner_entities is None else _strings(ner_entities)),
        test_code=_strings(test_code),
    )
    return _cached_engine(options)


def _strings(values: str | Path | Sequence[str | Path]) -> tuple[str, ...]:
    # "qa/" is one glob, not three characters; a Path is one path, commas and all.
    if isinstance(values, Path):
        return (str(values),)
    if isinstance(values, str):
        return tuple(part.strip() for part in values.split(",") if part.strip())
    return tuple(str(value) for value in values)


@functools.lru_cache(maxsize=8)
def _cached_engine(options: EngineOptions) -> Engine:
    from piiscan.scan import build_engine

    return build_engine(options)


def scan_text(text: str | bytes, *, path: str = "<text>", **engine_settings) -> list[Finding]:
    """Findings in one string (bytes are decoded as a file's would be). Keyword arguments
    are those of `engine_for`."""
    from piiscan.model import Document

    return engine_for(**engine_settings).scan(Document(path=path, text=text, size=len(text)))


def scan_paths(paths: Sequence[str | Path], **settings) -> ScanResult:
    """Scan files and folders ("-" is stdin) as `piiscan scan` does, returning the result.

    Keyword arguments are the settings of `piiscan.config.Settings` (the names of the config
    file keys: `only`, `exclude`, `max_file_size`, `allowlist`, `baseline`, ...). Config files
    are not read: a library call does what its arguments say.
    """
    from dataclasses import replace

    from piiscan import scan
    from piiscan.config import SETTING_NAMES, Settings, coerce, setting_hint
    from piiscan.errors import UsageError

    typed = {}
    for name, value in settings.items():
        if name not in SETTING_NAMES:
            raise UsageError(f"scan_paths: unknown setting {name!r}", setting_hint(name))
        try:
            typed[name] = coerce(name, value, from_text=False)
        except ValueError as exc:
            raise UsageError(f"scan_paths: {name}: {exc}") from None
    chosen = replace(Settings(), **typed)
    engine = _cached_engine(scan.EngineOptions.from_settings(chosen))
    return scan.scan_paths([str(p) for p in paths], engine, chosen)
