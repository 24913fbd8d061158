"""`ccmon hook budget|policy`: the output contract Claude Code reads, for each decision and each failure.

Against a real server (`ccmon serve` in this process, with an ingest token; usage sent to it as OTLP) and, for the
failures, a closed port, a server answering 500 and a server too slow to answer. The contract (docs "Hooks"):
block = exit status 2 with the reason on stderr; warn = `{"systemMessage": ...}` on stdout once per session and
threshold; policy deny = `hookSpecificOutput.permissionDecision: deny`; allow = nothing; cannot check = exit 0 with
a `systemMessage` (or exit 2 with `--fail-closed`).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from ccmon import hook_cli
from ccmon.onboarding.caller import DEFAULT_URL
from ccmon.onboarding.claude_files import token_from_otel_headers
from ccmon.store.records import utc_now
from tests.alerts.telemetry import Usage, logs_body, metrics_body
from tests.support import free_port, http_server, in_process_server, make_config

ANN, BOB, CAROL = "ann@example.com", "bob@example.com", "carol@example.com"


@dataclass
class Server:
    url: str
    token: str


@dataclass(frozen=True)
class Run:
    status: int
    stdout: str
    stderr: str

    @property
    def output(self) -> Any:
        return json.loads(self.stdout) if self.stdout.strip() else None


TOKEN = "cc-hook-cli-token"


@pytest.fixture(scope="module")
def server(chdb_path: Path) -> Iterator[Server]:
    """`ccmon serve` (in this process) asking for an ingest token, with Ann over her hard cap, Bob past the warning
    threshold, Carol well within, and Bash denied to everyone; usage sent as OTLP, budgets made through the API."""
    config = make_config(chdb_path, database=f"test_{uuid.uuid4().hex[:12]}", ingest_tokens=(TOKEN,))
    with in_process_server(config) as running:
        at = utc_now() - timedelta(seconds=5)
        usages = [
            Usage(person=ANN, at=at, cost=12.0, session="s-ann", account_uuid="acct-ann"),
            Usage(person=BOB, at=at, cost=8.0, session="s-bob"),
            Usage(person=CAROL, at=at, cost=1.0, session="s-carol"),
        ]
        auth = {"authorization": f"Bearer {TOKEN}"}
        for signal, payload in (("metrics", metrics_body(usages)), ("logs", logs_body(usages))):
            assert running.post(signal, payload, "application/json", **auth).status_code == 200
        budget = {
            "id": "cap",
            "name": "Developer cap",
            "scope": "organization",
            "period": "monthly",
            "amount": 10,
            "per_person": True,
            "enforce": "block",
        }
        policy = {"id": "no-bash", "scope": "organization", "deny_tools": ["Bash"], "enforce": "block"}
        for path, definition in (("budgets", budget), ("policies", policy)):
            created = running.http.post(f"{running.api_url}/api/v1/{path}", json=definition)
            assert created.status_code == 201, created.text
        yield Server(running.api_url, TOKEN)


def _event(session: str = "s-ann", **extra: Any) -> bytes:
    event = {
        "session_id": session,
        "transcript_path": "",
        "cwd": "/tmp",
        "hook_event_name": "UserPromptSubmit",
        "prompt": "hello",
        **extra,
    }
    return json.dumps(event).encode()


def _args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    hook_cli.add_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["hook", *argv])


def _run(argv: list[str], stdin: bytes, env: dict[str, str]) -> Run:
    """In this process, with the given environment only."""
    out, err = io.StringIO(), io.StringIO()
    status = hook_cli.run(_args(argv), stdin=io.BytesIO(stdin), stdout=out, stderr=err, environ=env)
    return Run(status, out.getvalue(), err.getvalue())


def _process(argv: list[str], stdin: bytes, env: dict[str, str]) -> Run:
    """As Claude Code runs it: a child process, its exit status and output."""
    done = subprocess.run(
        [sys.executable, "-m", "ccmon.hook_cli", *argv],
        input=stdin,
        capture_output=True,
        env={"PATH": "/usr/bin:/bin", **env},
        timeout=60,
        check=False,
    )
    return Run(done.returncode, done.stdout.decode(), done.stderr.decode())


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A developer's environment: an empty home, warnings remembered under it."""
    home = tmp_path / "home"
    home.mkdir()
    return {"HOME": str(home), "XDG_STATE_HOME": str(tmp_path / "state")}


def test_over_the_hard_cap_the_prompt_is_blocked_with_the_reason(server: Server, env: dict[str, str]) -> None:
    run = _process(["budget", "--url", server.url, "--token", server.token], _event("s-ann"), env)
    assert run.status == 2, run
    assert run.stdout == ""
    assert run.stderr.startswith("ccmon: ")
    assert "exhausted" in run.stderr and "$12.00 of $10.00" in run.stderr


def test_past_the_warning_threshold_it_warns_once_per_session(server: Server, env: dict[str, str]) -> None:
    env = {**env, "CCMON_URL": server.url, "CCMON_TOKEN": server.token}
    first = _run(["budget"], _event("s-bob"), env)
    assert (first.status, first.stderr) == (0, "")
    assert set(first.output) == {"systemMessage"}
    assert "80%" in first.output["systemMessage"]
    assert _run(["budget"], _event("s-bob"), env) == Run(0, "", "")
    # Another session of Bob's (named by --person, its telemetry not there yet) is warned again.
    again = _run(["budget", "--person", BOB], _event("s-bob-2"), env)
    assert "systemMessage" in again.output


def test_within_budget_and_unknown_people_pass_silently(server: Server, env: dict[str, str]) -> None:
    env = {**env, "CCMON_URL": server.url, "CCMON_TOKEN": server.token}
    assert _run(["budget"], _event("s-carol"), env) == Run(0, "", "")
    assert _run(["budget"], _event("first-prompt-ever"), env) == Run(0, "", "")


def test_the_login_in_claude_json_identifies_a_new_session(server: Server, env: dict[str, str], tmp_path: Path) -> None:
    env = {**env, "CCMON_URL": server.url, "CCMON_TOKEN": server.token}
    (Path(env["HOME"]) / ".claude.json").write_text(json.dumps({"oauthAccount": {"emailAddress": ANN}}))
    assert _run(["budget"], _event("new-session"), env).status == 2
    # CLAUDE_CONFIG_DIR moves the file: then the home's one is not read.
    config = tmp_path / "config"
    config.mkdir()
    assert _run(["budget"], _event("new-session"), {**env, "CLAUDE_CONFIG_DIR": str(config)}).status == 0
    (config / ".claude.json").write_text(json.dumps({"oauthAccount": {"accountUuid": "acct-ann"}}))
    assert _run(["budget"], _event("new-session"), {**env, "CLAUDE_CONFIG_DIR": str(config)}).status == 2


def test_the_token_comes_from_the_otlp_exporter_headers(server: Server, env: dict[str, str]) -> None:
    env = {**env, "CCMON_URL": server.url}
    assert "401" in _run(["budget"], _event("s-ann"), env).stderr  # no token: refused, fails open
    headers = f"x-team=platform,Authorization=Bearer%20{server.token}"
    assert _run(["budget"], _event("s-ann"), {**env, "OTEL_EXPORTER_OTLP_HEADERS": headers}).status == 2
    # Claude Code does not pass OTEL_* to hooks: the user's settings file has it.
    settings = Path(env["HOME"]) / ".claude" / "settings.json"
    settings.parent.mkdir()
    settings.write_text(json.dumps({"env": {"OTEL_EXPORTER_OTLP_HEADERS": headers}}))
    assert _run(["budget"], _event("s-ann"), env).status == 2


def test_a_wrong_token_fails_open_with_a_visible_warning(server: Server, env: dict[str, str]) -> None:
    run = _run(["budget", "--url", server.url, "--token", "ccmi_wrong"], _event("s-ann"), env)
    assert run.status == 0
    assert "401" in run.output["systemMessage"] and "CCMON_TOKEN" in run.output["systemMessage"]
    assert run.stderr.strip() == run.output["systemMessage"]


def test_the_policy_hook_denies_a_tool(server: Server, env: dict[str, str]) -> None:
    env = {**env, "CCMON_URL": server.url, "CCMON_TOKEN": server.token}
    event = _event("s-carol", hook_event_name="PreToolUse", tool_name="Bash", tool_input={"command": "ls"})
    run = _process(["policy"], event, env)
    assert run.status == 0, run
    output = run.output["hookSpecificOutput"]
    assert output["hookEventName"] == "PreToolUse"
    assert output["permissionDecision"] == "deny"
    assert "Bash" in output["permissionDecisionReason"] and "no-bash" in output["permissionDecisionReason"]
    allowed = _event("s-carol", hook_event_name="PreToolUse", tool_name="Write", tool_input={})
    assert _run(["policy"], allowed, env) == Run(0, "", "")


def test_a_huge_prompt_is_still_checked(server: Server, env: dict[str, str]) -> None:
    event = _event("s-ann", prompt="x" * (3 * hook_cli.MAX_EVENT_BYTES))
    assert _run(["budget", "--url", server.url, "--token", server.token], event, env).status == 2


def test_malformed_input_fails_open_with_a_warning(env: dict[str, str]) -> None:
    for stdin in (b"not json", b"[1, 2]", b""):
        run = _run(["budget", "--url", f"http://127.0.0.1:{free_port()}"], stdin, env)
        assert run.status == 0
        assert "not JSON" in run.stderr or "not a JSON object" in run.stderr
        assert run.output["systemMessage"].startswith("ccmon: ")


def test_a_mistyped_hook_command_does_not_block(env: dict[str, str]) -> None:
    """argparse's usage errors exit with 2, which Claude Code would read as "block" at every prompt."""
    for argv in (["budget", "--bogus"], ["budgett"], ["budget", "--timeout", "soon"]):
        run = _process(argv, _event(), env)
        assert run.status == hook_cli.USAGE_ERROR == 1, run
        assert "error:" in run.stderr and "lets everything through" in run.stderr


def test_server_down_fails_open_or_closed(env: dict[str, str]) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    run = _process(["budget", "--url", url], _event(), env)
    assert run.status == 0, run
    assert "cannot reach" in run.output["systemMessage"] and "letting it through" in run.output["systemMessage"]
    closed = _process(["budget", "--url", url, "--fail-closed"], _event(), env)
    assert (closed.status, closed.stdout) == (2, "")
    assert "fails closed" in closed.stderr
    assert _run(["budget", "--url", url], _event(), {**env, "CCMON_HOOK_FAIL_CLOSED": "1"}).status == 2
    policy = _run(["policy", "--url", url, "--fail-closed"], _event(tool_name="Bash"), env)
    assert policy.output["hookSpecificOutput"]["permissionDecision"] == "deny"


class _Misbehaving(BaseHTTPRequestHandler):
    delay_s = 0.0
    status = 500

    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        time.sleep(self.delay_s)
        body = b'{"detail": "boom"}'
        with contextlib.suppress(OSError):  # the hook gave up waiting (the timeout test): nobody reads the answer
            self.send_response(self.status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)


@pytest.fixture
def misbehaving() -> Iterator[tuple[str, type[_Misbehaving]]]:
    handler = type("Handler", (_Misbehaving,), {})
    with http_server(handler, join_s=5) as url:
        yield url, handler


def test_a_server_error_fails_open(misbehaving: tuple[str, type[_Misbehaving]], env: dict[str, str]) -> None:
    url, _ = misbehaving
    run = _run(["budget", "--url", url], _event(), env)
    assert run.status == 0
    assert "answered 500: boom" in run.output["systemMessage"]


def test_a_slow_server_fails_open_within_the_timeout(
    misbehaving: tuple[str, type[_Misbehaving]], env: dict[str, str]
) -> None:
    url, handler = misbehaving
    handler.delay_s, handler.status = 2.0, 200
    started = time.monotonic()
    run = _run(["budget", "--url", url, "--timeout", "0.3"], _event(), env)
    assert time.monotonic() - started < 1.5
    assert run.status == 0
    assert "did not answer within 0.3 s" in run.output["systemMessage"]


def test_an_answer_without_a_decision_fails_open(
    misbehaving: tuple[str, type[_Misbehaving]], env: dict[str, str]
) -> None:
    url, handler = misbehaving
    handler.status = 200
    run = _run(["budget", "--url", url], _event(), env)
    assert run.status == 0
    assert "did not answer with a decision" in run.output["systemMessage"]


def test_otel_headers_parsing() -> None:
    assert token_from_otel_headers("Authorization=Bearer%20ccmi_abc") == "ccmi_abc"
    assert token_from_otel_headers("a=b, authorization = Bearer ccmi_x%3D") == "ccmi_x="
    assert token_from_otel_headers("Authorization=Basic%20Zm9v") is None
    assert token_from_otel_headers("x-api-key=1") is None


def test_the_model_is_read_from_the_end_of_the_transcript(tmp_path: Path) -> None:
    transcript = tmp_path / "t.jsonl"
    lines = [
        {"type": "assistant", "message": {"model": "claude-sonnet-4-5", "content": []}},
        {"type": "user", "message": {"content": "x" * 1000}},
        {"type": "assistant", "message": {"model": "claude-opus-4-5", "content": []}},
        {"type": "assistant", "message": {"model": "<synthetic>", "content": []}},
    ]
    transcript.write_text("\n".join(json.dumps(line) for line in lines))
    assert hook_cli.transcript_model(str(transcript)) == "claude-opus-4-5"
    assert hook_cli.transcript_model(str(tmp_path / "missing.jsonl")) == ""
    assert hook_cli.transcript_model("") == ""


def test_warnings_are_remembered_per_session_and_key(tmp_path: Path) -> None:
    state = tmp_path / "state"
    assert hook_cli.remember_warning(state, "s1", "budget:a@0.75", now=1000.0)
    assert not hook_cli.remember_warning(state, "s1", "budget:a@0.75", now=1001.0)
    assert hook_cli.remember_warning(state, "s1", "budget:a@0.9", now=1002.0)
    assert hook_cli.remember_warning(state, "s2", "budget:a@0.75", now=1003.0)
    # Forgotten after a week; an unreadable state file never silences a warning.
    assert hook_cli.remember_warning(state, "s1", "budget:a@0.75", now=1000.0 + hook_cli.WARNED_TTL_S + 1)
    (state / "hook-warnings.json").write_text("{broken")
    assert hook_cli.remember_warning(state, "s1", "budget:a@0.75", now=5.0)


def test_the_default_url_is_the_reports_one() -> None:
    assert _args(["budget"]).url is None
    settings = hook_cli.settings_from(_args(["budget"]), {})
    assert settings.url == DEFAULT_URL
    assert settings.timeout_s == hook_cli.DEFAULT_TIMEOUT_S
