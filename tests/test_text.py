"""Text helpers: the split-and-join clean-up agrees with the rule it implements, and
the one-pass line clean-up agrees with the per-line one."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from worker.normalise.text import (
    _INVISIBLE_AND_CONTROLS,
    collapse_whitespace,
    html_to_text,
    join_paragraphs,
    lines_to_paragraphs,
    word_count,
)

TRICKY = " \t\n\r\x0b\x0c\x1c\x85\xa0\u2028\u200b\ufeff\x00\x07\x9fab\u3000\u200a\x7f"
TEXTS = st.text(alphabet=st.sampled_from(TRICKY)) | st.text()

# The rule as a regex, the way it was first written: invisible characters go, then
# every run of whitespace and control characters (other than newline and tab,
# which are whitespace) becomes one space.
_INVISIBLE = str.maketrans(dict.fromkeys("\u200b\u200c\u200d\u2060\ufeff"))
_WS_RE = re.compile(r"[\s\x00-\x08\x0b-\x1f\x7f-\x9f]+")
_WORD_RE = re.compile(r"\w+(?:['’.\-]\w+)*")
WORDY = st.text(alphabet=st.sampled_from("ab9_ .'’-,\n\x7fé")) | st.text()


@given(TEXTS)
def test_collapse_whitespace_is_the_regex_rule(text: str) -> None:
    assert collapse_whitespace(text) == _WS_RE.sub(" ", text.translate(_INVISIBLE)).strip()


@given(TEXTS)
def test_lines_to_paragraphs_is_collapse_per_line(text: str) -> None:
    expected = join_paragraphs([p for p in map(collapse_whitespace, text.split("\n")) if p])
    assert lines_to_paragraphs(text) == expected


@given(WORDY)
def test_word_count_is_the_unicode_rule(text: str) -> None:
    assert word_count(text) == len(_WORD_RE.findall(text))


def test_invisible_and_control_characters_are_not_printable() -> None:
    """collapse_whitespace skips its translation for printable text: none of the
    characters it translates may be printable."""
    assert not any(chr(c).isprintable() for c in _INVISIBLE_AND_CONTROLS)


HTML_TEXTS = [
    # An iframe's content is for browsers without frames: never text of ours.
    pytest.param("<p>A</p><iframe src='x'>No frames? <a href='y'>Watch</a>.</iframe><p>B</p>",
                 "A\n\nB", id="iframe-fallback"),
    pytest.param("<p>A <IFRAME><p>Map</p></IFRAME>tail</p>", "A tail", id="iframe-tail-kept"),
    # `<!` that opens no markup is text someone wrote.
    pytest.param("Start with <!DOCTYPE html> here.", "Start with <!DOCTYPE html> here.",
                 id="doctype-in-text"),
    pytest.param("<p>He typed <!' and left.</p>", "He typed <!' and left.", id="bang-quote"),
    pytest.param("<!DOCTYPE html><html><body><p>Page</p></body></html>", "Page",
                 id="leading-doctype"),
    pytest.param("<p>a<!-- hidden -->b</p>", "ab", id="comment"),
    pytest.param("<p><![if !supportLists]>1.<![endif]> item</p>", "1. item",
                 id="conditional-comment"),
]  # fmt: skip


@pytest.mark.parametrize(("markup", "text"), HTML_TEXTS)
def test_html_to_text(markup: str, text: str) -> None:
    assert html_to_text(markup) == text
