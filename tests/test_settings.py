from __future__ import annotations

import socket
from pathlib import Path

import pytest

from ccmon.auth.authenticator import is_loopback
from ccmon.server import check_exposure
from ccmon.settings import SETTINGS, ConfigError, external_url, load_config, settings_markdown
from tests.support import REPO, free_port, run_ccmon


def test_precedence_is_flag_then_env_then_file_then_default(tmp_path: Path) -> None:
    config_file = tmp_path / "ccmon.toml"
    config_file.write_text('port = 1111\notlp_http_port = 2222\nbatch_max_rows = 3333\ningest_tokens = ["a", "b"]\n')
    env = {"CCMON_OTLP_HTTP_PORT": "4444", "CCMON_BATCH_MAX_ROWS": "5555"}
    config = load_config(flags={"batch_max_rows": "6666"}, environ=env, config_file=config_file)
    assert config.port == 1111  # file
    assert config.otlp_http_port == 4444  # env beats file
    assert config.batch_max_rows == 6666  # flag beats env
    assert config.ingest_tokens == ("a", "b")
    assert config.otlp_grpc_port == 4317  # default


def test_config_file_from_the_environment(tmp_path: Path) -> None:
    config_file = tmp_path / "ccmon.toml"
    config_file.write_text('host = "127.0.0.2"\n')
    assert load_config(environ={"CCMON_CONFIG": str(config_file)}).host == "127.0.0.2"


def test_list_settings_from_the_environment() -> None:
    assert load_config(environ={"CCMON_INGEST_TOKENS": "x, y,,"}).ingest_tokens == ("x", "y")


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"CCMON_PORT": "eighty"}, "CCMON_PORT"),
        ({"CCMON_QUEUE_MAX_ROWS": "1.5"}, "CCMON_QUEUE_MAX_ROWS"),
        ({"CCMON_MONTHLY_BUDGET_USD": "0"}, "greater than 0"),
        ({"CCMON_MONTHLY_BUDGET_USD": "-5"}, "greater than 0"),
        ({"CCMON_MONTHLY_BUDGET_USD": "inf"}, "greater than 0"),
        ({"CCMON_MONTHLY_BUDGET_USD": "lots"}, "CCMON_MONTHLY_BUDGET_USD"),
    ],
)
def test_bad_values_name_the_setting(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(environ=environ)


@pytest.mark.parametrize(
    ("flags", "environ", "toml", "message"),
    [
        ({"port": "70000"}, {}, "", "--port: 70000 is not a port number (1-65535)"),
        ({"otlp_grpc_port": "0"}, {}, "", "--otlp-grpc-port: 0 is not a port number (1-65535)"),
        ({"port": "abc"}, {}, "", '--port: "abc" is not a whole number'),
        ({}, {"CCMON_OTLP_HTTP_PORT": "-1"}, "", "CCMON_OTLP_HTTP_PORT: -1 is not a port number (1-65535)"),
        ({}, {"CCMON_PORT": "eighty"}, "", 'CCMON_PORT: "eighty" is not a whole number'),
        ({}, {}, "otlp_grpc_port = 65536", "otlp_grpc_port in {file}: 65536 is not a port number (1-65535)"),
        ({}, {}, 'port = "abc"', 'port in {file}: "abc" is not a whole number'),
        ({}, {}, "port = 3000.5", 'port in {file}: "3000.5" is not a whole number'),
        ({}, {"CCMON_QUEUE_MAX_ROWS": "1.5"}, "", 'CCMON_QUEUE_MAX_ROWS: "1.5" is not a whole number'),
        ({"monthly_budget_usd": "lots"}, {}, "", '--monthly-budget-usd: "lots" is not an amount in USD (e.g. 2500)'),
        ({"log_level": "loud"}, {}, "", '--log-level: "loud" is not one of debug, info, warning, error'),
        ({}, {"CCMON_LOG_FORMAT": "xml"}, "", 'CCMON_LOG_FORMAT: "xml" is not one of auto, json, text'),
    ],
)
def test_bad_numbers_and_choices_say_which_source_and_why(
    tmp_path: Path, flags: dict[str, str], environ: dict[str, str], toml: str, message: str
) -> None:
    """Flags, CCMON_* variables and the TOML file are read alike, and each message names where the value came from."""
    config_file = tmp_path / "ccmon.toml"
    config_file.write_text(toml + "\n")
    with pytest.raises(ConfigError) as raised:
        load_config(flags=flags, environ=environ, config_file=config_file)
    assert str(raised.value) == message.format(file=config_file)


def test_ports_at_the_ends_of_the_range_are_accepted() -> None:
    config = load_config(flags={"port": "1", "otlp_grpc_port": " 65535 "}, environ={})
    assert (config.port, config.otlp_grpc_port) == (1, 65535)


def test_attribution_settings_from_flags_the_environment_or_the_file(tmp_path: Path) -> None:
    default = load_config(environ={})
    assert default.project_attributes == ("project", "vcs.repository.name")
    assert default.team_from_email == ()
    flags = {"project_attributes": "git.repo, project", "team_from_email": "*@pay.example.com=payments,*@*.x.io=$2"}
    config = load_config(flags=flags, environ={})
    assert config.project_attributes == ("git.repo", "project")
    assert [str(rule) for rule in config.team_from_email] == ["*@pay.example.com=payments", "*@*.x.io=$2"]
    config_file = tmp_path / "ccmon.toml"
    config_file.write_text('team_from_email = ["*@data.example.com=data"]\nproject_attributes = []\n')
    from_file = load_config(environ={}, config_file=config_file)
    assert [str(rule) for rule in from_file.team_from_email] == ["*@data.example.com=data"]
    assert from_file.project_attributes == ()
    assert load_config(environ={"CCMON_SCRAPE_TOKENS": "p1,p2"}).scrape_tokens == ("p1", "p2")


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"CCMON_TEAM_FROM_EMAIL": "payments"},
            "CCMON_TEAM_FROM_EMAIL: team rule 'payments' is not",
        ),
        ({"CCMON_TEAM_FROM_EMAIL": "*@*.example.com=$3"}, r"\$3 names no \*"),
        ({"CCMON_TEAM_FROM_EMAIL": "example.com=web"}, "must be an email pattern"),
    ],
)
def test_bad_team_rules_name_the_setting(values: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(environ=values)


def test_a_list_setting_in_the_file_must_be_a_list_of_text(tmp_path: Path) -> None:
    config_file = tmp_path / "ccmon.toml"
    config_file.write_text("project_attributes = [1, 2]\n")
    with pytest.raises(ConfigError, match=r"project_attributes in .*ccmon.toml: expected a list of text, got \[1, 2\]"):
        load_config(environ={}, config_file=config_file)


def test_budget_from_the_file_or_the_environment(tmp_path: Path) -> None:
    assert load_config(environ={"CCMON_MONTHLY_BUDGET_USD": "2500.50"}).monthly_budget_usd == 2500.5
    config_file = tmp_path / "ccmon.toml"
    config_file.write_text("monthly_budget_usd = 4000\n")
    assert load_config(environ={}, config_file=config_file).monthly_budget_usd == 4000.0
    assert load_config(environ={}).monthly_budget_usd is None


def test_unknown_file_keys_are_refused(tmp_path: Path) -> None:
    config_file = tmp_path / "ccmon.toml"
    config_file.write_text("prot = 1\n")
    with pytest.raises(ConfigError, match="unknown settings prot"):
        load_config(environ={}, config_file=config_file)


def test_every_setting_has_a_config_field_and_help() -> None:
    config = load_config(environ={})
    for setting in SETTINGS:
        assert hasattr(config, setting.name)
        assert setting.help.strip()


def test_configuration_doc_is_generated_from_the_settings() -> None:
    assert (REPO / "docs" / "configuration.md").read_text() == settings_markdown(), (
        "docs/configuration.md is stale: python -m ccmon.settings > docs/configuration.md"
    )


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("localhost", True),
        ("::1", True),
        ("0.0.0.0", False),
        ("192.0.2.1", False),
        ("example.com", False),
    ],
)
def test_loopback_detection(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_non_loopback_needs_tokens() -> None:
    with pytest.raises(ConfigError, match="ingest_tokens and api_tokens"):
        check_exposure(load_config(environ={}, flags={"host": "0.0.0.0"}))
    check_exposure(load_config(environ={}, flags={"host": "0.0.0.0", "ingest_tokens": "i", "api_tokens": "a"}))


def test_serve_refuses_to_start_exposed_without_tokens(tmp_path: Path) -> None:
    result = run_ccmon("serve", "--host", "0.0.0.0", "--data-dir", str(tmp_path))
    assert result.returncode == 2
    assert "refusing to listen on 0.0.0.0" in result.stderr


def test_an_unreachable_clickhouse_server_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    ports = (f"--{name}={free_port()}" for name in ("port", "otlp-grpc-port", "otlp-http-port"))
    result = run_ccmon(
        "serve", "--clickhouse-url", f"http://default:secret@127.0.0.1:{port}", "--data-dir", str(tmp_path), *ports
    )
    assert result.returncode == 1
    assert "ccmon: cannot open the store" in result.stderr
    assert "Traceback" not in result.stderr
    assert "secret" not in result.stderr


@pytest.mark.parametrize("busy", ["--port", "--otlp-grpc-port", "--otlp-http-port"])
def test_a_busy_port_is_a_clear_error(tmp_path: Path, busy: str) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        taken = sock.getsockname()[1]
        ports = {flag: str(free_port()) for flag in ("--port", "--otlp-grpc-port", "--otlp-http-port")}
        ports[busy] = str(taken)
        result = run_ccmon("serve", "--data-dir", str(tmp_path), *(item for pair in ports.items() for item in pair))
    assert result.returncode == 1
    assert result.stderr.startswith(f"ccmon: port {taken} (")
    assert result.stderr.endswith(
        f"is in use by another process. Stop the other process (another `ccmon serve`?) "
        f"or choose other ports ({busy})\n"
    )
    assert result.stderr.count("\n") == 1


def test_alert_settings_defaults_and_sources(tmp_path: Path) -> None:
    config = load_config(environ={})
    assert (config.alerts_file, config.alerts_enabled, config.alerts_interval_s, config.external_url) == (
        None,
        True,
        15,
        None,
    )
    toml = tmp_path / "ccmon.toml"
    toml.write_text('alerts_file = "/etc/ccmon/alerts.yaml"\nalerts_enabled = false\nalerts_interval_s = 30\n')
    config = load_config(environ={"CCMON_EXTERNAL_URL": "https://ccmon.example.com/"}, config_file=toml)
    assert (config.alerts_file, config.alerts_enabled, config.alerts_interval_s) == (
        "/etc/ccmon/alerts.yaml",
        False,
        30,
    )
    assert external_url(config) == "https://ccmon.example.com"


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"CCMON_ALERTS_INTERVAL_S": "0"}, "CCMON_ALERTS_INTERVAL_S: expected a whole number of at least 1"),
        ({"CCMON_ALERTS_ENABLED": "sometimes"}, "CCMON_ALERTS_ENABLED: expected a boolean"),
        ({"CCMON_EXTERNAL_URL": "ccmon.example.com"}, 'CCMON_EXTERNAL_URL: "ccmon.example.com" is not an http(s) URL'),
    ],
)
def test_bad_alert_settings_name_the_setting(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(environ=environ)
    assert str(caught.value).startswith(message)


@pytest.mark.parametrize(
    ("flags", "url"),
    [
        ({"port": "3000"}, "http://127.0.0.1:3000"),
        ({"host": "0.0.0.0", "port": "8080"}, "http://localhost:8080"),
        ({"host": "::1", "port": "3000"}, "http://[::1]:3000"),
        ({"host": "ccmon.internal", "tls_cert_file": "c.pem", "port": "443"}, "https://ccmon.internal:443"),
    ],
)
def test_the_external_url_defaults_to_this_servers_address(flags: dict[str, str], url: str) -> None:
    assert external_url(load_config(environ={}, flags=flags)) == url


def test_serve_refuses_to_start_with_a_malformed_alerts_file(tmp_path: Path) -> None:
    alerts_file = tmp_path / "alerts.yaml"
    alerts_file.write_text("rules:\n  - id: r1\n    name: R1\n    signal: cost\n    op: '>'\n    threshold: lots\n")
    ports = (f"--{name}={free_port()}" for name in ("port", "otlp-grpc-port", "otlp-http-port"))
    result = run_ccmon("serve", "--alerts-file", str(alerts_file), "--data-dir", str(tmp_path / "data"), *ports)
    assert result.returncode == 2, result.stderr
    assert f"alerts_file {alerts_file}:6: rules[0].threshold: expected a number" in result.stderr
    assert "Traceback" not in result.stderr
