from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime

import pytest

from ccmon.imports import admin_api
from ccmon.imports.admin_api import MAX_BACKOFF_S, AdminApiClient, AdminApiError, days, from_api_key, records_of
from tests.imports.fake_admin_api import KEY, FakeAdminApi, actor_day, serve

DAY = date(2026, 11, 3)
SONNET, OPUS = "claude-sonnet-4-5-20250929", "claude-opus-4-1-20250805"


def _client(url: str, key: str = KEY, waits: list[float] | None = None) -> AdminApiClient:
    sleep = (lambda s: None) if waits is None else waits.append
    return AdminApiClient(key, url, timeout_s=5, backoff_s=0.01, sleep=sleep)


def test_one_row_per_model_and_one_with_the_actor_days_metrics() -> None:
    item = actor_day("2026-11-03", "Ann@Example.com", {SONNET: (100, 20, 300, 40, 123.0), OPUS: (1, 2, 3, 4, 50)})
    core, sonnet, opus = records_of(item, DAY)
    assert core.model == "" and core.cost_usd == 0.0 and core.input_tokens == 0
    assert (core.sessions, core.lines_added, core.lines_removed, core.commits, core.pull_requests) == (3, 120, 30, 2, 1)
    assert (sonnet.model, sonnet.input_tokens, sonnet.output_tokens) == (SONNET, 100, 20)
    assert (sonnet.cache_read_tokens, sonnet.cache_creation_tokens) == (300, 40)
    assert sonnet.cost_usd == pytest.approx(1.23)  # cents -> USD
    assert opus.cost_usd == pytest.approx(0.5)
    assert sonnet.sessions == 0  # the core metrics are on one row only
    assert {r.ts for r in (core, sonnet, opus)} == {datetime(2026, 11, 3, tzinfo=UTC)}
    assert {r.user_email for r in (core, sonnet)} == {"Ann@Example.com"}
    assert (sonnet.terminal_type, sonnet.organization_id, sonnet.source) == ("vscode", "org-1", "admin-api")
    assert len({core.key, sonnet.key, opus.key}) == 3


def test_keys_tell_apart_terminals_and_days_and_name_api_key_actors() -> None:
    (_, vscode) = records_of(actor_day("2026-11-03", "a@x.io", {SONNET: (1, 1, 1, 1, 1)}), DAY)
    (_, cli) = records_of(actor_day("2026-11-03", "a@x.io", {SONNET: (1, 1, 1, 1, 1)}, terminal="cli"), DAY)
    (_, next_day) = records_of(actor_day("2026-11-04", "a@x.io", {SONNET: (1, 1, 1, 1, 1)}), date(2026, 11, 4))
    assert len({vscode.key, cli.key, next_day.key}) == 3
    (core, model) = records_of(actor_day("2026-11-03", None, {SONNET: (1, 1, 1, 1, 1)}), DAY)
    assert (core.person, core.user_email) == ("api-key:ci", "")
    assert from_api_key(core) and from_api_key(model)
    (user_core, user_model) = records_of(actor_day("2026-11-03", "a@x.io", {SONNET: (1, 1, 1, 1, 1)}), DAY)
    assert not from_api_key(user_core) and not from_api_key(user_model)


def test_a_model_without_a_name_keeps_its_row_apart_from_the_core_metrics() -> None:
    # The core row's key ends with `#core`: a breakdown entry whose model is missing or '' no longer shares it (the
    # store would have dropped that row, tokens and cost, as a duplicate).
    core, unnamed = records_of(actor_day("2026-11-03", "a@x.io", {"": (7, 8, 9, 10, 300)}), DAY)
    assert core.key.endswith("|#core") and unnamed.key.endswith("|vscode|local|api|")
    assert (unnamed.model, unnamed.input_tokens) == ("", 7) and unnamed.cost_usd == pytest.approx(3.0)


def test_hostile_items_give_no_rows_or_zeroes() -> None:
    assert records_of({"actor": "nobody"}, DAY) == []
    assert records_of({}, DAY) == []
    weird = {
        "actor": {"email_address": "a@x.io"},
        "core_metrics": {"num_sessions": "many", "lines_of_code": [1]},
        "model_breakdown": [
            "nope",
            {"model": 7, "tokens": {"input": -1, "output": True}, "estimated_cost": {"amount": "12"}},
            {"model": "m", "estimated_cost": {"amount": float("inf")}},
        ],
    }
    core, odd, inf = records_of(weird, DAY)
    assert core.sessions == 0 and core.lines_added == 0
    assert (odd.model, odd.input_tokens, odd.output_tokens) == ("", 0, 0)
    assert odd.cost_usd == pytest.approx(0.12)  # cents as a decimal string, as the cost report writes amounts
    assert inf.cost_usd is None  # priced from the tokens, or flagged unpriced: never stored as free


@pytest.mark.parametrize("amount", [None, "twelve", -5, float("nan"), True, [1], 1e15])
def test_a_cost_that_is_not_a_sane_amount_is_left_to_the_price_table(amount: object) -> None:
    item = actor_day("2026-11-03", "a@x.io", {SONNET: (1, 1, 1, 1, 0)})
    item["model_breakdown"][0]["estimated_cost"] = {"amount": amount}
    (_, model) = records_of(item, DAY)
    assert model.cost_usd is None


def test_local_and_remote_rows_and_customer_types_of_one_actor_day_are_all_kept() -> None:
    # Claude Code on the web is a separate row of the same actor, terminal and day (reference §7.2): same models.
    local = actor_day("2026-11-03", "a@x.io", {SONNET: (1, 1, 1, 1, 1)})
    remote = local | {"is_remote": True}
    subscription = local | {"customer_type": "subscription"}
    keys = [record.key for item in (local, remote, subscription) for record in records_of(item, DAY)]
    assert len(set(keys)) == len(keys) == 6


def test_only_days_over_for_an_hour_are_imported() -> None:
    wanted = days(date(2026, 11, 28), date(2026, 11, 30))
    assert admin_api.complete_days(wanted, datetime(2026, 11, 30, 0, 59, tzinfo=UTC)) == [date(2026, 11, 28)]
    assert admin_api.complete_days(wanted, datetime(2026, 11, 30, 1, 0, tzinfo=UTC)) == wanted[:2]
    assert admin_api.complete_days(wanted, datetime(2026, 12, 1, 1, 0, tzinfo=UTC)) == wanted


def test_pages_are_followed_day_by_day_with_the_documented_headers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(admin_api, "PAGE_LIMIT", 2)
    items = [actor_day("2026-11-03", f"p{n}@x.io", {SONNET: (n, 0, 0, 0, 1)}) for n in range(5)]
    fake = FakeAdminApi({"2026-11-03": items, "2026-11-04": items[:1]})
    with serve(fake) as url:
        api = _client(url)
        with api.client() as client:
            first = list(api.day(DAY, client))
            second = list(api.day(date(2026, 11, 4), client))
            empty = list(api.day(date(2026, 11, 5), client))
    assert [i["actor"]["email_address"] for i in first] == [f"p{n}@x.io" for n in range(5)]
    assert (len(second), empty) == (1, [])
    assert [r.get("page") for r in fake.requests[:3]] == [None, ["page_2"], ["page_4"]]
    assert fake.requests[0]["starting_at"] == ["2026-11-03"] and fake.requests[0]["limit"] == ["2"]
    assert fake.headers[0]["x-api-key"] == KEY and fake.headers[0]["anthropic-version"] == "2023-06-01"


def test_429_and_5xx_are_retried() -> None:
    fake = FakeAdminApi({"2026-11-03": [actor_day("2026-11-03", "a@x.io", {})]}, failures=[429, 503, 500])
    with serve(fake) as url:
        api = _client(url)
        with api.client() as client:
            assert len(list(api.day(DAY, client))) == 1
    assert len(fake.requests) == 4


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("7", 7.0),
        ("86400", MAX_BACKOFF_S),  # capped
        ("soon", 0.01),  # unreadable: the client's own backoff
        ("DATE", 30.0),  # an HTTP date, ~30 s ahead
    ],
)
def test_retry_after_is_obeyed_in_seconds_or_as_a_date_within_the_cap(header: str, expected: float) -> None:
    if header == "DATE":
        header = format_datetime(datetime.now(UTC) + timedelta(seconds=31), usegmt=True)
    fake = FakeAdminApi({"2026-11-03": [actor_day("2026-11-03", "a@x.io", {})]}, failures=[429], retry_after=header)
    waits: list[float] = []
    with serve(fake) as url:
        api = _client(url, waits=waits)
        with api.client() as client:
            assert len(list(api.day(DAY, client))) == 1
    assert waits == [pytest.approx(expected, abs=2.0 if header.endswith("GMT") else 1e-9)]


def test_persistent_failure_and_a_refused_key_say_so() -> None:
    fake = FakeAdminApi({}, failures=[503] * 10)
    with serve(fake) as url:
        api = _client(url)
        with api.client() as client, pytest.raises(AdminApiError, match="503 6 times"):
            list(api.day(DAY, client))
    with serve(FakeAdminApi({})) as url:
        api = _client(url, key="sk-ant-wrong")
        with api.client() as client, pytest.raises(AdminApiError, match="Admin API key"):
            list(api.day(DAY, client))


def test_ranges_are_bounded() -> None:
    assert days(DAY, DAY) == [DAY]
    assert len(days(date(2026, 1, 1), date(2026, 12, 31))) == 365
    with pytest.raises(AdminApiError, match="before"):
        days(DAY, date(2026, 11, 1))
    with pytest.raises(AdminApiError, match="shorter range"):
        days(date(1990, 1, 1), DAY)


def test_a_server_that_never_stops_paging_is_not_followed_forever(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(admin_api, "PAGE_LIMIT", 1)
    monkeypatch.setattr(admin_api, "MAX_PAGES_PER_DAY", 3)
    fake = FakeAdminApi({"2026-11-03": [actor_day("2026-11-03", f"p{n}@x.io", {}) for n in range(5)]})
    with serve(fake) as url:
        api = _client(url)
        with api.client() as client, pytest.raises(AdminApiError, match="kept answering has_more"):
            list(api.day(DAY, client))
    assert len(fake.requests) == 3
