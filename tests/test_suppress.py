"""Inline ignore comments, allowlists and the filter that applies them (with a baseline)."""

from __future__ import annotations

import pickle
import random
import time
from dataclasses import replace

import pytest
import regex
from faker import Faker

import piiscan
from piiscan.baseline import baseline_from_findings
from piiscan.errors import ConfigError
from piiscan.suppress import (
    Allowlist,
    IgnoreComment,
    Suppressed,
    UnusedIgnore,
    filter_findings,
    find_ignore_comments,
    parse_allowlist,
)

_rng = random.Random(5150)
_fake = Faker("en_US")
_fake.seed_instance(5150)


def fake_ssn() -> str:
    """A well-formed SSN from the issued ranges (not 000, 666 or 9xx; no zero group/serial)."""
    while True:
        area = _rng.choice([a for a in range(1, 900) if a != 666])
        ssn = f"{area:03d}-{_rng.randint(1, 99):02d}-{_rng.randint(1, 9999):04d}"
        if ssn != "123-45-6789":  # the pack's own example value, excluded by the rule
            return ssn


def fake_email() -> str:
    return _fake.unique.free_email()


@pytest.fixture(autouse=True)
def no_engine_cache(monkeypatch):
    monkeypatch.setenv("PIISCAN_NO_CACHE", "1")


def scan(text: str, path: str = "src/app.txt"):
    findings = piiscan.scan_text(text, path=path)
    assert findings, "the test text must hold findings for the engine"
    return findings


def entities_by_line(findings) -> set[tuple[int, str]]:
    return {(f.line, f.entity) for f in findings}


# --------------------------------------------------------------------------- comment syntaxes

# Each template has the PII on an ignored line 2 and a control line 3 without a comment.
COMMENT_STYLES = {
    "python": 'x = 1\nowner = "{email}"  # piiscan: ignore\nbackup = "{email2}"\n',
    "javascript": 'let a;\nconst owner = "{email}"; // piiscan: ignore\nconst b = "{email2}";\n',
    "sql": "BEGIN;\nINSERT INTO t VALUES ('{email}'); -- piiscan: ignore\nINSERT INTO t VALUES ('{email2}');\n",
    "html": '<p>\n<a href="mailto:{email}">mail</a> <!-- piiscan: ignore -->\n<a href="mailto:{email2}">x</a>\n',
    "yaml": "people:\n  - email: {email}  # piiscan:ignore\n  - email: {email2}\n",
    "ini": "[owner]\nemail = {email} ; piiscan: ignore\nbackup = {email2}\n",
    "c block": "int x;\nchar *owner = \"{email}\"; /* piiscan: ignore */\nchar *b = \"{email2}\";\n",
    "json string": '{{\n"owner": "{email}", "_piiscan": "piiscan: ignore",\n"backup": "{email2}"\n}}\n',
    "latex": "\\begin{{document}}\n\\texttt{{{email}}} % piiscan: ignore\n\\texttt{{{email2}}}\n",
    "batch": "@echo off\nREM piiscan: ignore -- set OWNER={email}\nset BACKUP={email2}\n",
    "sql ssn": "BEGIN;\nINSERT INTO p VALUES ('ssn {ssn}'); -- piiscan: ignore\nINSERT INTO p VALUES ('ssn {ssn2}');\n",
}


@pytest.mark.parametrize("style", sorted(COMMENT_STYLES))
def test_an_ignore_comment_works_in_every_comment_syntax(style):
    text = COMMENT_STYLES[style].format(
        email=fake_email(), email2=fake_email(), ssn=fake_ssn(), ssn2=fake_ssn()
    )
    findings = scan(text)
    on_ignored_line = [f for f in findings if f.line == 2]
    assert on_ignored_line and any(f.line == 3 for f in findings)

    kept, suppressed, unused = filter_findings(text, findings)

    assert kept == [f for f in findings if f.line != 2]
    assert suppressed == Suppressed(by_comment=len(on_ignored_line))
    assert unused == []


def test_the_marker_is_case_insensitive_and_tolerates_spaces():
    text = "a\nb # PiiScan:Ignore\nc // piiscan :  IGNORE[US.SSN]\nd /*PIISCAN: ignore*/\n"
    assert find_ignore_comments(text) == {
        2: IgnoreComment(2, None),
        3: IgnoreComment(3, frozenset({"US.SSN"})),
        4: IgnoreComment(4, None),
    }


@pytest.mark.parametrize(
    "comment",
    [
        "# piiscan: ignored",  # another word
        "# piiscan: ignore-next-line",  # not a directive piiscan knows
        "# mypiiscan: ignore",  # another tool's marker
        "# piiscan: ignore[",  # unclosed list
        "# piiscan: ignore[]",  # empty list
        "# piiscan: ignore[ , ]",  # only separators
        "# piiscan: ignore[us ssn]",  # not an id
        "# piiscan: ignore[us.ssn\n]",  # a list never spans lines
        "# piiscan ignore",  # no colon
    ],
)
def test_a_malformed_marker_is_not_an_ignore(comment):
    ssn = fake_ssn()
    text = f"ssn = '{ssn}'  {comment}\n"
    findings = scan(text)
    assert find_ignore_comments(text) == {}
    kept, suppressed, unused = filter_findings(text, findings)
    assert kept == findings and suppressed.total == 0 and unused == []


def test_line_numbers_match_the_engine_with_crlf_and_many_lines():
    lines = [f"filler line {i}" for i in range(500)]
    ssn_lines = (17, 250, 499)
    for n in ssn_lines:
        lines[n - 1] = f"ssn {fake_ssn()}  # piiscan: ignore[us.ssn]"
    text = "\r\n".join(lines) + "\r\n"
    findings = scan(text)
    assert sorted(f.line for f in findings) == list(ssn_lines)
    assert sorted(find_ignore_comments(text)) == list(ssn_lines)
    kept, suppressed, unused = filter_findings(text, findings)
    assert kept == [] and suppressed.by_comment == 3 and unused == []


# --------------------------------------------------------------------------- rule-specific ignores


@pytest.mark.parametrize(
    "names, suppressed_entities",
    [
        ("us.ssn", {"US_SSN"}),  # rule id
        ("US_SSN", {"US_SSN"}),  # entity name
        ("us_ssn", {"US_SSN"}),  # case does not matter
        ("EMAIL_ADDRESS, core.email", {"EMAIL_ADDRESS"}),
        ("us.ssn,EMAIL_ADDRESS", {"US_SSN", "EMAIL_ADDRESS"}),
        ("core.phone", set()),  # a rule that found nothing here
    ],
)
def test_a_rule_list_suppresses_only_the_named_rules(names, suppressed_entities):
    text = f"row: ssn {fake_ssn()} mail {fake_email()}  # piiscan: ignore[{names}]\n"
    findings = scan(text)
    assert {f.entity for f in findings} == {"US_SSN", "EMAIL_ADDRESS"}

    kept, suppressed, _ = filter_findings(text, findings)

    assert {f.entity for f in kept} == {"US_SSN", "EMAIL_ADDRESS"} - suppressed_entities
    assert suppressed.by_comment == len(suppressed_entities)


def test_two_markers_on_one_line_merge_and_a_blanket_one_wins():
    text = "x # piiscan: ignore[us.ssn] piiscan: ignore[core.email]\ny # piiscan: ignore[us.ssn] piiscan: ignore\n"
    assert find_ignore_comments(text) == {
        1: IgnoreComment(1, frozenset({"us.ssn", "core.email"})),
        2: IgnoreComment(2, None),
    }


def test_a_comment_on_any_line_of_a_multi_line_span_suppresses_it():
    # The core rules never match across a line; a finding from another recogniser (NER, a
    # multi-line address) may. Stretch a real finding over two lines to stand for one.
    email = fake_email()
    text = f"owner:\n{email}\ncontinued  # piiscan: ignore[core.email]\nlast\n"
    (finding,) = scan(text)
    two_lines = replace(finding, end=text.index("continued") + 9, end_line=3, end_column=10)

    kept, suppressed, unused = filter_findings(text, [two_lines])
    assert kept == [] and suppressed.by_comment == 1 and unused == []

    # A comment on the line after a one-line finding does not reach back to it.
    kept, _, unused = filter_findings(text, [finding])
    assert kept == [finding]
    assert unused == [UnusedIgnore(finding.path, 3, frozenset({"core.email"}))]


# --------------------------------------------------------------------------- unused ignores


def test_ignores_that_suppress_nothing_are_reported():
    ssn = fake_ssn()
    text = (
        "clean line  # piiscan: ignore\n"
        f"ssn {ssn}  # piiscan: ignore[us.ssn, core.email]\n"
        "other  // piiscan: ignore[uk.nhs]\n"
        f"ssn again {fake_ssn()}  # piiscan: ignore\n"
    )
    findings = scan(text, path="db/seed.sql")
    kept, suppressed, unused = filter_findings(text, findings)
    assert kept == [] and suppressed.by_comment == 2
    assert unused == [
        UnusedIgnore("db/seed.sql", 1, None),  # a blanket ignore on a clean line
        UnusedIgnore("db/seed.sql", 2, frozenset({"core.email"})),  # the part that matched nothing
        UnusedIgnore("db/seed.sql", 3, frozenset({"uk.nhs"})),
    ]


def test_unused_ignores_name_the_given_path_even_without_findings():
    text = "nothing here  # piiscan: ignore\n"
    kept, suppressed, unused = filter_findings(text, [], path="docs/readme.md")
    assert kept == [] and suppressed == Suppressed()
    assert unused == [UnusedIgnore("docs/readme.md", 1, None)]


def test_without_unused_reports_a_text_without_findings_is_not_searched(monkeypatch):
    from piiscan import suppress

    text = f"ssn {fake_ssn()}  # piiscan: ignore\nfree  # piiscan: ignore\n"
    findings = scan(text)
    kept, suppressed, unused = filter_findings(text, findings, report_unused=False)
    assert kept == [] and suppressed == Suppressed(by_comment=1) and unused == []
    searched = []
    monkeypatch.setattr(suppress, "find_ignore_comments", lambda *a: searched.append(a) or {})
    assert filter_findings(text, [], report_unused=False) == ([], Suppressed(), [])
    assert searched == []


def test_without_ignore_comments_everything_is_kept_and_nothing_is_unused():
    text = f"ssn {fake_ssn()}  # piiscan: ignore\nfree  # piiscan: ignore\n"
    findings = scan(text)
    kept, suppressed, unused = filter_findings(text, findings, ignore_comments=False)
    assert kept == findings and suppressed == Suppressed() and unused == []


def test_finding_markers_in_a_big_text_is_one_fast_pass():
    line = "const value = compute(items, index) + offset; // an ordinary comment\n"
    n = 150_000  # about 10 MB
    text = line * n + "x = 1  # piiscan: ignore\n"
    started = time.perf_counter()
    found = find_ignore_comments(text)
    elapsed = time.perf_counter() - started
    assert found == {n + 1: IgnoreComment(n + 1, None)}
    assert elapsed < 2.0, f"{elapsed:.2f}s for 10 MB"


# --------------------------------------------------------------------------- allowlists


def allowlist(data, source="piiscan.yaml"):
    return parse_allowlist(data, source)


def test_allowlist_by_exact_value_after_stripping():
    kept_email, allowed_email = fake_email(), fake_email()
    text = f"a {kept_email}\nb {allowed_email}\n"
    findings = scan(text)
    allow = allowlist({"values": [f"  {allowed_email} "]})
    assert [f.value for f in findings if not allow.allows(f)] == [kept_email]
    # Exact means exact: part of a value does not allow it.
    assert not any(allowlist({"values": [allowed_email[:-1]]}).allows(f) for f in findings)


def test_allowlist_by_regex_searched_in_the_value():
    ssn = fake_ssn()
    text = f"ops team: ops@acme-mail.net\nowner {fake_email()}\nssn {ssn}\n"
    findings = scan(text)
    allow = allowlist({"patterns": [r"@acme-mail\.net$", "^" + regex.escape(ssn[:3]) + "-"]})
    assert {f.entity for f in findings if not allow.allows(f)} == {"EMAIL_ADDRESS"}
    assert all(f.value != "ops@acme-mail.net" for f in findings if not allow.allows(f))


@pytest.mark.parametrize(
    "path, allowed",
    [
        ("tests/data/people.csv", True),
        ("src/tests/people.csv", True),  # `tests/` matches at any depth, as in .gitignore
        ("src/app.py", False),
        ("db/seed.sql", True),
        ("db/keep.sql", False),  # negated
        ("docs/guide.md", True),
    ],
)
def test_allowlist_by_gitignore_style_path(path, allowed):
    text = f"ssn {fake_ssn()}\n"
    (finding,) = scan(text, path=path)
    allow = allowlist({"paths": ["tests/", "*.sql", "!db/keep.sql", "/docs/**"]})
    assert allow.allows(finding) is allowed


def test_allowlist_by_rule_id_or_entity():
    text = f"ssn {fake_ssn()} mail {fake_email()}\n"
    findings = scan(text)
    by_id = allowlist({"rules": ["us.ssn"]})
    by_entity = allowlist({"rules": ["email_address"]})
    assert [f.entity for f in findings if not by_id.allows(f)] == ["EMAIL_ADDRESS"]
    assert [f.entity for f in findings if not by_entity.allows(f)] == ["US_SSN"]


def test_per_entity_allowlists_apply_to_that_entity_only():
    ssn, email = fake_ssn(), fake_email()
    findings = scan(f"ssn {ssn} mail {email}\n", path="tests/test_people.py")
    allow = allowlist(
        {
            "entities": {
                # SSNs in tests are fake; e-mail addresses there still count.
                "US_SSN": {"paths": ["tests/"]},
                # A pattern that would match the SSN too, scoped to e-mail addresses.
                "EMAIL_ADDRESS": {"patterns": ["^" + regex.escape(ssn[0])]},
                # Scoped by rule id works as well.
                "core.phone": {"values": [email]},
            }
        }
    )
    assert [f.entity for f in findings if not allow.allows(f)] == ["EMAIL_ADDRESS"]
    # Outside tests/ the SSN is reported, though the e-mail-only pattern matches its value.
    elsewhere = scan(f"ssn {ssn}\n", path="src/people.py")
    assert not any(allow.allows(f) for f in elsewhere)


def test_allowlists_pickle_for_worker_pools_and_keep_values_out_of_repr():
    email = fake_email()
    (finding,) = scan(f"mail {email}\n", path="tests/x.txt")
    allow = allowlist({"values": [email], "paths": ["fixtures/"], "entities": {"US_SSN": {"paths": ["tests/"]}}})
    copy = pickle.loads(pickle.dumps(allow))
    assert copy.allows(finding) and allow.allows(finding)
    assert email not in repr(allow)


def test_an_empty_allowlist_allows_nothing():
    findings = scan(f"ssn {fake_ssn()}\n")
    assert not any(Allowlist().allows(f) for f in findings)
    assert not any(allowlist({}).allows(f) for f in findings)


@pytest.mark.parametrize(
    "data, key_path, message, hint",
    [
        ({"valuse": []}, "allowlist.valuse", "unknown key", "did you mean 'values'?"),
        ({"entities": {"US_SSN": {"path": []}}}, "allowlist.entities.US_SSN.path", "unknown key", "did you mean 'paths'?"),
        ({"entities": {"US_SSN": {"rules": []}}}, "allowlist.entities.US_SSN.rules", "unknown key", "allowed: values, patterns, paths"),
        ({"values": "x@acme-mail.net"}, "allowlist.values", "expected a list of strings, got a string", "write a list"),
        ({"values": ["ok", 12345]}, "allowlist.values[1]", "expected a string, got a number", "quote it"),
        ({"rules": [True]}, "allowlist.rules[0]", "expected a string, got a boolean", "quote it"),
        ({"rules": ["us ssn"]}, "allowlist.rules[0]", "not a rule id or entity name", ""),
        ({"patterns": ["a", "b", "(unclosed"]}, "allowlist.patterns[2]", "bad regex", ""),
        ({"patterns": ["x*"]}, "allowlist.patterns[0]", "matches the empty string", "list it under `rules`"),
        ({"values": ["  "]}, "allowlist.values[0]", "empty value", ""),
        ({"entities": ["US_SSN"]}, "allowlist.entities", "expected a table, got a list", ""),
        ({"entities": {"US_SSN": None}}, "allowlist.entities.US_SSN", "expected a table, got nothing", ""),
        (["x"], "allowlist", "expected a table, got a list", ""),
    ],
)
def test_config_errors_name_the_file_and_key_path(data, key_path, message, hint):
    with pytest.raises(ConfigError) as caught:
        parse_allowlist(data, "piiscan.yaml")
    assert str(caught.value).startswith(f"piiscan.yaml: {key_path}: {message}")
    assert hint in caught.value.hint


def test_config_errors_use_the_given_key_and_never_repeat_values():
    secret = fake_email()
    with pytest.raises(ConfigError) as caught:
        parse_allowlist(
            {"values": [secret], "patterns": ["ok", regex.escape(secret), secret + "(["]},
            "pyproject.toml",
            key="tool.piiscan.allowlist",
        )
    assert str(caught.value).startswith("pyproject.toml: tool.piiscan.allowlist.patterns[2]: bad regex")
    assert secret not in str(caught.value) and secret not in caught.value.hint


# --------------------------------------------------------------------------- the whole filter


def test_filters_apply_in_order_count_once_and_keep_order():
    lines = [
        f"a ssn {fake_ssn()}  # piiscan: ignore",  # the comment wins over the allowlist
        f"b mail {fake_email()}",  # allowlisted by value, and in the baseline too
        f"c ssn {fake_ssn()}",  # in the baseline
        f"d mail {fake_email()}",  # new
        f"e ssn {fake_ssn()}",  # new
    ]
    text = "\n".join(lines) + "\n"
    findings = scan(text)
    assert [f.line for f in findings] == [1, 2, 3, 4, 5]
    allow = allowlist({"values": [findings[1].value, findings[0].value]})
    baseline = baseline_from_findings([findings[2], findings[1]])

    kept, suppressed, unused = filter_findings(text, findings, allowlist=allow, baseline=baseline)

    assert kept == [findings[3], findings[4]]
    assert suppressed == Suppressed(by_comment=1, by_allowlist=1, by_baseline=1)
    assert suppressed.total == 3 and suppressed + suppressed == Suppressed(2, 2, 2)
    assert unused == []
