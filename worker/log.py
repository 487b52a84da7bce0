"""structlog configured once: JSON lines off a terminal, readable console output on one.

The standard library's records (Celery's, kombu's) are rendered by the same
processors through `structlog.stdlib.ProcessorFormatter`, so every line on
stderr has one shape.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any

import structlog

from worker.redact import redact_text

_configured = False


def _shared_processors() -> list[Any]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.stdlib.ExtraAdder(),
    ]


def configure_logging(level: str = "INFO", fmt: str = "auto", *, force: bool = False) -> None:
    """Configure structlog and the stdlib root logger (idempotent)."""
    global _configured
    if _configured and not force:
        return
    use_json = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if use_json
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[
            *_shared_processors(),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_shared_processors(),
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            redact_credentials,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Libraries that narrate ordinary misses (no date found, odd markup) at INFO.
    for noisy in ("trafilatura", "htmldate", "courlan", "charset_normalizer", "justext"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    # Celery's line per task received/succeeded and per beat tick repeats what our step
    # events say, every few seconds for months: shown only at DEBUG.
    if root.level > logging.DEBUG:
        for chatty in ("celery.app.trace", "celery.worker.strategy"):
            logging.getLogger(chatty).setLevel(logging.WARNING)
        logging.getLogger("celery.beat").addFilter(_drop_beat_ticks)
    _configured = True


def redact_credentials(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> dict[str, Any]:
    """Mask `scheme://user:password@` in every value of every line, ours and Celery's.

    The last step before rendering, after tracebacks became text: a safety net under
    the callers that already log redacted URLs (and Celery, which masks its own).
    """
    return {key: _redact_value(value) for key, value in event_dict.items()}


def _redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, dict):
        return {key: _redact_value(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_redact_value(item) for item in value]
    if isinstance(value, tuple):
        return tuple(_redact_value(item) for item in value)
    text = str(value)  # exceptions, paths, sets: a renderer turns them into text anyway
    redacted = redact_text(text)
    return value if redacted == text else redacted


def _drop_beat_ticks(record: logging.LogRecord) -> bool:
    """Beat's "Sending due task" line, every few seconds: kept only at DEBUG."""
    return not (record.levelno == logging.INFO and "Sending due task" in str(record.msg))


def get_logger(name: str = "newsworker") -> Any:
    return structlog.get_logger(name)


@contextmanager
def step(log: Any, event: str, **fields: Any) -> Iterator[dict[str, Any]]:
    """Emit one `event` when the block ends, with its outcome and duration in ms.

    The block may add fields (counts, outcome, a `warning`) to the yielded dict. An exception
    marks the step failed, is logged with its message, and propagates.
    """
    info: dict[str, Any] = dict(fields)
    start = time.perf_counter()
    try:
        yield info
    except Exception as exc:
        info.setdefault("outcome", "failed")
        info["error"] = str(exc)
        info["error_type"] = type(exc).__name__
        log.warning(event, duration_ms=_ms(start), **info)
        raise
    info.setdefault("outcome", "ok")
    # A step that succeeded with a caveat (a malformed feed recovered) says so louder;
    # one that found nothing to do (`idle`) says so only at DEBUG.
    if "warning" in info:
        emit = log.warning
    elif info.pop("idle", False):
        emit = log.debug
    else:
        emit = log.info
    emit(event, duration_ms=_ms(start), **info)


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 2)
