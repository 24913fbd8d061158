"""The overview: the summary of a period, its change against the period before, and the ratios leaders ask for."""

from __future__ import annotations

from pydantic import BaseModel

from ccmon.analytics.cost import total_cost
from ccmon.analytics.query import UNKNOWN, Query
from ccmon.analytics.results import ratio
from ccmon.analytics.summary import Summary, summary
from ccmon.store.facade import Store


class Overview(BaseModel):
    current: Summary
    previous: Summary
    """The period of equal length just before."""
    cost_change_pct: float | None
    """Change of cost against the previous period, in percent; null when the previous period cost nothing."""
    active_users: int
    """People with any event or data point in the period (`current.users`)."""
    edit_accept_rate: float | None
    """Accepted / (accepted + rejected) code edit decisions; null without decisions."""
    unattributed_cost_usd: float
    """Cost of data that names no person (no `user.email`, `user.account_uuid` or `user.id`): counted in
    `current.cost_usd`, shown as the `(unknown)` row of the leaderboard, left out of `cost_per_user`."""
    cost_per_user: float | None
    """Cost of the people identified / active users: `(current.cost_usd - unattributed_cost_usd) / active_users`."""
    cost_per_session: float | None
    """All cost / sessions."""
    cost_per_pull_request: float | None
    cost_per_commit: float | None
    lines_changed: int
    """Lines added + lines removed."""
    lines_per_active_hour: float | None
    """Lines added / hours of active time (user + CLI): seed 001's "lines of code generated per hour"."""


def overview(store: Store, query: Query) -> Overview:
    # The two periods side by side (each summary's own reads then run one after another).
    current, previous = store.parallel(lambda: summary(store, query), lambda: summary(store, query.previous()))
    unattributed = _unattributed_cost(store, query)
    change = ratio(current.cost_usd - previous.cost_usd, previous.cost_usd)
    decisions = current.edit_decisions
    active_hours = (current.active_time_s.user + current.active_time_s.cli) / 3600
    return Overview(
        current=current,
        previous=previous,
        cost_change_pct=None if change is None else round(change * 100, 4),
        active_users=current.users,
        edit_accept_rate=ratio(decisions.accept, decisions.accept + decisions.reject),
        unattributed_cost_usd=unattributed,
        cost_per_user=ratio(current.cost_usd - unattributed, current.users),
        cost_per_session=ratio(current.cost_usd, current.sessions),
        cost_per_pull_request=ratio(current.cost_usd, current.pull_requests),
        cost_per_commit=ratio(current.cost_usd, current.commits),
        lines_changed=current.lines_added + current.lines_removed,
        lines_per_active_hour=ratio(current.lines_added, active_hours),
    )


def _unattributed_cost(store: Store, query: Query) -> float:
    """The cost of rows without a person, within the query's filters (nothing, when they select named people)."""
    persons = query.filters.values.get("person")
    if persons and UNKNOWN not in persons:
        return 0.0
    return total_cost(store, query.with_filter("person", UNKNOWN))
