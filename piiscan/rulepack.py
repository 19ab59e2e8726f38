"""Loading YAML rule packs into `Rule`s, strictly.

Packs are read as a YAML node tree and never constructed into Python objects by PyYAML, so no
tag can execute anything. Anchors and aliases (the "billion laughs" family), duplicate keys,
foreign tags and scalars of the wrong type are errors, as are unknown keys (with a did-you-mean),
bad regexes and unknown validators. Every error names the file, the line, the rule id and the
field, so a user can fix a pack from the message alone.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from dataclasses import fields as dataclass_fields
from pathlib import Path

import regex

from piiscan.diskcache import default_cache_dir, key_for, read_checked, write_checked
from piiscan.errors import RulePackError, UsageError
from piiscan.model import ENTITY_NAME, Category, Pattern, Rule, RuleTests, Severity
from piiscan.strictyaml import BOOL as _BOOL
from piiscan.strictyaml import FLOAT as _FLOAT
from piiscan.strictyaml import INT as _INT
from piiscan.strictyaml import MAP as _MAP
from piiscan.strictyaml import SEQ as _SEQ
from piiscan.strictyaml import STR as _STR
from piiscan.strictyaml import compose_yaml, yaml

# The regex flags every rule pattern is compiled with, here and in the engine: ASCII classes
# (digits are digits, not Arabic-Indic ones) and ^/$ at line ends, as hyperscan is told too.
PATTERN_FLAGS = regex.ASCII | regex.MULTILINE | regex.V0

MAX_PACK_BYTES = 4 * 1024 * 1024
DEFAULT_PACKS = ("core",)

_RULE_ID = re.compile(r"^[a-z][a-z0-9]*(?:\.[a-z0-9][a-z0-9-]*)+$")
_ENTITY = re.compile(ENTITY_NAME)
_PACK_NAME = re.compile(r"^[a-z][a-z0-9-]*$")

# Inputs on which a pattern that can match empty text is likely to show it (`\\b`, `x*`,
# lookarounds alone). The engine also ignores empty matches, whatever slips past this.
_EMPTY_MATCH_PROBES = ("", " ", "a", "0", "ssn: 123-45-6789, jane@acme.net +1 (555) 010-0199 #_")

_TOP_KEYS = ("pack", "description", "rules")
_RULE_KEYS = (
    "id", "entity", "name", "description", "category", "severity", "patterns", "validator",
    "context", "context_required", "keywords", "exclude", "test_values", "made_up_in_tests",
    "named_in_credits", "tags", "tests",
)
_PATTERN_KEYS = ("regex", "score", "name", "prefilter")
_TESTS_KEYS = ("match", "no_match")



@dataclass(frozen=True, slots=True)
class Pack:
    """One loaded rule pack."""

    name: str
    description: str
    source: str
    rules: tuple[Rule, ...]


class _Reader:
    """Typed access to a composed YAML tree, raising errors that say where."""

    def __init__(self, source: str, check_regexes: bool = True) -> None:
        self.source = source
        self.check_regexes = check_regexes
        self.rule_id: str | None = None

    def fail(self, node: yaml.Node | None, field: str, message: str, hint: str = "") -> RulePackError:
        where = self.source
        if node is not None:
            where += f":{node.start_mark.line + 1}"
        who = f"rule {self.rule_id!r}, " if self.rule_id else ""
        what = f"field {field!r}: " if field else ""
        return RulePackError(f"{where}: {who}{what}{message}", hint)

    def mapping(self, node: yaml.Node, field: str, allowed: Sequence[str]) -> dict[str, yaml.Node]:
        if not isinstance(node, yaml.MappingNode) or node.tag != _MAP:
            raise self.fail(node, field, "expected a mapping")
        out: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag != _STR:
                raise self.fail(key_node, field, "keys must be plain strings")
            key = key_node.value
            if key in out:
                raise self.fail(key_node, _join(field, key), "duplicate key")
            if key not in allowed:
                import difflib  # only for error messages: not at start-up
                close = difflib.get_close_matches(key, allowed, n=1)
                hint = f"did you mean {close[0]!r}?" if close else "allowed: " + ", ".join(allowed)
                raise self.fail(key_node, _join(field, key), "unknown key", hint)
            out[key] = value_node
        return out

    def require(self, fields: dict[str, yaml.Node], node: yaml.Node, field: str, *names: str) -> None:
        for name in names:
            if name not in fields:
                raise self.fail(node, _join(field, name), "is required")

    def string(self, node: yaml.Node, field: str) -> str:
        if not isinstance(node, yaml.ScalarNode):
            raise self.fail(node, field, "expected a string")
        if node.tag != _STR:
            # YAML 1.1 reads NO, off, 1:30 and 0o7 as other types: make the author quote them.
            raise self.fail(
                node, field, f"expected a string, got {_tag_name(node.tag)} {node.value!r}",
                "quote the value",
            )
        return node.value

    def strings(self, node: yaml.Node, field: str) -> tuple[str, ...]:
        if not isinstance(node, yaml.SequenceNode) or node.tag != _SEQ:
            raise self.fail(node, field, "expected a list of strings")
        return tuple(self.string(item, f"{field}[{i}]") for i, item in enumerate(node.value))

    def boolean(self, node: yaml.Node, field: str) -> bool:
        if (
            not isinstance(node, yaml.ScalarNode)
            or node.tag != _BOOL
            or node.value not in ("true", "false")
        ):
            raise self.fail(node, field, f"expected true or false, got {_scalar_text(node)}")
        return node.value == "true"

    def number(self, node: yaml.Node, field: str, low: float, high: float) -> float:
        if not isinstance(node, yaml.ScalarNode) or node.tag not in (_INT, _FLOAT):
            raise self.fail(node, field, f"expected a number, got {_scalar_text(node)}")
        try:
            value = float(node.value)
        except ValueError:
            raise self.fail(node, field, f"expected a number, got {node.value!r}") from None
        if not low <= value <= high:
            raise self.fail(node, field, f"must be between {low:g} and {high:g}, got {value:g}")
        return value

    def sequence(self, node: yaml.Node, field: str) -> list[yaml.Node]:
        if not isinstance(node, yaml.SequenceNode) or node.tag != _SEQ:
            raise self.fail(node, field, "expected a list")
        return node.value


def _join(field: str, key: str) -> str:
    return f"{field}.{key}" if field else key


def _tag_name(tag: str) -> str:
    return tag.rsplit(":", 1)[-1]


def _scalar_text(node: yaml.Node) -> str:
    if isinstance(node, yaml.ScalarNode):
        return f"{_tag_name(node.tag)} {node.value!r}"
    return "a " + ("list" if isinstance(node, yaml.SequenceNode) else "mapping")


def parse_pack(text: str, source: str, *, check_regexes: bool = True) -> Pack:
    """Validate one pack's YAML text and build its rules.

    `check_regexes=False` skips compiling the patterns (the engine compiles a rule when it first
    needs it): only for the built-in packs, whose patterns the test suite compiles, because
    compiling with the `regex` module costs more than the rest of start-up together.
    """
    root = compose_yaml(text, source, RulePackError)
    reader = _Reader(source, check_regexes)
    if root is None:
        raise RulePackError(f"{source}: the pack is empty", "a pack needs `pack:` and `rules:`")
    top = reader.mapping(root, "", _TOP_KEYS)
    reader.require(top, root, "", "pack", "rules")
    name = reader.string(top["pack"], "pack")
    if not _PACK_NAME.match(name):
        raise reader.fail(top["pack"], "pack", f"{name!r} is not a lowercase name")
    description = reader.string(top["description"], "description") if "description" in top else ""
    rule_nodes = reader.sequence(top["rules"], "rules")
    rules = tuple(
        _parse_rule(reader, node, f"rules[{i}]", name) for i, node in enumerate(rule_nodes)
    )
    if not rules:
        raise reader.fail(top["rules"], "rules", "the pack has no rules")
    _refuse_reused_ids(reader, rule_nodes, rules)
    return Pack(name=name, description=description, source=source, rules=rules)


def _refuse_reused_ids(reader: _Reader, nodes: Sequence[yaml.Node], rules: Sequence[Rule]) -> None:
    """An id used twice in one pack, named with both lines (across packs: `load_rules`)."""
    first_line: dict[str, int] = {}
    for i, (node, rule) in enumerate(zip(nodes, rules)):
        if rule.id in first_line:
            reader.rule_id = rule.id
            first = first_line[rule.id]
            raise reader.fail(
                node, f"rules[{i}].id", f"defined twice in this pack (first at line {first})",
                _ID_REUSE_HINT,
            )
        first_line[rule.id] = node.start_mark.line + 1


def _parse_rule(reader: _Reader, node: yaml.Node, field: str, pack: str) -> Rule:
    # Name the rule in every error, even one about a key that comes before `id:`.
    reader.rule_id = _peek_id(node)
    fields = reader.mapping(node, field, _RULE_KEYS)
    reader.require(fields, node, field, "id")
    rule_id = reader.string(fields["id"], "id")
    if not _RULE_ID.match(rule_id):
        raise reader.fail(
            fields["id"], "id", f"{rule_id!r} is not a valid rule id",
            "use lowercase words joined by dots, e.g. 'acme.employee-id'",
        )
    reader.rule_id = rule_id
    reader.require(
        fields, node, "", "entity", "name", "category", "severity", "patterns", "tests"
    )
    entity = reader.string(fields["entity"], "entity")
    if not _ENTITY.fullmatch(entity):
        raise reader.fail(
            fields["entity"], "entity", f"{entity!r} is not an UPPER_SNAKE name of at most 64 characters"
        )

    category = _choice(reader, fields["category"], "category", Category)
    severity = _choice(reader, fields["severity"], "severity", Severity)

    patterns = tuple(
        _parse_pattern(reader, p, f"patterns[{i}]")
        for i, p in enumerate(reader.sequence(fields["patterns"], "patterns"))
    )
    if not patterns:
        raise reader.fail(fields["patterns"], "patterns", "at least one pattern is required")

    validator_name = None
    if "validator" in fields:
        from piiscan.validators import VALIDATORS, find_validator  # not needed for cached packs

        validator_name = reader.string(fields["validator"], "validator")
        if find_validator(validator_name) is None:
            import difflib  # only for error messages: not at start-up
            close = difflib.get_close_matches(validator_name, list(VALIDATORS), n=1)
            raise reader.fail(
                fields["validator"], "validator", f"unknown validator {validator_name!r}",
                f"did you mean {close[0]!r}?" if close else
                "known: " + ", ".join(sorted(VALIDATORS)) + ", or stdnum.<country>.<number>",
            )

    def strings(key: str) -> tuple[str, ...]:
        return reader.strings(fields[key], key) if key in fields else ()

    def flag(key: str) -> bool:
        return reader.boolean(fields[key], key) if key in fields else False

    context = strings("context")
    for i, word in enumerate(context):
        if not word.strip():
            raise reader.fail(
                fields["context"].value[i], f"context[{i}]", "a context word is empty",
                "an empty word would be found everywhere: remove it",
            )
    exclude = strings("exclude")
    test_values = strings("test_values")
    for key, values in (("exclude", exclude), ("test_values", test_values)):
        for i, value in enumerate(values):
            _compile_or_fail(reader, fields[key], f"{key}[{i}]", value)

    tests = _parse_tests(reader, fields["tests"])
    return Rule(
        id=rule_id,
        entity=entity,
        name=reader.string(fields["name"], "name"),
        # Optional: reports describe a rule by its name when it has no description.
        description=reader.string(fields["description"], "description") if "description" in fields else "",
        category=category,
        severity=severity,
        patterns=patterns,
        pack=pack,
        source=reader.source,
        validator=validator_name,
        context=tuple(w.lower() for w in context),
        context_required=flag("context_required"),
        keywords=tuple(k.lower() for k in strings("keywords")),
        exclude=exclude,
        test_values=test_values,
        made_up_in_tests=flag("made_up_in_tests"),
        named_in_credits=flag("named_in_credits"),
        tags=strings("tags"),
        tests=tests,
    )


def _peek_id(node: yaml.Node) -> str | None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == "id":
                if isinstance(value, yaml.ScalarNode) and value.tag == _STR:
                    return value.value
    return None


def _choice(reader: _Reader, node: yaml.Node, field: str, enum_type) -> object:
    value = reader.string(node, field)
    allowed = [member.value for member in enum_type]
    if value not in allowed:
        raise reader.fail(node, field, f"{value!r} is not one of {', '.join(allowed)}")
    return enum_type(value)


def _parse_pattern(reader: _Reader, node: yaml.Node, field: str) -> Pattern:
    fields = reader.mapping(node, field, _PATTERN_KEYS)
    reader.require(fields, node, field, "regex", "score")
    source = reader.string(fields["regex"], f"{field}.regex")
    _check_matches_text(reader, fields["regex"], f"{field}.regex", source)
    prefilter = ""
    if "prefilter" in fields:
        prefilter = reader.string(fields["prefilter"], f"{field}.prefilter")
        _check_matches_text(reader, fields["prefilter"], f"{field}.prefilter", prefilter)
    return Pattern(
        regex=source,
        score=reader.number(fields["score"], f"{field}.score", 0.0, 1.0),
        name=reader.string(fields["name"], f"{field}.name") if "name" in fields else "",
        prefilter=prefilter,
    )


def _check_matches_text(reader: _Reader, node: yaml.Node, field: str, source: str) -> None:
    compiled = _compile_or_fail(reader, node, field, source)
    if compiled is not None and any(m.start() == m.end() for probe in _EMPTY_MATCH_PROBES for m in compiled.finditer(probe)):
        raise reader.fail(
            node, field, "the pattern can match an empty string",
            "a finding needs at least one character: drop the `?`/`*` on the whole pattern",
        )


def _compile_or_fail(
    reader: _Reader, node: yaml.Node, field: str, source: str
) -> regex.Pattern | None:
    if not reader.check_regexes:
        return None
    try:
        return regex.compile(source, PATTERN_FLAGS)
    except (regex.error, ValueError, OverflowError) as exc:
        raise reader.fail(node, field, f"bad regex: {exc}") from None


def _parse_tests(reader: _Reader, node: yaml.Node) -> RuleTests:
    fields = reader.mapping(node, "tests", _TESTS_KEYS)
    reader.require(fields, node, "tests", "match", "no_match")
    tests = RuleTests(
        match=reader.strings(fields["match"], "tests.match"),
        no_match=reader.strings(fields["no_match"], "tests.no_match"),
    )
    if not tests.match or not tests.no_match:
        raise reader.fail(node, "tests", "needs at least one match and one no_match example")
    return tests


_ID_REUSE_HINT = "rule ids are stable keys for baselines and ignores: give each rule its own"


def _check_unique_ids(rules: Iterable[Rule], where: str) -> None:
    seen: dict[str, Rule] = {}
    for rule in rules:
        if rule.id in seen:
            other = seen[rule.id]
            raise RulePackError(
                f"{where}: rule id {rule.id!r} is defined twice ({other.source} and {rule.source})",
                _ID_REUSE_HINT,
            )
        seen[rule.id] = rule


def load_pack_file(path: str | Path) -> Pack:
    path = Path(path)
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_PACK_BYTES + 1)
    except OSError as exc:
        raise RulePackError(f"{path}: cannot read rule pack: {exc.strerror or exc}") from None
    if len(data) > MAX_PACK_BYTES:
        raise RulePackError(f"{path}: rule pack is larger than {MAX_PACK_BYTES // 1024} KiB")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RulePackError(f"{path}: rule pack is not UTF-8 (byte {exc.start})") from None
    return _parse_cached(text, str(path), check_regexes=True)


def _builtin_folder():
    """The folder of the built-in packs: a plain directory when installed as files (then
    without `importlib.resources.files`, whose readers import zipfile and threading, ~4 ms
    of start-up), else whatever `importlib.resources` makes of it (a zip, for one)."""
    import piiscan.rules

    spec = piiscan.rules.__spec__
    locations = list(spec.submodule_search_locations or ()) if spec is not None else []
    if len(locations) == 1 and os.path.isdir(locations[0]):
        return Path(locations[0])
    import importlib.resources

    return importlib.resources.files("piiscan.rules")


def builtin_pack_names() -> list[str]:
    """Names of the packs shipped inside the wheel: a built-in pack's file is `<name>.yaml`."""
    folder = _builtin_folder()
    return sorted(e.name[: -len(".yaml")] for e in folder.iterdir() if e.name.endswith(".yaml"))


def load_builtin_pack(name: str) -> Pack:
    if name not in builtin_pack_names():
        raise UsageError(
            f"unknown rule pack {name!r}", "built-in packs: " + ", ".join(builtin_pack_names()),
            setting="packs",
        )
    source = f"rules/{name}.yaml"
    entry = _builtin_folder().joinpath(f"{name}.yaml")
    pack = _parse_cached(entry.read_text(encoding="utf-8"), source, check_regexes=False)
    if pack.name != name:
        raise RulePackError(f"{source}: a built-in pack must be named after its file ({name!r})")
    return pack


# ---------------------------------------------------------------------------- pack cache
#
# Parsing a pack (YAML, then every check above; for a user's pack, compiling each regex too)
# costs more than the rest of a small scan, and importing PyYAML as much again; the parsed
# packs, built-in and the user's, are kept beside the hyperscan databases (`diskcache`), the
# same way: one file per pack, named by a hash of everything the result depends on (the
# pack's text and path, whether its regexes were checked, and `code_stamp`: piiscan's code
# and the libraries a verdict depends on), written whole and renamed into place so a concurrent reader sees
# the old file or the new one, and read back only if its checksum matches. Only a pack that
# parsed is kept: a broken one is parsed again, and its error given again, every time. A
# missing, stale, corrupt or unwritable cache file only costs the parse.

_PACK_CACHE_MAGIC = b"piiscan-pack-cache/2\n"


def _parse_cached(text: str, source: str, *, check_regexes: bool) -> Pack:
    cache_dir = default_cache_dir()
    if cache_dir is None:
        return parse_pack(text, source, check_regexes=check_regexes)
    key = key_for(_PACK_CACHE_MAGIC, source, str(check_regexes), text)
    cache_file = cache_dir / f"pack-{key}.json"
    cached = _read_pack_cache(cache_file)
    if cached is not None:
        return cached
    pack = parse_pack(text, source, check_regexes=check_regexes)
    _write_pack_cache(cache_file, pack)
    return pack


def _pack_to_data(pack: Pack) -> dict:
    """A pack as JSON data, field by field of `Rule`, so a new field is carried along; a
    field of a type this does not know raises TypeError (and the pack is not cached)."""
    return {
        "name": pack.name,
        "description": pack.description,
        "source": pack.source,
        "rules": [{f.name: _field_to_data(f.name, getattr(r, f.name)) for f in dataclass_fields(Rule)}
                  for r in pack.rules],
    }


def _field_to_data(name: str, value: object) -> object:
    if name in ("category", "severity"):
        return value.value  # type: ignore[attr-defined]
    if name == "patterns":
        return [{f.name: getattr(p, f.name) for f in dataclass_fields(Pattern)} for p in value]  # type: ignore[attr-defined]
    if name == "tests":
        return [list(value.match), list(value.no_match)]  # type: ignore[attr-defined]
    if isinstance(value, tuple) and all(type(item) is str for item in value):
        return list(value)
    if value is None or type(value) in (str, bool, int, float):
        return value
    raise TypeError(f"Rule.{name}: {type(value).__name__} is not cached")


def _pack_from_data(data: dict) -> Pack:
    rules = []
    for r in data["rules"]:
        values = {name: tuple(value) if type(value) is list else value for name, value in r.items()}
        values["category"] = Category(r["category"])
        values["severity"] = Severity(r["severity"])
        values["patterns"] = tuple(Pattern(**p) for p in r["patterns"])
        values["tests"] = RuleTests(match=tuple(r["tests"][0]), no_match=tuple(r["tests"][1]))
        rules.append(Rule(**values))
    return Pack(name=data["name"], description=data["description"], source=data["source"],
                rules=tuple(rules))


def _read_pack_cache(cache_file: Path) -> Pack | None:
    checked = read_checked(cache_file, _PACK_CACHE_MAGIC)
    if checked is None:
        return None
    try:
        return _pack_from_data(json.loads(checked[1]))
    except (ValueError, KeyError, TypeError, IndexError):
        return None


def _write_pack_cache(cache_file: Path, pack: Pack) -> None:
    try:
        payload = json.dumps(_pack_to_data(pack), separators=(",", ":")).encode()
    except (TypeError, ValueError):
        return
    write_checked(cache_file, _PACK_CACHE_MAGIC, payload)


def builtin_packs() -> dict[str, Pack]:
    """Every pack shipped inside the wheel, by name."""
    return {name: load_builtin_pack(name) for name in builtin_pack_names()}


def pack_files(path: str | Path) -> list[Path]:
    """A pack file, or every *.yaml / *.yml in a folder (sorted)."""
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
        if not files:
            raise RulePackError(f"{path}: no .yaml rule packs in this folder")
        return files
    if not path.exists():
        raise RulePackError(f"{path}: no such rule pack file or folder")
    return [path]


def rules_to_test(packs: Sequence[str]) -> list[Rule]:
    """The rules of each pack named: a pack file or folder, or else a built-in pack's name
    (a file or folder of that name wins; `./core` always means the path)."""
    builtin = builtin_pack_names()
    rules = []
    for pack in packs:
        if Path(pack).exists() or pack not in builtin:
            try:
                files = pack_files(pack)
            except RulePackError as exc:
                raise RulePackError(exc.message, "built-in packs: " + ", ".join(builtin)) from None
            rules.extend(rule for file in files for rule in load_pack_file(file).rules)
        else:
            rules.extend(load_builtin_pack(pack).rules)
    return rules


def load_rules(
    extra: Sequence[str | Path] = (),
    *,
    packs: Sequence[str] | None = DEFAULT_PACKS,
) -> list[Rule]:
    """Built-in packs named in `packs` (all of them if None or "all"), then every pack under
    `extra`."""
    names = builtin_pack_names() if packs is None or tuple(packs) == ("all",) else list(packs)
    rules = [rule for name in names for rule in load_builtin_pack(name).rules]
    for location in extra:
        for file in pack_files(location):
            rules.extend(load_pack_file(file).rules)
    _check_unique_ids(rules, "rule packs")
    return rules


def select_rules(
    rules: Sequence[Rule], only: Sequence[str] = (), disable: Sequence[str] = ()
) -> list[Rule]:
    """Keep the rules named in `only` (all if empty), minus those in `disable`.

    Names are rule ids or entity names; an unknown name is an error, since a typo in
    `--disable` would otherwise quietly keep a rule on.
    """
    known = {r.id for r in rules} | {r.entity for r in rules}
    for name in (*only, *disable):
        if name not in known:
            import difflib  # only for error messages: not at start-up
            close = difflib.get_close_matches(name, sorted(known), n=1)
            raise UsageError(
                f"no rule or entity named {name!r}",
                f"did you mean {close[0]!r}?" if close else "see `piiscan rules list`",
                setting="only" if name in only else "disable",
            )

    def named(rule: Rule, names: Sequence[str]) -> bool:
        return rule.id in names or rule.entity in names

    kept = [r for r in rules if (not only or named(r, only)) and not named(r, disable)]
    if not kept:
        raise UsageError("no rules left to run", "check --only and --disable")
    return kept
