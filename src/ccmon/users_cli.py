"""`ccmon users add|list|passwd|set-role|remove` and `ccmon api-keys create|list|revoke`.

Against a running server (`--url`, with an admin API token or key in `--token`) through `/api/v1/users` and
`/api/v1/api-keys`, or, with `--data-dir`, directly in a stopped server's data folder (the embedded engine is one
process's): that is how the first admin is made. Either way the change is in the audit log.

Passwords are never flags (they would sit in the shell history and the process list): asked twice at a terminal,
else read from the first line of standard input (`printf '%s\\n' "$PW" | ccmon users add ...`).
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable
from typing import Any, TextIO
from urllib.parse import quote

import orjson

from ccmon.admin_cli import AdminCliError, add_target_arguments, open_data_folder, request_admin_api
from ccmon.store.facade import StoreError
from ccmon.tokens_cli import TokensError, parse_expiry

ROLES = ("admin", "finance", "manager", "team_lead", "developer", "viewer")
USER_COLUMNS = ("email", "name", "role", "team", "department", "source", "disabled")
KEY_COLUMNS = ("id", "name", "role", "person", "team", "department", "expires_at", "revoked")
Out = TextIO


class CliError(AdminCliError):
    """`ccmon users`'s and `ccmon api-keys`'s one-line failures."""


def add_parsers(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
) -> dict[str, argparse.ArgumentParser]:
    users: argparse.ArgumentParser = commands.add_parser(
        "users",
        help="add, list, change and remove people who log in",
        description="Manage local logins (email and password) and the role of every login.",
    )
    actions = users.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="add a user (asks for the password)")
    add.add_argument("email")
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument("--name", default="")
    add.add_argument("--team", default="", help="their team (else the directory's)")
    add.add_argument("--department", default="", help="their department (else the directory's)")
    actions.add_parser("list", help="list users")
    passwd = actions.add_parser("passwd", help="set a user's password (asks for it); ends their sessions")
    passwd.add_argument("email")
    set_role = actions.add_parser("set-role", help="change a user's role; ends their sessions")
    set_role.add_argument("email")
    set_role.add_argument("role", choices=ROLES)
    remove = actions.add_parser("remove", help="remove a user; ends their sessions")
    remove.add_argument("email")
    for action in actions.choices.values():
        add_target_arguments(action)

    keys: argparse.ArgumentParser = commands.add_parser(
        "api-keys",
        help="create, list and revoke API keys for automation",
        description="API keys (`Authorization: Bearer ccmk_...`) with a role and, for scoped roles, the person, team "
        "or department they see.",
    )
    key_actions = keys.add_subparsers(dest="action", required=True)
    create = key_actions.add_parser("create", help="create a key and print it (once)")
    create.add_argument("name", help="what the key is for, e.g. finance-export")
    create.add_argument("--role", required=True, choices=ROLES)
    create.add_argument("--person", default="", help="the person whose data a developer key sees (email or key)")
    create.add_argument("--team", default="", help="the team a team_lead key sees")
    create.add_argument("--department", default="", help="the department a manager key sees")
    create.add_argument("--expires", help="date or RFC 3339 instant (UTC) when the key stops working")
    key_actions.add_parser("list", help="list keys")
    revoke = key_actions.add_parser("revoke", help="revoke a key")
    revoke.add_argument("id", help="the key's id (see `ccmon api-keys list`)")
    for action in key_actions.choices.values():
        add_target_arguments(action)
    return {"users": users, "api-keys": keys}


def read_password(stdin: TextIO | None = None) -> str:
    stdin = stdin or sys.stdin
    if stdin.isatty():
        first = getpass.getpass("Password (at least 12 characters): ")
        if getpass.getpass("Again: ") != first:
            raise CliError("the passwords differ", status=2)
        return first
    line = stdin.readline().rstrip("\r\n")
    if not line:
        raise CliError("no password on standard input", status=2)
    return line


def _request(args: argparse.Namespace, password: str | None) -> tuple[str, str, dict[str, Any] | None]:
    """(method, path under /api/v1, JSON body) for a command."""
    if args.command == "users":
        email = quote(getattr(args, "email", ""), safe="@")
        return {
            "add": (
                "POST",
                "users",
                {
                    "email": getattr(args, "email", ""),
                    "role": getattr(args, "role", ""),
                    "name": getattr(args, "name", ""),
                    "team": getattr(args, "team", ""),
                    "department": getattr(args, "department", ""),
                    "password": password,
                },
            ),
            "list": ("GET", "users", None),
            "passwd": ("PATCH", f"users/{email}", {"password": password}),
            "set-role": ("PATCH", f"users/{email}", {"role": getattr(args, "role", "")}),
            "remove": ("DELETE", f"users/{email}", None),
        }[args.action]
    if args.action == "create":
        expires = parse_expiry(args.expires).isoformat() if args.expires else None
        body = {"name": args.name, "role": args.role, "person": args.person, "team": args.team}
        return "POST", "api-keys", {**body, "department": args.department, "expires_at": expires}
    if args.action == "list":
        return "GET", "api-keys", None
    return "DELETE", f"api-keys/{quote(args.id, safe='')}", None


def _remote(args: argparse.Namespace, password: str | None) -> Any:
    method, path, body = _request(args, password)
    return request_admin_api(
        args.url,
        args.token,
        lambda client: client.request(method, f"/api/v1/{path}", json=body),
        forbidden="this needs an admin API token or key",
        credential="an admin API token or key",
        error=CliError,
    )


def _offline(args: argparse.Namespace, password: str | None) -> Any:
    from ccmon.auth.api_keys import ApiKeyError, ApiKeys  # the engine loads only when used
    from ccmon.auth.audit import Audit
    from ccmon.auth.principal import Role
    from ccmon.auth.sessions import Sessions
    from ccmon.auth.users import UserError, Users

    # An empty folder is fine: the first admin may be made before the server's first start.
    with open_data_folder(args.data_dir, args.database, must_hold_data=False, error=CliError) as store:
        audit = Audit(store)
        actor = f"cli:{getpass.getuser()}"
        try:
            if args.command == "api-keys":
                keys = ApiKeys(store)
                if args.action == "list":
                    return {"api_keys": [k.public() for k in keys.list()]}
                if args.action == "create":
                    expires = parse_expiry(args.expires) if args.expires else None
                    record, key = keys.create(
                        args.name,
                        role=Role.parse(args.role),
                        person=args.person,
                        team=args.team,
                        department=args.department,
                        expires_at=expires,
                        created_by=actor,
                    )
                    audit.record(actor, "apikey.create", record.id, detail=f"name={record.name}, role={args.role}")
                    return {**record.public(), "key": key}
                record = keys.revoke(args.id)
                audit.record(actor, "apikey.revoke", record.id, detail=f"name={record.name}")
                return record.public()
            users = Users(store)
            users.changed.append(Sessions(store).revoke_all)
            if args.action == "list":
                return {"users": [u.public() for u in users.list()]}
            if args.action == "add":
                user = users.create(
                    args.email,
                    role=Role.parse(args.role),
                    name=args.name,
                    team=args.team,
                    department=args.department,
                    password=password,
                )
                audit.record(actor, "user.create", user.email, detail=f"role={user.role.value}")
            elif args.action == "passwd":
                user = users.update(args.email, password=password)
                audit.record(actor, "user.update", user.email, detail="password")
            elif args.action == "set-role":
                user = users.update(args.email, role=Role.parse(args.role))
                audit.record(actor, "user.update", user.email, detail=f"role={user.role.value}")
            else:
                user = users.delete(args.email)
                audit.record(actor, "user.delete", user.email)
            return user.public()
        except (UserError, ApiKeyError) as exc:
            raise CliError(str(exc), status=2 if exc.status in {400, 409} else 1) from None


def _table(rows: list[dict[str, Any]], columns: tuple[str, ...], out: Out) -> None:
    cells = [["" if r.get(c) is None else str(r.get(c)) for c in columns] for r in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) if cells else len(c) for i, c in enumerate(columns)]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip(), file=out)
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip(), file=out)


def _print(args: argparse.Namespace, result: Any, out: Out) -> None:
    if args.command == "users":
        rows = result["users"] if args.action == "list" else [result]
        _table(rows, USER_COLUMNS, out)
        if args.action == "list" and not rows:
            print("(no users)", file=out)
        return
    rows = result["api_keys"] if args.action == "list" else [result]
    _table(rows, KEY_COLUMNS, out)
    if args.action == "list" and not rows:
        print("(no API keys)", file=out)
    if "key" in result:
        print(f"\nkey: {result['key']}", file=out)
        print("This key is shown once: store it now (Authorization: Bearer <key>).", file=out)


def run(args: argparse.Namespace, out: Out = sys.stdout, stdin: TextIO | None = None) -> int:
    name = f"ccmon {args.command}"
    try:
        needs_password = args.command == "users" and args.action in {"add", "passwd"}
        password = read_password(stdin) if needs_password else None
        fetch: Callable[[argparse.Namespace, str | None], Any] = _offline if args.data_dir else _remote
        result = fetch(args, password)
    except (CliError, TokensError) as exc:  # TokensError: an --expires that is not a date
        print(f"{name}: {exc}", file=sys.stderr)
        return exc.status
    except StoreError as exc:  # a store that cannot be opened (held by a running server, ...)
        print(f"{name}: {exc}", file=sys.stderr)
        return 1
    except ValueError as exc:  # a role or an expiry that cannot be read
        print(f"{name}: {exc}", file=sys.stderr)
        return 2
    if args.json:
        out.write(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        _print(args, result, out)
    return 0
