"""`iccc rt SERIES.csv --si-mean M --si-sd S`: Rt by the Cori method (EpiEstim's estimate_R defaults)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from iccc.insight.epi.rt import RtWindows, discrete_si_shifted_gamma, estimate_rt
from iccc.insight.epi.series import DailySeries, SeriesError, read_series_csv

QUANTILE_KEYS = (
    ("q025", 0.025),
    ("q05", 0.05),
    ("q25", 0.25),
    ("median", 0.5),
    ("q75", 0.75),
    ("q95", 0.95),
    ("q975", 0.975),
)


def read_si_csv(path: str) -> np.ndarray:
    """A serial-interval pmf from a CSV with a `p` column (EpiEstim's `k,p`) or one value per line."""
    file = Path(path)
    if not file.is_file():
        raise CommandError(_("no such serial-interval file: %(path)s") % {"path": path})
    lines = [line.strip() for line in file.read_text(encoding="utf-8-sig").splitlines() if line.strip()]
    if not lines:
        raise CommandError(_("the serial-interval file is empty"))
    header = [c.strip().strip('"').lower() for c in lines[0].split(",")]
    col = header.index("p") if "p" in header else None
    rows = lines[1:] if col is not None else lines
    values = []
    for n, line in enumerate(rows, start=2 if col is not None else 1):
        cells = [c.strip().strip('"') for c in line.split(",")]
        try:
            values.append(float(cells[col if col is not None else -1]))
        except (ValueError, IndexError) as exc:
            raise CommandError(_("serial-interval file, line %(n)d: not a number") % {"n": n}) from exc
    return np.asarray(values)


def windows_json(series: DailySeries, windows: RtWindows) -> list[dict[str, Any]]:
    out = []
    for i in range(len(windows)):
        row: dict[str, Any] = {
            "t_start": int(windows.t_start[i]),
            "t_end": int(windows.t_end[i]),
            "date_start": (series.start + timedelta(days=int(windows.t_start[i]) - 1)).isoformat(),
            "date_end": (series.start + timedelta(days=int(windows.t_end[i]) - 1)).isoformat(),
            "mean": float(windows.mean[i]),
            "std": float(windows.std[i]),
        }
        for key, p in QUANTILE_KEYS:
            row[key] = float(windows.quantiles[p][i])
        out.append(row)
    return out


class Command(BaseCommand):
    # Pure computation on a file: no database, so no system checks to wait for.
    requires_system_checks: list[str] = []
    help = (
        "Estimate the reproduction number Rt over sliding windows by the Cori method (EpiEstim defaults: "
        "Gamma prior mean 5 and sd 5, first day imported, shifted-gamma serial interval)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("series", help="CSV: `date,cases` (daily) or `date,confirmed,…` (cumulative)")
        parser.add_argument("--si-mean", type=float, help="serial interval mean, days (parametric)")
        parser.add_argument("--si-sd", type=float, help="serial interval standard deviation, days (parametric)")
        parser.add_argument("--si-file", help="non-parametric serial interval: CSV `k,p` with p[0] = 0")
        parser.add_argument("--window", type=int, default=7, help="window length in days (default 7)")
        parser.add_argument("--mean-prior", type=float, default=5.0, help="Gamma prior mean of R (default 5)")
        parser.add_argument("--std-prior", type=float, default=5.0, help="Gamma prior sd of R (default 5)")
        parser.add_argument("--district", help="the district, for a multi-district file")
        parser.add_argument("--json", action="store_true", help="print JSON on stdout")

    def handle(self, *args: Any, **opts: Any) -> None:
        si_mean: float | None = opts["si_mean"]
        si_sd: float | None = opts["si_sd"]
        si: np.ndarray
        if opts["si_file"]:
            if si_mean is not None or si_sd is not None:
                raise CommandError(_("give either --si-file or --si-mean and --si-sd, not both"))
            si = read_si_csv(opts["si_file"])
        elif si_mean is None or si_sd is None:
            raise CommandError(_("the serial interval is needed: --si-mean M --si-sd S (or --si-file)"))
        else:
            try:
                # Cut where the remaining mass is below 1e-12: the same Rt as EpiEstim's T + 1 values.
                si = discrete_si_shifted_gamma(si_mean, si_sd)
            except ValueError as exc:
                raise CommandError(str(exc)) from exc
        try:
            series = read_series_csv(opts["series"], district=opts["district"])
            windows = estimate_rt(
                series.cases,
                si,
                window=opts["window"],
                mean_prior=opts["mean_prior"],
                std_prior=opts["std_prior"],
            )
        except (SeriesError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        rows = windows_json(series, windows)
        notes = [
            _("day 1 is %(day)s; its cases are treated as imported (EpiEstim's default)")
            % {"day": series.start.isoformat()},
            *series.notes,
        ]
        if opts["json"]:
            self.stdout.write(json.dumps({"windows": rows, "notes": notes}, ensure_ascii=False, indent=1))
            return
        out = self.stdout.write
        out(
            f"{_('t_start'):>7} {_('t_end'):>6} {_('window ends'):>11} {_('mean'):>8} {_('sd'):>7} "
            f"{_('2.5%'):>8} {_('median'):>8} {_('97.5%'):>8}"
        )
        for r in rows:
            out(
                f"{r['t_start']:>7} {r['t_end']:>6} {r['date_end']:>11} {r['mean']:>8.3f} {r['std']:>7.3f} "
                f"{r['q025']:>8.3f} {r['median']:>8.3f} {r['q975']:>8.3f}"
            )
        for note in notes:
            out(_("note: %(note)s") % {"note": note})
