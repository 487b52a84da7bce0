"""Markdown articles, with optional YAML front matter.

Front matter keys: title, subtitle (or dek; else description), summary, author /
authors (a string, a list of strings, or mappings with name, bio, twitter or
handles), date, updated, url, tags / keywords / categories, language / lang,
source / site. The body is rendered with markdown-it-py and reduced to plain text
paragraphs; without a front-matter title, a leading level-1 heading is the title,
else a first paragraph that is one short line. A first body paragraph that is a
byline ("By NAME", "*By NAME*", "**By NAME | DATE**") is the byline, not body.

Front matter is read with YAML's safe loader, except that dates stay strings: they
go through worker/normalise/dates.py like every other date, so `date: 2024-02-30` is an
unreadable date (null), not a failure. YAML that cannot be loaded at all is a
ParseError with the reason.
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from markdown_it import MarkdownIt

from worker.errors import ParseError
from worker.model import Draft
from worker.normalise.bylines import read_byline
from worker.normalise.text import html_to_text
from worker.readers.common import as_list, as_text, file_source, is_http_url, raw_authors

FRONT_MATTER_RE = re.compile(r"\A\ufeff?---[ \t]*\n(.*?\n)?(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.S)
_MAX_IMPLICIT_TITLE = 200
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"


class _Loader(yaml.SafeLoader):
    """The safe loader without implicit timestamps: `2024-13-45` stays a string."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _TIMESTAMP_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def has_front_matter(text: str) -> bool:
    return FRONT_MATTER_RE.match(text) is not None


def read(text: str, *, name: str, path: str | None) -> list[Draft]:
    """One Draft from a Markdown document (already decoded)."""
    meta, body_source = _split_front_matter(text, name)
    title = as_text(meta.get("title"))
    markdown = MarkdownIt("commonmark")
    if title is None:
        title, body_source = _take_heading(markdown, body_source)
    body = html_to_text(markdown.render(body_source))
    if title is None:
        title, body = _take_first_line(body)
    first, _, rest = body.partition("\n\n")
    byline = read_byline(first) if first else None
    if byline is not None:
        body = rest
    subtitle = as_text(meta.get("subtitle") or meta.get("dek"))
    description = as_text(meta.get("description"))
    summary = as_text(meta.get("summary"))
    if subtitle is None:
        subtitle, description = description, None
    source = as_text(meta.get("source") or meta.get("site"))
    url = as_text(meta.get("url") or meta.get("link") or meta.get("canonical_url"))
    if is_http_url(source):
        url, source = url or source, None
    tags = as_list(meta.get("tags")) + as_list(meta.get("keywords"))
    tags += as_list(meta.get("categories"))
    return [
        Draft(
            title=title,
            subtitle=subtitle,
            summary=summary or description,
            body=body,
            source=file_source(path, name=source),
            authors=tuple(
                raw_authors(meta.get("authors"), split=True)
                + raw_authors(meta.get("author"), split=True)
            ),
            byline=byline.text if byline else None,
            published=as_text(meta.get("date") or meta.get("published"))
            or (byline.date if byline else None),
            updated=as_text(meta.get("updated") or meta.get("modified")),
            language=as_text(meta.get("language") or meta.get("lang")),
            tags=tuple(tags),
            url=url,
            path=path,
        )
    ]


def _split_front_matter(text: str, name: str) -> tuple[dict[str, Any], str]:
    match = FRONT_MATTER_RE.match(text)
    if match is None:
        return {}, text
    try:
        meta = yaml.load(match.group(1) or "", Loader=_Loader)  # a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise ParseError(f"{name}: bad YAML front matter: {_yaml_reason(exc)}") from exc
    except RecursionError as exc:
        raise ParseError(f"{name}: bad YAML front matter: nested too deeply") from exc
    # Constructors of explicit tags fail with plain Python errors: `!!timestamp
    # 2024-13-45` (ValueError), `!!int` of a huge float (OverflowError), ...
    except (ValueError, TypeError, OverflowError) as exc:
        raise ParseError(f"{name}: bad YAML front matter: {exc}") from exc
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise ParseError(f"{name}: YAML front matter is not a mapping of keys to values")
    return {str(k).lower(): v for k, v in meta.items()}, text[match.end() :]


def _yaml_reason(exc: yaml.YAMLError) -> str:
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    mark = getattr(exc, "problem_mark", None)
    # +2: marks count from 0, and the front matter starts on the line after "---".
    return f"{problem} (line {mark.line + 2})" if mark is not None else str(problem)


def _take_heading(markdown: MarkdownIt, source: str) -> tuple[str | None, str]:
    """A leading level-1 heading (ATX or setext) as the title, removed from the body."""
    tokens = markdown.parse(source)
    if len(tokens) < 2 or tokens[0].type != "heading_open" or tokens[0].tag != "h1":
        return None, source
    span = tokens[0].map
    title = html_to_text(markdown.renderInline(tokens[1].content)) or None
    if span is None or title is None:
        return None, source
    lines = source.split("\n")
    return title, "\n".join(lines[: span[0]] + lines[span[1] :])


def _take_first_line(body: str) -> tuple[str | None, str]:
    first, _, rest = body.partition("\n\n")
    if first and len(first) <= _MAX_IMPLICIT_TITLE and not first.endswith("."):
        return first, rest
    return None, body
