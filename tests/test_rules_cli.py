"""`ccmon rules validate|export|list`, through the command's own parser (as `ccmon` registers it)."""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import yaml

from ccmon import rules_cli

GOOD = """\
rules:
  - id: web-spend
    name: Web team spend
    signal: cost
    op: ">"
    threshold: 100
    filters: {team: [web]}
defaults:
  high-daily-cost: {threshold: 800}
"""
BAD = """\
rules:
  - id: web-spend
    name: Web team spend
    signal: cost
    op: ">"
    threshold: lots
"""


def ccmon_rules(*argv: str) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser(prog="ccmon")
    rules_cli.add_parser(parser.add_subparsers(dest="command", required=True))
    out, err = io.StringIO(), io.StringIO()
    status = rules_cli.run(parser.parse_args(["rules", *argv]), out, err)
    return status, out.getvalue(), err.getvalue()


def test_validate_accepts_a_good_file_and_names_the_line_of_a_bad_one(tmp_path: Path) -> None:
    good, bad = tmp_path / "alerts.yaml", tmp_path / "bad.yaml"
    good.write_text(GOOD)
    bad.write_text(BAD)
    status, out, _ = ccmon_rules("validate", str(good))
    assert status == 0 and out.startswith(f"{good}: OK (2 rules")
    status, out, err = ccmon_rules("validate", str(bad))
    assert status == 1 and out == ""
    assert err.startswith(f"ccmon rules: {bad}:6: rules[0].threshold:"), err
    status, _, err = ccmon_rules("validate", str(tmp_path / "missing.yaml"))
    assert status == 1 and "missing.yaml" in err


def test_export_writes_the_defaults_with_the_files_rules(tmp_path: Path) -> None:
    good = tmp_path / "alerts.yaml"
    good.write_text(GOOD)
    status, out, _ = ccmon_rules("export", "--prometheus")
    assert status == 0
    exprs = {r["alert"]: r["expr"] for r in yaml.safe_load(out)["groups"][0]["rules"]}
    assert exprs["HighDailyClaudeCost"].endswith("> 500") and "WebSpend" not in exprs
    target = tmp_path / "out" / "ccmon.rules.yml"
    target.parent.mkdir()
    status, out, _ = ccmon_rules("export", "--prometheus", "--file", str(good), "-o", str(target))
    assert status == 0 and out == ""
    rules = {r["alert"]: r for r in yaml.safe_load(target.read_text())["groups"][0]["rules"]}
    assert rules["WebSpend"]["expr"] == 'sum(increase(claude_code_cost_usage_USD_total{team="web"}[1h])) > 100'
    # The file changes a default rule: exported once, changed (a file rule, so under its plain name).
    assert [r["expr"] for r in rules.values() if r["labels"]["ccmon_rule"] == "high-daily-cost"] == [
        "sum(increase(claude_code_cost_usage_USD_total[24h])) > 800"
    ]
    status, _, err = ccmon_rules("export", "--prometheus", "--url", "http://127.0.0.1:9")
    assert status == 1 and "cannot reach http://127.0.0.1:9/api/v1/alerts/rules" in err


def test_list_shows_the_default_rules_and_the_signals() -> None:
    status, out, _ = ccmon_rules("list")
    assert status == 0
    rules, signals = out.split("\nSignals\n")
    assert "high-daily-cost           cost                > 500" in rules
    assert "low-adoption" in rules and "api_error_rate" in signals and "budget_usage" in signals
