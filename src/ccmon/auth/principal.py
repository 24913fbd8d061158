"""Who is asking: a `Principal` (a login, an API key, a trusted proxy's user) and the role that bounds what it sees.

The role becomes an analytics `Scope` here, in one place: every query applies the scope in SQL, so what a caller may
see is enforced where the rows are read, never by hiding parts of the UI.

| role        | rows                          | per-person rows | prompt text, tool parameters, error bodies |
|-------------|-------------------------------|-----------------|--------------------------------------------|
| admin       | everyone's                    | yes             | yes                                        |
| finance     | everyone's                    | yes             | never                                      |
| manager     | their department's            | yes             | yes                                        |
| team_lead   | their team's                  | yes             | yes                                        |
| developer   | their own                     | yes (their own) | yes (their own)                            |
| viewer      | everyone's, aggregated        | no              | never                                      |
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ccmon.analytics.scope import Scope


class Role(StrEnum):
    ADMIN = "admin"
    FINANCE = "finance"
    MANAGER = "manager"
    TEAM_LEAD = "team_lead"
    DEVELOPER = "developer"
    VIEWER = "viewer"

    @classmethod
    def parse(cls, text: str) -> Role:
        value = text.strip().lower().replace("-", "_").replace(" ", "_")
        try:
            return cls(value)
        except ValueError:
            raise ValueError(f"{text!r} is not a role; roles are {', '.join(r.value for r in cls)}") from None


@dataclass(frozen=True)
class Principal:
    """An authenticated caller."""

    name: str
    """The login (an email for people), or an API key's name."""
    role: Role
    person: str = ""
    """The person key the caller's own rows carry (their email, or its pseudonym with `hash_emails`); '' for none."""
    team: str = ""
    department: str = ""
    via: str = "loopback"
    """How it authenticated: loopback, token, session, oidc, api_key or header."""

    def scope(self) -> Scope:
        """The rows and fields this caller may read. A manager without a department, a team lead without a team or a
        developer without a person sees nothing rather than everything."""
        if self.role is Role.ADMIN:
            return Scope.everyone()
        if self.role is Role.FINANCE:
            return Scope(content=False)
        if self.role is Role.VIEWER:
            return Scope(per_person=False, content=False)
        if self.role is Role.MANAGER:
            return Scope(departments=(self.department,) if self.department else ())
        if self.role is Role.TEAM_LEAD:
            return Scope(teams=(self.team,) if self.team else ())
        return Scope(persons=(self.person,) if self.person else ())

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN


LOOPBACK_ADMIN = Principal("local", Role.ADMIN, via="loopback")
"""The caller on a loopback-only server with no authentication configured: one developer on their laptop."""
