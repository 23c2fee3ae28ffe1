"""`iccc demo` (what `make demo` runs): migrate, seed, then web server + task worker + simulator."""

from __future__ import annotations

import signal
import sys
import threading
import time
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from iccc.demo.processes import (
    ChildSet,
    ensure_static_root,
    gunicorn_argv,
    iccc_argv,
    port_free,
    split_bind,
    wait_for_http,
)
from iccc.demo.services import BACKLOG_DAYS, DemoSeedError, format_logins, seed_demo
from iccc.demo.simulator import DEFAULT_INTERVAL, DEFAULT_SCALE, DEFAULT_SEED, DEFAULT_SPEED

SERVER_START_TIMEOUT = 60.0


def simulator_argv(*, scale: float, speed: float, interval: float, seed: int) -> list[str]:
    return iccc_argv(
        "simulate", "--scale", str(scale), "--speed", str(speed), "--interval", str(interval), "--seed", str(seed)
    )


class Command(BaseCommand):
    help = "Run the live Gurugram demo on this machine. Ctrl-C stops everything."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--bind", default="127.0.0.1:8000", help="host:port of the web server")
        parser.add_argument("--workers", type=int, default=2, help="web worker processes")
        parser.add_argument("--scale", type=float, default=DEFAULT_SCALE, help="fraction of the real case curve")
        parser.add_argument("--speed", type=float, default=DEFAULT_SPEED, help="simulated days per real minute")
        parser.add_argument("--interval", type=float, default=DEFAULT_INTERVAL, help="seconds between batches")
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
        parser.add_argument("--backlog-days", type=int, default=BACKLOG_DAYS)
        parser.add_argument("--no-simulator", action="store_true", help="serve the seeded demo without new cases")

    def handle(self, *args: Any, **opts: Any) -> None:
        began = time.monotonic()
        try:
            host, port = split_bind(opts["bind"])
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if not port_free(host, port):
            raise CommandError(f"{host}:{port} is already in use (another demo?); try --bind 127.0.0.1:8001")
        url = f"http://{'localhost' if host in ('127.0.0.1', '0.0.0.0') else host}:{port}/"  # noqa: S104
        db = settings.DATABASES["default"]
        self.stdout.write(f"ICCC demo — database: {connection.vendor} {db['NAME']}")
        self.stdout.write("migrating …")
        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write(f"seeding the Gurugram demo … ({time.monotonic() - began:.1f} s)")
        try:
            seed_demo(
                say=lambda line: self.stdout.write(f"  [{time.monotonic() - began:4.1f} s] {line}"),
                backlog_days=opts["backlog_days"],
                scale=opts["scale"],
                seed=opts["seed"],
            )
        except DemoSeedError as exc:
            raise CommandError(str(exc)) from exc
        ensure_static_root()
        connection.close()  # the children open their own connections

        stop = threading.Event()
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        children = ChildSet(out=sys.stdout)
        try:
            web = children.start("web", gunicorn_argv(opts["bind"], workers=opts["workers"]))
            children.start("worker", iccc_argv("db_worker", "--interval", "1"))
            if not wait_for_http(
                f"http://{host}:{port}/healthz", timeout=SERVER_START_TIMEOUT, alive=lambda: web.proc.poll() is None
            ):
                raise CommandError(f"the web server did not answer on {host}:{port} (see the [web] lines above)")
            ready = time.monotonic() - began
            if not opts["no_simulator"]:
                children.start(
                    "simulator",
                    simulator_argv(
                        scale=opts["scale"], speed=opts["speed"], interval=opts["interval"], seed=opts["seed"]
                    ),
                )
            self.stdout.write("")
            self.stdout.write(self.style.SUCCESS(f"ICCC is serving at {url} ({ready:.1f} s after start)"))
            self.stdout.write(format_logins(url))
            self.stdout.write("Press Ctrl-C to stop the demo.\n")
            while not stop.wait(0.5):
                # The simulator ends by itself (exit 0) when the real curve runs out; that is fine.
                dead = [c for c in children.exited() if not (c.name == "simulator" and c.proc.returncode == 0)]
                if dead:
                    names = ", ".join(f"{c.name} (exit {c.proc.returncode})" for c in dead)
                    raise CommandError(f"stopping the demo: {names} ended unexpectedly")
        finally:
            self.stdout.write("stopping the demo …")
            children.stop_all()
            self.stdout.write("demo stopped.")
