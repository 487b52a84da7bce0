"""Settings: read once from NEWSWORKER_* environment variables (and a .env file)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from worker.errors import ConfigError, StorageError


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="NEWSWORKER_", env_file=".env", extra="ignore", populate_by_name=True
    )

    redis_url: str | None = Field(
        default=None, validation_alias=AliasChoices("NEWSWORKER_REDIS_URL", "REDIS_URL")
    )
    broker_url: str | None = None  # defaults to the Redis URL
    key_prefix: str = "nw:"
    data_dir: Path = Path("var")
    feeds_file: Path = Path("config/feeds.yaml")
    allow_private_networks: bool = False

    max_file_bytes: int = Field(default=10 * 1024 * 1024, gt=0)
    # Files named on the command line must resolve (symlinks followed) under this
    # folder; unset, any path is allowed.
    input_root: Path | None = None
    stream_maxlen: int = Field(default=100_000, gt=0)
    retention_days: int = Field(default=90, ge=0)
    failed_maxlen: int = Field(default=10_000, gt=0)

    visibility_timeout: int = Field(default=300, gt=10)
    task_time_limit: int = Field(default=120, gt=0)
    # How long a task waits in its worker for a store that refuses writes before it
    # hands its message back to the broker (kept inside the soft time limit).
    refusal_wait: float = Field(default=60.0, gt=0)
    result_expires: int = Field(default=24 * 3600, gt=0)
    queue: str = "newsworker"
    # Poll batches have a queue of their own, served by the poll workers (threads).
    poll_queue: str | None = None  # default: "<queue>-polls"
    task_events: bool = False  # Celery task events, for monitors such as Flower
    concurrency: int | None = None

    # Feed polling (docs/polling.md).
    dispatch_interval: float = Field(default=5.0, gt=0)
    dispatch_batch: int = Field(default=2000, gt=0)
    # Polling throughput (docs/polling.md): feeds per poll message, batches each poll
    # process works on at once, fetch threads per poll process, poll processes.
    poll_batch: int = Field(default=25, gt=0)
    poll_threads: int = Field(default=32, gt=0)
    fetch_concurrency: int = Field(default=64, gt=0)
    poll_processes: int | None = Field(default=None, gt=0)  # default: one per core
    host_concurrency: int = Field(default=2, gt=0)
    host_slot_wait: float = Field(default=10.0, ge=0)  # then the poll is put off a little
    feed_min_interval: float = Field(default=300.0, gt=0)
    feed_max_interval: float = Field(default=24 * 3600.0, gt=0)
    feed_broken_after: int = Field(default=8, gt=0)
    fetch_connect_timeout: float = Field(default=10.0, gt=0)
    fetch_timeout: float = Field(default=30.0, gt=0)
    max_feed_bytes: int = Field(default=15 * 1024 * 1024, gt=0)
    user_agent: str | None = None

    log_level: str = "INFO"
    log_format: Literal["auto", "json", "console"] = "auto"

    @property
    def effective_poll_queue(self) -> str:
        return self.poll_queue or f"{self.queue}-polls"

    def effective_broker_url(self) -> str:
        return self.broker_url or self.require_redis_url()

    def require_redis_url(self) -> str:
        if not self.redis_url:
            raise StorageError("no Redis URL configured (set NEWSWORKER_REDIS_URL)")
        return self.redis_url


_overrides: dict[str, object] = {}


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once (plus any override set before first use).

    A value a setting cannot take is a ConfigError naming the variable, so every
    command fails in one line instead of a traceback.
    """
    try:
        return Settings(**_overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = "; ".join(
            f"NEWSWORKER_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}"
            for e in exc.errors()
        )
        raise ConfigError(f"invalid setting {problems}") from None


def override_settings(**values: object) -> Settings:
    """Replace settings values for this process (the CLI uses it for the embedded Redis)."""
    _overrides.update(values)
    get_settings.cache_clear()
    return get_settings()
