"""`iccc insight-refresh`: compute and store a district's analyses (Rt, forecasts, demand, hotspots, scenarios).

Run it from cron (e.g. every 10 minutes with `--due`: only districts whose last run is older than
their refresh interval are recomputed), after loading a recorded series, or by hand with a
district and an as-of day. `--history FILE` first loads the district's recorded case series
(a bundled file name such as gurugram_daily.csv, or a path) and makes it the series' source.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from iccc.geo.models import District
from iccc.insight.models import RunStatus, RunTrigger, SeriesSource
from iccc.insight.services import (
    compute_insight,
    configure_series_source,
    districts_due,
    load_historical_series,
)


class Command(BaseCommand):
    help = "Compute and store the analyses of one district (--district), every due district (--due) or all."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--district", help="district code (default: every district)")
        parser.add_argument(
            "--due", action="store_true", help="only districts whose last run is older than their interval"
        )
        parser.add_argument("--as-of", help="last day of data to use, YYYY-MM-DD (default: yesterday)")
        parser.add_argument("--history", help="load this recorded series first (bundled file name or path)")
        parser.add_argument("--history-district", help="the district's name in a multi-district history file")
        parser.add_argument(
            "--source", choices=SeriesSource.values, help="where the district's series comes from from now on"
        )
        parser.add_argument("--registry-from", help="with --source combined: first day taken from the registry")
        parser.add_argument("--json", action="store_true", help="print the runs as JSON")

    def handle(self, *args: Any, **opts: Any) -> None:
        as_of = _date(opts.get("as_of"), "--as-of")
        registry_from = _date(opts.get("registry_from"), "--registry-from")
        code = opts.get("district")
        if (opts.get("history") or opts.get("source")) and not code:
            raise CommandError("--history and --source need --district")
        if code:
            district = District.objects.filter(code=code).first()
            if district is None:
                known = ", ".join(District.objects.order_by("code").values_list("code", flat=True)) or "none"
                raise CommandError(f"no district {code!r} (known: {known})")
            districts = [district]
        else:
            districts = districts_due() if opts["due"] else list(District.objects.order_by("code"))
        try:
            if opts.get("history"):
                series = load_historical_series(
                    districts[0], opts["history"], column_district=opts.get("history_district")
                )
                self.stderr.write(f"loaded {series}")
                if not opts.get("source"):
                    configure_series_source(districts[0], SeriesSource.HISTORICAL)
            if opts.get("source"):
                configure_series_source(districts[0], opts["source"], registry_from=registry_from)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        out = []
        for district in districts:
            run = compute_insight(district, as_of=as_of, trigger=RunTrigger.COMMAND)
            row = {
                "district": district.code,
                "run": run.pk,
                "status": run.status,
                "as_of": str(run.as_of),
                "duration_ms": run.duration_ms,
                "summary": run.summary,
                "error": run.error,
            }
            out.append(row)
            if not opts["json"]:
                rt = (run.summary or {}).get("rt") or {}
                self.stdout.write(
                    f"{district.code}: run {run.pk} {run.status} as of {run.as_of} in {run.duration_ms} ms"
                    + (f"; Rt {rt.get('mean')} ({rt.get('lower')}-{rt.get('upper')})" if rt else "")
                    + (f"; {run.error}" if run.error else "")
                )
        if opts["json"]:
            self.stdout.write(json.dumps({"runs": out}, indent=2, default=str))
        if any(r["status"] == RunStatus.FAILED for r in out):
            raise CommandError("one or more runs failed (see above)")


def _date(text: str | None, flag: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise CommandError(f"{flag}: {text!r} is not a date (YYYY-MM-DD)") from exc
