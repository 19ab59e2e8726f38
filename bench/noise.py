"""Noise on real code: findings per MB of the CPython standard library (.py files).

The standard library holds almost no personal data, so nearly every finding here is a false
alarm. Prints the figure overall and per rule, plus the throughput of this run.

    python bench/noise.py [--min-confidence 0.5] [--packs core] [--backend auto]
"""

from __future__ import annotations

import argparse
import sysconfig
import time
from collections import Counter
from pathlib import Path

from piiscan import engine_for
from piiscan.decoding import decode_bytes
from piiscan.model import Document, Severity


def stdlib_files() -> list[Path]:
    root = Path(sysconfig.get_paths()["stdlib"])
    return sorted(p for p in root.rglob("*.py") if "site-packages" not in p.parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--min-confidence", type=float, default=0.5)
    parser.add_argument("--packs", default="core")
    parser.add_argument("--backend", default="auto")
    args = parser.parse_args()

    engine = engine_for(
        packs=args.packs.split(","), min_confidence=args.min_confidence, backend=args.backend
    )
    files = stdlib_files()
    by_rule: Counter[str] = Counter()
    failing: Counter[str] = Counter()
    size = 0
    started = time.perf_counter()
    for path in files:
        data = path.read_bytes()
        size += len(data)
        text, encoding, bom = decode_bytes(data)
        for finding in engine.scan(Document(str(path), text, encoding, bom, len(data))):
            by_rule[finding.rule_id] += 1
            if finding.severity.rank >= Severity.LOW.rank:
                failing[finding.rule_id] += 1
    seconds = time.perf_counter() - started
    mb = size / 1e6
    print(f"stdlib: {len(files)} files, {mb:.1f} MB, backend {engine.backend}, "
          f"min-confidence {args.min_confidence}")
    print(f"scan time {seconds:.2f} s ({mb / seconds:.1f} MB/s, one process, engine only)")
    print(f"findings: {sum(by_rule.values())} ({sum(by_rule.values()) / mb:.2f} per MB); "
          f"at or above --fail-on low: {sum(failing.values())} ({sum(failing.values()) / mb:.2f} per MB)")
    for rule_id, count in by_rule.most_common():
        print(f"  {rule_id:32} {count:6}  ({count / mb:.2f}/MB, {failing[rule_id]} failing)")


if __name__ == "__main__":
    main()
