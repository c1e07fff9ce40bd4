"""Work queues between production loops: one workflow's `queue.push` puts an item on a
named queue, another workflow's `queue.trigger` starts one run per item.

A queue is at-least-once: an item taken is leased (invisible to other consumers) for
a visibility timeout the consumer keeps extending while its run goes on; it is deleted
only when the run completes (ack). A failed run gives it back (nack) to be taken again,
until its delivery limit, when it is dead-lettered: kept, never lost. A consumer killed
mid-run stops extending its lease, so the item is taken again once the lease runs out.

Backends (`open_queue`): the run store's SQLite file (the default, engine.server.
queues.sqlite_queue) or a Redis server (`redis://HOST:PORT`, redis_queue).
"""

from __future__ import annotations

from engine.server.queues.backend import (
    MAX_ITEM_BYTES,
    MAX_NAME_CHARS,
    Item,
    QueueBackend,
    QueueError,
    encode_value,
)
from engine.server.queues.current import current, install, open_queue

__all__ = ["MAX_ITEM_BYTES", "MAX_NAME_CHARS", "Item", "QueueBackend", "QueueError",
           "current", "encode_value", "install", "open_queue"]
