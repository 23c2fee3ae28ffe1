"""`iccc bench import`: a small run proves the plumbing and the JSON (timing is not a test)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management import call_command

from iccc.geo.models import District
from iccc.registry.models import Case, Person
from iccc.registry.synthetic import HEADERS, generate_rows


def test_a_small_bench_run_reports_sane_figures_and_cleans_up(db: Any, capsys: Any) -> None:
    call_command("bench", "import", "--rows", "2000", "--json")
    out = json.loads(capsys.readouterr().out)
    for key in ("rows", "rows_per_s", "raw_rows_per_s", "ratio", "peak_rss_mb", "database", "cores", "seconds"):
        assert key in out
    assert out["rows"] == 2000
    assert out["rows_per_s"] > 0
    assert out["raw_rows_per_s"] > 0
    assert 0 < out["ratio"] < 100
    assert 0 < out["peak_rss_mb"] < 4000
    s = out["summary"]
    assert 1900 <= s["new_cases"] + s["duplicates"] + s["rows_in_error"] <= 2000
    assert s["rows_in_error"] >= 1
    assert s["updated"] >= 1
    assert not District.objects.filter(code__startswith="bench-").exists()
    assert not Person.objects.exists()
    assert not Case.objects.exists()


def test_the_generator_is_deterministic_and_keeps_srf_ids_unique_across_calls() -> None:
    a = generate_rows(300, seed=5, start_index=0)
    assert a == generate_rows(300, seed=5, start_index=0)
    b = generate_rows(300, seed=5, start_index=300)
    assert set(a[0]) == set(HEADERS)
    fresh_a = {r["SRF ID"] for r in a if r["SRF ID"]}
    fresh_b = {r["SRF ID"] for r in b if r["SRF ID"]}
    assert not fresh_a & fresh_b
    dupes = len(a) - len({r["SRF ID"] for r in a})
    assert 0 < dupes < 30
