"""Every CSV export is audited: who took which rows, from where; JSON answers are not logged one by one."""

from __future__ import annotations

from pathlib import Path

from ccmon.auth.principal import Role
from tests.web import roles_data as org


def test_a_csv_export_leaves_an_audit_entry_naming_the_caller_and_the_rows(
    chdb_path: Path, clickhouse_url: str | None
) -> None:
    with (
        org.loaded_store(chdb_path, clickhouse_url, "test_exports_module") as store,
        org.serving(org.build_app(store)) as client,
    ):
        finance = {org.ROLE_HEADER: Role.FINANCE.value}
        admin = {org.ROLE_HEADER: Role.ADMIN.value}
        params = {**org.RANGE, "by": "team", "format": "csv"}
        exported = client.get("/api/v1/cost/breakdown", params=params, headers=finance)
        assert exported.status_code == 200, exported.text
        assert exported.headers["content-type"].startswith("text/csv")
        read = client.get("/api/v1/cost/breakdown", params={**org.RANGE, "by": "team"}, headers=finance)
        assert read.status_code == 200
        refused = client.get("/api/v1/sessions", params={"format": "csv"}, headers={org.ROLE_HEADER: "viewer"})
        assert refused.status_code == 403

        entries = client.get("/api/v1/audit", headers=admin).json()["entries"]
        exports = [entry for entry in entries if entry["action"] == "export"]
        assert len(exports) == 1, exports  # the JSON read and the refused export are not exports
        (entry,) = exports
        assert entry["actor"] == org.PRINCIPALS[Role.FINANCE].name
        assert entry["target"] == "/api/v1/cost/breakdown"
        assert "by=team" in entry["detail"] and "format=csv" in entry["detail"]
        assert entry["address"] == "127.0.0.1"
