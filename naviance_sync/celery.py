import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "naviance_sync.settings")

app = Celery("naviance_sync")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# A hung Redis (SIGSTOP, a full disk, a network partition that drops packets) must fail a
# publish or a poll within seconds instead of blocking "Start Import" or the worker for ever:
# without these, redis-py waits on the socket with no timeout (found by the chaos battery, R5).
# socket_timeout stays well above kombu's 1 s BRPOP poll.
REDIS_SOCKET_OPTIONS = {
    "socket_timeout": 3.0,
    "socket_connect_timeout": 3.0,
    "socket_keepalive": True,
    "health_check_interval": 10,
}


def redis_transport_options(options: dict | None, broker_url: str) -> dict:
    """The broker transport options with the Redis socket limits added (setdefault: explicit
    settings win); other transports are returned unchanged."""
    out = dict(options or {})
    if str(broker_url).startswith(("redis://", "rediss://", "sentinel://")):
        for key, value in REDIS_SOCKET_OPTIONS.items():
            out.setdefault(key, value)
    return out


@app.on_after_configure.connect
def _redis_socket_limits(sender: Celery, **_kwargs) -> None:
    sender.conf.broker_transport_options = redis_transport_options(
        sender.conf.broker_transport_options, sender.conf.broker_url or ""
    )
