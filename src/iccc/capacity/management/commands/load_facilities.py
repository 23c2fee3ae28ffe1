"""`iccc load-facilities [--demo gurugram | --facilities FILE [--beds FILE] --district CODE]`."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from iccc.capacity.services import demo_files, load_facilities
from iccc.capacity.sources import SourceError
from iccc.geo.models import District


class Command(BaseCommand):
    help = "Load a district's facilities (and their latest bed figures). Safe to run again."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--demo", metavar="CODE", help="the bundled data of a demo district, e.g. gurugram")
        parser.add_argument("--district", metavar="CODE", help="district code (default: the --demo code)")
        parser.add_argument("--facilities", type=Path, metavar="CSV", help="name,kind,lat,lon,address,source,…")
        parser.add_argument("--beds", type=Path, metavar="CSV", help="bed-portal snapshots (latest per hospital)")
        parser.add_argument(
            "--as-of", metavar="now|ISO", help="stamp new bed figures with this time instead of the snapshot's"
        )
        parser.add_argument("--json", action="store_true", help="print the summary as JSON")

    def handle(self, *args: Any, **opts: Any) -> None:
        code = opts["district"] or opts["demo"]
        if not code:
            raise CommandError("give --demo CODE or --district CODE")
        facilities, beds = opts["facilities"], opts["beds"]
        try:
            if opts["demo"]:
                facilities, beds = demo_files(opts["demo"])
                beds = beds if beds.exists() else None
        except SourceError as exc:
            raise CommandError(str(exc)) from exc
        if facilities is None:
            raise CommandError("give --facilities CSV (or --demo CODE)")
        district = District.objects.filter(code=code).first()
        if district is None:
            raise CommandError(
                f"district {code!r} not found; load it first: iccc load-geography --demo {code}"
                if opts["demo"]
                else f"district {code!r} not found; load it first with iccc load-geography"
            )
        try:
            summary = load_facilities(
                district, facilities_csv=facilities, beds_csv=beds, as_of=_parse_as_of(opts["as_of"])
            )
        except SourceError as exc:
            raise CommandError(str(exc)) from exc
        if opts["json"]:
            self.stdout.write(json.dumps(summary.as_dict(), indent=2, ensure_ascii=False))
            return
        s = summary
        self.stdout.write(
            f"{district.name}: facilities {s.facilities_created} new, {s.facilities_updated} updated, "
            f"{s.facilities_unchanged} unchanged; beds {s.beds_created} new, {s.beds_updated} updated, "
            f"{s.beds_unchanged} unchanged; {s.organisations_created} organisations created"
        )
        for name in s.outside_district:
            self.stdout.write(f"  skipped (outside the district): {name}")
        for line in s.superseded:
            self.stdout.write(f"  superseded: {line}")
        for err in s.errors:
            self.stderr.write(f"  {err['file']} row {err['row']}: {err['reason']}")


def _parse_as_of(value: str | None) -> datetime | None:
    if not value:
        return None
    if value == "now":
        return timezone.now()
    try:
        at = datetime.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"--as-of {value!r}: not 'now' or an ISO date-time") from exc
    if at.tzinfo is None:
        raise CommandError(f"--as-of {value!r}: give a time zone, e.g. 2021-05-01T12:00+05:30")
    return at
