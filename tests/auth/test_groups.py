"""Group -> role mapping: first matching rule wins, default role, `none` refuses."""

from __future__ import annotations

import pytest

from ccmon.auth.groups import RoleRule, default_role, parse_default_role, role_for, split_groups
from ccmon.auth.principal import Role

RULES = tuple(
    RoleRule.parse(r) for r in ("contractors=viewer", "ccmon-admins=admin", "Finance=finance", "eng=developer")
)


@pytest.mark.parametrize(
    ("groups", "role"),
    [
        (["ccmon-admins"], Role.ADMIN),
        (["eng", "ccmon-admins"], Role.ADMIN),  # rule order decides, not the order of the groups
        (["contractors", "ccmon-admins"], Role.VIEWER),  # the first rule caps contractors
        ([" FINANCE "], Role.FINANCE),  # case and spaces ignored
        (["other"], Role.DEVELOPER),  # the default given below
        ([], Role.DEVELOPER),
    ],
)
def test_first_matching_rule_wins(groups: list[str], role: Role) -> None:
    assert role_for(groups, RULES, Role.DEVELOPER) is role


def test_no_match_with_default_none_refuses() -> None:
    assert role_for(["other"], RULES, default_role(parse_default_role("none"))) is None
    assert role_for(["x"], (RoleRule.parse("*=team-lead"),), None) is Role.TEAM_LEAD


def test_rules_parse_dn_groups_and_refuse_nonsense() -> None:
    rule = RoleRule.parse("cn=admins,ou=groups,dc=example=admin")
    assert (rule.group, rule.role) == ("cn=admins,ou=groups,dc=example", Role.ADMIN)
    for bad in ("admins", "=admin", "admins=root"):
        with pytest.raises(ValueError):
            RoleRule.parse(bad)
    with pytest.raises(ValueError):
        parse_default_role("superuser")


def test_groups_header_is_comma_separated() -> None:
    assert split_groups(" a, b ,,c ") == ["a", "b", "c"]
