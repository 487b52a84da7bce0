"""What becomes of one article given to the store: a pure decision, no Redis, no clock.

From the record the key holds now (if any), the new one and `now`:

- nothing stored: created, version 1, `ingested_at` = `modified_at` = now;
- a stored value that is not a valid record (written by hand, or by a newer
  schema): replaced as an update rather than failing every write for this id;
- the same content: unchanged, and the stored record stays as it is;
- changed content that the revision policy holds back (an undeclared change
  to a feed entry too soon after its last version, see polling/revisions.py):
  held back, reported as unchanged;
- otherwise: updated, version + 1, first `ingested_at` kept, `modified_at` = now.

The store only carries the decision out, atomically (worker/store/articles.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from worker.model import Article, EntryChange, RecordOutcome, utc_instant
from worker.polling.revisions import RevisionPolicy, defer_change


@dataclass(frozen=True)
class EntryDecision:
    change: EntryChange
    article: Article  # what the key holds once the decision is applied

    @property
    def outcome(self) -> RecordOutcome:
        """What callers are told: a held-back change is 'unchanged'."""
        return "unchanged" if self.change == "held_back" else self.change

    @property
    def writes(self) -> bool:
        return self.change in ("created", "updated")


def decide_entry(
    new: Article,
    old: Article | None,
    *,
    now: datetime,
    key_taken: bool = False,
    revisions: RevisionPolicy | None = None,
) -> EntryDecision:
    """`old`: the stored record; `key_taken`: the key holds a value (valid or not).

    With `revisions` (the poll path), undeclared changes are held back by that policy.
    """
    stamp = utc_instant(now)
    if old is None:
        fresh = new.model_copy(update={"version": 1, "ingested_at": stamp, "modified_at": stamp})
        return EntryDecision("updated" if key_taken else "created", fresh)
    if old.content() == new.content():
        return EntryDecision("unchanged", old)
    if revisions is not None and defer_change(old, new, now, revisions):
        return EntryDecision("held_back", old)
    changed = new.model_copy(
        update={"version": old.version + 1, "ingested_at": old.ingested_at, "modified_at": stamp}
    )
    return EntryDecision("updated", changed)
