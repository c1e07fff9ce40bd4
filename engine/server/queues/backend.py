"""What every queue backend does, and the limits they share."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from engine.errors import FlowError
from engine.support import json_out

MAX_ITEM_BYTES = 1_048_576  # an item's value as JSON: queues carry work, not bulk data
MAX_NAME_CHARS = 200
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]*$")


class QueueError(FlowError):
    """A queue cannot be used: a bad name or value, an unreachable server."""


@dataclass(frozen=True)
class Item:
    """One delivery of an item: `token` names this lease; only its holder may ack it."""

    queue: str
    id: str
    value: Any
    deliveries: int  # this one included: 1 on the first take
    token: str


Outcome = Literal["redelivered", "dead", "lost"]  # lost: the lease had already expired


def check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name) or len(name) > MAX_NAME_CHARS:
        raise QueueError(f"queue name {name!r} is not valid: use letters, digits and . _ : / -"
                         f" (starting with a letter or digit), at most {MAX_NAME_CHARS} chars")
    return name


def encode_value(value: Any) -> str:
    """`value` as JSON text, checked against MAX_ITEM_BYTES."""
    try:
        text = json_out.dumps(value)
    except (TypeError, ValueError) as e:
        raise QueueError(f"a queue item must be JSON (text, numbers, lists, objects): {e}"
                         ) from None
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_ITEM_BYTES:
        raise QueueError(f"a queue item is {size:,} bytes as JSON, over the limit of "
                         f"{MAX_ITEM_BYTES:,}: put a file path or URL on the queue instead")
    return text


class QueueBackend(Protocol):
    """Blocking calls, safe from several threads; the server calls them off its loop."""

    url: str  # where it lives, for messages (never a password)

    def put(self, name: str, value: Any) -> str:
        """Append `value` to queue `name`; returns the item's id."""
        ...

    def take(self, name: str, *, visibility_s: float, max_deliveries: int) -> Item | None:
        """Lease the oldest item ready (or whose lease ran out), or None. An item whose
        lease ran out after its `max_deliveries`-th delivery is dead-lettered instead."""
        ...

    def extend(self, item: Item, visibility_s: float) -> bool:
        """Push the lease out to now + visibility_s; False when it was lost."""
        ...

    def ack(self, item: Item) -> bool:
        """Done: delete it. False when the lease was lost (it may run again elsewhere)."""
        ...

    def nack(self, item: Item, *, max_deliveries: int, error: Any = None,
             count: bool = True) -> Outcome:
        """Give it back: ready again, or dead when it reached `max_deliveries`.
        count=False (a graceful stop): this delivery does not count."""
        ...

    def counts(self, name: str) -> dict[str, int]:
        """{"ready": n, "leased": n, "dead": n}."""
        ...

    def dead(self, name: str) -> list[dict[str, Any]]:
        """The dead-lettered items: id, value, deliveries, error."""
        ...

    def close(self) -> None: ...
