"""Settings and where each one came from: defaults < config file < environment < flags.

The config file is the first `.piiscan.yaml` (or `.piiscan.yml`) or `pyproject.toml` with a
`[tool.piiscan]` table found walking up from the scanned path. Every setting a flag can set
can be set there too, under the same name with `_` for `-` (`fail_on`, `min_confidence`),
and in the environment as `PIISCAN_` plus the upper-case name (`PIISCAN_FAIL_ON=high`).

The fields of `Settings` are the schema: each carries its kind in its metadata, so adding a
setting is one field here plus, if it needs one, a flag in the CLI.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, NamedTuple

from piiscan.errors import ConfigError, UsageError
from piiscan.strictyaml import compose_yaml, node_to_data


CONFIG_FILES = (".piiscan.yaml", ".piiscan.yml", "pyproject.toml")
FORMATS = ("table", "json", "sarif", "gitlab")
FAIL_ON = ("info", "low", "medium", "high", "critical", "never")
BACKENDS = ("auto", "hyperscan", "regex")
STRATEGIES = ("label", "mask", "partial", "hash", "encrypt")
DEFAULT_MAX_FILE_SIZE = 10 * 1024 * 1024
# The NER defaults, here for every caller (the ner module itself is imported only when on).
DEFAULT_NER_MODEL = "en_core_web_sm"
DEFAULT_NER_ENTITIES = ("PERSON", "LOCATION", "NRP")


def _setting(default: Any, kind: str, *, choices: tuple[str, ...] = (), help: str = ""):
    if isinstance(default, (list, dict)):
        raise TypeError("defaults must be immutable")
    return field(default=default, metadata={"kind": kind, "choices": choices, "help": help})


@dataclass(frozen=True, slots=True)
class Settings:
    """Every setting of a scan or redaction, with its default."""

    # what to scan and how
    packs: tuple[str, ...] = _setting(("core",), "list", help="built-in packs, or 'all'")
    rules: tuple[str, ...] = _setting((), "paths", help="extra pack files or folders")
    only: tuple[str, ...] = _setting((), "list", help="rule ids or entities to keep")
    disable: tuple[str, ...] = _setting((), "list", help="rule ids or entities to drop")
    min_confidence: float = _setting(0.5, "fraction", help="drop findings below this")
    backend: str = _setting("auto", "choice", choices=BACKENDS)
    regex_timeout: float = _setting(2.0, "seconds", help="per rule and segment")
    jobs: int = _setting(0, "count", help="worker processes (0: one per core)")
    include: tuple[str, ...] = _setting((), "list", help="only files matching these globs")
    exclude: tuple[str, ...] = _setting((), "list", help="skip files matching these globs")
    max_file_size: int = _setting(DEFAULT_MAX_FILE_SIZE, "size", help="skip larger files")
    follow_symlinks: bool = _setting(False, "bool", help="follow symbolic links in walks")
    gitignore: bool = _setting(True, "bool", help="honour .gitignore files")
    text: bool = _setting(False, "bool", help="scan binary-looking files too")
    test_code: tuple[str, ...] = _setting(
        (), "list", help="gitignore-style globs of test code; !glob: not test code"
    )
    ner: bool = _setting(False, "bool", help="find names and places with spaCy (piiscan[ner])")
    ner_model: str = _setting(DEFAULT_NER_MODEL, "str", help="installed spaCy pipeline for --ner")
    ner_entities: tuple[str, ...] = _setting(
        DEFAULT_NER_ENTITIES, "list", help="PERSON, LOCATION, ORGANIZATION, NRP"
    )
    # what to report
    format: str = _setting("table", "choice", choices=FORMATS)
    show_values: bool = _setting(False, "bool", help="print raw values in reports")
    fail_on: str = _setting("low", "choice", choices=FAIL_ON)
    ignore_comments: bool = _setting(True, "bool", help="honour `piiscan: ignore` comments")
    report_unused_ignores: bool = _setting(False, "bool", help="list ignores that suppress nothing")
    baseline: str | None = _setting(None, "path", help="report only findings not in this file")
    allowlist: Mapping[str, Any] = _setting(None, "mapping", help="values, patterns, paths...")
    # how to redact
    strategy: str = _setting("label", "choice", choices=STRATEGIES)
    strategies: Mapping[str, str] = _setting(None, "strategies", help="per entity: ENTITY: strategy")
    unlinkable: bool = _setting(False, "bool", help="random-nonce tokens for encrypt")
    scope: str = _setting("", "str", help="project scope bound into encrypt tokens")


SETTING_NAMES = tuple(f.name for f in fields(Settings))
_KINDS = {f.name: f.metadata for f in fields(Settings)}


class Resolved(NamedTuple):
    """The effective settings, where each came from, and the config file read."""

    settings: Settings
    origins: Mapping[str, str]  # setting name -> "default", "<file>", "env PIISCAN_X", "flag"
    config_file: Path | None


# --------------------------------------------------------------------------- coercion


def parse_size(text: str) -> int:
    """'10MB', '512k', '2GiB' or plain bytes -> bytes (binary units)."""
    match = re.match(r"^\s*(\d+(?:\.\d+)?)\s*([kmg]?)(?:i?b)?\s*$", text, re.IGNORECASE)
    if not match:
        raise ValueError(f"cannot read {text!r} as a size (e.g. 10MB, 512k)")
    scale = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}[match.group(2).lower()]
    return int(float(match.group(1)) * scale)


# A regex timeout is per rule and line: an hour is already no limit (a larger number, or
# infinity, overflows the regex module's timer and times every search out at once).
MAX_SECONDS = 3600
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def coerce(name: str, value: Any, *, from_text: bool, base: Path | None = None) -> Any:
    """A raw value (typed from TOML/YAML, or text from the environment) -> the setting's type.

    Raises ValueError with a reason; callers add where the value came from.
    """
    meta = _KINDS[name]
    kind, choices = meta["kind"], meta["choices"]
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if from_text and str(value).lower() in _TRUE | _FALSE:
            return str(value).lower() in _TRUE
        raise ValueError(f"expected true or false, got {value!r}")
    if kind in ("fraction", "seconds"):
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise ValueError(f"expected a number, got {value!r}")
        try:
            number = float(value)
        except ValueError:
            raise ValueError(f"expected a number, got {value!r}") from None
        if kind == "fraction" and not 0.0 <= number <= 1.0:
            raise ValueError(f"must be between 0 and 1, got {number:g}")
        if kind == "seconds" and not 0 < number <= MAX_SECONDS:  # nan and inf fail too
            raise ValueError(f"must be above 0 and at most {MAX_SECONDS} seconds, got {number:g}")
        return number
    if kind == "count":
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
        raise ValueError(f"expected a whole number (0 or more), got {value!r}")
    if kind == "size":
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
        if isinstance(value, str):
            size = parse_size(value)
            if size > 0:  # under one byte would skip every file, and pass
                return size
        raise ValueError(f"expected a size above 0 such as 10MB, got {value!r}")
    if kind == "choice":
        if not isinstance(value, str) or value not in choices:
            raise ValueError(f"expected one of {', '.join(choices)}, got {value!r}")
        return value
    if kind == "str":
        if not isinstance(value, str):
            raise ValueError(f"expected a string, got {value!r}")
        return value
    if kind in ("list", "paths"):
        if isinstance(value, str):
            items = [part.strip() for part in value.split(",") if part.strip()]
        elif isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
            items = list(value)
        else:
            raise ValueError(f"expected a list of strings, got {value!r}")
        if kind == "paths" and base is not None:
            items = [str(base / item) for item in items]
        return tuple(items)
    if kind == "path":
        if not isinstance(value, str) or not value:
            raise ValueError(f"expected a path, got {value!r}")
        return str(base / value) if base is not None else value
    if kind == "mapping":
        if from_text:
            raise ValueError("can only be set in a config file")
        if not isinstance(value, dict):
            # Named by its type alone: an allowlist holds personal data.
            raise ValueError(f"expected a mapping, got {type_name(value)}")
        return value
    if kind == "strategies":
        return _coerce_strategies(value, from_text)
    raise AssertionError(f"unknown kind {kind}")


def type_name(data: object) -> str:
    """What kind of value a config holds, for an error that must not repeat the value."""
    if data is None:
        return "nothing"
    if isinstance(data, Mapping):
        return "a table"
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string",
            list: "a list", tuple: "a list"}.get(type(data), type(data).__name__)


def _coerce_strategies(value: Any, from_text: bool) -> dict[str, str]:
    """{"EMAIL_ADDRESS": "hash"}, or "EMAIL_ADDRESS=hash,US_SSN=encrypt" from the environment."""
    if from_text or isinstance(value, (list, tuple, str)):
        pairs = value.split(",") if isinstance(value, str) else list(value)
        value = {}
        for pair in pairs:
            entity, sep, strategy = str(pair).partition("=")
            if not sep:
                raise ValueError(f"expected ENTITY=STRATEGY, got {pair!r}")
            value[entity.strip()] = strategy.strip()
    if not isinstance(value, dict):
        raise ValueError(f"expected a mapping of ENTITY: strategy, got {type_name(value)}")
    from piiscan.model import ENTITY_NAME

    for entity, strategy in value.items():
        if not re.fullmatch(ENTITY_NAME, str(entity)):
            raise ValueError(f"{entity!r} is not an entity name (UPPER_SNAKE, at most 64 characters)")
        if strategy not in STRATEGIES:
            raise ValueError(f"{entity}: expected one of {', '.join(STRATEGIES)}, got {strategy!r}")
    return dict(value)


# --------------------------------------------------------------------------- sources


def find_config_file(start: Path) -> Path | None:
    """The nearest config file at or above `start` (a file's folder, or a folder)."""
    try:
        folder = start.resolve()
    except (OSError, RuntimeError):  # a symlink loop: look from the folder holding it
        folder = Path(os.path.abspath(start)).parent
    if not folder.is_dir():
        folder = folder.parent
    for directory in (folder, *folder.parents):
        for name in CONFIG_FILES:
            candidate = directory / name
            if not candidate.is_file():
                continue
            if name != "pyproject.toml" or _has_tool_table(candidate):
                return candidate
    return None


def _has_tool_table(pyproject: Path) -> bool:
    try:
        return "piiscan" in _read_toml(pyproject).get("tool", {})
    except ConfigError:
        return True  # a broken pyproject.toml deserves its error, not to be passed over


def _read_toml(path: Path) -> dict:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on 3.10 only
        import tomli as tomllib

    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def read_config_file(path: Path) -> dict[str, Any]:
    """The settings table of a config file as plain data, keys checked against the schema."""
    if path.name == "pyproject.toml":
        data = _read_toml(path).get("tool", {}).get("piiscan", {})
        prefix = "tool.piiscan."
    else:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: cannot read: {getattr(exc, 'strerror', None) or exc}") from None
        node = compose_yaml(text, str(path), ConfigError)
        data = {} if node is None else node_to_data(node, str(path), ConfigError)
        prefix = ""
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of settings")
    for key in data:
        normalised = key.replace("-", "_")
        if normalised not in SETTING_NAMES:
            raise ConfigError(f"{path}: {prefix}{key}: unknown setting", setting_hint(normalised))
    return {key.replace("-", "_"): value for key, value in data.items()}


def setting_hint(name: str) -> str:
    """A did-you-mean for a name that is no setting."""
    import difflib  # only for error messages: not at start-up

    close = difflib.get_close_matches(name, SETTING_NAMES, n=1)
    return f"did you mean {close[0]!r}?" if close else "see `piiscan config show`"


def env_name(name: str) -> str:
    return "PIISCAN_" + name.upper()


# --------------------------------------------------------------------------- resolution


def resolve(
    flags: Mapping[str, Any],
    *,
    start: Path | None = None,
    config_file: Path | None = None,
    use_config: bool = True,
    environ: Mapping[str, str] = os.environ,
) -> Resolved:
    """Layer the settings. `flags` holds only what was given on the command line."""
    values: dict[str, Any] = {}
    origins = {name: "default" for name in SETTING_NAMES}

    path = None
    if use_config:
        path = config_file or find_config_file(start or Path.cwd())
        if config_file is not None and not config_file.is_file():
            raise UsageError(f"--config: no such file {config_file}")
    if path is not None:
        where = f"{path}: {'tool.piiscan.' if path.name == 'pyproject.toml' else ''}"
        for name, raw in read_config_file(path).items():
            try:
                values[name] = coerce(name, raw, from_text=False, base=path.parent)
            except ValueError as exc:
                raise ConfigError(f"{where}{name}: {exc}") from None
            origins[name] = str(path)
        if "allowlist" in values:
            # Checked here, where the file is known, so that its errors name it; the scan
            # parses it again when it builds its filters.
            from piiscan.suppress import parse_allowlist

            key = "tool.piiscan.allowlist" if path.name == "pyproject.toml" else "allowlist"
            parse_allowlist(values["allowlist"], str(path), key=key)

    for name in SETTING_NAMES:
        variable = env_name(name)
        if variable in environ:
            try:
                values[name] = coerce(name, environ[variable], from_text=True)
            except ValueError as exc:
                raise ConfigError(f"environment {variable}: {exc}") from None
            origins[name] = f"env {variable}"

    for name, raw in flags.items():
        if raw is None:
            continue
        try:
            values[name] = coerce(name, raw, from_text=isinstance(raw, str))
        except ValueError as exc:
            raise UsageError(f"--{name.replace('_', '-')}: {exc}") from None
        origins[name] = "flag"

    return Resolved(replace(Settings(), **values), origins, path)


def describe(resolved: Resolved) -> list[tuple[str, str, str]]:
    """(name, value, origin) rows for `piiscan config show`."""
    rows = []
    for name in SETTING_NAMES:
        value = getattr(resolved.settings, name)
        if isinstance(value, tuple):
            shown = ", ".join(value) if value else "(none)"
        elif isinstance(value, Mapping):
            shown = json.dumps(value, sort_keys=True) if value else "(none)"
        elif value is None:
            shown = "(none)"
        else:
            shown = str(value).lower() if isinstance(value, bool) else str(value)
        rows.append((name, shown, resolved.origins[name]))
    return rows
