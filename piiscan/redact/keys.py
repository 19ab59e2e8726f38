"""Key material for reversible tokens and keyed hashes: keyrings, key files, key derivation.

A keyring holds 32-byte master keys by key id and names the primary one, which new tokens and
hashes use; older keys stay so that old tokens can still be restored or re-encrypted (rotation).
A key id is 8 lowercase hex characters derived from the key itself, so the same key always has
the same id and a token can name its key without revealing it.

Keys are read from, in this order: a key file given on the command line (`--key-file FILE`),
the file named by `PIISCAN_KEY_FILE`, or the value of `PIISCAN_KEY` (one base64 or hex key,
or a whole keyring). Never from a flag value, which would land in shell history. A key file
must not be readable by group or others.

Key file format (JSON, written with mode 0600)::

    {"piiscan_keyring": 1, "primary": "3fa9c1e2", "keys": {"3fa9c1e2": "<base64 of 32 bytes>"}}

Every purpose (token encryption, hashing, ...) gets its own key derived with HKDF-SHA256 from
the master key, so one use can never be turned against another.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from piiscan.errors import KeyMaterialError

KEY_SIZE = 32
KEYRING_FORMAT = 1
KEY_FILE_ENV = "PIISCAN_KEY_FILE"
KEY_ENV = "PIISCAN_KEY"
KEYGEN_HINT = (
    "create one with `piiscan keygen -o piiscan.key` and set PIISCAN_KEY_FILE=piiscan.key "
    "(or pass --key-file piiscan.key)"
)
# A key file is a few hundred bytes; anything much larger is not one (and might be /dev/zero).
_MAX_KEY_FILE_SIZE = 1 << 20
KEY_ID = re.compile(r"[0-9a-f]{8}")  # what a key id looks like (baselines name one too)
_HEX_KEY = re.compile(r"[0-9A-Fa-f]{64}")
_BASE64_KEY = re.compile(r"[A-Za-z0-9+/_-]{43}={0,2}")


def derive_key(master: bytes, purpose: str, length: int = 32) -> bytes:
    """A key for one purpose: HKDF-SHA256(master, info="piiscan/v1/" + purpose)."""
    # Imported here: a scan loads this module to look for a key, and most scans have none.
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(
        algorithm=hashes.SHA256(),
        length=length,
        salt=None,
        info=b"piiscan/v1/" + purpose.encode("utf-8"),
    ).derive(master)


def key_id_of(master: bytes) -> str:
    """The key's id: 8 hex characters derived from it (not a hash of the key that could be reused)."""
    return derive_key(master, "key-id", 4).hex()


@dataclass(frozen=True)
class Keyring:
    """Master keys by key id, and the id of the primary one. Its repr never shows a key."""

    primary: str
    keys: Mapping[str, bytes]

    def __post_init__(self) -> None:
        # Programming errors, not user input: load_keyring checks input before building one.
        for key_id, key in self.keys.items():
            if not isinstance(key, bytes) or len(key) != KEY_SIZE:
                raise ValueError(f"key {key_id} is not {KEY_SIZE} bytes")
            if key_id_of(key) != key_id:
                raise ValueError(f"key id {key_id} does not match its key")
        if self.primary not in self.keys:
            raise ValueError(f"primary key id {self.primary} is not in the keyring")
        object.__setattr__(self, "keys", MappingProxyType(dict(self.keys)))

    @property
    def primary_key(self) -> bytes:
        return self.keys[self.primary]

    def __repr__(self) -> str:
        return f"Keyring(primary={self.primary!r}, key_ids={list(self.keys)!r})"

    __str__ = __repr__


def generate_keyring() -> Keyring:
    """A keyring with one new random key."""
    # Imported here (and in rotate, write_keyring): a scan that only looks for a key skips it.
    import secrets

    key = secrets.token_bytes(KEY_SIZE)
    return Keyring(primary=key_id_of(key), keys={key_id_of(key): key})


def rotate(keyring: Keyring) -> Keyring:
    """The keyring with a new random primary key; the old keys stay for restore and rekey."""
    import secrets

    while True:
        key = secrets.token_bytes(KEY_SIZE)
        new_id = key_id_of(key)
        if new_id not in keyring.keys:  # a 32-bit id collides about once in 4 billion keys
            break
    return Keyring(primary=new_id, keys={new_id: key, **keyring.keys})


def write_keyring(keyring: Keyring, path: str | os.PathLike[str], *, overwrite: bool = False) -> None:
    """Write a key file with mode 0600. An existing file is kept unless `overwrite`, and then
    replaced atomically (a reader sees the old keyring or the new one, never half of one)."""
    target = Path(path)
    data = _keyring_json(keyring).encode("utf-8")
    if not overwrite:
        try:
            fd = os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY | _O_CLOEXEC, 0o600)
        except FileExistsError:
            raise KeyMaterialError(
                f"{target} already exists; not overwriting a key file",
                hint="choose another path; a key that is replaced cannot restore its tokens",
            ) from None
        except OSError as exc:
            raise KeyMaterialError(f"cannot create {target}: {exc.strerror}") from None
        _write_fully(fd, data, target, created=target)
        return
    import secrets

    temp = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
    try:
        fd = os.open(temp, os.O_CREAT | os.O_EXCL | os.O_WRONLY | _O_CLOEXEC, 0o600)
    except OSError as exc:
        raise KeyMaterialError(
            f"cannot create a temporary file next to {target}: {exc.strerror}"
        ) from None
    _write_fully(fd, data, target, created=temp)
    try:
        os.replace(temp, target)
    except OSError as exc:
        _unlink_quietly(temp)
        raise KeyMaterialError(f"cannot replace {target}: {exc.strerror}") from None
    _fsync_directory(target.parent)


def key_configured(key_file: str | None = None, environ: Mapping[str, str] = os.environ) -> bool:
    """Whether a key is named at all (`load_keyring` would not fail for want of one)."""
    return bool(key_file or environ.get(KEY_FILE_ENV) or environ.get(KEY_ENV))


def fingerprint_key(keyring: Keyring, prefer: str | None = None) -> tuple[str, bytes]:
    """The id of the master key that fingerprints are keyed with, and the key derived from
    it that they are HMACs under: the key `prefer` names (a baseline's) while the keyring
    holds it, else the primary one. A rotated keyring keeps its old keys, so a baseline
    made before the rotation keeps matching until it is recreated."""
    key_id = prefer if prefer in keyring.keys else keyring.primary
    return key_id, derive_key(keyring.keys[key_id], "fingerprint")


def load_keyring(key_file: str | None = None, environ: Mapping[str, str] = os.environ) -> Keyring:
    """The keyring from `key_file`, else the file in PIISCAN_KEY_FILE, else PIISCAN_KEY."""
    if key_file:
        return _load_key_file(Path(key_file).expanduser(), str(key_file))
    env_file = environ.get(KEY_FILE_ENV, "")
    if env_file:
        return _load_key_file(Path(env_file).expanduser(), f"{env_file} (from {KEY_FILE_ENV})")
    env_key = environ.get(KEY_ENV, "")
    if env_key:
        return _parse_key_material(env_key, KEY_ENV)
    raise KeyMaterialError(
        f"no key: pass --key-file, or set {KEY_FILE_ENV} or {KEY_ENV}", hint=KEYGEN_HINT
    )


# --- reading ----------------------------------------------------------------------------------


def _load_key_file(path: Path, source: str) -> Keyring:
    try:
        fd = os.open(path, os.O_RDONLY | _O_CLOEXEC | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise KeyMaterialError(f"key file {source} does not exist", hint=KEYGEN_HINT) from None
    except OSError as exc:
        raise KeyMaterialError(f"cannot open key file {source}: {exc.strerror}") from None
    try:
        # Checked on the opened file, so a swap between the check and the read cannot fool it.
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise KeyMaterialError(f"key file {source} is not a regular file")
        if os.name == "posix" and info.st_mode & 0o077:
            raise KeyMaterialError(
                f"key file {source} is readable by other users (mode {stat.S_IMODE(info.st_mode):04o})",
                hint=f"run `chmod 600 {path}`",
            )
        if info.st_size > _MAX_KEY_FILE_SIZE:
            raise KeyMaterialError(f"key file {source} is too large to be a piiscan key file")
        with os.fdopen(fd, "rb", closefd=False) as stream:
            raw = stream.read(_MAX_KEY_FILE_SIZE + 1)
    except OSError as exc:
        raise KeyMaterialError(f"cannot read key file {source}: {exc.strerror}") from None
    finally:
        os.close(fd)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise KeyMaterialError(f"key file {source} is not text") from None
    return _parse_key_material(text, f"key file {source}")


def _parse_key_material(text: str, source: str) -> Keyring:
    """A keyring (JSON) or one bare key (base64 or hex). Messages name `source`, never content."""
    stripped = text.strip()
    if stripped.startswith("{"):
        return _parse_keyring_json(stripped, source)
    key = _decode_key(stripped)
    if key is None:
        raise KeyMaterialError(
            f"{source} is neither a piiscan keyring nor a base64 or hex {KEY_SIZE}-byte key",
            hint=KEYGEN_HINT,
        )
    return Keyring(primary=key_id_of(key), keys={key_id_of(key): key})


def _parse_keyring_json(text: str, source: str) -> Keyring:
    try:
        document = json.loads(text)
    except ValueError as exc:
        line = getattr(exc, "lineno", "?")
        raise KeyMaterialError(f"{source} is not valid JSON (line {line})") from None
    if not isinstance(document, dict) or document.get("piiscan_keyring") != KEYRING_FORMAT:
        raise KeyMaterialError(f'{source} is not a piiscan keyring ("piiscan_keyring": 1 missing)')
    primary, entries = document.get("primary"), document.get("keys")
    if not isinstance(entries, dict) or not entries:
        raise KeyMaterialError(f'{source}: "keys" must be a non-empty object of key id -> key')
    keys: dict[str, bytes] = {}
    for position, (key_id, encoded) in enumerate(entries.items(), start=1):
        # Name a bad entry by position: a malformed "id" might be a key pasted in the wrong place.
        if not isinstance(key_id, str) or not KEY_ID.fullmatch(key_id):
            raise KeyMaterialError(f"{source}: key #{position} has a malformed key id")
        key = _decode_key(encoded) if isinstance(encoded, str) else None
        if key is None:
            raise KeyMaterialError(f"{source}: key {key_id} is not a base64 {KEY_SIZE}-byte key")
        if key_id_of(key) != key_id:
            raise KeyMaterialError(f"{source}: key id {key_id} does not match its key (edited file?)")
        keys[key_id] = key
    if not isinstance(primary, str) or primary not in keys:
        raise KeyMaterialError(f'{source}: "primary" does not name one of its keys')
    return Keyring(primary=primary, keys=keys)


def _decode_key(text: str) -> bytes | None:
    """32 bytes from 64 hex digits or base64 (standard or URL-safe, padding optional)."""
    if _HEX_KEY.fullmatch(text):
        return bytes.fromhex(text)
    if not _BASE64_KEY.fullmatch(text):
        return None
    standard = text.rstrip("=").replace("-", "+").replace("_", "/")
    try:
        key = base64.b64decode(standard + "=" * (-len(standard) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None
    return key if len(key) == KEY_SIZE else None


# --- writing ----------------------------------------------------------------------------------

_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


def _keyring_json(keyring: Keyring) -> str:
    document = {
        "piiscan_keyring": KEYRING_FORMAT,
        "primary": keyring.primary,
        "keys": {key_id: base64.b64encode(key).decode("ascii") for key_id, key in keyring.keys.items()},
    }
    return json.dumps(document, indent=2) + "\n"


def _write_fully(fd: int, data: bytes, target: Path, *, created: Path) -> None:
    """Write, fsync and close `fd`; on failure remove the half-written file `created`."""
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(fd, 0o600)  # a restrictive umask must not leave the owner without read
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    except OSError as exc:
        os.close(fd)
        _unlink_quietly(created)
        raise KeyMaterialError(f"cannot write {target}: {exc.strerror}") from None
    os.close(fd)


def _fsync_directory(directory: Path) -> None:
    if os.name != "posix":
        return
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems cannot fsync a directory; the rename has still happened
    finally:
        os.close(fd)


def _unlink_quietly(path: Path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
