"""`iccc bench import`: a small run proves the plumbing and the JSON (timing is not a test)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from iccc.core.models import Event
from iccc.geo.models import District
from iccc.registry import bench
from iccc.registry.models import Case, Household, Person
from iccc.registry.models import TestResult as Result
from iccc.registry.services import create_import_batch, run_import
from iccc.registry.synthetic import HEADERS, generate_rows, write_csv


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
    # The store floor writes more tables than the raw insert and decides nothing the import decides.
    assert out["floor_rows_per_s"] > 0
    assert out["floor_ratio"] == pytest.approx(out["floor_seconds"] / out["raw_seconds"], rel=0.05)
    assert out["import_over_floor"] == pytest.approx(out["seconds"] / out["floor_seconds"], rel=0.05)
    # 2,000 rows are read in-process (no reader child): the sampled peak is this process's size.
    assert 0 < out["peak_mb_import_with_reader"] <= out["peak_rss_mb_import"] * 1.05
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


def test_the_store_floor_stores_what_the_import_stores_without_deciding(db: Any, tmp_path: Path) -> None:
    path = tmp_path / "line-list.csv"
    write_csv(path, 600, seed=7, result_date=bench.BENCH_RESULT_DATE)
    received_at = timezone.now()
    imported, floored = bench.make_scratch_district(), bench.make_scratch_district()
    try:
        summary = run_import(create_import_batch(path, district=imported, actor=None, received_at=received_at))
        seconds = bench._time_floor(path, floored, received_at)

        assert seconds > 0
        cases = Case.objects.filter(district=floored)
        assert cases.count() == Case.objects.filter(district=imported).count() == summary.new_cases
        assert Result.objects.filter(case__district=floored).count() == summary.new_cases
        assert Event.objects.filter(district_id=floored.pk, name="case_registered").count() == summary.new_cases
        # No matching: every row is a new person, in the households the import found.
        assert Person.objects.filter(district=floored).count() == summary.new_cases
        assert Household.objects.filter(district=floored).count() == summary.households
        assert set(cases.values_list("srf_id", flat=True)) == set(
            Case.objects.filter(district=imported).values_list("srf_id", flat=True)
        )
    finally:
        bench.drop_district(imported)
        bench.drop_district(floored)


@pytest.mark.skipif(not Path("/proc/self/smaps_rollup").exists(), reason="reads Linux /proc")
def test_the_memory_sampler_counts_a_childs_own_pages_once() -> None:
    import multiprocessing
    import time

    ctx = multiprocessing.get_context("fork")
    receiver, sender = ctx.Pipe(duplex=False)

    def hold_64_mb() -> None:
        block = bytearray(64 * 1024 * 1024)  # zero pages: touch each so it is resident and private
        for i in range(0, len(block), 4096):
            block[i] = 1
        sender.send((bench._smaps_kib("self", ("Private_Clean", "Private_Dirty")), bench._smaps_kib("self", ("Rss",))))
        time.sleep(1.0)

    def total_mb() -> float:  # what the sampler adds up; earlier tests may have left children of their own
        others = sum(bench._smaps_kib(pid, ("Private_Clean", "Private_Dirty")) for pid in bench._children())
        return (bench._smaps_kib("self", ("Rss",)) + others) / 1024

    before = total_mb()
    child = ctx.Process(target=hold_64_mb)
    with bench.MemorySampler(interval=0.05) as memory:
        child.start()
        assert receiver.poll(20)
        private_kib, child_rss_kib = receiver.recv()
        time.sleep(0.3)
        child.join()
    private, child_rss = private_kib / 1024, child_rss_kib / 1024
    assert memory.peak_mb is not None
    assert private >= 64
    # This process plus the child's own pages; what the child still shares with it is not counted again.
    assert memory.peak_mb == pytest.approx(before + private, abs=24)
    assert memory.peak_mb < before + child_rss - 24
