"""`layout_text` is html-text's `etree_to_text` (guess_layout=True), output for output,
on tag soup made of its newline, blank-line and inline tags, and on any text."""

from __future__ import annotations

import html_text
from hypothesis import given, settings
from hypothesis import strategies as st

from worker.normalise.htmltext import layout_text

TAGS = [
    *sorted(html_text.NEWLINE_TAGS | html_text.DOUBLE_NEWLINE_TAGS),
    *("span", "em", "a", "b", "td", "table", "html", "body", "head", "img", "unknown"),
]
# Whitespace of every kind, the punctuation html-text guesses spaces around,
# brackets, entities and markup characters.
PIECES = [" ", "  ", "\t", "\n", "\r\n", "\xa0", "\u2003", "\u3000", "\x0b", "\x1c", "\x85",
          "\u200b", ",", ":", ";", ".", "!", "?", '"', ")", "(", "(\n", "word", "Ünï", "&amp;",
          "&nbsp;", "&#10;", "<", ">", "&"]  # fmt: skip
TEXT = st.lists(st.sampled_from(PIECES), max_size=6).map("".join) | st.text(max_size=12)


@st.composite
def soup(draw: st.DrawFn, depth: int = 0) -> str:
    parts = []
    for _ in range(draw(st.integers(0, 4))):
        if depth < 4 and draw(st.booleans()):
            tag = draw(st.sampled_from(TAGS))
            inner = draw(soup(depth + 1))
            close = draw(st.sampled_from([f"</{tag}>", f"</{tag}>", ""]))
            parts.append(f"<{tag}>{inner}{close}")
        else:
            parts.append(draw(TEXT))
    return "".join(parts)


@settings(max_examples=500)
@given(soup())
def test_layout_text_is_html_text(markup: str) -> None:
    tree = html_text.parse_html(markup)
    assert layout_text(tree) == html_text.etree_to_text(tree, guess_layout=True)


@given(st.text())
def test_layout_text_of_any_text(text: str) -> None:
    tree = html_text.parse_html(text)
    assert layout_text(tree) == html_text.etree_to_text(tree, guess_layout=True)
