"""`ccmon hook budget` and `ccmon hook policy`: Claude Code hook commands that ask ccmon before a prompt or a tool runs.

Configured in a developer's (or the organisation's managed) Claude Code settings:

    {"hooks": {
        "UserPromptSubmit": [{"hooks": [{"type": "command", "command": "ccmon hook budget --url URL"}]}],
        "PreToolUse": [{"matcher": "*", "hooks": [{"type": "command", "command": "ccmon hook policy --url URL"}]}]}}

Claude Code writes the event as JSON on stdin (`session_id`, `transcript_path`, `prompt` or `tool_name`...) and reads
the answer from the exit status and stdout (docs: "Hooks"; reference §3):

- budget, block: the reason on stderr and exit status 2 (the prompt is erased, the reason shown);
- budget, warn: `{"systemMessage": ...}` on stdout, once per session and budget threshold (a state file remembers);
- policy, deny: `{"hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision": "deny", ...}}`;
- allow: nothing, exit status 0.

One HTTP call with a short timeout. When ccmon cannot answer (down, slow, 5xx, a refused token) the hook fails open:
the prompt goes ahead with a one-line warning as a `systemMessage` (stderr of a successful hook is not shown), unless
`--fail-closed` (or `CCMON_HOOK_FAIL_CLOSED=1`) asks to block instead. A hook must never be why Claude Code breaks.

Who is asking about whom: the token is `--token`, `CCMON_TOKEN`, or the ingest token Claude Code exports telemetry
with (`Authorization=Bearer ...` in `OTEL_EXPORTER_OTLP_HEADERS`; Claude Code does not pass `OTEL_*` variables to
hooks, so also read from the `env` of its settings files). The person is `--person` / `CCMON_PERSON` when given; the
server also gets the event's `session_id` (mapped to the person telemetry names) and the login Claude Code keeps in
`~/.claude.json` (email, account uuid, user id), so a new session's first prompt is recognised too.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, BinaryIO, NoReturn, TextIO

from ccmon.onboarding.caller import add_caller_arguments, api_url, given_token, named_person
from ccmon.onboarding.claude_files import claude_identity, find_token, read_json_file, state_dir
from ccmon.onboarding.client_http import call_json

DEFAULT_TIMEOUT_S = 3.0
MAX_EVENT_BYTES = 1 << 20
"""The part of the hook's stdin that is parsed; a longer event (a huge pasted prompt) is read to its end but only its
beginning is kept, where Claude Code writes `session_id`."""
MAX_FIELD = 500
"""Longest identity value sent (the server refuses longer)."""
TRANSCRIPT_TAIL_BYTES = 256 * 1024
WARNED_TTL_S = 7 * 86_400
MAX_WARNED = 2000
ROUTES = {"budget": "/api/v1/hook/budget", "policy": "/api/v1/hook/policy"}


@dataclass(frozen=True)
class Outcome:
    """What the hook process says: its exit status, stdout (JSON for Claude Code, or nothing) and stderr."""

    status: int = 0
    stdout: str = ""
    stderr: str = ""


@dataclass(frozen=True)
class HookEvent:
    """The fields of Claude Code's hook input that matter here."""

    session_id: str = ""
    tool_name: str = ""
    transcript_path: str = ""
    event_name: str = ""


@dataclass(frozen=True)
class HookSettings:
    kind: str
    """budget or policy"""
    url: str
    token: str | None
    person: str
    timeout_s: float
    fail_closed: bool
    state_dir: Path
    identity: Mapping[str, str] = field(default_factory=dict)
    """email, account_uuid, user_id from Claude Code's own config file (what it sends in telemetry)."""


# --- the command line ------------------------------------------------------------------------------------------------


USAGE_ERROR = 1
"""The exit status of a mistyped hook command. Not argparse's 2: Claude Code reads 2 as "block", and a typo in a
settings file must not stop every prompt (1 is a hook error Claude Code shows and goes past)."""


class _HookParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        _usage_error(self, message)


def _usage_error(parser: argparse.ArgumentParser, message: str) -> NoReturn:
    parser.print_usage(sys.stderr)
    print(f"{parser.prog}: error: {message}; the hook lets everything through until this is fixed", file=sys.stderr)
    sys.exit(USAGE_ERROR)


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Register `hook budget` and `hook policy` on the top-level sub-parsers. Their usage errors exit with status 1,
    not 2 (see `USAGE_ERROR`): report unrecognised arguments through this parser's `error`."""
    parser: argparse.ArgumentParser = commands.add_parser(
        "hook",
        help="Claude Code hook commands: enforce budgets and the model/tool policy in the client",
        description="Run by Claude Code as a hook (JSON event on stdin). Asks ccmon for the developer's budget "
        "(UserPromptSubmit) or the model/tool policy (PreToolUse) and blocks, warns or lets through.",
    )
    setattr(parser, "error", lambda message: _usage_error(parser, message))  # noqa: B010 - an instance's own
    kinds = parser.add_subparsers(dest="kind", required=True, parser_class=_HookParser)
    kinds.add_parser("budget", help="UserPromptSubmit hook: block the prompt past a hard budget cap, warn once before")
    kinds.add_parser("policy", help="PreToolUse hook: deny a tool or model the policy forbids")
    for sub in kinds.choices.values():
        add_caller_arguments(sub, person_help="the person asked about")
        sub.add_argument(
            "--timeout", type=float, default=DEFAULT_TIMEOUT_S, help=f"seconds to wait for ccmon ({DEFAULT_TIMEOUT_S})"
        )
        sub.add_argument(
            "--fail-closed",
            action="store_true",
            help="block when ccmon cannot answer (CCMON_HOOK_FAIL_CLOSED=1); default: let through with a warning",
        )
    return parser


def run(
    args: argparse.Namespace,
    *,
    stdin: BinaryIO | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    """Run the hook: read the event, ask the server, write the answer. Returns the exit status."""
    env = os.environ if environ is None else environ
    event = read_event(stdin if stdin is not None else sys.stdin.buffer)
    if isinstance(event, HookEvent) and not event.session_id and env.get("CLAUDE_CODE_SESSION_ID"):
        # Claude Code also tells its hooks the session in the environment.
        event = replace(event, session_id=env["CLAUDE_CODE_SESSION_ID"])
    outcome = decide(settings_from(args, env), event)
    if outcome.stdout:
        print(outcome.stdout, file=stdout or sys.stdout)
    if outcome.stderr:
        print(outcome.stderr, file=stderr or sys.stderr)
    return outcome.status


def main(argv: list[str] | None = None) -> int:
    """`python -m ccmon.hook_cli budget|policy ...` (the same as `ccmon hook ...`)."""
    parser = argparse.ArgumentParser(prog="ccmon")  # always given `hook`: its own errors are the hook parser's
    hook = add_parser(parser.add_subparsers(dest="command", required=True))
    args, unknown = parser.parse_known_args(["hook", *(sys.argv[1:] if argv is None else argv)])
    if unknown:
        hook.error(f"unrecognized arguments: {' '.join(unknown)}")
    return run(args)


def settings_from(args: argparse.Namespace, environ: Mapping[str, str]) -> HookSettings:
    timeout = args.timeout if args.timeout and args.timeout > 0 else DEFAULT_TIMEOUT_S
    fail_closed = bool(args.fail_closed) or environ.get("CCMON_HOOK_FAIL_CLOSED", "").strip().lower() in {
        "1",
        "true",
        "yes",
    }
    return HookSettings(
        kind=args.kind,
        url=api_url(args, environ),
        token=given_token(args, environ) or find_token(environ),
        person=named_person(args, environ),
        timeout_s=min(timeout, 30.0),
        fail_closed=fail_closed,
        state_dir=state_dir(environ),
        identity=claude_identity(environ),
    )


# --- deciding --------------------------------------------------------------------------------------------------------


def decide(settings: HookSettings, event: HookEvent | str) -> Outcome:
    """The hook's answer to `event` (or to the problem reading it, a string)."""
    if isinstance(event, str):
        return _fail_open(f"{event}; letting it through")
    body: dict[str, str] = {"session_id": event.session_id[:MAX_FIELD]}
    if settings.person:
        body["person"] = settings.person[:MAX_FIELD]
    body.update({key: value[:MAX_FIELD] for key, value in settings.identity.items() if value})
    if settings.kind == "policy":
        body["tool_name"] = event.tool_name[:MAX_FIELD]
        if model := transcript_model(event.transcript_path):
            body["model"] = model[:MAX_FIELD]
    answer = ask(settings, ROUTES[settings.kind], {k: v for k, v in body.items() if v})
    if isinstance(answer, str):
        if settings.fail_closed:
            return _refuse(
                settings.kind,
                f"ccmon could not check your {settings.kind} ({answer}), and this hook "
                "fails closed: try again shortly or ask your ccmon admin",
            )
        return _fail_open(f"could not check your {settings.kind} ({answer}); letting it through")
    decision = str(answer.get("decision", "allow"))
    reason = str(answer.get("reason") or "")
    if decision in {"block", "deny"}:
        return _refuse(settings.kind, reason or f"refused by ccmon's {settings.kind}")
    if decision == "warn":
        key = str(answer.get("warn_key") or reason)
        if remember_warning(settings.state_dir, event.session_id, f"{settings.kind}:{key}"):
            return Outcome(stdout=_json({"systemMessage": f"ccmon: {reason}"}))
    return Outcome()


def _refuse(kind: str, reason: str) -> Outcome:
    if kind == "policy":
        output = {
            "hookEventName": "PreToolUse",
            "permissionDecision": "deny",
            "permissionDecisionReason": f"ccmon: {reason}",
        }
        return Outcome(stdout=_json({"hookSpecificOutput": output}))
    # Exit status 2 on UserPromptSubmit: Claude Code erases the prompt and shows stderr.
    return Outcome(status=2, stderr=f"ccmon: {reason}")


def _fail_open(message: str) -> Outcome:
    """Let the prompt or tool through, saying why where the user sees it (and on stderr, for a person running it)."""
    text = f"ccmon: {message}"
    return Outcome(stdout=_json({"systemMessage": text}), stderr=text)


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def ask(settings: HookSettings, path: str, body: Mapping[str, str]) -> dict[str, Any] | str:
    """The server's decision, or a few words saying why there is none."""
    answer = call_json(settings.url, path, body, token=settings.token, timeout_s=settings.timeout_s)
    if isinstance(answer, dict) and not isinstance(answer.get("decision"), str):
        return f"{settings.url}{path} did not answer with a decision (is it a ccmon server?)"
    return answer


# --- the event -------------------------------------------------------------------------------------------------------

_FIELDS = ("session_id", "tool_name", "transcript_path", "hook_event_name")
_FIELD = re.compile(rb'"(session_id|tool_name|transcript_path|hook_event_name)"\s*:\s*"([^"\\]{1,1000})"')


def read_event(stream: BinaryIO) -> HookEvent | str:
    """The event on stdin, or what is wrong with it. The whole stream is read (Claude Code is still writing it), but
    only its first `MAX_EVENT_BYTES` are kept: an event beyond that (a huge pasted prompt or file) is truncated JSON,
    from whose beginning the fields Claude Code writes before the prompt or tool input are still taken."""
    head = stream.read(MAX_EVENT_BYTES + 1)
    truncated = len(head) > MAX_EVENT_BYTES
    while truncated and stream.read(1 << 20):
        pass
    data: Any
    if truncated:
        found = reversed(_FIELD.findall(head[:65536]))  # the first occurrence of each name wins
        data = {name.decode(): value.decode("utf-8", "replace") for name, value in found}
    else:
        try:
            data = json.loads(head)
        except (ValueError, RecursionError):
            return "the hook's input is not JSON (is this command configured as a Claude Code hook?)"
        if not isinstance(data, dict):
            return "the hook's input is not a JSON object (is this command configured as a Claude Code hook?)"

    def text(name: str) -> str:
        value = data.get(name)
        return value if isinstance(value, str) else ""

    return HookEvent(*(text(name) for name in _FIELDS))


_MODEL = re.compile(r'"model"\s*:\s*"([A-Za-z0-9._:@/\[\]-]{1,200})"')


def transcript_model(path: str) -> str:
    """The model of the session's latest assistant message, from the end of its transcript (a `PreToolUse` event
    does not name the model); '' when unknown."""
    if not path:
        return ""
    try:
        with Path(path).expanduser().open("rb") as transcript:
            transcript.seek(0, os.SEEK_END)
            size = transcript.tell()
            transcript.seek(max(0, size - TRANSCRIPT_TAIL_BYTES))
            tail = transcript.read().decode("utf-8", "replace")
    except OSError:
        return ""
    models = [m for m in _MODEL.findall(tail) if m != "<synthetic>"]
    return models[-1] if models else ""


# --- warning once ----------------------------------------------------------------------------------------------------


def remember_warning(directory: Path, session_id: str, key: str, *, now: float | None = None) -> bool:
    """Record that this session was warned about `key`; False when it already was (warn once). A state file that
    cannot be read or written never stops the warning: it is then shown again next time."""
    now = time.time() if now is None else now
    path = directory / "hook-warnings.json"
    warned = {k: v for k, v in read_json_file(path).items() if isinstance(v, int | float) and now - v < WARNED_TTL_S}
    entry = f"{session_id}|{key}"
    if entry in warned:
        return False
    warned[entry] = now
    if len(warned) > MAX_WARNED:
        warned = dict(sorted(warned.items(), key=lambda item: item[1])[-MAX_WARNED:])
    with contextlib.suppress(OSError):
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        temporary = path.with_name(f".{path.name}.{os.getpid()}")
        temporary.write_text(json.dumps(warned))
        os.replace(temporary, path)
    return True


if __name__ == "__main__":
    sys.exit(main())
