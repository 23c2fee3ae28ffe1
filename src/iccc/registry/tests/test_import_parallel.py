"""A big line list is read, checked and placed in a forked child while this process writes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from iccc.registry import services
from iccc.registry.importer import pipeline
from iccc.registry.models import Case, ImportBatch, ImportStatus, Person
from iccc.registry.synthetic import write_csv
from iccc.registry.tests.test_import_support import RECEIVED


def _import(path: Path, district: Any, settings: Any, *, parallel: bool) -> Any:
    settings.ICCC_IMPORT_PARALLEL_BYTES = 0 if parallel else 1 << 62
    batch = services.create_import_batch(path, district=district, actor=None, received_at=RECEIVED)
    return services.run_import(batch, chunk_rows=400)


def test_two_processes_store_exactly_what_one_process_stores(placed: Any, tmp_path: Path, settings: Any) -> None:
    path = tmp_path / "list.csv"
    write_csv(path, 2000, seed=7, result_date=RECEIVED.date())

    together = _import(path, placed.district, settings, parallel=True)
    # The generator writes Gurugram rows: in the test district most are refused, the rest stored.
    assert together.counts()["new_cases"] > 300
    assert together.rows_total == 2000
    # The same file again, read in one process this time: every row is now a stored duplicate.
    again = _import(path, placed.district, settings, parallel=False)
    assert again.counts()["new_cases"] == 0
    assert again.duplicates == together.new_cases

    Case.objects.filter(district=placed.district).delete()
    Person.objects.filter(district=placed.district).delete()
    alone = _import(path, placed.district, settings, parallel=False)
    keys = ("new_cases", "new_people", "updated", "duplicates", "rows_in_error", "unplaced", "households")
    assert {k: together.counts()[k] for k in keys if k != "households"} == {
        k: alone.counts()[k] for k in keys if k != "households"
    }
    assert together.errors == alone.errors
    assert together.errors  # the generator writes about 1% bad rows


def test_a_crash_in_the_reader_fails_the_batch_and_keeps_the_chunks_written(
    placed: Any, tmp_path: Path, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "list.csv"
    write_csv(path, 1200, seed=8, result_date=RECEIVED.date())
    real = pipeline.Preparer.prepare
    calls = {"n": 0}

    def breaks_on_the_second_chunk(self: Any, chunk: Any, fraction: Any = None) -> Any:
        calls["n"] += 1  # counted in the child, which inherited this patch when it was forked
        if calls["n"] == 2:
            raise MemoryError("out of memory in the reader")
        return real(self, chunk, fraction)

    monkeypatch.setattr(pipeline.Preparer, "prepare", breaks_on_the_second_chunk)
    with pytest.raises(RuntimeError, match="out of memory in the reader"):
        _import(path, placed.district, settings, parallel=True)
    batch = ImportBatch.objects.get(district=placed.district)
    assert batch.status == ImportStatus.FAILED
    assert "out of memory" in batch.failure
    assert 0 < Case.objects.filter(import_batch=batch).count() <= 400  # the first chunk, whole


def test_small_files_stay_in_one_process(placed: Any, tmp_path: Path, settings: Any, monkeypatch: Any) -> None:
    path = tmp_path / "small.csv"
    write_csv(path, 50, seed=9, result_date=RECEIVED.date())
    monkeypatch.setattr(pipeline, "_prepared_in_child", None)  # would fail if called
    settings.ICCC_IMPORT_PARALLEL_BYTES = 2 * 1024 * 1024
    batch = services.create_import_batch(path, district=placed.district, actor=None, received_at=RECEIVED)
    assert services.run_import(batch).new_cases > 5
