"""From the groups a login belongs to (an identity provider's group claim, or an authenticating proxy's groups header)
to a ccmon role.

`role_map` is a list of `GROUP=ROLE` rules. The rule: **the first rule, in the order configured, whose group the login
belongs to gives the role** (list the most specific groups first; a `contractors=viewer` rule before `staff=admin`
caps contractors who are also staff). Group names compare exactly, ignoring case and surrounding spaces, and `*`
stands for any group. With no rule matching, `default_role` applies; `none` there refuses the login.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ccmon.auth.principal import Role

NONE = "none"
"""`default_role` value refusing logins that match no rule."""


@dataclass(frozen=True)
class RoleRule:
    group: str
    role: Role

    @classmethod
    def parse(cls, text: str) -> RoleRule:
        # The role is after the last '=': a group may hold '=' (an LDAP DN such as cn=admins,ou=people in TOML).
        group, sep, role = text.rpartition("=")
        if not sep or not group.strip():
            raise ValueError(f"{text!r} is not GROUP=ROLE")
        return cls(group.strip(), Role.parse(role))

    def __str__(self) -> str:
        return f"{self.group}={self.role.value}"

    def matches(self, groups: frozenset[str]) -> bool:
        return self.group == "*" or self.group.lower() in groups


def parse_default_role(text: str) -> str:
    """A `default_role` setting: a role, or `none`."""
    value = text.strip().lower()
    return NONE if value == NONE else Role.parse(value).value


def default_role(text: str) -> Role | None:
    return None if text == NONE else Role.parse(text)


def role_for(groups: Iterable[str], role_map: Sequence[RoleRule], default: Role | None) -> Role | None:
    """The role of a login in `groups`; None: refuse the login."""
    member = frozenset(g.strip().lower() for g in groups if g.strip())
    for rule in role_map:
        if rule.matches(member):
            return rule.role
    return default


def split_groups(header: str) -> list[str]:
    """A comma-separated groups header, as authenticating proxies send it (oauth2-proxy's X-Forwarded-Groups)."""
    return [g.strip() for g in header.split(",") if g.strip()]
