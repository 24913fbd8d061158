"""Claude Code's settings sources as the doctor reads them: precedence, managed drop-ins, the project quirk, the
managed endpoint lock, and malformed files (invalid JSON, huge, wrong types) reported without stopping the rest."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ccmon.onboarding import sources
from ccmon.onboarding.sources import DISCARDED_BY_MANAGED, IGNORED_IN_PROJECT, effective, mask_headers


@pytest.fixture
def machine(tmp_path: Path) -> dict[str, Path]:
    home, managed, project = tmp_path / "home", tmp_path / "managed", tmp_path / "repo"
    for folder in (home / ".claude", managed / "managed-settings.d", project / ".claude", project / ".git"):
        folder.mkdir(parents=True)
    return {"home": home, "managed": managed, "project": project}


def env_of(machine: dict[str, Path], **extra: str) -> dict[str, str]:
    return {"HOME": str(machine["home"]), "CLAUDE_CODE_MANAGED_SETTINGS_PATH": str(machine["managed"]), **extra}


def write(path: Path, content: Any) -> None:
    path.write_text(content if isinstance(content, str) else json.dumps(content))


def settings_env(values: dict[str, Any]) -> dict[str, Any]:
    return {"env": values}


def test_precedence_managed_over_local_over_project_over_user_over_shell(machine: dict[str, Path]) -> None:
    write(machine["home"] / ".claude" / "settings.json", settings_env({"OTEL_METRIC_EXPORT_INTERVAL": "1000"}))
    write(machine["project"] / ".claude" / "settings.json", settings_env({"OTEL_LOGS_EXPORTER": "none"}))
    write(machine["project"] / ".claude" / "settings.local.json", settings_env({"OTEL_METRICS_EXPORTER": "none"}))
    write(machine["managed"] / "managed-settings.json", settings_env({"OTEL_METRICS_EXPORTER": "otlp", "A": "1"}))
    environ = env_of(machine, OTEL_METRIC_EXPORT_INTERVAL="5", OTEL_LOGS_EXPORTER="otlp", OTEL_SERVICE_NAME="x")
    found = effective(environ, machine["project"])
    interval = found.values["OTEL_METRIC_EXPORT_INTERVAL"]
    assert (interval.value, interval.kind) == ("1000", "user")  # settings env is applied over the shell's
    assert interval.unused == (("environment", "overridden by user"),)
    assert (found.get("OTEL_LOGS_EXPORTER"), found.values["OTEL_LOGS_EXPORTER"].kind) == ("none", "project")
    metrics = found.values["OTEL_METRICS_EXPORTER"]
    assert (metrics.value, metrics.kind) == ("otlp", "managed")
    assert metrics.unused[0][1] == "overridden by managed"
    assert found.values["OTEL_SERVICE_NAME"].kind == "environment"


def test_managed_drop_ins_merge_env_key_by_key_alphabetically(machine: dict[str, Path]) -> None:
    folder = machine["managed"]
    write(folder / "managed-settings.json", settings_env({"OTEL_LOGS_EXPORTER": "otlp", "OTEL_METRICS_EXPORTER": "x"}))
    write(folder / "managed-settings.d" / "20-b.json", settings_env({"OTEL_METRICS_EXPORTER": "otlp"}))
    write(folder / "managed-settings.d" / "10-a.json", settings_env({"OTEL_METRICS_EXPORTER": "prometheus"}))
    found = effective(env_of(machine), machine["project"])
    assert found.get("OTEL_LOGS_EXPORTER") == "otlp"
    assert found.get("OTEL_METRICS_EXPORTER") == "otlp"
    assert "20-b.json" in str(found.values["OTEL_METRICS_EXPORTER"].source)
    assert [s.kind for s in found.sources].count("managed") == 3


def test_project_telemetry_is_ignored_except_turning_it_off(machine: dict[str, Path]) -> None:
    write(
        machine["project"] / ".claude" / "settings.json",
        {
            "env": {
                "CLAUDE_CODE_ENABLE_TELEMETRY": "1",
                "OTEL_EXPORTER_OTLP_ENDPOINT": "http://x:4317",
                "OTEL_TRACES_EXPORTER": "none",
                "EDITOR": "vim",
            },
            "otelHeadersHelper": "/bin/helper",
        },
    )
    found = effective(env_of(machine), machine["project"] / ".claude")  # started in a subfolder: walks up
    assert found.get("CLAUDE_CODE_ENABLE_TELEMETRY") is None
    assert found.values["OTEL_EXPORTER_OTLP_ENDPOINT"].unused[0][1] == IGNORED_IN_PROJECT
    assert found.get("OTEL_TRACES_EXPORTER") == "none"
    assert found.headers_helper.value is None
    assert set(found.ignored_in_project()) == {
        "CLAUDE_CODE_ENABLE_TELEMETRY",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "otelHeadersHelper",
    }


def test_home_folder_is_never_a_project(machine: dict[str, Path]) -> None:
    write(machine["home"] / ".claude" / "settings.json", settings_env({"CLAUDE_CODE_ENABLE_TELEMETRY": "1"}))
    found = effective(env_of(machine), machine["home"] / "somewhere")
    assert found.values["CLAUDE_CODE_ENABLE_TELEMETRY"].kind == "user"
    assert not found.ignored_in_project()


def test_a_managed_endpoint_discards_per_signal_endpoints_set_elsewhere(machine: dict[str, Path]) -> None:
    write(
        machine["managed"] / "managed-settings.json", settings_env({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://org:4317"})
    )
    user = {"OTEL_EXPORTER_OTLP_LOGS_ENDPOINT": "http://mine:4318/v1/logs"}
    write(machine["home"] / ".claude" / "settings.json", settings_env(user))
    found = effective(env_of(machine), machine["project"])
    logs = found.values["OTEL_EXPORTER_OTLP_LOGS_ENDPOINT"]
    assert logs.value is None and logs.unused[-1][1] == DISCARDED_BY_MANAGED


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('{"env": {"A": "1",}}', "is not valid JSON: Expecting property name enclosed in double quotes at line 1"),
        ("[1, 2]", "holds a JSON list, not an object"),
        ("\ufeff\n\n  {", "is not valid JSON"),
        (b"\xff\xfe{}", "is not UTF-8 text"),
        ("[" * 100_000 + "]" * 100_000, "is not valid JSON"),
    ],
)
def test_malformed_settings_are_reported_with_where(
    machine: dict[str, Path], content: str | bytes, expected: str
) -> None:
    path = machine["home"] / ".claude" / "settings.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        write(path, content)
    write(machine["managed"] / "managed-settings.json", settings_env({"CLAUDE_CODE_ENABLE_TELEMETRY": "1"}))
    found = effective(env_of(machine), machine["project"])
    user = next(s for s in found.sources if s.kind == "user")
    assert user.error is not None and expected in user.error
    assert found.get("CLAUDE_CODE_ENABLE_TELEMETRY") == "1"  # the other sources are still read


def test_invalid_json_names_line_and_column(machine: dict[str, Path]) -> None:
    write(machine["home"] / ".claude" / "settings.json", '{\n  "env": {\n    "A": 1\n    "B": 2\n  }\n}')
    user = next(s for s in effective(env_of(machine), machine["project"]).sources if s.kind == "user")
    assert user.error == "is not valid JSON: Expecting ',' delimiter at line 4 column 5"


def test_huge_settings_file_is_refused_unread(machine: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sources, "MAX_SETTINGS_BYTES", 1000)
    write(machine["home"] / ".claude" / "settings.json", json.dumps({"env": {"X": "y" * 5000}}))
    user = next(s for s in effective(env_of(machine), machine["project"]).sources if s.kind == "user")
    assert user.error is not None and "larger than any settings file" in user.error


def test_wrong_types_are_reported_and_scalars_taken_as_text(machine: dict[str, Path]) -> None:
    content = {
        "env": {"CLAUDE_CODE_ENABLE_TELEMETRY": 1, "OTEL_LOGS_EXPORTER": ["otlp"], "OTEL_METRICS_EXPORTER": None},
        "otelHeadersHelper": {"cmd": "x"},
    }
    write(machine["home"] / ".claude" / "settings.json", content)
    found = effective(env_of(machine), machine["project"])
    user = next(s for s in found.sources if s.kind == "user")
    assert found.get("CLAUDE_CODE_ENABLE_TELEMETRY") == "1"
    assert found.get("OTEL_LOGS_EXPORTER") is None and found.headers_helper.value is None
    assert len(user.problems) == 4
    assert any("write it as a string" in p for p in user.problems)
    write(machine["home"] / ".claude" / "settings.json", {"env": "CLAUDE_CODE_ENABLE_TELEMETRY=1"})
    user = next(s for s in effective(env_of(machine), machine["project"]).sources if s.kind == "user")
    assert user.problems == ["env should be an object of NAME: value, not a string: ignored"]


def test_headers_are_masked_in_every_output(machine: dict[str, Path]) -> None:
    secret = "s3cr3t-token-value"
    assert mask_headers(f"Authorization=Bearer {secret},x-team=a") == "Authorization=***,x-team=***"
    write(
        machine["home"] / ".claude" / "settings.json",
        settings_env({"OTEL_EXPORTER_OTLP_HEADERS": f"a=Bearer {secret}"}),
    )
    found = effective(env_of(machine), machine["project"])
    assert secret not in json.dumps(found.to_json())
