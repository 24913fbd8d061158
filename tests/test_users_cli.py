"""`ccmon users` and `ccmon api-keys`: the first admin made offline in a stopped server's folder, then everything else
through the running server's API."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx

from tests.support import ccmon_env, make_config, run_ccmon, subprocess_server

PASSWORD = "correct horse battery staple"


def ccmon_with_input(*args: str, stdin: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ccmon", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env=ccmon_env(),
        check=False,
    )


def test_first_admin_offline_then_login_and_manage_over_http(tmp_path: Path) -> None:
    data = tmp_path / "data"
    added = ccmon_with_input(
        "users", "add", "Root@Example.com", "--role", "admin", "--name", "Root", "--data-dir", str(data),
        stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert "root@example.com" in added.stdout and PASSWORD not in added.stdout
    weak = ccmon_with_input("users", "add", "w@example.com", "--role", "viewer", "--data-dir", str(data), stdin="x\n")
    assert weak.returncode == 2 and "12 characters" in weak.stderr
    key = run_ccmon("api-keys", "create", "automation", "--role", "admin", "--data-dir", str(data), "--json")
    assert key.returncode == 0, key.stderr
    admin_key = json.loads(key.stdout)["key"]

    config = make_config(data)
    with subprocess_server(config, tmp_path / "serve.log") as (server, _):
        base = server.api_url
        assert httpx.get(f"{base}/api/v1/summary").status_code == 401  # a user exists: login required
        login = httpx.post(f"{base}/auth/login", json={"email": "root@example.com", "password": PASSWORD})
        assert login.status_code == 200 and "ccmon_session=" in login.headers["set-cookie"]

        remote = ("--url", base, "--token", admin_key)
        dev = ccmon_with_input(
            "users", "add", "dev@example.com", "--role", "developer", "--team", "payments", *remote,
            stdin=PASSWORD + "\n",
        )  # fmt: skip
        assert dev.returncode == 0, dev.stderr
        assert run_ccmon("users", "set-role", "dev@example.com", "team_lead", *remote).returncode == 0
        listed = run_ccmon("users", "list", *remote)
        assert listed.returncode == 0 and "team_lead" in listed.stdout and "root@example.com" in listed.stdout
        created = run_ccmon("api-keys", "create", "reports", "--role", "finance", *remote)
        assert created.returncode == 0 and "key: ccmk_" in created.stdout
        key_id = created.stdout.splitlines()[1].split()[0]
        assert run_ccmon("api-keys", "revoke", key_id, *remote).returncode == 0
        assert "True" in run_ccmon("api-keys", "list", *remote).stdout
        assert run_ccmon("users", "remove", "dev@example.com", *remote).returncode == 0
        refused = run_ccmon("users", "list", "--url", base)
        assert refused.returncode == 1 and "401" in refused.stderr
        audit = httpx.get(f"{base}/api/v1/audit", headers={"authorization": f"Bearer {admin_key}"}).json()
        actions = [e["action"] for e in audit["entries"]]
        assert actions[:4] == ["user.delete", "apikey.revoke", "apikey.create", "user.update"]
        assert "login.ok" in actions and actions[-2:] == ["apikey.create", "user.create"]
        assert all(e["actor"].startswith("cli:") for e in audit["entries"][-2:])


def test_offline_errors_are_one_line(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    missing = run_ccmon("users", "set-role", "nobody@example.com", "admin", "--data-dir", data)
    assert missing.returncode == 1 and "no user" in missing.stderr and "Traceback" not in missing.stderr
    bad_email = ccmon_with_input("users", "add", "<script>", "--role", "viewer", "--data-dir", data, stdin=PASSWORD)
    assert bad_email.returncode == 2 and "not an email address" in bad_email.stderr
    bad_expiry = run_ccmon("api-keys", "create", "k", "--role", "viewer", "--expires", "soon", "--data-dir", data)
    assert bad_expiry.returncode == 2 and "--expires" in bad_expiry.stderr
