"""`ccmon directory load|list|apply`: against a running server, and offline in a data folder."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from ccmon.cli import main
from tests.support import RunningServer, ccmon_env, run_ccmon

CSV = "email,name,team,department,cost_center,manager\nada@example.com,Ada,payments,eng,CC-1,\n"


def test_against_a_running_server(server: RunningServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = ["--url", server.api_url]
    people = tmp_path / "people.csv"
    people.write_text(CSV)
    assert main(["directory", "load", str(people), *url]) == 0
    assert "1 added, 0 updated, 0 removed" in capsys.readouterr().out
    assert main(["directory", "list", "--json", *url]) == 0
    listed = orjson.loads(capsys.readouterr().out)
    assert [p["team"] for p in listed["people"]] == ["payments"]
    assert main(["directory", "apply", "--dry-run", *url]) == 0
    assert "would change 0 rows" in capsys.readouterr().out

    bad = tmp_path / "bad.yaml"
    bad.write_text("people:\n  - {name: nobody}\n")
    assert main(["directory", "load", str(bad), *url]) == 1
    assert "people[0]: the email is missing" in capsys.readouterr().err
    assert main(["directory", "load", str(tmp_path / "missing.csv"), *url]) == 2
    assert main(["directory", "load", str(tmp_path / "people.xlsx"), *url]) == 2
    assert "a directory is CSV" in capsys.readouterr().err


def test_an_unreachable_server_is_said(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["directory", "list", "--url", "http://127.0.0.1:9"]) == 1
    assert "is `ccmon serve` running?" in capsys.readouterr().err


def test_offline_in_a_data_folder(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert run_ccmon("directory", "list", "--data-dir", str(data)).returncode == 1  # no ccmon data there yet
    create = "from ccmon.store.facade import Store; s = Store.open(data_dir=sys.argv[1]); s.migrate(); s.close()"
    subprocess.run([sys.executable, "-c", f"import sys; {create}", str(data)], check=True, env=ccmon_env())
    people = tmp_path / "people.yaml"
    people.write_text("people:\n  - {email: Ada@example.com, team: payments}\nrules: ['*@pay.example.com=payments']\n")
    loaded = run_ccmon("directory", "load", str(people), "--data-dir", str(data))
    assert loaded.returncode == 0, loaded.stderr
    listed = run_ccmon("directory", "list", "--data-dir", str(data))
    assert "ada@example.com" in listed.stdout and "rule: *@pay.example.com=payments" in listed.stdout
    applied = run_ccmon("directory", "apply", "--json", "--data-dir", str(data))
    assert applied.returncode == 0, applied.stderr
    assert orjson.loads(applied.stdout)["rows"] == 0
    duplicate = tmp_path / "dup.csv"
    duplicate.write_text("email\na@x.io\nA@x.io\n")
    refused = run_ccmon("directory", "load", str(duplicate), "--data-dir", str(data))
    assert refused.returncode == 2 and "line 3: a@x.io is listed twice" in refused.stderr
