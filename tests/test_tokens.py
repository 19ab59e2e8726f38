"""Reversible tokens: round trips, determinism, tamper detection, finding them in text."""

from __future__ import annotations

import base64
import csv
import io
import json
import shlex
import string
import urllib.parse

import pytest
import yaml
from faker import Faker
from hypothesis import given, settings
from hypothesis import strategies as st

import piiscan
from piiscan.errors import PiiscanError, RedactionError
from piiscan.redact.keys import Keyring, derive_key, generate_keyring, rotate
from piiscan.redact.tokens import (
    TOKEN_PATTERN,
    Token,
    TokenError,
    decrypt_token,
    find_damaged_tokens,
    encrypt_value,
    find_tokens,
    hash_value,
    reencrypt_token,
)

KEYRING = generate_keyring()
MODES = pytest.mark.parametrize("unlinkable", [False, True], ids=["siv", "gcm"])
B64URL = string.ascii_letters + string.digits + "-_"

values = st.text(st.characters(exclude_categories=()), max_size=200)  # surrogates and newlines too
entities = st.from_regex(r"[A-Z][A-Z0-9_]{0,30}", fullmatch=True)


def _fake_email() -> str:
    return Faker().free_email()


def _parts(token: str) -> list[str]:
    """prefix+version+mode, entity, ciphertext, k+key id."""
    parts = token.split(".")
    assert len(parts) == 4
    return parts


def _assert_reveals_nothing(error: TokenError, value: str, keyring: Keyring) -> None:
    shown = error.message + " " + error.hint + " " + repr(error)
    if len(value) >= 4:
        assert value not in shown
    for key in keyring.keys.values():
        for spelling in (key.hex(), base64.b64encode(key).decode().rstrip("="), repr(key)):
            assert spelling not in shown


# --- round trips -------------------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(value=values, entity=entities, scope=st.text(max_size=20), unlinkable=st.booleans())
def test_any_text_round_trips(value, entity, scope, unlinkable):
    token = encrypt_value(value, entity, KEYRING, scope=scope, unlinkable=unlinkable)
    assert decrypt_token(token, KEYRING, scope=scope) == (entity, value)
    (found,) = find_tokens(f"before {token} after")
    assert found.text == token and found.entity == entity and found.key_id == KEYRING.primary
    assert found.mode == ("gcm" if unlinkable else "siv") and found.version == 1


@MODES
@pytest.mark.parametrize(
    "value",
    [
        "",
        "\n",
        "a\r\nb\rc\n",
        " leading and trailing ",
        "Zoë Ñúñez 山田太郎 🙂",
        "\udcff\udc80 raw bytes",
        "x" * 5000,
    ],
    ids=["empty", "newline", "line-endings", "spaces", "unicode", "surrogateescape", "long"],
)
def test_edge_values_round_trip(value, unlinkable):
    token = encrypt_value(value, "PERSON", KEYRING, unlinkable=unlinkable)
    assert decrypt_token(token, KEYRING) == ("PERSON", value)
    assert value == "" or value not in token


def test_round_trip_through_a_found_token_object():
    email = _fake_email()
    token = encrypt_value(email, "EMAIL_ADDRESS", KEYRING)
    (found,) = find_tokens(f"to: {token}\n")
    assert isinstance(found, Token)
    assert decrypt_token(found, KEYRING) == ("EMAIL_ADDRESS", email)


def test_token_format_is_the_documented_one():
    token = encrypt_value(_fake_email(), "EMAIL_ADDRESS", KEYRING)
    head, entity, body, key = _parts(token)
    assert head == "pii1s" and entity == "EMAIL_ADDRESS" and key == "k" + KEYRING.primary
    assert set(body) <= set(B64URL) and "=" not in token
    assert encrypt_value("x", "US_SSN", KEYRING, unlinkable=True).startswith("pii1g.US_SSN.")


# --- determinism and unlinkability ------------------------------------------------------------


def test_siv_tokens_are_equal_for_equal_values():
    email = _fake_email()
    first = encrypt_value(email, "EMAIL_ADDRESS", KEYRING)
    again = encrypt_value(
        email, "EMAIL_ADDRESS", Keyring(primary=KEYRING.primary, keys=dict(KEYRING.keys))
    )
    assert first == again


def test_siv_tokens_differ_by_value_entity_scope_and_key():
    email = _fake_email()
    base = encrypt_value(email, "EMAIL_ADDRESS", KEYRING)
    others = [
        encrypt_value(email + ".", "EMAIL_ADDRESS", KEYRING),
        encrypt_value(email, "URL", KEYRING),
        encrypt_value(email, "EMAIL_ADDRESS", KEYRING, scope="project-b"),
        encrypt_value(email, "EMAIL_ADDRESS", generate_keyring()),
    ]
    # The ciphertext differs, not only the visible label: the entity is bound inside.
    assert all(_parts(other)[2] != _parts(base)[2] for other in others)


def test_gcm_tokens_are_unlinkable_and_all_decrypt():
    email = _fake_email()
    tokens = {encrypt_value(email, "EMAIL_ADDRESS", KEYRING, unlinkable=True) for _ in range(20)}
    assert len(tokens) == 20
    assert {decrypt_token(t, KEYRING) for t in tokens} == {("EMAIL_ADDRESS", email)}


# --- tampering: every case is a TokenError that reveals nothing --------------------------------


def _other_b64_char(ch: str) -> str:
    return "A" if ch != "A" else "B"


@MODES
def test_flipping_any_ciphertext_character_fails(unlinkable):
    value = _fake_email()
    token = encrypt_value(value, "EMAIL_ADDRESS", KEYRING, unlinkable=unlinkable)
    head, entity, body, key = _parts(token)
    for i in range(len(body)):
        changed = body[:i] + _other_b64_char(body[i]) + body[i + 1 :]
        with pytest.raises(TokenError) as caught:
            decrypt_token(f"{head}.{entity}.{changed}.{key}", KEYRING)
        _assert_reveals_nothing(caught.value, value, KEYRING)


def test_a_non_canonical_last_character_is_refused():
    # A 3-byte value gives 16 + 3 = 19 bytes = 26 base64 characters, the last with 4 unused
    # bits. Setting those bits decodes to the same bytes, so it would pass authentication.
    token = encrypt_value("Q7z", "PERSON", KEYRING)
    head, entity, body, key = _parts(token)
    assert len(body) % 4 == 2
    alphabet = string.ascii_uppercase + string.ascii_lowercase + string.digits + "-_"
    index = alphabet.index(body[-1])
    for low_bits in range(1, 16):
        sibling = alphabet[(index & ~15) | low_bits]
        with pytest.raises(TokenError, match="malformed token"):
            decrypt_token(f"{head}.{entity}.{body[:-1]}{sibling}.{key}", KEYRING)


@MODES
def test_truncation_anywhere_fails(unlinkable):
    token = encrypt_value(_fake_email(), "EMAIL_ADDRESS", KEYRING, unlinkable=unlinkable)
    for cut in range(1, len(token)):
        with pytest.raises(TokenError):
            decrypt_token(token[:-cut], KEYRING)
    head, entity, body, key = _parts(token)
    for keep in range(len(body) - 1, 0, -7):  # ciphertext shortened, the rest intact
        with pytest.raises(TokenError):
            decrypt_token(f"{head}.{entity}.{body[:keep]}.{key}", KEYRING)


@MODES
def test_swapping_the_entity_name_fails_authentication(unlinkable):
    value = "536-22-1234"
    token = encrypt_value(value, "US_SSN", KEYRING, unlinkable=unlinkable)
    for other in ("US_ITIN", "PHONE_NUMBER", "US_SSN_"):
        with pytest.raises(TokenError, match="failed authentication") as caught:
            decrypt_token(token.replace(".US_SSN.", f".{other}.", 1), KEYRING)
        _assert_reveals_nothing(caught.value, value, KEYRING)


@MODES
def test_pointing_the_key_id_at_another_existing_key_fails(unlinkable):
    keyring = rotate(KEYRING)  # both keys present
    token = encrypt_value(_fake_email(), "EMAIL_ADDRESS", keyring, unlinkable=unlinkable)
    moved = token.replace(f".k{keyring.primary}", f".k{KEYRING.primary}")
    assert moved != token
    with pytest.raises(TokenError, match="failed authentication"):
        decrypt_token(moved, keyring)


def test_changing_the_mode_letter_fails():
    for unlinkable, other in ((False, "g"), (True, "s")):
        token = encrypt_value(_fake_email(), "EMAIL_ADDRESS", KEYRING, unlinkable=unlinkable)
        with pytest.raises(TokenError):
            decrypt_token("pii1" + other + token[5:], KEYRING)
        with pytest.raises(TokenError, match="unknown mode"):
            decrypt_token("pii1x" + token[5:], KEYRING)


def test_a_newer_version_is_reported_as_unsupported():
    token = encrypt_value(_fake_email(), "EMAIL_ADDRESS", KEYRING)
    with pytest.raises(TokenError, match="unsupported version 2"):
        decrypt_token("pii2" + token[4:], KEYRING)


@MODES
def test_wrong_scope_fails_authentication(unlinkable):
    token = encrypt_value(
        _fake_email(), "EMAIL_ADDRESS", KEYRING, scope="acme/crm", unlinkable=unlinkable
    )
    for scope in ("", "acme/crm ", "acme/billing"):
        with pytest.raises(TokenError, match="failed authentication"):
            decrypt_token(token, KEYRING, scope=scope)


@MODES
def test_a_keyring_without_the_key_names_the_missing_key_id(unlinkable):
    value = _fake_email()
    token = encrypt_value(value, "EMAIL_ADDRESS", KEYRING, unlinkable=unlinkable)
    stranger = generate_keyring()
    with pytest.raises(TokenError, match=f"unknown key id k{KEYRING.primary}") as caught:
        decrypt_token(token, stranger)
    assert f"k{stranger.primary}" in caught.value.hint
    _assert_reveals_nothing(caught.value, value, stranger)


@MODES
def test_the_same_key_id_with_another_key_fails_authentication(unlinkable):
    # A keyring whose id was forged cannot be built, so simulate a wrong key under the right id
    # by re-labelling a token of another keyring.
    other = generate_keyring()
    token = encrypt_value(_fake_email(), "EMAIL_ADDRESS", other, unlinkable=unlinkable)
    relabelled = token.replace(f".k{other.primary}", f".k{KEYRING.primary}")
    with pytest.raises(TokenError, match="failed authentication"):
        decrypt_token(relabelled, KEYRING)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "pii1s",
        "not a token",
        "pii1s.EMAIL_ADDRESS..k0123abcd",
        "pii1s.email.AAAAAAAAAAAAAAAAAAAAAA.k0123abcd",
        " pii1s.X.AAAAAAAAAAAAAAAAAAAAAA.k0123abcd",
        "pii1s.X.AAAAAAAAAAAAAAAAAAAAAA.k0123ABCD",
    ],
)
def test_malformed_text_is_a_token_error(text):
    with pytest.raises(TokenError, match="malformed token"):
        decrypt_token(text, KEYRING)


def test_token_error_is_a_redaction_error():
    assert issubclass(TokenError, RedactionError) and issubclass(TokenError, PiiscanError)


def test_bad_entity_names_are_refused_when_encrypting():
    for entity in ("email", "EMAIL.ADDRESS", "", "1ST", "A" * 65):
        with pytest.raises(RedactionError, match="not an UPPER_SNAKE name of at most 64"):
            encrypt_value("x", entity, KEYRING)


# --- finding tokens in text --------------------------------------------------------------------


def _token_of(entity: str = "EMAIL_ADDRESS", unlinkable: bool = False) -> tuple[str, str]:
    value = _fake_email()
    return value, encrypt_value(value, entity, KEYRING, unlinkable=unlinkable)


@MODES
def test_tokens_need_no_quoting_in_common_formats(unlinkable):
    _, token = _token_of(unlinkable=unlinkable)
    assert json.dumps(token) == f'"{token}"'
    assert yaml.safe_dump({"email": token}) == f"email: {token}\n"
    assert yaml.safe_load(f"email: {token}\n") == {"email": token}
    assert urllib.parse.quote(token, safe="") == token
    assert shlex.quote(token) == token
    assert repr(token) == f"'{token}'"
    out = io.StringIO()
    csv.writer(out).writerow(["1", token, "x"])
    assert out.getvalue() == f"1,{token},x\r\n"


def _found(text: str) -> list[str]:
    found = find_tokens(text)
    for token in found:
        assert text[token.start : token.end] == token.text
    return [t.text for t in found]


@MODES
def test_tokens_are_found_in_many_settings(unlinkable):
    a_value, a = _token_of(unlinkable=unlinkable)
    b_value, b = _token_of("PHONE_NUMBER", unlinkable=unlinkable)
    settings_ = {
        "sentence": f"Contact {a}. Or call {b}, thanks.",
        "json": json.dumps({"email": a, "phone": b}),
        "csv": f"id,email,phone\n7,{a},{b}\n",
        "url": f"https://crm.northwind.io/lookup?email={a}&phone={b}#top",
        "markdown": f"| {a} | **{b}** |\n_{a}_ and [call](tel:{b}) and `{a}`",
        "yaml": f"user:\n  email: {a}\n  phones: [{b}]\n",
        "code": f"send(to=\"{a}\", sms='{b}')  # {a}",
        "brackets": f"({a})<{b}>[{a}]{{{b}}}",
        "back to back": f"{a}{b}",
        "joined by separators": f"{a}_{b}-{a}.{b}:{a};{b}/{a}",
        "glued to words": f"xx{a}yy",
    }
    for name, text in settings_.items():
        found = _found(text)
        assert found and set(found) <= {a, b}, name
        assert len(found) == text.count(a) + text.count(b), name
    assert decrypt_token(find_tokens(settings_["url"])[0], KEYRING) == ("EMAIL_ADDRESS", a_value)
    assert decrypt_token(find_tokens(settings_["back to back"])[1], KEYRING) == ("PHONE_NUMBER", b_value)


def test_token_pattern_is_exported_as_a_string_that_finds_the_same_tokens():
    import re

    _, token = _token_of()
    assert isinstance(TOKEN_PATTERN, str)
    assert [m.group(0) for m in re.finditer(TOKEN_PATTERN, f"a {token} b")] == [token]


def test_ordinary_text_has_no_tokens():
    text = Faker().text(2000) + " pii1 pii1s.EMAIL_ADDRESS pii1s.X.short.k12345678 api1s.X"
    assert find_tokens(text) == []


def _core_entities() -> list[str]:
    return sorted({rule.entity for rule in piiscan.engine_for().rules})


def test_tokens_are_never_taken_for_pii_by_the_core_rules():
    entities = _core_entities()
    assert "EMAIL_ADDRESS" in entities and "US_SSN" in entities
    faker = Faker()
    samples = [
        faker.email(),
        faker.phone_number(),
        faker.ssn(),
        faker.iban(),
        faker.address(),
        faker.ipv4(),
        "",
    ]
    tokens = []
    for entity in entities:
        keyring = generate_keyring()  # fresh key ids too: a key id must never read as a number
        for i in range(40):
            value = samples[i % len(samples)] + faker.pystr(max_chars=i)
            tokens.append(encrypt_value(value, entity, keyring, unlinkable=i % 2 == 1))
    for token in tokens[::7]:
        assert piiscan.scan_text(token) == [], token
    # All at once: each token's entity name is then a context word next to other tokens.
    for joiner in (" ", "\n", ",", '", "'):
        findings = piiscan.scan_text(joiner.join(tokens))
        assert findings == [], [(f.rule_id, f.start) for f in findings]


# --- rotation and rekey -------------------------------------------------------------------------


@MODES
def test_rekey_moves_a_token_to_the_new_primary_key(unlinkable):
    old = generate_keyring()
    value = _fake_email()
    token = encrypt_value(value, "EMAIL_ADDRESS", old, unlinkable=unlinkable)
    rotated = rotate(old)
    new_token = reencrypt_token(token, rotated, rotated)
    (found,) = find_tokens(new_token)
    assert found.key_id == rotated.primary != old.primary
    assert found.mode == ("gcm" if unlinkable else "siv")
    new_only = Keyring(primary=rotated.primary, keys={rotated.primary: rotated.primary_key})
    assert decrypt_token(new_token, new_only) == ("EMAIL_ADDRESS", value)
    with pytest.raises(TokenError, match="unknown key id"):
        decrypt_token(token, new_only)  # the old key is gone from this keyring


def test_rekey_keeps_siv_joins_and_can_change_the_scope():
    old = generate_keyring()
    new = rotate(old)
    value = _fake_email()
    first = encrypt_value(value, "EMAIL_ADDRESS", old, scope="a")
    assert reencrypt_token(first, old, new, scope="a") == reencrypt_token(first, new, new, scope="a")
    assert reencrypt_token(first, old, new, scope="a") == encrypt_value(
        value, "EMAIL_ADDRESS", new, scope="a"
    )
    moved = reencrypt_token(first, old, new, scope="a", new_scope="b")
    assert decrypt_token(moved, new, scope="b") == ("EMAIL_ADDRESS", value)


def test_rekey_of_a_tampered_token_fails():
    token = encrypt_value(_fake_email(), "EMAIL_ADDRESS", KEYRING)
    with pytest.raises(TokenError):
        reencrypt_token(token.replace("EMAIL_ADDRESS", "URL"), KEYRING, rotate(KEYRING))


# --- keyed hashes ----------------------------------------------------------------------------


def test_hash_is_stable_and_shaped_like_the_design_example():
    email = _fake_email()
    digest = hash_value(email, "EMAIL_ADDRESS", KEYRING)
    same_key = Keyring(primary=KEYRING.primary, keys=dict(KEYRING.keys))
    assert digest == hash_value(email, "EMAIL_ADDRESS", same_key)
    prefix, _, hex_part = digest.rpartition("_")
    assert prefix == "EMAIL_ADDRESS" and len(hex_part) == 10 and set(hex_part) <= set("0123456789abcdef")
    assert len(hash_value(email, "EMAIL_ADDRESS", KEYRING, length=16).rpartition("_")[2]) == 16


def test_hash_is_the_documented_hmac():
    from cryptography.hazmat.primitives import hashes, hmac

    mac = hmac.HMAC(derive_key(KEYRING.primary_key, "hash"), hashes.SHA256())
    mac.update(b"US_SSN\x00536-22-1234")
    assert hash_value("536-22-1234", "US_SSN", KEYRING) == "US_SSN_" + mac.finalize().hex()[:10]


def test_hash_depends_on_key_value_and_entity():
    email = _fake_email()
    digest = hash_value(email, "EMAIL_ADDRESS", KEYRING)
    assert hash_value(email, "EMAIL_ADDRESS", generate_keyring()) != digest
    assert hash_value(email, "EMAIL_ADDRESS", rotate(KEYRING)) != digest  # the primary key hashes
    assert hash_value(email + " ", "EMAIL_ADDRESS", KEYRING) != digest
    assert hash_value(email, "URL", KEYRING).rpartition("_")[2] != digest.rpartition("_")[2]
    assert email not in digest


def test_hash_length_is_bounded():
    for length in (0, 3, 65):
        with pytest.raises(ValueError):
            hash_value("x", "PERSON", KEYRING, length=length)


def test_the_documented_example_has_the_documented_format():
    import re

    import piiscan.redact.tokens as tokens_module

    example = next(
        line.strip() for line in tokens_module.__doc__.splitlines() if line.strip().startswith("pii1s.")
    )
    match = re.fullmatch(TOKEN_PATTERN, example)
    assert match and match["entity"] == "EMAIL_ADDRESS" and match["mode"] == "s"


def test_damaged_tokens_are_found_and_whole_ones_or_descriptions_are_not():
    first = encrypt_value("536-22-1234", "US_SSN", KEYRING)
    second = encrypt_value("jane@acme-mail.net", "EMAIL_ADDRESS", KEYRING, unlinkable=True)
    whole = f"{first}{second} and pii1s.ENTITY.<base64url>.k<8 hex digits>\n"
    assert find_damaged_tokens(whole) == []
    cut = f"a {first[:-4]}\nb {second[: second.rindex('.')]}_x\n"
    assert find_damaged_tokens(cut) == [(2, "US_SSN"), (cut.index(second[:10]), "EMAIL_ADDRESS")]
