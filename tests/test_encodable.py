"""`encodable`: a lone surrogate anywhere a reader puts text becomes U+FFFD; a draft
without one comes back as it is (the common case, checked before rebuilding)."""

from __future__ import annotations

import dataclasses

import pytest

from worker.model import Draft, RawAuthor, Source
from worker.readers.common import encodable

CLEAN = Draft(
    title="T",
    body="B",
    source=Source(kind="file", name="S"),
    authors=(RawAuthor("A", "bio", ("@a",)),),
    tags=("x",),
    extra={"label": "entry 1"},
)
LONE = "x\ud800y"


@pytest.mark.parametrize(
    "changes",
    [
        {"title": LONE},
        {"body": LONE},
        {"summary": LONE},
        {"byline": LONE},
        {"tags": ("ok", LONE)},
        {"extra": {"label": LONE}},
        {"authors": (RawAuthor(LONE),)},
        {"authors": (RawAuthor("A", LONE),)},
        {"authors": (RawAuthor("A", None, (LONE,)),)},
    ],
    ids=lambda c: next(iter(c)),
)
def test_each_lone_surrogate_is_replaced(changes: dict[str, object]) -> None:
    fixed = encodable(dataclasses.replace(CLEAN, **changes))
    assert "\ud800" not in repr(fixed) and "\\ud800" not in repr(fixed)
    assert "x\ufffdy" in repr(fixed)


def test_a_clean_draft_is_returned_as_is() -> None:
    assert encodable(CLEAN) is CLEAN
