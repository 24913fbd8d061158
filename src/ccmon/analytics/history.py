"""Daily usage over a range from every source ccmon has: OTLP telemetry and imported history (`imported_usage`).

Two sources may cover the same day of the same person: a developer who turned telemetry on mid-week and then
imported their transcripts has both for the days after. Counting both would double those days, so per person and
UTC day one source is chosen and the others are left out (`shadowed`):

1. OTLP telemetry (any cost or token data point of that person that day) wins: it is what the rest of ccmon shows;
2. else transcripts (per message, priced from tokens): they cover subscription users and every model call;
3. else the Admin API report (per day and model, Anthropic's own estimate).

Filters and the caller's scope apply to every source before the choice. The OTLP side is read from the metric
rollups, as `ccmon.analytics.cost` reads daily cost.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from ccmon.analytics.cost import COST, TOKENS
from ccmon.analytics.query import Query, bucket_sql
from ccmon.analytics.results import integer, number
from ccmon.analytics.rollup import rollup_rows
from ccmon.imports.model import SOURCES as IMPORTED
from ccmon.store.facade import Store
from ccmon.store.rollups import METRICS

OTLP = "otlp"
SOURCES = (OTLP, *IMPORTED)
"""In order of precedence: of the sources covering a person-day, the first wins."""
RULE = (
    "per person and UTC day, one source counts: OTLP telemetry when there is any that day, else transcripts, else "
    "the Admin API report"
)
_TOKEN_TYPES = {"input": 0, "output": 1, "cacheRead": 2, "cacheCreation": 3}


class Usage(BaseModel):
    cost_usd: float = 0.0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_creation_tokens: int = 0
    unpriced: int = 0
    """Imported messages or rows whose model has no known price: their cost is missing from `cost_usd`."""


class PersonDay(Usage):
    day: date
    person: str
    source: str
    """The source counted: otlp, transcripts or admin-api."""
    shadowed: list[str]
    """Other sources covering this person-day, left out by the rule."""


class SourceDay(Usage):
    day: date
    source: str
    people: int
    """Persons whose day this source gives."""


class History(BaseModel):
    rule: str
    days: list[SourceDay]
    """Per day, per source counted: what that source gives (every person-day once)."""
    people: list[PersonDay] | None
    """Per person and day, with the source counted (only when asked for, and the caller may see people)."""
    total_cost_usd: float
    cost_by_source: dict[str, float]
    shadowed_cost_usd: dict[str, float]
    """Per source, the cost left out because another source won the person-day."""


class _Sum:
    __slots__ = ("cost", "tokens", "unpriced")

    def __init__(self) -> None:
        self.cost = Decimal(0)
        self.tokens = [0, 0, 0, 0]
        self.unpriced = 0

    def usage(self) -> dict[str, Any]:
        """The sums as `Usage`'s fields."""
        i, o, r, c = self.tokens
        usage = Usage(
            cost_usd=number(self.cost),
            input_tokens=i,
            output_tokens=o,
            cache_read_tokens=r,
            cache_creation_tokens=c,
            unpriced=self.unpriced,
        )
        return usage.model_dump()

    def add(self, other: _Sum) -> None:
        self.cost += other.cost
        self.tokens = [a + b for a, b in zip(self.tokens, other.tokens, strict=True)]
        self.unpriced += other.unpriced


Key = tuple[date, str]


def _otlp(store: Store, query: Query) -> dict[Key, _Sum]:
    source, params = rollup_rows(
        METRICS,
        query,
        uses=("metric_name", "person", "type"),
        bucket="1d",
        where="metric_name IN ({cost:String}, {tokens:String})",
    )
    rows = store.query(
        f"SELECT toDate({bucket_sql('1d', 'hour')}) AS d, person, metric_name, type, sum(value) FROM ({source}) "
        "GROUP BY d, person, metric_name, type",
        params | {"cost": COST, "tokens": TOKENS},
    )
    found: dict[Key, _Sum] = defaultdict(_Sum)
    for day, person, metric, kind, value in rows:
        entry = found[(day, str(person))]
        if metric == COST:
            entry.cost += Decimal(value)
        elif kind in _TOKEN_TYPES:
            entry.tokens[_TOKEN_TYPES[kind]] += integer(value)
    return found


def _imported(store: Store, query: Query) -> dict[str, dict[Key, _Sum]]:
    where, params = query.where("ts")
    rows = store.query(
        "SELECT day, person, source, sum(toDecimal128(cost_usd, 9)), sum(input_tokens), sum(output_tokens), "
        "sum(cache_read_tokens), sum(cache_creation_tokens), countIf(NOT priced) "
        f"FROM imported_usage FINAL WHERE {where} GROUP BY day, person, source",
        params,
    )
    found: dict[str, dict[Key, _Sum]] = defaultdict(lambda: defaultdict(_Sum))
    for day, person, source, cost, i, o, r, c, unpriced in rows:
        entry = found[str(source)][(day, str(person))]
        entry.cost += Decimal(cost)
        entry.tokens = [integer(i), integer(o), integer(r), integer(c)]
        entry.unpriced += int(unpriced)
    return found


def history(store: Store, query: Query, per_person: bool = False) -> History:
    """Daily usage over the query's range with the rule applied (`RULE`); per person when `per_person`."""
    if per_person:
        query.scope.require_per_person("history per person")
    by_source = {OTLP: _otlp(store, query), **_imported(store, query)}
    keys = sorted({key for found in by_source.values() for key in found})
    days: dict[tuple[date, str], _Sum] = defaultdict(_Sum)
    people: dict[tuple[date, str], int] = defaultdict(int)
    shadowed: dict[str, Decimal] = {source: Decimal(0) for source in SOURCES}
    rows: list[PersonDay] = []
    for key in keys:
        covering = [source for source in SOURCES if key in by_source.get(source, {})]
        winner, others = covering[0], covering[1:]
        usage = by_source[winner][key]
        days[(key[0], winner)].add(usage)
        people[(key[0], winner)] += 1
        for other in others:
            shadowed[other] += by_source[other][key].cost
        if per_person:
            rows.append(PersonDay(day=key[0], person=key[1], source=winner, shadowed=others, **usage.usage()))
    totals = {source: Decimal(0) for source in SOURCES}
    for (_, source), usage in days.items():
        totals[source] += usage.cost
    return History(
        rule=RULE,
        days=[
            SourceDay(day=day, source=source, people=people[(day, source)], **usage.usage())
            for (day, source), usage in sorted(days.items(), key=lambda item: (item[0][0], SOURCES.index(item[0][1])))
        ],
        people=rows if per_person else None,
        total_cost_usd=number(sum(totals.values(), Decimal(0))),
        cost_by_source={source: number(cost) for source, cost in totals.items()},
        shadowed_cost_usd={source: number(cost) for source, cost in shadowed.items()},
    )
