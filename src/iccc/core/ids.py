"""Time-ordered random identifiers (UUID version 7, RFC 9562) for rows that are made in bulk.

A version-4 UUID is random all through, so each new row lands at a random place in
its primary-key index and in every index of a foreign key pointing at it: a chunk of
5,000 new cases touches (and writes back) nearly every leaf page of those indexes, a
cost that grows with the table. A version-7 UUID starts with the time in milliseconds,
so new rows go to the end of those indexes, a few pages per chunk, however big the
table. The 74 bits after the time are random: an id still cannot be guessed by
counting (SEC-5); it does tell when the row was made, which the row itself shows anyway.
"""

from __future__ import annotations

import os
import time
import uuid

__all__ = ["uuid7", "uuid7_hex"]


def uuid7_hex(n: int) -> list[str]:
    """`n` new version-7 UUIDs as 32 hex digits (the form both databases accept), in order.

    Made from one `os.urandom` call: an import asks for two or three ids per row, and a
    `uuid.UUID` object per id costs more than the rest of making them. Within one call the
    ids share the millisecond; the 12 bits after the version count up (wrapping to the
    next millisecond's value), so a call's ids are ordered too.
    """
    ms = time.time_ns() // 1_000_000
    # 62 random bits per id after the variant bits (binary 10).
    raw = bytearray(os.urandom(8 * n))
    raw[0::8] = bytes((b & 0x3F) | 0x80 for b in raw[0::8])
    tails = raw.hex()
    out: list[str] = []
    for block in range(0, n, 4096):
        head = f"{ms + (block >> 12):012x}7"  # 48 bits of time, then the version
        out.extend(head + _SEQ[i & 0xFFF] + tails[16 * i : 16 * i + 16] for i in range(block, min(n, block + 4096)))
    return out


_SEQ = [f"{i:03x}" for i in range(4096)]


def uuid7() -> uuid.UUID:
    """One new version-7 UUID: the default of the models' UUID primary keys."""
    return uuid.UUID(uuid7_hex(1)[0])
