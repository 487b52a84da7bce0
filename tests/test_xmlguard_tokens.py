"""xmlguard's tokenizer: the unrolled CDATA, comment and PI patterns find the same
tokens as the lazy `.*?` they replace, on markup built from their own delimiters."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from worker.readers import xmlguard

LAZY_TOKEN_RE = re.compile(
    r"<!\[CDATA\[.*?(?:\]\]>|\Z)"
    r"|<!--.*?(?:-->|\Z)"
    r"|<\?.*?(?:\?>|\Z)"
    r"|<!ENTITY\b(?P<entity>[^<>]*)>?"
    r"|</(?P<close>[^\s<>/]+)[^<>]*>?"
    r"|<(?P<open>[A-Za-z_:][^\s<>/]*)(?P<attrs>[^<>]*)>?",
    re.S,
)
PIECES = ["<![CDATA[", "]]>", "]", "]]", "]>", "<!--", "-->", "-", "--", "->", "<?", "?>", "?",
          ">", "<", "<a>", "</a>", "<b/>", "<!ENTITY x 'y'>", "text", "\n", " "]  # fmt: skip


def tokens(pattern: re.Pattern[str], text: str) -> list[tuple[tuple[int, int], str | None]]:
    return [(m.span(), m.lastgroup) for m in pattern.finditer(text)]


@settings(max_examples=1000)
@given(st.lists(st.sampled_from(PIECES), max_size=30).map("".join) | st.text())
def test_tokens_are_those_of_the_lazy_patterns(text: str) -> None:
    assert tokens(xmlguard._TOKEN_RE, text) == tokens(LAZY_TOKEN_RE, text)
