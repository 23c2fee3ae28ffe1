"""`iccc seed-demo`: the Gurugram demo district, its facilities, organisations, users and a backlog."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from iccc.demo.services import BACKLOG_DAYS, DemoSeedError, format_logins, seed_demo
from iccc.demo.simulator import DEFAULT_SCALE, DEFAULT_SEED


class Command(BaseCommand):
    help = "Create the Gurugram demo (idempotent). The demo users share a printed demo password."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--backlog-days", type=int, default=BACKLOG_DAYS, help="days of cases to replay at once")
        parser.add_argument("--scale", type=float, default=DEFAULT_SCALE, help="fraction of the real case curve")
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
        parser.add_argument("--quiet-logins", action="store_true", help="do not print the demo sign-ins")

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            seed_demo(
                say=lambda line: self.stdout.write(f"  {line}"),
                backlog_days=opts["backlog_days"],
                scale=opts["scale"],
                seed=opts["seed"],
            )
        except DemoSeedError as exc:
            raise CommandError(str(exc)) from exc
        if not opts["quiet_logins"]:
            self.stdout.write(format_logins("http://127.0.0.1:8000/"))
