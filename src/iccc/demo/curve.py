"""Gurugram's real daily case curve, and turning a stretch of simulated time into a case count."""

from __future__ import annotations

import csv
import itertools
import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

DAILY_CSV = Path(__file__).resolve().parent.parent / "data" / "epi" / "gurugram_daily.csv"
DAY = timedelta(days=1)


@dataclass(frozen=True)
class DailyCurve:
    """New confirmed cases per day: first differences of a cumulative `confirmed` column."""

    new_cases: dict[date, int]

    @classmethod
    def from_csv(cls, path: Path = DAILY_CSV) -> DailyCurve:
        with path.open(newline="", encoding="utf-8") as fh:
            rows = [(date.fromisoformat(r["date"]), int(r["confirmed"])) for r in csv.DictReader(fh)]
        rows.sort()
        # The first row has no previous day (its value includes every earlier case): no increment.
        # A correction downwards would be a negative day; it counts as none rather than "un-cases".
        return cls({d: max(0, c - prev) for (_, prev), (d, c) in itertools.pairwise(rows)})

    @property
    def first_day(self) -> date:
        return min(self.new_cases)

    @property
    def last_day(self) -> date:
        return max(self.new_cases)

    def on(self, day: date) -> int:
        return self.new_cases.get(day, 0)

    def total(self, start: date, end: date) -> int:
        """Real cases on days start … end-1."""
        return sum(self.on(start + timedelta(days=i)) for i in range((end - start).days))


def day_start(day: date, tz: object) -> datetime:
    return datetime.combine(day, time.min, tzinfo=tz)  # type: ignore[arg-type]


def cases_due(
    curve: DailyCurve, scale: float, start: datetime, end: datetime, carry: float
) -> tuple[list[tuple[date, int]], float]:
    """Whole cases owed for [start, end) at `scale` x the real curve, per simulated day.

    A day's cases are spread evenly over the day. The fraction not yet owed is carried to
    the next call, so many short steps add up to the same total as one long one.
    """
    out: list[tuple[date, int]] = []
    t = start
    while t < end:
        next_midnight = day_start(t.date(), t.tzinfo) + DAY
        stop = min(end, next_midnight)
        carry += scale * curve.on(t.date()) * (stop - t) / DAY
        n = math.floor(carry + 1e-9)
        carry -= n
        if n:
            out.append((t.date(), n))
        t = stop
    return out, carry
