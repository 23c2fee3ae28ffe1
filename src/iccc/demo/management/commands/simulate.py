"""`iccc simulate`: replay Gurugram's real case curve, scaled, as incoming lab results. Ctrl-C stops it."""

from __future__ import annotations

import signal
import threading
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from iccc.demo.simulator import DEFAULT_INTERVAL, DEFAULT_SCALE, DEFAULT_SEED, DEFAULT_SPEED, Simulator
from iccc.geo.models import District


class Command(BaseCommand):
    help = (
        "Import a small batch of generated lab results every few seconds, following the real daily "
        "case curve x --scale, --speed simulated days per real minute. Stops cleanly on SIGINT/SIGTERM."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--district", default="gurugram")
        parser.add_argument("--scale", type=float, default=DEFAULT_SCALE, help="fraction of real cases (0.05)")
        parser.add_argument("--speed", type=float, default=DEFAULT_SPEED, help="simulated days per real minute (1)")
        parser.add_argument(
            "--start", type=date.fromisoformat, help="simulated start date, e.g. 2021-04-01 (default: carry on)"
        )
        parser.add_argument("--interval", type=float, default=DEFAULT_INTERVAL, help="real seconds between batches")
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
        parser.add_argument("--batches", type=int, help="stop after this many batches")

    def handle(self, *args: Any, **opts: Any) -> None:
        district = District.objects.filter(code=opts["district"]).first()
        if district is None:
            raise CommandError(f"district {opts['district']!r} not found; run `iccc seed-demo` first")
        if opts["scale"] <= 0 or opts["speed"] <= 0 or opts["interval"] <= 0:
            raise CommandError("--scale, --speed and --interval must be positive")
        sim = Simulator(
            district,
            scale=opts["scale"],
            speed=opts["speed"],
            start=opts["start"],
            seed=opts["seed"],
            resume=opts["start"] is None,
        )
        stop = threading.Event()

        def on_signal(signum: int, frame: Any) -> None:
            stop.set()

        signal.signal(signal.SIGINT, on_signal)
        signal.signal(signal.SIGTERM, on_signal)
        self.stdout.write(
            f"simulating {district.name} from {sim.sim_time:%Y-%m-%d %H:%M} at {opts['scale']} x the real curve, "
            f"{opts['speed']} simulated day(s) per minute, a batch every {opts['interval']} s "
            "(like real line lists, about 1% of rows are bad and 3% re-sent or repeat a person)"
        )
        batches = sim.run(
            stop, interval=opts["interval"], say=lambda line: self.stdout.write(line), max_batches=opts["batches"]
        )
        self.stdout.write(f"simulator stopped after {batches} batches at {sim.sim_time:%Y-%m-%d %H:%M}")
