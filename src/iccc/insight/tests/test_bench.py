"""`iccc bench insight`: the synthetic zones are realistic and the benchmark reports its figures."""

from __future__ import annotations

import json
from io import StringIO

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from iccc.insight import bench


def test_synthetic_zones_add_up_to_the_district_and_follow_the_real_waves() -> None:
    district, zones = bench.synthetic_zones(12, 700, seed=5)
    assert len(zones) == 12
    assert len(district) == 700
    assert district.end.isoformat() == "2022-03-01"
    assert np.allclose(sum(z.series.cases for z in zones if z.series is not None), district.cases)
    weekly = district.cases[-700 // 7 * 7 :].reshape(-1, 7).sum(axis=1)
    # Delta (spring 2021) and Omicron (January 2022) are the two largest weeks' neighbourhoods.
    peak_week = int(np.argmax(weekly))
    assert weekly[peak_week] > 10 * np.median(weekly)
    assert len({z.code for z in zones}) == 12
    assert all(z.population and z.population > 0 for z in zones)


def test_the_benchmark_reports_seconds_and_a_breakdown() -> None:
    result = bench.run(zones=3, days=120, repeat=1, log=lambda _: None)
    assert set(result["breakdown"]) == {"nowcast", "rt", "growth", "forecast", "demand", "hotspots"}
    assert result["seconds"] == pytest.approx(sum(result["breakdown"].values()), abs=0.01)
    assert result["zones"] == 3
    assert result["days"] == 120
    assert result["pipeline_seconds"] > 0


def test_iccc_bench_insight_prints_json(db: object) -> None:
    out = StringIO()
    call_command("bench", "insight", "--zones", "2", "--days", "90", "--json", stdout=out, stderr=StringIO())
    result = json.loads(out.getvalue())
    assert result["seconds"] > 0
    assert result["target_seconds"] == 5.0


def test_iccc_bench_insight_refuses_nonsense(db: object) -> None:
    with pytest.raises(CommandError, match="--zones"):
        call_command("bench", "insight", "--zones", "0", stdout=StringIO(), stderr=StringIO())
