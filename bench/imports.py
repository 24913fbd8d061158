"""What `ccmon import transcripts` costs: a first import, a second import of the same files (everything already
stored, so nothing is written), and reading alone (`--dry-run`), as wall time of the command from start to exit.

    python bench/imports.py [--files 50] [--messages 2000] [--json out.json]

Method. `--files` transcript files of `--messages` assistant messages each are written in the shape Claude Code
2.1.330 writes them (a user line before each message; every fourth message written twice, as a streamed message
is), into a temporary `projects/` folder. A data folder is migrated once; then each case runs the `ccmon` console
script of this virtualenv as a new process against that folder (`--data-dir`: the engine's start is included, as a
user sees it). The figures are seconds and messages per second; the baseline is the dry run in the same run, which
reads and deduplicates the files without opening a store.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

VENV_BIN = Path(sys.executable).parent


def _line(entry: dict[str, Any]) -> bytes:
    return json.dumps(entry, separators=(",", ":")).encode()


def write_transcripts(folder: Path, files: int, messages: int) -> int:
    """The transcript files; returns their size in bytes."""
    folder.mkdir(parents=True)
    for f in range(files):
        lines = []
        for m in range(messages):
            ts = f"2026-11-{1 + m % 28:02d}T10:00:00.000Z"
            user = {"type": "user", "timestamp": ts, "sessionId": f"s{f}", "message": {"role": "user", "content": "hi"}}
            usage = {
                "input_tokens": 100,
                "cache_creation_input_tokens": 50,
                "cache_read_input_tokens": 1000,
                "output_tokens": 20,
                "cache_creation": {"ephemeral_1h_input_tokens": 0, "ephemeral_5m_input_tokens": 50},
            }
            assistant = {
                "type": "assistant",
                "requestId": f"req_{f}_{m}",
                "sessionId": f"s{f}",
                "cwd": "/work/repo",
                "version": "2.1.330",
                "timestamp": ts,
                "uuid": f"u-{f}-{m}",
                "message": {"id": f"msg_{f}_{m}", "role": "assistant", "model": "claude-sonnet-4-5", "usage": usage},
            }
            lines += [_line(user), _line(assistant)] + ([_line(assistant)] if m % 4 == 0 else [])
        (folder / f"s{f}.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    return sum(p.stat().st_size for p in folder.iterdir())


def timed(argv: list[str]) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {done.stderr.strip()[-500:]}")
    return elapsed, done.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=50)
    parser.add_argument("--messages", type=int, default=2000, help="assistant messages per file")
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args()
    from ccmon.store.facade import Store

    with tempfile.TemporaryDirectory(prefix="ccmon-bench-imports-") as tmp:
        projects = Path(tmp) / "projects" / "-work-repo"
        size = write_transcripts(projects, args.files, args.messages)
        data = Path(tmp) / "data"
        store = Store.open(data_dir=str(data))
        store.migrate()
        store.close()
        ccmon = [str(VENV_BIN / "ccmon"), "import", "transcripts", str(projects), "--person", "bench@example.com"]
        messages = args.files * args.messages
        results: dict[str, Any] = {
            "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs",
            "files": args.files,
            "messages": messages,
            "bytes": size,
        }
        for case, argv in (
            ("dry_run", [*ccmon, "--dry-run"]),
            ("first_import", [*ccmon, "--data-dir", str(data)]),
            ("second_import", [*ccmon, "--data-dir", str(data)]),
        ):
            seconds, said = timed(argv)
            results[case] = {"seconds": round(seconds, 2), "messages_per_s": round(messages / seconds), "said": said}
            print(f"{case:14} {seconds:7.2f} s  {messages / seconds:9,.0f} messages/s  {said}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
