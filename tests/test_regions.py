"""Region extraction: the natural-language spans NER is shown, per file type."""

from __future__ import annotations

import time

import pytest
from faker import Faker

from piiscan.regions import MAX_REGION_CHARS, Region, natural_language_regions

fake = Faker(["en_US", "de_DE", "fr_FR"])
Faker.seed(7)
NAMES = [fake.unique.name().replace("'", "").replace('"', "") for _ in range(12)]
A, B, C, D, E, F = NAMES[:6]


def regions(path: str, text: str) -> list[Region]:
    """Regions, checked against the contract every scanner must keep."""
    found = natural_language_regions(path, text)
    last_end = 0
    for r in found:
        assert 0 <= r.start < r.end <= len(text)
        assert r.start >= last_end, "regions must be sorted and disjoint"
        last_end = r.end
        assert r.kind in {"prose", "comment", "string", "value"}
        content = text[r.start : r.end]
        assert content == content.strip(), "regions are trimmed"
        assert any(ch.isalpha() for ch in content)
        assert len(content) <= MAX_REGION_CHARS
    return found


def contents(path: str, text: str) -> list[str]:
    return [text[r.start : r.end] for r in regions(path, text)]


def keyed(path: str, text: str) -> dict[str, str]:
    """content -> key."""
    return {text[r.start : r.end]: r.key for r in regions(path, text)}


def inside_a_region(found: list[Region], text: str, needle: str) -> bool:
    """Whether any occurrence of `needle` lies within one region."""
    at = text.find(needle)
    while at >= 0:
        if any(r.start <= at and at + len(needle) <= r.end for r in found):
            return True
        at = text.find(needle, at + 1)
    return False


def assert_code_only_outside(path: str, text: str, identifiers: list[str], texts: list[str]):
    found = regions(path, text)
    for identifier in identifiers:
        assert not inside_a_region(found, text, identifier), identifier
    for phrase in texts:
        assert inside_a_region(found, text, phrase), phrase
    return found


# --------------------------------------------------------------------------- Python


PYTHON = f'''#!/usr/bin/env python3
"""Customer import, written by {A}."""

# Maintainer: {B} (ask before changing)
person_name = "{C}"
first_name: str = '{D}'
record = {{"name": "{E}", "age": 41}}
record["nickname"] = "{F}"


def getName(person_name):
    """Return the display name; {A} reviewed this."""
    greeting = f"Dear {{person_name.title()}}, welcome back"
    return greeting
'''


def test_python_comments_strings_and_docstrings_not_identifiers():
    found = assert_code_only_outside(
        "app/models.py",
        PYTHON,
        identifiers=["person_name", "getName", "first_name", "greeting", "record", ".title()"],
        texts=[A, B, C, D, E, F, "Dear", "welcome back", "ask before changing"],
    )
    assert "usr/bin/env" not in {PYTHON[r.start : r.end] for r in found}, "shebang skipped"
    kinds = {PYTHON[r.start : r.end]: r.kind for r in found}
    assert kinds[f"Maintainer: {B} (ask before changing)"] == "comment"
    assert kinds[f"Customer import, written by {A}."] == "string"


def test_python_keys_of_assignments_dicts_and_calls():
    keys = keyed("m.py", PYTHON + f'send(recipient="{A}")\n')
    assert keys[C] == "person_name"
    assert keys[D] == "first_name"  # annotated: the name, not the type
    assert keys[E] == "name"
    assert keys[F] == "nickname"
    assert keys[A] == "recipient"
    assert keys[f"Customer import, written by {A}."] == ""
    assert "name" not in keys and "nickname" not in keys, "dict keys are field names, not text"


def test_python_string_prefixes_and_triple_quotes():
    text = f"a = rb'{A}'\nb = '''{B}\n{C}'''\nc = Rf\"{{x}}{D}\"\n"
    assert contents("x.py", text) == [A, f"{B}\n{C}", D]


def test_python_comparison_is_not_a_key():
    keys = keyed("x.py", f'if owner == "{A}":\n    pass\n')
    assert keys[A] == ""


@pytest.mark.parametrize(
    "broken",
    [
        f'def f(:\n    x = "{A}"\n  # {B}\n"""never closed {C}',
        f'x = (\n    "{A}",\n# {B}\n',
        f"class X:\n  def a(self):\n      y = '{A}'\n    z = '{B}'\n",
        f"s = '{A}\n",
    ],
)
def test_python_broken_code_does_not_raise_and_still_finds_text(broken):
    found = regions("broken.py", broken)
    assert inside_a_region(found, broken, A)


def test_python_large_file_uses_the_fast_scanner_with_same_offsets():
    line = f'name = "{A}"  # owner {B}\n'
    text = line * (1_000_000 // len(line) + 10)
    found = regions("gen.py", text)
    assert len(found) == 2 * text.count("\n")
    assert text[found[0].start : found[0].end] == A and found[0].key == "name"


# --------------------------------------------------------------------------- C family


JAVASCRIPT = f"""// Author: {A} <it's "quoted" here>
const personName = "{B}";
/* Reviewed by {C}.
 * Don't touch getName() without asking. */
const profile = {{name: '{D}', url: "http://example.com//path"}};
const banner = `Hello ${{getName(user)}} and ${{ {{a: 1}}.a }} from {E}`;
let nick: string = "{F}";
"""


def test_javascript_comments_strings_templates():
    found = assert_code_only_outside(
        "src/app.ts",
        JAVASCRIPT,
        identifiers=["personName", "getName(user)", "const profile", "banner", ".a }"],
        texts=[A, B, C, D, E, F, "http://example.com//path", "Hello"],
    )
    keys = {JAVASCRIPT[r.start : r.end]: r.key for r in found}
    assert keys[B] == "personName"
    assert keys[D] == "name"
    assert keys[F] == "nick"
    assert keys[f"from {E}"] == "banner"


def test_a_quote_in_a_comment_does_not_derail_the_scan():
    text = f"// it's {A}'s code\nint x = 1; /* a \" quote */\nString who = \"{B}\";\n"
    assert contents("Main.java", text) == [f"it's {A}'s code", 'a " quote', B]


@pytest.mark.parametrize(
    ("path", "snippet"),
    [
        ("Main.java", f'// by {A}\nclass P {{ String getName() {{ return "{B}"; }} }}\n'),
        ("main.go", f'// by {A}\nfunc getName() string {{ personName := "{B}"; return "" }}\n'),
        ("main.c", f'/* by {A} */\nconst char *getName(void) {{ return "{B}"; }}\n'),
        ("main.cpp", f'// by {A}\nstd::string getName() {{ return "{B}"; }}\n'),
        ("Program.cs", f'/// by {A}\npublic string getName() => "{B}";\n'),
        ("lib.rs", f"// by {A}\nfn getName<'a>(x: &'a str) -> &'a str {{ \"{B}\" }}\n"),
        ("App.kt", f'// by {A}\nfun getName() = """{B}"""\n'),
        ("App.swift", f'// by {A}\nfunc getName() -> String {{ return "{B}" }}\n'),
        ("index.php", f'<?php # by {A}\nfunction getName() {{ $person_name = \'{B}\'; }}\n'),
        ("App.scala", f'// by {A}\ndef getName = "{B}"\n'),
    ],
)
def test_c_family_languages(path, snippet):
    assert_code_only_outside(path, snippet, identifiers=["getName"], texts=[A, B])


def test_go_raw_strings_span_lines_and_keys():
    text = f'package main\nvar person = Person{{Name: "{A}"}}\nconst bio = `first line\n{B}`\n'
    keys = keyed("main.go", text)
    assert keys[A] == "Name"
    assert keys[f"first line\n{B}"] == "bio"


# --------------------------------------------------------------------------- shell and friends


def test_shell_comments_and_strings_not_special_hashes():
    text = f'#!/bin/bash\n# deploy script by {A}\nOWNER="{B}"\necho "$# args" ${{#list}}\n'
    found = assert_code_only_outside(
        "deploy.sh", text, identifiers=["OWNER", "${#list}", "bin/bash"], texts=[A, B, "args"]
    )
    assert {text[r.start : r.end]: r.key for r in found}[B] == "OWNER"


@pytest.mark.parametrize(
    ("path", "snippet"),
    [
        ("lib/user.rb", f'# by {A}\ndef person_name\n  "{B}"\nend\n'),
        ("tool.pl", f'# by {A}\nmy $person_name = "{B}";\n'),
        ("analysis.R", f'# by {A}\nperson_name <- "{B}"\n'),
        ("Makefile", f'# by {A}\nperson_name:\n\techo "{B}"\n'),
        ("Dockerfile", f'# by {A}\nLABEL maintainer="{B}"\nRUN person_name\n'),
    ],
)
def test_hash_comment_languages(path, snippet):
    assert_code_only_outside(path, snippet, identifiers=["person_name"], texts=[A, B])


def test_key_value_files():
    text = (
        f"; settings\n[owner]\nperson_name = {A}\nlabel: '{B}' ; who\n"
        f"# contact {C}\nexport NOTE=\"{D}\"\n"
    )
    keys = keyed("settings.ini", text)
    assert keys[A] == "person_name"
    assert keys[B] == "label"
    assert keys[D] == "NOTE"
    assert keys[f"contact {C}"] == ""
    assert "owner" not in keys and "person_name" not in keys


def test_dotenv_and_toml():
    assert keyed(".env.local", f"# dev\nADMIN_NAME={A}\n")[A] == "ADMIN_NAME"
    toml = f'[project]\nauthors = ["{A} <a@example.com>", "{B}"]\ndescription = """\nBy {C}.\n"""\n'
    keys = keyed("pyproject.toml", toml)
    assert keys[f"{A} <a@example.com>"] == "authors" and keys[B] == "authors"
    assert keys[f"By {C}."] == "description"


# --------------------------------------------------------------------------- data files


YAML = f"""# owner: {A}
person:
  first_name: {B}   # from the form
  "email": 'someone@example.com'
  aliases:
    - {C}
    - "{D}"
  flow: [x1, "{E}", {{nick: Eve}}]
  active: true
  bio: |
    Grew up with {F}.
    Likes hiking.
  city: Lyon
"""


def test_yaml_values_with_keys_comments_and_block_scalars():
    found = regions("people.yaml", YAML)
    keys = {YAML[r.start : r.end]: r.key for r in found}
    assert keys[B] == "first_name"
    assert keys["someone@example.com"] == "email"
    assert keys[C] == "aliases" and keys[D] == "aliases"
    assert keys[E] == "flow" and keys["Eve"] == "nick"
    assert keys[f"Grew up with {F}.\n    Likes hiking."] == "bio"
    assert keys["Lyon"] == "city"
    assert keys[f"owner: {A}"] == "" and keys["from the form"] == ""
    assert "true" not in keys, "YAML literals are not text"
    for key_name in ("first_name", "aliases", "person", "bio"):
        assert not inside_a_region(found, YAML, key_name + ":")


def test_json_string_values_with_keys_not_keys():
    text = (
        f'{{"people": [{{"full_name": "{A}", "tags": ["vip", "{B}"], "age": 40}}],\n'
        f' "note": "said \\"hi\\" to {C}", "nested": {{"owner": {{"name": "{D}"}}}}}}\n'
    )
    found = regions("data.json", text)
    keys = {text[r.start : r.end]: r.key for r in found}
    assert keys[A] == "full_name"
    assert keys[B] == "tags" and keys["vip"] == "tags"
    assert keys[f'said \\"hi\\" to {C}'] == "note"
    assert keys[D] == "name"
    assert not inside_a_region(found, text, "full_name")


def test_jsonl_and_broken_json():
    text = f'{{"name": "{A}"}}\n{{"name": "{B}", "x": [1, 2\n{{"name": "{C}"'
    keys = keyed("events.jsonl", text)
    assert keys[A] == "name" and keys[B] == "name" and keys[C] == "name"


def test_csv_cells_keyed_by_header_header_skipped():
    text = f'id,full_name,city\r\n1,"{A}",Berlin\r\n2,"Smith, ""Jr"" {B}",Paris\r\n3,{C}\r\n'
    found = regions("people.csv", text)
    keys = {text[r.start : r.end]: r.key for r in found}
    assert keys[A] == "full_name" and keys["Berlin"] == "city"
    assert keys[f'Smith, ""Jr"" {B}'] == "full_name"
    assert keys[C] == "full_name"
    assert not inside_a_region(found, text, "full_name")


def test_tsv_and_semicolon_csv():
    assert keyed("x.tsv", f"name\tnote\n{A}\tcalled {B}\n")[f"called {B}"] == "note"
    assert keyed("x.csv", f"name;note\n{A};hi\n")[A] == "name"


def test_sql_comments_literals_and_insert_columns():
    text = (
        f"-- seed data from {A}\n"
        f"INSERT INTO customers (id, full_name, note) VALUES\n"
        f"  (1, '{B}', 'it''s fine'), (2, '{C}', NULL);\n"
        f"UPDATE customers SET nickname = '{D}' WHERE full_name = 'x'; /* {E} */\n"
    )
    found = regions("seed.sql", text)
    keys = {text[r.start : r.end]: r.key for r in found}
    assert keys[B] == "full_name" and keys[C] == "full_name"
    assert keys["it''s fine"] == "note"
    assert keys[D] == "nickname"
    assert keys[f"seed data from {A}"] == "" and keys[E] == ""
    assert not inside_a_region(found, text, "customers")


def test_html_text_nodes_and_alt_title_only():
    text = (
        f"<html><head><title>Profile of {A}</title><style>.name {{ color: red }}</style>"
        f'<script>var personName = "{B}";</script></head>\n<body class="person_name">'
        f'<p>Contact <b>{C}</b> today</p><img src="x.png" alt="Photo of {D}" title="{E}">'
        f"<!-- edited by {F} --></body></html>"
    )
    found = assert_code_only_outside(
        "page.html",
        text,
        identifiers=["personName", "person_name", "color", "x.png", B],
        texts=[A, C, D, E, F, "Contact", "today"],
    )
    keys = {text[r.start : r.end]: r.key for r in found}
    assert keys[f"Photo of {D}"] == "alt" and keys[E] == "title"


# --------------------------------------------------------------------------- prose


MARKDOWN = f"""# Team

Written by {A} and
{B}; call `getName()` for details.

```python
person_name = "{C}"
```

    indented_code = "{D}"

- Reviewed by {E}
"""


def test_markdown_paragraphs_without_code():
    found = assert_code_only_outside(
        "docs/README.md",
        MARKDOWN,
        identifiers=["getName", "person_name", "indented_code", C, D],
        texts=[A, B, E, "for details."],
    )
    assert all(r.kind == "prose" for r in found)
    assert f"Written by {A} and\n{B}; call" in [MARKDOWN[r.start : r.end] for r in found]


def test_restructured_text_literal_blocks_and_directives():
    text = (
        f"Intro by {A}::\n\n    person_name = 1\n\nBack to ``getName`` with {B}.\n\n"
        f".. code-block:: python\n\n   x = '{C}'\n\nThanks {D}.\n"
    )
    assert_code_only_outside(
        "guide.rst", text, identifiers=["person_name", "getName", C], texts=[A, B, D]
    )


def test_plain_text_and_extensionless_prose():
    text = f"Hello {A},\nsee you soon.\n\n\n  \nRegards,\n{B}\n"
    assert contents("notes.txt", text) == [f"Hello {A},\nsee you soon.", f"Regards,\n{B}"]
    assert contents("AUTHORS", f"{A}\n\n{B}\n") == [A, B]
    assert contents("data.unknownext", f"{A}\n\n{B}") == [A, B]


def test_email_subject_and_body_only():
    text = (
        f"From: {A} <a@example.com>\r\nTo: someone@example.com\r\n"
        f"Subject: Meeting notes from\r\n {B}\r\nContent-Type: text/plain\r\n\r\n"
        f"Dear {C},\r\n\r\nthanks.\r\n\r\nBest,\r\n{D}\r\n"
    )
    found = regions("mail.eml", text)
    got = [text[r.start : r.end] for r in found]
    assert got[0] == f"Meeting notes from\r\n {B}" and found[0].key == "subject"
    assert got[1:] == [f"Dear {C},", "thanks.", f"Best,\r\n{D}"]
    assert not inside_a_region(found, text, A), "From is a header, not prose"


# --------------------------------------------------------------------------- common properties


def test_crlf_offsets_are_exact():
    text = f'# by {A}\r\nname = "{B}"\r\n"""doc {C}\r\nmore"""\r\n'
    assert contents("crlf.py", text) == [f"by {A}", B, f"doc {C}\r\nmore"]
    yaml = f"name: {A}\r\nbio: |\r\n  {B}\r\n  x\r\nnext: y\r\n"
    keys = keyed("c.yaml", yaml)
    assert keys[A] == "name" and keys[f"{B}\r\n  x"] == "bio"


def test_non_ascii_names():
    text = '# Autor: Zoë Šťastná\nname = "Jürgen Groß"\ncity = "São Paulo"\nwho = "李小龍"\n'
    assert contents("u.py", text) == ["Autor: Zoë Šťastná", "Jürgen Groß", "São Paulo", "李小龍"]
    assert contents("u.json", '{"n": "Þórunn Ægisdóttir"}') == ["Þórunn Ægisdóttir"]


def test_letterless_regions_dropped_single_words_kept():
    text = 'a = "123-45"\nb = "  "\nc = "Jo"\n# ----\n'
    assert keyed("x.py", text) == {"Jo": "c"}


def test_long_regions_are_split_into_paragraphs():
    paragraph = ("word " * 1500).strip()
    text = "\n\n".join([paragraph] * 3)
    block = f'"""{text}"""\n'
    found = regions("long.py", block)
    assert len(found) == 3
    one_line = "x = '" + "abc " * 6000 + "'\n"
    pieces = regions("one.py", one_line)
    assert len(pieces) >= 3 and pieces[-1].end == one_line.index("'\n") - 1


def test_empty_and_whitespace_files():
    for path in ("a.py", "a.js", "a.json", "a.csv", "a.yaml", "a.md", "a.sql", "a.html", "x"):
        assert natural_language_regions(path, "") == []
        assert natural_language_regions(path, "\n \n") == []


@pytest.mark.parametrize(
    "path", ["x.py", "x.js", "x.go", "x.sh", "x.yaml", "x.json", "x.csv", "x.sql", "x.html",
             "x.md", "x.rst", "x.eml", "x.ini", "x.toml"]
)  # fmt: skip
def test_garbage_never_raises(path):
    fake_garbage = "\"'`{[(<!--/*#\\\n  - : | > ]} ``` \"\"\" ''' ${ \r\n" * 20
    regions(path, fake_garbage)
    regions(path, fake_garbage[::-1])


@pytest.mark.parametrize(
    ("path", "make_line"),
    [
        ("big.js", lambda i, n: f'// note {i} by {n}\nconst personName{i} = "{n}";\n'),
        ("big.json", lambda i, n: f'{{"id": {i}, "name": "{n}", "tags": ["a", "b"]}}\n'),
        ("big.csv", lambda i, n: f'{i},"{n}",Springfield\n'),
        ("big.md", lambda i, n: f"Paragraph {i} written by {n} with `code`.\n\n"),
    ],
)
def test_five_megabytes_in_reasonable_time(path, make_line):
    lines, size, i = [], 0, 0
    while size < 5_000_000:
        line = make_line(i, NAMES[i % len(NAMES)])
        lines.append(line)
        size += len(line)
        i += 1
    text = "".join(lines)
    started = time.perf_counter()
    found = natural_language_regions(path, text)
    elapsed = time.perf_counter() - started
    assert found and elapsed < 5.0, f"{path}: {elapsed:.2f}s"
    sample = found[len(found) // 2]
    assert text[sample.start : sample.end].strip() == text[sample.start : sample.end]


@pytest.mark.parametrize(
    "line",
    ['k = ["Ana Roe", "x"]', "k = [ 'a # b' ]  # c", 'k = {name = "Bo \\" Li"}', 'k = ["open', "k = [1, 2] ; x"],
)
def test_a_toml_array_is_scanned_up_to_its_line_end_only(line):
    """Arrays and inline tables are scanned within their line, in the whole text (a copy of
    the text up to each such line made large TOML files quadratic)."""
    from piiscan.regions import _HASH, _scan_code

    text = line + "\nnext = 'Cy Doe'  # later\n" + 'more = ["Di Poe"]\n'
    at, end = line.index("k = ") + 4, len(line)
    assert list(_scan_code(text, _HASH, start=at, end=end)) == list(_scan_code(text[:end], _HASH, start=at))
