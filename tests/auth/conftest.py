"""Fixtures of the auth tests: the test OpenID provider (one `node provider.mjs` for the whole run) and a ccmon
server that logs in through it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ccmon.auth.groups import RoleRule
from ccmon.settings import Config
from ccmon.store.facade import Store
from tests.auth.oidc_idp import CLIENT_ID, CLIENT_SECRET, ROLE_MAP, OidcIdp, running_idp
from tests.support import RunningServer, in_process_server, make_config


@pytest.fixture(scope="session")
def oidc_idp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OidcIdp]:
    """The test OpenID provider, listening until the end of the run (its log: `idp.log` in a temporary folder)."""
    with running_idp(tmp_path_factory.mktemp("oidc-idp") / "idp.log") as idp:
        yield idp


@dataclass(frozen=True)
class SsoServer:
    server: RunningServer
    store: Store
    """The server's own database, opened in this process (chDB shares one engine)."""
    idp: OidcIdp

    @property
    def url(self) -> str:
        return self.server.api_url


def sso_config(chdb_path: Path, issuer: str) -> Config:
    """A server config, in a database of its own, signing in through the test provider at `issuer`: alice is an
    admin, bob a developer, carol has no role (`default_role = none`)."""
    return make_config(
        chdb_path,
        database=f"sso_{uuid.uuid4().hex[:12]}",
        oidc_issuer=issuer,
        oidc_client_id=CLIENT_ID,
        oidc_client_secret=CLIENT_SECRET,
        role_map=tuple(RoleRule.parse(rule) for rule in ROLE_MAP),
        default_role="none",
    )


@pytest.fixture(scope="module")
def sso_server(chdb_path: Path, oidc_idp: OidcIdp) -> Iterator[SsoServer]:
    """ccmon with single sign-on through the test provider: alice is an admin, bob a developer, carol has no role
    (`default_role = none`)."""
    config = sso_config(chdb_path, oidc_idp.issuer)
    with in_process_server(config) as server:
        store = Store.open(data_dir=str(chdb_path), database=config.database)
        try:
            yield SsoServer(server, store, oidc_idp)
        finally:
            store.close()
