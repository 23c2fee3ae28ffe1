"""`iccc bench <name>`: the project's benchmarks (not timed tests), printed for humans or as JSON.

Each benchmark is one entry in BENCHMARKS: a function adding its options to a
sub-parser and a function running it and returning a JSON-able dict. Adding one
(outreach, requests, insight) is one function pair and one line here.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from iccc.assistance import bench as requests_bench

Runner = Callable[[dict[str, Any], Callable[[str], None]], dict[str, Any]]


def _import_args(parser: Any) -> None:
    parser.add_argument("--rows", type=int, default=100_000, help="rows in the generated line list")
    parser.add_argument("--seed", type=int, default=2021)
    parser.add_argument(
        "--registry-only",
        action="store_true",
        help="detach other apps' case_registered subscribers (outreach tasks) to time the registry alone",
    )


def _import_run(opts: dict[str, Any], log: Callable[[str], None]) -> dict[str, Any]:
    from iccc.registry.bench import run_import_bench

    if opts["rows"] < 1:
        raise CommandError("--rows must be at least 1")
    return run_import_bench(
        opts["rows"], repeat=opts["repeat"], seed=opts["seed"], registry_only=opts["registry_only"], log=log
    )


def _outreach_args(parser: Any) -> None:
    parser.add_argument("--agents", type=int, default=50, help="concurrent claimers, and agents in the planner")
    parser.add_argument(
        "--tasks", type=int, default=None, help="waiting tasks in the queue test (default 40 per agent)"
    )
    parser.add_argument("--plan-scale", type=float, default=0.1, help="share of the peak day the planner simulates")
    parser.add_argument(
        "--confirm-scale", type=float, default=0.25, help="share of the day's first contacts the agent search simulates"
    )
    parser.add_argument("--no-plan", action="store_true", help="only the queue test")
    parser.add_argument("--workers", choices=["auto", "processes", "threads"], default="auto")
    parser.add_argument("--seed", type=int, default=2021)


def _outreach_run(opts: dict[str, Any], log: Callable[[str], None]) -> dict[str, Any]:
    from iccc.outreach.bench import run_outreach_bench

    if opts["agents"] < 1:
        raise CommandError("--agents must be at least 1")
    if not (0 < opts["plan_scale"] <= 1 and 0 < opts["confirm_scale"] <= 1):
        raise CommandError("--plan-scale and --confirm-scale must be in (0, 1]")
    return run_outreach_bench(
        agents=opts["agents"],
        tasks=opts["tasks"],
        repeat=opts["repeat"],
        plan_scale=opts["plan_scale"],
        confirm_scale=opts["confirm_scale"],
        plan=not opts["no_plan"],
        workers=opts["workers"],
        seed=opts["seed"],
        log=log,
    )


def _geo_args(parser: Any) -> None:
    parser.add_argument("--points", type=int, default=100_000, help="random points and addresses (default 100,000)")


def _geo_run(opts: dict[str, Any], log: Callable[[str], None]) -> dict[str, Any]:
    from iccc.geo import bench
    from iccc.geo.models import District
    from iccc.geo.services import load_demo_geography

    if opts["points"] < 1:
        raise CommandError("--points must be at least 1")
    district = District.objects.filter(code="gurugram").first()
    if district is None:
        log("loading the bundled Gurugram geography")
        load_demo_geography("gurugram")
        district = District.objects.get(code="gurugram")
    return bench.run(district.pk, n=opts["points"], repeat=max(opts["repeat"], 1))


def _insight_args(parser: Any) -> None:
    parser.add_argument("--zones", type=int, default=40, help="synthetic zones (default 40)")
    parser.add_argument("--days", type=int, default=700, help="days per zone (default 700)")


def _insight_run(opts: dict[str, Any], log: Callable[[str], None]) -> dict[str, Any]:
    from iccc.insight.bench import run

    if opts["zones"] < 1 or opts["days"] < 60:
        raise CommandError("--zones must be at least 1 and --days at least 60")
    return run(zones=opts["zones"], days=opts["days"], repeat=opts["repeat"], log=log)


BENCHMARKS: dict[str, tuple[str, Callable[[Any], None], Runner]] = {
    "import": ("lab line-list import vs a raw bulk insert", _import_args, _import_run),
    "outreach": ("work queue under concurrent claimers, and the staffing planner", _outreach_args, _outreach_run),
    "geo": ("point-in-zone lookups and address gazetteer on the Gurugram geography", _geo_args, _geo_run),
    "insight": ("Rt, nowcast, forecasts, demand and hotspots for 40 zones x 700 days", _insight_args, _insight_run),
    "requests": ("request board and routing, 10k requests", requests_bench.add_arguments, requests_bench.run),
}


class Command(BaseCommand):
    help = "Run a benchmark: " + ", ".join(BENCHMARKS)

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="benchmark", required=True, metavar="{" + ",".join(BENCHMARKS) + "}")
        for name, (helptext, add_args, _run) in BENCHMARKS.items():
            p = sub.add_parser(name, help=helptext)
            add_args(p)
            p.add_argument("--repeat", type=int, default=1, help="runs; medians are reported")
            p.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
            p.add_argument("--database-url", help="run against this database instead of DATABASE_URL")

    def handle(self, *args: Any, **opts: Any) -> None:
        url = opts.get("database_url")
        if url and os.environ.get("DATABASE_URL") != url:
            # Settings are read once at start-up: re-run this command with the other database.
            argv = [a for a in sys.argv if not a.startswith("--database-url")]
            if "--database-url" in sys.argv:
                i = sys.argv.index("--database-url")
                argv = sys.argv[:i] + sys.argv[i + 2 :]
            env = {**os.environ, "DATABASE_URL": url}
            os.execve(sys.executable, [sys.executable, "-m", "iccc.config.cli", *argv[1:]], env)  # noqa: S606
        _desc, _add, run = BENCHMARKS[opts["benchmark"]]
        err = self.stderr

        def log(msg: str) -> None:
            err.write(msg)

        if opts["repeat"] < 1:
            raise CommandError("--repeat must be at least 1")
        result = run(opts, log)
        if opts["json"]:
            self.stdout.write(json.dumps(result, indent=2))
            return
        for key, value in result.items():
            if not isinstance(value, (dict, list)):
                self.stdout.write(f"{key:>20}: {value}")
