"""The web UI's server side: the shell at every page path, its scripts, the security headers, `/api/v1/server`."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from ccmon.web.ui import PAGES, STATIC
from tests.support import RunningServer, in_process_server, make_config

PAGE_PATHS = [*PAGES, "/people/zoe%40example.com", "/sessions/3f3f3140-d677-44fd", "/sessions/a%2Fb"]


@pytest.mark.parametrize("path", PAGE_PATHS)
def test_every_page_path_answers_the_shell_with_a_strict_policy(server: RunningServer, path: str) -> None:
    response = server.http.get(server.api_url + path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert '<main id="page"' in response.text
    policy = response.headers["content-security-policy"]
    # No inline script or style and nothing from another origin: telemetry text can never run as code.
    assert "script-src 'self'" in policy and "style-src 'self'" in policy and "unsafe" not in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    assert server.http.head(server.api_url + path).status_code == 200


def test_unknown_paths_say_so_to_browsers_and_to_programs(server: RunningServer) -> None:
    browser = {"accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    page = server.http.get(server.api_url + "/nope", headers=browser)
    # A browser gets the shell, whose script draws "Page not found" with the navigation, under a 404.
    assert page.status_code == 404 and '<main id="page"' in page.text
    assert page.headers["content-security-policy"]
    program = server.http.get(server.api_url + "/nope")
    assert program.status_code == 404
    assert program.json() == {
        "detail": "Not Found: /nope is neither a page nor an API path (the API is /api/v1, described at /openapi.json)"
    }
    for path in ("/api/v1/nope", "/static/js/nope.js"):
        response = server.http.get(server.api_url + path, headers=browser)
        assert response.status_code == 404 and '<main id="page"' not in response.text, path
    escape = server.http.get(server.api_url + "/static/../ui.py")
    assert escape.status_code == 404 and "import" not in escape.text
    # Other errors are FastAPI's own.
    assert server.http.post(server.api_url + "/api/v1/summary").json() == {"detail": "Method Not Allowed"}


def test_every_script_the_shell_names_is_served_and_nothing_comes_from_elsewhere(server: RunningServer) -> None:
    shell = server.http.get(server.api_url + "/").text
    login = server.http.get(server.api_url + "/login").text
    for page in (shell, login):
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", page), "the UI must work offline"
    # Two entry points: the dashboard's app.js, and the login page's own script (it needs nothing of the app).
    assert '<script type="module" src="/static/js/login.js"></script>' in login
    # Every module, found by following imports from the entry points, is served as JavaScript.
    pending, seen = ["/static/js/app.js", "/static/js/login.js"], set()
    while pending:
        path = pending.pop()
        if path in seen:
            continue
        seen.add(path)
        response = server.http.get(server.api_url + path)
        assert response.status_code == 200, path
        assert "javascript" in response.headers["content-type"]
        assert response.headers["cache-control"] == "no-cache"
        base = path.rsplit("/", 1)[0]
        for target in re.findall(r'^import\b[^;]*?from\s+"([^"]+)";', response.text, re.MULTILINE):
            assert target.startswith("."), f"{path} imports {target}: only the UI's own modules may be loaded"
            pending.append(str(Path(base, target).resolve()))
    on_disk = {"/static/" + str(p.relative_to(STATIC)) for p in STATIC.rglob("*.js")}
    assert seen == on_disk, "a script on disk is not reachable from an entry point (dead code), or the other way round"
    # The shell preloads every module, so the browser fetches them at once rather than one import level at a time.
    preloaded = set(re.findall(r'<link rel="modulepreload" href="([^"]+)">', shell))
    assert preloaded | {"/static/js/app.js", "/static/js/login.js"} == on_disk
    assert server.http.get(server.api_url + "/static/app.css").status_code == 200


def test_server_info_tells_where_to_send_telemetry(server: RunningServer) -> None:
    info = server.http.get(server.api_url + "/api/v1/server").json()
    assert info == {
        "version": info["version"],
        "otlp_host": "127.0.0.1",
        "otlp_grpc_port": server.config.otlp_grpc_port,
        "otlp_http_port": server.config.otlp_http_port,
        "ingest_token_required": False,
        "api_token_required": False,
        "monthly_budget_usd": None,
        "parallel_requests": 2,
        "demo_domain": "northwind.example",
        "has_data": False,
        "loading": None,
    }
    server.post("logs", b'{"resourceLogs": []}', "application/json")
    log = (
        b'{"resourceLogs":[{"resource":{},"scopeLogs":[{"logRecords":[{"timeUnixNano":"1764000000000000000",'
        b'"body":{"stringValue":"claude_code.user_prompt"},"attributes":[{"key":"event.name","value":'
        b'{"stringValue":"user_prompt"}},{"key":"session.id","value":{"stringValue":"s1"}}]}]}]}]}'
    )
    assert server.post("logs", log, "application/json").status_code == 200
    assert server.http.get(server.api_url + "/api/v1/server").json()["has_data"] is True


def test_server_info_needs_the_api_token_and_carries_the_budget(chdb_path: Path, database: str) -> None:
    config = make_config(
        chdb_path, database=database, api_tokens=("reader-1",), ingest_tokens=("in-1",), monthly_budget_usd=2500.0
    )
    with in_process_server(config) as running:
        url = f"{running.api_url}/api/v1/server"
        assert httpx.get(url).status_code == 401
        # The shell itself is public: it holds no data, and it is where the token is asked for.
        assert httpx.get(f"{running.api_url}/cost").status_code == 200
        info = httpx.get(url, headers={"authorization": "Bearer reader-1"}).json()
    assert (info["ingest_token_required"], info["api_token_required"], info["monthly_budget_usd"]) == (True, True, 2500)
