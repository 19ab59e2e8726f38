"""A check the regional packs' tests share: camelCase and PascalCase keys (JavaScript objects,
JSON, Go struct fields) are one word to the context matcher, so each rule lists the ones its
country's code uses, and each must count as context where such code writes it."""

from __future__ import annotations

from piiscan.engine import Engine
from piiscan.model import Document, Rule


def assert_key_is_context(rule: Rule, key: str, value: str, backend: str, min_confidence: float) -> None:
    engine = Engine([rule], backend=backend, cache_dir=None)
    pascal = key[0].upper() + key[1:]
    for text in (f'"{key}": "{value}",', f"    {key}: '{value}',", f'\t\t{pascal}: "{value}",'):
        findings = engine.scan(Document("fixtures.js", text))
        assert [f.rule_id for f in findings] == [rule.id], text
        assert findings[0].confidence >= min_confidence, text
