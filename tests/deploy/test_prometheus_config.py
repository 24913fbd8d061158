"""deploy/prometheus: the scrape config Prometheus accepts (with its rule file), and the rule file is exactly what
`ccmon rules export --prometheus` gives for the default rules today."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from ccmon.alerts.prometheus import prometheus_rules
from ccmon.rules_cli import export_rules
from tests.deploy.grafana import DEPLOY
from tests.deploy.promtool import promtool

PROMETHEUS_DIR = DEPLOY / "prometheus"
REGENERATE = "regenerate it: .venv/bin/ccmon rules export --prometheus -o deploy/prometheus/ccmon-rules.yml"


def test_the_checked_in_rules_are_the_current_export() -> None:
    checked_in = (PROMETHEUS_DIR / "ccmon-rules.yml").read_text(encoding="utf-8")
    assert checked_in == prometheus_rules(export_rules(None, None, None)), f"ccmon-rules.yml is stale: {REGENERATE}"


def test_prometheus_accepts_the_config_and_its_rules(tmp_path: Path) -> None:
    # The files as they are, next to the scrape token the compose file mounts beside them.
    for name in ("prometheus.yml", "ccmon-rules.yml"):
        shutil.copy(PROMETHEUS_DIR / name, tmp_path / name)
    (tmp_path / "scrape-token").write_text("a-scrape-token\n")
    checked = promtool("check", "config", tmp_path / "prometheus.yml")
    output = checked.stdout + checked.stderr
    assert checked.returncode == 0, output
    (group,) = yaml.safe_load((PROMETHEUS_DIR / "ccmon-rules.yml").read_text(encoding="utf-8"))["groups"]
    assert "SUCCESS: 1 rule files found" in output and f"SUCCESS: {len(group['rules'])} rules found" in output


def test_prometheus_refuses_the_config_without_its_token(tmp_path: Path) -> None:
    for name in ("prometheus.yml", "ccmon-rules.yml"):
        shutil.copy(PROMETHEUS_DIR / name, tmp_path / name)
    checked = promtool("check", "config", tmp_path / "prometheus.yml")
    assert checked.returncode != 0 and "scrape-token" in checked.stdout + checked.stderr


def test_both_of_ccmons_metrics_paths_are_scraped_with_the_token() -> None:
    config = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text(encoding="utf-8"))
    assert config["rule_files"] == ["ccmon-rules.yml"]
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert {job["metrics_path"] for job in jobs.values()} == {"/metrics/claude-code", "/metrics"}
    for job in jobs.values():
        assert job["authorization"] == {"credentials_file": "scrape-token"}
        assert job["static_configs"] == [{"targets": ["ccmon:3000"]}]
