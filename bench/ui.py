"""The web UI over the 100M-event store: how long after navigation each executive chart is drawn, in Chromium.

    python bench/ui.py [--data-dir /tmp/ccmon-bench-analytics] [--repeats 10] [--json out.json]

Uses the store `bench/analytics.py` loads (run that first; the same `--developers`/`--days`). Starts `ccmon serve` on
it and opens each page in headless Chromium (Debian's, `/usr/bin/chromium` or `$CCMON_CHROMIUM`) with the window
`bench/analytics.py` calls "30 days" (ending mid-hour), as a custom range in the URL:

- cold: the first load in a freshly started server, after dropping the store's files from the page cache;
- warm: `--repeats` further loads of the same URL in the same tab, as a user reloading the dashboard (the scripts
  revalidated with the server, answered 304).

Chromium and the server share the machine's cores here; a new browser context per load would add a renderer
process start to every load, which a user's browser, on another machine, does not pay.

For each load it reads, from the page itself, the milliseconds since navigation start at which every chart
(`figure.chart[data-drawn-ms]`) was drawn and the page was ready (`main[data-ready-ms]`: every panel, tables
included), and the server time of each API request (Resource Timing). The target (issue 4): every executive chart
drawn within 1 s of navigation.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, sync_playwright

sys.path.insert(0, str(Path(__file__).parent.parent))
from bench.analytics import Server, evict_page_cache
from bench.synthetic import Shape
from tests.web.ui.chromium import CHROMIUM, launch

TARGET_MS = 1000.0
READY_TARGETS_MS = {"/": 600.0, "/engineering": 800.0}
"""Issue 17: the executive page complete (every panel, tables included) within 600 ms warm, engineering 800 ms."""
PAGES = ("/", "/cost", "/engineering", "/adoption", "/people", "/sessions", "/events")

_READ_TIMINGS = """() => ({
    charts: Object.fromEntries([...document.querySelectorAll("figure.chart")].map(
        f => [f.dataset.panel, Number(f.dataset.drawnMs)])),
    ready: Number(document.querySelector("main#page").dataset.readyMs),
    requests: performance.getEntriesByType("resource").filter(e => e.name.includes("/api/v1/")).map(e => ({
        path: new URL(e.name).pathname.slice(8), start: Math.round(e.startTime), ms: Math.round(e.duration)})),
})"""


def load_page(page: Page, url: str) -> dict[str, Any]:
    page.goto(url)
    page.wait_for_selector("main#page[data-state=ready]", timeout=120_000)
    timings: dict[str, Any] = page.evaluate(_READ_TIMINGS)
    timings["charts_ms"] = max(timings["charts"].values(), default=0)
    return timings


def summarize(loads: list[dict[str, Any]]) -> dict[str, Any]:
    charts = sorted(load["charts_ms"] for load in loads)
    ready = sorted(load["ready"] for load in loads)
    return {
        "charts_p50_ms": statistics.median(charts),
        "charts_max_ms": charts[-1],
        "ready_p50_ms": statistics.median(ready),
        "ready_max_ms": ready[-1],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--developers", type=int, default=1000)
    parser.add_argument("--days", type=int, default=100)
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/ccmon-bench-analytics"))
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--json", type=Path, help="write every figure here")
    args = parser.parse_args()
    if not (args.data_dir / "bench-shape.json").exists():
        raise SystemExit(f"no benchmark store in {args.data_dir}: run bench/analytics.py first")
    shape = Shape(developers=args.developers, days=args.days)
    iso = "%Y-%m-%dT%H:%M:%SZ"
    end = shape.end - timedelta(hours=2, minutes=13, seconds=37)
    query = f"?from={(end - timedelta(days=30)).strftime(iso)}&to={end.strftime(iso)}"
    report: dict[str, Any] = {"window": query, "pages": {}}
    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            evict_page_cache(args.data_dir)
            server = Server(args.data_dir)
            try:
                base = f"http://127.0.0.1:{server.port}"
                report["ready_s"] = server.ready_s
                print(f"cold start: /readyz answered {server.ready_s:.2f} s after the process started")
                page = browser.new_context(viewport={"width": 1440, "height": 900}).new_page()
                cold = load_page(page, base + "/" + query)
                warm = [load_page(page, base + "/" + query) for _ in range(args.repeats)]
                executive = {"cold": cold, "warm": warm, **summarize(warm)}
                report["pages"]["/"] = executive
                print(
                    f"executive: charts drawn cold {cold['charts_ms']:.0f} ms; warm p50 "
                    f"{executive['charts_p50_ms']:.0f} ms, max {executive['charts_max_ms']:.0f} ms "
                    f"(target {TARGET_MS:.0f}); page ready cold {cold['ready']:.0f} ms, warm p50 "
                    f"{executive['ready_p50_ms']:.0f} ms (target {READY_TARGETS_MS['/']:.0f})"
                )
                for name, at in sorted(cold["charts"].items(), key=lambda item: item[1]):
                    print(f"  cold {name:<14} {at:>6.0f} ms")
                for request in sorted(warm[-1]["requests"], key=lambda r: -r["ms"]):
                    print(f"  warm request {request['path']:<28} {request['ms']:>6} ms (sent at {request['start']} ms)")
                for path in PAGES[1:]:
                    loads = [load_page(page, base + path + query) for _ in range(max(3, args.repeats // 3))]
                    report["pages"][path] = {"warm": loads, **summarize(loads)}
                    print(
                        f"{path:<13} charts p50 {report['pages'][path]['charts_p50_ms']:>6.0f} ms, "
                        f"ready p50 {report['pages'][path]['ready_p50_ms']:>6.0f} ms"
                        + (f" (target {READY_TARGETS_MS[path]:.0f})" if path in READY_TARGETS_MS else "")
                    )
            finally:
                server.stop()
        finally:
            browser.close()
    if args.json:
        machine = {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()}
        args.json.write_text(json.dumps({"machine": machine, "chromium": CHROMIUM, **report}, indent=2))


if __name__ == "__main__":
    main()
