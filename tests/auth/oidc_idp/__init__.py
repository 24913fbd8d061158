"""The test OpenID provider (`provider.mjs`: the certified `oidc-provider` npm package) as a child process, and a
login through its form without a browser.

`scripts/test` installs the package into `.cache/oidc-provider`; `CCMON_OIDC_PROVIDER_DIR` points elsewhere.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

from tests.support import REPO, free_port

PROVIDER_DIR = Path(os.environ.get("CCMON_OIDC_PROVIDER_DIR") or REPO / ".cache" / "oidc-provider")
SCRIPT = Path(__file__).with_name("provider.mjs")

CLIENT_ID = "ccmon"
CLIENT_SECRET = "ccmon-test-secret"
OTHER_CLIENT_ID = "other-app"
OTHER_CLIENT_SECRET = "other-app-secret"
OTHER_REDIRECT = "http://127.0.0.1/cb"

ROLE_MAP = ("ccmon-admins=admin", "engineering=developer", "staff=viewer")
"""The `role_map` the tests configure: alice (ccmon-admins, staff) is an admin, bob (engineering) a developer, carol
(contractors) matches nothing and, with `default_role = none`, may not log in."""


def password(email: str) -> str:
    """The test users' passwords: `alice@example.com` has `alice-alice` (provider.mjs)."""
    local = email.split("@", 1)[0]
    return f"{local}-{local}"


@dataclass(frozen=True)
class OidcIdp:
    issuer: str
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]


@contextlib.contextmanager
def running_idp(log_path: Path, timeout: float = 30) -> Iterator[OidcIdp]:
    """`node provider.mjs` on a free loopback port, until its discovery document answers; stopped afterwards."""
    if not (PROVIDER_DIR / "node_modules" / "oidc-provider").is_dir():
        pytest.fail(f"oidc-provider is not installed in {PROVIDER_DIR}: run scripts/test (it installs it)")
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not on PATH: the OpenID Connect tests run the npm package oidc-provider")
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    env = {**os.environ, "CCMON_OIDC_PROVIDER_DIR": str(PROVIDER_DIR)}
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [node, str(SCRIPT), "--port", str(port)], stdout=log, stderr=subprocess.STDOUT, env=env
        )
    idp = OidcIdp(issuer, log_path)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                pytest.fail(f"the test OpenID provider exited with {process.returncode}:\n{idp.log()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{issuer}/.well-known/openid-configuration", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                pytest.fail(f"the test OpenID provider did not answer within {timeout} s:\n{idp.log()}")
            time.sleep(0.1)
        yield idp
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def idp_login(browser: httpx.Client, url: str, email: str, secret: str | None = None, *, max_hops: int = 10) -> str:
    """Follow `url` (the provider's authorization URL) through the provider's login form as a browser would, with
    `browser`'s cookies, until a redirect leaves the provider: answers that redirect's target (the relying party's
    callback, with `code` and `state`, or with `error`)."""
    origin = urlsplit(url).netloc
    response = browser.get(url)
    for _ in range(max_hops):
        if response.is_redirect:
            target = urljoin(str(response.url), response.headers["location"])
            if urlsplit(target).netloc != origin:
                return target
            response = browser.get(target)
        elif response.status_code == 200 and 'id="login"' in response.text:
            action = str(response.url).rstrip("/") + "/login"
            response = browser.post(
                action, data={"login": email, "password": password(email) if secret is None else secret}
            )
        else:
            raise AssertionError(f"{response.url}: unexpected {response.status_code}: {response.text[:500]}")
    raise AssertionError(f"no redirect out of the provider after {max_hops} steps")
