"""The stored directory: replace, merge, rules by generation, and the snapshot's refresh."""

from __future__ import annotations

from pathlib import Path

import pytest

from ccmon.directory.people import DirectoryContent, Person, parse_yaml
from ccmon.directory.registry import Directory
from ccmon.directory.rules import TeamRule
from ccmon.store.facade import Store
from tests.support import in_process_server, make_config

ADA = Person("ada@example.com", "Ada", "payments", "eng", "CC-1")
BOB = Person("bob@example.com", "Bob", "platform")


def test_replace_merge_and_remove(store: Store) -> None:
    directory = Directory(store)
    assert not directory.snapshot().configured
    change = directory.replace(DirectoryContent((ADA, BOB)))
    assert (change.added, change.updated, change.removed) == (("ada@example.com", "bob@example.com"), (), ())
    moved = Person("bob@example.com", "Bob", "core")
    change = directory.merge(DirectoryContent((moved,)))
    assert (change.added, change.updated, change.removed, change.unchanged) == ((), ("bob@example.com",), (), 0)
    assert directory.people() == (ADA, moved)
    change = directory.replace(DirectoryContent((moved,)))
    assert change.removed == ("ada@example.com",) and change.unchanged == 1
    assert directory.people() == (moved,)
    assert directory.lookup("BOB@example.com") == moved
    assert directory.lookup("ada@example.com") is None


def test_rules_are_replaced_only_when_the_content_names_them(store: Store) -> None:
    directory = Directory(store)
    directory.replace(DirectoryContent((), (TeamRule("*@pay.example.com", "payments"),), has_rules=True))
    directory.replace(DirectoryContent((ADA,)))  # a CSV: the rules stay
    assert directory.snapshot().rules == (TeamRule("*@pay.example.com", "payments"),)
    assert directory.snapshot().team_by_rule("Eve@Pay.example.com") == "payments"
    directory.replace(DirectoryContent((ADA,), (), has_rules=True))  # an explicit empty set clears them
    assert directory.snapshot().rules == ()


def test_the_snapshot_is_cached_then_refreshed(store: Store) -> None:
    now = [0.0]
    reader = Directory(store, refresh_s=5, clock=lambda: now[0])
    writer = Directory(store)  # another process sharing the store
    assert reader.snapshot().people == {}
    writer.replace(DirectoryContent((ADA,)))
    assert reader.snapshot().people == {}
    now[0] = 6.0
    assert list(reader.snapshot().people) == ["ada@example.com"]


def test_the_directory_file_is_loaded_at_start_up(chdb_path: Path, database: str, tmp_path: Path) -> None:
    file = tmp_path / "people.yaml"
    file.write_text("people:\n  - {email: Ada@example.com, team: payments}\nrules: ['*@pay.example.com=payments']\n")
    assert parse_yaml(file.read_bytes()).people == (Person("ada@example.com", team="payments"),)
    config = make_config(chdb_path, database=database, directory_file=str(file))
    with in_process_server(config) as server:
        body = server.http.get(f"{server.api_url}/api/v1/directory").json()
        assert body == {
            "people": [
                {
                    "email": "ada@example.com",
                    "name": "",
                    "team": "payments",
                    "department": "",
                    "cost_center": "",
                    "manager": "",
                }
            ],
            "rules": ["*@pay.example.com=payments"],
        }


def test_a_bad_directory_file_stops_the_start(chdb_path: Path, database: str, tmp_path: Path) -> None:
    file = tmp_path / "people.csv"
    file.write_text("email,team\nada@example.com,a\nada@example.com,b\n")
    config = make_config(chdb_path, database=database, directory_file=str(file))
    with pytest.raises(RuntimeError, match="listed twice"), in_process_server(config):
        pass
