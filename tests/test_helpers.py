"""Tables for the small pure helpers: URLs, dates, bylines, handles, languages, decoding."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest

from worker.errors import BadInput
from worker.model import Source
from worker.normalise.bylines import (
    extract_handles,
    read_byline,
    split_byline,
    without_addresses,
)
from worker.normalise.dates import page_date, to_rfc3339_utc
from worker.normalise.identity import content_hash, identity_key, record_id
from worker.normalise.language import detect_language
from worker.normalise.text import html_to_text, word_count
from worker.normalise.urls import absolute_url, canonical_url
from worker.readers.decode import decode_bytes

ENGLISH = "The council voted on Tuesday evening to build protected cycle lanes along the road."


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTP://Example.COM:80/a?utm_source=x&b=2&a=1#frag", "http://example.com/a?a=1&b=2"),
        ("https://example.com:443/?fbclid=1&gclid=2&mc_cid=3", "https://example.com/"),
        ("https://example.com:8443/p?ref=keep", "https://example.com:8443/p?ref=keep"),
        ("https://user:pw@example.com/x", "https://example.com/x"),
        ("  https://example.com/a b  ", "https://example.com/a%20b"),
        ("ftp://example.com/file", None),
        ("mailto:someone@example.com", None),
        ("/relative/path", None),
        ("http://[::1", None),
        ("", None),
        (None, None),
    ],
)
def test_canonical_url(url: str | None, expected: str | None) -> None:
    assert canonical_url(url) == expected


@pytest.mark.parametrize(
    ("link", "expected"),
    [
        ("posts/1", "https://news.example/feeds/posts/1"),
        ("/posts/1", "https://news.example/posts/1"),
        (" ../posts/1 ", "https://news.example/posts/1"),
        ("//other.example/a", "https://other.example/a"),
        ("https://other.example/a", "https://other.example/a"),
        ("mailto:desk@news.example", "mailto:desk@news.example"),  # not relative: as it is
        ("#comments", None),  # the feed itself is no entry's link
        ("?utm_source=rss", None),
        ("", ""),
        (None, None),
    ],
)
def test_absolute_url(link: str | None, expected: str | None) -> None:
    assert absolute_url(link, "https://news.example/feeds/rss.xml") == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2022-02-23T14:05:00Z", "2022-02-23T14:05:00Z"),
        ("2022-02-23T15:05:00+01:00", "2022-02-23T14:05:00Z"),
        ("Wed, 23 Feb 2022 09:05:00 EST", "2022-02-23T14:05:00Z"),
        ("23 February 2022 14:05", "2022-02-23T14:05:00Z"),  # naive: taken as UTC
        ("2022-02-23", "2022-02-23T00:00:00Z"),
        ("February 23", None),  # no year: never completed from today
        ("2022", None),
        ("yesterday", None),
        ("2022-02-30", None),
        ("", None),
        (None, None),
        # JavaScript's Date.toString(): the offset is east of GMT (dateutil alone
        # reads "GMT+0100" the POSIX way, as west).
        (
            "Tue Mar 05 2024 14:30:00 GMT+0100 (Central European Standard Time)",
            "2024-03-05T13:30:00Z",
        ),
        ("Tue Mar 05 2024 09:30:00 GMT-0500 (Eastern Standard Time)", "2024-03-05T14:30:00Z"),
        ("Tue Mar 05 2024 14:30:00 GMT+0100", "2024-03-05T13:30:00Z"),
        ("1709645400", None),  # a number is a date in a page's metadata only (page_date)
        (datetime(2022, 2, 23, 14, 5), "2022-02-23T14:05:00Z"),
        (datetime(2022, 2, 23, 9, 5, tzinfo=timezone(timedelta(hours=-5))), "2022-02-23T14:05:00Z"),
        (time.struct_time((2022, 2, 23, 14, 5, 0, 2, 54, 0)), "2022-02-23T14:05:00Z"),
    ],
)
def test_to_rfc3339_utc(value: object, expected: str | None) -> None:
    assert to_rfc3339_utc(value) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-03-05T14:30:00+01:00", "2024-03-05T13:30:00Z"),  # what to_rfc3339_utc reads
        (
            "Tue Mar 05 2024 14:30:00 GMT+0100 (Central European Standard Time)",
            "2024-03-05T13:30:00Z",
        ),
        ("2019", "2019-01-01T00:00:00Z"),  # a bare year: January 1st of it
        (" 2019 ", "2019-01-01T00:00:00Z"),
        ("1899", None),  # years 1900 to 2100 only
        ("2101", None),
        ("0000", None),
        ("1709645400", "2024-03-05T13:30:00Z"),  # Unix seconds
        ("1709645400123", "2024-03-05T13:30:00Z"),  # Unix milliseconds
        ("631152000", "1990-01-01T00:00:00Z"),  # the first plausible second
        ("631151999", None),
        ("4102444799", "2099-12-31T23:59:59Z"),  # the last plausible second
        ("4102444800", None),  # too late for seconds, too early for milliseconds
        ("123456789", None),
        ("12345678901234", None),
        ("20240305", "2024-03-05T00:00:00Z"),  # a compact date, not a timestamp
        ("202403051430", "2024-03-05T14:30:00Z"),
        ("{{ post.date }}", None),
        ("", None),
        (None, None),
    ],
)
def test_page_date(value: str | None, expected: str | None) -> None:
    assert page_date(value) == expected


@pytest.mark.parametrize(
    ("byline", "names"),
    [
        ("By Dave DeCamp", ["Dave DeCamp"]),
        ("by Alice Martin and Bob Okafor", ["Alice Martin", "Bob Okafor"]),
        ("Ana Lima, Ben Cho & Carla Diaz", ["Ana Lima", "Ben Cho", "Carla Diaz"]),
        ("Jane Doe, Staff Writer", ["Jane Doe"]),
        ("John Roe, Reuters; Mary Major, Senior Editor", ["John Roe", "Mary Major"]),
        ("Reuters Staff", ["Reuters Staff"]),
        ("Martin Luther King, Jr.", ["Martin Luther King, Jr."]),
        (
            "By Martin Luther King Jr. and Coretta Scott King",
            ["Martin Luther King Jr.", "Coretta Scott King"],
        ),
        ("BY JANE DOE AND JOHN SMITH", ["Jane Doe", "John Smith"]),  # all caps: title-cased
        ("BY JOHN SMITH III, REUTERS", ["John Smith III"]),
        ("By AP", ["AP"]),
        ("By Jane Doe.", ["Jane Doe"]),
        ("By J. Doe", ["J. Doe"]),
        ("BY: Sam Smith and sam smith", ["Sam Smith"]),
        # An organisation with a comma is one author; people with commas stay several.
        ("Reuters, Inc.", ["Reuters, Inc."]),
        ("By Acme Media, LLC", ["Acme Media, LLC"]),
        ("Acme Media, Pty. Ltd.", ["Acme Media, Pty. Ltd."]),
        ("Smith, Jones & Co.", ["Smith, Jones & Co."]),
        ("Jane Doe and Associates", ["Jane Doe and Associates"]),
        ("Jane Doe, John Smith", ["Jane Doe", "John Smith"]),
        ("Jane Doe, Smith & Co.", ["Jane Doe", "Smith & Co."]),
        ("Jane Doe, Reuters, Inc.", ["Jane Doe"]),  # the agency goes with its legal form
        ("Reuters, Inc. and Jane Doe", ["Reuters, Inc.", "Jane Doe"]),
        ("BY ACME MEDIA, LLC AND JANE DOE", ["Acme Media, LLC", "Jane Doe"]),
        ("BY SMITH, JONES & CO.", ["Smith, Jones & Co."]),
        # A domain name is written as it is.
        ("By wien.ORF.at", ["wien.ORF.at"]),
        ("BY THE WIEN.ORF.AT TEAM", ["The WIEN.ORF.AT Team"]),
        # An address is not a name.
        ("Jane Doe <jane@example.com>", ["Jane Doe"]),
        ("jane@example.com (Jane Doe), john@example.com (John Roe)", ["Jane Doe", "John Roe"]),
        ("jane@example.com", []),
        ("", []),
        (None, []),
    ],
)
def test_split_byline(byline: str | None, names: list[str]) -> None:
    assert split_byline(byline) == names


@pytest.mark.parametrize(
    ("line", "names", "date"),
    [
        ("By Dave DeCamp", ["Dave DeCamp"], None),
        ("By Jane Doe | March 5, 2024", ["Jane Doe"], "March 5, 2024"),
        ("By Jane Doe | Posted on March 5, 2024", ["Jane Doe"], "March 5, 2024"),
        ("By Jane Doe | Opinion", ["Jane Doe"], None),
        ("*By Jane Doe*", ["Jane Doe"], None),
        ("**By Jane Doe and John Smith**", ["Jane Doe", "John Smith"], None),
        ("By April Ryan", ["April Ryan"], None),  # a month can be a first name
        ("By Tuesday Evening", None, None),
        ("By Noon Today", None, None),
        ("By March", None, None),
        ("By the time we arrived.", None, None),
        ("By 2030, emissions must halve", None, None),
        ("By wien.ORF.at", ["wien.ORF.at"], None),
        ("By Smith, Jones & Co.", ["Smith, Jones & Co."], None),
        ("By Jane Doe <jane@example.com>", ["Jane Doe"], None),
        ("By example", None, None),
    ],
)
def test_read_byline(line: str, names: list[str] | None, date: str | None) -> None:
    byline = read_byline(line)
    if names is None:
        assert byline is None
    else:
        assert byline is not None and (byline.names, byline.date) == (names, date)


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Jane Doe <jane@example.com>", "Jane Doe"),
        ("Jane Doe (jane@example.com)", "Jane Doe"),
        ("jane@example.com (Jane Doe)", "Jane Doe"),
        ("news@site.example (Jane Doe)", "Jane Doe"),
        ("<jane@example.com> (Jane Doe)", "Jane Doe"),
        ("Jane Doe [mailto:jane@example.com]", "Jane Doe"),
        ("Jane Doe, jane@example.com", "Jane Doe"),
        ("jane@example.com", ""),
        ("Jane Doe (Reuters)", "Jane Doe (Reuters)"),
        ("Jane Doe @jane_doe", "Jane Doe @jane_doe"),  # a handle is not an address
    ],
)
def test_without_addresses(text: str, name: str) -> None:
    assert without_addresses(text) == name


@pytest.mark.parametrize(
    ("bio", "handles"),
    [
        ("follow him on Twitter @decampdave.", ["@decampdave"]),
        ("Mail jane@example.com or @jane_doe, @Jane_Doe", ["@jane_doe"]),
        ("See @site.com for more", []),
        (None, []),
    ],
)
def test_extract_handles(bio: str | None, handles: list[str]) -> None:
    assert extract_handles(bio) == handles


@pytest.mark.parametrize(
    ("text", "declared", "expected"),
    [
        (ENGLISH, None, "en"),
        ("Le conseil municipal a voté mardi soir la construction de pistes cyclables.", None, "fr"),
        ("Too short.", None, None),
        ("anything", "en-US", "en"),
        ("anything", "eng", "en"),
        (ENGLISH, "xx-unknown", "en"),
        ("1234 5678 9012 3456 7890 1234 5678 9012 3456 7890 1234 5678", None, None),
    ],
)
def test_detect_language(text: str, declared: str | None, expected: str | None) -> None:
    assert detect_language(text, declared) == expected


# A sentence, as detection needs: a few words of a code page can read as many.
RUSSIAN = (
    "В четверг городской совет большинством голосов одобрил план строительства новой"
    " библиотеки у вокзала."
)
HEBREW = "ביום חמישי אישרה מועצת העיר ברוב קולות את התוכנית לבנות ספרייה חדשה ליד תחנת הרכבת."


@pytest.mark.parametrize(
    ("data", "declared", "expected"),
    [
        ("Привет, как дела? Это тест русского текста.".encode("cp1251"), None, "Привет, как"),
        ("Grüße aus Köln".encode("cp1252"), None, "Grüße aus Köln"),
        ("Grüße".encode("iso-8859-15"), "ISO-8859-15", "Grüße"),
        ("Grüße".encode(), "latin-1", "Grüße"),  # a wrong Western declaration loses to UTF-8
        (b"a\r\nb\rc", None, "a\nb\nc"),
        ("Title\nBody".encode("utf-16-le"), None, "Title\nBody"),  # UTF-16 without BOM
        (b'<?xml version="1.0" encoding="windows-1252"?><a>\x93q\x94</a>', None, "<a>“q”</a>"),
        ("こんにちは世界、これはテストです。".encode("shift_jis"), None, "こんにちは世界"),
        # Stray bytes in ASCII text: Windows-1252, its undefined bytes as U+FFFD,
        # never a Cyrillic or CJK reading.
        (b"Hello \x81\x8d world", None, "Hello \ufffd\ufffd world"),
        (b"\xc3\x28", None, "\u00c3("),
        (b"Hello \xc3\x28 world", None, "Hello \u00c3( world"),
        # UTF-8 with one broken byte stays UTF-8.
        ("Café — naïve".encode() + b" \xff text", None, "Café — naïve \ufffd text"),
        # A Western declaration on another script's code page is not believed (issue 12).
        (RUSSIAN.encode("koi8-r"), "iso-8859-1", "В четверг городской совет"),
        (HEBREW.encode("cp1255"), "latin-1", "ביום חמישי אישרה"),
        ("Il a été à Paris, où il a déjà vu l'été.".encode("latin-1"), "iso-8859-1", "été à"),
        # UTF-32 and UTF-16 without a BOM, in scripts with and without spaces.
        ("Title\nBody".encode("utf-32-le"), None, "Title\nBody"),
        ("Заголовок\n\nТекст статьи.".encode("utf-32-be"), None, "Заголовок\n\nТекст"),
        ("Заголовок\n\nТекст статьи.".encode("utf-16-be"), None, "Заголовок\n\nТекст"),
        ("市議会が承認\n\n工事は来年の春に始まる。".encode("utf-16-le"), None, "市議会が承認"),
        # A few stray NULs in a large text are dropped; binary is judged by proportion.
        (b"Title\n\n" + b"Body text. " * 200 + b"\x00 end", None, "Body text.  end"),
    ],
)
def test_decode_bytes(data: bytes, declared: str | None, expected: str) -> None:
    assert expected in decode_bytes(data, declared)


def test_decode_bytes_refuses_many_nul_bytes() -> None:
    with pytest.raises(BadInput, match=r"contains NUL bytes \(3 in 2003 bytes\)"):
        decode_bytes(b"x" * 2000 + b"\x00" * 3)


def test_decode_bytes_refuses_bytes_no_encoding_reads() -> None:
    with pytest.raises(BadInput, match="undecodable: 200 of 200 non-ASCII bytes"):
        decode_bytes(b"ab \x81\x8d\x8f\x90\x9d\x81\x8d\x8f\x90\x9d" * 20)


def test_identity_prefers_url_then_entry_then_path() -> None:
    feed = Source(kind="feed", feed_url="https://f.example/rss", entry_id="42")
    plain = Source(kind="file")
    assert identity_key("https://a.example/x", feed, "/p") == "url:https://a.example/x"
    assert identity_key(None, feed, "/p") == "entry:https://f.example/rss 42"
    assert identity_key(None, plain, "/p") == "path:/p"
    assert identity_key(None, plain, None, content_hash="sha256:ab") == "content:sha256:ab"
    assert len(record_id("url:x")) == 16 and record_id("url:x") == record_id("url:x")
    assert content_hash("ab", None, "c") != content_hash("a", "b", "c")


def test_html_to_text_keeps_paragraphs() -> None:
    markup = "<p>One &amp; two</p><ul><li>a</li><li>b</li></ul><p>Three<br>four</p>"
    assert html_to_text(markup) == "One & two\n\na\n\nb\n\nThree\n\nfour"
    assert word_count("Don't stop co-operation in 3.5 days") == 6
