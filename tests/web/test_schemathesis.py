"""Schemathesis over the OpenAPI document, against the app over real HTTP: no request it generates gets a 5xx.

As the admin (every route open) and as a developer (scoped to one person: the scope's SQL is in every query), on a
store holding the role tests' organisation (tests/web/roles_data.py). Bounded so the run takes well under two minutes
on two busy cores: few examples per operation, no deadline, generated cases only (no exhaustive coverage phase).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error

from ccmon.auth.principal import Role
from tests.web import roles_data as org

MAX_EXAMPLES = 3


@pytest.fixture(scope="module")
def served(chdb_path: Path, clickhouse_url: str | None) -> Iterator[tuple[dict[str, Any], httpx.Client]]:
    with org.loaded_store(chdb_path, clickhouse_url, "test_schemathesis_module") as store:
        app = org.build_app(store)
        with org.serving(app) as client:
            yield app.openapi(), client


@pytest.fixture(scope="module")
def openapi_schema(served: tuple[dict[str, Any], httpx.Client]) -> Any:
    document, client = served
    schema = schemathesis.openapi.from_dict(document)
    schema.config.update(base_url=str(client.base_url))
    return schema


BOUNDED = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
    derandomize=True,
    database=None,
)


def _run(schema: Any, role: Role) -> None:
    """Every operation of the document, each with its own bounded Hypothesis run."""
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 20
    for operation in operations:

        @BOUNDED
        @given(case=operation.as_strategy())
        def check(case: Any) -> None:
            response = case.call(headers={org.ROLE_HEADER: role.value}, timeout=60)
            case.validate_response(response, checks=[not_a_server_error])

        check()


def test_no_server_errors_as_admin(openapi_schema: Any) -> None:
    _run(openapi_schema, Role.ADMIN)


def test_no_server_errors_as_developer(openapi_schema: Any) -> None:
    _run(openapi_schema, Role.DEVELOPER)
