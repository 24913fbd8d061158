"""Email rules: `PATTERN=TEAM` infers the team of a person the directory does not list (seed 000's
"`*@payments.company.com` -> payments"). Declared here, below both `ingest` (which applies them as rows are built)
and the directory (whose YAML and API may carry them)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

GROUP_REFERENCE = re.compile(r"\$(\d)")


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
        for reference in GROUP_REFERENCE.findall(self.team):
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
        return GROUP_REFERENCE.sub(lambda m: match.group(int(m.group(1))), self.team)

    @property
    def anchored(self) -> str:
        """The pattern as a whole-string RE2 regex (ClickHouse's `match`)."""
        return f"^(?:{self.regex.pattern})$"

    @property
    def replacement(self) -> str:
        """The team as a `replaceRegexpOne` replacement (`\\1` for `$1`)."""
        return GROUP_REFERENCE.sub(r"\\\1", self.team)

    def __str__(self) -> str:
        return f"{self.pattern}={self.team}"


def parse_team_rules(items: Iterable[str]) -> tuple[TeamRule, ...]:
    return tuple(TeamRule.parse(item) for item in items)


def team_of(rules: Iterable[TeamRule], email: str) -> str:
    """The team the first matching rule gives an email, or ''."""
    if not email:
        return ""
    lowered = email.lower()
    for rule in rules:
        team = rule.team_of(lowered)
        if team:
            return team
    return ""
