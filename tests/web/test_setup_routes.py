"""`GET /api/v1/setup/options` and `GET /api/v1/setup/file`: the Connect page's choices and files, the same as
`ccmon setup`'s.

The router is served by uvicorn on a loopback port with the real authenticator over a real store; the files are
compared with what `ccmon.onboarding.targets.render_file` and `ccmon setup`'s own argument parser make.
"""

from __future__ import annotations

import argparse
import json
import logging
import plistlib
import shlex
import subprocess
import urllib.parse
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from ccmon import setup_cli
from ccmon.auth.api_keys import ApiKeys
from ccmon.auth.authenticator import AuthSettings, open_authenticator
from ccmon.auth.principal import Role
from ccmon.onboarding.options import options_from_mapping, resource_attributes_value
from ccmon.onboarding.targets import OS_NAMES, TARGETS, render_file
from ccmon.store.facade import Store
from ccmon.web.setup_routes import TARGET_OS, setup_routes
from ccmon.web.ui import ServerInfo
from tests.support import in_process_server, make_config
from tests.web.roles_data import serving

OPTIONS, FILE = "/api/v1/setup/options", "/api/v1/setup/file"
GRPC_PORT, HTTP_PORT = 14317, 14318
INFO = ServerInfo(
    version="test",
    otlp_host=None,
    otlp_grpc_port=GRPC_PORT,
    otlp_http_port=HTTP_PORT,
    ingest_token_required=True,
    api_token_required=False,
    monthly_budget_usd=None,
    parallel_requests=1,
    demo_domain="demo.example",
)
TOKEN = "ccmi_SECRET-token.value"


@pytest.fixture(scope="module")
def module_store(chdb_path: Path, clickhouse_url: str | None) -> Iterator[Store]:
    database = f"test_setup_{uuid.uuid4().hex[:12]}"
    store = Store.open(url=clickhouse_url, database=database) if clickhouse_url else None
    store = store or Store.open(data_dir=str(chdb_path), database=database)
    store.migrate()
    try:
        yield store
    finally:
        store.command(f"DROP DATABASE IF EXISTS `{database}` SYNC")
        store.close()


def _app(store: Store, *, loopback: bool) -> FastAPI:
    app = FastAPI()
    authenticator = open_authenticator(AuthSettings(loopback=loopback), store)
    app.include_router(setup_routes(authenticator, INFO), prefix="/api/v1")
    return app


@pytest.fixture(scope="module")
def client(module_store: Store) -> Iterator[httpx.Client]:
    """A loopback server with no users: every local caller is the admin, as `ccmon serve` on a laptop."""
    with serving(_app(module_store, loopback=True)) as served:
        yield served


@pytest.fixture(scope="module")
def remote(module_store: Store) -> Iterator[httpx.Client]:
    """A server that is not loopback-only: every request must authenticate."""
    with serving(_app(module_store, loopback=False)) as served:
        yield served


def _base(client: httpx.Client) -> str:
    return str(client.base_url).rstrip("/")


def _defaults(client: httpx.Client, protocol: str = "grpc") -> dict[str, str]:
    """What the route fills in when the page leaves the endpoint and the API URL alone."""
    port = GRPC_PORT if protocol == "grpc" else HTTP_PORT
    return {"endpoint": f"http://127.0.0.1:{port}", "protocol": protocol, "ccmon_url": _base(client)}


def _file(client: httpx.Client, **params: str) -> httpx.Response:
    return client.get(FILE, params=params)


# -- the choices ---------------------------------------------------------------------------------------------------


def test_options_offer_every_target_with_its_paths_and_this_servers_endpoints(client: httpx.Client) -> None:
    answer = client.get(OPTIONS)
    assert answer.status_code == 200, answer.text
    choices = answer.json()
    assert [t["name"] for t in choices["targets"]] == list(TARGETS)
    sample = options_from_mapping(_defaults(client))
    for target in choices["targets"]:
        assert target["label"] and target["note"]
        assert target["os"] == list(TARGET_OS[target["name"]])
        for os_name, path in target["install_paths"].items():
            assert path == render_file(target["name"], sample, os_name=os_name).install_path
    paths = {t["name"]: t["install_paths"] for t in choices["targets"]}
    assert paths["managed"] == {
        "linux": "/etc/claude-code/managed-settings.json",
        "macos": "/Library/Application Support/ClaudeCode/managed-settings.json",
        "windows": "C:\\Program Files\\ClaudeCode\\managed-settings.json",
    }
    assert [o["name"] for o in choices["os"]] == list(OS_NAMES)
    protocols = {p["name"]: p for p in choices["protocols"]}
    assert protocols["grpc"]["endpoint"] == f"http://127.0.0.1:{GRPC_PORT}"
    assert (
        protocols["http/protobuf"]["endpoint"] == protocols["http/json"]["endpoint"] == f"http://127.0.0.1:{HTTP_PORT}"
    )
    assert [p["headers_helper"] for p in choices["protocols"]] == [False, True, True]
    assert choices["requires"] == {"headers_helper": {"protocol": ["http/protobuf", "http/json"]}}
    assert choices["defaults"]["endpoint"] == protocols["grpc"]["endpoint"]
    assert choices["api_url"] == choices["defaults"]["ccmon_url"] == _base(client)
    assert set(choices["needs_api_url"]) == {"budget_hook", "policy_hook", "statusline"}
    assert {"log_user_prompts", "log_assistant_responses", "log_tool_details"} <= set(choices["flags"])
    assert client.get(OPTIONS, params={"target": "user"}).status_code == 422  # it takes no parameters


# -- the files -----------------------------------------------------------------------------------------------------

EVERY_FILE = [(target, os_name) for target in TARGETS for os_name in TARGET_OS[target]]


@pytest.mark.parametrize(("target", "os_name"), EVERY_FILE, ids=[f"{t}-{o}" for t, o in EVERY_FILE])
def test_each_target_downloads_the_file_setup_renders(client: httpx.Client, target: str, os_name: str) -> None:
    chosen = {"team": "platform", "cost_center": "ENG-001", "token": TOKEN, "metrics_interval_ms": "30000"}
    download = _file(client, target=target, os=os_name, **chosen)
    assert download.status_code == 200, download.text
    expected = render_file(target, options_from_mapping(_defaults(client) | chosen), os_name=os_name)
    assert download.text == expected.content
    assert download.headers["content-disposition"] == f'attachment; filename="{expected.filename}"'
    assert download.headers["content-type"].split(";")[0] == expected.media_type
    assert download.headers["cache-control"] == "no-store"  # it may hold a token

    preview = _file(client, target=target, os=os_name, format="json", **chosen)
    assert preview.status_code == 200, preview.text
    body = preview.json()
    assert body["content"] == download.text
    assert (body["filename"], body["media_type"]) == (expected.filename, expected.media_type)
    assert (body["install_path"], body["note"], body["os"]) == (expected.install_path, expected.note, os_name)


def _settings(client: httpx.Client, **params: str) -> dict[str, Any]:
    answer = _file(client, target="user", **params)
    assert answer.status_code == 200, answer.text
    settings: dict[str, Any] = json.loads(answer.text)
    return settings


def test_the_chosen_values_are_in_the_file(client: httpx.Client) -> None:
    settings = _settings(
        client,
        protocol="http/json",
        headers_helper="/usr/local/bin/ccmon-token",
        team="platform",
        department="engineering",
        cost_center="ENG-001",
        resource_attributes="project=checkout",
        metrics_interval_ms="30000",
        logs_interval_ms="2000",
        log_user_prompts="1",
        traces="on",
        budget_hook="1",
        policy_hook="true",
        statusline="1",
        ccmon_command="/opt/ccmon/bin/ccmon",
    )
    env = settings["env"]
    assert env["OTEL_EXPORTER_OTLP_PROTOCOL"] == "http/json"
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == f"http://127.0.0.1:{HTTP_PORT}"  # the HTTP port for http/*
    attributes = dict(item.split("=", 1) for item in env["OTEL_RESOURCE_ATTRIBUTES"].split(","))
    assert attributes == {
        "project": "checkout",
        "team": "platform",
        "department": "engineering",
        "cost_center": "ENG-001",
    }
    assert (env["OTEL_METRIC_EXPORT_INTERVAL"], env["OTEL_LOGS_EXPORT_INTERVAL"]) == ("30000", "2000")
    assert env["OTEL_LOG_USER_PROMPTS"] == "1" and env["OTEL_TRACES_EXPORTER"] == "otlp"
    assert "OTEL_LOG_TOOL_DETAILS" not in env and "OTEL_LOG_ASSISTANT_RESPONSES" not in env  # off unless asked
    assert "OTEL_EXPORTER_OTLP_HEADERS" not in env
    assert settings["otelHeadersHelper"] == "/usr/local/bin/ccmon-token"
    budget = settings["hooks"]["UserPromptSubmit"][0]["hooks"][0]["command"]
    assert budget == f"/opt/ccmon/bin/ccmon hook budget --url {_base(client)}"
    assert "policy --url" in settings["hooks"]["PreToolUse"][0]["hooks"][0]["command"]
    assert settings["statusLine"]["command"] == f"/opt/ccmon/bin/ccmon statusline --url {_base(client)}"


def test_defaults_turn_nothing_on_and_a_given_endpoint_wins(client: httpx.Client) -> None:
    settings = _settings(client)
    assert set(settings) == {"env"}
    assert settings["env"]["OTEL_EXPORTER_OTLP_ENDPOINT"] == f"http://127.0.0.1:{GRPC_PORT}"
    assert not [name for name in settings["env"] if name.startswith("OTEL_LOG_")]
    given = _settings(client, endpoint="https://otel.example.com:443", token=TOKEN)["env"]
    assert given["OTEL_EXPORTER_OTLP_ENDPOINT"] == "https://otel.example.com:443"
    header = given["OTEL_EXPORTER_OTLP_HEADERS"]
    assert header.startswith("Authorization=Bearer") and header.endswith(TOKEN)


def _setup_args(command: str) -> argparse.Namespace:
    argv = shlex.split(command)
    assert argv[:2] == ["ccmon", "setup"], command
    parser = argparse.ArgumentParser(prog="ccmon")
    setup_cli.add_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(argv[1:])


COMMAND_CASES = [
    {"target": "user"},
    {"target": "managed", "os": "windows", "team": "data eng", "department": "R&D", "budget_hook": "1"},
    {"target": "managed-dropin", "os": "macos", "protocol": "http/protobuf", "headers_helper": "/opt/bin/tok it"},
    {"target": "macos-profile", "token": TOKEN, "statusline": "1", "ccmon_command": "uvx ccmon"},
    {"target": "windows-reg", "log_tool_details": "1", "resource_attributes": "project=a b,repo=x"},
    {"target": "shell", "protocol": "http/json", "metrics_interval_ms": "1000", "logs_interval_ms": "900"},
]


@pytest.mark.parametrize("params", COMMAND_CASES, ids=[c["target"] for c in COMMAND_CASES])
def test_the_command_line_makes_the_same_file(client: httpx.Client, params: dict[str, str]) -> None:
    """Parsed by `ccmon setup`'s own parser, the command shown renders exactly the previewed file."""
    preview = _file(client, format="json", **params).json()
    args = _setup_args(preview["command"])
    assert args.target == params["target"]
    if params["target"].startswith("managed"):
        assert args.os_name == params["os"]
    rendered = render_file(args.target, setup_cli.options_from_args(args), os_name=preview["os"])
    assert rendered.content == preview["content"], preview["command"]
    assert "--ccmon-url" in preview["command"] or not {"budget_hook", "statusline"} & set(params)


# -- refusals ------------------------------------------------------------------------------------------------------

REFUSED = {
    "unknown target": {"target": "project"},
    "unknown os": {"target": "managed", "os": "beos"},
    "a profile for windows": {"target": "macos-profile", "os": "windows"},
    "a .reg for linux": {"target": "windows-reg", "os": "linux"},
    "unknown protocol": {"target": "user", "protocol": "udp"},
    "unknown format": {"target": "user", "format": "xml"},
    "grpc with a headers helper": {"target": "user", "protocol": "grpc", "headers_helper": "/bin/token"},
    "newline in a team": {"target": "user", "team": "platform\nOTEL_LOG_USER_PROMPTS=1"},
    "carriage return in a path": {"target": "managed", "headers_helper": "/x\r/y", "protocol": "http/json"},
    "NUL in a department": {"target": "shell", "department": "a\x00b"},
    "line separator in a team": {"target": "windows-reg", "team": "a\u2028b"},
    "a huge team": {"target": "user", "team": "x" * 10_000},
    "a huge token": {"target": "user", "token": "a" * 5000},
    "a quote in the token": {"target": "shell", "token": 'abc"; rm -rf ~; "'},
    "a space in the token": {"target": "user", "token": "abc def"},
    "unicode in the token": {"target": "user", "token": "tökén"},
    "an interval in seconds": {"target": "user", "metrics_interval_ms": "5"},
    "an interval that is not a number": {"target": "user", "logs_interval_ms": "1e9"},
    "a flag that is neither on nor off": {"target": "user", "traces": "maybe"},
    "an endpoint without a port": {"target": "user", "endpoint": "http://ccmon.internal"},
    "an endpoint with a comma": {"target": "user", "endpoint": "http://a:4317,http://b:4317"},
    "a javascript endpoint": {"target": "user", "endpoint": "javascript:alert(1)"},
    "a grpc endpoint with a path": {"target": "user", "endpoint": "http://ccmon:4317/v1/logs"},
    "an API URL with a password": {"target": "user", "budget_hook": "1", "ccmon_url": "http://u:p@ccmon:3000"},
    "an attribute without a value": {"target": "user", "resource_attributes": "project"},
    "a hook in a shell snippet": {"target": "shell", "budget_hook": "1"},
    "a headers helper in a shell snippet": {"target": "shell", "protocol": "http/json", "headers_helper": "/bin/t"},
    "a misspelt option": {"target": "user", "teams": "platform"},
}


@pytest.mark.parametrize("params", list(REFUSED.values()), ids=list(REFUSED))
def test_bad_and_hostile_values_are_a_422(client: httpx.Client, params: dict[str, str]) -> None:
    for fmt in ("file", "json"):
        answer = client.get(FILE, params={"format": fmt} | params)
        assert answer.status_code == 422, (params, answer.status_code, answer.text[:300])
        detail = answer.json()["detail"]
        assert detail, answer.text
        if isinstance(detail, str):  # ours (FastAPI's own for a value outside an enum is a list)
            assert "\n" not in detail and len(detail) < 600, detail
        assert "content-disposition" not in answer.headers


def test_the_422_says_why(client: httpx.Client) -> None:
    grpc = _file(client, target="user", headers_helper="/bin/token").json()["detail"]
    assert "gRPC cannot use otelHeadersHelper" in grpc
    assert "team must be one line" in _file(client, target="user", team="a\nb").json()["detail"]
    assert "too long" in _file(client, target="user", team="x" * 300).json()["detail"]
    repeated = client.get(FILE, params=[("target", "user"), ("team", "a"), ("team", "b")])
    assert repeated.status_code == 422 and "more than once" in repeated.json()["detail"]
    misspelt = _file(client, target="user", teams="platform").json()["detail"]
    assert "'teams'" in misspelt and "team" in misspelt
    assert _file(client, target="user", os="windows").status_code == 200  # the user target is for every system


HOSTILE_VALUES = ["R&D \"core\" 'team'", "Équipe données — 東京", "a,b=c;d%20e", "$(touch pwned) `id` ${HOME}"]


@pytest.mark.parametrize("value", HOSTILE_VALUES)
def test_quotes_and_unicode_in_attributes_survive_every_format(
    client: httpx.Client, tmp_path: Path, value: str
) -> None:
    """Accepted, and carried exactly: percent-encoded in OTEL_RESOURCE_ATTRIBUTES, escaped for JSON, plist, .reg
    and the shell (a sourced snippet runs nothing and sets exactly the encoded value)."""
    expected = options_from_mapping(_defaults(client) | {"team": value})
    wanted = resource_attributes_value({"team": value})
    assert urllib.parse.unquote(wanted.removeprefix("team=")) == value and "," not in wanted
    env = json.loads(_file(client, target="managed", team=value).text)["env"]
    assert env["OTEL_RESOURCE_ATTRIBUTES"] == wanted
    profile = plistlib.loads(_file(client, target="macos-profile", team=value).content)
    assert profile["PayloadContent"][0]["env"]["OTEL_RESOURCE_ATTRIBUTES"] == wanted
    reg = _file(client, target="windows-reg", team=value)
    assert reg.status_code == 200 and reg.text == render_file("windows-reg", expected).content
    snippet = tmp_path / "snippet.sh"
    snippet.write_text(_file(client, target="shell", team=value).text)
    shown = subprocess.run(
        ["sh", "-c", '. ./snippet.sh && printf %s "$OTEL_RESOURCE_ATTRIBUTES"'],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
        timeout=10,
    )
    assert shown.stdout == wanted
    assert not (tmp_path / "pwned").exists()


def test_a_hostile_host_header_does_not_reach_the_file(module_store: Store, remote: httpx.Client) -> None:
    """The endpoint and API URL default to the host the caller named: a forged Host must not end up in settings."""
    _, key = ApiKeys(module_store).create("setup-host", role=Role.VIEWER)
    headers = {"authorization": f"Bearer {key}", "host": 'evil.example"; x=1'}
    answer = remote.get(FILE, params={"target": "user", "budget_hook": "1"}, headers=headers)
    assert answer.status_code == 200, answer.text
    assert "evil" not in answer.text
    assert json.loads(answer.text)["env"]["OTEL_EXPORTER_OTLP_ENDPOINT"] == f"http://127.0.0.1:{GRPC_PORT}"
    named = remote.get(OPTIONS, headers={"authorization": f"Bearer {key}", "host": "ccmon.example.com:3000"}).json()
    assert named["api_url"] == "http://ccmon.example.com:3000"
    assert named["defaults"]["endpoint"] == f"http://ccmon.example.com:{GRPC_PORT}"


# -- who may ask ---------------------------------------------------------------------------------------------------


def test_off_loopback_a_credential_is_needed_and_any_role_may_ask(module_store: Store, remote: httpx.Client) -> None:
    for path, params in ((OPTIONS, {}), (FILE, {"target": "user"}), (FILE, {"target": "shell", "format": "json"})):
        refused = remote.get(path, params=params)
        assert refused.status_code == 401, refused.text
        assert remote.get(path, params=params, headers={"authorization": "Bearer nope"}).status_code == 401
    for role in (Role.VIEWER, Role.DEVELOPER, Role.ADMIN):
        _, key = ApiKeys(module_store).create(f"setup-{role.value}", role=role, person="ann@example.com")
        headers = {"authorization": f"Bearer {key}"}
        assert remote.get(OPTIONS, headers=headers).status_code == 200
        assert remote.get(FILE, params={"target": "managed"}, headers=headers).status_code == 200


def test_loopback_without_login_may_ask_but_not_from_a_rebound_name(client: httpx.Client) -> None:
    assert client.get(OPTIONS).status_code == 200
    assert client.get(OPTIONS, headers={"host": "attacker.example"}).status_code == 403


def test_the_server_serves_them_and_never_logs_the_token(
    chdb_path: Path, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    """Through `ccmon serve` itself (server_app mounts the router): the token travels in the query string, and
    neither the log nor the output repeats it, whatever the answer."""
    config = make_config(chdb_path, database=f"setup_{uuid.uuid4().hex[:12]}")
    with caplog.at_level(logging.DEBUG), in_process_server(config) as server:
        base = f"{server.api_url}{FILE}"
        good = server.http.get(base, params={"target": "user", "token": TOKEN})
        bad = server.http.get(base, params={"target": "user", "token": TOKEN + '"', "team": "a\nb"})
        preview = server.http.get(base, params={"target": "managed", "token": TOKEN, "format": "json"})
        choices = server.http.get(f"{server.api_url}{OPTIONS}").json()
    assert (good.status_code, bad.status_code, preview.status_code) == (200, 422, 200)
    assert TOKEN in json.loads(good.text)["env"]["OTEL_EXPORTER_OTLP_HEADERS"]
    assert choices["defaults"]["endpoint"] == f"http://127.0.0.1:{config.otlp_grpc_port}"
    assert choices["api_url"] == server.api_url
    output = capfd.readouterr()
    # The test's own HTTP client (httpx, httpcore) logs the URLs it asks for: only the server's records count.
    logged = [r.getMessage() for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    assert any("shutting down" in line for line in logged), "the server's log was not captured: this proves nothing"
    assert not [line for line in logged if TOKEN in line]
    assert TOKEN not in output.out + output.err
