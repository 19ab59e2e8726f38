"""Keyrings: generation, rotation, key files (mode 0600, no overwrite), load order, HKDF."""

from __future__ import annotations

import base64
import json
import os
import stat
import sys

import pytest

from piiscan.errors import KeyMaterialError, PiiscanError
from piiscan.redact.keys import (
    KEY_ENV,
    KEY_FILE_ENV,
    Keyring,
    derive_key,
    generate_keyring,
    key_id_of,
    load_keyring,
    rotate,
    write_keyring,
)

posix_only = pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")


def _spellings(key: bytes) -> list[str]:
    """Ways a key could leak into text."""
    b64 = base64.b64encode(key).decode()
    return [
        key.hex(),
        b64,
        b64.rstrip("="),
        base64.urlsafe_b64encode(key).decode().rstrip("="),
        repr(key),
    ]


def _write_private(path, text: str, mode: int = 0o600) -> str:
    path.write_text(text, encoding="utf-8")
    os.chmod(path, mode)
    return str(path)


def _assert_hides(message: str, key: bytes) -> None:
    for spelling in _spellings(key):
        assert spelling not in message


# --- keyrings --------------------------------------------------------------------------------


def test_generated_keyring_has_one_32_byte_primary_key_named_by_its_id():
    keyring = generate_keyring()
    assert list(keyring.keys) == [keyring.primary]
    assert len(keyring.primary_key) == 32
    assert len(keyring.primary) == 8 and set(keyring.primary) <= set("0123456789abcdef")
    assert keyring.primary == key_id_of(keyring.primary_key)
    assert generate_keyring().primary_key != keyring.primary_key


def test_key_id_is_a_function_of_the_key():
    key = os.urandom(32)
    assert Keyring(primary=key_id_of(key), keys={key_id_of(key): key}).primary == key_id_of(bytes(key))
    assert key_id_of(key) == derive_key(key, "key-id", 4).hex()
    assert key_id_of(key) != key_id_of(os.urandom(32))


def test_keyring_repr_and_str_never_show_key_bytes():
    keyring = rotate(generate_keyring())
    for shown in (repr(keyring), str(keyring), f"{keyring}", repr([keyring]), repr({"k": keyring})):
        for key in keyring.keys.values():
            _assert_hides(shown, key)
        assert keyring.primary in shown


def test_keyring_rejects_inconsistent_contents():
    key, other = os.urandom(32), os.urandom(32)
    with pytest.raises(ValueError):
        Keyring(primary=key_id_of(key), keys={key_id_of(other): key})  # id of another key
    with pytest.raises(ValueError):
        Keyring(primary=key_id_of(other), keys={key_id_of(key): key})  # primary missing
    with pytest.raises(ValueError):
        Keyring(primary="00000000", keys={"00000000": b"short"})


def test_keyring_keys_cannot_be_changed_after_construction():
    keyring = generate_keyring()
    with pytest.raises(TypeError):
        keyring.keys["deadbeef"] = os.urandom(32)  # type: ignore[index]


def test_rotate_makes_a_new_primary_and_keeps_the_old_keys():
    first = generate_keyring()
    second = rotate(first)
    third = rotate(second)
    assert second.primary != first.primary and second.primary_key != first.primary_key
    assert second.keys[first.primary] == first.primary_key
    assert set(third.keys) == {first.primary, second.primary, third.primary}
    assert first.keys == {first.primary: first.primary_key}  # the input is unchanged


# --- writing key files ---------------------------------------------------------------------


@posix_only
def test_written_key_file_is_mode_0600_even_with_a_permissive_umask(tmp_path):
    path = tmp_path / "piiscan.key"
    old_umask = os.umask(0)
    try:
        write_keyring(generate_keyring(), path)
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_written_key_file_loads_back_to_the_same_keyring(tmp_path):
    keyring = rotate(generate_keyring())
    path = tmp_path / "piiscan.key"
    write_keyring(keyring, path)
    document = json.loads(path.read_text(encoding="utf-8"))
    assert document["piiscan_keyring"] == 1 and document["primary"] == keyring.primary
    assert set(document["keys"]) == set(keyring.keys)
    assert load_keyring(str(path), environ={}) == keyring


def test_existing_file_is_never_overwritten_by_default(tmp_path):
    path = tmp_path / "piiscan.key"
    first = generate_keyring()
    write_keyring(first, path)
    before = path.read_bytes()
    with pytest.raises(KeyMaterialError, match="already exists"):
        write_keyring(generate_keyring(), path)
    assert path.read_bytes() == before


@posix_only
def test_a_symlink_at_the_target_is_not_followed(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me", encoding="utf-8")
    link = tmp_path / "piiscan.key"
    link.symlink_to(victim)
    with pytest.raises(KeyMaterialError):
        write_keyring(generate_keyring(), link)
    assert victim.read_text(encoding="utf-8") == "keep me"


@posix_only
def test_overwrite_replaces_atomically_with_mode_0600_and_no_temp_left(tmp_path):
    path = tmp_path / "piiscan.key"
    first = generate_keyring()
    write_keyring(first, path)
    os.chmod(path, 0o644)  # the replacement must not inherit a loose mode
    second = rotate(first)
    write_keyring(second, path, overwrite=True)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_keyring(str(path), environ={}) == second
    assert sorted(p.name for p in tmp_path.iterdir()) == ["piiscan.key"]


def test_write_into_a_missing_folder_is_a_key_error(tmp_path):
    with pytest.raises(KeyMaterialError, match="cannot create"):
        write_keyring(generate_keyring(), tmp_path / "missing" / "piiscan.key")


# --- loading: order and sources ----------------------------------------------------------------


def _three_sources(tmp_path):
    """A key file, a file named by PIISCAN_KEY_FILE and a PIISCAN_KEY value: three keyrings."""
    flag, env_file, env_key = generate_keyring(), generate_keyring(), generate_keyring()
    flag_path, env_path = tmp_path / "flag.key", tmp_path / "env.key"
    write_keyring(flag, flag_path)
    write_keyring(env_file, env_path)
    environ = {KEY_FILE_ENV: str(env_path), KEY_ENV: base64.b64encode(env_key.primary_key).decode()}
    return (flag, flag_path), (env_file, env_path), (env_key, environ)


def test_key_file_argument_wins_over_both_variables(tmp_path):
    (flag, flag_path), _, (_, environ) = _three_sources(tmp_path)
    assert load_keyring(str(flag_path), environ=environ) == flag


def test_key_file_variable_wins_over_key_variable(tmp_path):
    _, (env_file, _), (_, environ) = _three_sources(tmp_path)
    assert load_keyring(None, environ=environ) == env_file


def test_key_variable_is_used_last(tmp_path):
    _, _, (env_key, environ) = _three_sources(tmp_path)
    assert load_keyring(None, environ={KEY_ENV: environ[KEY_ENV]}) == env_key
    assert load_keyring(None, environ={KEY_FILE_ENV: "", KEY_ENV: environ[KEY_ENV]}) == env_key


def test_load_reads_the_process_environment_by_default(tmp_path, monkeypatch):
    _, (env_file, env_path), _ = _three_sources(tmp_path)
    monkeypatch.setenv(KEY_FILE_ENV, str(env_path))
    monkeypatch.delenv(KEY_ENV, raising=False)
    assert load_keyring() == env_file


def test_no_key_anywhere_says_how_to_make_one():
    with pytest.raises(KeyMaterialError) as caught:
        load_keyring(None, environ={})
    assert "piiscan keygen -o piiscan.key" in caught.value.hint
    assert KEY_FILE_ENV in caught.value.hint
    assert isinstance(caught.value, PiiscanError)


@pytest.mark.parametrize(
    "spell",
    [
        lambda k: base64.b64encode(k).decode(),
        lambda k: base64.b64encode(k).decode().rstrip("="),
        lambda k: base64.urlsafe_b64encode(k).decode().rstrip("="),
        lambda k: k.hex(),
        lambda k: k.hex().upper(),
        lambda k: "  " + base64.b64encode(k).decode() + "\n",
    ],
    ids=["base64", "base64-unpadded", "base64url", "hex", "HEX", "whitespace"],
)
def test_key_variable_accepts_one_key_in_base64_or_hex(spell):
    key = os.urandom(32)
    keyring = load_keyring(None, environ={KEY_ENV: spell(key)})
    assert keyring.primary == key_id_of(key) and keyring.primary_key == key


def test_key_variable_accepts_a_whole_keyring(tmp_path):
    keyring = rotate(generate_keyring())
    path = tmp_path / "k.json"
    write_keyring(keyring, path)
    assert load_keyring(None, environ={KEY_ENV: path.read_text(encoding="utf-8")}) == keyring


def test_a_key_file_may_hold_one_bare_key(tmp_path):
    key = os.urandom(32)
    path = _write_private(tmp_path / "bare.key", key.hex() + "\n")
    assert load_keyring(path, environ={}).primary_key == key


# --- loading: refusals -----------------------------------------------------------------------


@posix_only
@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660, 0o644, 0o610])
def test_key_file_readable_by_others_is_refused_with_a_chmod_hint(tmp_path, mode):
    path = tmp_path / "loose.key"
    write_keyring(generate_keyring(), path)
    os.chmod(path, mode)
    with pytest.raises(KeyMaterialError, match="readable by other users") as caught:
        load_keyring(str(path), environ={})
    assert f"chmod 600 {path}" in caught.value.hint


@posix_only
def test_owner_read_only_key_file_is_accepted(tmp_path):
    path = tmp_path / "ro.key"
    keyring = generate_keyring()
    write_keyring(keyring, path)
    os.chmod(path, 0o400)
    assert load_keyring(str(path), environ={}) == keyring


@posix_only
def test_loose_file_named_by_the_variable_is_refused_too(tmp_path):
    path = tmp_path / "loose.key"
    write_keyring(generate_keyring(), path)
    os.chmod(path, 0o644)
    with pytest.raises(KeyMaterialError, match=KEY_FILE_ENV):
        load_keyring(None, environ={KEY_FILE_ENV: str(path)})


def test_missing_key_file_names_the_path(tmp_path):
    missing = tmp_path / "nope.key"
    with pytest.raises(KeyMaterialError, match="does not exist") as caught:
        load_keyring(str(missing), environ={})
    assert str(missing) in caught.value.message and "keygen" in caught.value.hint


@posix_only
def test_a_fifo_or_folder_is_not_read_as_a_key_file(tmp_path):
    fifo = tmp_path / "fifo.key"
    os.mkfifo(fifo, 0o600)
    with pytest.raises(KeyMaterialError, match="not a regular file"):
        load_keyring(str(fifo), environ={})  # returns at once: opened without blocking
    folder = tmp_path / "dir.key"
    folder.mkdir(mode=0o700)
    with pytest.raises(KeyMaterialError):
        load_keyring(str(folder), environ={})


def _keyring_json_with(edit) -> tuple[str, bytes]:
    keyring = generate_keyring()
    document = {
        "piiscan_keyring": 1,
        "primary": keyring.primary,
        "keys": {keyring.primary: base64.b64encode(keyring.primary_key).decode()},
    }
    edit(document, keyring)
    return json.dumps(document), keyring.primary_key


def _swap_id(document, keyring):
    document["keys"] = {"0badc0de": document["keys"][keyring.primary]}
    document["primary"] = "0badc0de"


def _key_as_id(document, keyring):
    document["keys"] = {document["keys"][keyring.primary]: document["keys"][keyring.primary]}


MALFORMED_KEYRINGS = {
    "malformed id": lambda d, k: d.update(keys={"x": "{"}),
    "wrong format number": lambda d, k: d.update(piiscan_keyring=2),
    "primary not a key": lambda d, k: d.update(primary="ffffffff"),
    "no keys": lambda d, k: d.update(keys={}),
    "short key": lambda d, k: d["keys"].update(
        {k.primary: base64.b64encode(k.primary_key[:16]).decode()}
    ),
    "id does not match key": _swap_id,
    "key pasted as the id": _key_as_id,
}


@pytest.mark.parametrize("edit", MALFORMED_KEYRINGS.values(), ids=MALFORMED_KEYRINGS.keys())
def test_malformed_keyring_names_the_source_and_never_the_content(tmp_path, edit):
    text, key = _keyring_json_with(edit)
    path = _write_private(tmp_path / "bad.key", text)
    for source, call in (
        (path, lambda: load_keyring(path, environ={})),
        (KEY_ENV, lambda: load_keyring(None, environ={KEY_ENV: text})),
    ):
        with pytest.raises(KeyMaterialError) as caught:
            call()
        shown = caught.value.message + caught.value.hint
        assert source in shown
        _assert_hides(shown, key)


@pytest.mark.parametrize(
    "value",
    [
        "hunter2-this-is-not-a-key",
        base64.b64encode(b"sixteen byte key").decode(),  # right alphabet, wrong length
        "ab" * 31,  # 62 hex digits
        "{not json at all",
        "[1, 2, 3]",
    ],
)
def test_malformed_key_variable_names_the_variable_not_the_value(value):
    with pytest.raises(KeyMaterialError) as caught:
        load_keyring(None, environ={KEY_ENV: value})
    assert KEY_ENV in caught.value.message
    assert value.strip() not in caught.value.message + caught.value.hint


def test_key_file_with_broken_json_names_the_file_and_line(tmp_path):
    key = os.urandom(32)
    text = '{"piiscan_keyring": 1,\n "keys": {"x": "%s"' % base64.b64encode(key).decode()
    path = _write_private(tmp_path / "broken.key", text)
    with pytest.raises(KeyMaterialError, match="not valid JSON") as caught:
        load_keyring(path, environ={})
    assert path in caught.value.message
    _assert_hides(caught.value.message + caught.value.hint, key)


def test_key_file_that_is_not_text_is_refused(tmp_path):
    path = tmp_path / "binary.key"
    path.write_bytes(os.urandom(32) + b"\xff\xfe")
    os.chmod(path, 0o600)
    with pytest.raises(KeyMaterialError, match="binary.key"):
        load_keyring(str(path), environ={})


# --- key derivation --------------------------------------------------------------------------


def test_derive_key_separates_purposes_and_masters():
    master = os.urandom(32)
    purposes = ["tokens/siv", "tokens/gcm", "hash", "key-id", "fingerprints"]
    derived = [derive_key(master, p) for p in purposes]
    assert len(set(derived)) == len(purposes)
    assert all(len(k) == 32 and k != master for k in derived)
    assert derive_key(master, "hash") == derive_key(bytes(master), "hash")
    assert derive_key(os.urandom(32), "hash") != derive_key(master, "hash")
    assert len(derive_key(master, "tokens/siv", 64)) == 64


def test_derive_key_is_hkdf_sha256_with_the_piiscan_info_prefix():
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    master = os.urandom(32)
    expected = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"piiscan/v1/hash").derive(
        master
    )
    assert derive_key(master, "hash") == expected


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX modes")
def test_load_checks_the_mode_of_the_file_a_symlink_points_to(tmp_path):
    real = tmp_path / "real.key"
    write_keyring(generate_keyring(), real)
    os.chmod(real, 0o644)
    link = tmp_path / "link.key"
    link.symlink_to(real)
    with pytest.raises(KeyMaterialError, match="readable by other users"):
        load_keyring(str(link), environ={})
