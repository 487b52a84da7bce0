"""Which reader a document needs: by its file name, else by sniffing its text.

By file extension; by the content when the extension is missing or unknown (an
XML feed root, HTML, JSON, `---` front matter, else plain text). A JSON document
saved with a feed extension is JSON: no XML document starts with `{` or `[`.
"""

from __future__ import annotations

import json
import re
from pathlib import PurePath
from typing import Literal

from worker.readers import markdown

Kind = Literal["text", "markdown", "html", "feed", "json", "ndjson"]

_EXTENSIONS: dict[str, Kind] = {
    ".txt": "text",
    ".text": "text",
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
    ".xhtml": "html",
    ".xml": "feed",
    ".rss": "feed",
    ".atom": "feed",
    ".rdf": "feed",
    ".json": "json",
    ".ndjson": "ndjson",
    ".jsonl": "ndjson",
}
_FEED_ROOT_RE = re.compile(r"<(?:[\w-]+:)?(?:rss|feed|RDF)[\s>/]")
_HTML_RE = re.compile(r"<!doctype\s+html|<html[\s>]", re.IGNORECASE)
_XML_PROLOGUE_RE = re.compile(r"\A(?:\s|<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^>]*>)*", re.S)


def kind_of(text: str, *, name: str, path: str | None = None) -> Kind:
    """The reader for a document named `name` (and `path`) whose decoded text is `text`."""
    kind = _kind_from_name(name) or _kind_from_name(path) or sniff(text)
    if kind == "feed" and text.lstrip().startswith(("{", "[")):
        return "json"  # a JSON Feed saved as .xml
    return kind


def sniff(text: str) -> Kind:
    """The reader for a document by its content: feed, html, json, markdown or text."""
    head = text.lstrip("\ufeff \t\n")[:4096]
    if head.startswith("<"):
        prologue = _XML_PROLOGUE_RE.match(head)
        if _FEED_ROOT_RE.match(head[prologue.end() if prologue else 0 :]):
            return "feed"
        if _HTML_RE.search(head):
            return "html"
    if head.startswith(("{", "[")) and _parses_as_json(text):
        return "json"
    if markdown.has_front_matter(text):
        return "markdown"
    return "text"


def _parses_as_json(text: str) -> bool:
    """The whole text, or its first line (NDJSON), is JSON: "[Update] ..." is not."""
    first_line = text.lstrip().split("\n", 1)[0]
    for candidate in (text, first_line):
        try:
            json.loads(candidate)
        except (ValueError, RecursionError):
            continue
        return True
    return False


def _kind_from_name(name: str | None) -> Kind | None:
    if not name:
        return None
    return _EXTENSIONS.get(PurePath(name).suffix.lower())
