"""The plain-text article format (DESIGN.md; seeds/000_debc7dd1b5340078.txt).

Blocks are separated by blank lines:

    [Key: value header lines]      Title:, Subtitle:/Dek:, Author:, Date:, URL:,
                                   Source:, Tags:, Language:, Updated: (any case)
    Title
    [By NAME]
    [Subtitle]
    [By NAME]
    Body paragraphs...
    [By NAME]
    [Author: NAME
     bio paragraphs; an @handle in them goes to handles]

Heuristics, in order:
- Blocks are separated by blank lines. A text with no blank lines at all has one
  paragraph per line, and so does a block whose lines are too long to be
  hard-wrapped prose (a line other than its last over 100 characters): each line
  is then a block of its own.
- Leading header lines are those whose key is on the list above; they may fill
  whole blocks or start the first block.
- The title is the first block (its first line only when the block is longer than
  300 characters, the rest being body). When a later line of that block is a
  byline, the first line is the title, the lines between are the subtitle and the
  byline is the byline ("Title\nBy Jane Doe", "Title\nDek\nBy A, B & C").
- A block is a byline when it is one line "By X" where X reads as names
  (capitalised words, not a time: "By Tuesday Evening" is not), so "By the time
  we arrived." stays body; "*By X*" counts too. "By X | March 5, 2024" is a
  byline with a date, which is `published` unless a `Date:` header says otherwise.
- The block after the title is the subtitle when `Subtitle:`/`Dek:` was not given
  and it is a single line of at most 250 characters that does not end in sentence
  punctuation (. ! ? : ; …), and at least one body block follows it.
- Everything from the first line starting with `Author:` (or `Authors:`, also in
  the middle of a block) is the author section: each `Author:` line names one or
  more authors, the lines and blocks after it are bio. A bio goes to the author
  it names when several authors share one `Author:` line and is dropped when it
  names none of them: it never goes to the wrong person, and never into the body.
"""

from __future__ import annotations

import re

from worker.model import Draft, RawAuthor
from worker.normalise.bylines import Byline, read_byline, split_byline
from worker.normalise.text import SENTENCE_END_RE
from worker.readers.common import file_source, is_http_url

Block = list[str]

_HEADER_KEYS = {
    "title": "title",
    "headline": "title",
    "subtitle": "subtitle",
    "dek": "subtitle",
    "standfirst": "subtitle",
    "author": "author",
    "authors": "author",
    "by": "author",
    "byline": "author",
    "date": "published",
    "published": "published",
    "updated": "updated",
    "modified": "updated",
    "url": "url",
    "link": "url",
    "source": "source",
    "tags": "tags",
    "keywords": "tags",
    "categories": "tags",
    "category": "tags",
    "language": "language",
    "lang": "language",
}
_HEADER_RE = re.compile(r"^\s*([A-Za-z][A-Za-z ]{0,15}?)\s*:\s*(.*?)\s*$")
_AUTHOR_LINE_RE = re.compile(r"^\s*authors?\s*:\s*(.*?)\s*$", re.IGNORECASE)
_MAX_TITLE = 300
_MAX_SUBTITLE = 250
# Hard-wrapped prose keeps its lines shorter than this; a longer line that is not
# the last of its block is a whole paragraph.
_MAX_WRAPPED_LINE = 100


def read(text: str, *, name: str, path: str | None) -> list[Draft]:
    """One Draft from a plain-text article (already decoded, LF line ends)."""
    blocks = _blocks(text)
    headers, blocks = _take_headers(blocks)
    title = _first(headers, "title")
    lead_subtitle: str | None = None
    byline: Byline | None = None
    if title is None and blocks:
        title, lead_subtitle, byline, blocks = _take_title(blocks)
    byline = byline or _take_byline(blocks)
    subtitle = _first(headers, "subtitle")
    if subtitle is not None and lead_subtitle is not None:
        blocks.insert(0, [lead_subtitle])  # the header names the subtitle: this is body
    elif subtitle is None:
        subtitle = lead_subtitle
    if subtitle is None and blocks and _looks_like_subtitle(blocks[0], len(blocks) - 1):
        subtitle = " ".join(blocks.pop(0))
    byline = byline or _take_byline(blocks)
    blocks, authors = _take_author_section(blocks)
    if byline is None and blocks:
        byline = _byline(blocks[-1])
        if byline is not None:
            blocks.pop()
    if byline is not None and byline.date and "published" not in headers:
        headers["published"] = [byline.date]
    return [_draft(headers, title, subtitle, byline, blocks, authors, path)]


def _draft(
    headers: dict[str, list[str]],
    title: str | None,
    subtitle: str | None,
    byline: Byline | None,
    blocks: list[Block],
    authors: list[RawAuthor],
    path: str | None,
) -> Draft:
    header_authors = [RawAuthor(name=n) for v in headers.get("author", []) for n in split_byline(v)]
    source = _first(headers, "source")
    url = _first(headers, "url")
    if is_http_url(source):
        url, source = url or source, None
    tags = [t for v in headers.get("tags", []) for t in re.split(r"[,;]", v)]
    return Draft(
        title=title,
        subtitle=subtitle,
        body="\n\n".join(" ".join(block) for block in blocks),
        source=file_source(path, name=source),
        authors=tuple(header_authors + authors),
        byline=byline.text if byline else None,
        published=_first(headers, "published"),
        updated=_first(headers, "updated"),
        language=_first(headers, "language"),
        tags=tuple(t.strip() for t in tags if t.strip()),
        url=url,
        path=path,
    )


def _blocks(text: str) -> list[Block]:
    blocks: list[Block] = []
    current: Block = []
    for line in text.split("\n"):
        line = line.strip()
        if line:
            current.append(line)
        elif current:
            blocks.append(current)
            current = []
    if current:
        blocks.append(current)
    if len(blocks) == 1:  # no blank line anywhere: one paragraph per line
        return [[line] for line in blocks[0]]
    return [piece for block in blocks for piece in _unwrapped(block)]


def _unwrapped(block: Block) -> list[Block]:
    """A block of whole-paragraph lines as one block per line; wrapped prose as is."""
    if any(len(line) > _MAX_WRAPPED_LINE for line in block[:-1]):
        return [[line] for line in block]
    return [block]


def _header(line: str) -> tuple[str, str] | None:
    match = _HEADER_RE.match(line)
    if match is None:
        return None
    key = _HEADER_KEYS.get(match.group(1).strip().lower())
    return (key, match.group(2)) if key else None


def _take_headers(blocks: list[Block]) -> tuple[dict[str, list[str]], list[Block]]:
    """Header lines at the very top: whole blocks of them, or the start of the first."""
    headers: dict[str, list[str]] = {}
    rest = list(blocks)
    while rest:
        parsed = [_header(line) for line in rest[0]]
        count = next((i for i, h in enumerate(parsed) if h is None), len(parsed))
        for item in parsed[:count]:
            if item is not None and item[1]:
                headers.setdefault(item[0], []).append(item[1])
        if count == 0:
            break
        if count < len(parsed):
            rest[0] = rest[0][count:]
            break
        rest.pop(0)
    return headers, rest


def _take_title(blocks: list[Block]) -> tuple[str, str | None, Byline | None, list[Block]]:
    """The title, and a subtitle and byline when the first block holds them too."""
    first, rest = blocks[0], blocks[1:]
    for index, line in enumerate(first[1:], start=1):
        byline = read_byline(line)
        if byline is not None:
            after = first[index + 1 :]
            subtitle = " ".join(first[1:index]) or None
            return first[0], subtitle, byline, ([after] if after else []) + rest
    joined = " ".join(first)
    if len(joined) <= _MAX_TITLE or len(first) == 1:
        return joined, None, None, rest
    # A long first block is a paragraph with a title line on top.
    return first[0], None, None, [first[1:], *rest]


def _take_byline(blocks: list[Block]) -> Byline | None:
    byline = _byline(blocks[0]) if blocks else None
    if byline is not None:
        blocks.pop(0)
    return byline


def _byline(block: Block) -> Byline | None:
    return read_byline(block[0]) if len(block) == 1 else None


def _looks_like_subtitle(block: Block, blocks_after: int) -> bool:
    if len(block) != 1 or blocks_after < 1:
        return False
    line = block[0]
    if len(line) > _MAX_SUBTITLE or _byline(block) or _AUTHOR_LINE_RE.match(line):
        return False
    return SENTENCE_END_RE.search(line) is None


def _take_author_section(blocks: list[Block]) -> tuple[list[Block], list[RawAuthor]]:
    """Split off `Author: NAME` and the bio after it, from the first such line on."""
    start = next(
        (
            (i, j)
            for i, block in enumerate(blocks)
            for j, line in enumerate(block)
            if _AUTHOR_LINE_RE.match(line)
        ),
        None,
    )
    if start is None:
        return blocks, []
    i, j = start
    body = blocks[:i] + ([blocks[i][:j]] if j else [])
    authors: list[RawAuthor] = []
    names: list[str] = []
    bios: list[str] = []
    for block in [blocks[i][j:], *blocks[i + 1 :]]:
        lines: list[str] = []
        for line in block:
            match = _AUTHOR_LINE_RE.match(line)
            if match is None:
                lines.append(line)
                continue
            bios += [" ".join(lines)] if lines else []
            lines = []
            authors += _with_bios(names, bios)
            names, bios = split_byline(match.group(1)), []
        bios += [" ".join(lines)] if lines else []
    authors += _with_bios(names, bios)
    return body, authors


def _with_bios(names: list[str], bios: list[str]) -> list[RawAuthor]:
    """Give each bio paragraph to its author, only where that is certain."""
    if len(names) == 1:
        return [RawAuthor(name=names[0], bio=" ".join(bios) or None)]
    owned: dict[str, list[str]] = {n: [] for n in names}
    for bio in bios:
        owners = [n for n in names if _names(bio, n)]
        if len(owners) == 1:
            owned[owners[0]].append(bio)
    return [RawAuthor(name=n, bio=" ".join(owned[n]) or None) for n in names]


def _names(bio: str, name: str) -> bool:
    """Whether a bio paragraph opens with the full name or the surname."""
    surname = name.split()[-1]
    return bio.startswith(name) or re.match(rf"{re.escape(surname)}\b", bio) is not None


def _first(headers: dict[str, list[str]], key: str) -> str | None:
    values = headers.get(key)
    return values[0] if values else None
