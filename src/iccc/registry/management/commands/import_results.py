"""`iccc import-results FILE`: import a lab line list (CSV or XLSX) from the terminal."""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.translation import gettext as _

from iccc.geo.models import District
from iccc.registry import services
from iccc.registry.importer.summary import ImportSummary


class ProgressBar:
    """A plain progress bar on stderr (no dependency), redrawn at most 10 times a second."""

    def __init__(self, stream: Any = None, width: int = 30) -> None:
        self.stream = stream or sys.stderr
        self.width = width
        self.started = time.monotonic()
        self.last = 0.0

    def __call__(self, rows: int, fraction: float | None) -> None:
        now = time.monotonic()
        if now - self.last < 0.1 and fraction != 1.0:
            return
        self.last = now
        rate = rows / max(now - self.started, 1e-6)
        if fraction is None:
            line = f"\r  {rows:>9,} rows  {rate:>8,.0f} rows/s"
        else:
            filled = int(self.width * fraction)
            bar = "#" * filled + "-" * (self.width - filled)
            line = f"\r  [{bar}] {fraction * 100:5.1f}%  {rows:>9,} rows  {rate:>8,.0f} rows/s"
        self.stream.write(line)
        self.stream.flush()

    def done(self) -> None:
        self.stream.write("\n")
        self.stream.flush()


class Command(BaseCommand):
    help = "Import a lab line list of positive results (CSV or XLSX, ICMR columns)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="the line list (.csv or .xlsx)")
        parser.add_argument(
            "--district", default=settings.ICCC_DISTRICT_CODE, help="district code (default: %(default)s)"
        )
        parser.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")
        parser.add_argument(
            "--received-at",
            help="when the results reached the ICCC (ISO 8601; default: now) — starts the outreach clock",
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")

    def handle(self, *args: Any, **opts: Any) -> None:
        district = District.objects.filter(code=opts["district"]).first()
        if district is None:
            raise CommandError(
                _("no district with code %(code)r: load one with `iccc load-geography` first")
                % {"code": opts["district"]}
            )
        received_at = None
        if opts["received_at"]:
            try:
                received_at = datetime.fromisoformat(opts["received_at"])
            except ValueError as exc:
                raise CommandError(_("--received-at must be an ISO 8601 date-time")) from exc
            if timezone.is_naive(received_at):
                received_at = timezone.make_aware(received_at, timezone.get_current_timezone())
        try:
            batch = services.create_import_batch(
                opts["file"], district=district, actor=None, source="cli", received_at=received_at
            )
        except FileNotFoundError as exc:
            raise CommandError(_("no such file: %(path)s") % {"path": opts["file"]}) from exc
        except services.ImportFileError as exc:
            raise CommandError(str(exc)) from exc
        show_bar = not opts["no_progress"] and (sys.stderr.isatty() or not opts["json"])
        bar = ProgressBar() if show_bar else None
        summary = services.run_import(batch, progress=bar)
        if bar is not None:
            bar.done()
        if opts["json"]:
            self.stdout.write(json.dumps(summary.to_dict(), ensure_ascii=False, indent=2))
        else:
            self._print(summary)
        if summary.failure:
            raise CommandError(summary.failure, returncode=2)

    def _print(self, s: ImportSummary) -> None:
        out = self.stdout.write
        if s.failure:
            return
        out(_("Imported batch %(id)s (%(enc)s, header on row %(row)d) in %(sec).1f s")
            % {"id": s.batch_id, "enc": s.encoding, "row": s.header_row, "sec": s.seconds})  # fmt: skip
        for label, value in (
            (_("rows read"), s.rows_total),
            (_("new cases"), s.new_cases),
            (_("  of which for people already known (updated)"), s.updated),
            (_("new people"), s.new_people),
            (_("duplicates (SRF ID already stored)"), s.duplicates),
            (_("rows in error"), s.rows_in_error),
            (_("addresses not placed"), s.unplaced),
            (_("sent for duplicate review"), s.possible_duplicates),
        ):
            out(f"  {label:<48} {value:>9,}")
        for err in s.errors[:50]:
            out(_("  row %(row)s: %(reason)s") % err)
        if s.rows_in_error > 50:
            out(_("  … and %(n)d more rows in error (use --json for all)") % {"n": s.rows_in_error - 50})
