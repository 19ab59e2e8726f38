"""YAML read as a node tree, never constructed: for rule packs and config files alike.

PyYAML's `safe_load` refuses `!!python/object`, but still expands anchors and aliases (a
"billion laughs" file loads in milliseconds and explodes when walked), silently keeps the last
of duplicate keys and reads `NO` and `off` as false. Composing nodes ourselves lets the callers
check every key and type with the line it came from, and no tag can ever run anything.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from piiscan.errors import PiiscanError

if TYPE_CHECKING:
    import yaml

STR = "tag:yaml.org,2002:str"
BOOL = "tag:yaml.org,2002:bool"
INT = "tag:yaml.org,2002:int"
FLOAT = "tag:yaml.org,2002:float"
NULL = "tag:yaml.org,2002:null"
MAP = "tag:yaml.org,2002:map"
SEQ = "tag:yaml.org,2002:seq"


class _NodeProblem(Exception):
    def __init__(self, message: str, mark) -> None:
        super().__init__(message)
        self.message = message
        self.mark = mark


class _LazyYaml:
    """PyYAML, imported on first use: importing it costs ~12 ms, which a scan with cached
    packs and no YAML config file never needs to pay. Attributes are copied in once loaded."""

    def __getattr__(self, name: str):
        import yaml as module

        self.__dict__.update(vars(module))
        return getattr(module, name)


# `from piiscan.strictyaml import yaml` in modules that read nodes; here, the same object.
yaml = _LazyYaml()  # type: ignore[assignment]  # noqa: F811


# Rule packs and config files nest a few levels. libyaml composes recursively: a 200 KB file
# of nested brackets crashed the process (and took seconds to get there).
MAX_DEPTH = 64


def _check_events(events) -> None:
    """Refuse anchors, aliases and nesting deeper than MAX_DEPTH, before anything is composed."""
    depth = 0
    for event in events:
        if isinstance(event, yaml.AliasEvent):
            raise _NodeProblem("aliases (*name) are not allowed", event.start_mark)
        if getattr(event, "anchor", None) is not None:
            raise _NodeProblem("anchors (&name) are not allowed", event.start_mark)
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise _NodeProblem(f"nested deeper than {MAX_DEPTH} levels", event.start_mark)
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def _compose_with_libyaml(text: str) -> yaml.Node | None:
    """The same tree through libyaml, ~30x faster: first a pass over the parse events (see
    `_check_events`), then the composition itself."""
    _check_events(yaml.parse(text, Loader=yaml.CSafeLoader))
    return yaml.compose(text, Loader=yaml.CSafeLoader)


def _compose_in_python(text: str) -> yaml.Node | None:
    _check_events(yaml.parse(text, Loader=yaml.SafeLoader))
    return yaml.compose(text, Loader=yaml.SafeLoader)


def compose_yaml(text: str, source: str, error: type[PiiscanError]) -> yaml.Node | None:
    """Parse one YAML document into nodes; problems raise `error` naming `source` and the line."""
    compose = _compose_with_libyaml if getattr(yaml, "__with_libyaml__", False) else _compose_in_python
    try:
        return compose(text)
    except _NodeProblem as problem:
        raise error(f"{source}:{problem.mark.line + 1}: {problem.message}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        reason = getattr(exc, "problem", None) or "not valid YAML"
        raise error(f"{source}{line}: {reason}") from None


def node_to_data(node: yaml.Node, source: str, error: type[PiiscanError], where: str = ""):
    """Plain Python data from a composed tree: dicts, lists, str, bool, int, float, None.

    Duplicate keys and non-string keys are errors; only YAML's core tags are accepted, and a
    bool is only `true`/`false` (YAML 1.1's yes/no/on/off stay strings, for the caller to refuse
    where a bool is due).
    """
    line = f"{source}:{node.start_mark.line + 1}"
    if isinstance(node, yaml.MappingNode) and node.tag == MAP:
        out: dict = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag != STR:
                raise error(f"{line}: {where or 'top level'}: keys must be plain strings")
            key = key_node.value
            path = f"{where}.{key}" if where else key
            if key in out:
                raise error(f"{source}:{key_node.start_mark.line + 1}: {path}: duplicate key")
            out[key] = node_to_data(value_node, source, error, path)
        return out
    if isinstance(node, yaml.SequenceNode) and node.tag == SEQ:
        return [node_to_data(n, source, error, f"{where}[{i}]") for i, n in enumerate(node.value)]
    if isinstance(node, yaml.ScalarNode):
        if node.tag == STR:
            return node.value
        if node.tag == BOOL:
            if node.value in ("true", "false"):
                return node.value == "true"
            return node.value  # yes/no/on/off: a string, which a bool field refuses
        if node.tag == INT:
            try:
                return int(node.value.replace("_", ""), 0)
            except ValueError:
                return node.value
        if node.tag == FLOAT:
            try:
                return float(node.value.replace("_", ""))
            except ValueError:
                return node.value
        if node.tag == NULL:
            return None
    raise error(f"{line}: {where or 'value'}: unsupported YAML tag {node.tag!r}")
