"""Time-ordered random identifiers (UUID version 7, RFC 9562) for rows that are made in bulk.

A version-4 UUID is random all through, so each new row lands at a random place in
its primary-key index and in every index of a foreign key pointing at it: a chunk of
5,000 new cases touches (and writes back) nearly every leaf page of those indexes, a
cost that grows with the table. A version-7 UUID starts with the time in milliseconds,
so new rows go to the end of those indexes, a few pages per chunk, however big the
table. After the time come a 12-bit counter and 62 random bits: an id still cannot be
guessed by counting (SEC-5); it does tell when the row was made, which the row itself
shows anyway.
"""

from __future__ import annotations

import os
import threading
import time
import uuid

__all__ = ["uuid7", "uuid7_hex"]


def uuid7_hex(n: int) -> list[str]:
    """`n` new version-7 UUIDs as 32 hex digits (the form both databases accept), in order.

    Made from one `os.urandom` call: an import asks for two or three ids per row, and a
    `uuid.UUID` object per id costs more than the rest of making them. The 12 bits after
    the version are a counter that carries on across calls within one millisecond (and
    into the next one when it runs over, as RFC 9562 allows), so ids made later in a
    process sort later.
    """
    # 62 random bits per id after the variant bits (binary 10).
    raw = bytearray(os.urandom(8 * n))
    raw[0::8] = bytes((b & 0x3F) | 0x80 for b in raw[0::8])
    tails = raw.hex()
    with _lock:
        ms = time.time_ns() // 1_000_000
        last_ms, last_seq = _last
        # The same millisecond as the last call, or the clock stepped back: keep counting.
        ms, seq = (last_ms, last_seq + 1) if ms <= last_ms else (ms, 0)
        end = seq + n - 1
        _last[:] = [ms + (end >> 12), end & 0xFFF]
    out: list[str] = []
    i = 0
    while i < n:
        head = f"{ms + (seq >> 12):012x}7"  # 48 bits of time, then the version
        take = min(n - i, 4096 - (seq & 0xFFF))
        out.extend(head + _SEQ[(seq + k) & 0xFFF] + tails[16 * (i + k) : 16 * (i + k + 1)] for k in range(take))
        i += take
        seq += take
    return out


_lock = threading.Lock()
_last = [0, -1]  # the millisecond and counter of the last id made in this process


def _new_lock_in_child() -> None:
    # A process forked while another thread held the lock (the import's reader is forked)
    # would otherwise wait for it forever.
    global _lock
    _lock = threading.Lock()


os.register_at_fork(after_in_child=_new_lock_in_child)
_SEQ = [f"{i:03x}" for i in range(4096)]


def uuid7() -> uuid.UUID:
    """One new version-7 UUID: the default of the models' UUID primary keys."""
    return uuid.UUID(uuid7_hex(1)[0])
