"""Attribution: the dimensions of a row that are derived rather than sent, applied as each row is built.

- `project` and `provider` follow the rules of `ccmon.store.dimensions` (declared there, next to their SQL form),
  read from the row as it will be stored: its columns, the attributes no column holds and its resource's.
- `team`, when no team attribute arrived, from the person's email by the configured rules (`TeamRule`): seed 000's
  "`*@payments.company.com` -> payments". A team that was sent always wins.

What is derived is stored with the row: changing the settings applies to telemetry received from then on.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from ccmon.store.dimensions import DEFAULT_PROJECT_KEYS, PROMOTED_KEYS, project_of, provider_of, sql_literal

_GROUP_REFERENCE = re.compile(r"\$(\d)")


@dataclass(frozen=True)
class TeamRule:
    """`PATTERN=TEAM`: an email matching PATTERN (whole, ignoring case; `*` is any run of characters but `@`) is in
    TEAM, in which `$1`, `$2`, ... stand for what the first, second, ... `*` matched."""

    pattern: str
    team: str
    regex: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.pattern or "@" not in self.pattern:
            raise ValueError(
                f"team rule {self}: the pattern must be an email pattern with an @, e.g. *@payments.example.com"
            )
        if not self.team:
            raise ValueError(f"team rule {self}: the team is empty")
        stars = self.pattern.count("*")
        for reference in _GROUP_REFERENCE.findall(self.team):
            if not 1 <= int(reference) <= stars:
                raise ValueError(f"team rule {self}: ${reference} names no * of the pattern (it has {stars})")
        parts = (re.escape(part) for part in self.pattern.lower().split("*"))
        object.__setattr__(self, "regex", re.compile("([^@]*)".join(parts)))

    @classmethod
    def parse(cls, text: str) -> TeamRule:
        pattern, sep, team = text.strip().rpartition("=")
        if not sep:
            raise ValueError(f"team rule {text!r} is not PATTERN=TEAM, e.g. *@payments.example.com=payments")
        return cls(pattern.strip(), team.strip())

    def team_of(self, email: str) -> str:
        """The team of a lower-cased email, or '' when it does not match."""
        match = self.regex.fullmatch(email)
        if match is None:
            return ""
        return _GROUP_REFERENCE.sub(lambda m: match.group(int(m.group(1))), self.team)

    def __str__(self) -> str:
        return f"{self.pattern}={self.team}"


def first_values(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Attribute pairs by key; of a key sent twice, the first value (as the store's map lookup reads it)."""
    values: dict[str, str] = {}
    for key, value in pairs:
        values.setdefault(key, value)
    return values


def parse_team_rules(items: Iterable[str]) -> tuple[TeamRule, ...]:
    return tuple(TeamRule.parse(item) for item in items)


class Attribution:
    """The derivations applied to every row, with the settings that shape them."""

    def __init__(self, project_keys: Sequence[str] = DEFAULT_PROJECT_KEYS, team_rules: Sequence[TeamRule] = ()) -> None:
        self.project_keys = tuple(project_keys)
        self.team_rules = tuple(team_rules)

    def apply(
        self, row: list[object], index: Mapping[str, int], attrs: Iterable[tuple[str, str]], resource: Mapping[str, str]
    ) -> None:
        """Fill the derived columns of a row whose attribute columns are filled; `attrs` are the record's attributes
        that no column holds, `resource` its resource's attributes."""
        record = first_values(attrs)
        columns = {column: str(row[index[column]]) for column in PROMOTED_KEYS.values()}
        row[index["project"]] = project_of(self.project_keys, record, resource, columns)
        row[index["provider"]] = provider_of(record, resource, str(row[index["model"]]))
        if self.team_rules and not row[index["team"]]:
            row[index["team"]] = self.team_of(str(row[index["user_email"]]))

    def team_sql(self, team: str, email: str) -> str:
        """`team_of` in SQL: the column `team` if set, else the team the first rule matching `email` gives."""
        if not self.team_rules:
            return team
        lowered = f"lowerUTF8({email})"
        branches = []
        for rule in self.team_rules:
            anchored = sql_literal(f"^(?:{rule.regex.pattern})$")
            replacement = sql_literal(_GROUP_REFERENCE.sub(r"\\\1", rule.team))
            branches.append(f"match({lowered}, {anchored}), replaceRegexpOne({lowered}, {anchored}, {replacement})")
        return f"if({team} != '' OR {email} = '', {team}, multiIf({', '.join(branches)}, ''))"

    def team_of(self, email: str) -> str:
        """The team the first matching rule gives an email, or ''."""
        if not email:
            return ""
        lowered = email.lower()
        for rule in self.team_rules:
            team = rule.team_of(lowered)
            if team:
                return team
        return ""
