"""Daily case series: reading, checking and cleaning, with every treatment written down.

A `DailySeries` is what every other analysis takes: one float per day, no gaps, no NaN, no
negative counts. Reading is strict about what it cannot interpret (a date that is not ISO, a
count that is not a number: `SeriesError` naming the line) and explicit about what it repairs
(gaps, corrections, repeated stale rows): each repair adds a sentence to `DailySeries.notes`.

The treatments (docs/analytics.md, "Series cleaning"):

* **Cumulative input** (`confirmed`) is differenced. The first row has no previous day — its
  value holds every earlier case — so it gives no daily value: the series starts the next day.
* **Missing days** (a date absent, or a blank count): for a cumulative series the increment
  across the gap is spread evenly over the missing days and the next reported day; for a daily
  series the missing days are interpolated linearly between their neighbours.
* **A stale repeated row** in a cumulative series (every column equal to the previous day's while
  the days around it average at least `STALE_MIN_DAILY` new cases and the next day carries more
  than the day before, as on Gurugram's 2021-11-04, Diwali) is treated as not reported: its
  increment is shared with the next day.
* **Negative daily changes** (a data correction: the cumulative count was revised down) are set
  to zero and the excess is taken back from the preceding days in proportion to their counts,
  so the total is kept and no day goes negative.
* **Duplicate dates** with identical values are dropped; conflicting duplicates are an error.
* Zero-case stretches are kept as they are: zero is a valid count.
"""

from __future__ import annotations

import csv
import io
import itertools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import TextIO

import numpy as np

__all__ = [
    "PSEUDO_DISTRICTS",
    "STALE_MIN_DAILY",
    "DailySeries",
    "RawSeries",
    "SeriesError",
    "daily_from_counts",
    "read_district_csv",
    "read_district_raw",
    "read_raw_csv",
    "read_series_csv",
]

DAY = timedelta(days=1)
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
DATE_COLUMNS = ("date", "dates")
DAILY_COLUMNS = ("cases", "i", "incidence", "new_cases")
CUMULATIVE_COLUMNS = ("confirmed",)
# A day with no new cases between days averaging this many is implausible under Poisson noise
# (P(0 | mean 5) < 0.7 %): a repeated cumulative row there is a missed report, not a quiet day.
STALE_MIN_DAILY = 5.0
# Keys of the Haryana district file that are not places (drop them for spatial work and forecasts).
PSEUDO_DISTRICTS = ("Italians", "Foreign Evacuees", "Unknown")
# How far back a negative correction is spread at first (widened if those days hold too few cases).
CORRECTION_SPREAD_DAYS = 7


class SeriesError(ValueError):
    """A series that cannot be read or analysed; the message names the row(s) and the reason."""


@dataclass(frozen=True)
class DailySeries:
    """Daily incidence from `start`, one value per day, no gaps, no NaN, no negatives.

    `notes` lists, in plain words, each treatment applied while building it (gaps filled,
    corrections spread, stale rows shared), so a number shown to a planner can be traced.
    """

    start: date
    cases: np.ndarray
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        arr = np.asarray(self.cases, dtype=np.float64)
        if arr.ndim != 1:
            raise SeriesError("a daily series must be one-dimensional")
        if not np.all(np.isfinite(arr)):
            raise SeriesError("a daily series must not contain NaN or infinite values")
        if np.any(arr < 0):
            raise SeriesError("a daily series must not contain negative counts")
        object.__setattr__(self, "cases", arr)

    def __len__(self) -> int:
        return int(self.cases.shape[0])

    def dates(self) -> list[date]:
        """The date of every value, `start` … `end`."""
        return [self.start + i * DAY for i in range(len(self))]

    @property
    def end(self) -> date:
        """The last day (the day of the last value)."""
        return self.start + (len(self) - 1) * DAY

    def until(self, day: date) -> DailySeries:
        """The values up to and including `day`, with the notes about those days.

        The values were cleaned with the whole series; for the series exactly as known on `day`
        (a later correction not yet applied) clean the raw rows with `RawSeries.clean(until=day)`.
        """
        n = (day - self.start).days + 1
        if n <= 0:
            raise SeriesError(f"the series starts on {self.start}, after {day}")
        notes = tuple(note for note in self.notes if not _note_after(note, day))
        return DailySeries(self.start, self.cases[:n].copy(), notes)

    def index_of(self, day: date) -> int:
        """0-based position of `day` in the series."""
        return (day - self.start).days


def _note_after(note: str, day: date) -> bool:
    """Whether a note is about a day after `day` (notes about a day start with its ISO date)."""
    head = note[:10]
    return bool(ISO_DATE.match(head)) and head > day.isoformat()


# --- building from values -------------------------------------------------------------------


def daily_from_counts(
    days: Sequence[date],
    counts: Sequence[float],
    *,
    cumulative: bool = False,
    stale_rows: Sequence[bool] | None = None,
    labels: Sequence[str] | None = None,
) -> DailySeries:
    """A clean `DailySeries` from dated counts (daily incidence, or cumulative if `cumulative`).

    Dates may come in any order; missing dates, blank (NaN) counts, negative changes and
    duplicates are treated as the module docstring says. `stale_rows[i]` marks a row that repeats
    the previous day in every column (only meaningful for cumulative input); `labels[i]` names
    the row in messages (e.g. "line 7"), by default its date.
    """
    if len(days) != len(counts):
        raise SeriesError(f"{len(days)} dates but {len(counts)} counts")
    if not days:
        raise SeriesError("the series is empty: no dated rows")
    names = list(labels) if labels is not None else [str(d) for d in days]
    values = np.asarray(counts, dtype=np.float64)
    for name, value in zip(names, values, strict=True):
        if np.isinf(value):
            raise SeriesError(f"{name}: the count is infinite")
        if not np.isnan(value) and value < 0 and cumulative:
            raise SeriesError(f"{name}: a cumulative count cannot be negative ({value:g})")
    stale = np.asarray(stale_rows if stale_rows is not None else [False] * len(days), dtype=bool)

    order = sorted(range(len(days)), key=lambda i: days[i])
    notes: list[str] = []
    if order != list(range(len(days))):
        notes.append("rows were not in date order; sorted by date")
    uniq_days: list[date] = []
    uniq_vals: list[float] = []
    uniq_stale: list[bool] = []
    first_label: dict[date, str] = {}
    for i in order:
        d, v = days[i], float(values[i])
        if uniq_days and uniq_days[-1] == d:
            prev = uniq_vals[-1]
            if (math.isnan(prev) and math.isnan(v)) or prev == v:
                notes.append(f"{d}: duplicate row ({names[i]}) with the same count dropped")
                continue
            raise SeriesError(f"{names[i]}: date {d} appears twice ({first_label[d]}) with different counts")
        first_label[d] = names[i]
        uniq_days.append(d)
        uniq_vals.append(v)
        uniq_stale.append(bool(stale[i]))

    known = [i for i, v in enumerate(uniq_vals) if not math.isnan(v)]
    if not known:
        raise SeriesError("no row has a count")
    if known[0] > 0 or known[-1] < len(uniq_vals) - 1:
        for i in [*range(known[0]), *range(known[-1] + 1, len(uniq_vals))]:
            notes.append(f"{uniq_days[i]}: no count at the edge of the series; row dropped")
        uniq_days = uniq_days[known[0] : known[-1] + 1]
        uniq_vals = uniq_vals[known[0] : known[-1] + 1]
        uniq_stale = uniq_stale[known[0] : known[-1] + 1]

    start, end = uniq_days[0], uniq_days[-1]
    n = (end - start).days + 1
    full = np.full(n, np.nan)
    stale_full = np.zeros(n, dtype=bool)
    for d, v, s in zip(uniq_days, uniq_vals, uniq_stale, strict=True):
        full[(d - start).days] = v
        stale_full[(d - start).days] = s

    if cumulative:
        daily, more = _difference_cumulative(start, full, stale_full)
        notes.extend(more)
        if daily.size == 0:
            raise SeriesError(
                "a cumulative series needs at least two days: the first row only gives the starting total"
            )
        start = start + DAY
    else:
        daily, more = _fill_daily_gaps(start, full)
        notes.extend(more)
    daily, more = _spread_corrections(start, daily)
    notes.extend(more)
    return DailySeries(start, daily, tuple(notes))


def _missing_runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(first, last) index of each run of True in `mask`."""
    runs: list[tuple[int, int]] = []
    i = 0
    n = mask.size
    while i < n:
        if mask[i]:
            j = i
            while j + 1 < n and mask[j + 1]:
                j += 1
            runs.append((i, j))
            i = j + 1
        else:
            i += 1
    return runs


def _difference_cumulative(start: date, cum: np.ndarray, stale: np.ndarray) -> tuple[np.ndarray, list[str]]:
    notes: list[str] = []
    cum = cum.copy()
    if np.isnan(cum[0]) or np.isnan(cum[-1]):  # cannot happen: first and last day are real rows
        raise SeriesError("the first and last rows need a count")
    # A stale repeated row between busy days is a missed report: treat it as missing.
    values = cum.tolist()  # plain floats: this loop runs per row and per forecast origin
    for i in np.flatnonzero(stale).tolist():
        if i < 2 or i + 1 >= len(values):
            continue
        prev2, prev, cur, nxt = values[i - 2], values[i - 1], values[i], values[i + 1]
        if math.isnan(prev2) or math.isnan(prev) or math.isnan(nxt) or cur != prev:
            continue
        before, after = prev - prev2, nxt - cur
        level = (before + after / 2.0) / 2.0
        # The next day must look like it carries two days' cases, not just a quiet day after a busy one.
        if level >= STALE_MIN_DAILY and after > before:
            cum[i] = np.nan
            notes.append(
                f"{start + i * DAY}: the row repeats the previous day (a missed report); "
                f"its new cases are shared with {start + (i + 1) * DAY}"
            )
    gaps = _missing_runs(np.isnan(cum))
    for a, b in gaps:
        lo, hi = cum[a - 1], cum[b + 1]
        steps = b - a + 2
        cum[a : b + 1] = lo + (hi - lo) * np.arange(1, steps) / steps
        first, last = start + a * DAY, start + b * DAY
        if not any(n.startswith(f"{first}: the row repeats") for n in notes):
            span = f"{first}" if a == b else f"{first} … {last}"
            notes.append(
                f"{span}: no report; the {hi - lo:g} new cases up to {start + (b + 1) * DAY} "
                f"are spread evenly over {steps} days"
            )
    return np.diff(cum), notes


def _fill_daily_gaps(start: date, daily: np.ndarray) -> tuple[np.ndarray, list[str]]:
    notes: list[str] = []
    daily = daily.copy()
    for a, b in _missing_runs(np.isnan(daily)):
        lo, hi = daily[a - 1], daily[b + 1]
        steps = b - a + 2
        daily[a : b + 1] = lo + (hi - lo) * np.arange(1, steps) / steps
        first, last = start + a * DAY, start + b * DAY
        span = f"{first}" if a == b else f"{first} … {last}"
        notes.append(f"{span}: no count; filled by linear interpolation between the neighbouring days")
    return daily, notes


def _spread_corrections(start: date, daily: np.ndarray) -> tuple[np.ndarray, list[str]]:
    notes: list[str] = []
    negative = np.flatnonzero(daily < 0)
    if negative.size == 0:
        return daily, notes
    daily = daily.copy()
    for i in negative.tolist():
        excess = float(-daily[i])
        daily[i] = 0.0
        lo: int = max(0, i - CORRECTION_SPREAD_DAYS)
        while lo > 0 and daily[lo:i].sum() < excess:
            lo = max(0, lo - CORRECTION_SPREAD_DAYS)
        window = daily[lo:i]
        held = float(window.sum())
        day = start + i * DAY
        if held <= 0:
            notes.append(f"{day}: negative change of {-excess:g} (a data correction) with no earlier cases; set to 0")
            continue
        taken = min(excess, held)
        daily[lo:i] = window * (1.0 - taken / held)
        span = f"{start + lo * DAY} … {start + (i - 1) * DAY}"
        msg = f"{day}: negative change of {-excess:g} (a data correction) set to 0 and taken back from {span}"
        if taken < excess:
            msg += f"; only {taken:g} earlier cases could absorb it"
        notes.append(msg)
    # Proportional scaling can leave values like 1e-17 below zero; keep counts non-negative.
    np.maximum(daily, 0.0, out=daily)
    return daily, notes


# --- reading CSV ---------------------------------------------------------------------------


def _open_text(source: str | Path | TextIO) -> tuple[TextIO, bool]:
    if isinstance(source, str | Path):
        path = Path(source)
        if not path.exists():
            raise SeriesError(f"{path}: no such file")
        if path.is_dir():
            raise SeriesError(f"{path}: is a directory, not a CSV file")
        try:
            return path.open(newline="", encoding="utf-8-sig"), True
        except OSError as exc:
            raise SeriesError(f"{path}: cannot be read ({exc.strerror})") from exc
    return source, False


def _parse_date(text: str, where: str) -> date:
    text = text.strip()
    if not ISO_DATE.match(text):
        raise SeriesError(f"{where}: date {text!r} is not an ISO date (YYYY-MM-DD)")
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise SeriesError(f"{where}: date {text!r} is not a real calendar date") from exc


def _parse_count(text: str, column: str, where: str) -> float:
    text = text.strip()
    if text == "" or text.upper() in {"NA", "NAN"}:
        return math.nan  # not reported: treated as a missing day
    try:
        value = float(text.replace("_", "x"))  # float() accepts "1_000"; a CSV count should not
    except ValueError as exc:
        raise SeriesError(f"{where}: {column} {text!r} is not a number") from exc
    if not math.isfinite(value):
        raise SeriesError(f"{where}: {column} {text!r} is not a finite number")
    return value


def _read_rows(source: str | Path | TextIO) -> tuple[list[str], list[tuple[int, list[str]]]]:
    handle, owned = _open_text(source)
    try:
        try:
            text = handle.read()
        except UnicodeDecodeError as exc:
            raise SeriesError(f"the file is not UTF-8 text (byte {exc.start})") from exc
    finally:
        if owned:
            handle.close()
    if not text.strip():
        raise SeriesError("the file is empty: expected a header such as `date,cases` or `date,confirmed`")
    reader = csv.reader(io.StringIO(text))
    header: list[str] | None = None
    rows: list[tuple[int, list[str]]] = []
    for row in reader:
        if not row or all(not cell.strip() for cell in row):
            continue
        if header is None:
            header = [cell.strip().lower() for cell in row]
            continue
        rows.append((reader.line_num, row))
    assert header is not None
    return header, rows


def _column(header: list[str], options: Sequence[str]) -> int | None:
    for name in options:
        if name in header:
            return header.index(name)
    return None


@dataclass(frozen=True)
class RawSeries:
    """Parsed, not yet cleaned rows of one series (in file order), so it can be cleaned as known on any day.

    `clean(until=day)` gives the series as it could have been built on `day`: rows after it are
    ignored *before* cleaning, so a later correction or a later repeated row cannot change earlier
    values (what a forecast made that day would have seen).
    """

    days: tuple[date, ...]
    counts: tuple[float, ...]
    cumulative: bool
    stale: tuple[bool, ...]
    labels: tuple[str, ...]

    @property
    def last_day(self) -> date:
        return max(self.days)

    def clean(self, until: date | None = None) -> DailySeries:
        keep: list[int]
        if until is None:
            keep = list(range(len(self.days)))
        else:
            keep = [i for i, d in enumerate(self.days) if d <= until]
            if not keep:
                raise SeriesError(f"no rows on or before {until}")
        return daily_from_counts(
            [self.days[i] for i in keep],
            [self.counts[i] for i in keep],
            cumulative=self.cumulative,
            stale_rows=[self.stale[i] for i in keep],
            labels=[self.labels[i] for i in keep],
        )


def read_raw_csv(source: str | Path | TextIO, *, district: str | None = None) -> RawSeries:
    """Parse a series CSV (see `read_series_csv`) without cleaning it."""
    header, rows = _read_rows(source)
    if "district" in header:
        if district is None:
            raise SeriesError("the file has a `district` column: choose one district (--district NAME)")
        raw = _raw_by_district(header, rows, only=district)
        if district not in raw:
            raise SeriesError(f"no rows for district {district!r}")
        return raw[district]
    if district is not None:
        raise SeriesError("the file has no `district` column, so --district does not apply")
    return _raw_from_rows(header, rows)


def read_series_csv(
    source: str | Path | TextIO, *, district: str | None = None, until: date | None = None
) -> DailySeries:
    """Read a daily series from CSV: `date,cases` (daily incidence) or `date,confirmed,...` (cumulative).

    Also accepts EpiEstim's `dates,I`. A multi-district file (`date,district,confirmed,...`) needs
    `district=`; use `read_district_csv` for all of them. With `until`, rows after that day are
    dropped before cleaning (the series as known then). Raises `SeriesError` naming the line for
    non-ISO dates, non-numeric counts, conflicting duplicates and empty files.
    """
    return read_raw_csv(source, district=district).clean(until)


def read_district_raw(
    source: str | Path | TextIO, *, exclude: Sequence[str] = PSEUDO_DISTRICTS
) -> dict[str, RawSeries]:
    """Every district of a `date,district,confirmed,...` file, parsed but not cleaned."""
    header, rows = _read_rows(source)
    if "district" not in header:
        raise SeriesError("the file has no `district` column")
    return _raw_by_district(header, rows, exclude=exclude)


def read_district_csv(
    source: str | Path | TextIO, *, exclude: Sequence[str] = PSEUDO_DISTRICTS
) -> dict[str, DailySeries]:
    """Every district of a `date,district,confirmed,...` file, each cleaned like `read_series_csv`.

    Pseudo-districts (`exclude`) are dropped; the Haryana file has three.
    """
    return {name: raw.clean() for name, raw in read_district_raw(source, exclude=exclude).items()}


def _raw_by_district(
    header: list[str],
    rows: list[tuple[int, list[str]]],
    *,
    only: str | None = None,
    exclude: Sequence[str] = (),
) -> dict[str, RawSeries]:
    col = header.index("district")
    groups: dict[str, list[tuple[int, list[str]]]] = {}
    for line, row in rows:
        if col >= len(row) or not row[col].strip():
            raise SeriesError(f"line {line}: no district")
        name = row[col].strip()
        if (only is not None and name != only) or name in exclude:
            continue
        groups.setdefault(name, []).append((line, row))
    return {name: _raw_from_rows(header, group) for name, group in sorted(groups.items())}


def _raw_from_rows(header: list[str], rows: list[tuple[int, list[str]]]) -> RawSeries:
    date_col = _column(header, DATE_COLUMNS)
    if date_col is None:
        raise SeriesError(f"no date column: expected one of {', '.join(DATE_COLUMNS)} in the header")
    count_col = _column(header, DAILY_COLUMNS)
    cumulative = False
    if count_col is None:
        count_col = _column(header, CUMULATIVE_COLUMNS)
        cumulative = True
    if count_col is None:
        raise SeriesError(
            "no count column: expected `cases` (daily new cases) or `confirmed` (cumulative) in the header"
        )
    if not rows:
        raise SeriesError("the file has a header but no data rows")
    count_name = header[count_col]
    other_cols = [i for i, h in enumerate(header) if i != date_col and h not in ("district", "source")]
    days: list[date] = []
    counts: list[float] = []
    labels: list[str] = []
    signatures: list[tuple[str, ...]] = []
    for line, row in rows:
        where = f"line {line}"
        if len(row) <= max(date_col, count_col):
            raise SeriesError(f"{where}: expected {len(header)} columns, found {len(row)}")
        days.append(_parse_date(row[date_col], where))
        counts.append(_parse_count(row[count_col], count_name, where))
        labels.append(where)
        signatures.append(tuple(row[i].strip() for i in other_cols if i < len(row)))
    stale = [False] * len(days)
    if cumulative:
        # A row identical in every column to the previous day's is a candidate stale row; whether it
        # is treated as one also depends on the days around it (daily_from_counts).
        order = sorted(range(len(days)), key=lambda i: days[i])
        for prev, cur in itertools.pairwise(order):
            if (days[cur] - days[prev]).days == 1 and signatures[cur] == signatures[prev]:
                stale[cur] = True
    return RawSeries(tuple(days), tuple(counts), cumulative, tuple(stale), tuple(labels))
