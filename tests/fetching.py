"""What the fetcher tests share: the feed they serve, a resolver for test hostnames,
and a raw one-connection server. The `make` and `fetcher` fixtures are in conftest.py.

Nothing leaves the machine: hostnames other than 127.0.0.1 go through an injected
resolver, and blocked addresses are refused before any connection is attempted.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from tests.documents import rss_document
from worker.inputs.fetch import Fetcher

FEED = rss_document(title="t")

Make = Callable[..., Fetcher]


def resolver_for(table: dict[str, list[str]]) -> Callable[[str, int], list[str]]:
    def resolve(host: str, port: int) -> list[str]:
        if host == "127.0.0.1":  # the test server itself
            return [host]
        if host not in table:
            raise socket.gaierror(f"unknown test host {host}")
        return table[host]

    return resolve


@contextmanager
def raw_server(respond: Callable[[socket.socket], None]) -> Iterator[str]:
    """A one-connection server for what werkzeug will not send (lying headers, endless chunks)."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        try:
            conn, _ = listener.accept()
            with conn:
                while b"\r\n\r\n" not in conn.recv(65536):
                    pass
                respond(conn)
        except OSError:
            pass  # the client hung up, which is the point of most of these tests

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/feed"
    finally:
        listener.close()
        thread.join(5)
