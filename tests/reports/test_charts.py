from __future__ import annotations

import pytest

from ccmon.reports.charts import AXIS, BACKGROUND, PALETTE, Canvas, bar_chart, share_bar
from tests.reports.png import decode


def test_bars_scale_to_the_largest_value() -> None:
    image = decode(bar_chart([1.0, 0.0, 2.0, -5.0], width=100, height=50))
    assert (image.width, image.height) == (100, 50)
    assert image.pixel(10, 40) == AXIS and image.pixel(5, 40) == BACKGROUND
    column = [x for x in range(100) if image.pixel(x, 39) == PALETTE[0]]
    assert column, "a bar reaches the baseline"
    heights = [
        sum(image.pixel(x, y) == PALETTE[0] for y in range(50)) for x in (20, 40, 60, 80)
    ]  # the middle of each slot
    assert heights == [15, 0, 30, 0]  # baseline at 40, top margin 10: the largest bar is 30 pixels


def test_share_segments_follow_the_shares() -> None:
    image = decode(share_bar([0.75, 0.25], width=100, height=4))
    assert [image.pixel(x, 0) for x in (0, 74, 75, 99)] == [PALETTE[0], PALETTE[0], PALETTE[1], PALETTE[1]]


def test_empty_data_draws_an_empty_chart() -> None:
    assert decode(bar_chart([], width=10, height=20)).pixel(0, 0) == BACKGROUND
    assert decode(share_bar([], width=10, height=2)).pixel(5, 1) == BACKGROUND


@pytest.mark.parametrize("size", [(0, 10), (10, 0), (5000, 10), (-1, -1)])
def test_an_impossible_canvas_is_refused(size: tuple[int, int]) -> None:
    with pytest.raises(ValueError, match="between 1 and 4096"):
        Canvas(*size)
