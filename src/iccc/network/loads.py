"""How much of its daily capacity each offering has used today.

The requests routed to offerings live in a higher app (`assistance`), so `network` cannot
count them itself: that app registers its counter at start-up (`AppConfig.ready`), as
higher apps subscribe to events, and the network page asks through here. No counter
registered (the network app alone): the page shows the capacity without the load.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

LoadCounter = Callable[[Sequence[int], datetime], Mapping[int, int]]
_counters: list[LoadCounter] = []


def register(counter: LoadCounter) -> None:
    """`counter(offering_ids, now)` -> {offering id: requests taken today}; registering twice is harmless."""
    if counter not in _counters:
        _counters.append(counter)


def loads_today(offering_ids: Sequence[int], now: datetime) -> dict[int, int] | None:
    """Requests offered to or taken by each offering on today's local day; None when nothing counts them."""
    if not _counters:
        return None
    total: dict[int, int] = dict.fromkeys(offering_ids, 0)
    if not offering_ids:
        return total
    for counter in _counters:
        for pk, n in counter(offering_ids, now).items():
            total[pk] = total.get(pk, 0) + n
    return total
