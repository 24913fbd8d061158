"""Which rows and fields a caller may see. Every analytics query takes a `Scope` and applies it in SQL.

The caller's role (`ccmon.auth.principal`) decides the scope; it is applied here, in one place, so no query can forget
it: `sql()` narrows the rows, `per_person` says whether answers may hold one row per person, `content` whether they
may hold prompt text, assistant responses, tool parameters and error bodies.

Without `per_person` (the viewer), these are refused with `Forbidden` (403): the leaderboard of people, cost and
acceptance by person, a person's profile, the session list, a session's timeline, the events explorer, and a `person`
filter naming anyone (it would make any total one person's). Answers over teams, the organisation, models, tools,
projects and time stay allowed, and so do distributions over sessions (session-distribution: counts per bin,
percentiles and extremes, no session id or person) and sessions by project: aggregates, like the summary, even when a
small group makes one of their numbers one person's. Without `content` (finance, viewer), the fields `content.py`
lists are left out of every event and span, and the explorer refuses to search or filter on them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class Forbidden(Exception):
    """The caller's scope does not allow this question at all (HTTP 403); the message says why."""


@dataclass(frozen=True)
class Scope:
    persons: tuple[str, ...] | None = None
    """Only rows of these person keys; None: no restriction."""
    teams: tuple[str, ...] | None = None
    """Only rows of these teams; None: no restriction."""
    departments: tuple[str, ...] | None = None
    """Only rows of these departments; None: no restriction."""
    per_person: bool = True
    """False: aggregates only, never a row, group or profile per person or session (the viewer role)."""
    content: bool = True
    """False: never prompt text, assistant responses, tool parameters or inputs, error bodies or request bodies."""

    @classmethod
    def everyone(cls) -> Scope:
        return cls()

    @property
    def columns(self) -> frozenset[str]:
        """The dimension columns the scope restricts."""
        return frozenset(column for column, values in self._restrictions() if values is not None)

    def _restrictions(self) -> tuple[tuple[str, tuple[str, ...] | None], ...]:
        return (("person", self.persons), ("team", self.teams), ("department", self.departments))

    def sql(self) -> tuple[str, dict[str, Any]]:
        """A WHERE fragment (always valid after `AND`) and its bound parameters."""
        clauses, params = ["1"], {}
        for column, values in self._restrictions():
            if values is not None:
                clauses.append(f"{column} IN {{scope_{column}s:Array(String)}}")
                params[f"scope_{column}s"] = list(values)
        return " AND ".join(clauses), params

    def require_per_person(self, what: str) -> None:
        """Refuse a question whose answer is per person (or per session) when the scope allows aggregates only."""
        if not self.per_person:
            raise Forbidden(f"{what} lists individual people or sessions; this role sees organisation-wide totals only")
