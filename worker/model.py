"""The article record (DESIGN.md, schema_version 1) and the draft readers produce.

`Draft` is what a reader extracts from one input, still raw; `normalise` turns it
into an `Article`. Both are plain data: no I/O here.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION: Literal[1] = 1

SourceKind = Literal["feed", "file"]
Outcome = Literal["created", "updated", "unchanged", "failed"]

# Fields the store owns; everything else is the content of the record.
STORE_FIELDS = ("version", "ingested_at", "modified_at")


class Author(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    bio: str | None = None
    handles: list[str] = Field(default_factory=list)


class Source(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: SourceKind
    name: str | None = None
    uri: str | None = None
    feed_url: str | None = None
    entry_id: str | None = None


class Article(BaseModel):
    """A normalised news article. Field names follow schema.org's NewsArticle."""

    model_config = ConfigDict(extra="forbid")

    schema_version: Literal[1] = SCHEMA_VERSION
    # Ids become Redis key parts and CLI arguments: a safe, bounded alphabet.
    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
    url: str | None = None
    title: str = Field(min_length=1)
    subtitle: str | None = None
    summary: str | None = None
    body: str
    authors: list[Author] = Field(default_factory=list)
    published_at: str | None = None
    updated_at: str | None = None
    language: str | None = Field(default=None, pattern=r"^[a-z]{2}$")
    tags: list[str] = Field(default_factory=list)
    source: Source
    word_count: int = Field(ge=0)
    content_hash: str = Field(pattern=r"^sha256:[0-9a-f]{64}$")
    version: int = Field(default=1, ge=1)
    ingested_at: str
    modified_at: str

    def to_json(self) -> str:
        """The stored form: compact JSON, keys in schema order, UTF-8 kept as is."""
        return json.dumps(self.model_dump(mode="json"), ensure_ascii=False, separators=(",", ":"))

    def content(self) -> dict[str, Any]:
        """What decides 'unchanged': the record without the store's fields and its source.

        The same article (same identity) carried by a second feed or file is not a
        change: the record keeps the source it was first seen in, instead of
        flipping between sources on every poll.
        """
        return self.model_dump(mode="json", exclude={*STORE_FIELDS, "source"})


@dataclass(frozen=True)
class RawAuthor:
    """An author as a reader found it: a name, maybe a bio."""

    name: str
    bio: str | None = None
    handles: tuple[str, ...] = ()


@dataclass(frozen=True)
class Draft:
    """What a reader extracted from one input (a file, or one feed entry).

    Text fields are raw-ish (may hold entities, odd whitespace, CRLF); `body` is
    plain text with paragraphs separated by blank lines. Dates are strings as found.
    """

    title: str | None
    body: str
    source: Source
    subtitle: str | None = None
    summary: str | None = None
    authors: tuple[RawAuthor, ...] = ()
    byline: str | None = None
    published: str | None = None
    updated: str | None = None
    language: str | None = None
    tags: tuple[str, ...] = ()
    url: str | None = None
    # Identity for inputs without URL or entry id (a file's resolved path).
    path: str | None = None
    # A record id carried by the input itself (re-import of exported records).
    record_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def article_json_schema() -> dict[str, Any]:
    """JSON Schema of the stored record, generated from the model."""
    schema = Article.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://newsworker.invalid/article.schema.json"
    return schema


# What a caller is told about one input: the store's outcomes, a failure, or (for
# `enqueue` without --wait) that it was handed to the workers.
Reported = Literal["created", "updated", "unchanged", "failed", "queued"]


@dataclass(frozen=True)
class InputFile:
    """One input: its bytes and where they came from."""

    display: str  # the path as the user gave it ("-" for standard input)
    data: bytes
    path: str | None = None  # the resolved absolute path, the identity of a URL-less file


@dataclass(frozen=True)
class IngestOutcome:
    path: str
    outcome: Reported
    id: str | None = None
    error: str | None = None
    task_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        document = asdict(self)
        if self.task_id is None:
            del document["task_id"]
        return document
