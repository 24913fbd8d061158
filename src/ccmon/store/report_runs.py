"""The scheduled reports' log (`report_runs`): who sends a report for a period, and how it went.

Several ccmon processes may share one ClickHouse, each running the report schedule; a report must go out once per
period. ClickHouse has no transactions, so the claim is the alert lease's pattern (`alerts.lease`): each process
inserts a `claimed` row only when the period has no row yet (one `INSERT ... SELECT`), then reads the period's
earliest claim (by the store's clock, then holder): that holder sends, the others do nothing. Two processes claiming
at the same instant may both insert, and a claim is stamped when its statement starts, so one that started first can
land after the other process has looked: a process that inserted a claim therefore waits `settle_s` (1 s) before
reading the earliest, by which time every claim that started before its own has landed, and exactly one wins. A
process holding no claim of the period (it had a row already) has lost at once. The sender then appends a
row with the outcome (`sent`, or `failed: ...`); from then on nobody holds the period, its sender included, so a
schedule firing several times a week (`0 9 * * *`) still sends each week once.

A process that dies between its claim and its outcome leaves the period claimed and unsent: the report is then
missed rather than sent twice (the outcome row's absence shows it, `ccmon report weekly --send` sends it by hand).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

from ccmon.store.facade import Store

CLAIMED = "claimed"
SETTLE_S = 1.0
"""How long a process that inserted a claim waits before reading who won (see the module docstring)."""

_PERIOD = "report = {report:String} AND period_start = toDateTime({period:UInt32}, 'UTC')"

_CLAIM = f"""
INSERT INTO report_runs (report, period_start, sent_at, holder, outcome)
SELECT {{report:String}}, toDateTime({{period:UInt32}}, 'UTC'), now64(3), {{holder:String}}, '{CLAIMED}'
WHERE (SELECT count() FROM report_runs WHERE {_PERIOD}) = 0
"""

_WINNER = f"""
SELECT holder FROM report_runs WHERE {_PERIOD} AND outcome = '{CLAIMED}'
  AND (SELECT count() FROM report_runs WHERE {_PERIOD} AND outcome != '{CLAIMED}') = 0
ORDER BY sent_at, holder LIMIT 1
"""

_MINE = f"""
SELECT count() FROM report_runs WHERE {_PERIOD} AND holder = {{holder:String}} AND outcome = '{CLAIMED}'
"""

_RECORD = """
INSERT INTO report_runs (report, period_start, sent_at, holder, outcome)
VALUES ({report:String}, toDateTime({period:UInt32}, 'UTC'), now64(3), {holder:String}, {outcome:String})
"""

_RECENT = """
SELECT report, period_start, sent_at, holder, outcome FROM report_runs
WHERE report = {report:String} ORDER BY sent_at DESC, holder LIMIT {limit:UInt32}
"""


@dataclass(frozen=True)
class ReportRun:
    report: str
    period_start: datetime
    at: datetime
    holder: str
    outcome: str


class ReportRuns:
    def __init__(self, store: Store, settle_s: float = SETTLE_S) -> None:
        self._store = store
        self._settle_s = settle_s

    def claim(self, report: str, period_start: datetime, holder: str) -> bool:
        """Whether `holder` is the one to send `report` for the period starting at `period_start`: it holds the
        earliest claim and no outcome is recorded yet."""
        params = {"report": report, "period": int(period_start.timestamp()), "holder": holder}
        self._store.command(_CLAIM, params)
        if not self._store.query(_MINE, params)[0][0]:
            return False  # the period had a row already: claimed or sent by someone
        time.sleep(self._settle_s)  # a claim that started before ours may still be landing
        rows = self._store.query(_WINNER, params)
        return bool(rows) and rows[0][0] == holder

    def record(self, report: str, period_start: datetime, holder: str, outcome: str) -> None:
        params = {"report": report, "period": int(period_start.timestamp()), "holder": holder, "outcome": outcome}
        self._store.command(_RECORD, params)

    def recent(self, report: str, limit: int = 20) -> list[ReportRun]:
        rows = self._store.query(_RECENT, {"report": report, "limit": limit})
        return [
            ReportRun(str(name), _utc(start), _utc(at), str(holder), str(outcome))
            for name, start, at, holder, outcome in rows
        ]


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value
