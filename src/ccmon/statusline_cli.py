"""`ccmon statusline`: Claude Code's status line command — this session's cost, today's and this month's spend against
the budget, and the 5 h / 7 d usage limits, on one line.

Configured in a developer's (or the organisation's managed) Claude Code settings:

    {"statusLine": {"type": "command", "command": "ccmon statusline --url URL"}}

Claude Code writes the session's status as JSON on stdin after each message and shows the first line printed
(reference §4). This command must never be why the status line is slow or broken: it prints at once from stdin and a
cache file, exits 0 whatever happens, and writes nothing on stderr. The server is asked in a detached background
process when the cache is older than `--cache-seconds` (`ccmon.onboarding.statusline_cache`), so its figures show
at the next redraw: on POSIX a double fork (`setsid`, the grandchild's stdio on /dev/null, so Claude Code, which
reads the command's output to its end, never waits for it), elsewhere a detached `python -m ccmon.statusline_cli
--refresh-job` fed the job on stdin.

Who is asking: `--token`, `CCMON_TOKEN`, else the ingest token Claude Code exports telemetry with (as `ccmon hook`
finds it); the person is `--person` / `CCMON_PERSON`, else the server identifies the session (`session_id`) or the
login in `~/.claude.json`.

Imports: the standard library's light modules only, and `ccmon.onboarding.statusline[_cache]`; the HTTP client is
imported by the background refresh alone.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from collections.abc import Callable, Mapping
from typing import BinaryIO, TextIO

from ccmon.onboarding.caller import add_caller_arguments, api_url, given_token, named_person
from ccmon.onboarding.claude_files import state_dir
from ccmon.onboarding.statusline import MAX_INPUT_BYTES, Limit, StatusInput, parse_input, render
from ccmon.onboarding.statusline_cache import RefreshJob, needs_refresh, read_cache, refresh, release_lock, take_lock

DEFAULT_CACHE_S = 10.0
REFRESH_TIMEOUT_S = 3.0
MAX_CACHE_S = 86_400.0
STDIN_WAIT_S = 1.0
"""The longest wait for Claude Code to finish writing stdin (it writes a few kilobytes and closes it at once)."""

Spawn = Callable[[RefreshJob], None]
DESCRIPTION = (
    "Run by Claude Code as its statusLine command (status JSON on stdin). Prints one line: the model, this session's "
    "cost, today's and this month's spend against your budget (from ccmon, cached), and the 5 h / 7 d usage limits, "
    "which it also reports to ccmon. Never fails: without ccmon it shows the local figures."
)


class _QuietParser(argparse.ArgumentParser):
    """A mistyped flag in a settings file must not blank the status line: it is ignored (the line is drawn)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise _Misuse(message)


class _Misuse(Exception):
    pass


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Register `statusline` on the top-level sub-parsers."""
    parser: argparse.ArgumentParser = commands.add_parser(
        "statusline",
        help="Claude Code status line command: session cost, today's and this month's spend, 5h/7d limits",
        description=DESCRIPTION,
    )
    _arguments(parser)
    return parser


def _arguments(parser: argparse.ArgumentParser) -> None:
    add_caller_arguments(parser, person_help="the person shown")
    parser.add_argument(
        "--cache-seconds",
        type=float,
        default=DEFAULT_CACHE_S,
        help=f"ask ccmon again once its figures are this old ({DEFAULT_CACHE_S:g}); in the background",
    )
    parser.add_argument("--refresh-job", action="store_true", help=argparse.SUPPRESS)


def run(
    args: argparse.Namespace,
    *,
    stdin: BinaryIO | None = None,
    stdout: TextIO | None = None,
    environ: Mapping[str, str] | None = None,
    spawn: Spawn | None = None,
    now: float | None = None,
) -> int:
    """Print the line; start a background refresh when the cache is old. Always 0."""
    env = os.environ if environ is None else environ
    out = stdout or sys.stdout
    printed = False
    try:
        if getattr(args, "refresh_job", False):
            # The detached process of `spawn_process`: the job on stdin.
            source = stdin or sys.stdin.buffer
            refresh(RefreshJob.from_json(source.read(1 << 16).decode()), env)
            return 0
        at = time.time() if now is None else now
        data = read_stdin(stdin if stdin is not None else getattr(sys.stdin, "buffer", None))
        status = parse_input(data) if data is not None else StatusInput()
        job = job_of(args, env, status.session_id, status.model_id or status.model_name, dict(status.limits))
        directory = state_dir(env)
        cache = read_cache(directory)
        line = render(status, cache.figures if cache is not None and cache.key == job.key else None, at)
        printed = True  # (a closed stdout included: nobody reads a second try either)
        with contextlib.suppress(OSError, ValueError):
            print(line, file=out)
            out.flush()
        if needs_refresh(cache, job.key, at, job_max_age(args)) and take_lock(directory, at):
            try:
                (spawn or start_refresh)(job)
            except Exception:  # the refresh could not start (no fork, no process): the next redraw tries again
                release_lock(directory)
    except Exception:  # never break the status line: a line, whatever failed
        if not printed:
            with contextlib.suppress(Exception):
                print("ccmon", file=out)
    return 0


def read_stdin(stream: BinaryIO | None) -> bytes | None:
    """Claude Code's status JSON; None when there is none to read: no stdin, a terminal (someone typed the command),
    more than `MAX_INPUT_BYTES`, or a writer that does not close it within `STDIN_WAIT_S` (the line is drawn
    anyway)."""
    if stream is None:
        return None
    try:
        if stream.isatty():
            return None
        descriptor = stream.fileno()
    except (OSError, ValueError, AttributeError):
        descriptor = -1  # an in-memory stream (tests): read it whole
    if descriptor < 0 or sys.platform == "win32":
        data = stream.read(MAX_INPUT_BYTES + 1)
        return data if len(data) <= MAX_INPUT_BYTES else None
    import select

    chunks: list[bytes] = []
    size, deadline = 0, time.monotonic() + STDIN_WAIT_S
    while size <= MAX_INPUT_BYTES:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([descriptor], [], [], left)[0]:
            return None
        chunk = os.read(descriptor, 65536)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
    return None


def job_max_age(args: argparse.Namespace) -> float:
    seconds = getattr(args, "cache_seconds", DEFAULT_CACHE_S)
    if not isinstance(seconds, int | float) or not seconds >= 0:  # NaN too
        return DEFAULT_CACHE_S
    return min(float(seconds), MAX_CACHE_S)


def job_of(
    args: argparse.Namespace, environ: Mapping[str, str], session_id: str, model: str, limits: dict[str, Limit]
) -> RefreshJob:
    return RefreshJob(
        url=api_url(args, environ),
        token=given_token(args, environ),
        person=named_person(args, environ),
        session_id=session_id,
        model=model,
        limits=limits,
        directory=str(state_dir(environ)),
        timeout_s=REFRESH_TIMEOUT_S,
    )


def start_refresh(job: RefreshJob) -> None:
    """Refresh in a detached process: forked on POSIX, a new detached interpreter elsewhere."""
    if hasattr(os, "fork") and hasattr(os, "setsid"):
        fork_refresh(job)
    else:
        spawn_process(job)


def fork_refresh(job: RefreshJob) -> None:
    """A double fork: the child starts a new session and forks the grandchild that refreshes, then exits at once (so
    this process reaps it now, and nothing is left a zombie); the grandchild's stdio is /dev/null, so whoever reads
    this command's output sees its end when this process exits."""
    child = os.fork()
    if child:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(child, 0)
        return
    try:
        os.setsid()
        if os.fork():
            os._exit(0)
        devnull = os.open(os.devnull, os.O_RDWR)
        for descriptor in (0, 1, 2):
            os.dup2(devnull, descriptor)
        refresh(job, os.environ)
    except BaseException:  # nobody is there to tell; the lock goes stale and is retaken
        pass
    finally:
        os._exit(0)


def spawn_process(job: RefreshJob) -> None:
    """The refresh in a detached `python -m ccmon.statusline_cli --refresh-job`, the job written to its stdin (where
    there is no fork: Windows)."""
    import subprocess

    flags = 0
    if sys.platform == "win32":
        flags = subprocess.DETACHED_PROCESS | subprocess.CREATE_NEW_PROCESS_GROUP | subprocess.CREATE_NO_WINDOW
    process = subprocess.Popen(
        [sys.executable, "-m", "ccmon.statusline_cli", "--refresh-job"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        creationflags=flags,
        start_new_session=sys.platform != "win32",
        close_fds=True,
    )
    assert process.stdin is not None
    with process.stdin:
        process.stdin.write(job.to_json().encode())
    process.returncode = 0  # not waited for: detached; no ResourceWarning about it when this object goes


def main(argv: list[str] | None = None) -> int:
    """`ccmon statusline ...` (the CLI's fast path) and `python -m ccmon.statusline_cli ...`. Always 0."""
    parser = _QuietParser(prog="ccmon statusline", description=DESCRIPTION)
    _arguments(parser)
    try:
        args, _ = parser.parse_known_args(sys.argv[1:] if argv is None else argv)
    except _Misuse:
        args = parser.parse_args([])
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
