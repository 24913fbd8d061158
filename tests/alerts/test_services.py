"""Alerting opened over a store: the defaults seeded without overwriting edits, the alerts file applied and reloaded
(a malformed file changes nothing: the running rules keep working), channels swapped in the delivery queue."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

from ccmon.alerts.config_file import AlertsFileError
from ccmon.alerts.defaults import DEFAULT_RULES
from ccmon.alerts.model import Budget, Period, Unit
from ccmon.alerts.services import AlertServices, open_alert_services, process_holder
from ccmon.analytics import Analytics
from ccmon.store.facade import Store

FIRST = """\
channels:
  ops: {kind: webhook, url: "http://127.0.0.1:9/a", secret: s}
rules:
  - {id: file-rule, name: File rule, signal: cost, op: ">", threshold: 1, channels: [ops]}
budgets:
  - {id: org, name: Org, scope: organization, period: monthly, amount: 1000}
defaults:
  high-daily-cost: {threshold: 999}
"""

SECOND = """\
channels:
  pager: {kind: pagerduty, routing_key: abc}
rules:
  - {id: other-rule, name: Other, signal: sessions, op: ">", threshold: 5}
"""


def _open(store: Store, alerts_file: Path | None = None) -> AlertServices:
    return open_alert_services(
        store, Analytics(store), alerts_file=str(alerts_file) if alerts_file else None, holder="test"
    )


def _rules(services: AlertServices) -> dict[str, tuple[str, float, bool]]:
    return {rule.id: (rule.source, rule.threshold, rule.enabled) for rule in services.rules.items()}


def test_defaults_are_seeded_once_and_edits_survive_a_restart(store: Store) -> None:
    services = _open(store)
    assert {rule.id for rule in DEFAULT_RULES} == set(_rules(services))
    shipped = next(rule for rule in DEFAULT_RULES if rule.id == "low-adoption")
    services.rules.put(replace(shipped, enabled=False, source="api"), "admin")
    services.rules.delete("high-token-usage", "admin")
    again = _open(store)
    rules = _rules(again)
    assert rules["low-adoption"] == ("api", shipped.threshold, False)
    assert "high-token-usage" not in rules


def test_the_file_is_applied_and_a_changed_default_returns_when_the_file_drops_it(store: Store, tmp_path: Path) -> None:
    alerts_file = tmp_path / "alerts.yaml"
    alerts_file.write_text(FIRST)
    services = _open(store, alerts_file)
    rules = _rules(services)
    assert rules["file-rule"] == ("file", 1, True)
    assert rules["high-daily-cost"] == ("file", 999, True)
    assert [b.id for b in services.budgets.items()] == ["org"]
    assert list(services.channels) == ["ops"]
    budget = Budget("ui", "From the UI", "organization", "", Period.WEEKLY, Unit.USD, 5)
    services.budgets.put(budget, "admin")

    alerts_file.write_text(SECOND)
    loaded = services.reload_file()
    assert loaded.summary() == "1 rules, 1 channels, 0 budgets, 0 policies"
    rules = _rules(services)
    assert "file-rule" not in rules and rules["other-rule"][0] == "file"
    shipped = next(rule for rule in DEFAULT_RULES if rule.id == "high-daily-cost")
    assert rules["high-daily-cost"] == ("default", shipped.threshold, True)
    assert [b.id for b in services.budgets.items()] == ["ui"]  # the UI's stays, the file's went
    assert list(services.channels) == ["pager"] and list(services.deliveries.channels) == ["pager"]
    assert services.engine._deliveries is services.deliveries  # the engine sends through the same queue


def test_a_malformed_file_on_reload_changes_nothing(store: Store, tmp_path: Path) -> None:
    alerts_file = tmp_path / "alerts.yaml"
    alerts_file.write_text(FIRST)
    services = _open(store, alerts_file)
    before = _rules(services)
    alerts_file.write_text(FIRST.replace("threshold: 1,", "threshold: 1, colour: red,"))
    with pytest.raises(AlertsFileError, match=rf"^{alerts_file}:4: rules\[0\]\.colour: unknown field colour"):
        services.reload_file()
    assert _rules(services) == before
    assert list(services.channels) == ["ops"]
    assert services.loaded is not None and services.loaded.rules[0].id == "file-rule"


def test_a_malformed_file_at_start_writes_nothing(store: Store, tmp_path: Path) -> None:
    alerts_file = tmp_path / "alerts.yaml"
    alerts_file.write_text("rules: {}\n")
    with pytest.raises(AlertsFileError, match=r"alerts.yaml:1: rules: expected a list"):
        _open(store, alerts_file)
    assert store.query("SELECT count() FROM alert_rules") == [(0,)]


def test_the_holder_names_this_process() -> None:
    first, second = process_holder(), process_holder()
    assert first != second and f":{os.getpid()}:" in first
