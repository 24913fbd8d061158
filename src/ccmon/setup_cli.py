"""`ccmon setup`: configure Claude Code to send its telemetry (and, if asked, run ccmon's hooks and status line) — on
this machine, or as the file a fleet's configuration tool installs.

Targets (ccmon.onboarding.targets): `user` merges into this developer's `~/.claude/settings.json` (or
`$CLAUDE_CONFIG_DIR/settings.json`); `managed` and `managed-dropin` merge into the system's managed settings at their
real path (root needed); `macos-profile`, `windows-reg` and `shell` write a file to hand to Jamf/Intune, Group Policy or
a CI job. `--print` writes the file to stdout, `--dry-run` shows the diff and writes nothing.

Safety (ccmon.onboarding.settings_file): the existing file's other settings are kept, a second identical run changes
nothing ("no change", no new backup), a change is preceded by a timestamped backup and written atomically, an invalid
existing file is refused, and a project's `.claude/settings.json` is refused because Claude Code ignores telemetry
variables there (../shared/reference/claude-code-admin-surfaces.md §1).

Exit status: 0 done or nothing to do, 2 a usage error or a refusal (nothing written), 1 the file could not be written.
"""

from __future__ import annotations

import argparse
import os
import sys
import urllib.parse
from collections.abc import Mapping
from pathlib import Path

from ccmon.onboarding.caller import DEFAULT_URL
from ccmon.onboarding.claude_files import DROP_IN_DIR, MANAGED_FILE, managed_dir, this_os, user_settings_path
from ccmon.onboarding.merge import merge_settings
from ccmon.onboarding.options import PROTOCOLS, SetupError, SetupOptions, settings_fragment
from ccmon.onboarding.settings_file import (
    backup,
    is_project_settings,
    read_settings,
    real_path,
    unified_diff,
    write_atomic,
)
from ccmon.onboarding.targets import DROP_IN_NAME, OS_NAMES, TARGETS, SetupFile, render_file, settings_json

OK, FAILED, REFUSED = 0, 1, 2
JSON_TARGETS = ("user", "managed", "managed-dropin")
"""Targets that are Claude Code settings files: merged into what is there, not replaced."""
MANAGED_FILE_MODE = 0o644
"""A new managed settings file must be readable by every user's Claude Code."""
DEFAULT_PORTS = {"grpc": 4317, "http/protobuf": 4318, "http/json": 4318}


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        "setup",
        help="configure Claude Code to send telemetry to ccmon (user settings, managed settings, MDM files)",
        description="Write Claude Code's telemetry settings (and optionally ccmon's hooks and status line): merged "
        "into your ~/.claude/settings.json, into the managed settings, or as a macOS profile, Windows .reg or shell "
        "file. A second identical run changes nothing; --dry-run shows the diff.",
    )
    where = parser.add_argument_group("where")
    where.add_argument("--target", choices=TARGETS, default="user", help="what to write (user)")
    where.add_argument("--os", dest="os_name", choices=OS_NAMES, default=this_os(), help="for managed paths (here)")
    where.add_argument("--output", help="write here instead of the target's usual place")
    where.add_argument("--home", help="the home folder for the user target (default $HOME; $CLAUDE_CONFIG_DIR wins)")
    where.add_argument("--print", dest="print_only", action="store_true", help="write the file to stdout, not to disk")
    where.add_argument("--dry-run", action="store_true", help="show the diff of what would change and write nothing")
    where.add_argument("--force", action="store_true", help="replace a status line that is not ccmon's")
    otlp = parser.add_argument_group("telemetry")
    otlp.add_argument("--endpoint", help="OTLP base URL (default http://127.0.0.1:4317 for grpc, :4318 for http/*)")
    otlp.add_argument("--protocol", choices=PROTOCOLS, default="grpc", help="OTLP protocol (grpc)")
    otlp.add_argument("--token", help="ingest token, sent as a static Authorization header")
    otlp.add_argument("--token-file", help="read the ingest token from this file (keeps it out of `ps`)")
    otlp.add_argument("--headers-helper", help="otelHeadersHelper: a script printing {header: value} JSON (http only)")
    otlp.add_argument("--team", help="resource attribute team")
    otlp.add_argument("--department", help="resource attribute department")
    otlp.add_argument("--cost-center", help="resource attribute cost_center")
    otlp.add_argument("--attribute", action="append", default=[], metavar="KEY=VALUE", help="more (repeatable)")
    otlp.add_argument("--metrics-interval", type=int, metavar="MS", help="metrics export interval (Claude Code: 60000)")
    otlp.add_argument("--logs-interval", type=int, metavar="MS", help="events export interval (Claude Code: 5000)")
    otlp.add_argument("--log-user-prompts", action="store_true", help="capture prompt text (off by default)")
    otlp.add_argument("--log-assistant-responses", action="store_true", help="capture responses (off by default)")
    otlp.add_argument("--log-tool-details", action="store_true", help="capture tool arguments (off by default)")
    otlp.add_argument("--traces", action="store_true", help="export traces (beta)")
    client = parser.add_argument_group("in the client")
    client.add_argument("--budget-hook", action="store_true", help="UserPromptSubmit: `ccmon hook budget`")
    client.add_argument("--policy-hook", action="store_true", help="PreToolUse: `ccmon hook policy`")
    client.add_argument("--statusline", action="store_true", help="statusLine: `ccmon statusline`")
    client.add_argument("--ccmon-url", help="the ccmon API the hooks and status line call, e.g. http://ccmon:3000")
    client.add_argument("--ccmon-command", default="ccmon", help="how this machine runs ccmon (ccmon)")
    return parser


def _token(args: argparse.Namespace) -> str | None:
    if args.token_file:
        if args.token:
            raise SetupError("give --token or --token-file, not both")
        try:
            lines = Path(args.token_file).expanduser().read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as error:
            raise SetupError(f"cannot read the token file {args.token_file}: {error}") from None
        return lines[0].strip() if lines else ""
    token: str | None = args.token
    return token


def options_from_args(args: argparse.Namespace) -> SetupOptions:
    attributes: dict[str, str] = {}
    for item in args.attribute:
        if "=" not in item:
            raise SetupError(f"--attribute takes KEY=VALUE, not {item!r}")
        key, _, value = item.partition("=")
        attributes[key.strip()] = value
    for name in ("team", "department", "cost_center"):
        if (value := getattr(args, name)) is not None:
            attributes[name] = value
    endpoint = args.endpoint or f"http://127.0.0.1:{DEFAULT_PORTS[args.protocol]}"
    return SetupOptions(
        endpoint=endpoint,
        protocol=args.protocol,
        token=_token(args),
        headers_helper=args.headers_helper,
        resource_attributes=attributes,
        metrics_interval_ms=args.metrics_interval,
        logs_interval_ms=args.logs_interval,
        log_user_prompts=args.log_user_prompts,
        log_assistant_responses=args.log_assistant_responses,
        log_tool_details=args.log_tool_details,
        traces=args.traces,
        budget_hook=args.budget_hook,
        policy_hook=args.policy_hook,
        statusline=args.statusline,
        ccmon_url=args.ccmon_url or _local_api(endpoint),
        ccmon_command=args.ccmon_command,
    )


def _local_api(endpoint: str) -> str | None:
    """The API of a ccmon on this machine (`ccmon serve`'s default port) when the endpoint is on loopback: one
    developer's laptop needs no `--ccmon-url`. Elsewhere the API's address cannot be guessed (a proxy, TLS)."""
    host = urllib.parse.urlsplit(endpoint).hostname or ""
    return DEFAULT_URL if host in {"127.0.0.1", "localhost", "::1"} else None


def destination(args: argparse.Namespace, environ: Mapping[str, str], file: SetupFile) -> Path:
    """Where the target's file goes on this machine; SetupError when it cannot go there."""
    if args.output:
        path = Path(args.output).expanduser()
        if is_project_settings(path, environ):
            raise SetupError(
                f"{path} is a project's settings file, and Claude Code ignores telemetry variables set in a "
                "project's settings (only the user's and the managed settings can turn telemetry on): use "
                "--target user or --target managed"
            )
        return path
    if args.target == "user":
        return user_settings_path(environ)
    if args.target in {"managed", "managed-dropin"}:
        if args.os_name != this_os():
            raise SetupError(
                f"--os {args.os_name} is not this machine: give --output FILE or --print to get the file for it"
            )
        folder = managed_dir(environ, args.os_name)
        return folder / MANAGED_FILE if args.target == "managed" else folder / DROP_IN_DIR / DROP_IN_NAME
    return Path.cwd() / file.filename


def _plan(args: argparse.Namespace, path: Path, options: SetupOptions, file: SetupFile) -> tuple[str | None, str, str]:
    """(old text or None, new text, a line saying what changes) for the file at `path`."""
    if args.target in JSON_TARGETS:
        existing = read_settings(path)
        merged = merge_settings(existing.settings, settings_fragment(options), force=args.force)
        if existing.text is not None and merged.settings == existing.settings:
            return existing.text, existing.text, ""
        summary = "\n".join(f"  - {change}" for change in merged.changes) or "  - settings written"
        return existing.text, settings_json(merged.settings), summary
    try:
        with path.open(encoding="utf-8", errors="replace", newline="") as existing_file:
            old: str | None = existing_file.read()
    except (FileNotFoundError, NotADirectoryError):
        old = None
    return old, file.content, "  - replaced" if old is not None else "  - created"


def _write(args: argparse.Namespace, path: Path, old: str | None, new: str) -> Path | None:
    """Back up the old file (if any), then replace it: the backup's path."""
    saved = backup(path) if old is not None else None
    mode = MANAGED_FILE_MODE if args.target in {"managed", "managed-dropin"} else None
    write_atomic(path, new, mode=mode)
    return saved


def run(args: argparse.Namespace) -> int:
    environ = dict(os.environ)
    if args.home:
        environ["HOME"] = str(Path(args.home).expanduser())
    try:
        options = options_from_args(args)
        file = render_file(args.target, options, os_name=args.os_name)
        if args.print_only:
            sys.stdout.write(file.content)
            return OK
        shown = destination(args, environ, file)
        path = real_path(shown)
        old, new, summary = _plan(args, path, options, file)
    except SetupError as error:
        print(f"ccmon setup: {error}", file=sys.stderr)
        return REFUSED
    except OSError as error:
        print(f"ccmon setup: cannot read {error.filename or 'the file'}: {error.strerror or error}", file=sys.stderr)
        return FAILED
    if old == new:
        print(f"{shown}: no change")
        return OK
    if args.dry_run:
        sys.stdout.write(unified_diff(shown, old, new))
        print(f"dry run, {shown} not changed; it would be:\n{summary}")
        return OK
    try:
        saved = _write(args, path, old, new)
    except PermissionError:
        print(
            f"ccmon setup: no permission to write {path}: run it with sudo (as Administrator on Windows), or "
            "write the file elsewhere with --output FILE, or print it with --print",
            file=sys.stderr,
        )
        return FAILED
    except OSError as error:
        print(f"ccmon setup: cannot write {path}: {error.strerror or error}", file=sys.stderr)
        return FAILED
    print(f"updated {shown}:\n{summary}")
    if saved is not None:
        print(f"  backup of the previous file: {saved}")
    if args.target not in JSON_TARGETS:
        print(f"  {file.note}")
    return OK
