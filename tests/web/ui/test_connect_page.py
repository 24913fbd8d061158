"""The Connect page's setup form (issue 15): the choices of `ccmon setup`, a preview that follows them, and a download
that is the API's file, byte for byte."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from playwright.sync_api import Page, expect

from tests.web.ui.conftest import Opened, UiServer, api, open_page, wait_ready

pytestmark = pytest.mark.browser

TEAM = "platform-qa"
DEPARTMENT = 'R&D "core"'


def _file(ui_server: UiServer, params: dict[str, str]) -> Any:
    """GET /api/v1/setup/file as the page asks it."""
    answer = ui_server.server.http.get(f"{ui_server.api_url}/api/v1/setup/file", params=params)
    assert answer.status_code == 200, answer.text
    return answer


def _download_params(page: Page) -> dict[str, str]:
    href = page.get_attribute("#setup-download", "href") or ""
    assert urlsplit(href).path == "/api/v1/setup/file", href
    return dict(parse_qsl(urlsplit(href).query))


def _ready(page: Page, **chosen: str) -> None:
    """Until the preview on screen answers the form as it is now (the link names the query the form makes; the
    preview says which query it answers), and the link asks for `chosen`."""
    page.wait_for_function(
        """chosen => {
            const link = document.querySelector("#setup-download"), output = document.querySelector("#setup-output");
            if (!link || !output) return false;
            const query = new URL(link.href).searchParams;
            return output.dataset.state === "ready" && output.dataset.key === query.toString()
                && Object.entries(chosen).every(([name, value]) => query.get(name) === value);
        }""",
        arg=chosen,
    )


def test_the_default_preview_is_the_user_settings_for_this_server(page: Page, ui_server: UiServer) -> None:
    open_page(page, ui_server, "/connect")
    _ready(page)
    choices = api(ui_server, "setup/options")
    assert page.locator("#setup-target option").evaluate_all("els => els.map(e => e.value)") == [
        t["name"] for t in choices["targets"]
    ]
    assert page.input_value("#setup-target") == "user"
    assert page.input_value("#setup-endpoint") == f"http://127.0.0.1:{ui_server.grpc_port}"
    settings = json.loads(page.text_content("#setup-preview") or "")
    assert settings["env"]["OTEL_EXPORTER_OTLP_ENDPOINT"] == f"http://127.0.0.1:{ui_server.grpc_port}"
    assert not [name for name in settings["env"] if name.startswith("OTEL_LOG_")]  # content capture off by default
    assert page.inner_text("#setup-install") == "~/.claude/settings.json"
    assert page.inner_text("#setup-command") == (
        f"ccmon setup --target user --endpoint http://127.0.0.1:{ui_server.grpc_port}"
    )
    for box in ("log-user-prompts", "log-assistant-responses", "log-tool-details"):
        assert not page.is_checked(f"#setup-{box}")
    assert "Privacy" in page.inner_text("#setup-privacy-note")
    assert page.is_disabled("#setup-headers-helper")  # gRPC by default
    assert "gRPC cannot use otelHeadersHelper" in page.inner_text("#setup-helper-note")
    # Every field is named by a label (the accessible name of each input and select).
    unlabelled = page.eval_on_selector_all(
        "#setup-form input, #setup-form select", "els => els.filter(e => !e.labels || !e.labels.length).map(e => e.id)"
    )
    assert unlabelled == []
    # What was there before is still there.
    assert "CLAUDE_CODE_ENABLE_TELEMETRY=1" in page.inner_text("pre#env-snippet")
    assert page.locator("#connect-status").count() == 1


def test_choices_update_the_preview_and_the_download_is_the_apis_file(
    page: Page, ui_server: UiServer, tmp_path: Path
) -> None:
    open_page(page, ui_server, "/connect")
    _ready(page)
    page.select_option("#setup-target", "managed")
    page.select_option("#setup-os", "macos")
    page.select_option("#setup-protocol", "http/protobuf")
    assert page.is_enabled("#setup-headers-helper")
    assert page.is_hidden("#setup-helper-note")
    page.fill("#setup-team", TEAM)
    page.fill("#setup-department", DEPARTMENT)
    page.check("#setup-budget-hook")
    _ready(page, target="managed", os="macos", team=TEAM, department=DEPARTMENT, budget_hook="1")
    expect(page.locator("#setup-preview")).to_contain_text(TEAM)

    settings = json.loads(page.text_content("#setup-preview") or "")
    env = settings["env"]
    http = f"http://127.0.0.1:{ui_server.otlp_http_url.rsplit(':', 1)[1]}"
    assert env["OTEL_EXPORTER_OTLP_PROTOCOL"] == "http/protobuf"
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == http  # the endpoint followed the protocol to the HTTP port
    assert f"team={TEAM}" in env["OTEL_RESOURCE_ATTRIBUTES"].split(",")
    hook = settings["hooks"]["UserPromptSubmit"][0]["hooks"][0]["command"]
    assert hook == f"ccmon hook budget --url {ui_server.api_url}"
    assert page.inner_text("#setup-install") == "/Library/Application Support/ClaudeCode/managed-settings.json"

    # The preview, the link and the command line are the API's answer for the same choices.
    params = _download_params(page)
    assert params | {"team": TEAM, "os": "macos", "target": "managed", "budget_hook": "1"} == params
    preview = _file(ui_server, params | {"format": "json"}).json()
    assert page.text_content("#setup-preview") == preview["content"]
    assert page.inner_text("#setup-command") == preview["command"]
    command = shlex.split(preview["command"])
    assert command[:6] == ["ccmon", "setup", "--target", "managed", "--os", "macos"]
    assert {"--team", TEAM, "--department", DEPARTMENT, "--budget-hook"} <= set(command)

    with page.expect_download() as download_info:
        page.click("#setup-download")
    download = download_info.value
    assert download.suggested_filename == "managed-settings.json"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    assert saved.read_text() == _file(ui_server, params).text == preview["content"]

    # The choices outlive the page's refresh (which draws the page again).
    page.eval_on_selector("#setup-form", "form => { form.dataset.before = 'refresh'; }")
    page.click("#refresh-now")
    page.wait_for_selector("#setup-form:not([data-before])")
    wait_ready(page)
    _ready(page, target="managed", team=TEAM)
    assert page.input_value("#setup-target") == "managed"
    assert page.input_value("#setup-team") == TEAM
    assert TEAM in page.inner_text("#setup-preview")


def test_with_a_token_the_download_is_still_the_apis_file(page: Page, ui_server: UiServer, tmp_path: Path) -> None:
    """A typed ingest token is kept out of the browser's download list: the previewed answer is saved instead of
    following the link, and it is the same file."""
    open_page(page, ui_server, "/connect")
    _ready(page)
    page.select_option("#setup-target", "shell")
    page.fill("#setup-token", "ccmi_page-token")
    _ready(page, target="shell", token="ccmi_page-token")
    with page.expect_download() as download_info:
        page.click("#setup-download")
    download = download_info.value
    assert download.suggested_filename == "ccmon-claude-code.sh"
    assert download.url.startswith("blob:")  # not the URL holding the token
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    assert saved.read_text() == _file(ui_server, _download_params(page)).text
    assert "ccmi_page-token" in saved.read_text()


def test_each_target_previews_its_own_file(page: Page, ui_server: UiServer) -> None:
    open_page(page, ui_server, "/connect")
    _ready(page)
    for target in ("managed-dropin", "macos-profile", "windows-reg", "shell", "user"):
        page.select_option("#setup-target", target)
        _ready(page, target=target)
        params = _download_params(page)
        preview = _file(ui_server, params | {"format": "json"}).json()
        assert page.inner_text("#setup-install") == preview["install_path"], target
        assert page.get_attribute("#setup-download", "download") == preview["filename"], target
        assert page.is_disabled("#setup-os") == (target in {"macos-profile", "windows-reg"}), target
        assert page.is_disabled("#setup-budget-hook") == (target == "shell"), target


def test_a_refused_value_says_why_and_grpc_takes_no_helper(open_browser: Opened, ui_server: UiServer) -> None:
    page = open_browser(allow=(422,))
    open_page(page, ui_server, "/connect")
    _ready(page)
    page.fill("#setup-metrics-interval-ms", "5")
    expect(page.locator("#setup-output")).to_have_attribute("data-state", "error")
    error = page.locator("#setup-error")
    expect(error).to_be_visible()
    assert "export interval is in milliseconds" in error.inner_text()
    assert page.get_attribute("#setup-download", "aria-disabled") == "true"
    page.fill("#setup-metrics-interval-ms", "30000")
    _ready(page, metrics_interval_ms="30000")
    expect(error).to_be_hidden()
    assert '"OTEL_METRIC_EXPORT_INTERVAL": "30000"' in page.inner_text("#setup-preview")

    page.select_option("#setup-protocol", "http/json")
    page.fill("#setup-headers-helper", "/usr/local/bin/ccmon-token")
    _ready(page, protocol="http/json", headers_helper="/usr/local/bin/ccmon-token")
    assert '"otelHeadersHelper": "/usr/local/bin/ccmon-token"' in (page.text_content("#setup-preview") or "")
    page.select_option("#setup-protocol", "grpc")
    assert page.is_disabled("#setup-headers-helper")
    assert page.is_visible("#setup-helper-note")
    _ready(page, protocol="grpc", endpoint=f"http://127.0.0.1:{ui_server.grpc_port}")
    assert "otelHeadersHelper" not in (page.text_content("#setup-preview") or "")  # a disabled field is not sent
