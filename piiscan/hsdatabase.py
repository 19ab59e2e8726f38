"""The hyperscan databases of a set of rules: which patterns hyperscan can take (each
compiled alone first, since a multi-pattern compile error names no culprit), the context
words of the rules that require them as hyperscan patterns, and the compiled databases kept
in the cache folder.

Hyperscan is imported on first use: the pure-regex finder works without it.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from pathlib import Path

import piiscan
from piiscan.compiled import requires_context
from piiscan.diskcache import read_checked, write_checked
from piiscan.model import Rule


def _hyperscan_flags(hs, prefilter: bool) -> int:
    # Not SINGLEMATCH: every match end is needed to tell which lines a rule may match on.
    flags = hs.HS_FLAG_UTF8 | hs.HS_FLAG_MULTILINE
    return flags | hs.HS_FLAG_PREFILTER if prefilter else flags


# The non-ASCII letters that `regex`'s case-insensitive matching takes for ASCII ones: dotted
# capital I (U+0130) for i, the Kelvin sign (U+212A) for k, long s (U+017F) for s; and the
# other way round, dotless i (U+0131) for I. Hyperscan's caseless mode misses the two i's;
# all are spelled out (a test checks every code point against `regex`).
_CASE_FOLDED_INTO = {"i": "iI\u0130\u0131", "k": "kK\u212a", "s": "sS\u017f"}
# The same pairs the other way round: each of those letters, and the ASCII letter it is for.
_FOLDS_INTO_ASCII = {
    letter: ascii + ascii.upper()
    for ascii, letters in _CASE_FOLDED_INTO.items()
    for letter in letters
    if not letter.isascii()
}

# Hyperscan's caseless mode knows the case pairs of its Unicode tables, older than `regex`'s:
# these letters (first and last code point of each run) have partners it does not know
# (Cyrillic в also matches ᲀ for `regex`, ß the capital ẞ; Georgian, Cherokee, Osage and
# others have gained capitals). A test compares the two on every letter that `regex`'s own
# Unicode tables or Python's call cased, and checks this list.
_HYPERSCAN_CASE_GAPS = (
    (0x00DF, 0x00DF), (0x019B, 0x019B), (0x0264, 0x0264), (0x026A, 0x026A), (0x0277, 0x0277),
    (0x027C, 0x027C), (0x0282, 0x0282), (0x029D, 0x029D), (0x0390, 0x0390), (0x03B0, 0x03B0),
    (0x0412, 0x0414), (0x041E, 0x041E), (0x0421, 0x0422), (0x042A, 0x042A), (0x0432, 0x0434),
    (0x043E, 0x043E), (0x0441, 0x0442), (0x044A, 0x044A), (0x0462, 0x0463), (0x10D0, 0x10FF),
    (0x13A0, 0x13FD), (0x1C80, 0x1C8A), (0x1C90, 0x1CBF), (0x1D8E, 0x1D8E), (0x1E9E, 0x1E9E),
    (0x1FD3, 0x1FD3), (0x1FE3, 0x1FE3), (0x2C2F, 0x2C2F), (0x2C5F, 0x2C5F), (0xA64A, 0xA64B),
    (0xA794, 0xA794), (0xA7AE, 0xA7AE), (0xA7B2, 0xA7E2), (0xA7F5, 0xA7F6), (0xAB4B, 0xAB4C),
    (0xAB53, 0xAB53), (0xAB6C, 0xAB6D), (0xAB70, 0xABBF), (0xFB05, 0xFB06), (0x104B0, 0x104FB),
    (0x10570, 0x105BC), (0x10C80, 0x10CF2), (0x10D50, 0x10D85), (0x16E40, 0x16E7F), (0x16EA0, 0x16ED3),
    (0x1DF40, 0x1DF95), (0x1E900, 0x1E943),
)


def _hyperscan_letter(ch: str) -> str:
    """One character of a context word, for hyperscan's caseless mode: itself (hyperscan
    folds "É" into "é", "Σ" into "ς"), ASCII punctuation escaped, with the letters `regex`
    folds into ASCII ones or ASCII ones into them spelled out, and a letter whose case
    partners hyperscan does not all know as any non-ASCII character (a superset)."""
    if ch.isascii():
        if ch.lower() in _CASE_FOLDED_INTO:
            return f"[{_CASE_FOLDED_INTO[ch.lower()]}]"
        return ch if ch.isalnum() else "\\x%02x" % ord(ch)
    if ch in _FOLDS_INTO_ASCII:
        return f"(?:{ch}|[{_FOLDS_INTO_ASCII[ch]}])"
    code = ord(ch)
    if any(low <= code <= high for low, high in _HYPERSCAN_CASE_GAPS):
        return "[^\\x00-\\x7f]"
    return ch


def _context_pattern(rule: Rule) -> str | None:
    """A rule's context words as one hyperscan pattern (caseless) that ends wherever one of
    them ends as scoring finds it (`piiscan.compiled._bounded_alternation`: the two change
    together); None for a rule that does not require context.

    A word starts after a non-alphanumeric (the one character is part of the match: the
    match's end is the word's; matched case-sensitively, since hyperscan's caseless mode
    takes the Kelvin sign and long s for letters) or at the start of a line, or, for a Latin
    word, at a camelCase hump: an upper-case first letter after a lower-case letter or
    digit. What follows a word is not checked (a superset), so "ein" still ends in
    "Einheit", but no longer in "being".
    """
    if not requires_context(rule):
        return None

    def literal(part: str) -> str:
        return "".join(map(_hyperscan_letter, part))

    def phrase(parts: list[str]) -> str:
        # Between a phrase's words `regex` takes any of [\s_-]+ (Unicode spaces too): any
        # run of non-alphanumerics here, a superset.
        return "[^A-Za-z0-9]+".join(literal(part) for part in parts)

    alternatives = []
    for word in rule.context:
        head, *tail = word.split()
        alternatives.append("(?:^|(?-i:[^A-Za-z0-9]))" + phrase([head, *tail]))
        if word.isascii() and head[0].isalpha():  # customerZip: an upper-case first letter
            alternatives.append(f"[a-z0-9](?-i:{head[0].upper()})" + phrase([head[1:], *tail]))
    return "|".join(alternatives)


# What hyperscan reads as literal text where `regex` does not: fuzzy matching,
# `(?:kappa){e<=1}` (any unescaped brace pair holding a lone e, i, d or s), and a quantifier
# without its minimum, `{,3}`. A rule with either would never see a hyperscan match end where
# `regex` finds one; a brace pair that is meant literally only costs its rule some speed.
_READ_AS_LITERAL_BY_HYPERSCAN = re.compile(
    r"(?<!\\)\{(?:[^{}]*(?<![A-Za-z])[eids](?![A-Za-z])[^{}]*|,[0-9]*)\}"
)


def _classify_patterns(hs, rules: Sequence[Rule]):
    """Compile each pattern alone first: a multi-pattern compile error names no culprit.

    Returns the expressions, their flags, the owner of each (a rule's order, or `~order` for
    the rule's context words) and the rules left to the regex fallback: those with a pattern
    hyperscan cannot take even in prefilter mode, or would read in part as literal text
    (`_READ_AS_LITERAL_BY_HYPERSCAN`). Such a rule is tried whole by the fallback, none of
    its patterns in the database.
    Expression ids are their positions: hyperscan ran a third slower with ids shared by a
    rule's patterns."""
    expressions, owners, flags, regex_only = [], [], [], set()
    for order, rule in enumerate(rules):
        compiled = []  # (expression, flags) of each of the rule's patterns
        for pattern in rule.patterns:
            source = pattern.prefilter or pattern.regex
            if _READ_AS_LITERAL_BY_HYPERSCAN.search(source):
                break
            expression = source.encode("utf-8")
            for prefilter in (False, True):
                candidate_flags = _hyperscan_flags(hs, prefilter)
                try:
                    hs.Database().compile(expressions=[expression], flags=[candidate_flags])
                except hs.error:
                    continue
                compiled.append((expression, candidate_flags))
                break
            else:
                break
        if len(compiled) < len(rule.patterns):
            regex_only.add(order)
            continue
        for expression, expression_flags in compiled:
            expressions.append(expression)
            owners.append(order)
            flags.append(expression_flags)
    for order, rule in enumerate(rules):
        words = _context_pattern(rule)
        if words is not None and order not in regex_only:
            expressions.append(words.encode("utf-8"))
            owners.append(~order)
            flags.append(_hyperscan_flags(hs, False) | hs.HS_FLAG_CASELESS)
    return expressions, owners, flags, regex_only


_CACHE_MAGIC = b"piiscan-hyperscan-cache/5\n"  # 5: gated patterns in a database of their own


def patterns_of(owners: Sequence[int]) -> list[tuple[int, int] | None]:
    """What each expression of a database stands for: (rule order, index of the pattern in
    the rule) for a pattern, None for a rule's context words (a negative owner)."""
    out: list[tuple[int, int] | None] = []
    seen: dict[int, int] = {}
    for owner in owners:
        if owner < 0:
            out.append(None)
        else:
            out.append((owner, seen.get(owner, 0)))
            seen[owner] = seen.get(owner, 0) + 1
    return out


def load_or_build_database(rules: Sequence[Rule], cache_dir: Path | None, build: bool = True):
    """(first database, gated database, owner of each expression, rules left to `regex`),
    from the cache folder or compiled (and cached); None if not cached and `build` is
    False. Rules that do not require context give one database of their patterns alone
    (gated: None)."""
    import hyperscan as hs

    key_material = json.dumps(
        [_CACHE_MAGIC.decode(), piiscan.__version__, getattr(hs, "__version__", "?"), hs.HS_MODE_BLOCK,
         _hyperscan_flags(hs, False), _hyperscan_flags(hs, True), hs.HS_FLAG_CASELESS]
        + [[[p.regex, p.prefilter] for p in rule.patterns] for rule in rules]
        + [_context_pattern(rule) for rule in rules]
    ).encode()
    key = hashlib.sha256(key_material).hexdigest()[:32]
    cache_file = cache_dir / f"hs-{key}.db" if cache_dir else None
    if cache_file is not None:
        cached = _read_cache(hs, cache_file)
        if cached is not None:
            return cached
    if not build:
        return None

    expressions, owners, flags, regex_only = _classify_patterns(hs, rules)
    if not expressions:  # every rule needs the regex fallback
        return None, None, [], regex_only
    # A rule's patterns are gated when its context words are in the database (see
    # HyperscanFinder); ids stay the positions in `expressions` in both databases.
    with_words = {~owner for owner in owners if owner < 0}
    gated = [i for i, owner in enumerate(owners) if owner in with_words]
    first = [i for i, owner in enumerate(owners) if owner not in with_words]
    database = _compiled(hs, expressions, flags, first)
    gated_database = _compiled(hs, expressions, flags, gated) if gated else None
    if cache_file is not None:
        _write_cache(hs, cache_file, database, gated_database, owners, regex_only)
    return database, gated_database, owners, regex_only


def _compiled(hs, expressions: list[bytes], flags: list[int], chosen: list[int]):
    database = hs.Database(mode=hs.HS_MODE_BLOCK)
    database.compile(
        expressions=[expressions[i] for i in chosen], ids=chosen, flags=[flags[i] for i in chosen]
    )
    return database


def _read_cache(hs, cache_file: Path):
    checked = read_checked(cache_file, _CACHE_MAGIC)
    if checked is None:  # never hand hyperscan bytes we did not write whole: it trusts them
        return None
    meta, payload = checked
    try:
        split = meta["first_size"]
        database = _loaded(hs, payload[:split])
        gated_database = _loaded(hs, payload[split:]) if len(payload) > split else None
        return database, gated_database, list(meta["owners"]), set(meta["regex_only"])
    except (KeyError, TypeError, hs.error):
        return None


def _loaded(hs, serialized: bytes):
    database = hs.loadb(serialized, hs.HS_MODE_BLOCK)
    database.scratch = hs.Scratch(database)  # a loaded database comes without one
    return database


def _write_cache(
    hs, cache_file: Path, database, gated_database, owners: list[int], regex_only: set[int]
) -> None:
    first = hs.dumpb(database)
    gated = hs.dumpb(gated_database) if gated_database is not None else b""
    write_checked(
        cache_file, _CACHE_MAGIC, first + gated,
        first_size=len(first), owners=owners, regex_only=sorted(regex_only),
    )


def hyperscan_available() -> bool:
    try:
        import hyperscan  # noqa: F401
    except ImportError:
        return False
    return True
