"""`ccmon forget`: against a running server (--url) and on a data folder (--data-dir), and its errors."""

from __future__ import annotations

import io
from pathlib import Path

import orjson
import pytest

from ccmon.cli import main
from ccmon.privacy_cli import ForgetArgs, run
from ccmon.store.facade import Store
from tests.store.test_erase import ALICE, BOB, send_run
from tests.support import RunningServer, free_port


def _count(store: Store, person: str) -> int:
    return int(store.query("SELECT count() FROM events WHERE person = {p:String}", {"p": person})[0][0])


@pytest.fixture
def loaded(server: RunningServer, store: Store) -> RunningServer:
    send_run(server, "writefile-http-json", ALICE)
    send_run(server, "tool-rejected", BOB)
    assert _count(store, ALICE) > 0 and _count(store, BOB) > 0
    return server


def test_forget_on_a_data_folder_and_through_the_server(
    loaded: RunningServer, store: Store, chdb_path: Path, database: str
) -> None:
    out = io.StringIO()
    # The test process's engine holds the folder, so "offline" works here as it does on a stopped server's folder.
    assert run(ForgetArgs(ALICE, data_dir=str(chdb_path), database=database), out) == 0
    text = out.getvalue()
    assert text.startswith("erased forgotten:") and ALICE not in text
    assert " events " in text and " spans " in text and "sessions" in text
    assert _count(store, ALICE) == 0 and _count(store, BOB) > 0
    [(actor, target)] = store.query("SELECT actor, target FROM audit_log WHERE action = 'privacy.forget'")
    assert actor.startswith("cli:") and target.startswith("forgotten:")

    out = io.StringIO()
    assert run(ForgetArgs(BOB, url=loaded.api_url, json=True), out) == 0
    report = orjson.loads(out.getvalue())
    assert report["removed"]["events"] > 0 and report["sessions"] == 1
    assert _count(store, BOB) == 0


def test_errors_say_what_to_do(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    unreachable = f"http://127.0.0.1:{free_port()}"
    assert run(ForgetArgs(ALICE, url=unreachable)) == 1
    assert "cannot reach" in capsys.readouterr().err
    assert run(ForgetArgs(ALICE, url="not a url")) == 2
    assert "is not a URL" in capsys.readouterr().err
    assert run(ForgetArgs(ALICE, data_dir=str(tmp_path))) == 1
    assert "holds no ccmon data" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:
        main(["forget"])
    assert exited.value.code == 2
    assert "--person" in capsys.readouterr().err


def test_a_person_that_cannot_be_one_is_a_usage_error(
    store: Store, chdb_path: Path, database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(ForgetArgs("a\x00b", data_dir=str(chdb_path), database=database)) == 2
    assert "printable" in capsys.readouterr().err
