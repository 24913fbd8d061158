"""Attribution: the dimensions of a row that are derived rather than sent, applied as each row is built.

- `project` and `provider` follow the rules of `ccmon.store.dimensions` (declared there, next to their SQL form),
  read from the row as it will be stored: its columns, the attributes no column holds and its resource's.
- `team`, `department` and `cost_center`, when a directory is configured (`ccmon.directory`): the person's entry wins
  over what the client sent. Precedence: an ingest token's pins (applied after this, `IngestBatch.pins`) > the
  directory > what the client sent > email rules.
- `team`, when neither the directory nor the client gave one, from the person's email by the email rules
  (`TeamRule`): the directory's first, then the `team_from_email` setting's. Seed 000's
  "`*@payments.company.com` -> payments".

Metric rows are attributed here in Python from the directory's cached snapshot; event and span rows in the engine's
SQL (`column_sql`), which reads the directory's tables at each INSERT: both follow a change made through the API
without a restart (the snapshot within `ccmon.directory.registry.REFRESH_S`). Matching is on the raw email, before
any pseudonymisation.

What is derived is stored with the row: changing the settings applies to telemetry received from then on
(`ccmon directory apply` re-attributes stored rows).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from ccmon.directory.people import ATTRIBUTED
from ccmon.directory.registry import PEOPLE_SQL, RULES_SQL, Directory, attribution_of
from ccmon.directory.rules import TeamRule, parse_team_rules, team_of
from ccmon.store.dimensions import DEFAULT_PROJECT_KEYS, PROMOTED_KEYS, project_of, provider_of, sql_literal

__all__ = ["Attribution", "TeamRule", "first_values", "parse_team_rules"]


def first_values(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Attribute pairs by key; of a key sent twice, the first value (as the store's map lookup reads it)."""
    values: dict[str, str] = {}
    for key, value in pairs:
        values.setdefault(key, value)
    return values


class Attribution:
    """The derivations applied to every row, with the settings that shape them."""

    def __init__(
        self,
        project_keys: Sequence[str] = DEFAULT_PROJECT_KEYS,
        team_rules: Sequence[TeamRule] = (),
        directory: Directory | None = None,
    ) -> None:
        self.project_keys = tuple(project_keys)
        self.team_rules = tuple(team_rules)
        self.directory = directory

    def apply(
        self, row: list[object], index: Mapping[str, int], attrs: Iterable[tuple[str, str]], resource: Mapping[str, str]
    ) -> None:
        """Fill the derived columns of a row whose attribute columns are filled; `attrs` are the record's attributes
        that no column holds, `resource` its resource's attributes."""
        record = first_values(attrs)
        columns = {column: str(row[index[column]]) for column in PROMOTED_KEYS.values()}
        row[index["project"]] = project_of(self.project_keys, record, resource, columns)
        row[index["provider"]] = provider_of(record, resource, str(row[index["model"]]))
        email = str(row[index["user_email"]])
        rules = self.team_rules
        if self.directory is not None:
            snapshot = self.directory.snapshot()
            for column, value in attribution_of(snapshot, email).items():
                row[index[column]] = value
            rules = (*snapshot.rules, *rules)
        if rules and not row[index["team"]]:
            row[index["team"]] = team_of(rules, email)

    def column_sql(self, column: str, current: str, email: str) -> str:
        """In SQL, what `apply` puts in `column` (team, department or cost_center) of a row whose sent value is the
        expression `current` and whose email is `email`: the directory's value, else `current`, else (the team)
        the first email rule's."""
        if column not in ATTRIBUTED:
            raise ValueError(f"{column} is not decided by the directory; it decides {', '.join(ATTRIBUTED)}")
        value = current
        if self.directory is not None:
            number = ATTRIBUTED.index(column) + 2
            listed = f"transform(lowerUTF8({email}), {PEOPLE_SQL}.1, {PEOPLE_SQL}.{number}, '')"
            value = f"if({listed} != '', {listed}, {current})"
        if column != "team" or not (self.team_rules or self.directory is not None):
            return value
        return f"if({value} != '' OR {email} = '', {value}, {self._rules_sql(email)})"

    def team_sql(self, team: str, email: str) -> str:
        """`column_sql` of the team."""
        return self.column_sql("team", team, email)

    def _rules_sql(self, email: str) -> str:
        """The team the first email rule matching `email` gives, or '': the directory's rules (read from the store
        at each query), then the configured ones."""
        lowered = f"lowerUTF8({email})"
        branches = []
        if self.directory is not None:
            found = f"arrayFirstIndex(p -> match({lowered}, p), {RULES_SQL}.1)"
            stored = f"replaceRegexpOne({lowered}, {RULES_SQL}.1[{found}], {RULES_SQL}.2[{found}])"
            branches.append(f"{found} != 0, {stored}")
        for rule in self.team_rules:
            anchored = sql_literal(rule.anchored)
            replacement = sql_literal(rule.replacement)
            branches.append(f"match({lowered}, {anchored}), replaceRegexpOne({lowered}, {anchored}, {replacement})")
        return f"multiIf({', '.join(branches)}, '')"

    def team_of(self, email: str) -> str:
        """The team the first matching rule gives an email, or ''."""
        rules = self.team_rules
        if self.directory is not None:
            rules = (*self.directory.snapshot().rules, *rules)
        return team_of(rules, email)
