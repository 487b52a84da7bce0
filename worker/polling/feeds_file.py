"""The operator's feed list (`config/feeds.yaml`) and OPML import/export.

    feeds:
      - url: https://example.com/feed.xml
        name: Example News          # optional
        interval: 900               # optional fixed interval, seconds
        min_interval: 300           # optional bounds for the adaptive rhythm
        max_interval: 86400
        tags: [world, politics]
        full_text: false            # reserved

Pure: text in, entries out. `worker.tasks` syncs the entries into the registry
when a worker or scheduler starts.
"""

from __future__ import annotations

from typing import Any
from xml.etree.ElementTree import Element, SubElement, tostring

import yaml
from lxml import etree
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from worker.errors import BadInput, ParseError
from worker.model import FeedState
from worker.store.feeds import validate_feed_url


class FeedEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str
    name: str | None = None
    interval: float | None = Field(default=None, gt=0)
    min_interval: float | None = Field(default=None, gt=0)
    max_interval: float | None = Field(default=None, gt=0)
    tags: list[str] = Field(default_factory=list)
    full_text: bool = False

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        try:
            return validate_feed_url(value)
        except BadInput as exc:
            raise ValueError(str(exc)) from exc


def parse_feeds_yaml(text: str, *, name: str = "feeds.yaml") -> list[dict[str, Any]]:
    """The entries of a feeds file, each checked; BadInput says which one is wrong.

    Entries carry only the fields the file sets (the sync resets the others to
    their defaults). One bad entry fails the whole file: syncing the rest would
    remove the feed the typo stands for.
    """
    try:
        document = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ParseError(f"{name}: not valid YAML: {exc}") from exc
    raw = document.get("feeds") if isinstance(document, dict) else document
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise BadInput(f"{name}: `feeds` must be a list")
    entries = []
    for position, item in enumerate(raw, start=1):
        if isinstance(item, str):
            item = {"url": item}
        try:
            entry = FeedEntry.model_validate(item)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "entry"
            raise BadInput(f"{name}: feed {position}: {where}: {first['msg']}") from exc
        entries.append(entry.model_dump(exclude_defaults=True) | {"url": entry.url})
    return entries


_SAFE_XML = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


def parse_opml(data: bytes, *, name: str = "feeds.opml") -> list[dict[str, Any]]:
    """Feeds from an OPML subscription list: every outline with an xmlUrl."""
    if b"<!ENTITY" in data:  # no OPML needs them; they are how entity bombs start
        raise ParseError(f"{name}: entity declarations are not allowed in OPML")
    try:
        root = etree.fromstring(data, parser=_SAFE_XML)
    except etree.XMLSyntaxError as exc:
        raise ParseError(f"{name}: not valid OPML: {exc}") from exc
    entries = []
    for outline in root.iter("outline"):
        url = outline.get("xmlUrl")
        if url:
            title = outline.get("title") or outline.get("text")
            entries.append({"url": url.strip(), **({"name": title} if title else {})})
    if not entries:
        raise BadInput(f"{name}: no feeds (no outline has an xmlUrl)")
    return entries


def to_opml(feeds: list[FeedState], *, title: str = "newsworker feeds") -> bytes:
    """An OPML 2.0 document listing `feeds`."""
    root = Element("opml", version="2.0")
    SubElement(SubElement(root, "head"), "title").text = title
    body = SubElement(root, "body")
    for feed in feeds:
        label = feed.name or feed.url
        SubElement(body, "outline", type="rss", text=label, title=label, xmlUrl=feed.url)
    document: bytes = tostring(root, encoding="utf-8", xml_declaration=True)
    return document
