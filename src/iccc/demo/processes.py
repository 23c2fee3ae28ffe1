"""Starting, watching and stopping the demo's child processes (web server, task worker, simulator)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO


def split_bind(bind: str) -> tuple[str, int]:
    """'127.0.0.1:8000' -> ('127.0.0.1', 8000), with a clear error for anything else."""
    host, sep, port = bind.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"--bind {bind!r}: expected HOST:PORT, e.g. 127.0.0.1:8000")
    return host.strip("[]"), int(port)


def port_free(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def gunicorn_argv(bind: str, *, workers: int = 2, threads: int = 4) -> list[str]:
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "iccc.config.wsgi:application",
        "--bind",
        bind,
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--graceful-timeout",
        "5",
        "--error-logfile",
        "-",
        # No control socket: its default path is shared by every gunicorn of the user
        # (two demos would fight over it) and nothing here uses it.
        "--no-control-socket",
    ]


def ensure_static_root() -> None:
    """WhiteNoise serves from the finders; an absent STATIC_ROOT only earns a warning per worker."""
    from django.conf import settings

    Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)


def iccc_argv(*args: str) -> list[str]:
    """Run an `iccc` subcommand with this interpreter (works without the console script on PATH)."""
    return [sys.executable, "-m", "iccc.config.cli", *args]


def wait_for_http(url: str, *, timeout: float, alive: Callable[[], bool] = lambda: True) -> bool:
    """Poll `url` until it answers 200, the deadline passes, or `alive()` turns false."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and alive():
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:  # noqa: S310 (our own local URL)
                if resp.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.2)
    return False


@dataclass
class Child:
    name: str
    proc: subprocess.Popen[str]
    pump: threading.Thread


@dataclass
class ChildSet:
    """Child processes whose output is prefixed with their name; stopped together, newest first."""

    out: IO[str] = field(default_factory=lambda: sys.stdout)
    children: list[Child] = field(default_factory=list)

    def start(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> Child:
        environ = {**os.environ, **(env or {}), "PYTHONUNBUFFERED": "1"}
        # A session of its own: Ctrl-C reaches only the parent, which then stops children in order.
        proc = subprocess.Popen(  # noqa: S603
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            bufsize=1,
            env=environ,
            start_new_session=True,
        )
        pump = threading.Thread(target=self._pump, args=(name, proc), daemon=True)
        pump.start()
        child = Child(name, proc, pump)
        self.children.append(child)
        return child

    def _pump(self, name: str, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            self.out.write(f"[{name}] {line}")
            self.out.flush()

    def exited(self) -> list[Child]:
        return [c for c in self.children if c.proc.poll() is not None]

    def stop_all(self, grace: float = 10.0) -> None:
        for child in reversed(self.children):
            if child.proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    child.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace
        for child in reversed(self.children):
            try:
                child.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                # Its own process group (start_new_session): this also ends gunicorn's workers.
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(child.proc.pid, signal.SIGKILL)
                child.proc.wait()
            child.pump.join(timeout=2)
