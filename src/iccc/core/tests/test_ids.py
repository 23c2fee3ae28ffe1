"""Time-ordered ids (iccc.core.ids): valid version-7 UUIDs, in order, never repeated."""

from __future__ import annotations

import time
import uuid

from iccc.core.ids import uuid7, uuid7_hex


def test_bulk_ids_are_valid_version_7_uuids_in_the_order_made() -> None:
    ids = uuid7_hex(10_000)  # more than one 4,096-id block
    assert len(set(ids)) == len(ids)
    assert ids == sorted(ids)
    for hex32 in (ids[0], ids[4095], ids[4096], ids[-1]):
        parsed = uuid.UUID(hex32)
        assert parsed.version == 7
        assert parsed.variant == uuid.RFC_4122


def test_ids_start_with_the_time_they_were_made() -> None:
    before = time.time_ns() // 1_000_000
    first = uuid7()
    later = uuid7_hex(1)[0]
    after = time.time_ns() // 1_000_000
    assert before <= int(first.hex[:12], 16) <= after
    assert first.hex < later  # a later call sorts after (new rows append to their indexes)


def test_the_random_part_differs_between_ids_of_one_millisecond() -> None:
    ids = uuid7_hex(2_000)
    tails = {i[16:] for i in ids}  # the 62 random bits (and variant)
    assert len(tails) == len(ids)
