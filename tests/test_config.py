"""Settings, Celery configuration and log rendering: the pure parts of the edges."""

from __future__ import annotations

import json
import logging

import pytest

from tests.support import Cli
from worker.celery_app import build_config
from worker.log import configure_logging, get_logger, step
from worker.settings import Settings
from worker.store.connection import redact

pytestmark = pytest.mark.usefixtures("restore_logging")


def test_delivery_is_at_least_once_and_timeouts_nest() -> None:
    config = build_config(Settings(redis_url="redis://127.0.0.1:1/0", visibility_timeout=300))
    assert config["task_acks_late"] is True
    assert config["task_reject_on_worker_lost"] is True
    assert config["worker_prefetch_multiplier"] == 1
    assert config["task_serializer"] == "json"
    assert config["accept_content"] == ["json"]
    transport = config["broker_transport_options"]
    assert transport["visibility_timeout"] == 300
    # Every task ends (hard limit) before its message could be handed to another worker.
    assert config["task_soft_time_limit"] < config["task_time_limit"] < 300
    # The unacked scan runs often enough that redelivery follows the timeout closely.
    assert transport["unacked_restore_interval"] * transport["unacked_restore_throttle"] <= 5
    assert transport["global_keyprefix"] == "nw:"


def test_broker_defaults_to_the_redis_url_and_may_differ() -> None:
    same = build_config(Settings(redis_url="redis://a:1/0"))
    assert same["broker_url"] == "redis://a:1/0"
    apart = build_config(Settings(redis_url="redis://a:1/0", broker_url="redis://b:2/0"))
    assert apart["broker_url"] == "redis://b:2/0"
    assert apart["result_backend"] == "redis://a:1/0"


def test_settings_read_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NEWSWORKER_REDIS_URL", raising=False)
    monkeypatch.setenv("REDIS_URL", "redis://fallback:6379/0")
    monkeypatch.setenv("NEWSWORKER_MAX_FILE_BYTES", "1234")
    settings = Settings()
    assert settings.redis_url == "redis://fallback:6379/0"
    assert settings.max_file_bytes == 1234
    monkeypatch.setenv("NEWSWORKER_REDIS_URL", "redis://preferred:6379/0")
    assert Settings().redis_url == "redis://preferred:6379/0"


def test_passwords_are_redacted() -> None:
    assert redact("redis://user:secret@host:6379/0") == "redis://user:***@host:6379/0"
    assert redact("rediss://:secret@host/0") == "rediss://:***@host/0"
    assert redact("redis://host:6379/0") == "redis://host:6379/0"


def _render(fmt: str, capsys: pytest.CaptureFixture[str]) -> str:
    configure_logging("INFO", fmt, force=True)
    log = get_logger("test")
    with step(log, "parse", input="a.txt") as info:
        info["entries"] = 2
    logging.getLogger("celery.worker").info("celery says hello")
    return capsys.readouterr().err


def test_json_lines_with_step_fields(capsys: pytest.CaptureFixture[str]) -> None:
    lines = [json.loads(line) for line in _render("json", capsys).splitlines()]
    parse = next(line for line in lines if line["event"] == "parse")
    assert parse["input"] == "a.txt"
    assert parse["entries"] == 2
    assert parse["outcome"] == "ok"
    assert parse["duration_ms"] >= 0
    assert parse["level"] == "info"
    assert "timestamp" in parse
    foreign = next(line for line in lines if line["event"] == "celery says hello")
    assert foreign["logger"] == "celery.worker"


def test_console_output_for_people(capsys: pytest.CaptureFixture[str]) -> None:
    text = _render("console", capsys)
    assert "parse" in text
    assert "celery says hello" in text
    with pytest.raises(ValueError):
        json.loads(text.splitlines()[0])


@pytest.mark.parametrize(
    ("variable", "value", "complaint"),
    [
        ("NEWSWORKER_VISIBILITY_TIMEOUT", "5", "Input should be greater than 10"),
        ("NEWSWORKER_LOG_FORMAT", "xml", "Input should be 'auto', 'json' or 'console'"),
    ],
)
@pytest.mark.parametrize("command", [["status"], ["feeds", "list"], ["worker"]])
def test_a_bad_setting_is_one_line_naming_it(
    cli: Cli, command: list[str], variable: str, value: str, complaint: str
) -> None:
    done = Cli(cli.env | {variable: value}, cli.cwd).run(*command, timeout=60)
    assert done.returncode == 1
    assert done.stderr == f"newsworker: invalid setting {variable}: {complaint}\n"
    assert done.stdout == ""
