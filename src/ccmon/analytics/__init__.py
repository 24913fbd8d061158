"""The one analytics layer: typed queries over the store, each taking a `Query` (time range, scope, filters)."""

from __future__ import annotations

from datetime import datetime

from ccmon.analytics import adoption, cost, engineering, explorer, people, productivity, report_evidence, session_stats
from ccmon.analytics import cost_check as cost_checks
from ccmon.analytics import history as history_queries
from ccmon.analytics import limits as limit_queries
from ccmon.analytics import sessions as session_queries
from ccmon.analytics.overview import Overview, overview
from ccmon.analytics.pings import ping_received
from ccmon.analytics.prom_cache import PromSeriesCache
from ccmon.analytics.prom_series import Exposition
from ccmon.analytics.query import BUCKETS, DIMENSIONS, UNKNOWN, Filters, Query
from ccmon.analytics.results import TimeSeries, to_csv
from ccmon.analytics.scope import Scope
from ccmon.analytics.signals import Signals
from ccmon.analytics.summary import Summary, summary
from ccmon.analytics.timerange import InvalidQuery, TimeRange
from ccmon.pricing.table import PriceTable, load_prices
from ccmon.store.facade import Store

# Plain counts are answered from the parts' metadata: no data is read.
_ANY_DATA = "SELECT (SELECT count() FROM events) + (SELECT count() FROM metric_points) > 0"


class Analytics:
    """Entry point for the web API, the CLI, alerts and reports."""

    def __init__(self, store: Store, prices: PriceTable | None = None) -> None:
        self._store = store
        self._prices = prices
        self._prom_series = PromSeriesCache()

    @property
    def signals(self) -> Signals:
        """The questions alert rules ask (`ccmon.alerts.signals`), over the same store."""
        return Signals(self._store)

    def has_data(self) -> bool:
        """Whether any telemetry has arrived yet (an empty install points its user at the Connect page)."""
        return bool(self._store.query(_ANY_DATA)[0][0])

    def summary(self, query: Query) -> Summary:
        return summary(self._store, query)

    def overview(self, query: Query) -> Overview:
        return overview(self._store, query)

    def cost_over_time(self, query: Query, by: str = "model") -> TimeSeries:
        return cost.cost_over_time(self._store, query, by)

    def tokens_over_time(self, query: Query) -> TimeSeries:
        return cost.tokens_over_time(self._store, query)

    def cost_by(self, query: Query, dimension: str, top: int | None = 10) -> cost.Breakdown:
        return cost.cost_by(self._store, query, dimension, top)

    def efficiency(self, query: Query) -> cost.Efficiency:
        return cost.efficiency(self._store, query)

    def month_to_date(self, query: Query, now: datetime | None = None) -> cost.MonthToDate:
        return cost.month_to_date(self._store, query, now)

    def activity(self, query: Query) -> adoption.Activity:
        return adoption.activity(self._store, query)

    def adoption_shares(self, query: Query, dimension: str) -> adoption.Shares:
        return adoption.shares(self._store, query, dimension)

    def leaderboard(
        self, query: Query, *, group: str, sort: str, descending: bool, limit: int, offset: int
    ) -> people.Leaderboard:
        return people.leaderboard(
            self._store, query, group=group, sort=sort, descending=descending, limit=limit, offset=offset
        )

    def acceptance(self, query: Query, by: str) -> people.AcceptanceBreakdown:
        return people.acceptance(self._store, query, by)

    def profile(self, query: Query, person: str) -> people.Profile:
        return people.profile(self._store, query, person)

    def sessions(
        self, query: Query, *, sort: str, descending: bool, limit: int, offset: int
    ) -> session_queries.Sessions:
        return session_queries.sessions(
            self._store, query, sort=sort, descending=descending, limit=limit, offset=offset
        )

    def session(self, query: Query, session_id: str) -> session_queries.SessionDetail:
        detail = session_queries.session_detail(self._store, query, session_id)
        detail.cost_check = self.session_cost_check(query, session_id)
        return detail

    def events(
        self,
        query: Query,
        *,
        names: tuple[str, ...],
        attributes: dict[str, str],
        text: str | None,
        cursor: str | None,
        limit: int,
    ) -> explorer.EventPage:
        return explorer.explore(
            self._store, query, names=names, attributes=attributes, text=text, cursor=cursor, limit=limit
        )

    def tools(self, query: Query) -> engineering.Tools:
        return engineering.tools(self._store, query)

    def tool_heatmap(self, query: Query) -> engineering.Heatmap:
        return engineering.tool_heatmap(self._store, query)

    def api_latency(self, query: Query, measure: str = "duration") -> engineering.Latency:
        return engineering.api_latency(self._store, query, measure)

    def latency_by_model(self, query: Query) -> engineering.LatencyByModel:
        return engineering.latency_by_model(self._store, query)

    def errors(self, query: Query) -> engineering.Errors:
        return engineering.errors(self._store, query)

    def sessions_by_project(self, query: Query) -> session_stats.SessionsByProject:
        return session_stats.sessions_by_project(self._store, query)

    def session_distribution(
        self, query: Query, measure: str, *, bins: int = 20, scale: str = "linear"
    ) -> session_stats.Distribution:
        return session_stats.session_distribution(self._store, query, measure, bins=bins, scale=scale)

    def lines_by(self, query: Query, by: str = "language") -> productivity.LinesBreakdown:
        return productivity.lines_by(self._store, query, by)

    def ping_received(self, ping_id: str) -> datetime | None:
        """When `ccmon doctor`'s test signal `ping_id` was stored (in the last hour), or None."""
        return ping_received(self._store, ping_id)

    def limits(self, query: Query) -> limit_queries.Limits:
        """The latest usage-limit report (5 h / 7 d) per person and window, from `ccmon statusline`."""
        return limit_queries.latest_limits(self._store, query)

    def personal_spend(self, person: str, now: datetime) -> limit_queries.PersonalSpend:
        """One person's spend today and this month (UTC), for the status line."""
        return limit_queries.personal_spend(self._store, person, now)

    @property
    def prices(self) -> PriceTable:
        """The price table cost is recomputed with: the one given (shipped + `pricing_file`), else the shipped one."""
        if self._prices is None:
            self._prices = load_prices()
        return self._prices

    def cost_check(self, query: Query, threshold: float = cost_checks.DEFAULT_THRESHOLD) -> cost_checks.CostCheck:
        """Claude Code's reported cost vs the cost recomputed by the price table, per model."""
        return cost_checks.cost_check(self._store, query, self.prices, threshold)

    def session_cost_check(
        self, query: Query, session_id: str, threshold: float = cost_checks.DEFAULT_THRESHOLD
    ) -> cost_checks.CostCheck:
        return cost_checks.session_cost_check(self._store, query, self.prices, session_id, threshold)

    def model_usage(self, query: Query) -> list[report_evidence.ModelUsage]:
        """Per model, API requests and tokens, all and short ones (the weekly report's model-mix evidence)."""
        return report_evidence.model_usage(self._store, query)

    def session_outcomes(
        self, query: Query, *, min_cost_usd: float, min_errors: int
    ) -> list[report_evidence.SessionOutcome]:
        """Costly or failing sessions with what they produced (the weekly report's session evidence)."""
        return report_evidence.session_outcomes(self._store, query, min_cost_usd=min_cost_usd, min_errors=min_errors)

    def prometheus_series(self, scope: Scope, *, session_labels: bool, max_series: int) -> Exposition:
        """Claude Code's counters as cumulative Prometheus series the scope may see (`/metrics/claude-code`), kept
        up to date incrementally between scrapes (`prom_cache`)."""
        return self._prom_series.series(self._store, scope, session_labels=session_labels, max_series=max_series)

    def history(self, query: Query, per_person: bool = False) -> history_queries.History:
        """Daily usage from OTLP and imported history, one source per person and UTC day (`history.RULE`)."""
        return history_queries.history(self._store, query, per_person)


__all__ = [
    "BUCKETS",
    "DIMENSIONS",
    "UNKNOWN",
    "Analytics",
    "Filters",
    "InvalidQuery",
    "Overview",
    "Query",
    "Scope",
    "Summary",
    "TimeRange",
    "TimeSeries",
    "to_csv",
]
