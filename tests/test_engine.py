"""The engine and its modules on their own: finders and segments, confirmation, scoring,
overlaps, backends, snippets and fingerprints."""

from __future__ import annotations

import dataclasses
import marshal
import os
import pickle
import random

import pytest
import regex
from faker import Faker

from piiscan import compiled as compiled_module
from piiscan import engine as engine_module
from piiscan import finders, scoring
from piiscan.engine import Engine, resolve_overlaps
from piiscan.errors import ScanError
from piiscan.finders import split_segments
from piiscan.hsdatabase import hyperscan_available
from piiscan.model import Document, Severity
from piiscan.rulepack import builtin_pack_names, load_rules, parse_pack
from piiscan.scoring import Match

from ownership import hand_to_another_user

PACK = r"""
pack: scratch
rules:
  - id: t.ssn
    entity: US_SSN
    name: SSN
    description: Dashed nine digits.
    category: direct
    severity: critical
    patterns:
      - regex: '\b\d{3}-\d{2}-\d{4}\b'
        score: 0.3
    validator: us_ssn
    context: [ssn, social security]
    test_values: ['^987-65-432\d$']
    tests: {match: ['ssn 536-22-1234'], no_match: ['000-12-3456']}
  - id: t.email
    entity: EMAIL_ADDRESS
    name: Email
    description: Address.
    category: direct
    severity: high
    keywords: ['@']
    patterns:
      - regex: '\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,24}\b'
        score: 0.8
    validator: email
    made_up_in_tests: true
    named_in_credits: true
    tests: {match: ['a@b.com'], no_match: ['logo@2x.png']}
  - id: t.digits
    entity: DIGITS
    name: Nine digits
    description: Loose digits that overlap the SSN rule.
    category: quasi
    severity: low
    patterns:
      - regex: '\d{3}-\d{2}'
        score: 0.6
    tests: {match: ['123-45'], no_match: ['12-3']}
  - id: t.zip
    entity: POSTAL_CODE
    name: ZIP
    description: Needs a context word.
    category: quasi
    severity: low
    patterns:
      - regex: '\b\d{5}\b'
        score: 0.4
    context: [zip, postal code]
    context_required: true
    tests: {match: ['zip 90210'], no_match: ['port 90210']}
"""


@pytest.fixture(scope="module")
def rules():
    return parse_pack(PACK, "scratch.yaml").rules


def scan(rules, text: str, backend: str = "auto", **kw):
    return Engine(rules, backend=backend, cache_dir=None, **kw).scan(Document("t.txt", text))


def scan_path(rules, path: str, text: str, **kw):
    return Engine(rules, cache_dir=None, **kw).scan(Document(path, text))


def spans(findings):
    return [(f.rule_id, f.start, f.end) for f in findings]


# -- segments


@pytest.mark.parametrize("size", [8, 64, 4096])
def test_segments_cover_the_text_and_end_at_line_breaks(size):
    text = "".join(random.Random(size).choice(["abc ", "\n", "x" * 30, "1234\r\n"]) for _ in range(400))
    segments = split_segments(text, size)
    assert segments[0].start == 0 and segments[-1].end == len(text)
    for a, b in zip(segments, segments[1:]):
        assert b.start == a.accept_before  # nothing is left out, nothing accepted twice
        if not a.cut:
            assert text[a.end - 1] == "\n" and a.end == b.start


def test_value_across_every_long_line_cut_is_found_exactly_once(rules, monkeypatch):
    monkeypatch.setattr(finders, "SEGMENT_CHARS", 16)
    value = "jane.roe@acme-mail.net"
    for offset in range(40):
        text = "x" * offset + " " + value + " " + "y" * 50  # one long line, no newline
        found = scan(rules, text)
        assert spans(found) == [("t.email", offset + 1, offset + 1 + len(value))], offset


def test_small_segments_give_the_same_findings_as_whole_text(rules, monkeypatch):
    fake = Faker()
    Faker.seed(7)
    lines = []
    for i in range(300):
        kind = i % 3
        if kind == 0:
            lines.append(f"user {fake.user_name()} mail={fake.free_email()} ssn {fake.ssn()}")
        elif kind == 1:
            lines.append("zip " + fake.postcode()[:5] + " " + "z" * (i % 70))
        else:
            lines.append(fake.sentence())
    text = "\n".join(lines)
    whole = scan(rules, text)
    monkeypatch.setattr(finders, "SEGMENT_CHARS", 37)
    assert scan(rules, text) == whole
    assert len(whole) > 150


# -- scoring


def test_validator_context_and_test_values(rules):
    far = " " * 90  # farther than the context window on both sides
    text = f"id 536-22-1234{far}\nssn: 536-22-1235{far}\nad 987-65-4321"
    found = {f.value: f for f in scan(rules, text)}
    assert found["536-22-1234"].confidence == pytest.approx(0.7)  # 0.3 + validator 0.4
    assert found["536-22-1235"].confidence == pytest.approx(1.0)  # + context, capped
    assert found["987-65-4321"].test_data and found["987-65-4321"].severity is Severity.INFO
    assert found["536-22-1234"].severity is Severity.CRITICAL


def test_invalid_values_and_missing_required_context_are_dropped(rules):
    ssn_only = [r for r in rules if r.id == "t.ssn"]
    assert scan(ssn_only, "ssn 000-12-3456 and 666-12-3456") == []  # validator says INVALID
    assert scan(rules, "port 90210") == []
    assert spans(scan(rules, "zip code: 90210")) == [("t.zip", 10, 15)]
    assert spans(scan(rules, "postal_code=90210")) == [("t.zip", 12, 17)]  # "_" joins words


def test_min_confidence_threshold(rules):
    text = "id 536-22-1234"
    assert scan(rules, text, min_confidence=0.7)
    assert scan(rules, text, min_confidence=0.71) == []


def test_overlaps_keep_the_best_match_whatever_the_order(rules):
    found = scan(rules, "ssn 536-22-1234")
    assert spans(found) == [("t.ssn", 4, 15)]  # t.digits (0.6) loses to t.ssn (1.0)
    matches = [Match(2, 0, 6, 0.6, False), Match(0, 0, 11, 0.9, False), Match(1, 12, 20, 0.8, False)]
    for order in (matches, matches[::-1], matches[1:] + matches[:1]):
        assert resolve_overlaps(order, rules) == [matches[1], matches[2]]


def test_positions_on_crlf_and_non_ascii_text(rules):
    text = "héllo wörld\r\nnäme: jöe@acme-mail.net\r\n"
    (f,) = scan(rules, text)
    # ASCII classes: "ö" is no word character, so the address starts after it.
    assert f.value == text[f.start : f.end] == "e@acme-mail.net"
    assert f.start == text.index("e@acme")  # offsets count characters, not bytes
    assert (f.line, f.column, f.end_line, f.end_column) == (2, 9, 2, 24)


def test_snippets_mask_every_value_on_the_line(rules):
    (ssn, mail) = scan(rules, "ssn 536-22-1234 mail jane@acme-mail.net")
    assert ssn.snippet == mail.snippet == "ssn ***-**-1234 mail j***@acme-mail.net"
    assert "536-22" not in ssn.snippet and "jane" not in mail.snippet
    assert ssn.raw_snippet == "ssn 536-22-1234 mail jane@acme-mail.net"


def test_snippets_mask_the_values_under_the_threshold_too(rules):
    # At 0.8 the e-mail is reported; the SSN (0.3, 0.7 with its validator) and the digits
    # (0.6) are not, and show masked all the same.
    text = "mail jane@acme-mail.net id 536-22-1234"
    (mail,) = scan(rules, text, min_confidence=0.8)
    assert mail.raw_snippet == text
    assert mail.snippet.startswith("mail j***@acme-mail.net id ")
    assert "536" not in mail.snippet and "22-" not in mail.snippet


def test_snippets_mask_a_credit_lines_address_that_the_credit_cap_leaves_unreported(rules):
    # In source code a credit line's address is capped under the default threshold.
    text = "# Written by Jane Roe <jane@acme-mail.net>, ssn 536-22-1234\n"
    (ssn,) = scan_path(rules, "tool.py", text)
    assert ssn.rule_id == "t.ssn" and "jane@" not in ssn.snippet
    assert "j***@acme-mail.net" in ssn.snippet and "jane@acme-mail.net" in ssn.raw_snippet


def test_values_dropped_as_no_value_of_their_rule_stay_as_they_are(rules):
    # A number without its required context word is no postal code: nothing to mask.
    (mail,) = scan(rules, "port 90210 mail jane@acme-mail.net")
    assert mail.snippet == "port 90210 mail j***@acme-mail.net"


def test_snippet_of_a_huge_line_is_an_excerpt(rules):
    text = "a " * 5000 + "jane@acme-mail.net" + " b" * 5000
    (f,) = scan(rules, text)
    assert len(f.snippet) < 200 and f.snippet.startswith("…") and "j***@acme-mail.net" in f.snippet


# -- timeouts


CATASTROPHIC = r"""
pack: slow
rules:
  - id: t.slow
    entity: SLOW
    name: Backtracking
    description: Exponential on a run of a's with no c.
    category: quasi
    severity: low
    patterns:
      - regex: '(?:a|aa)+c'
        score: 0.9
    tests: {match: ['ac'], no_match: ['b']}
"""


@pytest.mark.parametrize("backend", ["regex", "auto"])
def test_catastrophic_pattern_is_a_named_error_not_a_clean_result(backend):
    slow = parse_pack(CATASTROPHIC, "slow.yaml").rules
    engine = Engine(slow, backend=backend, cache_dir=None, regex_timeout=0.05)
    with pytest.raises(ScanError) as error:
        # The trailing "ac" is a real match, so hyperscan too hands the segment to the regex.
        engine.scan(Document("slow.txt", "a" * 40 + "b ac"))
    assert "t.slow" in error.value.message and "slow.txt" in error.value.message


@pytest.mark.skipif(not hyperscan_available(), reason="hyperscan is not installed")
def test_hyperscan_confirms_only_the_lines_where_a_rule_matches():
    """A line where hyperscan finds no match of a rule is never searched with its regex:
    here the line that would make the regex backtrack for seconds is skipped."""
    slow = parse_pack(CATASTROPHIC, "slow.yaml").rules
    text = "a" * 40 + "b\nac\n"
    with pytest.raises(ScanError):
        Engine(slow, backend="regex", cache_dir=None, regex_timeout=0.05).scan(Document("s.txt", text))
    found = Engine(slow, backend="hyperscan", cache_dir=None, regex_timeout=0.05).scan(Document("s.txt", text))
    assert [(f.line, f.value) for f in found] == [(2, "ac")]


CROSSING = r"""
pack: crossing
rules:
  - id: t.code
    entity: CODE
    name: Code
    description: A code after a "c", or anything from an "a" to the next "c" (across lines).
    category: quasi
    severity: low
    patterns:
      - regex: 'a[\s\S]*?c|\bc[0-9]{2}\b'
        score: 0.9
    tests: {match: ['c12'], no_match: ['b']}
"""


@pytest.mark.parametrize("backend", ["regex", "auto"])
def test_a_match_across_a_line_break_hides_nothing_on_the_lines_it_crosses(backend):
    rules = parse_pack(CROSSING, "crossing.yaml").rules
    text = "an apple\nc12 is the code\n"
    found = Engine(rules, backend=backend, cache_dir=None).scan(Document("c.txt", text))
    assert [(f.line, f.value) for f in found] == [(2, "c12")]


# -- backends, pickling, cache


HYPERSCAN_READS_OTHERWISE = r"""
pack: other-syntax
rules:
  - id: t.code-word
    entity: CODE_WORD
    name: Code word
    description: A code word, one typo allowed (regex's fuzzy matching).
    category: quasi
    severity: low
    patterns:
      - regex: '\b(?:kappa){e<=1}\b'
        score: 0.9
    tests: {match: ['say kapa now'], no_match: ['say lambda now']}
  - id: t.ticket
    entity: TICKET
    name: Ticket
    description: A ticket number, the prefix kept out of the match (\K), or a bare one.
    category: quasi
    severity: low
    patterns:
      - regex: 'ticket #\K[0-9]{6}\b'
        score: 0.9
      - regex: '\bT-[0-9]{6}\b'
        score: 0.9
    tests: {match: ['ticket #123456', 'T-123456'], no_match: ['ticket 12']}
  - id: t.short
    entity: SHORT
    name: Short code
    description: Up to three digits after S- (a quantifier without its minimum).
    category: quasi
    severity: low
    patterns:
      - regex: '\bS-[0-9]{,3}\b'
        score: 0.9
    tests: {match: ['S-12'], no_match: ['S-1234']}
  - id: t.plain
    entity: PLAIN
    name: Plain
    description: A plain code hyperscan reads as regex does.
    category: quasi
    severity: low
    patterns:
      - regex: '\bP-[0-9]{4}\b'
        score: 0.9
    tests: {match: ['P-1234'], no_match: ['P-12']}
"""


@pytest.mark.skipif(not hyperscan_available(), reason="hyperscan is not installed")
def test_a_rule_hyperscan_would_read_otherwise_is_left_whole_to_regex():
    r"""Hyperscan takes `{e<=1}` and `{,3}` for literal text (it would never end such a
    match), and refuses `\K` even as a prefilter: those rules are tried by the regex
    fallback, and the ticket rule's other pattern is not in the database either (its windows
    would name the wrong pattern). The plain rule stays in the database."""
    rules = parse_pack(HYPERSCAN_READS_OTHERWISE, "other.yaml").rules
    text = "say kapa now\nticket #123456 and T-654321\nplain P-1234, short S-12\n"
    by_regex = Engine(rules, backend="regex", cache_dir=None).scan(Document("o.txt", text))
    engine = Engine(rules, backend="hyperscan", cache_dir=None)
    assert spans(engine.scan(Document("o.txt", text))) == spans(by_regex)
    assert sorted(f.value for f in by_regex) == ["123456", "P-1234", "S-12", "T-654321", "kapa"]
    assert set(engine._finder._owners) == {3}  # t.plain's order


@pytest.mark.skipif(not hyperscan_available(), reason="hyperscan is not installed")
def test_backends_agree_on_generated_text(rules):
    fake = Faker(["en_US", "en_GB", "de_DE"])
    Faker.seed(11)
    text = "\n".join(
        f"{fake.name()} <{fake.email()}> ssn={fake.ssn()} zip {fake.postcode()} {fake.uuid4()}"
        for _ in range(400)
    )
    assert spans(scan(rules, text, "hyperscan")) == spans(scan(rules, text, "regex"))
    assert scan(rules, text, "hyperscan") == scan(rules, text, "regex")


@pytest.mark.skipif(not hyperscan_available(), reason="hyperscan is not installed")
@pytest.mark.parametrize("segment_chars", [16, 37, 1024])
def test_backends_agree_on_multibyte_text_cut_into_pieces(rules, monkeypatch, segment_chars):
    """Hyperscan reports match ends as byte offsets into the whole text; each must be filed
    under the right segments, also after multi-byte characters and across long-line cuts."""
    monkeypatch.setattr(finders, "SEGMENT_CHARS", segment_chars)
    fake = Faker(["ja_JP", "ru_RU", "el_GR"])
    Faker.seed(29)
    lines = []
    for i in range(120):
        wide = fake.name() + " 🙂 " + fake.city()
        value = f"{fake.user_name()}@{fake.domain_word()}-mail.net" if i % 2 else "536-22-1234"
        # Every fourth line is long, so that it is cut into overlapping pieces.
        lines.append(f"{wide} {'ü' * (i % 4 * 30)} ssn {value} {wide}")
    text = "\n".join(lines)
    found = scan(rules, text, "hyperscan")
    assert found == scan(rules, text, "regex")
    assert len([f for f in found if f.rule_id in ("t.email", "t.ssn")]) == 120


@pytest.mark.skipif(not hyperscan_available(), reason="hyperscan is not installed")
@pytest.mark.parametrize("gap", [3, 20, 41, 70, 130])
def test_every_value_on_one_long_line_is_found_in_its_piece(rules, monkeypatch, gap):
    """On a line longer than SEGMENT_CHARS, hyperscan names the one or two pieces where a
    match may start, each piece once for all the match ends in it: values close together,
    far apart, and across piece edges must all be found, as the regex backend finds them."""
    monkeypatch.setattr(finders, "SEGMENT_CHARS", 64)
    values = [f"536-22-{1000 + i}" for i in range(60)]
    text = "ssn " + "".join(v + " " * (gap + i % 7) for i, v in enumerate(values))
    found = scan(rules, text, "hyperscan")
    assert [f.value for f in found if f.rule_id == "t.ssn"] == values
    assert found == scan(rules, text, "regex")


@pytest.mark.parametrize("segment_chars", [64, 1024])
def test_ends_dropped_for_lack_of_context_words_are_none_the_check_would_pass(monkeypatch, segment_chars):
    """Before building windows, hyperscan's match ends of a rule that requires context are cut
    to those near one of its words: every end whose window the word check accepts (on short
    lines and on pieces of long ones) must survive the cut."""
    from piiscan.finders import _any_within, _ends_near, _windows_holding
    from piiscan.scoring import CONTEXT_AFTER, CONTEXT_BEFORE

    monkeypatch.setattr(finders, "SEGMENT_CHARS", segment_chars)
    rng = random.Random(segment_chars)
    for _ in range(60):
        lines = ["x" * rng.choice([0, 3, 40, 200, segment_chars - 1, segment_chars * 3, 5000])
                 for _ in range(rng.randint(1, 30))]
        text = "\n".join(lines)
        if not text:
            continue
        ends = sorted(rng.randint(1, len(text)) for _ in range(rng.randint(0, 80)))
        words = sorted(rng.randint(1, len(text)) for _ in range(rng.randint(0, 6)))
        kept = _ends_near(ends, words)
        assert kept == sorted(kept) and set(kept) <= set(ends)
        for end in ends:
            passes = any(
                _any_within(words, w.start - CONTEXT_BEFORE, w.end + CONTEXT_AFTER)
                for w in _windows_holding(text, [end])
            )
            assert not passes or end in kept, (end, words)


def test_ends_near_keeps_every_end_even_for_the_farthest_word_the_check_accepts(monkeypatch):
    """Exhaustive over every match end of a few texts (one long line, lines one short of a
    piece, a mix): the farthest word before and after that the window check accepts for
    that end must keep it. A `reach` a few characters short fails here."""
    from piiscan.finders import _ends_near, _windows_holding
    from piiscan.scoring import CONTEXT_AFTER, CONTEXT_BEFORE

    monkeypatch.setattr(finders, "SEGMENT_CHARS", 64)
    texts = ["y" * 1500, "\n".join(["z" * 63] * 20), "\n".join(["q" * n for n in (5, 300, 63, 64, 65, 900, 1)])]
    for text in texts:
        for end in range(1, len(text) + 1):
            windows = list(_windows_holding(text, [end]))
            first_word = min(w.start for w in windows) - CONTEXT_BEFORE + 1  # (low, high]
            last_word = max(w.end for w in windows) + CONTEXT_AFTER
            for word in (first_word, last_word):
                assert _ends_near([end], [word]) == [end], (len(text), end, word)


@pytest.mark.parametrize("segment_chars", [64, 1024])
def test_stretches_around_words_hold_every_match_a_word_counts_for(monkeypatch, segment_chars):
    """The gated patterns (rules that require context) are scanned only in the stretches
    around their words. Every window the word check accepts (a short line, a piece of a long
    one) may hold a match ending anywhere in it: that match must lie in one stretch whole,
    with STRETCH_EDGE characters either side for hyperscan's \\b unless its line ends
    first. Stretches are in order and apart."""
    from piiscan.finders import (
        MAX_MATCH_CHARS, STRETCH_EDGE, _any_within, _stretches_around, _windows_holding,
    )
    from piiscan.scoring import CONTEXT_AFTER, CONTEXT_BEFORE

    monkeypatch.setattr(finders, "SEGMENT_CHARS", segment_chars)
    rng = random.Random(segment_chars)
    for _ in range(40):
        lengths = [rng.choice([0, 3, 40, 200, segment_chars - 1, segment_chars * 3, 3000])
                   for _ in range(rng.randint(1, 25))]
        text = "\n".join("x" * n for n in lengths)
        words = sorted(rng.sample(range(1, len(text) + 1), min(len(text), rng.choice([1, 2, 5, 60]))))
        stretches = _stretches_around(text, words)
        assert all(a < b for a, b in stretches)
        assert all(b1 < a2 for (_, b1), (a2, _) in zip(stretches, stretches[1:]))
        for end in range(1, len(text) + 1, 3):
            accepted = [w for w in _windows_holding(text, [end])
                        if _any_within(words, w.start - CONTEXT_BEFORE, w.end + CONTEXT_AFTER)]
            if not accepted:
                continue
            line_start = text.rfind("\n", 0, end - 1) + 1
            line_end = text.find("\n", end - 1) + 1 or len(text)
            need_start = max(line_start, end - MAX_MATCH_CHARS - STRETCH_EDGE)
            need_stop = min(line_end, end + STRETCH_EDGE)
            assert any(a <= need_start and need_stop <= b for a, b in stretches), (lengths, words, end)


MEMBER_RULE = """
  - id: t.member
    entity: MEMBER_NUMBER
    name: Member number
    description: Seven digits next to a word of its own.
    category: quasi
    severity: low
    patterns:
      - regex: '\\b\\d{7}\\b'
        score: 0.4
    context: [member number, mitgliedsnummer, номер члена]
    context_required: true
    tests: {match: ['member number 4821937'], no_match: ['order 4821937']}
"""


@pytest.mark.skipif(not hyperscan_available(), reason="hyperscan is not installed")
@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("path", ["t.txt", "t.csv"])
@pytest.mark.parametrize("word_rate", [0.03, 0.4])
def test_backends_agree_on_context_rules_near_and_far_from_their_words(monkeypatch, seed, path, word_rate):
    """Hyperscan looks for a context-requiring rule's patterns only around the words of such
    rules (or everywhere, when a table header holds one); the regex backend looks everywhere
    and checks each window. Two such rules with words of their own, values at every distance
    from them, multi-byte text, short lines and long ones cut into pieces, and (as a CSV) a
    header that holds a word or not, words rare (stretches apart) or everywhere (the text
    scanned whole): the findings must be the same, some found and, where words are rare,
    some too far from any word."""
    monkeypatch.setattr(finders, "SEGMENT_CHARS", 64)
    if word_rate < 0.1:  # this short text would count as words everywhere: stretches still
        monkeypatch.setattr(finders, "WORDS_EVERYWHERE", 1)
    rules = parse_pack(PACK + MEMBER_RULE, "scratch.yaml").rules
    rng = random.Random(seed)
    lines = [rng.choice(["id,zip,note", "id,note,value", "номер члена;x"])] if path.endswith(".csv") else []
    words = ["zip", "ZIP code", "postal code", "Mitgliedsnummer", "НОМЕР ЧЛЕНА"]
    for _ in range(300):
        parts = []
        for _ in range(rng.choice([1, 1, 2, 6, 30])):
            if rng.random() < word_rate:
                parts.append(rng.choice(words))
                continue
            parts.append(rng.choice([
                str(rng.randint(10000, 99999)), str(rng.randint(1000000, 9999999)), "x" * rng.randint(1, 90),
                "ü" * rng.randint(1, 40), "🙂", "536-22-1234",
            ]))
        lines.append(" ".join(parts) if rng.random() < 0.8 else "")
    text = "\n".join(lines)

    def found(backend: str):
        return Engine(rules, backend=backend, cache_dir=None).scan(Document(path, text))

    hyperscan_found = found("hyperscan")
    for rule_id, shape in (("t.zip", r"\b\d{5}\b"), ("t.member", r"\b\d{7}\b")):
        kept = [f for f in hyperscan_found if f.rule_id == rule_id]
        assert kept and len(kept) <= len(regex.findall(shape, text)), rule_id
    if word_rate < 0.1 and "zip" not in lines[0] and "члена" not in lines[0]:
        zips = [f for f in hyperscan_found if f.rule_id == "t.zip"]
        assert len(zips) < len(regex.findall(r"\b\d{5}\b", text))  # far ones left
    assert hyperscan_found == found("regex")


@pytest.mark.skipif(not hyperscan_available(), reason="hyperscan is not installed")
def test_a_window_tries_every_pattern_that_can_match_in_it():
    """Hyperscan names, with each window, the patterns whose own expression ends in it: any
    pattern the regex finds in the window must be among them (multi-pattern core rules:
    phone numbers, cards, IP addresses, postal codes; several values to a line)."""
    from piiscan.compiled import compile_rule
    from piiscan.engine import _line_matches

    core = [r for r in load_rules(packs=["core"]) if len(r.patterns) > 1]
    engine = Engine(core, backend="hyperscan", cache_dir=None)
    fake = Faker(["en_US", "en_GB", "de_DE", "fr_FR"])
    Faker.seed(41)
    values = [fake.phone_number, fake.ipv4, fake.ipv6, fake.credit_card_number, fake.postcode,
              fake.ssn if hasattr(fake, "ssn") else fake.msisdn, fake.iban]
    lines = [" ; ".join(f"tel {rng()}" for rng in random.Random(i).sample(values, 3)) for i in range(300)]
    text = "\n".join(lines)
    compiled = [compile_rule(rule, order) for order, rule in enumerate(core)]
    windows = list(engine._finder.windows(text))
    assert windows and any(len(tried) < len(core[order].patterns) for order, _, tried in windows)
    for order, window, tried in windows:
        for index, (pattern, _) in enumerate(compiled[order].patterns):
            accepted = [
                (start, end) for start, end in _line_matches(pattern, text, window, 2.0)
                if start < window.accept_before and not (window.cut and end >= window.end)
            ]
            assert not accepted or index in tried, (core[order].id, index, text[window.start:window.end])
    assert engine.scan(Document("t.txt", text)) == Engine(core, backend="regex", cache_dir=None).scan(
        Document("t.txt", text)
    )


def test_engine_survives_pickling(rules):
    engine = Engine(rules, cache_dir=None)
    clone = pickle.loads(pickle.dumps(engine))
    doc = Document("t.txt", "ssn 536-22-1234 a@acme-mail.net")
    assert clone.scan(doc) == engine.scan(doc) and clone.backend == engine.backend


def test_findings_survive_pickling_field_for_field(rules):
    # Workers send findings back pickled, through Finding.__reduce__: every field must come
    # back, the fingerprint and the commit fields (at the end) included.
    doc = Document("t.txt", "ssn 536-22-1234 a@acme-mail.net", commit="c0ffee", commit_date="2026-01-02")
    findings = Engine(rules, cache_dir=None).scan(doc)
    assert findings and all(f.fingerprint and f.commit == "c0ffee" for f in findings)
    clones = pickle.loads(pickle.dumps(findings))
    assert [dataclasses.astuple(c) for c in clones] == [dataclasses.astuple(f) for f in findings]


@pytest.mark.skipif(not hyperscan_available(), reason="hyperscan is not installed")
def test_database_cache_is_written_reused_and_survives_corruption(rules, tmp_path):
    doc = Document("t.txt", "ssn 536-22-1234 a@acme-mail.net")
    expected = Engine(rules, cache_dir=None).scan(doc)
    assert Engine(rules, cache_dir=tmp_path).scan(doc) == expected
    (cache_file,) = tmp_path.glob("hs-*.db")
    assert Engine(rules, cache_dir=tmp_path).scan(doc) == expected
    cache_file.write_bytes(cache_file.read_bytes()[:-10] + b"garbage!!!")
    assert Engine(rules, cache_dir=tmp_path).scan(doc) == expected
    cache_file.write_bytes(b"not a cache at all")
    assert Engine(rules, cache_dir=tmp_path).scan(doc) == expected


def test_pattern_cache_serves_compiled_patterns_without_compiling(rules, tmp_path, monkeypatch):
    doc = Document("t.txt", "ssn 536-22-1234 zip 90210 a@acme-mail.net")
    expected = Engine(rules, cache_dir=None).scan(doc)
    assert Engine(rules, cache_dir=tmp_path).scan(doc) == expected  # compiles all, writes
    (cache_file,) = tmp_path.glob("re-*.pickle")

    def no_compiling(*args, **kwargs):
        raise AssertionError("compiled although the cache holds the pattern")

    monkeypatch.setattr(regex, "compile", no_compiling)
    assert Engine(rules, cache_dir=tmp_path).scan(doc) == expected
    monkeypatch.undo()
    for damage in (cache_file.read_bytes()[:-10] + b"garbage!!!", b"not a cache at all"):
        cache_file.write_bytes(damage)
        assert Engine(rules, cache_dir=tmp_path).scan(doc) == expected


def test_pattern_cache_entries_rebuild_only_regex_patterns_and_only_their_own(tmp_path):
    """A cache entry is unpickled with `regex`'s compile function as its only callable, and
    one that holds another pattern than its key names is compiled afresh."""
    from piiscan import patterncache
    from piiscan.diskcache import write_checked

    planted = tmp_path / "planted"

    class Payload:
        def __reduce__(self):
            return (os.mkdir, (str(planted),))

    ssn, email = r"\b\d{3}-\d{2}-\d{4}\b", r"\b\w+@\w+\.net\b"
    stored = {
        (ssn, 0): pickle.dumps(Payload()),
        (email, 0): pickle.dumps(regex.compile(ssn)),  # someone else's program
    }
    cache_file = tmp_path / "re-test.pickle"
    write_checked(cache_file, patterncache._MAGIC, marshal.dumps(stored))
    cache = patterncache.load_patterns(cache_file)
    assert cache.from_file
    assert cache.compile(ssn).search("id 536-22-1234").group() == "536-22-1234"
    assert cache.compile(email).search("mail a@acme.net").group() == "a@acme.net"
    assert not planted.exists()


def test_pattern_cache_compiles_ahead_only_where_it_can_keep_the_result(rules, tmp_path, monkeypatch):
    """Compiling every rule ahead pays off only if the file is written; in a folder that
    cannot hold it, or another user's (never read back), rules compile as they fire."""
    compiled = []
    real_compile_rule = engine_module.compile_rule
    monkeypatch.setattr(engine_module, "compile_rule", lambda *a: compiled.append(a[0].id) or real_compile_rule(*a))
    doc = Document("t.txt", "ssn 536-22-1234")
    expected = Engine(rules, cache_dir=None).scan(doc)
    fired = list(compiled)  # the rules named on this text, each compiled as it first fires
    assert 0 < len(fired) < len(rules)
    blocker = tmp_path / "a-file"
    blocker.write_text("in the way")
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    hand_to_another_user(shared, monkeypatch)  # another user's folder: never trusted
    for unusable in (blocker / "cache", shared):
        compiled.clear()
        assert Engine(rules, cache_dir=unusable).scan(doc) == expected
        assert compiled == fired, unusable
    assert not list(shared.iterdir())


def test_a_change_to_how_patterns_are_built_gets_a_new_pattern_cache_file(rules, tmp_path, monkeypatch):
    """The file is named by the compiled sources, not only by the rules: after an upgrade
    that builds the context words differently, the old file (never rewritten while it is
    found) would have every process compile them again."""
    compiled_module.pattern_cache(rules, tmp_path)
    built = compiled_module.context_alternation
    monkeypatch.setattr(compiled_module, "context_alternation", lambda words: built(words) + "(?:)")
    rebuilt = compiled_module.pattern_cache(rules, tmp_path)
    assert len(list(tmp_path.glob("re-*.pickle"))) == 2
    assert not rebuilt.from_file  # compiled anew, and written for the next process


def test_every_built_in_rule_matches_alike_from_the_pattern_cache(tmp_path):
    """Patterns rebuilt from the cache file find what freshly compiled ones find, on every
    built-in rule's own examples (patterns, context words, exclusions, test values)."""
    from piiscan import patterncache
    from piiscan.compiled import compile_rule, pattern_cache

    every = load_rules(packs=builtin_pack_names())
    pattern_cache(every, tmp_path)  # compiles and writes
    (cache_file,) = tmp_path.glob("re-*.pickle")
    cached = patterncache.load_patterns(cache_file)
    assert cached.from_file
    fresh = [compile_rule(rule, order) for order, rule in enumerate(every)]

    def no_compiling(*args, **kwargs):
        raise AssertionError("compiled although the cache holds the pattern")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(regex, "compile", no_compiling)
        served = [compile_rule(rule, order, cached.compile) for order, rule in enumerate(every)]
    for rule, fresh, served in zip(every, fresh, served):
        pairs = [(a, b) for (a, _), (b, _) in zip(fresh.patterns, served.patterns)]
        pairs += list(zip(fresh.exclude, served.exclude)) + list(zip(fresh.test_values, served.test_values))
        if fresh.context is not None:
            pairs += [(fresh.context.anywhere, served.context.anywhere),
                      (fresh.context.bounded, served.context.bounded)]
        for text in rule.tests.match + rule.tests.no_match:
            for a, b in pairs:
                assert a.pattern == b.pattern and a.flags == b.flags
                assert [m.span() for m in a.finditer(text)] == [m.span() for m in b.finditer(text)], rule.id


# -- fingerprints


def test_fingerprints_are_stable_move_with_lines_and_ignore_the_value(rules):
    base = "config:\n  ssn: 536-22-1234\n"
    moved = "# a new comment\n\nconfig:\n  ssn: 536-22-1234\n"
    other_value = "config:\n  ssn: 536-22-9876\n"
    fp = lambda text: [f.fingerprint for f in scan(rules, text)]  # noqa: E731
    assert fp(base) == fp(base) == fp(moved)
    assert fp(base) == fp(other_value)  # unkeyed: nothing about the value goes in
    assert len(set(fp("ssn: 536-22-1234\nssn: 536-22-1234\n"))) == 2  # occurrences differ


def test_keyed_fingerprints_depend_on_the_value_not_the_line(rules):
    key = b"k" * 32
    first = scan(rules, "ssn: 536-22-1234", fingerprint_key=key)[0].fingerprint
    other = scan(rules, "ssn: 536-22-9876", fingerprint_key=key)[0].fingerprint
    moved = scan(rules, "new line\nSSN = 536-22-1234", fingerprint_key=key)[0].fingerprint
    unkeyed = scan(rules, "ssn: 536-22-1234")[0].fingerprint
    assert first != other and first == moved and first != unkeyed


# -- shape penalties and table headers (issue 6's scoring model)


@pytest.mark.parametrize(
    ("text", "penalty"),
    [
        ("ssn 536-22-1234", 0.0),
        ("ssn 111-11-1111", scoring.REPEATED_PENALTY),
        ("ssn 123-45-6789", scoring.SEQUENTIAL_PENALTY),
        ("id 9b1de2a4-536-22-1234-77aa0c3e9f12a", scoring.EMBEDDED_PENALTY),
        ("blob aZ3kQ9x2536-22-1234Pq8LmW4z", scoring.EMBEDDED_PENALTY),
        ("CUSTOMER_SSN=536-22-1234", 0.0),  # a key name is no blob
    ],
)
def test_shape_penalties(text, penalty):
    start = text.index("-") - 3
    end = start + 11
    assert scoring.shape_penalty(text, start, end) == pytest.approx(penalty)


@pytest.mark.parametrize(
    ("text", "lowered"),
    [
        ("ssn 536-22-1234", False),
        ("version: 536-22-1234", True),
        ('"appVersion": "536-22-1234"', True),
        ("firmware_build=536-22-1234", True),
        ("leverage 536-22-1234", False),  # "ver" inside a word is no version word
        ("conversion: 536-22-1234", False),
        ("rebuild 536-22-1234", False),
        ("curl -v 536-22-1234", False),
        ("server 536-22-1234", False),
    ],
)
def test_a_value_after_a_version_word_is_lowered(rules, text, lowered):
    ssn_only = [r for r in rules if r.id == "t.ssn"]
    (finding,) = scan(ssn_only, text, min_confidence=0.0)
    # 0.3 + validator 0.4, plus 0.3 when the word "ssn" is near
    expected = (1.0 if "ssn" in text else 0.7) - (scoring.VERSION_PENALTY if lowered else 0)
    assert finding.confidence == pytest.approx(expected)


def test_a_version_column_lowers_its_values(rules):
    table = "id,release,ssn\n1,536-22-1234,536-22-1235\n"
    found = {f.value: f.confidence for f in scan_file(
        [r for r in rules if r.id == "t.ssn"], "builds.csv", table, min_confidence=0.0)}
    assert found["536-22-1235"] == pytest.approx(1.0)  # "ssn" is in reach on the header line
    assert found["536-22-1234"] == pytest.approx(1.0 - scoring.VERSION_PENALTY)


def test_a_csv_column_header_is_context(rules):
    pad = "x" * 90  # keeps the header's words out of the 80-character context window
    table = f"id,zip,port\n{pad}1,90210,8080\n{pad}2,10001,9090\n"
    zips = [f.value for f in Engine(rules, cache_dir=None).scan(Document("t.csv", table))]
    assert zips == ["90210", "10001"]  # the zip column, not the port column
    assert Engine(rules, cache_dir=None).scan(Document("t.txt", table)) == []


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_the_columns_of_a_table_split_at_its_own_delimiter(rules, delimiter):
    pad = "x" * 90
    rows = [["id", "port", "zip"], [pad + "1", "50101", "90210"], [pad + "2", "50102", "10001"]]
    table = "".join(delimiter.join(row) + "\n" for row in rows)
    found = Engine(rules, cache_dir=None).scan(Document("export.csv", table))
    assert [f.value for f in found] == ["90210", "10001"]  # never the port column


def test_an_insert_column_list_is_context_for_rows_far_below_it(rules):
    rows = ",\n".join(f"  ({i}, '{'x' * 60}', '{80000 + i}')" for i in range(40))  # ~3 KB
    sql = f"INSERT INTO people (id, note, zip) VALUES\n{rows};\n"
    found = Engine(rules, cache_dir=None).scan(Document("seed.sql", sql))
    assert [f.value for f in found] == [str(80000 + i) for i in range(40)]


def test_a_long_insert_column_list_is_context_for_its_first_column(rules):
    # "zip" is ~1 KB before VALUES and the last rows ~3.5 KB after it: more than 4 KB apart.
    columns = ", ".join(f"c{i}" for i in range(150))
    rows = ",\n".join(f"  ('{80000 + i}', {', '.join(['0'] * 150)})" for i in range(7))
    sql = f"INSERT INTO people (zip, {columns}) VALUES\n{rows};\n"
    found = Engine(rules, cache_dir=None).scan(Document("seed.sql", sql))
    assert [f.value for f in found] == [str(80000 + i) for i in range(7)]


def test_a_column_header_is_context_for_rows_far_below_it(rules):
    rows = "".join(f"{i},{'x' * 60},{80000 + i}\n" for i in range(200))  # ~14 KB of rows
    table = "id,note,zip\n" + rows
    found = Engine(rules, cache_dir=None).scan(Document("t.csv", table))
    assert [f.value for f in found] == [str(80000 + i) for i in range(200)]


@pytest.mark.parametrize(
    ("key", "is_context"),
    [("zip", True), ("ZIP", True), ("customer_zip", True), ("customerZip", True),
     ("zipCode", True), ("CUSTOMER_ZIP", True), ("zipper", False), ("unzip", False),
     ("gzip", False)],
)
def test_context_words_in_keys_of_every_case_style(rules, key, is_context):
    found = scan(rules, f"{key} = 90210")
    assert bool(found) == is_context


def test_words_of_unspaced_scripts_may_touch_the_value():
    pack = PACK.replace("context: [zip, postal code]", "context: [zip, 우편번호]")
    korean = parse_pack(pack, "k.yaml").rules
    assert [f.value for f in scan(korean, "우편번호90210")] == ["90210"]
    assert scan(korean, "zip90210") == []  # a Latin word still needs its boundary


def test_an_sql_insert_column_is_context(rules):
    pad = "x" * 90
    sql = (
        f"INSERT INTO people (note, zip, port) VALUES\n"
        f"  ('{pad}', '90210', '8080'),\n  ('{pad}, with (parens)', '10001', '9090');\n"
    )
    found = Engine(rules, cache_dir=None).scan(Document("seed.sql", sql))
    assert [f.value for f in found] == ["90210", "10001"]
    assert Engine(rules, cache_dir=None).scan(Document("seed.txt", sql)) == []


# -- where a value is written


def scan_file(rules, path: str, text: str, **kw):
    return Engine(rules, cache_dir=None, **kw).scan(Document(path, text))


@pytest.fixture(scope="module")
def address():
    Faker.seed(23)
    return Faker().free_email()


@pytest.mark.parametrize(
    "credit",
    [
        "# Author: {name} <{addr}>",
        '__author__ = "{name} <{addr}>"',
        "# Copyright (C) 2019 {name} ({addr})",
        "# Contributed by {name} <{addr}>, 2004.",
        "# Cloned by {name} ({addr}) from ascii.py",
        "# Author: {name}\n# Contact: {addr}",  # the header line above credits it too
        'setup(name="acme", author="{name}",\n      author_email="{addr}")',
    ],
)
def test_a_credit_in_source_code_is_below_the_default_threshold(rules, address, credit):
    text = credit.format(name="Dana Whitfield", addr=address) + "\n"
    assert scan_file(rules, "pkg/mod.py", text) == []
    kept = scan_file(rules, "pkg/mod.py", text, min_confidence=0.1)
    assert [(f.value, f.confidence) for f in kept] == [(address, scoring.CREDIT_CONFIDENCE_CAP)]
    # The same words in a document or a data file credit no code: reported as usual.
    assert [f.confidence for f in scan_file(rules, "notes.txt", text)] == [0.8]


@pytest.mark.parametrize(
    "line",
    [
        "# refund asked by customer {addr} on Tuesday",
        'post = {{"author": "{addr}", "title": "Hello"}}',  # a program's data, no credit
        "SUPPORT_CONTACT = '{addr}'",
    ],
)
def test_an_address_in_code_without_a_credit_is_reported(rules, address, line):
    text = line.format(addr=address) + "\nprocess(order)\n"
    assert [f.value for f in scan_file(rules, "billing/refunds.py", text)] == [address]


@pytest.mark.parametrize(
    "text",
    [
        "# Copyright (c) 2021 Acme Corp\n# SPDX-License-Identifier: MIT\n\nCUSTOMER = {{'ssn': '536-22-1234', 'mail': '{addr}'}}",
        "# look customers up by Social Security number\nssn = '536-22-1234'\nmail = '{addr}'",
        "class Post(Model):\n    author = ForeignKey(User)\n    # seeded with {addr} and ssn 536-22-1234",
    ],
)
def test_credit_words_elsewhere_in_code_hide_nothing(rules, address, text):
    """A licence header, "by" in a comment or an `author` field does not make the values of
    a file credits; and only rules that credits name (e-mail here, not the SSN) are capped."""
    found = {f.rule_id: f.confidence for f in scan_file(rules, "app.py", text.format(addr=address))}
    assert found["t.email"] == 0.8 and found["t.ssn"] == 1.0


def test_an_ssn_on_a_credit_line_is_not_capped(rules):
    (finding,) = scan_file([r for r in rules if r.id == "t.ssn"], "mod.py", "# Author: Dana Whitfield, ssn 536-22-1234\n")
    assert finding.confidence == 1.0


def test_addresses_in_a_credits_file_are_below_the_default_threshold(rules, address):
    text = f"Dana Whitfield <{address}>\n"
    assert scan_file(rules, "AUTHORS.md", text) == []
    assert [f.value for f in scan_file(rules, "customers.md", text)] == [address]


@pytest.mark.parametrize(
    "path, test_code",
    [
        ("tests/test_signup.py", True),
        ("src/app/__tests__/signup.js", True),
        ("pkg/signup_test.go", True),
        ("web/signup.spec.ts", True),
        ("src/test/java/SignupTest.java", True),
        ("app/tests.py", True),
        ("tests/fixtures/customers.json", False),  # data next to the tests is data
        ("tests/data/export.csv", False),
        ("src/latest.py", False),
        ("src/contest/rules.py", False),
        ("src/signup.py", False),
    ],
)
def test_values_in_test_code_are_test_data(rules, address, path, test_code):
    (finding,) = scan_file(rules, path, f'user = {{"email": "{address}"}}\n')
    assert finding.test_data is test_code
    assert finding.severity is (Severity.INFO if test_code else Severity.HIGH)
    assert finding.confidence == 0.8  # where it is written does not change how sure we are


@pytest.mark.parametrize(
    "path, test_code",
    [
        ("qa/check_signup.py", True),  # the user's own test folder
        ("qa/deep/er/flow.py", True),
        ("spec/fixtures/made_up.json", True),  # a data file the user vouches for
        ("spec/fixtures/export.json", False),  # data, as by convention
        ("tests/test_real_export.py", False),  # a test file the user says holds real data
        ("tests/test_signup.py", True),  # no glob matches: the conventions decide
        ("src/signup.py", False),
    ],
)
def test_test_code_globs_decide_before_the_conventions(rules, address, path, test_code):
    globs = ["qa/", "spec/fixtures/made_up.json", "!tests/test_real_export.py"]
    text = f'user = {{"email": "{address}"}}\n'
    (finding,) = Engine(rules, cache_dir=None, test_code=globs).scan(Document(path, text))
    assert finding.test_data is test_code
    assert finding.severity is (Severity.INFO if test_code else Severity.HIGH)


def test_a_bad_test_code_glob_is_a_usage_error_naming_it(rules):
    from piiscan.errors import UsageError

    with pytest.raises(UsageError, match=r"test_code pattern 'bad\\\\'"):
        Engine(rules, cache_dir=None, test_code=["qa/", "bad\\"])


def test_identifiers_nobody_makes_up_stay_findings_in_test_code(rules):
    ssn_only = [r for r in rules if r.id == "t.ssn"]
    (finding,) = scan_file(ssn_only, "tests/test_payroll.py", 'employee = {"ssn": "536-22-1234"}\n')
    assert not finding.test_data and finding.severity is Severity.CRITICAL


@pytest.fixture(scope="module")
def core_engine():
    from piiscan import engine_for

    return engine_for(packs=["core"])


@pytest.mark.parametrize("domain", ["acme.test", "mail.example", "shop.invalid", "dev.localhost"])
def test_special_use_domains_are_reported_as_test_data(core_engine, domain):
    (finding,) = core_engine.scan(Document("notes.txt", f"email: jane.roe@{domain}\n"))
    assert finding.rule_id == "core.email" and finding.test_data


@pytest.mark.parametrize(
    ("address", "test_data"),
    [("spam@foo.com", True), ("me@my.org", True), ("ivan.petrov@my.com", False),
     ("bob.roe@aaa.com", False), ("ana@xyz.com", False)],
)
def test_placeholder_domains_but_not_real_mail_domains_are_test_data(core_engine, address, test_data):
    (finding,) = core_engine.scan(Document("notes.txt", f"email: {address}\n"))
    assert finding.test_data is test_data


def test_a_rule_whose_validator_is_gone_is_an_error_not_a_silent_pass(rules):
    """A pack parsed earlier (or kept in the pack cache) may name a python-stdnum module that
    the installed version lacks: the rule must not run without its checksum."""
    import dataclasses

    from piiscan.errors import RulePackError

    ssn = next(r for r in rules if r.id == "t.ssn")
    broken = dataclasses.replace(ssn, validator="stdnum.zz.nothing")
    with pytest.raises(RulePackError, match="unknown validator 'stdnum.zz.nothing'"):
        scan([broken], "ssn 536-22-1234")


# -- context words and validators, the cheap way


def test_a_validator_runs_only_where_its_verdict_can_decide(rules, monkeypatch):
    """Validators are the slowest step (phone numbers try two dozen regions): a match that
    stays under the threshold even with the validator's bonus is dropped without one."""
    from piiscan import validators

    seen: list[str] = []
    real = validators.find_validator("us_ssn")

    def counting(value: str):
        seen.append(value)
        return real(value)

    monkeypatch.setattr(validators, "find_validator", lambda name: counting)
    ssn_only = [r for r in rules if r.id == "t.ssn"]
    text = "id 536-22-1234" + " " * 90 + "\nssn 536-22-1235"
    # 0.3 + validator 0.4 = 0.7 without context, 1.0 with it.
    assert [f.value for f in scan(ssn_only, text, min_confidence=0.8)] == ["536-22-1235"]
    assert seen == ["536-22-1235"]
    assert [f.value for f in scan(ssn_only, text, min_confidence=0.7)] == ["536-22-1234", "536-22-1235"]


def random_context_texts(words: list[str], count: int, seed: int) -> list[str]:
    """Texts with the words written in every way code and prose write them: any case,
    snake_case, camelCase, glued to other words, with unusual spaces and look-alike letters."""
    rng = random.Random(seed)
    joins = [" ", "_", "-", "  ", "\u00a0", "\t", ""]
    pieces = ["x", "9", "A", " ", ".", ":", "=", '"', "\n", "un", "Customer", "é", "\u017f", "\u212a", "ж"]
    texts = []
    for _ in range(count):
        parts = []
        for _ in range(rng.randint(1, 6)):
            word = rng.choice(words)
            word = rng.choice(joins).join(word.split())
            word = "".join(ch.upper() if rng.random() < 0.3 else ch for ch in word)
            if rng.random() < 0.1:  # letters that fold into ASCII ones
                word = word.replace("s", "\u017f").replace("k", "\u212a").replace("i", "\u0130")
                word = word.replace("I", "\u0131")
            parts.append("".join(rng.choice(pieces) for _ in range(rng.randint(0, 3))) + word)
        texts.append("".join(parts))
    return texts


WORDS = ["zip", "postal code", "date of birth", "dob", "kin", "sSn", "birthDate", "e-mail", "id", "ein", "e mail"]
# Words with letters of other scripts, as the regional packs have them.
OTHER_WORDS = ["né le", "fødselsnummer", "numéro d’assurance", "n° passeport", "Kimlik numarası",
               "ID numarası", "आधार संख्या", "マイナンバー", "ת.ז", "Steuer-ID", "номер паспорта",
               "αριθμός ταυτότητας", "პირადი ნომერი"]


def test_context_pattern_finds_exactly_what_the_bounded_regex_finds():
    from piiscan.compiled import ContextPattern, _bounded_alternation, context_alternation

    words = tuple(WORDS)
    bounded = regex.compile(_bounded_alternation(words))
    context = ContextPattern(regex.compile(context_alternation(words)), bounded)
    for text in random_context_texts(WORDS, 3000, seed=5):
        for pos in range(0, len(text), 7):
            for endpos in (len(text), max(pos, len(text) - 5)):
                expected = bounded.search(text, pos, endpos) is not None
                assert context.search(text, pos, endpos) is expected, (text, pos, endpos)


@pytest.mark.skipif(not hyperscan_available(), reason="hyperscan is not installed")
@pytest.mark.parametrize("words", [WORDS, WORDS + OTHER_WORDS], ids=["latin", "other-scripts"])
def test_hyperscan_finds_context_words_wherever_the_regex_does(words):
    """The hyperscan form of a rule's context words drops lines: it must end a match
    wherever scoring's bounded regex ends one (long s, Kelvin sign, dotted and dotless I,
    camelCase humps, and words of other scripts in any case included), and it no longer
    ends one inside other words."""
    import hyperscan

    from piiscan.compiled import _bounded_alternation
    from piiscan.hsdatabase import _context_pattern, _hyperscan_flags

    rule = parse_pack(PACK.replace("context: [zip, postal code]", f"context: {words}"), "w.yaml").rules[3]
    database = hyperscan.Database()
    flags = _hyperscan_flags(hyperscan, False) | hyperscan.HS_FLAG_CASELESS
    database.compile(expressions=[_context_pattern(rule).encode()], flags=[flags])
    bounded = regex.compile(_bounded_alternation(rule.context))

    def hyperscan_ends(text: str) -> set[int]:
        ends: set[int] = set()
        database.scan(text.encode(), match_event_handler=lambda _id, _from, end, _flags, _ctx: ends.add(end))
        return ends

    for text in random_context_texts(words, 3000, seed=6):
        ends = hyperscan_ends(text)
        for m in bounded.finditer(text, overlapped=True):
            assert len(text[: m.end()].encode()) in ends, (text, m.group())
    assert hyperscan_ends("being gzip unzipped") == set()
    assert hyperscan_ends("ein\ncustomerZip ZIP") == {3, 15, 19}

@pytest.mark.skipif(not hyperscan_available(), reason="hyperscan is not installed")
def test_hyperscan_context_words_of_other_scripts_do_not_end_in_other_text_of_that_script():
    """Words of other scripts are matched letter by letter, not as "any non-ASCII letter":
    ordinary text in those scripts holds none of them."""
    import hyperscan

    from piiscan.hsdatabase import _context_pattern, _hyperscan_flags

    words = ["マイナンバー", "आधार", "תעודת זהות", "номер паспорта", "αριθμός ταυτότητας"]
    rule = parse_pack(PACK.replace("context: [zip, postal code]", f"context: {words}"), "w.yaml").rules[3]
    database = hyperscan.Database()
    database.compile(expressions=[_context_pattern(rule).encode()],
                     flags=[_hyperscan_flags(hyperscan, False) | hyperscan.HS_FLAG_CASELESS])
    ends: list[int] = []

    def note(_id, _from, end, _flags, _context):
        ends.append(end)

    text = ("Привет, как дела? Это просто текст о погоде. 今日は良い天気です。 नमस्ते दुनिया "
            "שלום עולם Καλημέρα κόσμε ")
    database.scan(text.encode(), match_event_handler=note)
    assert ends == []
    database.scan("НОМЕР ПАСПОРТА".encode(), match_event_handler=note)
    assert ends == [len("НОМЕР ПАСПОРТА".encode())]


@pytest.mark.skipif(not hyperscan_available(), reason="hyperscan is not installed")
def test_hyperscan_knows_every_case_partner_regex_knows_but_the_listed_gaps():
    """Every letter with case, as a caseless hyperscan literal, must match whatever `regex`'s
    case-insensitive matching takes for it, unless `_HYPERSCAN_CASE_GAPS` lists it (the
    letter then stands for any non-ASCII one)."""
    import hyperscan

    from piiscan.hsdatabase import _HYPERSCAN_CASE_GAPS, _hyperscan_flags

    # Letters with case as `regex` knows them (its Unicode tables may be newer than Python's)
    # and as Python does.
    by_regex = regex.compile(r"\p{Cased}|\p{Changes_When_Casefolded}|\p{Changes_When_Casemapped}")
    cased = [chr(x) for x in range(0x80, 0x110000) if not 0xD800 <= x < 0xE000
             and (by_regex.match(chr(x))
                  or len({chr(x), chr(x).lower(), chr(x).upper(), chr(x).casefold(), chr(x).title()}) > 1)]
    everything = "".join(cased)
    database = hyperscan.Database()
    database.compile(expressions=[c.encode() for c in cased], ids=list(range(len(cased))),
                     flags=[_hyperscan_flags(hyperscan, False) | hyperscan.HS_FLAG_CASELESS] * len(cased))
    letter_ending_at, offset = {}, 0
    for c in cased:
        offset += len(c.encode())
        letter_ending_at[offset] = c
    matched: dict[str, set[str]] = {c: set() for c in cased}

    def note(expression, _from, end, _flags, _context):
        matched[cased[expression]].add(letter_ending_at.get(end, ""))

    database.scan(everything.encode(), match_event_handler=note)
    gaps = {c for c in cased if set(regex.findall(f"(?i:{regex.escape(c)})", everything)) - matched[c]}
    listed = {c for c in gaps if any(low <= ord(c) <= high for low, high in _HYPERSCAN_CASE_GAPS)}
    assert gaps and gaps == listed, sorted(hex(ord(c)) for c in gaps - listed)


@pytest.mark.skipif(not hyperscan_available(), reason="hyperscan is not installed")
def test_every_letter_regex_folds_into_an_ascii_one_is_spelled_out_for_hyperscan():
    """Both ways: the non-ASCII letters an ASCII letter of a context word matches (in either
    case: `regex` takes dotless i for I, not for i), and the ASCII letters a non-ASCII letter
    of a word matches."""
    import string

    from piiscan.hsdatabase import _CASE_FOLDED_INTO, _FOLDS_INTO_ASCII

    # Every code point whose case mappings involve an ASCII letter (the only ones that can).
    candidates = [
        chr(x) for x in range(0x80, 0x110000)
        if not 0xD800 <= x < 0xE000
        and any(c in string.ascii_letters for c in chr(x).lower() + chr(x).upper() + chr(x).casefold())
    ]
    for letter in string.ascii_lowercase:
        folded = {x for x in candidates for case in (letter, letter.upper()) if regex.fullmatch(f"(?i:{case})", x)}
        spelled = set(_CASE_FOLDED_INTO.get(letter, "")) - set(string.ascii_letters + "[]")
        assert folded == spelled, letter
    for x in candidates:
        matched = {a for a in string.ascii_letters if regex.fullmatch(f"(?i:{regex.escape(x)})", a)}
        assert matched <= set(_FOLDS_INTO_ASCII.get(x, "")), hex(ord(x))
    assert set(_FOLDS_INTO_ASCII) == {x for letters in _CASE_FOLDED_INTO.values() for x in letters if not x.isascii()}


@pytest.mark.parametrize("backend", ["regex", "auto"])
@pytest.mark.parametrize(
    "text", ["po\u017ftal code: 90210", "z\u0130p 90210", "postal\u00a0code 90210", "POSTAL-CODE=90210", "zip\n\n90210"]
)
def test_unusual_context_words_are_found_on_both_backends(rules, backend, text):
    assert [f.value for f in scan(rules, text, backend)] == ["90210"]


def test_masked_union_masks_every_part_of_a_left_out_value_to_its_end():
    from piiscan.snippets import Span, _masked_union

    kept = [Span(10, 20, "US_SSN", "x" * 10)]
    others = [
        Span(5, 12, "PHONE_NUMBER", "p" * 7),  # starts before the finding, ends inside it
        Span(18, 25, "ZIP", "z" * 7),  # starts inside it, goes on after it
        Span(24, 30, "DATE", "d" * 6),  # overlaps the part of the previous one left over
        Span(40, 44, "IP", "i" * 4),  # alone
    ]
    union = _masked_union(kept, others)
    # A part of a value has no entity: it is masked whole, never with a last four shown.
    assert [(s.start, s.end, s.entity) for s in union] == [
        (5, 10, ""), (10, 20, "US_SSN"), (20, 25, ""), (25, 30, ""), (40, 44, "IP"),
    ]
    assert [s.value for s in union] == ["p" * 5, "x" * 10, "z" * 5, "d" * 5, "i" * 4]


@pytest.mark.skipif(not hyperscan_available(), reason="hyperscan is not installed")
def test_left_out_patterns_named_by_hyperscan_find_what_every_pattern_finds(tmp_path, monkeypatch):
    # With --only, snippets mask what the left-out rules' patterns match; hyperscan only
    # picks which patterns to search, so it must never leave out one that matches.
    from piiscan.snippets import LeftOutPatterns

    rules = load_rules((), packs=["core"])
    fake = Faker(["en_US", "en_GB", "de_DE", "fr_FR"])
    fake.seed_instance(7)
    makers = [fake.email, fake.phone_number, fake.ssn, fake.ipv4, fake.ipv6, fake.date,
              fake.credit_card_number, fake.iban, fake.mac_address, fake.street_address,
              fake.url, fake.postcode, fake.uuid4, fake.sentence]
    lines = [
        " ".join(random.Random(i).choice(makers)().replace("\n", ", ") for _ in range(4))
        for i in range(400)
    ]
    every = LeftOutPatterns(rules, regex.compile, None)  # no cache folder: every pattern
    named = LeftOutPatterns(rules, regex.compile, tmp_path)
    monkeypatch.setattr(LeftOutPatterns, "BUILD_AFTER", 1)  # the database from the first stretch on
    found = 0
    for i, line in enumerate(lines):
        text = f"x = 1\n{line}\n"
        lo, hi = 6 + i % 5, 6 + len(line) - i % 3  # some stretches cut values
        expected = every.spans(text, lo, hi, 2.0)
        assert named.spans(text, lo, hi, 2.0) == expected, line
        found += len(expected)
    assert found > len(lines)  # the lines hold plenty to mask
    assert named._database is not None and list(tmp_path.glob("hs-*.db"))  # built and cached


def test_a_left_out_pattern_that_timed_out_is_never_searched_again():
    from piiscan.snippets import LeftOutPatterns

    rules = load_rules((), packs=["core"])
    calls = []

    class Backtracking:
        def finditer(self, *args, **kwargs):
            calls.append(args)
            raise TimeoutError

    left_out = LeftOutPatterns(rules, regex.compile, None)
    left_out._patterns[0] = (left_out._patterns[0][0], Backtracking())
    text = "mail someone at the office, ssn 536-22-1234, phone +44 20 7946 0321"
    for lo in (0, 5, 10):
        assert [(s.start, s.end, s.entity) for s in left_out.spans(text, lo, len(text), 0.05)] == [
            (lo, len(text), "")  # masked whole
        ]
    assert len(calls) == 1
