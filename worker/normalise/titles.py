"""The title a reader shows for a feed entry that has none (RSS 2.0 and JSON Feed
allow it: microblog posts, many podcast and link-blog feeds).

Feed readers show the opening of the text, so the derived title is the first
sentence of the body (else of the summary), cut at a word boundary when it runs
past `MAX_CHARS`, and else the entry's link. Pure: cleaned text in, a string out.
"""

from __future__ import annotations

import re

# "About 100 characters": a cut title is at most this long plus its ellipsis.
MAX_CHARS = 100
ELLIPSIS = "…"

# A sentence ends at . ! ? or … (closing quotes and brackets go with it) followed by
# a space, or at the CJK full stops, which need none. "e.g. this" and "Mr. Smith"
# end a sentence by this rule too; a reader's preview would cut there as well.
_SENTENCE_END_RE = re.compile(r"[.!?…]+[\"'”’»)\]]*(?=\s)|[。！？]+[」』”’）]*")
# What a cut should not leave dangling at the end of a title.
_TRAILING = " ,;:-–—([{\"'“‘«"


def derive_title(body: str, summary: str | None, url: str | None) -> str | None:
    """The first sentence of `body` (else `summary`), at most about 100 characters;
    else `url`; None when there is none of them. The texts are already clean
    (paragraphs separated by blank lines, whitespace collapsed)."""
    text = body or summary or ""
    first = text.split("\n\n", 1)[0].strip()
    if first:
        return _shorten(_first_sentence(first))
    return url or None


def _first_sentence(paragraph: str) -> str:
    match = _SENTENCE_END_RE.search(paragraph)
    return paragraph[: match.end()] if match else paragraph


def _shorten(sentence: str) -> str:
    if len(sentence) <= MAX_CHARS:
        return sentence
    head = sentence[: MAX_CHARS + 1]
    cut = head.rfind(" ")
    # No space to cut at (one long word, or a script written without spaces):
    # cut between characters.
    shortened = head[:cut] if cut > MAX_CHARS // 2 else head[:MAX_CHARS]
    return shortened.rstrip(_TRAILING) + ELLIPSIS
