"""The embedded broker takes from a worker's queues in ``-Q`` order, as Redis does with
``queue_order_strategy="priority"``: the fairness rule of ``integrations/queueing.py`` on the
broker a fresh machine runs (the fleet test saw a small run wait behind two large imports there,
once in four runs on a loaded machine: kombu's round-robin gave the beat tick the ``imports`` turn
between them)."""

from __future__ import annotations

import time

from django.conf import settings
from kombu import Connection, Consumer, Exchange, Producer, Queue

from naviance_sync.broker import Transport


def _drain(tmp_path, published: list[tuple[str, str]], queues: list[str]) -> list[str]:
    folder = tmp_path / "broker"
    folder.mkdir()
    options = {"data_folder_in": str(folder), "data_folder_out": str(folder)}
    exchange = Exchange("x", type="direct")
    declared = {name: Queue(name, exchange, routing_key=name) for name in queues}
    taken: list[str] = []
    with Connection(
        "filesystem://localhost/", transport=Transport, transport_options=options
    ) as conn:
        producer = Producer(conn.channel(), exchange=exchange)
        for queue, body in published:
            producer.publish(body, routing_key=queue, declare=[declared[queue]])
            time.sleep(0.003)  # the transport orders a queue by millisecond, then at random

        def take(body, message):
            taken.append(body)
            message.ack()

        channel = conn.channel()
        channel.basic_qos(0, 1, False)  # a prefork process with prefetch multiplier 1
        with Consumer(channel, [declared[name] for name in queues], callbacks=[take]):
            while len(taken) < len(published):
                conn.drain_events(timeout=2)
    return taken


def test_a_small_run_goes_before_queued_large_runs_even_behind_a_tick(tmp_path):
    published = [
        ("imports_large", "large 1"),
        ("imports_large", "large 2"),
        ("imports", "tick"),
        ("imports", "small"),
    ]
    taken = _drain(tmp_path, published, ["imports", "imports_large"])
    # Round-robin would give: tick, large 1, small, large 2 -- or, when the process's last get
    # was from "imports", large 1, tick, large 2, small (the small run behind two large ones).
    assert taken == ["tick", "small", "large 1", "large 2"]


def test_embedded_settings_use_this_transport():
    if settings.CELERY_BROKER_URL.startswith("filesystem"):
        assert settings.CELERY_BROKER_TRANSPORT == "naviance_sync.broker:Transport"
    else:
        assert settings.CELERY_BROKER_TRANSPORT_OPTIONS["queue_order_strategy"] == "priority"
