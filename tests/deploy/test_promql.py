"""Every PromQL query of the Prometheus dashboard parses with Prometheus's own parser: the panels' expressions and
the variables' selectors, with Grafana's variables replaced, written as recording rules for `promtool check rules`."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from tests.deploy.grafana import PROMETHEUS, Target, dashboard_files, load, plugin_of, substitute, targets, variables
from tests.deploy.promtool import promtool

_LABEL_VALUES = re.compile(r"^label_values\((.+),\s*(\w+)\)$")


def _expressions() -> dict[str, str]:
    """Record name -> expression, for every Prometheus query (panels' targets and variables' `label_values`)."""
    found: dict[str, str] = {}
    for path in dashboard_files():
        board = load(path)
        if plugin_of(board) != PROMETHEUS:
            continue
        for index, target in enumerate(targets(board)):
            found[_record(index, target)] = substitute(target.query["expr"], board)
            # A person chosen in the picker (a regex with an escaped dot) must parse as well as "All".
            chosen = {"user_email": ["ann@example.com", "bob@example.com"], "model": ["claude-sonnet-4-5"]}
            found[_record(index, target) + "_chosen"] = substitute(target.query["expr"], board, chosen)
        for name, variable in variables(board).items():
            if variable["type"] == "query":
                selector = _LABEL_VALUES.match(variable["query"]["query"])
                assert selector, f"variable {name}: {variable['query']['query']!r} is not label_values(metric, label)"
                found[f"variable_{name}"] = f"count by ({selector.group(2)}) ({selector.group(1)})"
    return found


def _record(index: int, target: Target) -> str:
    return "panel_" + re.sub(r"\W+", "_", f"{index}_{target.panel}_{target.ref_id}").lower()


def _check(expressions: dict[str, str], tmp_path: Path) -> tuple[int, str]:
    rules = [{"record": name, "expr": expr} for name, expr in expressions.items()]
    path = tmp_path / "dashboard-queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "grafana", "rules": rules}]}, width=1000))
    checked = promtool("check", "rules", path)
    return checked.returncode, checked.stdout + checked.stderr


def test_every_prometheus_query_parses(tmp_path: Path) -> None:
    expressions = _expressions()
    assert len(expressions) > 60
    status, output = _check(expressions, tmp_path)
    assert status == 0, output
    assert f"SUCCESS: {len(expressions)} rules found" in output


def test_promtool_refuses_a_broken_query(tmp_path: Path) -> None:
    status, output = _check(
        {"broken": 'sum(increase(claude_code_cost_usage_USD_total{user_email=~"x"}[$__range]))'}, tmp_path
    )
    assert status != 0, output
    assert "parse error" in output and "broken" in output, output
