"""Charts for the report as PNG images, drawn and encoded here (zlib and struct only: no imaging dependency).

An email client shows inline images but runs no script and often blocks remote images, so the HTML report carries
its charts as PNG bytes: `data:` URIs in a saved file, `cid:` parts in an email. The charts are plain bars on a
white canvas with a baseline; their numbers are written next to them in the report's tables (text in the image
would need a font), and each image's `alt` text says what it shows.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence

Color = tuple[int, int, int]

BACKGROUND: Color = (255, 255, 255)
AXIS: Color = (160, 160, 160)
PALETTE: tuple[Color, ...] = ((217, 119, 87), (91, 141, 217), (106, 176, 122), (196, 160, 72), (150, 110, 190))
MAX_SIDE = 4096
"""Larger canvases are refused: a report chart never needs one, and a mistake must not allocate gigabytes."""


class Canvas:
    """An RGB image held as rows of bytes."""

    def __init__(self, width: int, height: int, background: Color = BACKGROUND) -> None:
        if not (1 <= width <= MAX_SIDE and 1 <= height <= MAX_SIDE):
            raise ValueError(f"canvas {width}x{height}: each side must be between 1 and {MAX_SIDE} pixels")
        self.width, self.height = width, height
        self._rows = [bytearray(bytes(background) * width) for _ in range(height)]

    def fill(self, x0: int, y0: int, x1: int, y1: int, color: Color) -> None:
        """Paint the rectangle [x0, x1) x [y0, y1), clipped to the canvas."""
        x0, x1 = max(0, min(x0, x1)), min(self.width, max(x0, x1))
        y0, y1 = max(0, min(y0, y1)), min(self.height, max(y0, y1))
        if x0 >= x1:
            return
        span = bytes(color) * (x1 - x0)
        for y in range(y0, y1):
            self._rows[y][x0 * 3 : x1 * 3] = span

    def png(self) -> bytes:
        """The image as a PNG file (8-bit RGB, no interlace, filter 0 on every row)."""
        raw = b"".join(b"\x00" + bytes(row) for row in self._rows)
        header = struct.pack(">IIBBBBB", self.width, self.height, 8, 2, 0, 0, 0)
        return (
            b"\x89PNG\r\n\x1a\n"
            + _chunk(b"IHDR", header)
            + _chunk(b"IDAT", zlib.compress(raw, 9))
            + _chunk(b"IEND", b"")
        )


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def bar_chart(values: Sequence[float], *, width: int = 560, height: int = 200, color: Color = PALETTE[0]) -> bytes:
    """Vertical bars, one per value, on a common baseline scaled to the largest value (negatives drawn as zero)."""
    canvas = Canvas(width, height)
    margin = 10
    baseline = height - margin
    canvas.fill(margin, baseline, width - margin, baseline + 1, AXIS)
    if values:
        top = max(*values, 0.0) or 1.0
        slot = (width - 2 * margin) / len(values)
        gap = max(1, round(slot * 0.2))
        for index, value in enumerate(values):
            bar = round(max(value, 0.0) / top * (baseline - margin))
            x0 = margin + round(index * slot) + gap // 2
            x1 = margin + round((index + 1) * slot) - gap // 2
            canvas.fill(x0, baseline - bar, x1, baseline, color)
    return canvas.png()


def share_bar(shares: Sequence[float], *, width: int = 560, height: int = 24) -> bytes:
    """One horizontal bar split into segments in proportion to `shares`, in the palette's order (the legend is the
    table beside it)."""
    canvas = Canvas(width, height)
    total = sum(share for share in shares if share > 0)
    x = 0.0
    for index, share in enumerate(shares):
        if share <= 0 or not total:
            continue
        step = share / total * width
        canvas.fill(round(x), 0, round(x + step), height, PALETTE[index % len(PALETTE)])
        x += step
    return canvas.png()
