"""What each rollup view adds to the engine's INSERT of events: the same batch inserted with all five views, with
none, and with each one detached in turn.

    python bench/ingest_views.py [--records 50000] [--rounds 3]

Builds Claude Code-shaped logs requests as `bench/ingest.py` does, writes them length-delimited once, and runs the
writer's INSERT (`ccmon.ingest.engine_rows.events_sql`) through `Store.insert_encoded` into a fresh embedded store;
reports the best of `--rounds` for wall time and this process's CPU time (chDB runs in it), per record.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent.parent))
from bench import ingest as load
from ccmon.ingest import otlp_schema
from ccmon.ingest.attribution import Attribution
from ccmon.ingest.engine_rows import events_sql
from ccmon.ingest.writer import length_delimited
from ccmon.store.facade import Store


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=50_000, help="records per INSERT (50,000)")
    parser.add_argument("--rounds", type=int, default=3, help="repetitions, best kept (3)")
    args = parser.parse_args()
    factory = load.SessionFactory(load.load_templates(), 1)
    now = time.time_ns()
    data = length_delimited([factory.request(100, now)[0] for _ in range(args.records // 100)])
    rows = events_sql(Attribution(), 65536)
    with tempfile.TemporaryDirectory() as folder:
        store = Store.open(data_dir=folder, database="bench")
        store.migrate()
        views = [
            name
            for (name,) in store.query(
                "SELECT name FROM system.tables WHERE database = 'bench' AND engine = 'MaterializedView' "
                "AND name LIKE '%from_events' ORDER BY name"
            )
        ]

        def insert() -> tuple[float, float]:
            best_wall = best_cpu = float("inf")
            for _ in range(args.rounds):
                wall, cpu = time.perf_counter(), _cpu()
                store.insert_encoded(
                    rows.sql,
                    data,
                    structure=rows.structure,
                    schema=otlp_schema.PROTO,
                    message=otlp_schema.MESSAGES["logs"],
                    parameters={"now": time.time_ns()},
                )
                best_wall = min(best_wall, time.perf_counter() - wall)
                best_cpu = min(best_cpu, _cpu() - cpu)
            return best_wall, best_cpu

        def report(label: str) -> None:
            wall, cpu = insert()
            print(
                f"| {label} | {wall * 1000:.0f} ms | {wall / args.records * 1e6:.1f} µs | "
                f"{cpu / args.records * 1e6:.1f} µs |"
            )

        print(f"{args.records:,} records per INSERT, best of {args.rounds}\n")
        print("| views | wall | wall per record | CPU per record |\n|---|---:|---:|---:|")
        report("all five")
        for view in views:
            store.command(f"DETACH TABLE {view}")
            report(f"without `{view}`")
            store.command(f"ATTACH TABLE {view}")
        for view in views:
            store.command(f"DETACH TABLE {view}")
        report("none")
        store.close()


if __name__ == "__main__":
    main()
