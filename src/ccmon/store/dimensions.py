"""The dimensions every table and rollup carries, and the rules of the derived ones, as data.

Most dimensions are attributes Claude Code (or `OTEL_RESOURCE_ATTRIBUTES`) sends. Two are derived from what is
stored with each row:

- `project`: the first of a list of attribute keys (configurable; `DEFAULT_PROJECT_KEYS` by default) that the row
  carries, a record attribute before a resource attribute of the same key.
- `provider`: which service answered the model requests. Set by the organisation with a `provider` attribute (e.g.
  `subscription`), else Claude Code's own `anthropic.provider` (`firstParty`, `bedrock`, `vertex`, `foundry`; the
  first is shown as `anthropic`), else inferred from the model id's form (`PROVIDER_MODELS`). The last is a guess:
  a gateway may serve any id.

The rules are declared here once, with their two readings side by side: `project_of` and `provider_of` in Python,
which `ccmon.ingest.attribution` applies to each row as it is built, and `project_sql` and `provider_sql` in SQL over
the stored columns (`attrs`: the record's attributes no column holds, `resource`: the resource's), which is how
migration 4 derived them for the rows stored before it. A test checks that both give the same answer.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

DIMENSION_COLUMNS = (
    "person",
    "team",
    "department",
    "cost_center",
    "model",
    "repository",
    "terminal_type",
    "version",
    "project",
    "provider",
    "organization_id",
)
"""The filterable dimensions, as columns of every raw table and of the hourly rollups."""

DEFAULT_PROJECT_KEYS = ("project", "vcs.repository.name")
"""A `project` tag (as seed 004 sets it in `OTEL_RESOURCE_ATTRIBUTES`), else the repository Claude Code derives."""

PROMOTED_KEYS: Mapping[str, str] = {"vcs.repository.name": "repository"}
"""Project keys the vocabulary keeps in a column of their own instead of `attrs` (checked against it by a test)."""

PROVIDER_KEYS = ("provider", "anthropic.provider")
"""Attributes naming the provider, the organisation's own label first."""

PROVIDER_NAMES: Mapping[str, str] = {"firstParty": "anthropic"}
"""Claude Code's `anthropic.provider` values shown under another name."""

PROVIDER_MODELS: tuple[tuple[str, str], ...] = (
    # us.anthropic.claude-sonnet-4-5-20250929-v1:0, anthropic.claude-3-5-haiku-20241022-v1:0, inference profile ARNs
    ("bedrock", r"(^|[.:/])anthropic\.claude-|^arn:aws:bedrock:"),
    # claude-sonnet-4-5@20250929
    ("vertex", r"^claude-[^@]*@[0-9]{8}"),
    # claude-sonnet-4-5-20250929, claude-opus-5-5[1m]
    ("anthropic", r"^claude-"),
)
"""Provider by the model id's form, first match wins (regular expressions that Python and ClickHouse's RE2 read
alike), when no attribute names it."""


_MODEL_PATTERNS = tuple((name, re.compile(pattern)) for name, pattern in PROVIDER_MODELS)


def project_of(
    keys: Sequence[str], attrs: Mapping[str, str], resource: Mapping[str, str], columns: Mapping[str, str]
) -> str:
    """The project of a row from its stored attribute maps and columns (what `project_sql` says in SQL)."""
    for key in keys:
        promoted = PROMOTED_KEYS.get(key)
        value = columns.get(promoted, "") if promoted else attrs.get(key) or resource.get(key, "")
        if value:
            return value
    return ""


def provider_of(attrs: Mapping[str, str], resource: Mapping[str, str], model: str) -> str:
    """The provider of a row from its stored attribute maps and model (what `provider_sql` says in SQL)."""
    own, claude_code = PROVIDER_KEYS
    named = attrs.get(own) or resource.get(own)
    if named:
        return named
    named = attrs.get(claude_code) or resource.get(claude_code)
    if named:
        return PROVIDER_NAMES.get(named, named)
    return next((name for name, pattern in _MODEL_PATTERNS if pattern.search(model)), "")


def sql_literal(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _candidates(keys: Sequence[str], promoted: Mapping[str, str]) -> list[str]:
    """The SQL of each place a key's value may be stored, in order of preference."""
    places: list[str] = []
    for key in keys:
        if key in promoted:
            places.append(promoted[key])
        else:
            places += [f"attrs[{sql_literal(key)}]", f"resource[{sql_literal(key)}]"]
    return places


def _first_nonempty(places: Sequence[str], otherwise: str = "''") -> str:
    if not places:
        return otherwise
    branches = ", ".join(f"{place} != '', {place}" for place in places)
    return f"multiIf({branches}, {otherwise})"


def project_sql(keys: Sequence[str] = DEFAULT_PROJECT_KEYS) -> str:
    """The project of a stored row, in SQL over its columns."""
    return _first_nonempty(_candidates(keys, PROMOTED_KEYS))


def provider_sql() -> str:
    """The provider of a stored row, in SQL over its columns."""
    own, claude_code = (_candidates((key,), {}) for key in PROVIDER_KEYS)
    names = ", ".join(sql_literal(k) for k in PROVIDER_NAMES)
    shown = ", ".join(sql_literal(v) for v in PROVIDER_NAMES.values())
    by_model = ", ".join(
        f"match(model, {sql_literal(pattern)}), {sql_literal(name)}" for name, pattern in PROVIDER_MODELS
    )
    renamed = [f"transform({place}, [{names}], [{shown}], {place})" for place in claude_code]
    branches = [f"{place} != '', {place}" for place in own]
    branches += [f"{place} != '', {name}" for place, name in zip(claude_code, renamed, strict=True)]
    return f"multiIf({', '.join(branches)}, {by_model}, '')"
