"""The file pipeline: bytes -> parse -> normalise -> store, one log event per step.

Shared by `newsworker ingest` (in-process) and the `ingest_file` Celery task.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from worker.errors import BadInput, NewsworkerError, is_time_limit
from worker.log import step
from worker.model import Article, IngestOutcome, InputFile
from worker.normalise.article import normalise
from worker.readers import read_document
from worker.store.articles import ArticleStore


def ingest_input(
    item: InputFile, store: ArticleStore, *, now: datetime, log: Any
) -> list[IngestOutcome]:
    """Parse, normalise and store one input; one outcome per record (a feed file gives many).

    Bad input is an outcome ('failed' with the reason), never an exception. Storage
    errors propagate: they are transient and the caller retries.
    """
    name = item.path or item.display
    try:
        with step(log, "parse", input=item.display, bytes=len(item.data)) as info:
            drafts = read_document(item.data, name=name, path=item.path)
            info["entries"] = len(drafts)
    except BadInput as exc:
        return [IngestOutcome(item.display, "failed", error=str(exc))]
    except Exception as exc:  # a reader bug must cost this input only, never the batch
        if is_time_limit(exc):
            raise
        log.exception("parse_crashed", input=item.display)
        return [IngestOutcome(item.display, "failed", error=f"internal error in parsing: {exc!r}")]

    articles: list[Article] = []
    failed: list[IngestOutcome] = []
    with step(log, "normalise", input=item.display, entries=len(drafts)) as info:
        for draft in drafts:
            try:
                articles.append(normalise(draft, now=now))
            except NewsworkerError as exc:
                failed.append(IngestOutcome(item.display, "failed", error=str(exc)))
            except Exception as exc:  # as above: one bad entry never costs the others
                if is_time_limit(exc):
                    raise
                log.exception("normalise_crashed", input=item.display)
                error = f"internal error in normalising: {exc!r}"
                failed.append(IngestOutcome(item.display, "failed", error=error))
        info.update(records=len(articles), failed=len(failed))
        if not articles:
            info["outcome"] = "failed"

    if not articles:
        return failed
    with step(log, "store", input=item.display, records=len(articles)) as info:
        results = store.upsert_many(articles, now=now)
        for kind in ("created", "updated", "unchanged"):
            info[kind] = sum(1 for r in results if r.outcome == kind)
    return [IngestOutcome(item.display, r.outcome, r.article.id) for r in results] + failed
