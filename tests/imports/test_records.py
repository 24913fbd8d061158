"""Import records become stored rows: attributed with the directory and email rules, keyed by the person's
pseudonym with `hash_emails`, priced with `ccmon.pricing`, and stored once whatever the number of imports."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from ccmon.directory.people import DirectoryContent, Person
from ccmon.directory.pseudonyms import pseudonym
from ccmon.directory.registry import Directory
from ccmon.directory.rules import TeamRule
from ccmon.imports.model import ImportRecord
from ccmon.imports.records import ImportWriter, dedup_key
from ccmon.pricing.table import load_prices
from ccmon.store.facade import Store
from ccmon.store.imports import ImportedUsageTable
from tests.support import make_config

TS = datetime(2026, 11, 19, 10, 0, tzinfo=UTC)
KNOWN = "claude-sonnet-4-5"


def _record(key: str = "msg_1:req_1", **more: object) -> ImportRecord:
    fields: dict[str, object] = {
        "source": "transcripts",
        "key": key,
        "ts": TS,
        "user_email": "ada@example.com",
        "model": KNOWN,
        "input_tokens": 1000,
        "output_tokens": 200,
        "cache_read_tokens": 5000,
        "cache_creation_tokens": 300,
        "cache_creation_1h_tokens": 100,
    }
    return ImportRecord(**(fields | more))  # type: ignore[arg-type]


def test_rows_are_priced_from_tokens_with_the_price_table(store: Store) -> None:
    prices = load_prices()
    row = ImportWriter(store, prices).row(_record())
    expected = prices.cost(
        KNOWN,
        TS,
        input_tokens=1000,
        output_tokens=200,
        cache_read_tokens=5000,
        cache_creation_tokens=300,
        cache_creation_1h_tokens=100,
    )
    assert expected is not None and expected > 0
    assert row.cost_usd == pytest.approx(expected)
    assert row.priced
    assert row.provider == "anthropic"


def test_an_unknown_model_is_flagged_never_free(store: Store) -> None:
    row = ImportWriter(store, load_prices()).row(_record(model="acme-llm-9000"))
    assert (row.cost_usd, row.priced) == (0.0, False)


def test_a_cost_the_source_gives_is_kept(store: Store) -> None:
    row = ImportWriter(store, load_prices()).row(_record(source="admin-api", cost_usd=1.23, model="acme-llm-9000"))
    assert (row.cost_usd, row.priced) == (1.23, True)


def test_the_directory_and_email_rules_attribute_as_ingest_does(store: Store) -> None:
    directory = Directory(store)
    directory.replace(DirectoryContent((Person("ada@example.com", "Ada", "payments", "eng", "CC-1"),)))
    writer = ImportWriter(
        store, load_prices(), directory=directory, team_rules=(TeamRule("*@data.example.com", "data"),)
    )
    ada = writer.row(_record(team="sent-by-source"))
    assert (ada.person, ada.team, ada.department, ada.cost_center) == ("ada@example.com", "payments", "eng", "CC-1")
    eve = writer.row(_record(user_email="eve@data.example.com"))
    assert (eve.team, eve.department) == ("data", "")
    nobody = writer.row(_record(user_email="", person="api-key:ci"))
    assert (nobody.person, nobody.user_email, nobody.team) == ("api-key:ci", "", "")


def test_with_hash_emails_the_person_is_the_pseudonym(store: Store) -> None:
    secret = b"s" * 32
    writer = ImportWriter(store, load_prices(), person_key=lambda email: pseudonym(secret, email))
    row = writer.row(_record())
    assert row.person == row.user_email == pseudonym(secret, "ada@example.com")
    assert "ada" not in row.person


def test_the_writer_from_a_config_takes_its_rules_and_pseudonyms(store: Store, tmp_path: Path) -> None:
    rules = (TeamRule("*@example.com", "everyone"),)
    config = make_config(tmp_path, hash_emails=True, hash_secret="s" * 32, team_from_email=rules)
    row = ImportWriter.from_config(config, store, None, load_prices()).row(_record())
    assert (row.person, row.team) == (pseudonym(b"s" * 32, "ada@example.com"), "everyone")
    plain = ImportWriter.from_config(make_config(tmp_path), store, None, load_prices()).row(_record())
    assert (plain.person, plain.team) == ("ada@example.com", "")


def test_a_second_import_adds_nothing(store: Store) -> None:
    writer = ImportWriter(store, load_prices())
    records = [_record("a:1"), _record("b:2"), _record("a:1"), _record(model="acme-llm-9000", key="c:3")]
    first = writer.write(records)
    assert (first.imported, first.duplicates, first.unpriced) == (3, 1, 1)
    again = writer.write(records)
    assert (again.imported, again.duplicates) == (0, 4)
    assert ImportedUsageTable(store).count("transcripts") == 3


def test_keys_depend_on_the_source() -> None:
    assert dedup_key("transcripts", "x") != dedup_key("admin-api", "x")
    assert dedup_key("transcripts", "x") == dedup_key("transcripts", "x")
    assert 0 <= dedup_key("transcripts", "x") < 2**64


def test_records_refuse_impossible_values() -> None:
    with pytest.raises(ValueError, match="source"):
        _record(source="elsewhere")
    with pytest.raises(ValueError, match="key"):
        _record(key="")
    with pytest.raises(ValueError, match="key"):
        _record(key="k" * 10_000)
    with pytest.raises(ValueError, match="time zone"):
        _record(ts=datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="future"):
        _record(ts=datetime(2999, 1, 1, tzinfo=UTC))
    with pytest.raises(ValueError, match="before 2000"):
        _record(ts=datetime(1970, 1, 1, tzinfo=UTC))
