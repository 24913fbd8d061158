"""deploy/'s Dockerfile and compose files, checked without Docker (none on the test machines): they load, every file
they mount or copy exists, ports, volumes and secrets are declared once and consistently, the containers find each
other under the names the Prometheus and Grafana files use, and ccmon, started as the image starts it with the
secrets the compose files give it, passes its own rule for listening beyond loopback."""

from __future__ import annotations

import json
import shlex
import subprocess
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
import yaml

from ccmon.server import check_exposure
from ccmon.settings import ConfigError, load_config
from tests.deploy.grafana import DEPLOY, PROVISIONING

ROOT = DEPLOY.parent
COMPOSE_FILES = ("docker-compose.yml", "docker-compose.stack.yml")
CCMON_PORTS = {"3000:3000", "4317:4317", "4318:4318"}


def _compose(name: str) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((DEPLOY / name).read_text(encoding="utf-8"))
    return document


def _merged(*names: str) -> dict[str, Any]:
    """`docker compose -f A -f B` for what these files use: mappings merged, sequences appended."""

    def merge(base: Any, extra: Any) -> Any:
        if isinstance(base, dict) and isinstance(extra, dict):
            return {
                key: merge(base[key], extra[key]) if key in base and key in extra else (base | extra)[key]
                for key in base | extra
            }
        if isinstance(base, list) and isinstance(extra, list):
            return base + [item for item in extra if item not in base]
        return extra

    document: dict[str, Any] = {}
    for name in names:
        document = merge(document, _compose(name))
    return document


def _dockerfile() -> list[tuple[str, str]]:
    """(instruction, arguments) per instruction of deploy/Dockerfile (continuation lines joined)."""
    text = (DEPLOY / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def _instruction(name: str) -> list[str]:
    return [arguments for instruction, arguments in _dockerfile() if instruction == name]


STACKS = [
    ("docker-compose.yml",),
    ("docker-compose.stack.yml",),
    ("docker-compose.stack.yml", "docker-compose.clickhouse.yml"),
]


@pytest.mark.parametrize("files", STACKS, ids="+".join)
def test_every_mount_secret_and_volume_is_declared_and_exists(files: tuple[str, ...]) -> None:
    compose = _merged(*files)
    host_ports: list[str] = []
    for name, service in compose["services"].items():
        assert "image" in service, name
        host_ports += [port.split(":")[0] for port in service.get("ports", [])]
        for volume in service.get("volumes", []):
            source, target = volume.split(":")[:2]
            if source.startswith("./"):
                assert (DEPLOY / source).exists() or source.startswith("./secrets/"), f"{name}: {source} is missing"
            else:
                assert source in compose["volumes"], f"{name}: volume {source} is not declared"
            assert target.startswith("/"), volume
        for secret in service.get("secrets", []):
            assert compose["secrets"][secret]["file"] == f"./secrets/{secret}", secret
        for variable, value in service.get("environment", {}).items():
            if variable.endswith("_FILE") and str(value).startswith("/run/secrets/"):
                assert value.removeprefix("/run/secrets/") in service["secrets"], f"{name}: {variable}"
    assert len(host_ports) == len(set(host_ports)), f"a host port is published twice: {host_ports}"
    assert set(compose["services"]["ccmon"]["ports"]) == CCMON_PORTS
    readme = (DEPLOY / "README.md").read_text(encoding="utf-8")
    for secret in compose.get("secrets", {}):
        assert f"secrets/{secret}" in readme, f"deploy/README.md does not say how to make secrets/{secret}"


def test_the_stack_runs_the_same_ccmon_as_the_single_file() -> None:
    alone, stack = _compose("docker-compose.yml")["services"]["ccmon"], _compose("docker-compose.stack.yml")
    ccmon = stack["services"]["ccmon"]
    for key in ("build", "image", "ports", "volumes", "shm_size"):
        assert ccmon[key] == alone[key], key
    assert ccmon["environment"] == {**alone["environment"], "CCMON_SCRAPE_TOKENS_FILE": "/run/secrets/scrape-token"}


def test_prometheus_finds_its_config_rules_token_and_ccmon() -> None:
    stack = _compose("docker-compose.stack.yml")
    prometheus = stack["services"]["prometheus"]
    mounts = {volume.split(":")[1]: volume.split(":")[0] for volume in prometheus["volumes"]}
    config_path = next(arg.split("=", 1)[1] for arg in prometheus["command"] if arg.startswith("--config.file="))
    assert mounts[config_path] == "./prometheus/prometheus.yml"
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text(encoding="utf-8"))
    folder = str(Path(config_path).parent)
    for rule_file in config["rule_files"]:
        assert mounts[f"{folder}/{rule_file}"] == f"./prometheus/{rule_file}"
    for job in config["scrape_configs"]:
        assert mounts[f"{folder}/{job['authorization']['credentials_file']}"] == "./secrets/scrape-token"
        (target,) = job["static_configs"][0]["targets"]
        host, port = target.split(":")
        assert host in stack["services"] and f"{port}:{port}" in stack["services"][host]["ports"]


def test_grafana_finds_its_provisioning_and_dashboards() -> None:
    for files in STACKS[1:]:
        grafana = _merged(*files)["services"]["grafana"]
        mounts = {volume.split(":")[1]: DEPLOY / volume.split(":")[0] for volume in grafana["volumes"][:-1]}
        provider = yaml.safe_load((PROVISIONING / "dashboards" / "ccmon.yaml").read_text())["providers"][0]
        assert mounts["/etc/grafana/provisioning/dashboards"] == PROVISIONING / "dashboards"
        for target, source in mounts.items():
            if target.startswith("/var/lib/grafana/dashboards/"):
                assert str(Path(target).parent) == provider["options"]["path"]
                assert source.is_dir() and list(source.glob("*.json")), source
        home = grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
        assert (mounts[str(Path(home).parent)] / Path(home).name).is_file()
    prometheus_source = yaml.safe_load((PROVISIONING / "datasources" / "prometheus.yaml").read_text())["datasources"]
    assert prometheus_source[0]["url"] == "http://prometheus:9090"


def test_grafana_reads_ccmons_clickhouse_as_a_read_only_user() -> None:
    compose = _merged("docker-compose.stack.yml", "docker-compose.clickhouse.yml")
    (source,) = yaml.safe_load((PROVISIONING / "datasources" / "clickhouse.yaml").read_text())["datasources"]
    settings = source["jsonData"]
    assert settings["host"] in compose["services"] and settings["protocol"] == "native" and settings["port"] == 9000
    clickhouse = compose["services"]["clickhouse"]["environment"]
    ccmon = compose["services"]["ccmon"]["environment"]
    assert settings["defaultDatabase"] == clickhouse["CLICKHOUSE_DB"] == ccmon["CCMON_DATABASE"]
    assert ccmon["CCMON_CLICKHOUSE_URL"].startswith(f"http://{clickhouse['CLICKHOUSE_USER']}:")
    assert ccmon["CCMON_CLICKHOUSE_URL"].endswith("@clickhouse:8123")
    users = ElementTree.parse(DEPLOY / "clickhouse" / "grafana-user.xml").getroot()
    user = users.find(f"users/{settings['username']}")
    assert user is not None
    password = user.find("password")
    assert password is not None
    assert password.get("from_env") == source["secureJsonData"]["password"].lstrip("$")
    assert user.findtext("grants/query") == f"GRANT SELECT ON {settings['defaultDatabase']}.*"
    profile = users.find(f"profiles/{user.findtext('profile')}")
    assert profile is not None and profile.findtext("readonly") == "2"
    grafana = compose["services"]["grafana"]["environment"]
    assert grafana["GF_INSTALL_PLUGINS"] == source["type"]
    assert "GRAFANA_CLICKHOUSE_PASSWORD" in grafana and "GRAFANA_CLICKHOUSE_PASSWORD" in clickhouse


def test_the_dockerfile_copies_what_exists_and_exposes_the_compose_ports() -> None:
    assert _instruction("FROM") == ["python:3.11-slim AS build", "python:3.11-slim"]
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
    for arguments in _instruction("COPY"):
        if arguments.startswith("--from"):
            continue
        *sources, _destination = arguments.split()
        for source in sources:
            assert (ROOT / source).exists(), source
            assert f"!{source.rstrip('/')}" in ignore or f"!{source.rstrip('/')}/" in ignore, source
    exposed = {f"{port}:{port}" for port in " ".join(_instruction("EXPOSE")).split()}
    assert exposed == CCMON_PORTS


def _container_environment(tmp_path: Path, service: dict[str, Any]) -> dict[str, str]:
    """The environment `ccmon serve` sees in the container: the image's ENV, the service's, and the secrets read by
    the real entry point script (its files written here)."""
    environment = dict(shlex.split(pair)[0].split("=", 1) for pair in shlex.split(" ".join(_instruction("ENV"))))
    for variable, value in service["environment"].items():
        environment[variable] = value
        if variable.endswith("_FILE"):
            secret = tmp_path / Path(value).name
            secret.write_text(f"token-of-{secret.name}\n")
            environment[variable] = str(secret)
    shown = subprocess.run(
        ["sh", str(DEPLOY / "docker-entrypoint.sh"), "env", "-0"],
        env={"PATH": "/usr/bin:/bin", **{k: v for k, v in environment.items() if k != "PATH"}},
        check=True,
        capture_output=True,
        text=True,
        timeout=30,
    ).stdout
    return dict(item.split("=", 1) for item in shown.split("\0") if item)


@pytest.mark.parametrize("name", COMPOSE_FILES)
def test_ccmon_in_the_container_is_allowed_to_listen_beyond_loopback(name: str, tmp_path: Path) -> None:
    service = _compose(name)["services"]["ccmon"]
    environment = _container_environment(tmp_path, service)
    assert environment["CCMON_API_TOKENS"] == "token-of-api-token"
    assert not any(variable.endswith("_TOKENS_FILE") for variable in environment)
    (entrypoint,) = _instruction("ENTRYPOINT")
    (command,) = _instruction("CMD")
    argv = json.loads(command)
    assert json.loads(entrypoint) == ["ccmon-entrypoint"] and argv[:2] == ["ccmon", "serve"]
    flags = {argv[i].removeprefix("--").replace("-", "_"): argv[i + 1] for i in range(2, len(argv), 2)}
    config = load_config(flags=flags, environ=environment)
    assert config.host == "0.0.0.0" and config.data_dir == "/data"
    check_exposure(config)  # raises ConfigError when ccmon would refuse to start
    without = {k: v for k, v in environment.items() if k != "CCMON_INGEST_TOKENS"}
    with pytest.raises(ConfigError, match="ingest_tokens"):
        check_exposure(load_config(flags=flags, environ=without))


def test_the_entrypoint_refuses_an_unreadable_secret(tmp_path: Path) -> None:
    ran = subprocess.run(
        ["sh", str(DEPLOY / "docker-entrypoint.sh"), "true"],
        env={"PATH": "/usr/bin:/bin", "CCMON_API_TOKENS_FILE": str(tmp_path / "missing")},
        check=False,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert ran.returncode == 1 and "CCMON_API_TOKENS_FILE" in ran.stderr and "not a readable file" in ran.stderr
