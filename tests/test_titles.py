"""Derived titles (worker/normalise/titles.py) as a table, and the properties every
derived title has; the feeds they come from are in tests/cases/ (feed_untitled_*,
jsonfeed_untitled)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from worker.normalise.text import clean_body
from worker.normalise.titles import MAX_CHARS, derive_title

LONG = (
    "Spent the whole morning at the weir below the old mill counting eels with the"
    " volunteers from the angling club, and we lost count twice"
)

TITLES = [
    # (body, summary, url, title)
    pytest.param("Short post. Then more.", None, None, "Short post.", id="first-sentence"),
    pytest.param("Really? Yes.", None, None, "Really?", id="question"),
    pytest.param("“Done.” She left.", None, None, "“Done.”", id="closing-quote"),
    pytest.param("No full stop at all", None, None, "No full stop at all", id="no-punctuation"),
    pytest.param("First paragraph\n\nSecond. More.", None, None, "First paragraph",
                 id="first-paragraph-only"),
    pytest.param("Version 2.5 is out. Get it.", None, None, "Version 2.5 is out.",
                 id="decimal-point-is-no-end"),
    pytest.param(LONG, None, None,
                 "Spent the whole morning at the weir below the old mill counting eels with the"
                 " volunteers from the…", id="cut-at-a-word"),
    pytest.param("x" * 90 + " words, and more words after the cut", None, None,
                 "x" * 90 + " words…", id="no-dangling-comma"),
    pytest.param("港" * 150, None, None, "港" * 100 + "…", id="no-spaces"),
    pytest.param("静かだ。波の音。", None, None, "静かだ。", id="cjk-full-stop"),
    pytest.param("", "The summary. More.", "https://a.example/1", "The summary.",
                 id="summary-when-no-body"),
    pytest.param("", None, "https://a.example/1", "https://a.example/1", id="link"),
    pytest.param("", None, None, None, id="nothing"),
]  # fmt: skip


@pytest.mark.parametrize(("body", "summary", "url", "title"), TITLES)
def test_derived_title(body: str, summary: str | None, url: str | None, title: str | None) -> None:
    assert derive_title(body, summary, url) == title


@given(st.text())
def test_derived_title_is_short_and_opens_the_text(text: str) -> None:
    body = clean_body(text)
    title = derive_title(body, None, None)
    if not body:
        assert title is None
        return
    assert title
    assert len(title) <= MAX_CHARS + 1
    assert body.startswith(title.removesuffix("…").rstrip())
