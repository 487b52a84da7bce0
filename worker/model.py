"""Plain data, no I/O: the record, the draft, the feed state, and every outcome.

`Draft` is what a reader extracts from one input, still raw; `normalise` turns it
into an `Article` (DESIGN.md, schema_version 1). `FeedState` is a feed's
registration and health; `PollOutcome` is what one poll attempt reports.

Instants are aware UTC `datetime`s inside the program (`Instant`), whole seconds
like the RFC 3339 strings ("2026-03-10T12:00:00Z") they become at the edges: JSON
and Redis.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainSerializer

from worker.normalise.dates import format_utc, rfc3339

SCHEMA_VERSION: Literal[1] = 1

SourceKind = Literal["feed", "file"]

# The outcome vocabulary, from the store up to what a command prints.
# What storing one record did ("held back": a feed entry's undeclared change that
# the revision policy keeps for later, reported as "unchanged"):
EntryChange = Literal["created", "updated", "held_back", "unchanged"]
# What the store reports for one record:
RecordOutcome = Literal["created", "updated", "unchanged"]
# What `ingest --json` and `enqueue --wait --json` report for one record:
Outcome = Literal["created", "updated", "unchanged", "failed"]
# ... and `enqueue` without --wait, for an input handed to the workers:
Reported = Literal["created", "updated", "unchanged", "failed", "queued"]
# What one poll attempt reports ("skipped": a duplicate claim of the dispatcher):
PollResult = Literal["ok", "not_modified", "failed", "skipped"]
# A feed's health:
FeedStatus = Literal["ok", "error", "broken", "disabled"]
# Where a feed was registered: the command line, or the feeds file.
Origin = Literal["cli", "file"]


def utc_instant(value: datetime) -> datetime:
    """`value` as an `Instant`: aware, UTC, whole seconds (naive means UTC)."""
    utc = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return utc.replace(microsecond=0)


def _rfc3339(value: datetime) -> str:
    if value.tzinfo is UTC and not value.microsecond:  # as validated: no conversion
        return rfc3339(value)
    text = format_utc(value)
    if text is None:  # outside years 1..9999 once in UTC: never stored
        raise ValueError(f"instant out of range: {value!r}")
    return text


Instant = Annotated[
    datetime,
    AfterValidator(utc_instant),
    PlainSerializer(_rfc3339, return_type=str, when_used="json"),
]
"""An aware UTC datetime in whole seconds; RFC 3339 with a "Z" in JSON."""

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
    # Added within schema_version 1 (docs/formats.md, Titles): optional, so records
    # stored before it still validate; a record without it has the input's title.
    title_derived: bool = Field(
        default=False,
        description=(
            "True when the input had no title (a feed entry; RSS 2.0 and JSON Feed allow"
            " it) and `title` was derived: the first sentence of the body, else of the"
            " summary, cut at a word boundary to about 100 characters and ended with"
            " '…' when cut; else the entry's link. False or absent: the input's own title."
        ),
    )
    subtitle: str | None = None
    summary: str | None = None
    body: str
    authors: list[Author] = Field(default_factory=list)
    published_at: Instant | None = None
    updated_at: Instant | None = None
    language: str | None = Field(default=None, pattern=r"^[a-z]{2}$")
    tags: list[str] = Field(default_factory=list)
    source: Source
    word_count: int = Field(ge=0)
    content_hash: str = Field(pattern=r"^sha256:[0-9a-f]{64}$")
    version: int = Field(default=1, ge=1)
    ingested_at: Instant
    modified_at: Instant

    def to_json(self) -> str:
        """The stored form: compact JSON, keys in schema order, UTF-8 kept as is.

        pydantic-core writes it directly, byte for byte what `json.dumps` of
        `model_dump(mode="json")` with `ensure_ascii=False` and compact separators
        gives (tests/test_record_json.py), in a third of the time.
        """
        return self.model_dump_json()

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
    # A feed entry, whose title is optional (RSS 2.0, JSON Feed): without one,
    # normalise derives it from the text or the link.
    derive_title: bool = False
    # The title was derived before (a re-imported record that says so).
    title_derived: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def article_json_schema() -> dict[str, Any]:
    """JSON Schema of the stored record, generated from the model."""
    schema = Article.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://newsworker.invalid/article.schema.json"
    return schema


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


class FeedState(BaseModel):
    """A feed's registration and health (DESIGN.md, Feed state)."""

    id: str
    url: str
    name: str | None = None
    status: FeedStatus = "ok"
    last_status: int | None = None
    etag: str | None = None
    last_modified: str | None = None
    error_count: int = 0
    last_error: str | None = None
    last_polled_at: Instant | None = None
    last_ok_at: Instant | None = None  # the last successful poll (a 304 included)
    next_poll_at: Instant | None = None
    entries_total: int = 0
    # The URL the feed was added with: its id derives from it, and it scopes the
    # entry ids of its records, so a permanent redirect moves `url` but not them.
    added_url: str | None = None
    origin: Origin = "cli"
    added_at: Instant | None = None
    interval: float | None = Field(default=None, gt=0)  # fixed interval, seconds
    min_interval: float | None = Field(default=None, gt=0)
    max_interval: float | None = Field(default=None, gt=0)
    tags: list[str] = Field(default_factory=list)
    full_text: bool = False
    body_hash: str | None = None
    entry_times: list[Instant] = Field(default_factory=list)  # recent entry dates: the rhythm
    ttl: float | None = None  # the document's RSS <ttl> at its last parse, seconds

    @property
    def scope(self) -> str:
        """What scopes this feed's entry ids and names its source index: its first URL."""
        return self.added_url or self.url

    def public(self) -> dict[str, Any]:
        """What `feeds show --json` prints: the state without the scheduler's scratch."""
        return self.model_dump(mode="json", exclude={"body_hash", "entry_times", "ttl"})


# What a poll writes back: the feed's health and validators, never its settings
# (a feeds.yaml sync or `feeds remove` may run meanwhile).
POLL_FIELDS = (
    "url", "status", "last_status", "etag", "last_modified", "error_count", "last_error",
    "last_polled_at", "next_poll_at", "body_hash", "entry_times", "entries_total", "ttl",
    "last_ok_at",
)  # fmt: skip


@dataclass(frozen=True)
class PollOutcome:
    """What one poll attempt reports (`poll --wait --json`)."""

    feed: str
    url: str
    outcome: PollResult
    http_status: int | None = None
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    error: str | None = None
    held_back: int = 0  # changed entries the revision policy keeps for a later poll

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
