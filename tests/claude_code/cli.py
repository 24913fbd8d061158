"""Run the real Claude Code CLI offline, against a fake API, exporting OTLP telemetry.

The CLI is ``@anthropic-ai/claude-code@2.1.330`` (``.ci/run`` installs it under
``<repo>/.cache/claude-code``; ``CCMON_CLAUDE_BIN`` may point at the binary instead).

Each run is ``claude -p PROMPT --allowedTools Write --output-format json`` in
``WORKDIR/repo`` (a fresh git repository) with ``HOME=WORKDIR/home`` and a clean
environment that turns telemetry on with short export intervals. The return value is
Claude Code's own JSON result (``total_cost_usd``, ``usage``, ``modelUsage``,
``session_id``, ``num_turns``...), the ground truth a monitor's totals must match.

``--allowedTools Write`` rather than ``--dangerously-skip-permissions``: the latter is
refused when running as root.

Telemetry flush: on exit the CLI exports what is left (traces, then logs, then
metrics, one after the other) and waits for the answers, so with a receiver that
answers promptly everything has arrived by the time :func:`run_claude` returns. The
whole exit flush is capped at 2 s (``CLAUDE_CODE_OTEL_SHUTDOWN_TIMEOUT_MS`` can only
lower it): a receiver slower than that loses the last exports, and the CLI still exits
with status 0.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CLAUDE_CODE_VERSION = "2.1.330"
REPO_ROOT = Path(__file__).resolve().parents[2]
CACHE_DIR = REPO_ROOT / ".cache" / "claude-code"
_CANDIDATES = (
    CACHE_DIR / "node_modules" / "@anthropic-ai" / "claude-code-linux-x64" / "claude",
    CACHE_DIR / "node_modules" / ".bin" / "claude",
)
API_KEY = "sk-ant-test"
PROTOCOLS = ("grpc", "http/protobuf", "http/json")


class ClaudeRunError(RuntimeError):
    """Claude Code failed, timed out, or printed something that is not its JSON result."""

    def __init__(
        self,
        message: str,
        *,
        returncode: int | None,
        stdout: str,
        stderr: str,
        result: dict[str, Any] | None = None,
    ) -> None:
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        self.result = result
        super().__init__(
            f"{message}\n--- exit code: {returncode}\n--- stdout:\n{_tail(stdout)}\n--- stderr:\n{_tail(stderr)}"
        )


@dataclass(frozen=True)
class ClaudeRun:
    """Everything about one finished CLI run."""

    result: dict[str, Any]
    """Claude Code's parsed JSON result."""
    returncode: int
    stdout: str
    stderr: str
    started_at: float
    """``time.time()`` just before the process started."""
    exited_at: float
    """``time.time()`` just after the process exited (compare with telemetry arrival)."""
    workdir: Path

    @property
    def elapsed_s(self) -> float:
        return self.exited_at - self.started_at

    @property
    def repo(self) -> Path:
        """Claude Code's working directory (where ``WRITEFILE`` writes ``hello.py``)."""
        return self.workdir / "repo"


def _tail(text: str, limit: int = 4000) -> str:
    return text if len(text) <= limit else "..." + text[-limit:]


def claude_binary() -> Path | None:
    """The Claude Code executable, or ``None`` when it is not installed.

    Looks at ``CCMON_CLAUDE_BIN`` first (an error if set to something that is not a
    file: a misconfigured CI should fail, not skip), then the native binary and the npm
    ``.bin`` shim under ``<repo>/.cache/claude-code``.
    """
    configured = os.environ.get("CCMON_CLAUDE_BIN")
    if configured:
        path = Path(configured).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"CCMON_CLAUDE_BIN={configured!r} is not a file")
        return path
    for candidate in _CANDIDATES:
        if candidate.is_file():
            return candidate
    return None


def claude_env(
    *,
    api_base_url: str,
    protocol: str,
    endpoint: str,
    home: Path,
    extra_env: dict[str, str] | None = None,
    telemetry_env: bool = True,
) -> dict[str, str]:
    """The complete environment a run gets (nothing else is inherited). With ``telemetry_env=False`` no telemetry
    variable is set: the run exports only what its settings files (``HOME/.claude/settings.json``, managed settings)
    ask for."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "HOME": str(home),
        "TERM": "xterm",
        "ANTHROPIC_BASE_URL": api_base_url,
        "ANTHROPIC_API_KEY": API_KEY,
        "DISABLE_AUTOUPDATER": "1",
        "CLAUDE_CODE_MAX_RETRIES": "1",
    }
    if not telemetry_env:
        env.update(extra_env or {})
        return env
    env |= {
        "CLAUDE_CODE_ENABLE_TELEMETRY": "1",
        "OTEL_METRICS_EXPORTER": "otlp",
        "OTEL_LOGS_EXPORTER": "otlp",
        "OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
        "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
        "OTEL_METRIC_EXPORT_INTERVAL": "1000",
        "OTEL_LOGS_EXPORT_INTERVAL": "500",
        "OTEL_TRACES_EXPORT_INTERVAL": "500",
    }
    if extra_env:
        env.update(extra_env)
    return env


def _prepare(workdir: Path) -> tuple[Path, Path]:
    home = workdir / "home"
    repo = workdir / "repo"
    home.mkdir(parents=True, exist_ok=True)
    repo.mkdir(parents=True, exist_ok=True)
    if not (repo / ".git").exists():
        subprocess.run(
            ["git", "init", "-q", str(repo)],
            check=True,
            capture_output=True,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home)},
        )
    return home, repo


def run_claude_process(
    *,
    api_base_url: str,
    protocol: str,
    endpoint: str,
    workdir: Path,
    prompt: str,
    extra_env: dict[str, str] | None = None,
    timeout: float = 120,
    check: bool = True,
    binary: Path | None = None,
    allowed_tools: str = "Write",
    extra_args: tuple[str, ...] = (),
    telemetry_env: bool = True,
) -> ClaudeRun:
    """Run the CLI once: :func:`run_claude`, also giving exit code, output and timings.

    With ``check=False`` a failed run (exit status 1, ``is_error: true``, as in the
    ``FAIL500`` and ``FAIL429`` scenarios) is returned rather than raised, as long as
    Claude Code printed its JSON result. ``binary`` overrides :func:`claude_binary`.
    ``allowed_tools`` is ``--allowedTools`` (``Write``; e.g. ``mcp__ccmon__my_usage``), ``extra_args`` more
    arguments (``--mcp-config FILE``), ``telemetry_env`` as in :func:`claude_env`.
    """
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol must be one of {PROTOCOLS}, not {protocol!r}")
    claude = binary or claude_binary()
    if claude is None:
        raise FileNotFoundError(
            "Claude Code is not installed: set CCMON_CLAUDE_BIN or run `npm install "
            f"--prefix {CACHE_DIR} @anthropic-ai/claude-code@{CLAUDE_CODE_VERSION}`"
        )
    workdir = Path(workdir).resolve()
    home, repo = _prepare(workdir)
    env = claude_env(
        api_base_url=api_base_url,
        protocol=protocol,
        endpoint=endpoint,
        home=home,
        extra_env=extra_env,
        telemetry_env=telemetry_env,
    )
    argv = [
        str(claude),
        "-p",
        prompt,
        "--allowedTools",
        allowed_tools,
        "--output-format",
        "json",
        *extra_args,
    ]
    started = time.time()
    proc = subprocess.Popen(
        argv,
        cwd=repo,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        stdout, stderr = proc.communicate()
        raise ClaudeRunError(
            f"Claude Code did not finish within {timeout} s",
            returncode=None,
            stdout=stdout,
            stderr=stderr,
        ) from None
    except BaseException:
        _kill_group(proc)
        proc.wait()
        raise
    exited = time.time()
    result = _parse_result(stdout)
    if result is None:
        raise ClaudeRunError(
            "Claude Code did not print a JSON result",
            returncode=proc.returncode,
            stdout=stdout,
            stderr=stderr,
        )
    if check and (proc.returncode != 0 or result.get("is_error")):
        reason = result.get("terminal_reason") or result.get("subtype")
        message = str(result.get("result"))[:500]
        raise ClaudeRunError(
            f"Claude Code failed ({reason}): {message}",
            returncode=proc.returncode,
            stdout=stdout,
            stderr=stderr,
            result=result,
        )
    return ClaudeRun(
        result=result,
        returncode=proc.returncode,
        stdout=stdout,
        stderr=stderr,
        started_at=started,
        exited_at=exited,
        workdir=workdir,
    )


def run_claude(
    *,
    api_base_url: str,
    protocol: str,
    endpoint: str,
    workdir: Path,
    prompt: str,
    extra_env: dict[str, str] | None = None,
    timeout: float = 120,
) -> dict[str, Any]:
    """Run ``claude -p PROMPT --allowedTools Write --output-format json``.

    Returns Claude Code's parsed JSON result. ``protocol`` is ``grpc``,
    ``http/protobuf`` or ``http/json``; ``endpoint`` the OTLP base URL (e.g.
    ``http://127.0.0.1:4317`` for gRPC, ``http://127.0.0.1:4318`` for HTTP: the CLI
    appends ``/v1/metrics``, ``/v1/logs``, ``/v1/traces``). ``extra_env`` adds or
    overrides variables (``OTEL_RESOURCE_ATTRIBUTES``, ``OTEL_EXPORTER_OTLP_HEADERS``,
    ``CLAUDE_CODE_ENHANCED_TELEMETRY_BETA``...). Raises :class:`ClaudeRunError` (with
    exit code, stdout and stderr) when the CLI fails, reports an error, times out, or
    prints no JSON.
    """
    return run_claude_process(
        api_base_url=api_base_url,
        protocol=protocol,
        endpoint=endpoint,
        workdir=workdir,
        prompt=prompt,
        extra_env=extra_env,
        timeout=timeout,
    ).result


def _kill_group(proc: subprocess.Popen[str]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


def _parse_result(stdout: str) -> dict[str, Any] | None:
    text = stdout.strip()
    lines = [line for line in reversed(text.splitlines()) if line.startswith("{")]
    candidates = [text, *lines]
    for candidate in candidates:
        try:
            parsed = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(parsed, dict):
            return parsed
    return None
