"""`iccc forecast run|evaluate SERIES.csv`: weekly case forecasts and their rolling-origin evaluation."""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from iccc.insight.epi.series import (
    PSEUDO_DISTRICTS,
    DailySeries,
    SeriesError,
    read_district_raw,
    read_raw_csv,
    read_series_csv,
)
from iccc.insight.forecast import (
    DEFAULT_MIN_WEEKS,
    MIN_WEEKS,
    HorizonScore,
    evaluate,
    evaluate_many,
    forecast_weekly,
)


def _has_district_column(path: str) -> bool:
    try:
        with open(path, encoding="utf-8-sig") as fh:
            header = fh.readline()
    except OSError:
        return False
    return "district" in [c.strip().strip('"').lower() for c in header.split(",")]


def _level_key(level: float) -> str:
    return f"{level:g}"


class Command(BaseCommand):
    # Pure computation on a file: no database, so no system checks to wait for.
    requires_system_checks: list[str] = []
    help = "Forecast weekly cases (Forecast Hub quantiles) or evaluate the forecasts against the Hub baseline."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="{run,evaluate}")
        run = sub.add_parser("run", help="forecast 1 … 4 weeks ahead with the data up to --as-of")
        run.add_argument("series", help="CSV: `date,cases` (daily) or `date,confirmed,…` (cumulative)")
        run.add_argument("--as-of", required=True, help="forecast date (YYYY-MM-DD): no later data are used")
        run.add_argument("--horizons", type=int, default=4, help="weeks ahead (default 4)")
        run.add_argument("--district", help="the district, for a multi-district file")
        run.add_argument("--json", action="store_true", help="print JSON on stdout")
        ev = sub.add_parser("evaluate", help="rolling-origin evaluation against the Forecast Hub baseline")
        ev.add_argument("series", help="CSV: a daily/cumulative series, or `date,district,confirmed,…`")
        ev.add_argument("--horizons", type=int, default=4, help="weeks ahead (default 4)")
        ev.add_argument(
            "--min-weeks",
            type=int,
            default=DEFAULT_MIN_WEEKS,
            help="complete weeks of history before the first origin (default %(default)s)",
        )
        ev.add_argument("--district", help="evaluate only this district of a multi-district file")
        ev.add_argument("--json", action="store_true", help="print JSON on stdout")

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["horizons"] < 1 or opts["horizons"] > 12:
            raise CommandError(_("--horizons must be between 1 and 12"))
        try:
            if opts["action"] == "run":
                self._run(opts)
            else:
                self._evaluate(opts)
        except SeriesError as exc:
            raise CommandError(str(exc)) from exc

    # --- run ---------------------------------------------------------------------------------

    def _run(self, opts: dict[str, Any]) -> None:
        try:
            as_of = date.fromisoformat(opts["as_of"])
        except ValueError as exc:
            raise CommandError(_("--as-of must be a date YYYY-MM-DD (got %(v)r)") % {"v": opts["as_of"]}) from exc
        # Rows after --as-of are dropped before cleaning: a later correction cannot reach back.
        series = read_series_csv(opts["series"], district=opts["district"], until=as_of)
        forecasts = forecast_weekly(series, as_of, horizons=opts["horizons"])
        notes = list(series.notes)
        if as_of > series.end:
            notes.append(_("the data end on %(end)s, before --as-of") % {"end": series.end.isoformat()})
        if opts["json"]:
            payload = {
                "as_of": as_of.isoformat(),
                "forecasts": [
                    {
                        "horizon": f.horizon,
                        "target_end_date": f.target_end_date.isoformat(),
                        "quantiles": {_level_key(q): round(v, 3) for q, v in f.quantiles.items()},
                    }
                    for f in forecasts
                ],
                "notes": notes,
            }
            self.stdout.write(json.dumps(payload, ensure_ascii=False, indent=1))
            return
        out = self.stdout.write
        out(_("Weekly cases (weeks ending Saturday), data up to %(d)s") % {"d": as_of.isoformat()})
        labels = (_("2.5%"), _("25%"), _("median"), _("75%"), _("97.5%"))
        out(f"{_('h'):>2} {_('week ending'):>11} " + " ".join(f"{label:>9}" for label in labels))
        for f in forecasts:
            q = f.quantiles
            out(
                f"{f.horizon:>2} {f.target_end_date.isoformat():>11} {q[0.025]:>9,.0f} {q[0.25]:>9,.0f} "
                f"{q[0.5]:>9,.0f} {q[0.75]:>9,.0f} {q[0.975]:>9,.0f}"
            )
        for note in notes:
            out(_("note: %(note)s") % {"note": note})

    # --- evaluate ----------------------------------------------------------------------------

    def _evaluate(self, opts: dict[str, Any]) -> None:
        if opts["min_weeks"] < MIN_WEEKS:
            raise CommandError(_("--min-weeks must be at least %(n)d") % {"n": MIN_WEEKS})
        started = time.monotonic()
        path = opts["series"]
        if _has_district_column(path) and not opts["district"]:
            self._evaluate_districts(path, opts, started)
            return
        raw = read_raw_csv(path, district=opts["district"])
        series = raw.clean()
        # Each origin's forecast is made from the rows known that day (real-time vintages).
        scores = evaluate(raw, horizons=opts["horizons"], min_weeks=opts["min_weeks"])
        seconds = time.monotonic() - started
        if opts["json"]:
            payload = {
                "series": opts["district"] or path,
                "first_day": series.start.isoformat(),
                "last_day": series.end.isoformat(),
                "horizons": [s.as_dict() for s in scores],
                "notes": list(series.notes),
                "seconds": round(seconds, 2),
            }
            self.stdout.write(json.dumps(payload, ensure_ascii=False, indent=1))
            return
        self._print_table(opts["district"] or path, scores, series)
        self.stdout.write(_("%(s).1f s") % {"s": seconds})

    def _evaluate_districts(self, path: str, opts: dict[str, Any], started: float) -> None:
        series = read_district_raw(path, exclude=PSEUDO_DISTRICTS)

        def progress(name: str, done: int, total: int) -> None:
            sys.stderr.write(f"\r  {_('evaluated')} {done}/{total}: {name:<24}")
            sys.stderr.flush()

        result = evaluate_many(
            series,
            horizons=opts["horizons"],
            min_weeks=opts["min_weeks"],
            progress=progress,
            workers=min(2, os.cpu_count() or 1),
        )
        sys.stderr.write("\n")
        seconds = time.monotonic() - started
        if not result.mean:
            raise CommandError(_("no district has enough data to evaluate"))
        if opts["json"]:
            payload = {
                "series": path,
                "aggregation": "mean over districts of each district's relative WIS "
                "(mean model WIS / mean baseline WIS); relative_wis_pooled = total model WIS / total baseline WIS",
                "districts": sorted(result.per_series),
                "horizons": [s.as_dict() for s in result.mean],
                "per_district": {k: [s.as_dict() for s in v] for k, v in result.per_series.items()},
                "skipped": result.skipped,
                "excluded": list(PSEUDO_DISTRICTS),
                "seconds": round(seconds, 2),
            }
            self.stdout.write(json.dumps(payload, ensure_ascii=False, indent=1))
            return
        out = self.stdout.write
        out(_("Relative WIS by district (model / Forecast Hub baseline; below 1 is better)"))
        header = "".join(f"{'h' + str(h + 1):>7}" for h in range(opts["horizons"]))
        out(f"{_('district'):<20}{header}")
        for name, scores in result.per_series.items():
            out(f"{name:<20}" + "".join(f"{s.relative_wis or 0:>7.3f}" for s in scores))
        for name, reason in result.skipped.items():
            out(_("skipped %(name)s: %(reason)s") % {"name": name, "reason": reason})
        out("")
        self._print_table(
            _("mean over %(n)d districts") % {"n": len(result.per_series)}, result.mean, None, pooled=True
        )
        out(_("%(s).1f s") % {"s": seconds})

    def _print_table(
        self, title: str, scores: list[HorizonScore], series: DailySeries | None, *, pooled: bool = False
    ) -> None:
        out = self.stdout.write
        out(_("Rolling-origin evaluation: %(t)s") % {"t": title})
        if series is not None:
            out(_("data %(a)s … %(b)s") % {"a": series.start.isoformat(), "b": series.end.isoformat()})
        cols = [_("h"), _("n"), _("WIS"), _("baseline"), _("relative"), _("cov50"), _("cov95"), _("base cov95")]
        if pooled:
            cols.append(_("pooled rel."))
        cols.append(_("rel. log"))
        widths = [2, 5, 10, 10, 9, 6, 6, 10, 11, 9][: len(cols)] if pooled else [2, 5, 10, 10, 9, 6, 6, 10, 9]
        out(" ".join(f"{c:>{w}}" for c, w in zip(cols, widths, strict=True)))
        for s in scores:
            cells = [
                f"{s.horizon:>2}",
                f"{s.n:>5}",
                f"{s.wis:>10,.1f}",
                f"{s.baseline_wis:>10,.1f}",
                f"{s.relative_wis:>9.3f}" if s.relative_wis is not None else f"{'—':>9}",
                f"{s.coverage_50:>6.2f}",
                f"{s.coverage_95:>6.2f}",
                f"{s.baseline_coverage_95:>10.2f}",
            ]
            if pooled:
                cells.append(f"{s.relative_wis_pooled:>11.3f}" if s.relative_wis_pooled is not None else f"{'—':>11}")
            cells.append(f"{s.relative_wis_log:>9.3f}" if s.relative_wis_log is not None else f"{'—':>9}")
            out(" ".join(cells))
