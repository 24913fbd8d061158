"""`ccmon tokens create|list|rotate|revoke`: manage ingest tokens.

Against a running server (`--url`, with an admin API token in `--token`) through `/api/v1/ingest-tokens`, or, with
`--data-dir`, directly in a stopped server's data folder (the embedded engine is one process's). Either way the
change is in the audit log. A new or rotated token's secret is printed once; only its hash is kept.
"""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import sys
from collections.abc import Callable
from typing import Any, TextIO
from urllib.parse import quote

import httpx
import orjson

from ccmon.admin_cli import AdminCliError, add_target_arguments, open_data_folder, request_admin_api
from ccmon.store.facade import StoreError

COLUMNS = ("id", "name", "organization", "team", "department", "cost_center", "rate_limit_per_s", "expires_at")


class TokensError(AdminCliError):
    """`ccmon tokens`'s one-line failures (and `--expires`'s, which `ccmon api-keys` shares)."""


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Register `tokens` and its sub-commands on the top-level sub-parsers."""
    tokens: argparse.ArgumentParser = commands.add_parser(
        "tokens",
        help="create, list, rotate and revoke ingest tokens",
        description="Manage the tokens Claude Code sends telemetry with. Each can pin an organisation, team, "
        "department and cost centre (overriding what the client claims), expire, and be rate-limited.",
    )
    actions = tokens.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="create a token and print its secret (once)")
    create.add_argument("--name", required=True, help="what the token is for, e.g. laptop-fleet")
    create.add_argument("--organization", default="", help="pin this organisation")
    create.add_argument("--team", default="", help="pin this team")
    create.add_argument("--department", default="", help="pin this department")
    create.add_argument("--cost-center", default="", help="pin this cost centre")
    create.add_argument("--rate-limit", type=float, help="records per second (per ccmon process)")
    create.add_argument("--burst", type=float, help="records let in at once (default: one second's worth)")
    create.add_argument("--expires", help="date or RFC 3339 instant (UTC) when the token stops working")
    actions.add_parser("list", help="list every token, with when it was last used")
    for name, what in (("rotate", "give a token a new secret (the old one stops working)"), ("revoke", "revoke")):
        action = actions.add_parser(name, help=what)
        action.add_argument("id", help="the token's id (see `ccmon tokens list`)")
    for action in actions.choices.values():
        add_target_arguments(action)
    return tokens


def parse_expiry(text: str) -> dt.datetime:
    """`2027-01-01` (midnight UTC) or an RFC 3339 instant."""
    try:
        if len(text) == 10:
            return dt.datetime.combine(dt.date.fromisoformat(text), dt.time(), dt.UTC)
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise TokensError(f"--expires {text!r} is not a date (2027-01-01) or an RFC 3339 instant", status=2) from None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _body(args: argparse.Namespace) -> dict[str, Any]:
    expires = parse_expiry(args.expires) if args.expires else None
    return {
        "name": args.name,
        "organization": args.organization,
        "team": args.team,
        "department": args.department,
        "cost_center": args.cost_center,
        "rate_limit_per_s": args.rate_limit,
        "rate_limit_burst": args.burst,
        "expires_at": expires.isoformat() if expires else None,
    }


def _remote(args: argparse.Namespace) -> Any:
    path = "/api/v1/ingest-tokens"
    token_id = quote(getattr(args, "id", ""), safe="")  # an id is a path segment, whatever was typed
    requests: dict[str, Callable[[httpx.Client], httpx.Response]] = {
        "create": lambda c: c.post(path, json=_body(args)),
        "list": lambda c: c.get(path),
        "rotate": lambda c: c.post(f"{path}/{token_id}/rotate"),
        "revoke": lambda c: c.delete(f"{path}/{token_id}"),
    }
    return request_admin_api(
        args.url,
        args.token,
        requests[args.action],
        forbidden="managing ingest tokens needs an admin API token",
        error=TokensError,
    )


def _offline(args: argparse.Namespace) -> Any:
    from ccmon.auth.audit import Audit  # the engine loads only when used
    from ccmon.ingest.tokens import IngestTokens

    with open_data_folder(args.data_dir, args.database, error=TokensError) as store:
        registry = IngestTokens(store)
        registry.refresh()
        audit = Audit(store)
        actor = f"cli:{getpass.getuser()}"
        try:
            if args.action == "list":
                return {"tokens": [t.as_dict() for t in registry.list()]}
            if args.action == "create":
                body = _body(args)
                expires_text = body.pop("expires_at")
                expires = dt.datetime.fromisoformat(expires_text) if expires_text else None
                info, secret = registry.create(**body, expires_at=expires, created_by=actor)
                audit.record(actor, "token.create", f"{info.id} ({info.name})")
                return {**info.as_dict(), "token": secret}
            if args.action == "rotate":
                info, secret = registry.rotate(args.id)
                audit.record(actor, "token.rotate", f"{info.id} ({info.name})")
                return {**info.as_dict(), "token": secret}
            info = registry.revoke(args.id)
            audit.record(actor, "token.revoke", f"{info.id} ({info.name})")
            return info.as_dict()
        except LookupError as exc:
            raise TokensError(str(exc).strip("'\"")) from None
        except ValueError as exc:
            raise TokensError(str(exc), status=2) from None


def _print(action: str, result: Any, out: TextIO) -> None:
    tokens = result["tokens"] if action == "list" else [result]
    columns = (*COLUMNS, "last_seen", "state")
    rows = [
        [
            *("" if t.get(c) is None else str(t.get(c)) for c in COLUMNS),
            t.get("last_seen") or "never",
            "revoked" if t.get("revoked") else "active",
        ]
        for t in tokens
    ]
    widths = [max(len(c), *(len(r[i]) for r in rows)) if rows else len(c) for i, c in enumerate(columns)]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip(), file=out)
    for row in rows:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip(), file=out)
    if action == "list" and not rows:
        print("(no ingest tokens)", file=out)
    if "token" in result:
        print(f"\ntoken: {result['token']}", file=out)
        print("This secret is shown once: configure it now (Authorization: Bearer <token>).", file=out)


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout  # looked up now: a test (or a caller) may have replaced it
    try:
        result = _offline(args) if args.data_dir else _remote(args)
    except TokensError as exc:
        print(f"ccmon tokens: {exc}", file=sys.stderr)
        return exc.status
    except StoreError as exc:  # a store that cannot be opened (held by a running server, ...)
        print(f"ccmon tokens: {exc}", file=sys.stderr)
        return 1
    if args.json:
        out.write(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        _print(args.action, result, out)
    return 0
