"""The README's examples do what the README says they do."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from backends import BACKENDS
from piiscan.engine import Engine
from piiscan.model import Document
from piiscan.rulepack import parse_pack
from piiscan.ruletest import run_rule_tests

README = Path(__file__).resolve().parent.parent / "README.md"


def yaml_block_after(marker: str) -> str:
    text = README.read_text(encoding="utf-8")
    at = text.index(marker)
    match = re.compile(r"```yaml\n(.*?)```", re.S).search(text, at)
    assert match is not None, f"no YAML block after {marker!r}"
    return match.group(1)


EXAMPLE_PACK = yaml_block_after("A pack is YAML.")


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_example_pack_passes_its_own_tests(backend):
    pack = parse_pack(EXAMPLE_PACK, "README.md")
    assert [rule.id for rule in pack.rules] == ["acme.employee-id"]
    assert run_rule_tests(pack.rules, backend=backend) == []


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_example_pack_finds_ids_and_keeps_its_exclusions(backend):
    (rule,) = parse_pack(EXAMPLE_PACK, "README.md").rules
    engine = Engine([rule], backend=backend, cache_dir=None)
    text = "staff id ACM-730415, placeholder ACM-000000, sample ACM-123456\n"
    found = {text[f.start : f.end]: f.test_data for f in engine.scan(Document("notes.txt", text))}
    assert found == {"ACM-730415": False, "ACM-123456": True}
