"""Text helpers: the one-pass line clean-up agrees with the per-line one."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from worker.normalise.text import collapse_whitespace, join_paragraphs, lines_to_paragraphs

TRICKY = " \t\n\r\x0b\x0c\x1c\x85\xa0\u2028\u200b\ufeff\x00\x07\x9fab"


@given(st.text(alphabet=st.sampled_from(TRICKY)) | st.text())
def test_lines_to_paragraphs_is_collapse_per_line(text: str) -> None:
    expected = join_paragraphs([p for p in map(collapse_whitespace, text.split("\n")) if p])
    assert lines_to_paragraphs(text) == expected
