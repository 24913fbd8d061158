"""The store facade's refusals: a data folder another process's engine holds is named, not a ClickHouse riddle."""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path

import pytest

from ccmon.store.facade import Store, StoreError
from tests.support import make_config, subprocess_server


def test_a_folder_another_server_holds_is_refused_with_what_to_do(tmp_path: Path) -> None:
    config = make_config(tmp_path / "data")
    with subprocess_server(config, tmp_path / "server.log") as (_, process), pytest.raises(StoreError) as caught:
        Store.open(data_dir=str(tmp_path / "data"))
    folder = (tmp_path / "data").resolve()
    assert str(caught.value) == (
        f"the data folder {folder} is in use by process {process.pid} (another `ccmon serve`?): stop it, or give this "
        "one another --data-dir; `ccmon report --url` asks a running server instead of opening its folder"
    )
    assert not re.search("EmbeddedServer|BAD_ARGUMENTS", str(caught.value))


def test_parallel_reads_run_side_by_side_and_answer_in_order(store: Store) -> None:
    """Each read runs on a reader thread with its own client; a read that sleeps does not hold up the others, the
    answers come back in the order asked, and a failure reaches the caller."""
    threads: set[str] = set()

    def read(n: int, sleep_s: float = 0.0) -> int:
        threads.add(threading.current_thread().name)
        return int(store.query(f"SELECT {n} FROM (SELECT sleep({sleep_s}))")[0][0])

    began = time.monotonic()
    assert store.parallel(lambda: read(1, 0.6), lambda: read(2, 0.6), lambda: read(3)) == [1, 2, 3]
    assert time.monotonic() - began < 1.1  # not one after the other (1.2 s)
    assert all(name.startswith("ccmon-read") for name in threads) and len(threads) >= 2
    # Called from a reader, the calls run in that reader's thread, one after another.
    nested = store.parallel(
        lambda: store.parallel(lambda: threading.current_thread().name, lambda: "second"), lambda: ["other"]
    )
    assert nested[0][0].startswith("ccmon-read") and nested[0][1] == "second"
    with pytest.raises(Exception, match="no_such_table"):
        store.parallel(lambda: read(1), lambda: store.query("SELECT * FROM no_such_table"))
