"""Canonical article URLs: the first choice of record identity (DESIGN.md).

http(s) only; scheme and host lower-case; default port, fragment, user info and
tracking parameters dropped; remaining query parameters sorted (w3lib), so the
same article reached through two campaign links gets one record. A relative link
has no canonical form until it is resolved against the document's location
(`absolute_url`).
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from w3lib.url import canonicalize_url

_TRACKING_PREFIXES = ("utm_", "mtm_", "pk_", "hsa_")
_TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "gclsrc",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "mc_cid",
        "mc_eid",
        "igshid",
        "_ga",
        "_gl",
        "_hsenc",
        "_hsmi",
        "yclid",
        "ref_src",
        "ref_url",
        "twclid",
        "ttclid",
        "li_fat_id",
        "s_cid",
        "cmpid",
        "mkt_tok",
        "oly_anon_id",
        "oly_enc_id",
        "vero_id",
        "wt.mc_id",
        "__twitter_impression",
    }
)
_DEFAULT_PORTS = {"http": 80, "https": 443}


def canonical_url(url: str | None) -> str | None:
    """The canonical form of an http(s) URL, or None for anything else."""
    if not url:
        return None
    url = url.strip()
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        host = parts.hostname
        port = parts.port
    except ValueError:  # bad IPv6 literal, port out of range...
        return None
    if scheme not in _DEFAULT_PORTS or not host:
        return None
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        netloc = f"{netloc}:{port}"
    query = urlencode(
        [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _tracking(k)]
    )
    rebuilt = urlunsplit((scheme, netloc, parts.path, query, ""))
    try:
        return canonicalize_url(rebuilt)
    except (ValueError, UnicodeError):
        return None


def absolute_url(link: str | None, base: str) -> str | None:
    """`link` resolved against `base`, the URL of the document it was found in, when
    it is a relative reference; any other link as it is.

    A relative link to the document itself ("#top", "?", "") is None: an entry
    whose link is its feed would take the feed's URL as its identity.
    """
    text = (link or "").strip()
    try:
        # Only a reference without a scheme: urljoin would also rewrite "https:x".
        if not text or urlsplit(text).scheme:
            return link
        resolved = urljoin(base, text)
    except ValueError:  # a bad IPv6 literal in either: nothing to resolve
        return link
    return None if canonical_url(resolved) == canonical_url(base) else resolved


def _tracking(key: str) -> bool:
    key = key.lower()
    return key in _TRACKING_PARAMS or key.startswith(_TRACKING_PREFIXES)
