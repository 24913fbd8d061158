"""The alerts file: a valid file gives its rules, channels, budgets and policies; every kind of mistake is refused
with the file, the line and the field."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from ccmon.alerts.config_file import MAX_BYTES, AlertsFileError, load_alerts_file, parse_alerts_text
from ccmon.alerts.defaults import DEFAULT_RULES
from ccmon.alerts.model import Op, Period, Unit

VALID = """\
channels:
  ops:
    kind: webhook
    url: http://127.0.0.1:9/hook
    secret: s3cret
  team-slack: {kind: slack, url: "https://hooks.slack.example/T/B/x"}
rules:
  - id: big-spender
    name: Big spender
    signal: cost
    op: ">"
    threshold: 100
    group_by: [person]
    channels: [ops]
  - id: errors
    name: Errors
    signal: api_error_rate
    op: ">="
    threshold: 0.2
budgets:
  - {id: org, name: Organisation, scope: organization, period: monthly, unit: usd, amount: 10000}
policies:
  - {id: no-opus, name: No Opus, scope: team, scope_value: interns, deny: ["claude-opus-*"]}
defaults:
  high-daily-cost: {threshold: 500}
  low-adoption: {enabled: false}
"""


def _write(tmp_path: Path, text: str, name: str = "alerts.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def _error(text: str) -> str:
    with pytest.raises(AlertsFileError) as caught:
        parse_alerts_text(textwrap.dedent(text), "alerts.yaml")
    return str(caught.value)


def test_a_valid_file_gives_everything_it_defines(tmp_path: Path) -> None:
    loaded = load_alerts_file(_write(tmp_path, VALID))
    rules = {rule.id: rule for rule in loaded.rules}
    assert set(rules) == {"big-spender", "errors", "high-daily-cost", "low-adoption"}
    assert all(rule.source == "file" for rule in loaded.rules)
    assert rules["big-spender"].op is Op.GT and rules["big-spender"].threshold == 100
    assert rules["big-spender"].channels == ("ops",) and rules["big-spender"].group_by == ("person",)
    shipped = {rule.id: rule for rule in DEFAULT_RULES}
    assert rules["high-daily-cost"].threshold == 500
    assert rules["high-daily-cost"].signal == shipped["high-daily-cost"].signal  # the rest is the shipped rule's
    assert rules["low-adoption"].enabled is False and shipped["low-adoption"].enabled is True
    assert sorted(loaded.channels) == ["ops", "team-slack"]
    assert loaded.channels["ops"].kind == "webhook"
    (budget,) = loaded.budgets
    assert (budget.id, budget.period, budget.unit, budget.amount, budget.source) == (
        "org",
        Period.MONTHLY,
        Unit.USD,
        10000,
        "file",
    )
    (policy,) = loaded.policies
    assert (policy.id, policy.scope_value, policy.deny, policy.source) == (
        "no-opus",
        "interns",
        ("claude-opus-*",),
        "file",
    )
    assert loaded.summary() == "4 rules, 2 channels, 1 budgets, 1 policies"


def test_an_empty_file_defines_nothing(tmp_path: Path) -> None:
    loaded = load_alerts_file(_write(tmp_path, ""))
    assert (loaded.rules, dict(loaded.channels), loaded.budgets, loaded.policies) == ((), {}, (), ())
    assert load_alerts_file(_write(tmp_path, "rules:\nchannels:\n")).rules == ()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("rules: [\n  {id: a\n", "alerts.yaml:3: invalid YAML"),
        ("rules:\n  - id: a\n    name: A\n   bad: indentation\n", "alerts.yaml:4: invalid YAML"),
        ("- just\n- a list\n", "alerts.yaml:1: expected a mapping, got a list"),
        ("42\n", "alerts.yaml:1: expected a mapping, got int '42'"),
        ("rules: []\n---\nrules: []\n", "alerts.yaml:2: invalid YAML"),
    ],
)
def test_malformed_yaml_and_wrong_roots_name_the_line(text: str, expected: str) -> None:
    assert _error(text).startswith(expected)


RULE = "  - {id: r1, name: R1, signal: cost, op: '>', threshold: 1}\n"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "rules:\n  - id: r1\n    name: R1\n    signal: cost\n    op: '>'\n    threshold: lots\n",
            "alerts.yaml:6: rules[0].threshold: expected a number",
        ),
        (
            "rules:\n" + RULE + "  - id: r2\n    name: R2\n    signal: cost\n    op: '>'\n    threshold: 1\n"
            "    colour: red\n",
            "alerts.yaml:8: rules[1].colour: unknown field colour",
        ),
        (
            "rules:\n  - id: r1\n    name: R1\n    signal: cost\n    op: '=='\n    threshold: 1\n",
            "alerts.yaml:5: rules[0].op:",
        ),
        (
            "rules:\n  - id: r1\n    name: R1\n    signal: weather\n    op: '>'\n    threshold: 1\n",
            "alerts.yaml:4: rules[0].signal: unknown signal 'weather'",
        ),
        (
            "rules:\n  - id: r1\n    name: R1\n    signal: cost\n    op: '>'\n    threshold: 1\n"
            "    group_by: [session_id]\n",
            "alerts.yaml:7: rules[0].group_by: signal cost cannot be split by session_id",
        ),
        ("rules:\n  - {name: R1, signal: cost, op: '>', threshold: 1}\n", "alerts.yaml:2: rules[0].id: required"),
        ("rules: {id: r1}\n", "alerts.yaml:1: rules: expected a list, got a mapping"),
        ("rules:\n  - just text\n", "alerts.yaml:2: rules[0]: expected a mapping"),
        ("rules:\n" + RULE + RULE, "alerts.yaml:3: rules[1].id: 'r1' is given twice"),
        (
            "rules:\n  - {id: high-daily-cost, name: X, signal: cost, op: '>', threshold: 1}\n",
            "alerts.yaml:2: rules[0].id: 'high-daily-cost' is a default rule: change it under defaults:",
        ),
        (
            "channels:\n  ops: {kind: slack, url: 'https://hooks.example/x'}\nrules:\n"
            "  - id: r1\n    name: R1\n    signal: cost\n    op: '>'\n    threshold: 1\n    channels: [ops, pager]\n",
            "alerts.yaml:9: rules[0].channels[1]: unknown channel 'pager' (ops)",
        ),
        ("rules:\n" + RULE + "colours: [red]\n", "alerts.yaml:3: colours: unknown section"),
        ("rules:\n" + RULE + "rules: []\n", "alerts.yaml:3: rules: given twice"),
        (
            "channels:\n  ops:\n    kind: slack\n    url: ftp://example.com/x\n",
            "alerts.yaml:4: channels.ops.url: expected an http",
        ),
        ("channels:\n  ops: {kind: carrier-pigeon}\n", "alerts.yaml:2: channels.ops.kind: expected one of"),
        ("channels: [ops]\n", "alerts.yaml:1: channels: expected a mapping, got a list"),
        (
            "budgets:\n  - id: b1\n    scope: organization\n    period: fortnightly\n    amount: 10\n",
            "alerts.yaml:4: budgets[0].period:",
        ),
        (
            "budgets:\n  - {id: b1, scope: organization, period: daily, amount: 10}\n"
            "  - {id: b1, scope: organization, period: weekly, amount: 10}\n",
            "alerts.yaml:3: budgets[1].id: 'b1' is given twice",
        ),
        (
            "policies:\n  - id: p1\n    scope: team\n    scope_value: x\n",
            "alerts.yaml:2: policies[0]: give at least one",
        ),
        ("defaults:\n  no-such-rule: {enabled: false}\n", "alerts.yaml:2: defaults.no-such-rule: not a default rule"),
        ("defaults:\n  low-adoption:\n    enabled: maybe\n", "alerts.yaml:3: defaults.low-adoption.enabled:"),
        ("defaults:\n  low-adoption:\n    id: other\n", "alerts.yaml:3: defaults.low-adoption.id: cannot be changed"),
        ("rules:\n  - {1: x}\n", "alerts.yaml:2: rules[0]: keys must be text"),
    ],
)
def test_every_mistake_names_the_line_and_the_field(text: str, expected: str) -> None:
    assert _error(text).startswith(expected), _error(text)


def test_an_alias_bomb_is_refused_not_expanded() -> None:
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    levels += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    text = "rules:\n  - id: bomb\n    name: Bomb\n    signal: cost\n    op: '>'\n    threshold: 1\n    labels:\n"
    text += "".join(f"      {level}\n" for level in levels)
    message = _error(text)
    assert message.startswith("alerts.yaml:") and "more than 100000 YAML nodes" in message


def test_a_huge_file_is_refused_before_it_is_parsed(tmp_path: Path) -> None:
    path = tmp_path / "alerts.yaml"
    path.write_text("# padding\n" * (MAX_BYTES // 10 + 1))
    with pytest.raises(AlertsFileError, match=rf"alerts.yaml: larger than the limit of {MAX_BYTES} bytes"):
        load_alerts_file(path)


def test_a_missing_or_binary_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(AlertsFileError, match=r"nowhere.yaml: No such file"):
        load_alerts_file(tmp_path / "nowhere.yaml")
    (tmp_path / "binary.yaml").write_bytes(b"rules: \xff\xfe\n")
    with pytest.raises(AlertsFileError, match=r"binary.yaml: not UTF-8"):
        load_alerts_file(tmp_path / "binary.yaml")


def test_secrets_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    text = "channels:\n  ops:\n    kind: slack\n    url: ${CCMON_TEST_SLACK_URL}\n"
    assert "CCMON_TEST_SLACK_URL is not set" in _error(text)
    monkeypatch.setenv("CCMON_TEST_SLACK_URL", "https://hooks.slack.example/T/B/secret")
    loaded = parse_alerts_text(text)
    assert loaded.channels["ops"].settings["url"] == "https://hooks.slack.example/T/B/secret"
