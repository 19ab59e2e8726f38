"""Throughput, memory and start-up of `piiscan scan`, next to ripgrep, measured in one run.

Every figure is a whole process (interpreter start, imports, walking, reading, report writing
included), timed from spawn to exit with `time.perf_counter`; peak RSS is that process's own
`ru_maxrss`, read with `os.wait4` (with `--jobs N` it is the largest single process of the
tree, main or one worker, not their sum). Corpora, all scanned with a warm page cache:

  stdlib    the CPython standard library's .py files (site-packages left out)
  mixed     a generated tree of code, config, logs and CSV with planted fake PII (Faker, fixed
            seed): 1 GB, or 50 MB with --quick
  log       one generated log file: 2 GB, or 200 MB with --quick (--max-file-size raised)
  minified  one generated single-line minified JS file: 100 MB, or 20 MB with --quick

Each corpus is scanned by piiscan with `--jobs 1` and `--jobs <cpus>` (when the flag exists),
each measurement repeated --repeat times (3 with --quick; round robin, so that both tools
share a machine's slow spells) and its median run shown,
then by `rg -c` with a naive set of ten PII regexes, `-j1` and all cores, twice: as a user
would type them (ripgrep's default Unicode `\\b`) and with ASCII word boundaries (the fast
path a tuned user would pick). Cold start: one small file, median of --runs fresh processes,
next to `python -c pass` and `detect-secrets-hook` (when installed).

    python bench/speed.py --quick           # under two minutes on 2 cores, corpora cached
    python bench/speed.py                   # full sizes; generates ~3 GB once
    python bench/speed.py --only stdlib,cold --runs 20

Generated corpora live in --cache-dir (default $PIISCAN_BENCH_CACHE or
~/.cache/piiscan-bench) and are reused while their marker (generator version, size, seed)
matches. They are never part of the repository.
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

MB = 1_000_000
GENERATOR_VERSION = 1
DEFAULT_SEED = 20240917
PARTS = ("stdlib", "mixed", "log", "minified", "cold")
RSS_TARGET_MB = 300
COLD_START_TARGET_S = 0.15
RG_RATIO_TARGET = 2.0

# Ten plain PII regexes, the way someone would write them for a quick grep. Written for this
# benchmark; deliberately without validation, context or keywords.
NAIVE_PATTERNS: dict[str, str] = {
    "email": r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}",
    "us-ssn": r"\b[0-9]{3}-[0-9]{2}-[0-9]{4}\b",
    "card": r"\b(?:[0-9]{4}[ -]?){3}[0-9]{1,4}\b",
    "phone": r"\(?\b[0-9]{3}\)?[ .-]?[0-9]{3}[ .-][0-9]{4}\b",
    "ipv4": r"\b(?:[0-9]{1,3}\.){3}[0-9]{1,3}\b",
    "iban": r"\b[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}\b",
    "mac": r"\b(?:[0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}\b",
    "date": r"\b(?:19|20)[0-9]{2}-[01][0-9]-[0-3][0-9]\b",
    "us-zip": r"\b[0-9]{5}(?:-[0-9]{4})?\b",
    "url-credentials": r"[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@",
}


def ascii_word_boundaries(pattern: str) -> str:
    r"""The same pattern with `\b` limited to ASCII, which keeps ripgrep on its fast DFA."""
    return pattern.replace(r"\b", r"(?-u:\b)")


# --- processes ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Measured:
    seconds: float
    peak_rss_mb: float
    exit_code: int
    stderr_tail: str
    timed_out: bool


# The fallback when GNU time is missing: a bare interpreter that runs the command and reports
# its children's peak RSS. Either way the measured process is forked from a small process: a
# child forked (or vforked) from this script would inherit this script's RSS as its peak.
_RSS_WRAPPER = (
    "import resource,subprocess,sys\n"
    "code=subprocess.run(sys.argv[2:]).returncode\n"
    "open(sys.argv[1],'w').write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))\n"
    "sys.exit(code if code >= 0 else 128 - code)"
)


def _gnu_time() -> str | None:
    path = "/usr/bin/time"
    try:
        done = subprocess.run([path, "-f", "%M", "-o", os.devnull, "true"], capture_output=True,
                              timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return path if done.returncode == 0 else None


GNU_TIME = _gnu_time()


def _kill_group(proc: subprocess.Popen, fired: threading.Event) -> None:
    fired.set()
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # the wrapper and what it runs
    except ProcessLookupError:
        pass  # it ended meanwhile


def run_measured(argv: list[str], timeout: float, env: dict[str, str],
                 stdout_path: Path | None = None) -> Measured:
    """Run argv under a small wrapper; its wall time and its own peak RSS (ru_maxrss)."""
    with tempfile.TemporaryDirectory() as tmp:
        rss_file = Path(tmp) / "maxrss"
        wrapper = ([GNU_TIME, "-f", "%M", "-o", str(rss_file), "--"] if GNU_TIME else
                   [sys.executable, "-I", "-S", "-c", _RSS_WRAPPER, str(rss_file)])
        with open(Path(tmp) / "stderr", "w+b") as err, (
            open(stdout_path, "wb") if stdout_path else open(os.devnull, "wb")
        ) as out:
            started = time.perf_counter()
            proc = subprocess.Popen([*wrapper, *argv], stdout=out, stderr=err,
                                    stdin=subprocess.DEVNULL, start_new_session=True, env=env)
            # A blocking wait, with a timer for the timeout: `Popen.wait(timeout)` polls with
            # sleeps that double up to 50 ms, so it sees a process end only at the next poll
            # (0.5, 1.5, 3.5 ... 63.5, 113.5, 163.5, 213.5 ms): a 130 ms run measured 164 ms.
            fired = threading.Event()
            killer = threading.Timer(timeout, _kill_group, (proc, fired))
            killer.start()
            try:
                proc.wait()
            finally:
                killer.cancel()
            seconds = time.perf_counter() - started
            timed_out = fired.is_set()
            err.seek(0)
            lines = err.read().decode("utf-8", "replace").strip().splitlines()
        try:
            # GNU time may write "Command exited with non-zero status N" before the number.
            kilobytes = int(rss_file.read_text().split()[-1])
        except (OSError, ValueError, IndexError):
            kilobytes = 0
    # Linux reports kilobytes, macOS bytes.
    rss_mb = kilobytes / (1e6 if sys.platform == "darwin" else 1e3)
    return Measured(seconds, rss_mb, proc.returncode, lines[-1] if lines else "", timed_out)


def failure_of(done: Measured, ok_codes: tuple[int, ...], timeout: float) -> str | None:
    if done.timed_out:
        return f"timed out after {timeout:g} s"
    if done.exit_code not in ok_codes:
        return f"exit {done.exit_code}: {done.stderr_tail[:100] or 'no message'}"
    return None


def script(name: str) -> str | None:
    """The console script installed beside this interpreter, else the one on PATH."""
    beside = Path(sysconfig.get_path("scripts")) / name
    return str(beside) if beside.exists() else shutil.which(name)


def first_line(argv: list[str]) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    text = (done.stdout or done.stderr).strip()
    return text.splitlines()[0] if done.returncode == 0 and text else "?"


def find_or_install_rg(install: bool) -> str | None:
    found = shutil.which("rg")
    if found or not install:
        return found
    apt = shutil.which("apt-get")
    if apt is None or os.geteuid() != 0:
        return None
    print("rg is missing: running apt-get install -y ripgrep", flush=True)
    for step in ([apt, "install", "-y", "-q", "ripgrep"], [apt, "update", "-q"],
                 [apt, "install", "-y", "-q", "ripgrep"]):
        try:
            done = subprocess.run(step, capture_output=True, timeout=300)
        except (OSError, subprocess.TimeoutExpired):
            return None
        if step[1] == "install" and done.returncode == 0:
            break
    return shutil.which("rg")


# --- corpora --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Corpus:
    name: str
    target: Path  # a folder, or the one file
    files: int
    size: int  # bytes both tools are asked to read
    piiscan_flags: tuple[str, ...]
    rg_flags: tuple[str, ...]


def stdlib_corpus() -> Corpus:
    root = Path(sysconfig.get_paths()["stdlib"])
    files = size = 0
    for folder, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if d != "site-packages"]
        for name in names:
            path = os.path.join(folder, name)
            if name.endswith(".py") and os.path.isfile(path) and not os.path.islink(path):
                files += 1
                size += os.path.getsize(path)
    # --no-gitignore: the interpreter may live inside a git-ignored folder (naming a folder
    # explicitly already overrides ignores from above it, this also covers ones inside).
    return Corpus(
        "stdlib", root, files, size,
        ("--include", "*.py", "--exclude", "site-packages/", "--no-gitignore"),
        ("-g", "*.py", "-g", "!site-packages/"),
    )


class FakeValues:
    """Pools of fake personal data from Faker with a fixed seed, and of plain filler words."""

    def __init__(self, seed: int, size: int = 1500) -> None:
        from faker import Faker

        us, gb, de = Faker("en_US"), Faker("en_GB"), Faker("de_DE")
        for number, fake in enumerate((us, gb, de)):
            fake.seed_instance(seed + number)
        self.words = sorted({w.lower() for w in us.words(nb=3000, unique=False) if w.isalpha()})
        self.names = [f.name() for f in (us, gb, de) for _ in range(size // 3)]
        self.emails = [us.email() for _ in range(size // 2)] + [
            us.free_email() for _ in range(size // 2)
        ]
        self.phones = [f.phone_number() for f in (us, gb) for _ in range(size // 2)]
        self.ssns = [us.ssn() for _ in range(size)]
        self.cards = [us.credit_card_number() for _ in range(size)]
        self.ibans = [f.iban() for f in (gb, de) for _ in range(size // 2)]
        self.ips = [us.ipv4_public() for _ in range(size)]
        self.macs = [us.mac_address() for _ in range(size)]
        self.births = [us.date_of_birth(minimum_age=18, maximum_age=90).isoformat()
                       for _ in range(size)]
        self.addresses = [us.address().replace("\n", ", ") for _ in range(size)]
        self.users = [us.user_name() for _ in range(size)]
        self.passwords = [us.password(length=12, special_chars=False) for _ in range(size)]
        self.hosts = [us.domain_name() for _ in range(size // 4)]


class LineMaker:
    """Builds pools of text lines per file kind; files are then drawn from the pools.

    Drawing from pools (rather than calling Faker per line) is what makes a 2 GB corpus take
    seconds, not minutes, to generate. Every pool has plain lines and lines with one planted
    value; `body()` plants one value per `gap` bytes on average.
    """

    def __init__(self, fake: FakeValues, rng: random.Random) -> None:
        self.fake, self.rng = fake, rng

    def pick(self, values: list[str]) -> str:
        return self.rng.choice(values)

    def word(self) -> str:
        return self.rng.choice(self.fake.words)

    def ident(self) -> str:
        return f"{self.word()}_{self.word()}"

    def sentence(self, words: int = 8) -> str:
        return " ".join(self.word() for _ in range(words)).capitalize()

    def pii(self) -> str:
        """One planted value, kind chosen at random."""
        f = self.fake
        kind = self.rng.randrange(10)
        return [
            lambda: self.pick(f.emails), lambda: self.pick(f.phones), lambda: self.pick(f.ssns),
            lambda: self.pick(f.cards), lambda: self.pick(f.ibans), lambda: self.pick(f.ips),
            lambda: self.pick(f.macs), lambda: f"born {self.pick(f.births)}",
            lambda: self.pick(f.addresses),
            lambda: f"postgres://{self.pick(f.users)}:{self.pick(f.passwords)}"
                    f"@{self.pick(f.hosts)}/{self.word()}",
        ][kind]()

    def pool(self, plain: Callable[[], str], planted: Callable[[], str],
             size: int = 6000) -> tuple[list[str], list[str]]:
        return [plain() for _ in range(size)], [planted() for _ in range(size // 4)]

    # One plain and one planted line per kind of file.
    def python(self) -> str:
        r, i, w = self.rng.randrange(7), self.ident, self.word
        return [
            f"    {i()} = {w()}.{i()}({w()}, {self.rng.randrange(1000)})",
            f"def {i()}(self, {w()}, {w()}=None):",
            f"    # {self.sentence()}",
            f"    return {w()}.{i()}({w()}) or {w()}",
            f"class {w().capitalize()}{w().capitalize()}({w().capitalize()}):",
            f"    if {w()} is not None and {w()} > {self.rng.randrange(100)}:",
            "",
        ][r] + "\n"

    def python_pii(self) -> str:
        r, f = self.rng.randrange(4), self.fake
        return [
            f"    # contact: {self.pick(f.names)} <{self.pick(f.emails)}>\n",
            f'    {self.ident()} = "{self.pii()}"\n',
            f'        "{self.word()}": "{self.pii()}",\n',
            f"    # test value {self.pii()} ({self.sentence(4)})\n",
        ][r]

    def javascript(self) -> str:
        r, i, w = self.rng.randrange(5), self.ident, self.word
        return [
            f"  const {i()} = {w()}.{i()}({w()}, {self.rng.randrange(1000)});",
            f"export function {i()}({w()}, {w()}) {{",
            f"  // {self.sentence()}",
            f"  return {w()}.map(({w()}) => {w()}.{w()});",
            "}",
        ][r] + "\n"

    def javascript_pii(self) -> str:
        return f'  const {self.ident()} = "{self.pii()}"; // {self.sentence(3)}\n'

    def config(self) -> str:
        r, w = self.rng.randrange(4), self.word
        return [
            f"{self.ident()}: {self.rng.randrange(10000)}",
            f"  {w()}: {w()}-{w()}",
            f"# {self.sentence(6)}",
            f"{w()}_enabled: {self.rng.choice(['true', 'false'])}",
        ][r] + "\n"

    def config_pii(self) -> str:
        return f"{self.ident()}: \"{self.pii()}\"\n"

    def log(self) -> str:
        r = self.rng
        level = r.choice(["INFO", "INFO", "INFO", "DEBUG", "WARN", "ERROR"])
        return (f"2024-{r.randrange(1, 13):02}-{r.randrange(1, 29):02}T{r.randrange(24):02}:"
                f"{r.randrange(60):02}:{r.randrange(60):02}.{r.randrange(1000):03}Z {level} "
                f"[{self.word()}.{self.word()}] {self.sentence(r.randrange(4, 12))} "
                f"request_id={r.getrandbits(64):016x} took={r.randrange(1, 900)}ms\n")

    def log_pii(self) -> str:
        line = self.log()
        return line[:-1] + f" user={self.pii()}\n"

    def csv(self) -> str:
        r = self.rng
        return (f"{r.randrange(10**7)},{self.word().upper()}-{r.randrange(1000):03},"
                f"{r.randrange(1, 9)},{r.randrange(100, 99999) / 100:.2f},"
                f"{self.word()},{self.sentence(3).lower()}\n")

    def csv_pii(self) -> str:
        return self.csv()[:-1] + f",{self.pii()}\n"

    def minified(self) -> str:
        r, i, w = self.rng.randrange(4), self.ident, self.word
        return [
            f"function {i()}({w()},{w()}){{return {w()}.{i()}({w()})}}",
            f'var {i()}="{w()} {w()}";',
            f"{w()}.{i()}=function(){{if(!this.{w()})throw new Error(\"{self.sentence(4)}\")}};",
            f"for(var {w()}=0;{w()}<{self.rng.randrange(99)};{w()}++){w()}.push({w()});",
        ][r]

    def minified_pii(self) -> str:
        return f'{{"{self.word()}":"{self.pii()}","id":{self.rng.randrange(10**6)}}},'

    def body(self, pools: tuple[list[str], list[str]], size: int, gap: int,
             sep: str = "") -> Iterator[str]:
        """Text of about `size` bytes from the pools, one planted line per `gap` bytes."""
        plain, planted = pools
        average = max(1, sum(map(len, plain[:200])) // 200)
        remaining = size
        while remaining > 0:
            count = max(1, min(remaining, 1 << 20) // average)
            lines = self.rng.choices(plain, k=count)
            for _ in range(round(count * average / gap + self.rng.random() - 0.5)):
                lines[self.rng.randrange(count)] = self.rng.choice(planted)
            chunk = sep.join(lines)
            remaining -= len(chunk)
            yield chunk


@dataclass(frozen=True)
class FileKind:
    folder: str
    extension: str
    sizes: tuple[int, int]
    byte_share: float
    make: str  # LineMaker method name; with "_pii" for the planted lines


MIXED_KINDS = (
    FileKind("src", ".py", (1_000, 40_000), 0.25, "python"),
    FileKind("web", ".js", (1_000, 30_000), 0.15, "javascript"),
    FileKind("config", ".yaml", (200, 6_000), 0.05, "config"),
    FileKind("logs", ".log", (20_000, 2_000_000), 0.30, "log"),
    FileKind("data", ".csv", (10_000, 3_000_000), 0.25, "csv"),
)
PLANT_GAP = {"mixed": 4_000, "log": 20_000, "minified": 10_000}  # bytes per planted value


def generated_corpus(kind: str, megabytes: int, seed: int, cache: Path) -> Corpus:
    """The cached corpus if its marker matches, else a freshly generated one."""
    base = cache / f"{kind}-{megabytes}MB-seed{seed}"
    marker = base.with_suffix(".json")
    wanted = {"generator": GENERATOR_VERSION, "kind": kind, "megabytes": megabytes, "seed": seed}
    try:
        recorded = json.loads(marker.read_text())
    except (OSError, ValueError):
        recorded = {}
    if not (base.is_dir() and all(recorded.get(k) == v for k, v in wanted.items())):
        started = time.perf_counter()
        print(f"generating {kind} corpus ({megabytes} MB, seed {seed}) in {base} ...",
              end=" ", flush=True)
        shutil.rmtree(base, ignore_errors=True)
        marker.unlink(missing_ok=True)
        partial = base.with_name(base.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        files, size = GENERATORS[kind](partial, megabytes * MB, random.Random(seed), seed)
        partial.rename(base)
        marker.write_text(json.dumps(wanted | {"files": files, "bytes": size}) + "\n")
        recorded = wanted | {"files": files, "bytes": size}
        print(f"{time.perf_counter() - started:.1f} s", flush=True)
    single = kind in ("log", "minified")
    target = next(base.iterdir()) if single else base
    flags = ("--max-file-size", "4GB") if single else ()
    return Corpus(kind, target, recorded["files"], recorded["bytes"], flags, ())


def write_text(path: Path, chunks: Iterator[str]) -> int:
    written = 0
    with open(path, "w", encoding="utf-8", newline="\n") as out:
        for chunk in chunks:
            written += out.write(chunk)
    return path.stat().st_size


def generate_mixed(root: Path, size: int, rng: random.Random, seed: int) -> tuple[int, int]:
    maker = LineMaker(FakeValues(seed), rng)
    pools = {k.make: maker.pool(getattr(maker, k.make), getattr(maker, k.make + "_pii"))
             for k in MIXED_KINDS}
    # Pick kinds by count so that each kind's share of the bytes comes out as planned.
    weights = [k.byte_share / (sum(k.sizes) / 2) for k in MIXED_KINDS]
    files = total = 0
    while total < size:
        kind = rng.choices(MIXED_KINDS, weights)[0]
        folder = root / f"repo{files // 400:03}" / kind.folder
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{maker.ident()}_{files}{kind.extension}"
        header = "order_id,sku,qty,price,status,note,contact\n" if kind.extension == ".csv" else ""
        wanted = min(rng.randint(*kind.sizes), size - total + 200)
        chunks = maker.body(pools[kind.make], wanted, PLANT_GAP["mixed"])
        total += write_text(path, iter([header, *chunks]))
        files += 1
    return files, total


def generate_log(root: Path, size: int, rng: random.Random, seed: int) -> tuple[int, int]:
    maker = LineMaker(FakeValues(seed), rng)
    pools = maker.pool(maker.log, maker.log_pii, size=20000)
    return 1, write_text(root / "app.log", maker.body(pools, size, PLANT_GAP["log"]))


def generate_minified(root: Path, size: int, rng: random.Random, seed: int) -> tuple[int, int]:
    maker = LineMaker(FakeValues(seed), rng)
    pools = maker.pool(maker.minified, maker.minified_pii, size=20000)
    return 1, write_text(root / "bundle.min.js", maker.body(pools, size, PLANT_GAP["minified"]))


GENERATORS = {"mixed": generate_mixed, "log": generate_log, "minified": generate_minified}


def warm_page_cache(corpus: Corpus) -> None:
    """Read every file once so that no tool pays for the disk and the first one is not penalised."""
    paths = [corpus.target] if corpus.target.is_file() else (
        Path(folder, name) for folder, _, names in os.walk(corpus.target) for name in names)
    for path in paths:
        try:
            with open(path, "rb", buffering=0) as handle:
                while handle.read(1 << 22):
                    pass
        except OSError:
            pass


# --- measurements ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    corpus: Corpus
    tool: str
    jobs: str
    seconds: float = 0.0
    peak_rss_mb: float = 0.0
    hits: int | None = None
    note: str = ""
    error: str | None = None

    @property
    def mb_per_s(self) -> float:
        return self.corpus.size / MB / self.seconds if self.seconds else 0.0


@dataclass(frozen=True)
class Setup:
    piiscan: str
    jobs: tuple[int, ...] | None  # None: piiscan has no --jobs option
    cpus: int
    rg: str | None
    packs: str | None
    timeout: float
    workdir: Path
    env: dict[str, str]
    repeat: int = 1  # runs per throughput measurement: the median run is shown


def measure_piiscan(corpus: Corpus, jobs: int | None, setup: Setup) -> Row:
    report = setup.workdir / "report.json"
    argv = [setup.piiscan, "scan", str(corpus.target), *corpus.piiscan_flags, "-f", "json",
            "-o", str(report), "-q", "--fail-on", "never", "--no-config"]
    if setup.packs:
        argv += ["--packs", setup.packs]
    if jobs is not None:
        argv += ["--jobs", str(jobs)]
    label = "-" if jobs is None else str(jobs)
    try:
        report.unlink(missing_ok=True)
        done = run_measured(argv, setup.timeout, setup.env)
        error = failure_of(done, (0,), setup.timeout)
        if error:
            return Row(corpus, "piiscan", label, error=error)
        result = json.loads(report.read_text(encoding="utf-8"))
        stats = result.get("stats", {})
        note = ""
        read = stats.get("bytes_scanned")
        if read is not None and abs(read - corpus.size) > corpus.size * 0.01:
            note = f"piiscan read {read / MB:.1f} MB in {stats.get('files_scanned')} files"
        return Row(corpus, "piiscan", label, done.seconds, done.peak_rss_mb,
                   len(result.get("findings", [])), note)
    except (OSError, ValueError) as exc:
        return Row(corpus, "piiscan", label, error=f"{type(exc).__name__}: {exc}"[:120])
    finally:
        report.unlink(missing_ok=True)


def measure_rg(corpus: Corpus, jobs: int, ascii_only: bool, setup: Setup) -> Row:
    tool = "rg naive, ASCII \\b" if ascii_only else "rg naive"
    if setup.rg is None:
        return Row(corpus, tool, str(jobs), error="rg: not available")
    patterns = [ascii_word_boundaries(p) if ascii_only else p for p in NAIVE_PATTERNS.values()]
    counts = setup.workdir / "rg-counts.txt"
    argv = [setup.rg, "--no-config", "--no-ignore", "--hidden", "--count-matches", "-j", str(jobs),
            *corpus.rg_flags]
    for pattern in patterns:
        argv += ["-e", pattern]
    argv.append(str(corpus.target))
    try:
        done = run_measured(argv, setup.timeout, setup.env, stdout_path=counts)
        error = failure_of(done, (0, 1), setup.timeout)  # 1: nothing matched
        if error:
            return Row(corpus, tool, str(jobs), error=error)
        # "path:count" per file with matches, or just "count" when given one file.
        text = counts.read_text(encoding="utf-8", errors="replace")
        hits = sum(int(line.rsplit(":", 1)[-1]) for line in text.splitlines() if line)
        return Row(corpus, tool, str(jobs), done.seconds, done.peak_rss_mb, hits)
    except (OSError, ValueError) as exc:
        return Row(corpus, tool, str(jobs), error=f"{type(exc).__name__}: {exc}"[:120])
    finally:
        counts.unlink(missing_ok=True)


def measure_corpus(corpus: Corpus, setup: Setup) -> list[Row]:
    warm_page_cache(corpus)
    measurements: list[Callable[[], Row]] = [
        functools.partial(measure_piiscan, corpus, jobs, setup) for jobs in setup.jobs or (None,)
    ]
    for ascii_only in (False, True):
        for jobs in sorted({1, setup.cpus}):
            measurements.append(functools.partial(measure_rg, corpus, jobs, ascii_only, setup))
    # Round robin: each round runs every measurement once, so that a slow spell of a shared
    # machine falls on both tools alike instead of on one tool's runs.
    runs: list[list[Row]] = [[] for _ in measurements]
    for round_number in range(1, setup.repeat + 1):
        for measure, done in zip(measurements, runs):
            if not (done and done[-1].error):  # a failed measurement is not retried
                done.append(measure())
                if setup.repeat > 1:
                    print(f"  ({round_number}/{setup.repeat}) {format_row(done[-1])}", flush=True)
                else:  # one run each (full sizes: minutes apiece): shown as it finishes
                    print_progress(done[-1])
    rows = [median_run(done) for done in runs]
    if setup.repeat > 1:
        for row in rows:
            print_progress(row)
    return rows


def median_run(runs: list[Row]) -> Row:
    """The run of median time (the slower middle one for an even count; the first failure,
    if a run failed), with the largest peak RSS of them all."""
    failed = [row for row in runs if row.error]
    if failed:
        return failed[0]
    median = sorted(runs, key=lambda r: r.seconds)[len(runs) // 2]
    return replace(median, peak_rss_mb=max(r.peak_rss_mb for r in runs))


@dataclass(frozen=True)
class ColdStart:
    label: str
    times: tuple[float, ...] = ()
    peak_rss_mb: float = 0.0
    error: str | None = None


def small_file(setup: Setup) -> Path:
    """A 1 KB text file with one fake e-mail address (the cold-start and warm-up input)."""
    from faker import Faker

    small = setup.workdir / "notes.txt"
    if not small.exists():
        fake = Faker("en_US")
        fake.seed_instance(DEFAULT_SEED)
        small.write_text("\n".join(fake.sentences(nb=10)) + f"\nContact: {fake.free_email()}\n",
                         encoding="utf-8")
    return small


def warm_up(setup: Setup) -> str | None:
    """One untimed piiscan run: fills the bytecode and hyperscan caches before any timing."""
    argv = [setup.piiscan, "scan", str(small_file(setup)), "-q", "--fail-on", "never",
            "--no-config"]
    if setup.packs:
        argv += ["--packs", setup.packs]
    return failure_of(run_measured(argv, setup.timeout, setup.env), (0,), setup.timeout)


def measure_cold_start(setup: Setup, runs: int) -> list[ColdStart]:
    small = small_file(setup)
    commands = [("python -c pass", [sys.executable, "-c", "pass"]),
                ("piiscan scan <1 file>", [setup.piiscan, "scan", str(small), "-q",
                                           "--fail-on", "never", "--no-config",
                                           *(["--packs", setup.packs] if setup.packs else [])])]
    detect_secrets = (script("detect-secrets-hook")
                      if importlib.util.find_spec("detect_secrets") else None)
    if detect_secrets:
        commands.append(("detect-secrets-hook <1 file>", [detect_secrets, str(small)]))
    results = []
    for label, argv in commands:
        try:
            run_measured(argv, setup.timeout, setup.env)  # untimed: fills the caches
            done = [run_measured(argv, setup.timeout, setup.env) for _ in range(runs)]
            errors = [e for d in done if (e := failure_of(d, (0, 1), setup.timeout))]
            if errors:
                results.append(ColdStart(label, error=errors[0]))
            else:
                results.append(ColdStart(label, tuple(d.seconds for d in done),
                                         max(d.peak_rss_mb for d in done)))
        except OSError as exc:
            results.append(ColdStart(label, error=f"{type(exc).__name__}: {exc}"[:120]))
    if not detect_secrets:
        results.append(ColdStart("detect-secrets-hook <1 file>", error="not installed"))
    return results


# --- output ---------------------------------------------------------------------------------

HEADER = (f"{'corpus':9} {'size MB':>8} {'files':>6} {'tool':18} {'jobs':>4} {'seconds':>8} "
          f"{'MB/s':>7} {'files/s':>8} {'RSS MB':>7} {'hits':>8}")


def format_row(row: Row) -> str:
    c = row.corpus
    start = f"{c.name:9} {c.size / MB:8.1f} {c.files:6} {row.tool:18} {row.jobs:>4} "
    if row.error:
        return start + f"failed: {row.error}"
    hits = "" if row.hits is None else str(row.hits)
    files_per_s = c.files / row.seconds
    line = (start + f"{row.seconds:8.2f} {row.mb_per_s:7.1f} "
            f"{files_per_s:8.{0 if files_per_s >= 100 else 2}f} "
            f"{row.peak_rss_mb:7.0f} {hits:>8}")
    return line + (f"  ({row.note})" if row.note else "")


def print_progress(row: Row) -> None:
    print("  " + format_row(row), flush=True)


def ratio_lines(rows: list[Row]) -> list[str]:
    lines = []
    by_key = {(r.corpus.name, r.tool, r.jobs): r for r in rows if not r.error}
    for row in rows:
        if row.tool != "piiscan" or row.error:
            continue
        jobs = row.jobs if row.jobs != "-" else "1"
        parts = []
        for tool in ("rg naive", "rg naive, ASCII \\b"):
            other = by_key.get((row.corpus.name, tool, jobs))
            parts.append(f"{row.mb_per_s / other.mb_per_s:5.2f}x {tool}" if other
                         else f"  n/a {tool}")
        lines.append(f"  {row.corpus.name:9} jobs {row.jobs:>2}: " + ";  ".join(parts))
    return lines


def target_lines(rows: list[Row], cold: list[ColdStart]) -> list[str]:
    def verdict(ok: bool) -> str:
        return "met" if ok else "NOT met"

    lines = []
    ok = {(r.corpus.name, r.tool, r.jobs): r for r in rows if not r.error}
    for row in rows:
        if row.corpus.name == "stdlib" and row.tool == "piiscan" and not row.error:
            jobs = row.jobs if row.jobs != "-" else "1"
            rg = ok.get(("stdlib", "rg naive", jobs))
            if rg:
                ratio = row.mb_per_s / rg.mb_per_s
                lines.append(f"  stdlib >= {RG_RATIO_TARGET:g}x rg naive, jobs {row.jobs}: "
                             f"{ratio:.2f}x ({row.mb_per_s:.1f} vs {rg.mb_per_s:.1f} MB/s) "
                             f"{verdict(ratio >= RG_RATIO_TARGET)}")
    medians = {c.label: statistics.median(c.times) for c in cold if not c.error}
    mine = medians.get("piiscan scan <1 file>")
    if mine is not None:
        peers = {k: v for k, v in medians.items() if k.startswith("detect-secrets")}
        good = mine < COLD_START_TARGET_S and all(mine < v for v in peers.values())
        against = ", ".join(f"{k.split()[0]} {v:.3f} s" for k, v in peers.items())
        lines.append(f"  cold start < {COLD_START_TARGET_S} s and below peers: {mine:.3f} s"
                     f"{f' ({against})' if against else ''} {verdict(good)}")
    for row in rows:
        if row.corpus.name in ("log", "minified") and row.tool == "piiscan":
            where = f"  peak RSS < {RSS_TARGET_MB} MB, {row.corpus.name} " \
                    f"({row.corpus.size / MB:.0f} MB), jobs {row.jobs}: "
            lines.append(where + ("failed" if row.error else
                         f"{row.peak_rss_mb:.0f} MB {verdict(row.peak_rss_mb < RSS_TARGET_MB)}"))
    return lines


def git_commit() -> str:
    here = Path(__file__).resolve().parent
    try:
        done = subprocess.run(["git", "-C", str(here), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    return done.stdout.strip() or "?"


def measured_env(cache: Path, as_is: bool) -> tuple[dict[str, str], str]:
    """The environment of measured processes, and a line saying how it differs from ours.

    An installed package runs from compiled bytecode. With PYTHONDONTWRITEBYTECODE set (as in
    some containers) an editable install would recompile piiscan's modules on every start,
    which is not what a user pays, so measured processes get a bytecode cache of their own
    (outside the repository) that the untimed warm-up runs fill.
    """
    env = dict(os.environ)
    if as_is or "PYTHONDONTWRITEBYTECODE" not in env:
        return env, ""
    del env["PYTHONDONTWRITEBYTECODE"]
    env["PYTHONPYCACHEPREFIX"] = str(cache / "pycache")
    return env, (f"bytecode: PYTHONDONTWRITEBYTECODE is set here; measured processes use "
                 f"PYTHONPYCACHEPREFIX={cache / 'pycache'} instead (--env-as-is to keep it)")


# --- main -----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="small generated corpora (50/200/20 MB); under two minutes")
    parser.add_argument("--only", default=",".join(PARTS),
                        help=f"comma-separated parts to run (default: all of {','.join(PARTS)})")
    parser.add_argument("--cache-dir", type=Path, default=Path(os.environ.get(
        "PIISCAN_BENCH_CACHE", Path.home() / ".cache" / "piiscan-bench")))
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--mixed-mb", type=int, help="size of the mixed tree (1000; quick 50)")
    parser.add_argument("--log-mb", type=int, help="size of the log file (2000; quick 200)")
    parser.add_argument("--minified-mb", type=int, help="size of the minified file (100; quick 20)")
    parser.add_argument("--runs", type=int, default=10, help="cold-start runs (median)")
    parser.add_argument("--repeat", type=int,
                        help="runs per throughput measurement, median shown (3; full 1)")
    parser.add_argument("--packs", help="passed to piiscan --packs (default: piiscan's)")
    parser.add_argument("--timeout", type=float,
                        help="seconds before one measurement is killed (60; full 7200)")
    parser.add_argument("--no-install", action="store_true", help="never apt-get install rg")
    parser.add_argument("--env-as-is", action="store_true",
                        help="keep PYTHONDONTWRITEBYTECODE if set (by default measured processes "
                             "get a bytecode cache, as an installed package has)")
    args = parser.parse_args()

    if args.repeat is not None and args.repeat < 1:
        parser.error("--repeat must be at least 1")
    parts = {p.strip() for p in args.only.split(",") if p.strip()}
    unknown = parts - set(PARTS)
    if unknown:
        parser.error(f"unknown parts {sorted(unknown)}; choose from {','.join(PARTS)}")
    sizes = {"mixed": args.mixed_mb or (50 if args.quick else 1000),
             "log": args.log_mb or (200 if args.quick else 2000),
             "minified": args.minified_mb or (20 if args.quick else 100)}
    piiscan = script("piiscan")
    if piiscan is None:
        sys.exit("piiscan is not installed; run `pip install -e '.[dev]'` first")
    started = time.perf_counter()
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    has_jobs = "--jobs" in subprocess.run([piiscan, "scan", "--help"], capture_output=True,
                                          text=True, timeout=60).stdout
    rg = find_or_install_rg(not args.no_install) if parts - {"cold"} else None

    env, bytecode_note = measured_env(args.cache_dir, args.env_as_is)
    with tempfile.TemporaryDirectory(prefix="piiscan-speed-") as tmp:
        setup = Setup(piiscan, tuple(sorted({1, cpus or 1})) if has_jobs else None, cpus or 1,
                      rg, args.packs, args.timeout or (60 if args.quick else 7200), Path(tmp), env,
                      args.repeat or (3 if args.quick else 1))
        print(f"{date.today()}  commit {git_commit()}  {'quick' if args.quick else 'full'} mode, "
              f"{setup.cpus} CPUs, python {sys.version.split()[0]}, "
              f"{first_line([piiscan, '--version'])}, "
              f"{first_line([rg, '--version']) if rg else 'rg: not available'}")
        if not has_jobs:
            print("jobs: not available (piiscan scan has no --jobs option): one row per corpus")
        print(f"corpora cache: {args.cache_dir}; load average before: "
              f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        if bytecode_note:
            print(bytecode_note)
        print()

        problem = warm_up(setup)
        if problem:
            print(f"warning: the untimed warm-up run of piiscan failed: {problem}")
        rows: list[Row] = []
        print(HEADER, flush=True)
        for part in ("stdlib", "mixed", "log", "minified"):
            if part not in parts:
                continue
            try:
                corpus = (stdlib_corpus() if part == "stdlib"
                          else generated_corpus(part, sizes[part], args.seed, args.cache_dir))
            except Exception as exc:  # one corpus failing must not stop the others
                print(f"  {part:9} failed: {type(exc).__name__}: {exc}"[:160], flush=True)
                continue
            rows += measure_corpus(corpus, setup)
        cold = measure_cold_start(setup, args.runs) if "cold" in parts else []

    print("\n" + HEADER)
    for row in rows:
        print(format_row(row))
    print(f"seconds: median of {setup.repeat} run{'s' if setup.repeat > 1 else ''} each. hits: "
          "piiscan findings; rg matches. RSS: peak of one process (with --jobs N, the largest "
          "of main and workers; the largest of the runs).")
    print(f"planted values: one per ~{PLANT_GAP['mixed'] // 1000} KB (mixed), "
          f"~{PLANT_GAP['log'] // 1000} KB (log), ~{PLANT_GAP['minified'] // 1000} KB (minified)")
    ratios = ratio_lines(rows)
    if ratios:
        print("\npiiscan throughput / rg throughput (same corpus, same run):")
        print("\n".join(ratios))
    if cold:
        print(f"\ncold start, one small file, {args.runs} fresh processes:")
        print(f"  {'command':30} {'median s':>9} {'min s':>7} {'max s':>7} {'RSS MB':>7}")
        for c in cold:
            if c.error:
                print(f"  {c.label:30} failed: {c.error}")
            else:
                print(f"  {c.label:30} {statistics.median(c.times):9.3f} {min(c.times):7.3f} "
                      f"{max(c.times):7.3f} {c.peak_rss_mb:7.0f}")
    targets = target_lines(rows, cold)
    if targets:
        print("\ntargets (issue 8):")
        print("\n".join(targets))
    load = os.getloadavg()[0]
    print(f"\ntotal run time {time.perf_counter() - started:.0f} s; load average after: {load:.2f}")
    if load > 0.5 * setup.cpus:
        print("warning: other work was running on this machine; these figures are noisy")


if __name__ == "__main__":
    main()
