"""Tables: sortable headers (by mouse and keyboard), links to the drill-downs, and CSV downloads of the API rows."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page

from tests.web.ui.conftest import (
    UiServer,
    api,
    api_csv,
    column,
    csv_rows,
    download_csv,
    open_page,
    wait_ready,
    wait_until,
)

pytestmark = pytest.mark.browser

LEADERBOARD = 'table[data-table="leaderboard"]'


def _sort_state(page: Page, table: str, sort: str) -> str | None:
    """`aria-sort` of the header of column `sort` in the table named `table`."""
    return page.get_attribute(f'table[data-table="{table}"] th:has(button[data-sort="{sort}"])', "aria-sort")


def _numbers(values: list[str]) -> list[float]:
    return [float(v) if v not in {"", "null"} else float("nan") for v in values]


def _sorted_by(page: Page, table: str, name: str, direction: str) -> bool:
    values = _numbers(column(page, table, name))
    return len(values) > 1 and values == sorted(values, reverse=direction == "descending")


def _approximately(row: dict[str, str]) -> dict[str, object]:
    """A CSV row with its numbers compared to 12 significant digits."""
    return {key: _number(value) for key, value in row.items()}


def _parsed(row: dict[str, str]) -> dict[str, object]:
    return {key: _number(value, approximate=False) for key, value in row.items()}


def _number(text: str, approximate: bool = True) -> object:
    try:
        number = float(text)
    except ValueError:
        return text
    return pytest.approx(number, rel=1e-12) if approximate else number


def _click_sort(page: Page, table: str, sort: str, before: str | None) -> str:
    """Click a sortable header; wait until its `aria-sort` changed and the rows follow it; the new direction."""
    page.click(f'table[data-table="{table}"] th button[data-sort="{sort}"]')
    wait_until(
        lambda: _sort_state(page, table, sort) in {"ascending", "descending"} - {before},
        lambda: f"clicking {table} {sort}: aria-sort stayed {_sort_state(page, table, sort)}",
    )
    wait_ready(page)
    direction = _sort_state(page, table, sort) or ""
    wait_until(
        lambda: _sorted_by(page, table, sort, direction),
        lambda: f"{table} not sorted by {sort} {direction}: {column(page, table, sort)}",
    )
    return direction


def test_leaderboard_sorts_and_downloads_its_rows(page: Page, ui_server: UiServer, tmp_path: Path) -> None:
    open_page(page, ui_server, "/people", **ui_server.window)
    standings = api(ui_server, "people/leaderboard", **ui_server.window, limit=50)
    assert standings["total"] >= 12  # the demo's developers
    assert page.locator(f"{LEADERBOARD} tbody tr").count() == standings["total"]

    before = _sort_state(page, "leaderboard", "cost_usd")
    first = _click_sort(page, "leaderboard", "cost_usd", before)
    second = _click_sort(page, "leaderboard", "cost_usd", first)
    assert {first, second} == {"ascending", "descending"}
    keys = column(page, "leaderboard", "key")
    links = page.locator(f'{LEADERBOARD} tbody td[data-column="key"] a[href^="/people/"]')
    assert links.count() == len(keys)

    downloaded = download_csv(page, 'button[data-csv="leaderboard"]', tmp_path)

    order = "desc" if second == "descending" else "asc"
    params = {**ui_server.window, "sort": "cost_usd", "order": order, "limit": "50"}
    want = api_csv(ui_server, "people/leaderboard", **params)
    # Equal but for the last bits of float sums: the store adds floats in parallel, in no fixed order.
    assert downloaded.splitlines()[0] == want.splitlines()[0]
    assert [_parsed(row) for row in csv_rows(downloaded)] == [_approximately(row) for row in csv_rows(want)]
    assert [row["key"] for row in csv_rows(downloaded)] == keys


def test_keyboard_reaches_the_nav_and_sorts_a_table(page: Page, ui_server: UiServer) -> None:
    open_page(page, ui_server, "/people", **ui_server.window)
    page.locator("body").focus()
    reached_nav = False
    for _ in range(200):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            "() => { const e = document.activeElement;"
            " return e ? [e.closest('#nav') !== null && e.tagName === 'A',"
            " e.matches('th button[data-sort]'), e.getAttribute('data-sort') ?? '',"
            " e.closest('table')?.dataset.table ?? ''] : [false, false, '', ''] }"
        )
        reached_nav = reached_nav or focused[0]
        if focused[1]:
            break
    else:
        pytest.fail("Tab never reached a sortable header")
    assert reached_nav, "Tab reached a header without passing the navigation links"
    sort, table = focused[2], focused[3]
    before = _sort_state(page, table, sort)

    page.keyboard.press("Enter")

    wait_until(
        lambda: _sort_state(page, table, sort) in {"ascending", "descending"} - {before},
        lambda: f"Enter on {table} {sort}: aria-sort stayed {_sort_state(page, table, sort)}",
    )
    wait_ready(page)
