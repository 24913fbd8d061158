"""The store facade's refusals: a data folder another process's engine holds is named, not a ClickHouse riddle."""

from __future__ import annotations

import re
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
