"""`prometheus_rules`: a rule file Prometheus accepts (checked with Prometheus's `promtool`)."""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
from pathlib import Path

import yaml

from ccmon.alerts.defaults import DEFAULT_RULES
from ccmon.alerts.model import Op, Rule
from ccmon.alerts.prometheus import alert_name, prometheus_rules, prometheus_template

CUSTOM = Rule(
    id="team_spend-web",
    name="Web team spend",
    signal="cost",
    op=Op.GE,
    threshold=12.5,
    window_s=3600,
    group_by=("person", "model"),
    filters={"team": ("web",)},
    labels={"route": "web-oncall"},
    summary="{person} spent ${value:,.2f} on {model} ({rule}; limit {threshold:.1f}, {{literal}})",
)


def test_the_default_rules_as_a_prometheus_rule_file(tmp_path: Path) -> None:
    text = prometheus_rules([*DEFAULT_RULES, CUSTOM, dataclasses.replace(CUSTOM, id="off", enabled=False)])
    document = yaml.safe_load(text)
    (group,) = document["groups"]
    rules = {rule["alert"]: rule for rule in group["rules"]}
    assert group["name"] == "ccmon"
    assert set(rules) == {
        "HighTokenUsage",
        "ExcessiveSessions",
        "HighDailyClaudeCost",
        "HighUserClaudeCost",
        "LowClaudeAdoption",
        "TelemetryStopped",
        "CostAnomaly",
        "TeamSpendWeb",
    }
    assert rules["HighDailyClaudeCost"] == {
        "alert": "HighDailyClaudeCost",
        "expr": "sum(increase(claude_code_cost_usage_USD_total[24h])) > 500",
        "for": "1h",
        "labels": {"severity": "warning", "ccmon_rule": "high-daily-cost"},
        "annotations": {"summary": 'Claude Code spend over the last 24 h is ${{ printf "%.2f" $value }}, over $500'},
    }
    assert rules["HighUserClaudeCost"]["annotations"]["summary"].startswith("{{ $labels.user_email }} spent $")
    assert rules["TeamSpendWeb"]["labels"] == {
        "severity": "warning",
        "ccmon_rule": "team_spend-web",
        "route": "web-oncall",
    }
    assert "for" not in rules["TeamSpendWeb"]
    for skipped in ("api-error-spike", "budget-threshold", "budget-exceeded", "model-policy-violation"):
        assert f"\n# {skipped} (" in text
    assert "API errors are log events" in text and "off" not in {r["labels"]["ccmon_rule"] for r in rules.values()}
    path = tmp_path / "ccmon.rules.yml"
    path.write_text(text)
    # Prometheus's own checker (scripts/test installs Debian's prometheus package for it, or $CCMON_PROMTOOL).
    promtool = os.environ.get("CCMON_PROMTOOL") or shutil.which("promtool")
    assert promtool, "promtool not found: install Prometheus (apt-get install prometheus) or set CCMON_PROMTOOL"
    checked = subprocess.run(
        [promtool, "check", "rules", str(path)], check=False, capture_output=True, text=True, timeout=60
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS" in checked.stdout + checked.stderr


def test_summary_templates_in_prometheus_language() -> None:
    assert prometheus_template(CUSTOM) == (
        '{{ $labels.user_email }} spent ${{ printf "%.2f" $value }} on {{ $labels.model }} '
        "(Web team spend; limit 12.5, {literal})"
    )
    bare = dataclasses.replace(CUSTOM, summary="")
    assert prometheus_template(bare) == "Web team spend: {{ $value }}"
    odd = dataclasses.replace(CUSTOM, summary="{value:>10} {value:d} {value:.1%}")
    # Alignment has no printf flag (Go's): the plain value.
    assert prometheus_template(odd) == '{{ $value }} {{ printf "%.0f" $value }} {{ $value }}'


def test_alert_names() -> None:
    assert alert_name(CUSTOM) == "TeamSpendWeb"
    assert alert_name(DEFAULT_RULES[0]) == "HighTokenUsage"
    renamed = dataclasses.replace(DEFAULT_RULES[6], source="file")
    assert alert_name(renamed) == "HighDailyCost"
