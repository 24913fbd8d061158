"""The rules ccmon ships with: seed 003's six, seed 000's cost and adoption alerts, telemetry stopped, a cost anomaly
and a projected budget overrun.

They are written to the store once (`Rules.seed_defaults`, which never overwrites one an admin edited), so each can
be edited or switched off like any other. Their ids are stable: renaming one would seed it again next to the edited
copy. Each threshold is the seed's; where a seed gives none, the choice is explained next to the rule. All stay quiet
on an ordinary organisation (the demo's), which the tests check, and each fires on data crafted to trip it.
"""

from __future__ import annotations

from ccmon.alerts.model import NoData, Op, Rule, Severity

_MINUTE, _HOUR, _DAY = 60, 3600, 86_400


DEFAULT_RULES: tuple[Rule, ...] = (
    # Seed 003, "Alerting Rules".
    Rule(
        source="default",
        id="high-token-usage",
        name="High token usage in a session",
        signal="tokens_per_session",
        op=Op.GT,
        threshold=1_000_000,
        window_s=_DAY,
        severity=Severity.WARNING,
        group_by=("person", "session_id"),
        # Input and output tokens: a long session re-reads its context from the cache at every request, so with the
        # cache an ordinary day's session passes 1M (10M for the demo's heavy users); without it, only a runaway one.
        params={"type": "input,output"},
        summary="Session {session_id} of {person} used {value:,.0f} input and output tokens in 24 h "
        "(over {threshold:,.0f})",
    ),
    Rule(
        source="default",
        id="excessive-sessions",
        name="Excessive sessions per person",
        signal="sessions",
        op=Op.GT,
        threshold=50,
        window_s=_DAY,
        severity=Severity.WARNING,
        group_by=("person",),
        summary="{person} started {value:.0f} sessions in 24 h (over {threshold:.0f})",
    ),
    Rule(
        source="default",
        id="api-error-spike",
        name="API error spike",
        signal="api_error_rate",
        op=Op.GT,
        threshold=5,
        window_s=15 * _MINUTE,
        severity=Severity.CRITICAL,
        # 20 requests in 15 minutes: one or two failures of a quiet organisation are no spike.
        params={"min_requests": 20},
        summary="{value:.1f} % of API requests failed in the last 15 minutes (over {threshold:.0f} %)",
    ),
    Rule(
        source="default",
        id="budget-threshold",
        name="Budget threshold reached",
        # Each budget's own thresholds (0.75, 0.9 by default), below its amount: a sample is a crossed threshold, so
        # the condition is any usage. The threshold crossed is a label, so crossing the next one is a new alert; the
        # one it replaces resolves unannounced (passing 90 % is no news that 75 % is over).
        signal="budget_threshold",
        op=Op.GT,
        threshold=0,
        severity=Severity.WARNING,
        group_by=("budget", "subject"),
        notify_resolved=False,
        summary="{budget_name}: {subject} has used {value:.0f} % of its {period} budget "
        "(past its {threshold_crossed} threshold)",
    ),
    Rule(
        source="default",
        id="budget-exceeded",
        name="Budget exceeded",
        signal="budget_usage",
        op=Op.GE,
        threshold=100,
        severity=Severity.CRITICAL,
        group_by=("budget", "subject"),
        summary="{budget_name}: {subject} is over its {period} budget ({value:.0f} % used)",
    ),
    Rule(
        source="default",
        id="model-policy-violation",
        name="Model policy violation",
        signal="policy_violations",
        op=Op.GT,
        threshold=0,
        window_s=_HOUR,
        severity=Severity.CRITICAL,
        group_by=("person", "model"),
        summary="{person} sent {value:.0f} requests to {model}, which policy {policy} does not allow (last hour)",
    ),
    # Seed 000, "Cost Alerts" and "Adoption Alerts", with its thresholds and `for`.
    Rule(
        source="default",
        id="high-daily-cost",
        name="High daily cost",
        signal="cost",
        op=Op.GT,
        threshold=500,
        window_s=_DAY,
        for_s=_HOUR,
        severity=Severity.WARNING,
        summary="Claude Code spend over the last 24 h is ${value:,.2f}, over ${threshold:,.0f}",
    ),
    Rule(
        source="default",
        id="high-person-daily-cost",
        name="High daily cost of one person",
        signal="cost",
        op=Op.GT,
        threshold=50,
        window_s=_DAY,
        for_s=_HOUR,
        severity=Severity.INFO,
        group_by=("person",),
        summary="{person} spent ${value:,.2f} in the last 24 h, over ${threshold:,.0f}",
    ),
    Rule(
        source="default",
        id="low-adoption",
        name="Low adoption",
        signal="active_people",
        op=Op.LT,
        threshold=10,
        window_s=7 * _DAY,
        for_s=_DAY,
        severity=Severity.INFO,
        # An empty store answers nothing: no data is not low adoption (nobody has connected Claude Code yet).
        no_data=NoData.OK,
        interval_s=15 * _MINUTE,
        summary="Only {value:.0f} people used Claude Code in the last 7 days (fewer than {threshold:.0f})",
    ),
    # The issue's own.
    Rule(
        source="default",
        id="telemetry-stopped",
        name="Telemetry stopped",
        signal="silence_hours",
        op=Op.GE,
        # Three days: a team's weekend (Friday evening to Monday morning, in any time zone) is not an outage.
        threshold=72,
        window_s=7 * _DAY,
        severity=Severity.WARNING,
        group_by=("team",),
        params={"lookback_days": 7},
        interval_s=15 * _MINUTE,
        summary="Team {team} has sent no telemetry for {value:.0f} hours",
    ),
    Rule(
        source="default",
        id="cost-anomaly",
        name="Cost anomaly",
        signal="cost_anomaly",
        op=Op.GE,
        threshold=3,
        window_s=_DAY,
        severity=Severity.WARNING,
        # A baseline of under $10 a day is too small for a multiple of it to mean anything.
        params={"baseline_days": 7, "min_baseline_usd": 10},
        interval_s=5 * _MINUTE,
        summary="Spend over the last 24 h is {value:.1f}x the daily average of the week before",
    ),
    Rule(
        source="default",
        id="budget-projected-overrun",
        name="Budget projected to overrun",
        signal="budget_projection",
        op=Op.GE,
        threshold=100,
        severity=Severity.WARNING,
        group_by=("budget", "subject"),
        interval_s=15 * _MINUTE,
        summary="{budget_name}: {subject} is projected to reach {value:.0f} % of its {period} budget",
    ),
)
"""Every shipped rule."""
