"""Silences: validation, matching (=, !=, =~, !~ on the whole value), activity in time, the table."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from ccmon.alerts.model import Instance, Matcher, Severity, State
from ccmon.alerts.silences import Silences, dump_silence, matches, matching_labels, parse_silence
from ccmon.store.facade import Store

NOW = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC)


def silence_data(*matchers: tuple[str, str, str], **changes: Any) -> dict[str, Any]:
    return {
        "matchers": [{"label": label, "op": op, "value": value} for label, op, value in matchers],
        "ends_at": "2025-03-01T14:00:00Z",
        "comment": "maintenance",
        **changes,
    }


def test_parse_fills_the_defaults_and_round_trips() -> None:
    silence = parse_silence(silence_data(("team", "=", "platform")), now=NOW, created_by="admin@example.com")
    assert silence.starts_at == NOW and silence.ends_at == NOW + dt.timedelta(hours=2)
    assert silence.matchers == (Matcher("team", "=", "platform"),)
    assert silence.created_by == "admin@example.com" and len(silence.id) == 16
    dumped = dump_silence(silence)
    assert dumped["starts_at"] == "2025-03-01T12:00:00Z" and dumped["ends_at"] == "2025-03-01T14:00:00Z"
    # The caller says who made it, whatever the body claims.
    again = parse_silence({**dumped, "created_by": "mallory"}, now=NOW, created_by="admin@example.com")
    assert again == silence


def test_times_are_utc_as_everywhere_in_the_api() -> None:
    """`Z` or `+00:00` (as `timerange.parse_instant` reads every API time); another offset is refused, not guessed."""
    silence = parse_silence(
        silence_data(("team", "=", "a"), starts_at="2025-03-01T12:00:00+00:00", ends_at="2025-03-01T23:00:00.5z"),
        now=NOW,
        created_by="",
    )
    assert silence.starts_at == NOW and silence.ends_at == dt.datetime(2025, 3, 1, 23, 0, 0, 500000, tzinfo=dt.UTC)
    with pytest.raises(ValueError, match=r"^starts_at: '2025-03-01T13:00:00\+01:00' is not in UTC"):
        parse_silence(silence_data(("team", "=", "a"), starts_at="2025-03-01T13:00:00+01:00"), now=NOW, created_by="")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (silence_data(), "^matchers: expected a non-empty list"),
        ({"matchers": [{"label": "team", "op": "=", "value": "a"}]}, "^ends_at: required"),
        (silence_data(("team", "=", "a"), ends_at="tomorrow"), "^ends_at: 'tomorrow' is not an RFC 3339 timestamp"),
        (silence_data(("team", "=", "a"), ends_at="2025-03-01T14:00:00"), "^ends_at: .* has no UTC offset"),
        (silence_data(("team", "=", "a"), ends_at=1740837600), "^ends_at: expected an RFC 3339 timestamp in UTC"),
        (silence_data(("team", "=", "a"), ends_at="2025-03-01T11:00:00Z"), "^ends_at: must be after starts_at"),
        (
            silence_data(("team", "=", "a"), starts_at="2025-02-01T00:00:00Z", ends_at="2025-03-01T11:00:00Z"),
            "^ends_at: must be in the future",
        ),
        (silence_data(("team", "=", "a"), ends_at="2026-03-03T00:00:00Z"), "^ends_at: a silence lasts at most a year"),
        (silence_data(("team", "==", "a")), r"^matchers\[0\]\.op: expected one of =, !=, =~, !~"),
        (silence_data(("team", "=", "a"), ("bad-label", "=", "a")), r"^matchers\[1\]\.label: expected a label"),
        (silence_data(("team", "=~", "(unclosed")), r"^matchers\[0\]\.value: invalid regular expression"),
        (silence_data(("team", "=~", "a" * 201)), r"^matchers\[0\]\.value: a regular expression has at most 200"),
        (silence_data(("team", "=~", ".*")), "^matchers: at least one must not match an empty label"),
        (silence_data(("team", "!=", "a")), "^matchers: at least one must not match an empty label"),
        (silence_data(*[("team", "=", str(i)) for i in range(21)]), "^matchers: at most 20"),
        ({**silence_data(("team", "=", "a")), "matchers": [{"label": "team", "value": "a", "x": 1}]}, "matchers"),
        (silence_data(("team", "=", "a"), comment=3), "^comment: expected a string"),
        (silence_data(("team", "=", "a"), id="Not A Slug"), "^id: expected a slug"),
        (silence_data(("team", "=", "a"), reason="x"), "^unknown field reason$"),
    ],
)
def test_invalid_silences_name_the_field(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_silence(data, now=NOW, created_by="admin")


def test_matchers_match_whole_values_and_missing_labels_as_empty() -> None:
    silence = parse_silence(
        silence_data(("team", "=~", "plat.*"), ("model", "!~", "claude-haiku.*"), ("env", "!=", "prod")),
        now=NOW,
        created_by="",
    )
    assert matches(silence, {"team": "platform", "model": "claude-opus-4-5"})
    assert not matches(silence, {"team": "the-platform", "model": "claude-opus-4-5"})  # full match, not search
    assert not matches(silence, {"team": "platform", "model": "claude-haiku-4-5"})
    assert not matches(silence, {"team": "platform", "env": "prod"})
    assert not matches(silence, {})  # no team: "" does not match plat.*
    equal = parse_silence(silence_data(("team", "=", "a"), ("person", "!=", "")), now=NOW, created_by="")
    assert matches(equal, {"team": "a", "person": "p"}) and not matches(equal, {"team": "a"})


def test_matching_labels_add_the_rule_and_severity() -> None:
    instance = Instance(
        "cost-daily", "f", {"team": "a"}, State.FIRING, 1.0, "", NOW, NOW, None, NOW, NOW, Severity.CRITICAL
    )
    assert matching_labels(instance) == {"rule": "cost-daily", "severity": "critical", "team": "a"}


def test_table_active_silenced_expire_delete(store: Store) -> None:
    silences = Silences(store)
    later = parse_silence(
        silence_data(("rule", "=", "cost-daily"), starts_at="2025-03-01T13:00:00Z", id="later"),
        now=NOW,
        created_by="admin",
    )
    team = parse_silence(silence_data(("team", "=", "platform"), id="team"), now=NOW, created_by="admin")
    silences.put(later, "admin")
    silences.put(team, "admin")
    assert {silence.id for silence in silences.items()} == {"later", "team"}
    assert silences.get("team") == team
    assert [silence.id for silence in silences.active(NOW)] == ["team"]
    assert silences.silenced({"team": "platform"}, NOW)
    assert not silences.silenced({"team": "data"}, NOW)
    assert not silences.silenced({"rule": "cost-daily"}, NOW)
    assert silences.silenced({"rule": "cost-daily"}, NOW + dt.timedelta(hours=1))
    assert not silences.silenced({"team": "platform"}, NOW + dt.timedelta(hours=2))  # ends_at is exclusive
    # Expiring ends it now and keeps it listed; deleting removes it.
    assert silences.expire("team", NOW + dt.timedelta(minutes=30), "admin") is True
    expired = silences.get("team")
    assert expired is not None and expired.ends_at == NOW + dt.timedelta(minutes=30)
    assert not silences.silenced({"team": "platform"}, NOW + dt.timedelta(minutes=31))
    assert silences.silenced({"team": "platform"}, NOW + dt.timedelta(minutes=29))
    assert silences.expire("nope", NOW) is False
    assert silences.delete("later", "admin") is True
    assert silences.delete("later", "admin") is False
    assert [silence.id for silence in silences.items()] == ["team"]
    assert silences.invalid() == []
