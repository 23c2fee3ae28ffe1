"""`iccc load-geography`: load or update a district's boundary, zones, localities and aliases."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from iccc.geo.services import DEMOS, GeographyError, LoadSummary, load_demo_geography, load_geography_files


class Command(BaseCommand):
    help = (
        "Load a district's zones from a GeoJSON FeatureCollection (and optionally its boundary, "
        "localities and place aliases). Re-running updates in place. "
        "`--demo gurugram` loads the bundled Gurugram data."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("zones", nargs="?", help="zones GeoJSON FeatureCollection (properties: code, name, ...)")
        parser.add_argument("--demo", choices=sorted(DEMOS), help="load a bundled district instead of files")
        parser.add_argument("--code", help="district code, e.g. gurugram (required with a zones file)")
        parser.add_argument("--name", help="district name, e.g. Gurugram (required with a zones file)")
        parser.add_argument("--name-hi", default="", help="district name in Hindi")
        parser.add_argument("--state", default="", help="state, e.g. Haryana")
        parser.add_argument("--attribution", default="", help="map data attribution shown with the map")
        parser.add_argument("--district-boundary", help="district outline GeoJSON (default: the union of the zones)")
        parser.add_argument("--localities", help="localities CSV: name,kind,lat,lon[,zone,source]")
        parser.add_argument("--aliases", help="place aliases CSV: alias,target_type,target[,kind,note]")
        parser.add_argument("--zone-names-hi", help="CSV code,name_hi giving zones their Hindi names")
        parser.add_argument("--json", action="store_true", help="print the summary as JSON")

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            if opts["demo"]:
                if opts["zones"]:
                    raise CommandError(_("give either a zones file or --demo, not both"))
                summary = load_demo_geography(opts["demo"])
            else:
                if not opts["zones"]:
                    raise CommandError(_("give a zones GeoJSON file, or --demo gurugram"))
                if not opts["code"] or not opts["name"]:
                    raise CommandError(_("--code and --name are required with a zones file"))
                summary = load_geography_files(
                    code=opts["code"],
                    name=opts["name"],
                    name_hi=opts["name_hi"],
                    state=opts["state"],
                    attribution=opts["attribution"],
                    zones_path=opts["zones"],
                    boundary_path=opts["district_boundary"],
                    localities_path=opts["localities"],
                    aliases_path=opts["aliases"],
                    zone_names_hi_path=opts["zone_names_hi"],
                )
        except GeographyError as exc:
            if opts["json"]:
                self.stdout.write(json.dumps({"ok": False, "errors": exc.problems}, ensure_ascii=False, indent=2))
            lines = "\n  ".join(exc.problems)
            raise CommandError(_("nothing was loaded:\n  %(lines)s") % {"lines": lines}) from exc
        if opts["json"]:
            self.stdout.write(json.dumps({"ok": True, **summary.as_dict()}, ensure_ascii=False, indent=2))
        else:
            self._print(summary)

    def _print(self, s: LoadSummary) -> None:
        if s.district_created:
            head = _("District %(code)s created.")
        elif s.changed:
            head = _("District %(code)s updated.")
        else:
            head = _("District %(code)s is already up to date.")
        self.stdout.write(self.style.SUCCESS(head % {"code": s.district_code}))
        self.stdout.write(
            _("Zones: %(new)d new, %(upd)d changed, %(same)d unchanged.")
            % {"new": len(s.zones_created), "upd": len(s.zones_updated), "same": s.zones_unchanged}
        )
        if s.localities_created or s.localities_updated or s.localities_unchanged:
            self.stdout.write(
                _("Localities: %(new)d new, %(upd)d changed, %(same)d unchanged.")
                % {"new": s.localities_created, "upd": s.localities_updated, "same": s.localities_unchanged}
            )
        if s.aliases_created or s.aliases_updated or s.aliases_unchanged or s.aliases_removed:
            self.stdout.write(
                _("Aliases: %(new)d new, %(upd)d changed, %(same)d unchanged, %(gone)d removed.")
                % {
                    "new": s.aliases_created,
                    "upd": s.aliases_updated,
                    "same": s.aliases_unchanged,
                    "gone": s.aliases_removed,
                }
            )
        for warning in s.warnings:
            self.stdout.write(self.style.WARNING(_("warning: %(w)s") % {"w": warning}))
