"""Every analytics query honours the whole `Scope`: its rows, per-person answers, and content.

Over the hand-computed dataset (tests/analytics/data.py: Alice in team platform, Bob in team data, no departments).
The route x role sweep over HTTP is tests/web/test_roles.py; here each query is called directly.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import BaseModel

from ccmon.analytics import Analytics, Filters, Query, Scope, TimeRange
from ccmon.analytics.content import CONTENT_ATTRIBUTES, is_content_key, without_content
from ccmon.analytics.event_rows import COLUMNS, event_view
from ccmon.analytics.prom_series import render
from ccmon.analytics.scope import Forbidden
from ccmon.ingest.writer import BatchWriter
from tests.analytics.data import load, load_second_day

RANGE = TimeRange(datetime(2026, 11, 20, tzinfo=UTC), datetime(2026, 11, 22, tzinfo=UTC))
AS_OF = datetime(2026, 11, 22, tzinfo=UTC)


class _Rows(BaseModel):
    """A query answering a list, as one model."""

    rows: list[Any]


class _Text(BaseModel):
    """The Prometheus exposition, as the text a scrape gets."""

    text: str


# Every query of `Analytics`, as (name, call). Their answers are compared whole, as JSON text.
CALLS: dict[str, Callable[[Analytics, Query], BaseModel]] = {
    "summary": lambda a, q: a.summary(q),
    "overview": lambda a, q: a.overview(q),
    "cost_over_time": lambda a, q: a.cost_over_time(q, "model"),
    "tokens_over_time": lambda a, q: a.tokens_over_time(q),
    "cost_by_team": lambda a, q: a.cost_by(q, "team"),
    "cost_by_person": lambda a, q: a.cost_by(q, "person"),
    "efficiency": lambda a, q: a.efficiency(q),
    "month_to_date": lambda a, q: a.month_to_date(q, AS_OF),
    "activity": lambda a, q: a.activity(q),
    "adoption_shares": lambda a, q: a.adoption_shares(q, "version"),
    "leaderboard_people": lambda a, q: a.leaderboard(
        q, group="person", sort="cost_usd", descending=True, limit=50, offset=0
    ),
    "leaderboard_teams": lambda a, q: a.leaderboard(
        q, group="team", sort="cost_usd", descending=True, limit=50, offset=0
    ),
    "acceptance_by_tool": lambda a, q: a.acceptance(q, "tool"),
    "acceptance_by_person": lambda a, q: a.acceptance(q, "person"),
    "profile": lambda a, q: a.profile(q, "alice@example.com"),
    "sessions": lambda a, q: a.sessions(q, sort="started", descending=True, limit=50, offset=0),
    "session": lambda a, q: a.session(q, "s1"),
    "events": lambda a, q: a.events(q, names=(), attributes={}, text=None, cursor=None, limit=100),
    "tools": lambda a, q: a.tools(q),
    "tool_heatmap": lambda a, q: a.tool_heatmap(q),
    "api_latency": lambda a, q: a.api_latency(q),
    "latency_by_model": lambda a, q: a.latency_by_model(q),
    "errors": lambda a, q: a.errors(q),
    "sessions_by_project": lambda a, q: a.sessions_by_project(q),
    "session_distribution": lambda a, q: a.session_distribution(q, "tokens"),
    "lines_by": lambda a, q: a.lines_by(q, "language"),
    "limits": lambda a, q: a.limits(q),
    "cost_check": lambda a, q: a.cost_check(q),
    "session_cost_check": lambda a, q: a.session_cost_check(q, "s1"),
    "model_usage": lambda a, q: _Rows(rows=a.model_usage(q)),
    "session_outcomes": lambda a, q: _Rows(rows=a.session_outcomes(q, min_cost_usd=0, min_errors=0)),
    "history": lambda a, q: a.history(q),
    "history_people": lambda a, q: a.history(q, per_person=True),
    # Takes the scope alone (a scrape has no time range or filters): the scope checks below still apply to it.
    "prometheus_series": lambda a, q: _Text(
        text=render(a.prometheus_series(q.scope, session_labels=True, max_series=100))
    ),
}
PER_PERSON = {
    "cost_by_person",
    "leaderboard_people",
    "acceptance_by_person",
    "profile",
    "sessions",
    "session",
    "events",
    "limits",
    "session_cost_check",
    "session_outcomes",
    "history_people",
}
"""The answers that list individual people or sessions."""


@pytest.fixture
def analytics(writer: BatchWriter) -> Analytics:
    load(writer)
    load_second_day(writer)
    return Analytics(writer.store)


def _answers(analytics: Analytics, scope: Scope, **filters: tuple[str, ...]) -> dict[str, str]:
    query = Query(RANGE, scope, Filters(filters))
    # The profile names the person asked about: that is the question, not an answer.
    return {
        name: call(analytics, query).model_dump_json(exclude={"person"} if name == "profile" else None)
        for name, call in CALLS.items()
    }


def test_the_sweep_covers_every_query() -> None:
    """A query added to `Analytics` must join `CALLS`, so the scope checks below run over it too. (`signals`, the
    alert rules' questions, answer points rather than models; tests/analytics/test_signals.py checks their scope.
    `personal_spend` and `ping_received` take no query: they answer about one person or one ping id, for the routes
    whose caller model decides who may ask (tests/web/test_statusline_routes.py, test_doctor_routes.py).)"""
    unscoped = {"has_data", "signals", "personal_spend", "ping_received", "prices"}
    methods = {name for name in vars(Analytics) if not name.startswith("_")} - unscoped
    analytics_names = set(vars(Analytics))
    covered = {name for call in CALLS.values() for name in call.__code__.co_names if name in analytics_names}
    assert methods == covered, methods ^ covered


def test_an_empty_scope_sees_nothing_anywhere(analytics: Analytics) -> None:
    """A developer without a person, a lead without a team, a manager without a department: no rows, every query."""
    everyone = _answers(analytics, Scope.everyone())
    assert "alice@example.com" in everyone["leaderboard_people"]  # the dataset is there
    for scope in (Scope(persons=()), Scope(teams=()), Scope(departments=()), Scope(departments=("sales",))):
        for name, answer in _answers(analytics, scope).items():
            for marker in ("alice@example.com", "bob-uuid", "platform", "claude-sonnet"):
                assert marker not in answer, (scope, name)
        assert analytics.summary(Query(RANGE, scope)).cost_usd == 0


def test_a_person_scope_is_that_persons_rows_only(analytics: Analytics) -> None:
    alice = Scope(persons=("alice@example.com",))
    answers = _answers(analytics, alice)
    for name, answer in answers.items():
        assert "bob-uuid" not in answer and '"data"' not in answer, name
    query = Query(RANGE, alice)
    assert (
        analytics.summary(query).cost_usd
        == analytics.summary(Query(RANGE, filters=Filters({"person": ("alice@example.com",)}))).cost_usd
    )
    # Asking for someone else gives an empty answer, not theirs.
    other = Query(RANGE, alice, Filters({"person": ("bob-uuid",)}))
    assert analytics.summary(other).cost_usd == 0
    assert analytics.cost_by(other, "person").rows == []
    assert analytics.session(query, "s3").prompts == []


def test_a_team_scope_is_that_teams_rows_only(analytics: Analytics) -> None:
    data = Scope(teams=("data",))
    for name, answer in _answers(analytics, data).items():
        assert "alice@example.com" not in answer and "platform" not in answer, name
    assert analytics.summary(Query(RANGE, data, Filters({"team": ("platform",)}))).cost_usd == 0
    everyone = analytics.summary(Query(RANGE)).cost_usd
    platform, data_cost = (analytics.summary(Query(RANGE, Scope(teams=(t,)))).cost_usd for t in ("platform", "data"))
    assert platform + data_cost == pytest.approx(everyone) and 0 < data_cost < everyone


def test_without_per_person_every_listing_of_people_or_sessions_is_forbidden(analytics: Analytics) -> None:
    viewer = Query(RANGE, Scope(per_person=False, content=False))
    for name, call in CALLS.items():
        if name in PER_PERSON:
            with pytest.raises(Forbidden):
                call(analytics, viewer)
        else:
            answer = call(analytics, viewer).model_dump_json()
            assert "alice@example.com" not in answer and "bob-uuid" not in answer, name
    assert analytics.summary(viewer).cost_usd == analytics.summary(Query(RANGE)).cost_usd
    # Nor may a filter make a total one person's; the rows without a person are nobody's.
    with pytest.raises(Forbidden):
        Query(RANGE, Scope(per_person=False), Filters({"person": ("alice@example.com",)}))
    Query(RANGE, Scope(per_person=False), Filters({"person": ("(unknown)",)}))


@pytest.mark.parametrize(
    ("key", "content"),
    [
        ("prompt", True),
        ("response", True),
        ("tool_parameters", True),
        ("tool_input", True),
        ("error", True),
        ("body", True),
        ("user_prompt", True),
        ("gen_ai.input.messages", True),
        ("response.model_output", True),
        ("Tool.Output", True),
        ("my_custom_prompt_text", True),
        ("prompt_length", False),
        ("prompt.id", False),
        ("tool_name", False),
        ("error_type", False),
        ("tool_input_size_bytes", False),
        ("input_tokens", False),
        ("body_length", False),
        ("query_source", False),
        ("num_non_blocking_error", False),
        ("session.id", False),
        ("model", False),
    ],
)
def test_content_keys(key: str, content: bool) -> None:
    assert is_content_key(key) is content
    assert all(is_content_key(k) for k in CONTENT_ATTRIBUTES)


def test_an_event_without_content_has_no_error_and_no_content_attributes() -> None:
    attrs = {"prompt": "secret plan", "tool_parameters": '{"cmd": "rm"}', "prompt_length": "11", "tool_name": "Bash"}
    row = [datetime(2026, 11, 20, tzinfo=UTC), "user_prompt", "s", "p", 1, "a", "m", "Bash", "", None, None]
    row += [0.0, 0, None, "stack trace with secret", attrs]
    assert len(row) == len(COLUMNS.split(", "))
    shown = event_view(row)
    hidden = event_view(row, content=False)
    assert (shown.error, shown.attributes) == ("stack trace with secret", attrs)
    assert (hidden.error, hidden.attributes) == ("", {"prompt_length": "11", "tool_name": "Bash"})
    assert without_content(attrs) == hidden.attributes


def test_the_explorer_is_no_oracle_for_content(analytics: Analytics) -> None:
    finance = Query(RANGE, Scope(content=False))

    def explore(query: Query, **kwargs: Any) -> Any:
        arguments: dict[str, Any] = {"names": (), "attributes": {}, "text": None, "cursor": None, "limit": 100}
        return analytics.events(query, **(arguments | kwargs))

    with pytest.raises(Forbidden):
        explore(finance, text="overloaded")
    with pytest.raises(Forbidden):
        explore(finance, attributes={"prompt": "secret"})
    assert explore(finance, attributes={"session.id": "s1"}).rows  # not content: allowed
    assert explore(Query(RANGE), text="nothing like this").rows == []
    # The admin may.
    assert explore(Query(RANGE), attributes={"prompt": "secret"}).rows == []
