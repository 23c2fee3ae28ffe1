"""`iccc bench import`: the lab import end to end against a raw bulk insert, same rows, same database.

What is timed
-------------
* **import** — `create_import_batch` (copy to MEDIA/imports/ with sha256) + `run_import`
  on a generated line list: reading, validation, phone/name normalisation, dedup
  lookups, placement (gazetteer), households, people, cases, test results, review
  rows, `case_registered` events and the batch's audit row, committed chunk by chunk.
* **raw** — the floor for "storing these rows in this database": the same rows, already
  parsed and validated outside the timer (one person + one case per accepted row:
  the column values the import stores, with time-ordered ids as it makes them, but no
  placement — zone and coordinates empty — and no household), written into the person and case tables
  the fastest way the database offers — the import's own `iccc.core.bulk.insert_rows`:
  `executemany` on SQLite, `COPY FROM STDIN` on PostgreSQL — in the same chunk size,
  one transaction per chunk, under the import's commit settings (`commits_without_flush`).
  Person and case are the two tables every accepted row must reach; everything else
  the import does is what the ratio prices.
* **store floor** — everything the import stores, and nothing it decides: the import's own
  `Preparer` lays each chunk out (outside the timer, in this process), then the timer runs
  while its households, people, cases, test results and `case_registered` events are
  written the way the import writes them, each chunk in one transaction, and the
  subscribers (outreach's first-contact tasks) do their work on commit. No look-ups, no
  matching, every row a new person. `floor / raw` shows how much of the ratio is the rows
  the product must store; `import / floor` is what reading, checking and deciding cost.

Both run on a fresh scratch district (a copy of the configured district's zones and
localities, or the bundled Gurugram geography), deleted afterwards with everything
imported into it. The one IMPORT audit row per run stays: the audit log is append-only.
"""

from __future__ import annotations

import contextlib
import os
import resource
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import date, datetime
from datetime import time as dtime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from iccc.core import events
from iccc.core.bulk import insert_rows
from iccc.core.events import NewEvent, publish
from iccc.core.ids import uuid7_hex
from iccc.core.models import Event
from iccc.geo.models import District, Locality, Zone
from iccc.registry.importer.pipeline import (
    CHUNK_ROWS,
    P_HOUSEHOLD,
    P_ZONE,
    Importer,
    Preparer,
    _Sql,
    commits_without_flush,
    iter_chunks,
    new_ids,
)
from iccc.registry.importer.readers import open_rows
from iccc.registry.importer.validate import RowError, parse_row
from iccc.registry.models import (
    Case,
    CaseStatus,
    Household,
    ImportBatch,
    ImportStatus,
    Person,
    PersonAccess,
    Placement,
    PossibleDuplicate,
    Severity,
    TestResult,
)
from iccc.registry.synthetic import write_csv

BENCH_RESULT_DATE = date(2021, 4, 29)


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1024 * 1024 if os.uname().sysname == "Darwin" else 1024), 1)


class MemorySampler:
    """The most memory an import took from the machine, sampled ten times a second (Linux).

    A big file is read in a forked process beside the writer. Since the fork the two share
    most pages, so adding their resident sizes would count those twice: a sample is this
    process's resident size plus its children's private pages (`/proc/PID/smaps_rollup`).
    `peak_mb` stays None where /proc is not there to read.
    """

    def __init__(self, interval: float = 0.1) -> None:
        self.interval = interval
        self.peak_mb: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="memory-sampler", daemon=True)

    def __enter__(self) -> MemorySampler:
        if Path("/proc/self/smaps_rollup").exists():
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        while True:
            kib = _smaps_kib("self", ("Rss",)) + sum(
                _smaps_kib(pid, ("Private_Clean", "Private_Dirty")) for pid in _children()
            )
            self.peak_mb = max(self.peak_mb or 0.0, round(kib / 1024, 1))
            if self._stop.wait(self.interval):
                return


def _smaps_kib(pid: str, fields: tuple[str, ...]) -> int:
    try:
        lines = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()
    except OSError:  # the child has just ended
        return 0
    return sum(int(line.split()[1]) for line in lines if line.split(":")[0] in fields)


def _children() -> list[str]:
    pids: list[str] = []
    for task in Path("/proc/self/task").iterdir():
        with contextlib.suppress(OSError):
            pids.extend((task / "children").read_text().split())
    return pids


def _database_label() -> str:
    s = settings.DATABASES["default"]
    if connection.vendor == "sqlite":
        return f"sqlite {s['NAME']}"
    with connection.cursor() as cur:
        cur.execute("SHOW server_version")
        version = cur.fetchone()[0]
    return f"postgresql {version} {s.get('HOST') or 'socket'}/{s['NAME']}"


# ---------------------------------------------------------------- scratch district


def make_scratch_district() -> District:
    """A throw-away district with real Gurugram zones and localities."""
    code = f"bench-{uuid.uuid4().hex[:8]}"
    source = District.objects.filter(code=settings.ICCC_DISTRICT_CODE).first()
    if source is not None and Zone.objects.filter(district=source).exists():
        return _copy_district(source, code)
    return _load_bundled(code)


def _copy_district(source: District, code: str) -> District:
    with transaction.atomic():
        district = District.objects.create(
            code=code,
            name=source.name,
            name_hi=source.name_hi,
            state=source.state,
            boundary=source.boundary,
            min_lon=source.min_lon,
            min_lat=source.min_lat,
            max_lon=source.max_lon,
            max_lat=source.max_lat,
        )
        zone_map: dict[int, int] = {}
        for zone in Zone.objects.filter(district=source):
            old = zone.pk
            zone.pk = None
            zone.district = district
            zone.save()
            zone_map[old] = zone.pk
        Locality.objects.bulk_create(
            [
                Locality(
                    district=district,
                    name=loc.name,
                    kind=loc.kind,
                    lat=loc.lat,
                    lon=loc.lon,
                    zone_id=zone_map.get(loc.zone_id) if loc.zone_id else None,
                    aliases=loc.aliases,
                    source=loc.source,
                )
                for loc in Locality.objects.filter(district=source)
            ]
        )
    return district


def _load_bundled(code: str) -> District:
    from iccc.geo import services as geo

    folder = Path(geo.DATA_DIR) / "gurugram"
    geo.load_geography_files(
        code=code,
        name="Gurugram",
        name_hi="",
        state="Haryana",
        attribution="",
        zones_path=folder / "zones.geojson",
        boundary_path=folder / "district.geojson",
        localities_path=folder / "localities.csv",
        aliases_path=None,
        zone_names_hi_path=None,
        actor=None,
    )
    return District.objects.get(code=code)


def drop_district(district: District) -> None:
    """Delete a scratch district and everything imported into it (raw DELETEs: 100k rows in seconds)."""
    qn = connection.ops.quote_name
    t = {m: qn(m._meta.db_table) for m in (Case, Person, Household, ImportBatch, TestResult, PossibleDuplicate)}
    did = district.pk
    _delete_foreign_rows(district)
    person_ids = f"SELECT id FROM {t[Person]} WHERE district_id = %s"  # noqa: S608
    # Table names come from model meta, values are parameters: no SQL is built from input.
    statements = [
        f"DELETE FROM {qn(Event._meta.db_table)} WHERE district_id = %s",  # noqa: S608
        f"DELETE FROM {t[PossibleDuplicate]} WHERE district_id = %s",  # noqa: S608
        f"DELETE FROM {t[TestResult]} WHERE case_id IN (SELECT id FROM {t[Case]} WHERE district_id = %s)",  # noqa: S608
        f"DELETE FROM {t[Case]} WHERE district_id = %s",  # noqa: S608
        f"DELETE FROM {qn(PersonAccess._meta.db_table)} WHERE person_id IN ({person_ids})",  # noqa: S608
        f"UPDATE {t[Person]} SET merged_into_id = NULL WHERE district_id = %s",  # noqa: S608
        f"DELETE FROM {t[Person]} WHERE district_id = %s",  # noqa: S608
        f"DELETE FROM {t[Household]} WHERE district_id = %s",  # noqa: S608
        f"DELETE FROM {t[ImportBatch]} WHERE district_id = %s",  # noqa: S608
    ]
    with transaction.atomic(), connection.cursor() as cur:
        for statement in statements:
            cur.execute(statement, [did])
    with transaction.atomic():
        Locality.objects.filter(district=district).delete()
        District.objects.filter(pk=did).delete()


def _delete_foreign_rows(district: District) -> None:
    """Rows of higher apps (outreach tasks, ...) that subscribers made for the scratch district's cases."""
    own = {Case, Person, Household, ImportBatch, TestResult, PossibleDuplicate, PersonAccess}
    for model in (Case, Person):
        for rel in model._meta.related_objects:
            related = rel.related_model
            if related in own or not hasattr(rel, "field"):
                continue
            lookup = f"{rel.field.name}__district"
            rows = related._base_manager.filter(**{lookup: district})
            # In slices: delete() loads every row it deletes (to cascade), and 100,000 at once
            # would make the cleanup, not the import, the process's peak memory.
            while pks := list(rows.values_list("pk", flat=True)[:5000]):
                related._base_manager.filter(pk__in=pks).delete()


# ---------------------------------------------------------------- the two timed runs


def _raw_chunks(
    path: Path, district: District, received_at: datetime
) -> Iterator[tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]]:
    """Person and case tuples for the accepted rows of the file, a chunk at a time (built outside the timer)."""
    sql = _Sql()
    now = sql.dt(timezone.now())
    received = sql.dt(received_at)
    people: list[tuple[Any, ...]] = []
    cases: list[tuple[Any, ...]] = []
    seen: set[str] = set()
    source = open_rows(path)
    try:
        for number, cells in source.rows:
            try:
                r = parse_row(number, cells, today=BENCH_RESULT_DATE, has_result_column=True)
            except RowError:
                continue
            if r.srf_id in seen:
                continue
            seen.add(r.srf_id)
            pid, cid = uuid7_hex(2)
            people.append(
                (pid, district.pk, r.name, r.name_key, r.age, r.sex, r.phone, r.phone_kind, "", r.address,
                 None, None, None, Placement.UNPLACED.value, None, now, now)
            )  # fmt: skip
            cases.append(
                (cid, district.pk, pid, r.srf_id, r.icmr_id, sql.d(r.sample_date),
                 sql.d(r.result_date), received, r.lab_name, r.test_type, r.symptomatic,
                 CaseStatus.HOME_ISOLATION.value, Severity.UNKNOWN.value, None, None, number, None, now, now)
            )  # fmt: skip
            if len(people) >= CHUNK_ROWS:
                yield people, cases
                people, cases = [], []
        if people:
            yield people, cases
    finally:
        source.close()


def _time_raw(path: Path, district: District, received_at: datetime) -> tuple[float, float]:
    """Seconds (wall, CPU) spent writing the chunks; preparing them is not timed."""
    sql = _Sql()
    wall = cpu = 0.0
    with commits_without_flush():  # the import's commit settings: the floor gets every advantage the import has
        for people, cases in _raw_chunks(path, district, received_at):
            started, cpu0 = time.perf_counter(), time.process_time()
            with transaction.atomic():
                insert_rows(Person, sql.person_fields, people)
                insert_rows(Case, sql.case_fields, cases)
            wall += time.perf_counter() - started
            cpu += time.process_time() - cpu0
    return wall, cpu


HOUSEHOLD_FIELDS = ("id", "district", "address_key", "zone", "created_at")


def _time_floor(path: Path, district: District, received_at: datetime) -> float:
    """Seconds spent storing what the import stores; laying the rows out is not timed."""
    batch = ImportBatch.objects.create(
        district=district,
        file_name=path.name,
        sha256="",
        source="bench",
        status=ImportStatus.RUNNING,
        received_at=received_at,
    )
    importer = Importer(batch)
    preparer = Preparer(importer, has_result_column=True)
    sql = importer.sql
    households: dict[str, str] = {}  # address key -> id, across chunks as the import's upsert does
    wall = 0.0
    source = open_rows(path)
    try:
        with commits_without_flush():
            for chunk in iter_chunks(iter(source.rows), CHUNK_ROWS):
                prepared = preparer.prepare(chunk)
                keep = [i for i in range(len(prepared.cases)) if i not in prepared.place_errors]
                now = sql.dt(timezone.now())
                house_rows = []
                for i in keep:
                    key = prepared.house_keys[i]
                    if not key:
                        continue
                    if key not in households:
                        households[key] = new_ids(1)[0]
                        house_rows.append((households[key], district.pk, key, prepared.people[i][P_ZONE], now))
                    prepared.people[i][P_HOUSEHOLD] = households[key]
                new_events = [
                    NewEvent(
                        name="case_registered",
                        subject_type="registry.case",
                        subject_id=prepared.payloads[i]["case_id"],
                        district_id=district.pk,
                        occurred_at=received_at,
                        payload=prepared.payloads[i],
                        payload_json=prepared.payload_json[i],
                    )
                    for i in keep
                ]
                started = time.perf_counter()
                with transaction.atomic():  # subscribers run when it commits, inside the timer
                    insert_rows(Household, HOUSEHOLD_FIELDS, house_rows)
                    insert_rows(Person, sql.person_fields, [prepared.people[i] for i in keep])
                    insert_rows(Case, sql.case_fields, [prepared.cases[i] for i in keep])
                    insert_rows(TestResult, sql.result_fields, [prepared.results[i] for i in keep])
                    publish(new_events)
                wall += time.perf_counter() - started
    finally:
        source.close()
    return wall


def run_import_bench(
    rows: int,
    *,
    repeat: int = 1,
    seed: int = 2021,
    registry_only: bool = False,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Generate, import, raw-insert, clean up; `repeat` times. Medians are reported.

    By default the import is timed end to end, including what higher apps do on
    `case_registered` after each chunk commits (outreach creates the first-contact
    tasks). `registry_only` detaches those subscribers to time the registry's own work.
    """
    say = log or (lambda _msg: None)
    received_at = timezone.make_aware(datetime.combine(BENCH_RESULT_DATE, dtime(18, 0)))
    import_s: list[float] = []
    raw_s: list[float] = []
    import_cpu: list[float] = []
    raw_cpu_s: list[float] = []
    floor_s: list[float] = []
    load_before = os.getloadavg()[0]
    summaries: list[dict[str, Any]] = []
    peak_import = 0.0
    peak_both: list[float] = []
    with tempfile.TemporaryDirectory(prefix="iccc-bench-") as tmp:
        path = Path(tmp) / f"line-list-{rows}.csv"
        t0 = time.perf_counter()
        write_csv(path, rows, seed=seed, result_date=BENCH_RESULT_DATE)
        say(f"generated {rows:,} rows ({path.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - t0:.1f} s")
        for n in range(repeat):
            district = make_scratch_district()
            try:
                with MemorySampler() as memory:
                    seconds, summary = _time_import(path, district, received_at, registry_only=registry_only)
                # The floor has not run yet (the raw insert holds one chunk): this peak is the import's.
                peak_import = max(peak_import, peak_rss_mb())
                if memory.peak_mb is not None:
                    peak_both.append(memory.peak_mb)
            finally:
                drop_district(district)
            district = make_scratch_district()
            try:
                raw, raw_cpu = _time_raw(path, district, received_at)
            finally:
                drop_district(district)
            import_s.append(seconds)
            raw_s.append(raw)
            import_cpu.append(summary["cpu_seconds"])
            raw_cpu_s.append(raw_cpu)
            summaries.append(summary)
            say(
                f"run {n + 1}/{repeat}: import {seconds:.2f} s ({rows / seconds:,.0f} rows/s), "
                f"raw insert {raw:.2f} s ({rows / raw:,.0f} rows/s), ratio {seconds / raw:.2f}"
            )
        # After every import: the floor lays its rows out in this process, which would raise
        # the process's peak memory above the import's own.
        for n in range(repeat):
            district = make_scratch_district()
            try:
                with _subscribers_detached(registry_only):
                    floor = _time_floor(path, district, received_at)
            finally:
                drop_district(district)
            floor_s.append(floor)
            say(f"store floor {n + 1}/{repeat}: {floor:.2f} s ({rows / floor:,.0f} rows/s)")
    imp, raw, floor = statistics.median(import_s), statistics.median(raw_s), statistics.median(floor_s)
    last = summaries[-1]
    return {
        "benchmark": "import",
        "rows": rows,
        "repeat": repeat,
        "subscribers": "detached (registry only)" if registry_only else sorted(events._subscribers),
        "seconds": round(imp, 3),
        "raw_seconds": round(raw, 3),
        "rows_per_s": round(rows / imp),
        "raw_rows_per_s": round(rows / raw),
        "ratio": round(imp / raw, 2),
        "floor_seconds": round(floor, 3),
        "floor_rows_per_s": round(rows / floor),
        "floor_ratio": round(floor / raw, 2),
        "import_over_floor": round(imp / floor, 2),
        # CPU seconds of this process (Python + the embedded SQLite engine; PostgreSQL's work is
        # in its own processes): a steadier figure than wall time on a shared machine.
        "cpu_seconds": round(statistics.median(import_cpu), 3),
        "raw_cpu_seconds": round(statistics.median(raw_cpu_s), 3),
        "load_average_at_start": round(load_before, 2),
        "peak_rss_mb": peak_rss_mb(),
        "peak_rss_mb_import": peak_import,
        # With the reader process beside the writer (files >= 2 MB): what the import took
        # from the machine, the writer's resident pages plus the reader's own (sampled).
        "peak_mb_import_with_reader": max(peak_both) if peak_both else None,
        "database": _database_label(),
        "vendor": connection.vendor,
        "cores": os.cpu_count(),
        "runs": [
            {
                "seconds": round(a, 3),
                "raw_seconds": round(b, 3),
                "floor_seconds": round(f, 3),
                "cpu_seconds": round(c, 3),
            }
            for a, b, f, c in zip(import_s, raw_s, floor_s, import_cpu, strict=True)
        ],
        "summary": {
            k: last.get(k)
            for k in (
                "new_cases",
                "new_people",
                "updated",
                "duplicates",
                "rows_in_error",
                "unplaced",
                "possible_duplicates",
                "households",
            )
        },
        "raw_definition": (
            "same accepted rows, parsed outside the timer, one person + one case per row inserted with "
            "iccc.core.bulk.insert_rows (SQLite executemany, PostgreSQL COPY) into the person and case "
            "tables, one transaction per chunk of "
            f"{CHUNK_ROWS} rows"
        ),
        "floor_definition": (
            "what the import stores (households, people, cases, test results, case_registered events, and "
            "what subscribers make of them on commit), laid out by the import's own Preparer outside the timer "
            "and written with the import's writers, one transaction per chunk; no look-ups, no matching"
        ),
        "targets": {"rows_per_s": 10_000, "ratio": 4.0, "peak_rss_mb": 500},
    }


@contextlib.contextmanager
def _subscribers_detached(detach: bool) -> Iterator[None]:
    """With `detach`, higher apps' event subscribers (outreach tasks, ...) do not run: registry work alone."""
    if not detach:
        yield
        return
    saved = dict(events._subscribers)
    events._subscribers.clear()
    try:
        yield
    finally:
        events._subscribers.update(saved)


def _time_import(
    path: Path, district: District, received_at: datetime, *, registry_only: bool = False
) -> tuple[float, dict[str, Any]]:
    from iccc.registry.services import create_import_batch, run_import

    with _subscribers_detached(registry_only):
        started, cpu = time.perf_counter(), time.process_time()
        batch = create_import_batch(path, district=district, actor=None, source="bench", received_at=received_at)
        summary = run_import(batch)
        counts = summary.counts()
        counts["cpu_seconds"] = time.process_time() - cpu
        return time.perf_counter() - started, counts
