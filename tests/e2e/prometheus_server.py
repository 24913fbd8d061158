"""A real Prometheus for the end-to-end tests: Debian's `prometheus` binary (or $CCMON_PROMETHEUS) with a temporary
config scraping one ccmon path every second, a temporary TSDB and a free loopback port; and Prometheus's own
`increase()` arithmetic, to check its answers to the digit."""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.support import free_port


def prometheus_binary() -> str:
    path = os.environ.get("CCMON_PROMETHEUS") or shutil.which("prometheus") or "/usr/bin/prometheus"
    assert Path(path).exists(), "prometheus not found: install it (apt-get install prometheus) or set CCMON_PROMETHEUS"
    return path


@dataclass
class Prometheus:
    url: str
    http: httpx.Client

    def query(self, promql: str, at: float) -> list[dict[str, Any]]:
        """An instant query evaluated at `at` (Unix seconds): its result (a vector or, for a range selector, a
        matrix)."""
        response = self.http.get(f"{self.url}/api/v1/query", params={"query": promql, "time": f"{at:.3f}"})
        body: dict[str, Any] = response.json()
        assert response.status_code == 200 and body["status"] == "success", (promql, body)
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def scalar(self, promql: str, at: float) -> float:
        """The value of a query answering one element (0 for none)."""
        result = self.query(promql, at)
        assert len(result) <= 1, (promql, result)
        return float(result[0]["value"][1]) if result else 0.0

    def by(self, promql: str, label: str, at: float) -> dict[str, float]:
        return {r["metric"].get(label, ""): float(r["value"][1]) for r in self.query(promql, at)}

    def wait_for_scrape(self, after: float, timeout: float = 15) -> float:
        """Wait until a scrape of the target started after `after` (Unix seconds) succeeded; its time."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            now = time.time()
            result = self.query("timestamp(up)", now)
            up = self.query("up", now)
            if result and up and up[0]["value"][1] == "1" and float(result[0]["value"][1]) > after:
                return float(result[0]["value"][1])
            time.sleep(0.2)
        raise TimeoutError(
            f"no successful scrape after {after} within {timeout} s: {self.http.get(self.url + '/api/v1/targets').text}"
        )


@contextlib.contextmanager
def running_prometheus(target: str, path: str, folder: Path, *, bearer: str | None = None) -> Iterator[Prometheus]:
    """Prometheus scraping `http://{target}{path}` every second, until the block ends."""
    folder.mkdir(parents=True, exist_ok=True)
    authorization = f"\n    authorization:\n      credentials: {bearer}" if bearer else ""
    config = folder / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n"
        f"  - job_name: ccmon\n    metrics_path: {path}\n    scrape_interval: 1s\n"
        f"    scrape_timeout: 1s{authorization}\n"
        f"    static_configs:\n      - targets: ['{target}']\n"
    )
    port = free_port()
    log = (folder / "prometheus.log").open("wb")
    process = subprocess.Popen(
        [
            prometheus_binary(),
            f"--config.file={config}",
            f"--storage.tsdb.path={folder / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    prometheus = Prometheus(f"http://127.0.0.1:{port}", httpx.Client(timeout=10))
    try:
        deadline = time.monotonic() + 20
        while True:
            assert process.poll() is None, (folder / "prometheus.log").read_text()
            with contextlib.suppress(httpx.HTTPError):
                if prometheus.http.get(f"{prometheus.url}/-/ready").status_code == 200:
                    break
            assert time.monotonic() < deadline, "Prometheus not ready within 20 s"
            time.sleep(0.1)
        yield prometheus
    finally:
        prometheus.http.close()
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def expected_increase(points: Sequence[tuple[float, float]], range_start: float, range_end: float) -> float:
    """What Prometheus 2.x's `increase()` answers for one counter series with these (time, value) samples inside
    `[range_start, range_end]` (promql/functions.go `extrapolatedRate`): the change between the first and the last
    sample (resets added back), extrapolated towards the range's ends by at most half the average sample interval
    (or, for a counter, no further than where it would reach zero). Not the first sample's own value: a series that
    appears with its whole value counts 0."""
    if len(points) < 2:
        return 0.0
    result = points[-1][1] - points[0][1]
    for (_, earlier), (_, later) in itertools.pairwise(points):
        if later < earlier:
            result += earlier
    to_start, to_end = points[0][0] - range_start, range_end - points[-1][0]
    sampled = points[-1][0] - points[0][0]
    average = sampled / (len(points) - 1)
    if result > 0 and points[0][1] >= 0:
        to_start = min(to_start, sampled * points[0][1] / result)
    threshold = average * 1.1
    interval = (
        sampled + (to_start if to_start < threshold else average / 2) + (to_end if to_end < threshold else average / 2)
    )
    return result * interval / sampled
