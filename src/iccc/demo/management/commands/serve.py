"""`iccc serve`: the web application under gunicorn (127.0.0.1:8000 by default)."""

from __future__ import annotations

import os
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from iccc.demo.processes import ensure_static_root, gunicorn_argv, port_free, split_bind


class Command(BaseCommand):
    help = "Serve ICCC with gunicorn. Static files are served by WhiteNoise; no collectstatic needed."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--bind", default="127.0.0.1:8000", help="host:port (default 127.0.0.1:8000)")
        parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
        parser.add_argument("--threads", type=int, default=4, help="threads per worker (default 4)")

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            host, port = split_bind(opts["bind"])
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if opts["workers"] < 1 or opts["threads"] < 1:
            raise CommandError("--workers and --threads must be at least 1")
        if not port_free(host, port):
            raise CommandError(f"{host}:{port} is already in use; choose another with --bind HOST:PORT")
        ensure_static_root()
        argv = gunicorn_argv(opts["bind"], workers=opts["workers"], threads=opts["threads"])
        sys.stdout.flush()
        # Replace this process: gunicorn then receives the signals (Ctrl-C, SIGTERM) itself.
        os.execv(argv[0], argv)  # noqa: S606
