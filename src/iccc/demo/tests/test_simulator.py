"""The case-curve simulator: scaling, determinism, batches through the real import."""

from __future__ import annotations

import threading
from datetime import date, datetime, timedelta
from typing import Any

import pytest

from iccc.core.models import Event
from iccc.demo.curve import DAY, DailyCurve, cases_due, day_start
from iccc.demo.models import SimulationClock
from iccc.demo.simulator import Simulator, local_tz
from iccc.geo.models import District
from iccc.registry.importer.summary import ImportSummary
from iccc.registry.models import Case

PEAK = date(2021, 4, 29)


@pytest.fixture
def gurugram(db: Any) -> District:
    from iccc.geo import index
    from iccc.geo.services import load_demo_geography

    index.invalidate()
    load_demo_geography("gurugram")
    return District.objects.get(code="gurugram")


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch) -> list[list[dict[str, str]]]:
    """Record the rows the simulator sends instead of importing them."""
    batches: list[list[dict[str, str]]] = []

    def fake_import(rows: list[dict[str, str]], **kwargs: Any) -> ImportSummary:
        batches.append(list(rows))
        return ImportSummary(rows_total=len(rows), new_cases=len(rows))

    monkeypatch.setattr("iccc.registry.services.import_records", fake_import)
    return batches


def test_the_curve_is_the_first_differences_of_the_cumulative_count() -> None:
    curve = DailyCurve.from_csv()
    assert curve.on(PEAK) == 5042  # Gurugram's peak day (README of data/epi)
    assert curve.first_day == date(2020, 4, 27)
    assert min(curve.new_cases.values()) >= 0


def test_many_short_steps_owe_the_same_cases_as_one_day() -> None:
    curve = DailyCurve.from_csv()
    start = day_start(PEAK, local_tz())
    whole, _ = cases_due(curve, 0.05, start, start + DAY, 0.0)
    carry, total, t = 0.0, 0, start
    for _ in range(288):  # five-minute steps
        due, carry = cases_due(curve, 0.05, t, t + timedelta(minutes=5), carry)
        total += sum(n for _, n in due)
        t += timedelta(minutes=5)
    assert sum(n for _, n in whole) == total == 252  # 0.05 x 5,042


def test_a_simulated_day_sends_about_scale_times_the_real_cases(gurugram: District, captured: list) -> None:
    sim = Simulator(gurugram, scale=0.1, start=PEAK, seed=7)
    report = sim.advance(DAY)
    assert report.rows == sum(len(b) for b in captured) == 504
    assert report.per_day == [(PEAK, 504)]
    clock = SimulationClock.objects.get(district=gurugram)
    assert (clock.next_index, clock.sim_time) == (504, datetime(2021, 4, 30, tzinfo=local_tz()))


def test_the_same_seed_sends_the_same_rows_whatever_the_batch_sizes(gurugram: District, captured: list) -> None:
    sim = Simulator(gurugram, scale=0.05, start=PEAK, seed=11)
    for _ in range(4):
        sim.advance(timedelta(hours=6))
    in_quarters = [r for b in captured for r in b]
    captured.clear()
    SimulationClock.objects.all().delete()

    Simulator(gurugram, scale=0.05, start=PEAK, seed=11).advance(DAY)

    assert [r for b in captured for r in b] == in_quarters
    assert len(in_quarters) == 252


def test_run_sends_a_batch_per_interval_and_stops_when_asked(gurugram: District, captured: list) -> None:
    ticks = iter([0.0, 60.0, 120.0, 180.0])  # one real minute per batch = one simulated day at speed 1
    lines: list[str] = []
    sim = Simulator(gurugram, scale=0.05, speed=1.0, start=PEAK, seed=3)
    batches = sim.run(threading.Event(), interval=0, say=lines.append, monotonic=lambda: next(ticks), max_batches=3)
    assert batches == 3
    assert len(lines) == 3
    assert sim.sim_time == day_start(PEAK, local_tz()) + 3 * DAY
    assert lines[0].startswith("sim 2021-04-30 00:00 | +252 results | new 252")
    stopped = threading.Event()
    stopped.set()
    assert sim.run(stopped, interval=0, say=lines.append) == 0


def test_batches_go_through_the_real_import_and_announce_each_case(gurugram: District) -> None:
    sim = Simulator(gurugram, scale=0.02, start=PEAK, seed=5)
    report = sim.advance(timedelta(hours=12))
    assert report.rows == 50
    new = report.summary.new_cases
    assert new >= 45
    assert Case.objects.filter(district=gurugram).count() == new
    assert Event.objects.filter(name="case_registered").count() == new
    # Restarting carries on: no row number (hence SRF ID) is sent twice.
    again = Simulator(gurugram, scale=0.02, seed=5).advance(timedelta(hours=12))
    assert again.summary.duplicates <= 2  # only the generator's own deliberate re-sends
    assert SimulationClock.objects.get(district=gurugram).next_index == 50 + again.rows


def test_scale_and_speed_must_be_positive(gurugram: District) -> None:
    with pytest.raises(ValueError, match="positive"):
        Simulator(gurugram, scale=0)
