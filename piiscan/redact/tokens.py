"""Reversible tokens: authenticated encryption of one found value, findable again in any text.

Format (version 1), fields joined by `.`::

    pii1s.EMAIL_ADDRESS.m-Qaa3t6giphOuT8M-VN2h09ffvCo7homlluKfySSPBrs0RFCXk.k74c60e1e

    pii            fixed prefix
    1              format version
    s              mode: s = AES-SIV (deterministic), g = AES-GCM (random nonce, unlinkable)
    EMAIL_ADDRESS  entity, [A-Z][A-Z0-9_]{0,63}
    m-Qaa3...CXk   base64url without padding: SIV = synthetic IV + ciphertext (16 + n bytes),
                   GCM = 12-byte nonce + ciphertext + 16-byte tag (28 + n bytes)
    k74c60e1e      "k" + the 8-hex-digit id of the key in the keyring

Only letters, digits, `.`, `_` and `-` occur, so a token needs no quoting or escaping in code,
JSON and YAML strings, CSV cells, URLs or Markdown. The key id has a fixed length and the
ciphertext cannot contain a `.`, so a token ends unambiguously even when `_`, `-` or a letter
follows it, and two tokens written back to back are still two tokens. The key id starts with a
letter so that it never reads as a number to piiscan's own rules.

Associated data binds the format version, the mode, the key id, the entity and a project scope:
a token whose entity, mode or key id was edited, or that is opened under another scope, fails
authentication instead of decrypting to something else.

Deterministic mode (the default) gives equal tokens for equal values under the same key, entity
and scope, so joins across files and tables still work; it therefore also shows which records
share a value, and a party holding a token can tell when the same value appears again.
`unlinkable` mode uses AES-GCM with a fresh random 96-bit nonce: every token differs, and
nothing about equality leaks. Neither hides the entity type or roughly the value's length.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import os
import re
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as crypto_hmac
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, AESSIV

from piiscan.errors import RedactionError
from piiscan.model import ENTITY_NAME
from piiscan.redact.keys import Keyring, derive_key

TOKEN_VERSION = 1
SIV, GCM = "siv", "gcm"
_MODE_LETTERS = {SIV: "s", GCM: "g"}
_MODE_NAMES = {letter: name for name, letter in _MODE_LETTERS.items()}
_GCM_NONCE_SIZE = 12
_TAG_SIZE = 16

# Version and mode letter are matched broadly so that a token of a newer piiscan is found and
# reported as unsupported, not silently left in place. 22 base64 characters = the 16-byte tag.
TOKEN_PATTERN = (
    r"pii(?P<version>[0-9]{1,3})(?P<mode>[a-z])\."
    rf"(?P<entity>{ENTITY_NAME})\."
    r"(?P<ciphertext>[A-Za-z0-9_-]{22,})\."
    r"k(?P<key_id>[0-9a-f]{8})"
)
_TOKEN_RE = re.compile(TOKEN_PATTERN)
# What starts like a token: prefix, entity and a run of base64url characters (a description
# such as `pii1s.ENTITY.<base64url>` has none). One that is no whole token was cut or edited.
_TOKEN_START_RE = re.compile(
    r"pii[0-9]{1,3}[a-z]\." rf"(?P<entity>{ENTITY_NAME})\.[A-Za-z0-9_-]{{8}}"
)
_ENTITY = re.compile(ENTITY_NAME)

_AUTH_FAILED = "token failed authentication (wrong key, wrong scope, or modified)"


class TokenError(RedactionError):
    """A token cannot be opened: malformed, unknown key id, or failed authentication."""

    kind = "token error"


@dataclass(frozen=True)
class Token:
    """A token found in a text: its span and the fields readable without the key."""

    start: int
    end: int
    version: int
    entity: str
    key_id: str
    mode: str  # "siv", "gcm", or the unknown mode letter of a newer format
    text: str


def encrypt_value(
    value: str, entity: str, keyring: Keyring, *, scope: str = "", unlinkable: bool = False
) -> str:
    """The token for `value` of type `entity` under the keyring's primary key."""
    if not _ENTITY.fullmatch(entity):
        raise RedactionError(f"entity {entity!r} is not an UPPER_SNAKE name of at most 64 characters")
    mode = GCM if unlinkable else SIV
    key_id, master = keyring.primary, keyring.primary_key
    associated = _associated_data(TOKEN_VERSION, mode, key_id, entity, scope)
    plaintext = _encode(value)
    if mode == SIV:
        sealed = AESSIV(derive_key(master, "tokens/siv", 64)).encrypt(plaintext, [associated])
    else:
        nonce = os.urandom(_GCM_NONCE_SIZE)
        sealed = nonce + AESGCM(derive_key(master, "tokens/gcm", 32)).encrypt(
            nonce, plaintext, associated
        )
    body = base64.urlsafe_b64encode(sealed).rstrip(b"=").decode("ascii")
    return f"pii{TOKEN_VERSION}{_MODE_LETTERS[mode]}.{entity}.{body}.k{key_id}"


def find_tokens(text: str) -> list[Token]:
    """Every token in `text`, in order, with its span. Nothing is decrypted."""
    return [_token_from_match(m) for m in _TOKEN_RE.finditer(text)]


def find_damaged_tokens(text: str, tokens: list[Token] | None = None) -> list[tuple[int, str]]:
    """(offset, entity) of each place that starts like a token but is none (cut short, its
    key id or a separator lost): restoring must not pass over it in silence. `tokens`: the
    text's whole tokens, if the caller has found them already."""
    starts = {token.start for token in (find_tokens(text) if tokens is None else tokens)}
    return [(m.start(), m["entity"]) for m in _TOKEN_START_RE.finditer(text) if m.start() not in starts]


def decrypt_token(token: str | Token, keyring: Keyring, *, scope: str = "") -> tuple[str, str]:
    """(entity, value) of a token; TokenError if it cannot be opened with this keyring and scope."""
    parsed = _parse(token)
    if parsed.version != TOKEN_VERSION:
        raise TokenError(
            f"malformed token: unsupported version {parsed.version}",
            hint=f"this piiscan reads version {TOKEN_VERSION} tokens; a newer piiscan made it",
        )
    if parsed.mode not in _MODE_LETTERS:
        raise TokenError(f"malformed token: unknown mode {parsed.mode!r}")
    master = keyring.keys.get(parsed.key_id)
    if master is None:
        known = ", ".join(f"k{key_id}" for key_id in keyring.keys)
        raise TokenError(
            f"unknown key id k{parsed.key_id}",
            hint=f"the keyring has {known}; load the keyring that made the token "
            "(--key-file or PIISCAN_KEY_FILE)",
        )
    sealed = _decode_base64url(parsed.text.split(".")[2])
    minimum = _TAG_SIZE + (_GCM_NONCE_SIZE if parsed.mode == GCM else 0)
    if sealed is None or len(sealed) < minimum:
        raise TokenError("malformed token: the ciphertext is not valid base64url or too short")
    associated = _associated_data(parsed.version, parsed.mode, parsed.key_id, parsed.entity, scope)
    try:
        if parsed.mode == SIV:
            plaintext = AESSIV(derive_key(master, "tokens/siv", 64)).decrypt(sealed, [associated])
        else:
            nonce, body = sealed[:_GCM_NONCE_SIZE], sealed[_GCM_NONCE_SIZE:]
            plaintext = AESGCM(derive_key(master, "tokens/gcm", 32)).decrypt(nonce, body, associated)
    except InvalidTag:
        raise TokenError(
            _AUTH_FAILED, hint="check --key-file/PIISCAN_KEY_FILE and the scope in the config"
        ) from None
    try:
        return parsed.entity, plaintext.decode("utf-8", "surrogatepass")
    except UnicodeDecodeError:  # authentic but not ours: only a buggy writer could cause this
        raise TokenError("malformed token: the decrypted value is not text") from None


def reencrypt_token(
    token: str | Token,
    old: Keyring,
    new_primary: Keyring,
    *,
    scope: str = "",
    new_scope: str | None = None,
) -> str:
    """The token re-made under `new_primary`'s primary key, in the same mode (for `rekey`).

    `old` may be the rotated keyring itself: it still holds the old keys.
    """
    entity, value = decrypt_token(token, old, scope=scope)
    unlinkable = _parse(token).mode == GCM
    return encrypt_value(
        value,
        entity,
        new_primary,
        scope=scope if new_scope is None else new_scope,
        unlinkable=unlinkable,
    )


def hash_value(value: str, entity: str, keyring: Keyring, *, length: int = 10) -> str:
    """`ENTITY_<hex>`: a keyed HMAC-SHA256 of entity and value, truncated to `length` hex digits.

    Same value, entity and primary key give the same output everywhere; without the key the
    output cannot be recomputed from a guessed value (unlike a plain or salted hash in code).
    """
    if not 4 <= length <= 64:
        raise ValueError("hash length must be between 4 and 64 hex digits")
    mac = crypto_hmac.HMAC(derive_key(keyring.primary_key, "hash"), hashes.SHA256())
    mac.update(entity.encode("utf-8") + b"\0" + _encode(value))
    return f"{entity}_{mac.finalize().hex()[:length]}"


# --- helpers ----------------------------------------------------------------------------------


def _parse(token: str | Token) -> Token:
    """The token's readable fields, re-read from its text (a Token's fields could be edited)."""
    text = token.text if isinstance(token, Token) else token
    match = _TOKEN_RE.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise TokenError(
            "malformed token",
            hint="a token looks like pii1s.ENTITY.<base64url>.k<8 hex digits>; "
            "was it cut or re-wrapped?",
        )
    return _token_from_match(match)


def _token_from_match(match: re.Match[str]) -> Token:
    letter = match["mode"]
    return Token(
        start=match.start(),
        end=match.end(),
        version=int(match["version"]),
        entity=match["entity"],
        key_id=match["key_id"],
        mode=_MODE_NAMES.get(letter, letter),
        text=match[0],
    )


def _encode(value: str) -> bytes:
    # surrogatepass: values read with surrogateescape (invalid UTF-8 in a file) round-trip too.
    return value.encode("utf-8", "surrogatepass")


def _associated_data(version: int, mode: str, key_id: str, entity: str, scope: str) -> bytes:
    """Length-prefixed fields, so no two different field lists give the same bytes."""
    fields = (
        b"piiscan-token",
        str(version).encode(),
        mode.encode(),
        key_id.encode(),
        entity.encode(),
        _encode(scope),
    )
    return b"".join(len(field).to_bytes(4, "big") + field for field in fields)


def _decode_base64url(text: str) -> bytes | None:
    """Bytes of unpadded base64url, or None. Only the canonical spelling is accepted: the
    unused low bits of the last character must be zero, so no two texts open to one token."""
    if len(text) % 4 == 1:
        return None
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None
    canonical = base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")
    return data if hmac.compare_digest(canonical, text) else None
