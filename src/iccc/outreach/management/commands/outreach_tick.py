"""`iccc outreach-tick`: outreach housekeeping (lapsed leases, today's follow-ups, releases, breaches).

Safe to run as often as you like (cron every minute, or `--every 30` to loop); the demo's
simulator runs the same service after each batch.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from iccc.outreach.services import outreach_tick


class Command(BaseCommand):
    help = "Outreach housekeeping: lapsed leases back to the queue, today's follow-ups and releases, SLA breaches."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--every", type=float, help="repeat every this many seconds until interrupted")

    def handle(self, *args: Any, **opts: Any) -> None:
        every = opts.get("every")
        if every is not None and every <= 0:
            raise CommandError("--every must be positive")
        while True:
            r = outreach_tick()
            self.stdout.write(
                f"leases released {r.leases_released}, follow-ups created {r.follow_ups_created}, "
                f"released from isolation {r.released}, breaches {r.breaches_marked} ({r.alerts} alerts)"
            )
            if every is None:
                return
            try:
                time.sleep(every)
            except KeyboardInterrupt:
                return
