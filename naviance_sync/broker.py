"""The embedded filesystem broker, taking from a worker's queues in the order its ``-Q`` names
them, as the Redis broker does with ``queue_order_strategy="priority"`` (settings).

kombu's virtual transports go round-robin over a consumer's queues: after a message from one
queue, the next get starts at the queue after it. So with ``-Q imports,imports_large`` a process
that has just run a large import takes one message from ``imports`` (a beat tick, say) and then
goes back to ``imports_large``, while a small district's run waits behind the tick for a second
large import. The fairness rule of ``integrations/queueing.py`` (a small run waits for at most one
large run per worker process) needs every get to start at the first queue, on both brokers.

It also looks for messages every 0.1 s, not kombu's 1 s: a worker that has just taken a message
sleeps one interval before it looks again, so with a 1 s interval it looked in step with a beat
ticking every second (the fleet simulation's clock) and found a tick in ``imports`` every time:
first-queue-first then never reached ``imports_large``. A listing of the broker folder ten times a
second per worker costs nothing measurable.
"""

from __future__ import annotations

from queue import Empty
from typing import Any

from kombu.transport import filesystem
from kombu.utils.scheduling import FairCycle


class FirstQueueFirst(FairCycle):
    """A ``FairCycle`` that starts every get at the first queue: ``imports_large`` (last in the
    ``-Q`` list) is read only when every queue before it is empty."""

    def get(self, callback: Any, **kwargs: Any) -> Any:
        self.pos = 0
        return super().get(callback, **kwargs)


class Channel(filesystem.Channel):
    def _reset_cycle(self) -> None:
        self._cycle = FirstQueueFirst(self._get_and_deliver, self._active_queues, Empty)


class Transport(filesystem.Transport):
    Channel = Channel
    polling_interval = 0.1
