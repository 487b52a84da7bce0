"""The feed farm: N RSS feeds of M entries (about 1 KB of HTML each) on loopback.

Every document is generated once, at start, from a seed, so the parse floor
(bench/floor.py) can build byte-identical copies without asking the farm. The farm
runs in a process of its own (`python -m bench.farm`), an asyncio HTTP/1.1 server
with keep-alive, so serving costs the driver's GIL nothing.

Paths: `/feed/{i}.xml` (i < N); `/probe/{k}.xml`, a few 50-entry feeds for the
round-trip count; `/_control/mode/validators|plain`, `/_control/stats`,
`/_control/reset`. In `validators` mode each feed has an ETag and a Last-Modified
and answers a matching conditional request with 304; in `plain` mode it sends
neither and always answers 200 with the same bytes.

Far mode (`--delay-ms D --hosts H`): every feed answer waits D ms (a timer on the
event loop, so answers overlap as a far server's would), and the feeds are spread
over H loopback addresses, 127.0.0.1 to 127.0.0.H, one listening socket each on the
same port: feed i is on 127.0.0.(1 + i % H). `--hung` adds one more address,
127.0.0.(H + 1), that accepts connections, reads what it is sent and never answers.
Only 127.0.0.0/8 is ever bound.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import hashlib
import http.client
import json
import os
import random
import re
import selectors
import subprocess
import sys
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from email.utils import formatdate
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PROBE_FEEDS = 4
PROBE_ENTRIES = 50
LAST_MODIFIED = "Mon, 05 Jan 2026 10:00:00 GMT"
_BASE_EPOCH = 1767607200  # 2026-01-05T10:00:00Z, the newest entry's date

_TEXT = (
    "the council said on tuesday that a new plan for the harbour would be put to residents "
    "after months of talks with local businesses and the port authority while critics argued "
    "that the cost of the project had doubled since it was first proposed in the spring and "
    "that families living near the water had not been asked what they wanted from the scheme "
    "officials insisted the work would create jobs bring visitors and protect the old town "
    "from floods which have become more frequent as storms grow stronger each winter the mayor "
    "told reporters she expected a decision before the summer recess and promised a public "
    "meeting at the library next week where engineers will answer questions about traffic "
    "noise schools parks buses trains bridges markets hospitals teachers nurses farmers"
)
_WORDS = tuple(_TEXT.split())
_NAMES = ("Jane Doe", "John Smith", "Amira Haddad", "Kenji Sato", "Lucia Romero", "Ola Nordmann")
_TAGS = ("Politics", "Business", "Weather", "Transport", "Health", "Education")


def _words(rng: random.Random, count: int) -> str:
    return " ".join(rng.choices(_WORDS, k=count))


def _entry(rng: random.Random, feed: int, index: int) -> str:
    title = _words(rng, 7).capitalize()
    paragraphs = []
    for p in range(3):
        text = _words(rng, 42).capitalize()
        cut = text.find(" ", 40)
        link = f'<a href="https://news.example/{feed}/{index}/ref{p}">{_words(rng, 3)}</a>'
        paragraphs.append(f"<p>{text[:cut]} <em>{link}</em>{text[cut:]}.</p>")
    html = "\n".join(paragraphs)
    published = formatdate(_BASE_EPOCH - index * 3600 - feed * 7, usegmt=True)
    return (
        f"<item><title>{title}</title>"
        f"<link>https://news.example/{feed}/{index}</link>"
        f'<guid isPermaLink="false">bench-{feed}-{index}</guid>'
        f"<pubDate>{published}</pubDate>"
        f"<dc:creator>{rng.choice(_NAMES)}</dc:creator>"
        f"<category>{rng.choice(_TAGS)}</category>"
        f"<description><![CDATA[{html}]]></description></item>\n"
    )


def feed_document(feed: int, entries: int) -> bytes:
    """Feed number `feed` with `entries` items; the same bytes on every call."""
    rng = random.Random(feed * 1_000_003 + entries)
    items = "".join(_entry(rng, feed, j) for j in range(entries))
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>\n'
        f"<title>Bench feed {feed}</title><link>https://news.example/{feed}</link>"
        f"<description>Benchmark feed {feed}</description><language>en</language>\n"
        f"{items}</channel></rss>\n"
    ).encode()


def probe_document(k: int) -> bytes:
    return feed_document(10_000_000 + k, PROBE_ENTRIES)


def documents(feeds: int, entries: int) -> list[bytes]:
    return [feed_document(i, entries) for i in range(feeds)]


def digest(docs: list[bytes]) -> str:
    h = hashlib.sha256()
    for doc in docs:
        h.update(hashlib.sha256(doc).digest())
    return h.hexdigest()[:16]


def entry_html_bytes(doc: bytes) -> float:
    """Mean size of the entries' HTML (the CDATA of each description)."""
    parts = re.findall(rb"<!\[CDATA\[(.*?)\]\]>", doc, re.S)
    return sum(len(p) for p in parts) / max(1, len(parts))


# --- the server (runs in its own process) ------------------------------------------------


@dataclass
class _Farm:
    docs: list[bytes]
    probes: list[bytes]
    delay: float = 0.0  # seconds before each feed answer (control answers are not delayed)
    mode: str = "validators"
    stats: Counter[str] = field(default_factory=Counter)
    etags: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.etags = [f'"{hashlib.sha256(d).hexdigest()[:16]}"' for d in self.docs + self.probes]

    def answer(self, path: str, headers: dict[str, str]) -> tuple[int, list[str], bytes]:
        if path.startswith("/_control/"):
            return self._control(path[len("/_control/") :])
        match = re.fullmatch(r"/(feed|probe)/(\d+)\.xml", path)
        if not match:
            return 404, [], b"not found\n"
        index = int(match.group(2))
        table = self.docs if match.group(1) == "feed" else self.probes
        if index >= len(table):
            return 404, [], b"not found\n"
        body = table[index]
        etag = self.etags[index + (0 if table is self.docs else len(self.docs))]
        kind = match.group(1)
        self.stats[f"{kind}_requests"] += 1
        conditional = "if-none-match" in headers or "if-modified-since" in headers
        if conditional:
            self.stats[f"{kind}_conditional"] += 1
        extra = ["Content-Type: application/rss+xml; charset=utf-8"]
        if self.mode == "validators":
            extra += [f"ETag: {etag}", f"Last-Modified: {LAST_MODIFIED}"]
            inm = headers.get("if-none-match")
            if (inm is not None and etag in inm) or (
                inm is None and headers.get("if-modified-since") == LAST_MODIFIED
            ):
                self.stats[f"{kind}_304"] += 1
                return 304, extra, b""
        self.stats[f"{kind}_200"] += 1
        self.stats[f"{kind}_bytes"] += len(body)
        return 200, extra, body

    def _control(self, what: str) -> tuple[int, list[str], bytes]:
        if what.startswith("mode/") and what[5:] in ("validators", "plain"):
            self.mode = what[5:]
        elif what == "reset":
            self.stats.clear()
        elif what != "stats":
            return 404, [], b"unknown control\n"
        document = {"mode": self.mode, **self.stats}
        return 200, ["Content-Type: application/json"], json.dumps(document).encode()


class _Connection(asyncio.Protocol):
    def __init__(self, farm: _Farm) -> None:
        self.farm = farm
        self.buffer = b""
        self.transport: asyncio.Transport | None = None
        # Delayed answers, in request order: (when, bytes, close after). One timer at a
        # time per connection keeps pipelined answers in order.
        self.queue: deque[tuple[float, bytes, bool]] = deque()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def _send(self, payload: bytes, close: bool, delay: float) -> None:
        if not delay and not self.queue:
            self._write(payload, close)
            return
        loop = asyncio.get_running_loop()
        self.queue.append((loop.time() + delay, payload, close))
        if len(self.queue) == 1:
            loop.call_at(self.queue[0][0], self._flush)

    def _flush(self) -> None:
        loop = asyncio.get_running_loop()
        while self.queue and self.queue[0][0] <= loop.time():
            _, payload, close = self.queue.popleft()
            self._write(payload, close)
        if self.queue:
            loop.call_at(self.queue[0][0], self._flush)

    def _write(self, payload: bytes, close: bool) -> None:
        assert self.transport is not None
        if self.transport.is_closing():
            self.queue.clear()
            return
        self.transport.write(payload)
        if close:
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        assert self.transport is not None
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            head, self.buffer = self.buffer[:end].decode("latin-1"), self.buffer[end + 4 :]
            lines = head.split("\r\n")
            parts = lines[0].split()
            if len(parts) != 3:
                self.transport.close()
                return
            method, target, version = parts
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            status, extra, body = self.farm.answer(target.split("?")[0], headers)
            keep = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
            reason = http.client.responses.get(status, "")
            lines_out = [
                f"HTTP/1.1 {status} {reason}",
                f"Date: {formatdate(usegmt=True)}",
                "Server: newsworker-bench-farm",
                f"Content-Length: {len(body)}",
                *extra,
                "Connection: keep-alive" if keep else "Connection: close",
            ]
            payload = ("\r\n".join(lines_out) + "\r\n\r\n").encode("latin-1")
            delay = 0.0 if target.startswith("/_control/") else self.farm.delay
            self._send(payload + (body if method != "HEAD" else b""), not keep, delay)
            if not keep:
                return


class _Hung(asyncio.Protocol):
    """Accepts, reads and never answers; the connection stays open until the client goes."""

    def __init__(self, farm: _Farm) -> None:
        self.farm = farm

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.farm.stats["hung_connections"] += 1

    def data_received(self, data: bytes) -> None:
        self.farm.stats["hung_requests"] += data.count(b"\r\n\r\n")


def host_address(host: int) -> str:
    """Loopback address number `host` (0-based): 127.0.0.1, 127.0.0.2, ..."""
    if not 0 <= host < 254:
        raise ValueError(f"loopback host {host} out of range")
    return f"127.0.0.{host + 1}"


async def _listen(farm: _Farm, hosts: int, hung: bool) -> list[asyncio.Server]:
    """One listener per address, all on one port (picked by the first bind)."""
    loop = asyncio.get_running_loop()
    for _attempt in range(20):
        servers: list[asyncio.Server] = []
        try:
            port = 0
            for h in range(hosts + hung):
                factory = functools.partial(_Hung if h == hosts else _Connection, farm)
                server = await loop.create_server(factory, host_address(h), port, backlog=1024)
                servers.append(server)
                port = server.sockets[0].getsockname()[1]
            return servers
        except OSError:  # the port was taken on one of the other addresses: another port
            for server in servers:
                server.close()
    raise RuntimeError("no port free on every farm address")


async def _serve(farm: _Farm, hosts: int, hung: bool) -> None:
    loop = asyncio.get_running_loop()
    servers = await _listen(farm, hosts, hung)
    bound = servers[0].sockets[0].getsockname()[1]
    print(json.dumps({"port": bound, "digest": digest(farm.docs)}), flush=True)
    try:
        # Ends when the driver goes away (stdin closes), as well as on SIGTERM.
        await loop.run_in_executor(None, sys.stdin.read)
    finally:
        for server in servers:
            server.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--feeds", type=int, required=True)
    parser.add_argument("--entries", type=int, required=True)
    parser.add_argument("--delay-ms", type=float, default=0.0)
    parser.add_argument("--hosts", type=int, default=1)
    parser.add_argument("--hung", action="store_true")
    args = parser.parse_args(argv)
    if not 1 <= args.hosts + args.hung <= 254:
        parser.error("--hosts (plus the hung one) must fit in 127.0.0.1-127.0.0.254")
    farm = _Farm(
        documents(args.feeds, args.entries),
        [probe_document(k) for k in range(4)],
        delay=args.delay_ms / 1000,
    )
    asyncio.run(_serve(farm, args.hosts, args.hung))


# --- the driver's handle -----------------------------------------------------------------


class FarmProcess:
    """The farm subprocess: start, switch modes, read its counters, stop."""

    def __init__(
        self,
        feeds: int,
        entries: int,
        *,
        delay_ms: float = 0,
        hosts: int = 1,
        hung: bool = False,
        timeout: float = 120,
    ) -> None:
        self.feeds, self.entries = feeds, entries
        self.delay_ms, self.hosts, self.hung = delay_ms, hosts, hung
        command = [sys.executable, "-m", "bench.farm", "--feeds", str(feeds), "--entries",
                   str(entries), "--delay-ms", str(delay_ms), "--hosts", str(hosts)]  # fmt: skip
        self.process = subprocess.Popen(
            [*command, "--hung"] if hung else command,
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            start_new_session=True,
        )
        try:
            hello = json.loads(read_line(self.process, timeout))
        except BaseException:
            self.process.kill()
            self.process.wait(timeout=10)
            raise
        self.port: int = hello["port"]
        self.digest: str = hello["digest"]

    def url(self, index: int) -> str:
        """Feed `index`, on loopback host 1 + index % hosts (its IP literal)."""
        return f"http://{host_address(index % self.hosts)}:{self.port}/feed/{index}.xml"

    def hung_url(self, k: int) -> str:
        """The k-th feed on the host that never answers (`hung=True` only)."""
        if not self.hung:
            raise RuntimeError("this farm has no hung host")
        return f"http://{host_address(self.hosts)}:{self.port}/feed/{self.feeds + k}.xml"

    def cpu_seconds(self) -> float:
        """User + system CPU the farm process has used so far."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def probe_url(self, k: int) -> str:
        return f"http://127.0.0.1:{self.port}/probe/{k}.xml"

    def _control(self, what: str) -> dict[str, int | str]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request("GET", f"/_control/{what}")
            response = conn.getresponse()
            document: dict[str, int | str] = json.loads(response.read())
            return document
        finally:
            conn.close()

    def mode(self, mode: str) -> None:
        self._control(f"mode/{mode}")

    def reset(self) -> None:
        self._control("reset")

    def stats(self) -> dict[str, int | str]:
        return self._control("stats")

    def stop(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(OSError):
                assert self.process.stdin is not None
                self.process.stdin.close()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def read_line(process: subprocess.Popen[bytes], timeout: float) -> str:
    """One line from the process's stdout within `timeout` seconds."""
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            if selector.select(timeout=0.2):
                line = process.stdout.readline().decode()
                if not line:
                    raise RuntimeError(f"{process.args[:3]} exited (status {process.wait()})")
                return line.strip()
            if process.poll() is not None:
                raise RuntimeError(f"{process.args[:3]} exited (status {process.returncode})")
    raise TimeoutError(f"no answer from {process.args[:3]} within {timeout}s")


if __name__ == "__main__":
    main()
