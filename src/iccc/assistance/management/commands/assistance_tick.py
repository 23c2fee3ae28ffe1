"""`iccc assistance-tick`: lapsed partner offers move on, SLA breaches escalate, unconfirmed deliveries close.

Safe to run as often as you like (cron every minute, or `--every 30` to loop); the demo's
simulator and the `assistance_tick_task` run the same service.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from iccc.assistance.services import tick


class Command(BaseCommand):
    help = "Assistance housekeeping: lapsed partner offers to the next partner, SLA breaches, unconfirmed closures."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--every", type=float, help="repeat every this many seconds until interrupted")

    def handle(self, *args: Any, **opts: Any) -> None:
        every = opts.get("every")
        if every is not None and every <= 0:
            raise CommandError("--every must be positive")
        while True:
            r = tick()
            self.stdout.write(
                f"offers expired {r.acceptances_expired} (rerouted {r.rerouted}), breaches {r.breaches}, "
                f"escalated {r.escalated}, closed unconfirmed {r.auto_closed}, alerts {r.alerts}"
            )
            if every is None:
                return
            try:
                time.sleep(every)
            except KeyboardInterrupt:
                return
