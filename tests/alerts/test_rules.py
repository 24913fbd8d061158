"""Alert rules: strict validation naming the field, the JSON round trip, the safe summary, the table."""

from __future__ import annotations

from typing import Any

import pytest

from ccmon.alerts.model import NoData, Op, Rule, Sample, Severity
from ccmon.alerts.rules import Rules, dump_rule, fingerprint, format_duration, parse_rule, render_summary
from ccmon.store.facade import Store

MINIMAL: dict[str, Any] = {"id": "cost-daily", "name": "Daily cost", "signal": "cost", "op": ">", "threshold": 100}

FULL: dict[str, Any] = {
    "id": "team_cost-1",
    "name": "Team cost",
    "signal": "cost",
    "op": ">=",
    "threshold": 250.5,
    "window": "1d",
    "for": "15m",
    "interval": "90s",
    "repeat_interval": "2h",
    "severity": "critical",
    "group_by": ["team"],
    "filters": {"model": ["claude-opus-4-5"], "team": []},
    "params": {"baseline_days": 7, "budget": "eng"},
    "labels": {"routing": "finance"},
    "summary": "{team} spent ${value:,.2f} (limit {threshold:.0f}) in {rule}",
    "channels": ["slack", "pager"],
    "no_data": "nodata",
    "notify_resolved": False,
    "enabled": False,
}


def with_(**changes: Any) -> dict[str, Any]:
    return {**MINIMAL, **changes}


def test_minimal_rule_takes_the_defaults() -> None:
    rule = parse_rule(MINIMAL)
    assert rule == Rule(id="cost-daily", name="Daily cost", signal="cost", op=Op.GT, threshold=100.0, source="api")
    assert parse_rule(MINIMAL, "file").source == "file"


def test_full_rule_parses_durations_and_round_trips() -> None:
    rule = parse_rule(FULL, "default")
    assert (rule.window_s, rule.for_s, rule.interval_s, rule.repeat_interval_s) == (86_400, 900, 90, 7200)
    assert rule.severity is Severity.CRITICAL and rule.no_data is NoData.NODATA
    assert rule.filters == {"model": ("claude-opus-4-5",), "team": ()}
    assert rule.params == {"baseline_days": 7.0, "budget": "eng"}
    assert rule.group_by == ("team",) and rule.channels == ("slack", "pager")
    dumped = dump_rule(rule)
    assert dumped["window"] == 86_400 and dumped["for"] == 900 and dumped["interval"] == 90
    assert "source" not in dumped
    assert parse_rule(dumped, "default") == rule
    assert parse_rule(dump_rule(parse_rule(MINIMAL))) == parse_rule(MINIMAL)


def test_durations_accept_seconds_and_compound_strings() -> None:
    assert parse_rule(with_(window=7200)).window_s == 7200
    assert parse_rule(with_(window="1h30m")).window_s == 5400
    assert parse_rule(with_(window="1w")).window_s == 604_800
    assert parse_rule(with_(**{"for": 0})).for_s == 0
    assert parse_rule(with_(interval=60.0)).interval_s == 60


def test_durations_are_written_back_in_the_largest_whole_unit() -> None:
    assert [format_duration(s) for s in (0, 45, 90, 900, 5400, 7200, 86_400, 604_800)] == [
        "0s", "45s", "90s", "15m", "90m", "2h", "1d", "7d",
    ]  # fmt: skip
    with pytest.raises(ValueError, match=r"^window: must be between 1m and 400d$"):
        parse_rule(with_(window=30))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"id": "Cost"}, "^id: expected a slug"),
        ({"id": "-x"}, "^id: "),
        ({"id": "x" * 65}, "^id: "),
        ({"id": None}, "^id: required"),
        ({"name": ""}, "^name: must not be empty"),
        ({"name": "a\x07b"}, "^name: control characters"),
        ({"name": "n" * 201}, "^name: at most 200"),
        ({"signal": ""}, "^signal: "),
        ({"op": "=="}, "^op: '==' is not one of >, >=, <, <="),
        ({"threshold": "100"}, "^threshold: expected a number"),
        ({"threshold": float("nan")}, "^threshold: expected a number"),
        ({"threshold": float("inf")}, "^threshold: expected a number"),
        ({"threshold": True}, "^threshold: expected a number"),
        ({"window": "5x"}, "^window: expected seconds or a duration"),
        ({"window": "h"}, "^window: expected seconds"),
        ({"window": "401d"}, "^window: must be between 1m and 400d"),
        ({"window": 1.5}, "^window: expected seconds"),
        ({"interval": "5s"}, "^interval: must be between 10s and 1d"),
        ({"for": -1}, "^for: must be between"),
        ({"repeat_interval": True}, "^repeat_interval: expected seconds"),
        ({"severity": "fatal"}, "^severity: 'fatal' is not one of critical, error, warning, info"),
        ({"group_by": "team"}, "^group_by: expected a list of strings"),
        ({"group_by": ["team", "team"]}, "^group_by: duplicate"),
        ({"group_by": ["team-name"]}, "^group_by: 'team-name' is not a label name"),
        ({"filters": {"colour": ["red"]}}, "^filters: unknown dimension 'colour'"),
        ({"filters": {"team": "platform"}}, r"^filters\.team: expected a list of strings"),
        ({"filters": ["team"]}, "^filters: expected an object"),
        ({"params": {"days": [1]}}, r"^params\.days: expected a number"),
        ({"labels": {"1bad": "x"}}, "^labels: '1bad' is not a label name"),
        ({"labels": {"team": 3}}, r"^labels\.team: expected a string"),
        ({"summary": "x" * 1001}, "^summary: at most 1000"),
        ({"summary": "{value"}, "^summary: not a valid template"),
        ({"summary": "{value.__class__}"}, r"^summary: \{value.__class__\} is not a name"),
        ({"summary": "{labels[0]}"}, "^summary: .* is not a name"),
        ({"summary": "{}"}, "^summary: .* is not a name"),
        ({"summary": "{value:{threshold}}"}, "^summary: .* nested field"),
        ({"channels": [""]}, "^channels: names must be non-empty"),
        ({"no_data": "maybe"}, "^no_data: 'maybe' is not one of ok, nodata, alerting"),
        ({"notify_resolved": "yes"}, "^notify_resolved: expected true or false"),
        ({"enabled": 1}, "^enabled: expected true or false"),
        ({"colour": "red"}, "^unknown field colour$"),
    ],
)
def test_invalid_rules_name_the_field(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_rule(with_(**changes))


def test_missing_fields_and_non_objects_are_refused() -> None:
    for key in ("id", "name", "signal", "op", "threshold"):
        data = dict(MINIMAL)
        del data[key]
        with pytest.raises(ValueError, match=f"^{key}: required"):
            parse_rule(data)
    with pytest.raises(ValueError, match="rule: expected an object"):
        parse_rule([])  # type: ignore[arg-type]


def test_signal_must_be_known_when_signals_are_given() -> None:
    assert parse_rule(MINIMAL, signals={"cost", "tokens"}).signal == "cost"
    with pytest.raises(ValueError, match=r"^signal: unknown signal 'cost'; signals are errors, tokens$"):
        parse_rule(MINIMAL, signals=("tokens", "errors"))


def test_a_source_key_is_accepted_but_the_argument_decides() -> None:
    assert parse_rule(with_(source="default"), "api").source == "api"


def rule_with(summary: str, **changes: Any) -> Rule:
    return parse_rule(with_(summary=summary, labels={"routing": "finance"}, **changes))


def test_summary_template_renders_names_labels_and_format_specs() -> None:
    rule = rule_with("{rule}: {team} at ${value:,.2f} over {threshold:.0f} ({routing})")
    text = render_summary(rule, Sample({"team": "platform"}, 1234.567))
    assert text == "Daily cost: platform at $1,234.57 over 100 (finance)"


def test_summary_template_is_safe() -> None:
    sample = Sample({"team": "platform"}, 12.5)
    # Stored rules could predate a validation rule: rendering itself must stay safe whatever the template.
    unsafe = Rule(id="x", name="X", signal="cost", op=Op.GT, threshold=1, summary="{value.__class__}|{value.real}")
    assert render_summary(unsafe, sample) == "|"
    indexed = Rule(id="x", name="X", signal="cost", op=Op.GT, threshold=1, summary="{team[0]}{0}{1}!")
    assert render_summary(indexed, sample) == "!"
    automatic = Rule(id="x", name="X", signal="cost", op=Op.GT, threshold=1, summary="{}{}!")
    assert render_summary(automatic, sample) == "!"
    assert render_summary(rule_with("[{missing}]"), sample) == "[]"
    assert render_summary(rule_with("{value:%Y}|{team:.2f}"), sample) == "12.5|platform"
    assert render_summary(rule_with("{value:>100000000}"), sample) == "12.5"
    broken = Rule(id="x", name="X", signal="cost", op=Op.GT, threshold=1, summary="{value")
    assert render_summary(broken, sample) == "{value"


def test_default_summary_names_the_rule_value_and_labels() -> None:
    rule = parse_rule(with_(labels={"routing": "finance"}))
    assert render_summary(rule, Sample({"team": "platform"}, 123.456)) == (
        "Daily cost: 123.46 > 100 (routing=finance, team=platform)"
    )
    assert render_summary(parse_rule(MINIMAL), Sample({}, 0.0421)) == "Daily cost: 0.0421 > 100"


def test_fingerprint_is_stable_and_distinguishes_label_sets() -> None:
    one = fingerprint("cost", {"team": "a", "model": "b"})
    assert one == fingerprint("cost", {"model": "b", "team": "a"})
    assert len(one) == 16 and int(one, 16) >= 0
    assert one != fingerprint("cost2", {"team": "a", "model": "b"})
    assert fingerprint("r", {"a": "b=c"}) != fingerprint("r", {"a=b": "c"})
    assert fingerprint("r", {}) != fingerprint("r", {"": ""})


def test_rules_table_keeps_source_and_seeds_defaults_once(store: Store) -> None:
    rules = Rules(store)
    defaults = [parse_rule(MINIMAL, "default"), parse_rule(FULL, "default"), parse_rule(with_(id="third"), "default")]
    assert [rule.id for rule in rules.seed_defaults(defaults)] == ["cost-daily", "team_cost-1", "third"]
    assert {rule.id: rule.source for rule in rules.items()} == {
        "cost-daily": "default",
        "team_cost-1": "default",
        "third": "default",
    }
    assert rules.get("team_cost-1") == parse_rule(FULL, "default")
    # A user edits one default and deletes another: seeding again changes neither.
    rules.put(parse_rule(with_(threshold=500), "api"), "admin@example.com")
    assert rules.delete("third", "admin@example.com") is True
    assert rules.seed_defaults(defaults) == []
    edited = rules.get("cost-daily")
    assert edited is not None and edited.threshold == 500 and edited.source == "api"
    assert rules.get("third") is None
    # A new default shipped later is seeded.
    assert [rule.id for rule in rules.seed_defaults([*defaults, parse_rule(with_(id="fourth"), "default")])] == [
        "fourth"
    ]
    assert rules.invalid() == []
