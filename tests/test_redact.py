"""Credentials never reach a log line, and rediss:// options reach every client: the pure parts."""

from __future__ import annotations

import json
import logging
import ssl

import pytest
import redis
from celery import Celery
from kombu import Connection

from worker.celery_app import build_config
from worker.log import configure_logging, get_logger
from worker.redact import redact_text, redact_url
from worker.settings import Settings
from worker.store.connection import connect, with_tls_defaults

SECRET = "hunter2-s3cret"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("redis://:pw@host:6379/0", "redis://:***@host:6379/0"),
        ("redis://alice:pw@host:6379/0", "redis://alice:***@host:6379/0"),
        ("rediss://:pw@host/0?ssl_cert_reqs=required&ssl_ca_certs=/ca.pem",
         "rediss://:***@host/0?ssl_cert_reqs=required&ssl_ca_certs=/ca.pem"),
        ("redis://host:6379/0", "redis://host:6379/0"),
        ("redis://alice@host:6379/0", "redis://alice@host:6379/0"),  # no password given
        ("redis://[::1]:6379/0", "redis://[::1]:6379/0"),
        ("redis://:pw@[::1]:6379/0", "redis://:***@[::1]:6379/0"),
        ("redis://:p%40ss%2Fw@Host:1/0", "redis://:***@Host:1/0"),  # host case kept
        ("redis://:p@ss@host:1/0", "redis://:***@host:1/0"),  # unescaped "@"
        ("redis://:ab/cd@host:1/0", "redis://:***@host:1/0"),  # unescaped "/"
        ("redis://host:1/0?password=pw&db=2", "redis://host:1/0?password=***&db=2"),
        ("https://example.com:8443/@user/feed", "https://example.com:8443/@user/feed"),
        ("redis://:pw@[::1:6379/0", "redis://:***@[::1:6379/0"),  # unparseable
        ("not a url", "not a url"),
    ],
)  # fmt: skip
def test_redact_url(url: str, expected: str) -> None:
    assert redact_url(url) == expected
    assert redact_url(expected) == expected  # idempotent


def test_redact_text_masks_every_url_in_a_message() -> None:
    text = (
        f"Cannot connect to redis://:{SECRET}@10.0.0.1:6379/0: refused; "
        f"fallback 'rediss://bob:{SECRET}@cache:6380/1', feed https://example.com/a."
    )
    redacted = redact_text(text)
    assert SECRET not in redacted
    assert "redis://:***@10.0.0.1:6379/0: refused" in redacted
    assert "'rediss://bob:***@cache:6380/1'" in redacted
    assert redacted.endswith("feed https://example.com/a.")


@pytest.mark.usefixtures("restore_logging")
@pytest.mark.parametrize("fmt", ["json", "console"])
def test_no_log_line_carries_a_password(fmt: str, capsys: pytest.CaptureFixture[str]) -> None:
    """The safety net: our events, Celery's records and tracebacks all pass the processor."""
    url = f"redis://alice:{SECRET}@db.internal:6379/0"
    configure_logging("INFO", fmt, force=True)
    log = get_logger("test")
    log.info("store", url=url, urls=[url, ("nested", url)], detail={"broker": url})
    logging.getLogger("celery.worker.consumer").error("Cannot connect to %s: boom", url)
    try:
        raise redis.ConnectionError(f"Error connecting to {url}")
    except redis.ConnectionError:
        log.exception("fetch")
        logging.getLogger("kombu").exception("lost %s", url)
    err = capsys.readouterr().err
    assert SECRET not in err
    assert err.count("alice:***@db.internal:6379/0") >= 6
    if fmt == "json":
        events = [json.loads(line) for line in err.splitlines()]
        store = next(e for e in events if e["event"] == "store")
        assert store["url"] == "redis://alice:***@db.internal:6379/0"
        assert store["detail"] == {"broker": "redis://alice:***@db.internal:6379/0"}


TLS_URL = f"rediss://:{SECRET}@127.0.0.1:6390/0?ssl_cert_reqs=required&ssl_ca_certs=/tmp/ca.pem"


def _celery(url: str) -> Celery:
    app = Celery("newsworker-test-tls-config")
    app.conf.update(build_config(Settings(redis_url=url, key_prefix="nwtest-tls:")))
    return app


def test_rediss_options_reach_redis_py_kombu_and_celery() -> None:
    """No connection is made: what each client would connect with, read from its objects."""
    store = connect(TLS_URL).connection_pool
    assert store.connection_class is redis.SSLConnection
    assert store.connection_kwargs["ssl_cert_reqs"] == "required"
    assert store.connection_kwargs["ssl_ca_certs"] == "/tmp/ca.pem"
    assert store.connection_kwargs["password"] == SECRET

    app = _celery(TLS_URL)
    broker = Connection(app.conf.broker_url)
    assert broker.transport_cls == "rediss"
    assert broker.ssl == {"ssl_cert_reqs": ssl.CERT_REQUIRED, "ssl_ca_certs": "/tmp/ca.pem"}
    assert broker.password == SECRET
    assert SECRET not in broker.as_uri()

    backend = app.backend.connparams
    assert backend["connection_class"] is redis.SSLConnection
    assert backend["ssl_cert_reqs"] == ssl.CERT_REQUIRED
    assert backend["ssl_ca_certs"] == "/tmp/ca.pem"
    assert SECRET not in app.backend.as_uri()


def test_rediss_without_options_verifies_everywhere() -> None:
    """kombu alone would fall back to CERT_NONE and Celery's backend would refuse the URL."""
    url = "rediss://:pw@127.0.0.1:6390/0"
    assert with_tls_defaults(url) == url + "?ssl_cert_reqs=required"
    app = _celery(url)
    assert Connection(app.conf.broker_url).ssl == {"ssl_cert_reqs": ssl.CERT_REQUIRED}
    assert app.backend.connparams["ssl_cert_reqs"] == ssl.CERT_REQUIRED
    # An explicit choice, and plain redis:// URLs, are left alone.
    explicit = "rediss://h:1/0?ssl_cert_reqs=none"
    assert with_tls_defaults(explicit) == explicit
    assert with_tls_defaults("redis://h:1/0") == "redis://h:1/0"
