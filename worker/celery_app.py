"""The Celery application, configured lazily from settings on first use.

Delivery is at least once (DESIGN.md, Delivery): late acknowledgement, reject on
worker loss, prefetch 1, and a visibility timeout above every task time limit
and retry delay. kombu's Redis transport restores unacknowledged messages only
on a periodic scan; the scan runs every couple of seconds so a message held by
a dead worker comes back within about the visibility timeout.
"""

from __future__ import annotations

from typing import Any

from celery import Celery, Task
from celery.exceptions import Reject
from celery.signals import setup_logging
from kombu.transport import TRANSPORT_ALIASES

from worker.gate import StoreGate
from worker.log import configure_logging
from worker.settings import Settings, get_settings
from worker.store.connection import with_tls_defaults

# redis:// and rediss:// brokers go through kombu's Redis transport with one change:
# a message taken off the queue is never dropped when Redis refuses writes
# (worker/broker.py). The URL, and so everything Celery shows of it, stays as it is.
TRANSPORT_ALIASES.update(redis="worker.broker:Transport", rediss="worker.broker:Transport")


class RequeueingTask(Task):  # type: ignore[misc]
    """A task whose retry never drops its message.

    Celery republishes a message to retry it, and when the broker refuses that
    publish it rejects the message without requeueing it: lost. Here it goes back
    to the broker unacknowledged instead, to run again.
    """

    def retry(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().retry(*args, **kwargs)
        except Reject as exc:
            if exc.requeue:
                raise
            raise Reject(exc.reason, requeue=True) from exc


app = Celery("newsworker", include=["worker.tasks"], task_cls=RequeueingTask)
# While the store refuses writes the consumer fetches no tasks (worker/gate.py).
app.steps["consumer"].add(StoreGate)


def build_config(settings: Settings) -> dict[str, Any]:
    """Celery configuration for these settings (pure: easy to test and to read)."""
    # rediss:// URLs verify the server for the broker and the backend as for the store.
    redis_url = with_tls_defaults(settings.require_redis_url())
    vt = settings.visibility_timeout
    transport = {
        "visibility_timeout": vt,
        "global_keyprefix": settings.key_prefix,
        "unacked_restore_interval": 2,
        "unacked_restore_throttle": 1,
    }
    return {
        "broker_url": with_tls_defaults(settings.effective_broker_url()),
        "result_backend": redis_url,
        "broker_transport_options": transport,
        "result_backend_transport_options": {"global_keyprefix": settings.key_prefix},
        "broker_connection_retry_on_startup": True,
        "broker_connection_max_retries": None,
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "task_acks_on_failure_or_timeout": True,
        "worker_prefetch_multiplier": 1,
        "task_default_queue": settings.queue,
        "task_routes": {
            "newsworker.poll_feeds": {"queue": settings.effective_poll_queue},
            "newsworker.poll_feed": {"queue": settings.effective_poll_queue},
        },
        "task_time_limit": min(settings.task_time_limit, vt - 10),
        "task_soft_time_limit": min(settings.task_time_limit, vt - 10) - 5,
        "result_expires": settings.result_expires,
        "worker_hijack_root_logger": False,
        "worker_redirect_stdouts": False,
        # Task events feed monitors such as Flower; each costs Redis round trips per
        # task, so they are off unless NEWSWORKER_TASK_EVENTS asks for them.
        "worker_send_task_events": settings.task_events,
        "task_send_sent_event": settings.task_events,
        "beat_schedule": {
            "dispatch-due": {
                "task": "newsworker.dispatch_due",
                "schedule": settings.dispatch_interval,
                # A tick not taken within one interval is superseded by the next.
                "options": {"expires": settings.dispatch_interval * 2},
            },
            "purge-expired": {"task": "newsworker.purge_expired", "schedule": 3600.0},
        },
        "beat_schedule_filename": str(settings.data_dir / "celerybeat-schedule"),
        "timezone": "UTC",
        "enable_utc": True,
        "worker_cancel_long_running_tasks_on_connection_loss": False,
    }


@app.on_configure.connect
def _configure(sender: Celery, **_: Any) -> None:
    sender.conf.update(build_config(get_settings()))


@setup_logging.connect
def _setup_logging(**_: Any) -> None:
    # Connecting this signal stops Celery from installing its own handlers:
    # its records go through structlog's renderer like ours.
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)
