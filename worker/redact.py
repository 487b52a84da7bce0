"""Credentials out of URLs, before a URL reaches a log line or the command line's output."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MASK = "***"

# Query options that carry a secret (redis-py accepts `?password=` as well as userinfo).
_SECRET_PARAMS = frozenset({"password", "pass", "passwd", "secret", "token"})

# Anything that looks like a URL inside free text: a scheme, "://", then up to a space
# or a quote (log messages quote URLs in reprs and JSON).
_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[^\s'\"<>]+")


def redact_url(url: str) -> str:
    """The URL with its password (and any secret query option) replaced by `***`.

    `redis://user:pass@host:6379/0` becomes `redis://user:***@host:6379/0`; the
    user name, host, port, path and other options stay, so the line still says
    which server was meant. A URL without credentials comes back unchanged.
    """
    try:
        parts = urlsplit(url)
    except ValueError:  # unbalanced IPv6 brackets and the like: mask by shape alone
        return _mask_userinfo(url)
    netloc = parts.netloc
    userinfo, at, hostport = netloc.rpartition("@")
    if not at and "@" in url and not _is_host_port(netloc):
        # A password with an unescaped "/", "?" or "#" cuts the authority short: what
        # looks like host:port is user:password-prefix. Mask by shape instead.
        return _mask_userinfo(url)
    if at and ":" in userinfo:
        user = userinfo.partition(":")[0]
        netloc = f"{user}:{MASK}@{hostport}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(key.lower() in _SECRET_PARAMS for key, _ in pairs):
            masked = [(k, MASK if k.lower() in _SECRET_PARAMS else v) for k, v in pairs]
            query = urlencode(masked, safe="*/")
    if netloc == parts.netloc and query == parts.query:
        return url
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def redact_text(text: str) -> str:
    """`text` with `redact_url` applied to every URL in it (log messages, error strings)."""
    if "://" not in text:
        return text
    return _URL_IN_TEXT.sub(lambda match: redact_url(match.group()), text)


def _is_host_port(netloc: str) -> bool:
    if ":" not in netloc or netloc.endswith("]"):
        return True
    port = netloc.rpartition(":")[2]
    return port == "" or port.isdigit()


def _mask_userinfo(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    userinfo, at, hostport = rest.rpartition("@")
    if not (sep and at and ":" in userinfo):
        return url
    return f"{scheme}://{userinfo.partition(':')[0]}:{MASK}@{hostport}"
