"""Replays a scaled version of the district's real case curve as incoming lab results.

Every batch goes through the registry's ordinary import (`import_records`), so dedup,
placement on the map and `case_registered` events happen exactly as for a real lab file.
The simulated clock lives in the database (`SimulationClock`): a restarted demo carries on
where it stopped, and row numbers (hence SRF IDs) are never reused.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from iccc.core.time import local_tz
from iccc.demo import assistance as demo_assistance
from iccc.demo.curve import DAY, DailyCurve, cases_due, day_start
from iccc.demo.models import SimulationClock
from iccc.geo.models import District

DEFAULT_SCALE = 0.05
DEFAULT_SPEED = 1.0  # simulated days per real minute
DEFAULT_SEED = 2021
# Where a simulator with no clock and no --start begins: the run-up to the Delta wave.
DEFAULT_START = date(2021, 4, 1)
DEFAULT_INTERVAL = 5.0  # real seconds between batches
# The simulator's unit of simulated time (see `Simulator.advance`).
QUANTUM = timedelta(minutes=15)
SOURCE = "simulator"


@dataclass
class BatchReport:
    """One simulator step: the simulated span, rows sent and what the import made of them."""

    sim_from: datetime
    sim_to: datetime
    per_day: list[tuple[date, int]] = field(default_factory=list)
    summary: Any = None
    seconds: float = 0.0

    @property
    def rows(self) -> int:
        return sum(n for _, n in self.per_day)

    def line(self) -> str:
        parts = [f"sim {self.sim_to:%Y-%m-%d %H:%M}", f"+{self.rows} results"]
        if self.summary is not None:
            parts.append(_describe(self.summary))
        parts.append(f"{self.seconds * 1000:.0f} ms")
        return " | ".join(parts)


def _describe(summary: Any) -> str:
    """A short account of an ImportSummary."""
    labels = (
        ("new_cases", "new"),
        ("updated", "known person"),
        ("duplicates", "dup"),
        ("possible_duplicates", "to review"),
        ("unplaced", "unplaced"),
        ("rows_in_error", "errors"),
    )
    return ", ".join(f"{label} {getattr(summary, name, 0)}" for name, label in labels)


def housekeeping(say: Callable[[str], None] = print) -> None:
    """Outreach housekeeping after each batch (lapsed leases, follow-ups, breaches), if installed."""
    from django.apps import apps

    if not apps.is_installed("iccc.outreach"):
        return
    from iccc.outreach.services import outreach_tick

    try:
        r = outreach_tick()
    except Exception as exc:  # a failing tick must not stop the arrivals
        say(f"outreach housekeeping failed: {exc!r}")
        return
    if r.follow_ups_created or r.breaches_marked or r.leases_released or r.released:
        say(
            f"outreach: {r.leases_released} leases back, {r.follow_ups_created} follow-ups, "
            f"{r.released} released, {r.breaches_marked} past SLA"
        )


def follow_insight(district: District, today: date, say: Callable[[str], None] = print) -> None:
    """Keep the analyst page's figures on the replayed calendar (a run is queued for the task worker)."""
    from django.apps import apps

    if not apps.is_installed("iccc.insight"):
        return
    from iccc.insight.services import follow_replay

    try:
        follow_replay(district, today)  # quiet: the task worker logs the run
    except Exception as exc:  # the analyses must never stop the arrivals
        say(f"insight refresh failed: {exc!r}")


class Simulator:
    """Turns simulated time into lab results for one district, `scale` x the real curve."""

    def __init__(
        self,
        district: District,
        *,
        curve: DailyCurve | None = None,
        scale: float = DEFAULT_SCALE,
        speed: float = DEFAULT_SPEED,
        start: date | None = None,
        seed: int = DEFAULT_SEED,
        resume: bool = True,
        actor: Any = None,
    ) -> None:
        if scale <= 0 or speed <= 0:
            raise ValueError("scale and speed must be positive")
        self.district = district
        self.curve = curve or DailyCurve.from_csv()
        self.scale = scale
        self.speed = speed
        self.seed = seed
        self.actor = actor
        self.tz = local_tz()
        first = start or DEFAULT_START
        clock = SimulationClock.objects.filter(district=district).first()
        if clock is None:
            clock = SimulationClock.objects.create(district=district, sim_time=day_start(first, self.tz))
        elif start is not None and not resume:
            # Rewind the calendar but never the row numbers: SRF IDs must stay unique.
            clock.sim_time, clock.carry = day_start(start, self.tz), 0.0
            clock.save(update_fields=["sim_time", "carry", "updated_at"])
        self.clock = clock
        self._pending = timedelta(0)

    @property
    def sim_time(self) -> datetime:
        return self.clock.sim_time.astimezone(self.tz)

    @property
    def finished(self) -> bool:
        return self.sim_time.date() > self.curve.last_day

    def sim_span(self, real_seconds: float) -> timedelta:
        return timedelta(days=self.speed * real_seconds / 60.0)

    def advance(self, span: timedelta, *, received_at: datetime | None = None) -> BatchReport:
        """Send the results due in the next `span` of simulated time; return what happened.

        Time is consumed in whole quanta; each quantum's rows depend only on the seed and
        its position on the calendar, so the same seed sends the same people whatever the
        real timing of the batches was. A part-quantum left over waits for the next call.
        """
        from iccc.registry.services import import_records
        from iccc.registry.synthetic import generate_rows

        began = time.perf_counter()
        arrival = received_at or timezone.now()
        # The curve sets how many results arrive; they are dated the day they arrive, so a
        # newcomer sees "result today", not a 2021 date thousands of days ago.
        arrival_day = arrival.astimezone(local_tz()).date()
        self._pending += span
        quanta = int(self._pending / QUANTUM)
        self._pending -= quanta * QUANTUM
        sim_from = t = self.sim_time
        carry = self.clock.carry
        rows: list[dict[str, Any]] = []
        per_day: dict[date, int] = {}
        for _ in range(quanta):
            due, carry = cases_due(self.curve, self.scale, t, t + QUANTUM, carry)
            for day, n in due:
                rows += generate_rows(
                    n, seed=self.seed, result_date=arrival_day, start_index=self.clock.next_index + len(rows)
                )
                per_day[day] = per_day.get(day, 0) + n
            t += QUANTUM
        summary = None
        with transaction.atomic():
            if rows:
                summary = import_records(
                    rows,
                    district=self.district,
                    actor=self.actor,
                    source=SOURCE,
                    received_at=arrival,
                )
            self.clock.sim_time = t
            self.clock.carry = carry
            self.clock.next_index += len(rows)
            self.clock.cases_sent += len(rows)
            self.clock.save()
        return BatchReport(sim_from, t, sorted(per_day.items()), summary, time.perf_counter() - began)

    def replay_days(self, days: int, *, now: datetime | None = None) -> list[BatchReport]:
        """Send `days` whole simulated days at once, as if they had arrived over the past `days` days."""
        now = now or timezone.now()
        reports = []
        for i in range(days):
            # Received at the real moment that simulated day ended, counted back from now.
            received = now - (days - i - 1) * DAY
            reports.append(self.advance(DAY, received_at=received))
        return reports

    def run(
        self,
        stop: threading.Event,
        *,
        interval: float = DEFAULT_INTERVAL,
        say: Callable[[str], None] = print,
        monotonic: Callable[[], float] = time.monotonic,
        max_batches: int | None = None,
    ) -> int:
        """Send a batch every `interval` real seconds until `stop` is set; return the batch count."""
        batches = 0
        last = monotonic()
        while not stop.wait(interval):
            now = monotonic()
            report = self.advance(self.sim_span(now - last))
            last = now
            batches += 1
            say(report.line())
            housekeeping(say)
            demo_assistance.step(say=say)
            follow_insight(self.district, self.sim_time.date(), say)
            if self.finished:
                say(f"the curve ends on {self.curve.last_day}: simulation complete")
                break
            if max_batches is not None and batches >= max_batches:
                break
        return batches
