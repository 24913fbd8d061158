"""The one analytics layer: typed queries over the store, each taking a time range and a scope."""

from __future__ import annotations

from ccmon.analytics.scope import Scope
from ccmon.analytics.summary import Summary, summary
from ccmon.analytics.timerange import InvalidRange, TimeRange
from ccmon.store.facade import Store


class Analytics:
    """Entry point for the web API, the CLI, alerts and reports."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def summary(self, time_range: TimeRange, scope: Scope) -> Summary:
        return summary(self._store, time_range, scope)


__all__ = ["Analytics", "InvalidRange", "Scope", "Summary", "TimeRange"]
