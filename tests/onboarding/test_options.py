"""Setup options: what is refused (and why), and the settings fragment Claude Code gets."""

from __future__ import annotations

import shlex
import urllib.parse
from typing import Any

import pytest

from ccmon.onboarding.claude_files import token_from_otel_headers
from ccmon.onboarding.options import (
    PROTOCOLS,
    SetupError,
    SetupOptions,
    options_from_mapping,
    resource_attributes_value,
    settings_fragment,
)

ENDPOINT = "http://ccmon.internal:4317"


def _decode_attributes(value: str) -> dict[str, str]:
    """What the OpenTelemetry SDK makes of `OTEL_RESOURCE_ATTRIBUTES`: split on `,` and the first `=`, decode."""
    pairs = (item.split("=") for item in value.split(","))
    decoded = {}
    for pair in pairs:
        assert len(pair) == 2, f"an unencoded = or , in {value!r}"
        decoded[pair[0]] = urllib.parse.unquote(pair[1], errors="strict")
    return decoded


def test_the_minimal_fragment_turns_telemetry_on_and_nothing_else() -> None:
    fragment = settings_fragment(SetupOptions(endpoint=ENDPOINT))
    assert fragment == {
        "env": {
            "CLAUDE_CODE_ENABLE_TELEMETRY": "1",
            "OTEL_METRICS_EXPORTER": "otlp",
            "OTEL_LOGS_EXPORTER": "otlp",
            "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
            "OTEL_EXPORTER_OTLP_ENDPOINT": ENDPOINT,
        }
    }


def test_every_option_lands_in_its_place() -> None:
    options = SetupOptions(
        endpoint="https://ccmon.example.com:4318",
        protocol="http/protobuf",
        token="tok.en_1-2~3+4/5=",
        headers_helper="/usr/local/bin/ccmon-token",
        resource_attributes={"team": "Platform", "cost_center": "CC-1"},
        metrics_interval_ms=10_000,
        logs_interval_ms=1000,
        log_user_prompts=True,
        log_assistant_responses=True,
        log_tool_details=True,
        traces=True,
        budget_hook=True,
        policy_hook=True,
        statusline=True,
        ccmon_url="https://ccmon.example.com",
        ccmon_command="/opt/ccmon/bin/ccmon",
    )
    fragment = settings_fragment(options)
    env = fragment["env"]
    assert env["OTEL_EXPORTER_OTLP_HEADERS"] == "Authorization=Bearer tok.en_1-2~3+4/5="
    assert token_from_otel_headers(env["OTEL_EXPORTER_OTLP_HEADERS"]) == "tok.en_1-2~3+4/5="
    assert env["OTEL_RESOURCE_ATTRIBUTES"] == "team=Platform,cost_center=CC-1"
    assert env["OTEL_METRIC_EXPORT_INTERVAL"] == "10000"
    assert env["OTEL_LOGS_EXPORT_INTERVAL"] == "1000"
    for flag in ("OTEL_LOG_USER_PROMPTS", "OTEL_LOG_ASSISTANT_RESPONSES", "OTEL_LOG_TOOL_DETAILS"):
        assert env[flag] == "1"
    assert env["CLAUDE_CODE_ENHANCED_TELEMETRY_BETA"] == "1"
    assert env["OTEL_TRACES_EXPORTER"] == "otlp"
    assert fragment["otelHeadersHelper"] == "/usr/local/bin/ccmon-token"
    assert fragment["hooks"] == {
        "UserPromptSubmit": [
            {
                "hooks": [
                    {"type": "command", "command": "/opt/ccmon/bin/ccmon hook budget --url https://ccmon.example.com"}
                ]
            }
        ],
        "PreToolUse": [
            {
                "matcher": "*",
                "hooks": [
                    {"type": "command", "command": "/opt/ccmon/bin/ccmon hook policy --url https://ccmon.example.com"}
                ],
            }
        ],
    }
    assert fragment["statusLine"] == {
        "type": "command",
        "command": "/opt/ccmon/bin/ccmon statusline --url https://ccmon.example.com",
        "padding": 0,
    }


def test_content_capture_is_off_unless_asked() -> None:
    env = settings_fragment(SetupOptions(endpoint=ENDPOINT, traces=False))["env"]
    assert not {k for k in env if k.startswith("OTEL_LOG_") or "TRACES" in k or "ENHANCED" in k}


@pytest.mark.parametrize(
    "value",
    [
        "a,b",
        "x=y",
        "50%",
        "Ré & Dé",
        'quote " and \\ backslash',
        "日本語チーム",
        "  padded  ",
        "emoji 🚀",
        "semi;colon",
    ],
)
def test_hostile_attribute_values_survive_the_sdk_parser(value: str) -> None:
    encoded = resource_attributes_value({"team": value, "department": "R&D"})
    assert all(0x21 <= ord(c) <= 0x7E and c not in '",;\\ ' for c in encoded.replace(",", "").replace("=", ""))
    assert _decode_attributes(encoded) == {"team": value, "department": "R&D"}


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"endpoint": "ccmon.internal:4317"}, "http:// or https://"),
        ({"endpoint": "http://ccmon.internal"}, "must name its port"),
        ({"endpoint": "http://ccmon.internal:99999"}, "invalid port"),
        ({"endpoint": "http://a:4317/otlp"}, "no path"),
        ({"endpoint": "http://a:4317,http://b:4317"}, "without spaces or commas"),
        ({"endpoint": "http://u:p@a:4317"}, "user, password"),
        ({"endpoint": "http://a:4317\n"}, "without spaces"),
        ({"protocol": "http"}, "protocol must be one of"),
        ({"token": "has space"}, "no spaces"),
        ({"token": "a,b"}, "commas"),
        ({"token": "line\nbreak"}, "control"),
        ({"token": ""}, "1-4096"),
        ({"token": "x" * 5000}, "1-4096"),
        ({"headers_helper": "/bin/helper"}, "gRPC cannot use otelHeadersHelper"),
        ({"resource_attributes": {"bad key": "x"}}, "attribute name"),
        ({"resource_attributes": {"team": ""}}, "needs a value"),
        ({"resource_attributes": {"team": "a\nb"}}, "one line"),
        ({"resource_attributes": {"team": "é" * 100}}, "too long"),
        ({"metrics_interval_ms": 0}, "milliseconds"),
        ({"logs_interval_ms": 10**9}, "milliseconds"),
        ({"metrics_interval_ms": True}, "milliseconds"),
        ({"statusline": True}, "give its URL"),
        ({"budget_hook": True, "ccmon_url": "ftp://x"}, "http:// or https://"),
        ({"ccmon_command": "ccmon\nrm -rf /"}, "one line"),
    ],
)
def test_bad_options_are_refused_with_a_reason(changes: dict[str, Any], words: str) -> None:
    values: dict[str, Any] = {"endpoint": ENDPOINT, **changes}
    with pytest.raises(SetupError, match=words):
        SetupOptions(**values)


def test_the_headers_helper_is_fine_over_http() -> None:
    for protocol in PROTOCOLS[1:]:
        options = SetupOptions(endpoint="http://a:4318", protocol=protocol, headers_helper="/bin/helper")
        assert settings_fragment(options)["otelHeadersHelper"] == "/bin/helper"


def test_https_without_a_port_and_http_with_a_path_prefix_are_accepted() -> None:
    SetupOptions(endpoint="https://otel.example.com", protocol="grpc")
    SetupOptions(endpoint="http://proxy:8080/otlp", protocol="http/json")


def test_options_are_a_snapshot_of_the_attributes_given() -> None:
    attributes = {"team": "a"}
    options = SetupOptions(endpoint=ENDPOINT, resource_attributes=attributes)
    attributes["team"] = "b c, d"
    assert options.resource_attributes == {"team": "a"}


def test_a_hook_url_that_needs_quoting_is_quoted_for_the_shell() -> None:
    options = SetupOptions(endpoint=ENDPOINT, budget_hook=True, ccmon_url="http://a:3000/x;$(id)'")
    command = settings_fragment(options)["hooks"]["UserPromptSubmit"][0]["hooks"][0]["command"]
    assert command == "ccmon hook budget --url 'http://a:3000/x;$(id)'\"'\"''"
    assert shlex.split(command)[-1] == "http://a:3000/x;$(id)'"


def test_options_from_a_form() -> None:
    options = options_from_mapping(
        {
            "endpoint": " http://a:4318 ",
            "protocol": "http/json",
            "token": "",
            "team": "Platform",
            "department": "",
            "cost_center": "CC 1",
            "resource_attributes": "region=eu\nsite = Paris,floor=3",
            "metrics_interval_ms": "5000",
            "logs_interval_ms": "",
            "log_user_prompts": "on",
            "traces": "0",
            "statusline": "true",
            "ccmon_url": "http://a:3000",
            "target": "managed",
            "os": "macos",
        }
    )
    assert options.endpoint == "http://a:4318"
    assert options.protocol == "http/json"
    assert options.token is None
    assert options.resource_attributes == {
        "region": "eu",
        "site": "Paris",
        "floor": "3",
        "team": "Platform",
        "cost_center": "CC 1",
    }
    assert options.metrics_interval_ms == 5000
    assert options.logs_interval_ms is None
    assert options.log_user_prompts
    assert not options.traces
    assert options.statusline


@pytest.mark.parametrize(
    ("values", "words"),
    [
        ({}, "endpoint is required"),
        ({"endpoint": "http://a:4317", "traces": "maybe"}, "on or off"),
        ({"endpoint": "http://a:4317", "metrics_interval_ms": "5s"}, "whole number"),
        ({"endpoint": "http://a:4317", "resource_attributes": "no-equals-sign"}, "key=value"),
        ({"endpoint": "http://a:4317", "headers_helper": "/x"}, "gRPC cannot"),
    ],
)
def test_bad_forms_are_refused(values: dict[str, str], words: str) -> None:
    with pytest.raises(SetupError, match=words):
        options_from_mapping(values)
