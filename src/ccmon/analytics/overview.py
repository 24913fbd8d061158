"""The overview: the summary of a period, its change against the period before, and the ratios leaders ask for."""

from __future__ import annotations

from pydantic import BaseModel

from ccmon.analytics.query import Query
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
    edit_accept_rate: float | None
    """Accepted / (accepted + rejected) code edit decisions; null without decisions."""
    cost_per_user: float | None
    cost_per_session: float | None
    cost_per_pull_request: float | None
    cost_per_commit: float | None


def overview(store: Store, query: Query) -> Overview:
    current = summary(store, query)
    previous = summary(store, query.previous())
    change = ratio(current.cost_usd - previous.cost_usd, previous.cost_usd)
    decisions = current.edit_decisions
    return Overview(
        current=current,
        previous=previous,
        cost_change_pct=None if change is None else round(change * 100, 4),
        active_users=current.users,
        edit_accept_rate=ratio(decisions.accept, decisions.accept + decisions.reject),
        cost_per_user=ratio(current.cost_usd, current.users),
        cost_per_session=ratio(current.cost_usd, current.sessions),
        cost_per_pull_request=ratio(current.cost_usd, current.pull_requests),
        cost_per_commit=ratio(current.cost_usd, current.commits),
    )
