"""What the property tests share: the Hypothesis settings, the outcome of reading a
document (records, each checked as storable, or a clear NewsworkerError), and the
text strategies of titles and dates. The `warm_up` fixture is in conftest.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st

from tests.documents import FEED_URL, NOW
from worker.errors import BadInput, NewsworkerError
from worker.model import Article, Draft
from worker.normalise.article import normalise
from worker.normalise.text import clean_inline, word_count
from worker.readers import read_document, read_feed

# A hang guard, not a benchmark: an example takes milliseconds.
PROPERTY = settings(
    max_examples=150,
    deadline=timedelta(seconds=3),
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def check(article: Article) -> None:
    """What every stored record must be."""
    assert article.title and article.title == article.title.strip()
    assert "\n\n\n" not in article.body
    assert article.word_count == word_count(article.body)
    stored = article.to_json()
    stored.encode("utf-8")
    assert stored == json.dumps(
        article.model_dump(mode="json"), ensure_ascii=False, separators=(",", ":")
    )
    assert Article.model_validate(json.loads(stored)) == article


def records(drafts: list[Draft]) -> list[Article]:
    out = []
    for draft in drafts:
        try:
            article = normalise(draft, now=NOW)
        except BadInput:
            continue
        check(article)
        out.append(article)
    return out


def outcome(read: Callable[[], list[Draft]]) -> list[Article] | NewsworkerError:
    """Records, or the clear error; the kind of outcome shows in Hypothesis' statistics."""
    try:
        articles = records(read())
    except NewsworkerError as exc:
        assert str(exc), "an error must say what was wrong"
        event(type(exc).__name__)
        return exc
    event("records" if articles else "no records")
    return articles


def document_outcome(data: bytes, name: str) -> list[Article] | NewsworkerError:
    return outcome(lambda: read_document(data, name=name, path=f"/srv/prop/{name}"))


def feed_outcome(data: bytes, headers: dict[str, str] | None = None) -> object:
    return outcome(lambda: read_feed(data, url=FEED_URL, headers=headers).drafts)


# --- text ---------------------------------------------------------------------------------

# Titles that survive every feed format unchanged once cleaned: no markup
# characters (feedparser guesses HTML from them) and no control characters.
PLAIN_TEXT = st.text(
    st.characters(
        exclude_categories=("Cc", "Cs", "Co", "Cn", "Zl", "Zp"),
        exclude_characters="<>&\u200b\u200c\u200d\u2060\ufeff",
    ),
    min_size=1,
    max_size=40,
).filter(lambda t: clean_inline(t) is not None)
ENTITIES = st.sampled_from(
    ["&amp;", "&lt;", "&gt;", "&quot;", "&#233;", "&#x1F600;", "&nbsp;", "&eacute;",
     "&undefined;", "&#xD800;", "&#0;", "&#x110000;", "&", "<", "]]>"]
)  # fmt: skip
MESSY_TEXT = st.lists(st.one_of(PLAIN_TEXT, ENTITIES), min_size=1, max_size=6).map("".join)
DATES = st.one_of(
    st.just("Wed, 01 May 2024 12:00:00 GMT"),
    st.just("2024-05-01T12:00:00Z"),
    st.just("30 Feb 2024"),
    st.just("9999-99-99"),
    st.text(max_size=15),
)
