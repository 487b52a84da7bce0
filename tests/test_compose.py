"""docker-compose.yml: no engine runs here; check the file (and `config -q` with a CLI)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).parent.parent
COMPOSE = ROOT / "docker-compose.yml"


def load() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def test_services_and_volume() -> None:
    doc = load()
    assert set(doc["services"]) >= {"redis", "worker", "poller", "scheduler"}
    assert "redis-data" in doc["volumes"]
    assert "redis-data:/data" in doc["services"]["redis"]["volumes"]
    for name in ("worker", "poller", "scheduler"):
        service = doc["services"][name]
        assert service["build"] == "."
        assert service["environment"]["NEWSWORKER_REDIS_URL"].startswith("redis://redis:")
    assert (ROOT / "Dockerfile").exists()


def test_files_on_a_cpu_pool_polls_on_the_poll_workers() -> None:
    services = load()["services"]
    assert services["worker"]["command"][:3] == ["worker", "--role", "files"]
    assert services["poller"]["command"] == ["worker", "--role", "polls"]


def test_redis_persists_with_append_only_file() -> None:
    command = " ".join(load()["services"]["redis"]["command"])
    assert "--appendonly yes" in command
    assert "--appendfsync everysec" in command


def test_redis_not_published_on_public_interfaces() -> None:
    for port in load()["services"]["redis"].get("ports", []):
        assert str(port).startswith(("127.0.0.1:", "[::1]:")), port


def _compose_command() -> list[str] | None:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True)
        if probe.returncode == 0:
            return ["docker", "compose"]
    return None


def test_compose_config_validates() -> None:
    command = _compose_command()
    if command is None:
        pytest.skip("no docker-compose or docker compose command on this machine")
    done = subprocess.run(
        [*command, "-f", str(COMPOSE), "config", "-q"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
