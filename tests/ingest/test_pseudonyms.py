"""Keyed pseudonyms: no key, no start; stable per key; derived attributes, never the number."""

import os
import stat

import pytest

from orchestration.contract import cpr
from orchestration.ingest.load import ingest_delivery
from orchestration.ingest.pseudonyms import (
    MissingPseudonymKey,
    create_demo_key,
    load_key,
    pseudonymise,
)
from orchestration.settings import Settings
from tests.ingest.conftest import KEY, drop, query


def test_without_a_key_the_message_says_what_to_set():
    with pytest.raises(MissingPseudonymKey, match="EFFEKT_PSEUDONYM_KEY"):
        load_key(Settings.from_env({}))


def test_a_short_or_unreadable_key_is_refused(tmp_path):
    with pytest.raises(MissingPseudonymKey, match="shorter"):
        load_key(Settings.from_env({"EFFEKT_PSEUDONYM_KEY": "short"}))
    with pytest.raises(MissingPseudonymKey, match="cannot be read"):
        load_key(Settings.from_env({"EFFEKT_PSEUDONYM_KEY_FILE": str(tmp_path / "absent")}))


def test_key_from_environment_or_file_gives_the_same_pseudonyms(tmp_path):
    secret = "a-secret-of-enough-length-for-hmac"
    (tmp_path / "key").write_text(secret + "\n")
    from_env = load_key(Settings.from_env({"EFFEKT_PSEUDONYM_KEY": secret}))
    from_file = load_key(Settings.from_env({"EFFEKT_PSEUDONYM_KEY_FILE": str(tmp_path / "key")}))
    assert from_env == from_file
    assert pseudonymise(from_env, ["010203-1234"]) == pseudonymise(from_file, ["0102031234"])


def test_pseudonyms_are_stable_per_key_and_differ_between_keys():
    a = pseudonymise(KEY, ["010203-1234", "020304-5678"])
    assert a == pseudonymise(KEY, ["010203-1234", "020304-5678"])
    assert a != pseudonymise(KEY + b"x", ["010203-1234", "020304-5678"])
    assert len(set(a)) == 2 and all(len(p) == 64 and "0102031234" not in p for p in a)


def test_the_demo_key_is_readable_by_its_owner_only_and_never_replaced(tmp_path):
    path = tmp_path / "secrets" / "pseudonym.key"
    assert create_demo_key(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    first = path.read_bytes()
    assert not create_demo_key(path)
    assert path.read_bytes() == first
    assert len(load_key(Settings.from_env({"EFFEKT_PSEUDONYM_KEY_FILE": str(path)}))) >= 32


def test_derived_attributes_travel_with_the_pseudonym(settings, generated):
    ingest_delivery(settings, drop(settings, generated().path), KEY)
    rows = query(
        settings,
        "select cpr, citizen_key, birth_year, sex, is_replacement_number from raw.citizen_pseudonyms",
    )
    assert len(rows) == 300
    for number, key, birth_year, sex, replacement in rows:
        born, expected_sex, expected_replacement = cpr.parse(number)
        assert (birth_year, sex, replacement) == (born.year, expected_sex, expected_replacement)
        assert key == pseudonymise(KEY, [number])[0]
