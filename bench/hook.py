"""What a pre-commit hook run costs: piiscan on 5 small staged files, cold, interpreter included.

Builds a throwaway git repository with 5 small staged files (Faker text, one with a fake SSN)
and times each command as a fresh process, N times (median, min, max), after one untimed
warm-up run whose time is printed as "first" (it may compile bytecode or build the hyperscan
database cache). Compared with `python -c pass` (the floor: interpreter start alone) and with
detect-secrets' hook on the same files (a common pre-commit scanner; it looks for secrets,
not personal data, so it is a yardstick for start-up cost, not for what is found).

    python bench/hook.py [-n 10] [--no-install]

Without detect-secrets installed, this runs `pip install detect-secrets` into the running
interpreter first (and says so), unless --no-install is given.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from faker import Faker

HOOK_FLAGS = ["--quiet", "--format", "table"]  # as in .pre-commit-hooks.yaml
FAKE_SSN = "536-22-1234"


@dataclass(frozen=True)
class Timing:
    label: str
    first: float
    runs: tuple[float, ...]
    exit_codes: frozenset[int]


def script(name: str) -> str:
    """The console script installed beside this interpreter, else the one on PATH."""
    beside = Path(sysconfig.get_path("scripts")) / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        sys.exit(f"{name} is not installed; run `pip install -e '.[dev]'` first")
    return found


def git_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1")
    return env


def build_repo(root: Path) -> list[str]:
    fake = Faker()
    Faker.seed(20240601)
    files = {
        "app/settings.py": f'APP_NAME = "{fake.company()}"\nDEBUG = False\nTIMEOUT = 30\n',
        "docs/intro.md": f"# {fake.catch_phrase()}\n\n{fake.paragraph(nb_sentences=8)}\n",
        "data/customers.csv": "name,ssn,city\n"
        + f"{fake.name()},{FAKE_SSN},{fake.city()}\n"
        + f"{fake.name()},,{fake.city()}\n",
        "app/models.py": "class User:\n    def __init__(self, name):\n        self.name = name\n",
        "notes.txt": "\n".join(fake.sentences(nb=12)) + "\n",
    }
    env = git_env()
    subprocess.run(["git", "init", "-q", str(root)], check=True, env=env)
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    subprocess.run(["git", "-C", str(root), "add", "-A"], check=True, env=env)
    return sorted(files)


def time_command(label: str, argv: list[str], cwd: Path, runs: int) -> Timing:
    def once() -> tuple[float, int]:
        started = time.perf_counter()
        done = subprocess.run(
            argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=git_env()
        )
        return time.perf_counter() - started, done.returncode

    first, code = once()
    codes = {code}
    times = []
    for _ in range(runs):
        seconds, code = once()
        times.append(seconds)
        codes.add(code)
    return Timing(label, first, tuple(times), frozenset(codes))


def has_staged_flag(piiscan: str) -> bool:
    done = subprocess.run([piiscan, "scan", "--help"], capture_output=True, text=True)
    return "--staged" in done.stdout


def ensure_detect_secrets(install: bool) -> str | None:
    if importlib.util.find_spec("detect_secrets") is None:
        if not install:
            print("detect-secrets is not installed (--no-install): its row is left out")
            return None
        print(f"detect-secrets is not installed: running {sys.executable} -m pip install "
              "detect-secrets")
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "detect-secrets"], check=True)
    return script("detect-secrets-hook")


def version_of(argv: list[str]) -> str:
    done = subprocess.run(argv, capture_output=True, text=True)
    return (done.stdout or done.stderr).strip().splitlines()[0] if done.returncode == 0 else "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--runs", type=int, default=10, help="timed runs per command")
    parser.add_argument("--no-install", action="store_true", help="never pip install anything")
    args = parser.parse_args()

    piiscan = script("piiscan")
    detect_secrets = ensure_detect_secrets(not args.no_install)
    with tempfile.TemporaryDirectory(prefix="piiscan-bench-") as tmp:
        repo = Path(tmp) / "repo"
        files = build_repo(repo)
        commands = [("python -c pass", [sys.executable, "-c", "pass"])]
        if has_staged_flag(piiscan):
            commands.append(("piiscan scan --staged", [piiscan, "scan", "--staged", *HOOK_FLAGS]))
        else:
            print("piiscan scan has no --staged option yet: timing `piiscan scan <files>` only")
        commands.append(("piiscan scan <5 files>", [piiscan, "scan", *HOOK_FLAGS, *files]))
        if detect_secrets:
            commands.append(("detect-secrets-hook <5 files>", [detect_secrets, *files]))

        versions = [
            f"python {sys.version.split()[0]} on {sys.platform}",
            version_of(["git", "--version"]),
            version_of([piiscan, "--version"]),
        ]
        if detect_secrets:
            versions.append("detect-secrets " + version_of([detect_secrets, "--version"]))
        print(", ".join(versions))
        print(f"5 staged files ({sum((repo / f).stat().st_size for f in files)} bytes), "
              f"{args.runs} timed runs each, a fresh process every run\n")
        results = [time_command(label, argv, repo, args.runs) for label, argv in commands]

    width = max(len(r.label) for r in results)
    print(f"{'command':{width}}  {'median':>8}  {'min':>8}  {'max':>8}  {'first':>8}  exit")
    for r in results:
        ms = [t * 1000 for t in r.runs]
        codes = ",".join(str(c) for c in sorted(r.exit_codes))
        print(f"{r.label:{width}}  {statistics.median(ms):6.0f}ms  {min(ms):6.0f}ms  "
              f"{max(ms):6.0f}ms  {r.first * 1000:6.0f}ms  {codes}")
    print("\npiiscan exits 1: one file holds a (fake) SSN; detect-secrets finds no secret in them.")


if __name__ == "__main__":
    main()
