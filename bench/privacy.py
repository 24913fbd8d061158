"""What privacy at ingest costs: `bench/ingest.py` with the content policy off, on (the default) and with email
pseudonyms, alternated in one run so that the machine's noise falls on every variant alike.

    python bench/privacy.py [--rounds 2] [--seconds 20] [--json out.json]

Variants (each a `ccmon serve` started by bench/ingest.py on a fresh data folder):

- `keep`: `--content-prompts=keep --content-responses=keep --content-tool-details=keep`. Error texts, bodies and
  status messages still have their secrets redacted (that is not switchable), so this is the floor of what privacy
  costs, not zero;
- `redact` (default): secrets redacted in prompts, responses and tool details too;
- `redact+hash`: the default plus `--hash-emails=true` (HMAC-SHA256 pseudonyms in SQL for every email).

Reports events/s and server µs per event of each variant (the median over its rounds) and its ratio to `keep`.
docs/performance.md has the figures.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

BENCH = Path(__file__).with_name("ingest.py")
KEEP = ["--content-prompts=keep", "--content-responses=keep", "--content-tool-details=keep"]
VARIANTS: dict[str, list[str]] = {"keep": KEEP, "redact": [], "redact+hash": ["--hash-emails=true"]}


def run_once(server_args: list[str], seconds: float) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "result.json"
        command = [sys.executable, str(BENCH), "--seconds", str(seconds), "--json", str(out)]
        command += [f"--server-arg={arg}" for arg in server_args]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        report = json.loads(out.read_text())
    if not report["verification"]["ok"]:
        raise SystemExit(f"stored rows differ from acknowledged ones: {report['verification']}")
    total = report["transports"][-1]
    return {"events_per_s": total["events_per_s"], "server_us_per_event": report["cpu"]["server_us_per_event"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2, help="runs of each variant, alternated (2)")
    parser.add_argument("--seconds", type=float, default=20, help="measured seconds of each run (20)")
    parser.add_argument("--json", type=Path, help="also write the results as JSON to this file")
    args = parser.parse_args()
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in VARIANTS}
    for round_number in range(args.rounds):
        for name, server_args in VARIANTS.items():
            print(f"round {round_number + 1}/{args.rounds}: {name}", file=sys.stderr)
            runs[name].append(run_once(server_args, args.seconds))
    medians = {
        name: {key: statistics.median(r[key] for r in results) for key in results[0]} for name, results in runs.items()
    }
    base = medians["keep"]["events_per_s"]
    print("| variant | events/s | server µs/event | events/s vs keep |")
    print("|---|---:|---:|---:|")
    for name, figures in medians.items():
        ratio = figures["events_per_s"] / base
        print(f"| {name} | {figures['events_per_s']:,.0f} | {figures['server_us_per_event']:.1f} | {ratio:.2f} |")
    if args.json:
        args.json.write_text(json.dumps({"runs": runs, "medians": medians}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
