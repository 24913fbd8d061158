"""Which rows a caller may see. Every analytics query takes a `Scope` and applies it in SQL.

Today the only scope is everyone; roles (a developer sees their own rows, a team lead their team) will narrow it
here, in one place, so no query can forget to.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Scope:
    persons: tuple[str, ...] | None = None
    """Only rows of these person keys; None: no restriction."""
    teams: tuple[str, ...] | None = None
    """Only rows of these teams; None: no restriction."""

    @classmethod
    def everyone(cls) -> Scope:
        return cls()

    @property
    def columns(self) -> frozenset[str]:
        """The dimension columns the scope restricts."""
        return frozenset(
            column for column, values in (("person", self.persons), ("team", self.teams)) if values is not None
        )

    def sql(self) -> tuple[str, dict[str, Any]]:
        """A WHERE fragment (always valid after `AND`) and its bound parameters."""
        clauses, params = ["1"], {}
        if self.persons is not None:
            clauses.append("person IN {scope_persons:Array(String)}")
            params["scope_persons"] = list(self.persons)
        if self.teams is not None:
            clauses.append("team IN {scope_teams:Array(String)}")
            params["scope_teams"] = list(self.teams)
        return " AND ".join(clauses), params
