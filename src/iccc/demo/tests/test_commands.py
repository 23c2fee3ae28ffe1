"""The demo's process orchestration (without servers), the demo key, and one real `iccc serve`."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from iccc.config.cli import demo_secret_key
from iccc.demo.management.commands.demo import simulator_argv
from iccc.demo.processes import ChildSet, gunicorn_argv, port_free, split_bind, wait_for_http


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_bind_addresses_are_checked() -> None:
    assert split_bind("127.0.0.1:8000") == ("127.0.0.1", 8000)
    assert split_bind("[::1]:8001") == ("::1", 8001)
    for bad in ("8000", "localhost:", "host:99999", ":80"):
        with pytest.raises(ValueError, match="HOST:PORT"):
            split_bind(bad)


def test_a_busy_port_is_refused_with_a_clear_reason() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        assert not port_free("127.0.0.1", port)
        with pytest.raises(CommandError, match="already in use"):
            call_command("serve", "--bind", f"127.0.0.1:{port}")
        with pytest.raises(CommandError, match="already in use"):
            call_command("demo", "--bind", f"127.0.0.1:{port}")


def test_the_children_are_started_with_this_interpreter() -> None:
    assert gunicorn_argv("127.0.0.1:9", workers=3)[:4] == [
        sys.executable,
        "-m",
        "gunicorn",
        "iccc.config.wsgi:application",
    ]
    argv = simulator_argv(scale=0.1, speed=2.0, interval=3.0, seed=9)
    assert argv[:4] == [sys.executable, "-m", "iccc.config.cli", "simulate"]
    assert argv[4:] == ["--scale", "0.1", "--speed", "2.0", "--interval", "3.0", "--seed", "9"]


def test_children_are_stopped_together_even_if_they_ignore_sigterm(tmp_path: Path) -> None:
    out = (tmp_path / "out.txt").open("w")
    children = ChildSet(out=out)
    polite = children.start("polite", [sys.executable, "-c", "import time; print('up', flush=True); time.sleep(60)"])
    stubborn = children.start(
        "stubborn",
        [sys.executable, "-c", "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)"],
    )
    time.sleep(0.5)
    began = time.monotonic()
    children.stop_all(grace=1.0)
    assert time.monotonic() - began < 5
    assert polite.proc.returncode is not None
    assert stubborn.proc.returncode is not None
    out.close()
    assert "[polite] up" in (tmp_path / "out.txt").read_text()


def test_the_demo_key_is_made_once_private_and_reused(tmp_path: Path) -> None:
    key = demo_secret_key(tmp_path / "var")
    path = tmp_path / "var" / "secret_key"
    assert len(key) >= 50
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert demo_secret_key(tmp_path / "var") == key


def test_makemigrations_runs_on_a_fresh_checkout_without_a_secret_key(tmp_path: Path) -> None:
    unset = ("SECRET_KEY", "ICCC_INSECURE_DEV_KEY", "ICCC_DEBUG", "DJANGO_SETTINGS_MODULE")
    env = {k: v for k, v in os.environ.items() if k not in unset}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    cli = [sys.executable, "-m", "iccc.config.cli"]
    done = subprocess.run(
        [*cli, "makemigrations", "--check", "--dry-run"], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "No changes detected" in done.stdout
    stored = subprocess.run([*cli, "migrate", "-v0"], env=env, capture_output=True, text=True, timeout=120)
    assert stored.returncode != 0  # anything that stores or signs still needs a real key
    assert "SECRET_KEY must be set" in stored.stderr


def test_simulate_explains_a_missing_district(db: object) -> None:
    with pytest.raises(CommandError, match="seed-demo"):
        call_command("simulate", "--batches", "1")


@pytest.mark.skipif(os.environ.get("DATABASE_URL", "").startswith("postgres"), reason="runs once, on SQLite")
def test_iccc_serve_answers_healthz_and_the_login_page(tmp_path: Path) -> None:
    """A real gunicorn on a free port against a migrated SQLite file, with no SECRET_KEY dev flag."""
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("ICCC_INSECURE_DEV_KEY", "DJANGO_SETTINGS_MODULE")},
        "DATABASE_URL": f"sqlite:///{tmp_path / 'iccc.sqlite3'}",
        "SECRET_KEY": "smoke-test-" + "x" * 50,
        "ICCC_VAR_DIR": str(tmp_path / "var"),
    }
    cli = [sys.executable, "-m", "iccc.config.cli"]
    subprocess.run([*cli, "migrate", "-v0"], env=env, check=True, timeout=120, cwd=tmp_path)
    port = free_port()
    proc = subprocess.Popen(
        [*cli, "serve", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        assert wait_for_http(f"http://127.0.0.1:{port}/healthz", timeout=30, alive=lambda: proc.poll() is None)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as resp:
            assert b'"status": "ok"' in resp.read()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=5) as resp:
            assert resp.status == 200
            assert b"csrfmiddlewaretoken" in resp.read()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait()
    assert proc.returncode is not None
