"""When a changed feed entry becomes a new version: a pure rule, no I/O, no clock.

Some feeds put a timestamp, a view counter or a rotating ad into every entry, so
the content differs on every poll. Storing each of those as a new version would
update the record (and emit an `updated` event) forever. The rule:

- a change that comes with a newer `updated_at` is a revision the publisher
  declared: applied at once;
- any other change waits until the record is old enough for its version:
  `first_gap * 2 ** (version - 1)`, capped at `max_gap`. A real correction made
  soon after publication lands within minutes; an entry that churns on every
  poll gets a handful of versions in its first day, then about one a week.

Files are never throttled: someone ingesting a file by hand means it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from worker.model import Article


@dataclass(frozen=True)
class RevisionPolicy:
    first_gap: timedelta = timedelta(minutes=5)
    max_gap: timedelta = timedelta(days=7)

    def gap(self, version: int) -> timedelta:
        """How long version `version` must stand before an undeclared change replaces it."""
        doublings = min(max(version, 1) - 1, 30)
        gap: timedelta = self.first_gap * (2**doublings)
        return min(gap, self.max_gap)


def declared_revision(old: Article, new: Article) -> bool:
    """The publisher says the entry changed: its `updated_at` moved forward."""
    if new.updated_at is None:
        return False
    return old.updated_at is None or new.updated_at > old.updated_at


def defer_change(old: Article, new: Article, now: datetime, policy: RevisionPolicy) -> bool:
    """True when `new` (whose content differs from `old`) should not be stored yet."""
    if new.source.kind != "feed" or declared_revision(old, new):
        return False
    return now - old.modified_at < policy.gap(old.version)
