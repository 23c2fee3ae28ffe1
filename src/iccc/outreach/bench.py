"""`iccc bench outreach`: the work queue under 50 concurrent claimers, and the staffing planner's figures.

Queue: a scratch district with `tasks` waiting first contacts and `agents` operators;
each agent runs in its own process (own database connection; threads when the database
is SQLite in memory, as in the test suite) and loops "claim the next task, finish it"
until the queue is empty. Finishing is a plain UPDATE so that the figure is the claim's
(the outcome's own cost is measured by the planner's simulation). `claims_per_s` is all
claims over the wall time from the common start to the last agent finding the queue empty;
`double_claims` counts a task handed out more than once (must be 0). The scratch district
is deleted afterwards. Medians over `repeat` runs.

Planner: `iccc.outreach.planner.plan` on the defaults (Gurugram, 29 April 2021) with the
given agents; the simulation runs at `plan_scale` of the day (default 0.1: 504 arrivals,
3,588 in isolation, 5 of 50 agents — choose a scale that keeps agents x scale whole) to
stay quick — `--plan-scale 1` replays the whole day (several minutes). The agent search
confirms on the first contacts at `confirm_scale` (0.25).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import statistics
import threading
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from typing import Any

from django.db import OperationalError, connection, connections
from django.utils import timezone


def _in_memory() -> bool:
    name = str(connection.settings_dict.get("NAME", ""))
    return connection.vendor == "sqlite" and (":memory:" in name or "mode=memory" in name)


def _setup(agents: int, tasks: int) -> tuple[Any, list[int]]:
    import random

    from iccc.accounts.models import Role, User
    from iccc.outreach import services
    from iccc.outreach.models import OutreachSettings
    from iccc.outreach.planner import _bulk_cases, _scratch_district

    tag = uuid.uuid4().hex[:8]
    district, zone = _scratch_district(f"bench-{tag}")
    OutreachSettings.objects.create(district=district)
    now = timezone.now()
    received = [now - timedelta(minutes=i % 180) for i in range(tasks)]
    cases = _bulk_cases(district, zone, tasks, received=received, rng=random.Random(7))
    services.create_first_contact_tasks(
        [
            services.NewCase(
                case_id=str(c.pk), person_id=str(c.person_id), district_id=district.pk, zone_id=zone.pk,
                result_received_at=c.result_received_at, age=c.person.age,
            )
            for c in cases
        ],
        now=now,
    )  # fmt: skip
    User.objects.bulk_create(
        [
            User(username=f"bench-{tag}-{i}", role=Role.OPERATOR, district=district, district_wide=True)
            for i in range(agents)
        ]
    )
    ids = list(User.objects.filter(username__startswith=f"bench-{tag}-").order_by("pk").values_list("pk", flat=True))
    return district, ids


def _teardown(district: Any) -> None:
    from iccc.accounts.models import User
    from iccc.geo.models import Zone
    from iccc.outreach.models import OutreachSettings, OutreachTask
    from iccc.registry.models import Case, Person

    OutreachTask.objects.filter(district=district).delete()
    Case.objects.filter(district=district).delete()
    Person.objects.filter(district=district).delete()
    User.objects.filter(district=district).delete()
    OutreachSettings.objects.filter(district=district).delete()
    Zone.objects.filter(district=district).delete()
    district.delete()


def _retry_locked(fn: Callable[[], Any]) -> tuple[Any, int]:
    """SQLite answers "database is locked" past its busy timeout (and at once for an in-memory shared cache)."""
    for n in range(10000):
        try:
            return fn(), n
        except OperationalError as e:
            if "locked" not in str(e):
                raise
            time.sleep(0.001)
    raise OperationalError("still locked after 10000 tries")


def _finish(task_id: int, user_id: int) -> int:
    """The harness closes the task with one plain statement, so the figure is the claim's."""
    with connection.cursor() as cur:
        cur.execute(
            "UPDATE outreach_outreachtask SET status = 'done', leased_by_id = NULL, lease_expires_at = NULL, "
            "completed_at = %s WHERE id = %s AND leased_by_id = %s AND status = 'leased'",
            [timezone.now(), task_id, user_id],
        )
        return int(cur.rowcount)


def _agent_loop(user_id: int, start_at: float) -> dict[str, Any]:
    from iccc.accounts.models import User
    from iccc.outreach.services import claim_next_task

    user = User.objects.get(pk=user_id)
    user.zone_ids()
    claimed: list[int] = []
    latencies: list[float] = []
    retries = 0
    while time.time() < start_at:
        time.sleep(0.0005)
    while True:
        t0 = time.perf_counter()
        task, r = _retry_locked(lambda: claim_next_task(user))
        latencies.append(time.perf_counter() - t0)
        retries += r
        if task is None:
            break
        claimed.append(task.pk)
        _n, r = _retry_locked(partial(_finish, task.pk, user.pk))
        retries += r
    return {"claimed": claimed, "latencies": latencies, "retries": retries, "finished": time.time()}


def _process_entry(user_id: int, start_at: float, out: Any) -> None:
    try:
        out.put(_agent_loop(user_id, start_at))
    except BaseException as e:
        out.put({"error": repr(e)})
    finally:
        connections.close_all()


def _thread_entry(user_id: int, start_at: float, results: list[dict[str, Any]]) -> None:
    try:
        results.append(_agent_loop(user_id, start_at))
    except BaseException as e:
        results.append({"error": repr(e)})
    finally:
        connection.close()


def queue_run(agents: int, tasks: int, *, workers: str = "auto") -> dict[str, Any]:
    """One run of the concurrent-claim test; returns claims/s, double claims and latencies."""
    district, user_ids = _setup(agents, tasks)
    mode = ("threads" if _in_memory() else "processes") if workers == "auto" else workers
    start_at = time.time() + (0.5 if mode == "threads" else 2.0)
    results: list[dict[str, Any]] = []
    try:
        if mode == "threads":
            threads = [threading.Thread(target=_thread_entry, args=(u, start_at, results)) for u in user_ids]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        else:
            ctx = mp.get_context("fork")
            out = ctx.Queue()
            connections.close_all()  # each child opens its own connection
            procs = [ctx.Process(target=_process_entry, args=(u, start_at, out)) for u in user_ids]
            for p in procs:
                p.start()
            results = [out.get(timeout=600) for _ in procs]
            for p in procs:
                p.join(timeout=60)
        errors = [r["error"] for r in results if "error" in r]
        if errors:
            raise RuntimeError(f"{len(errors)} agents failed: {errors[:3]}")
        claimed = [pk for r in results for pk in r["claimed"]]
        elapsed = max(r["finished"] for r in results) - start_at
        lat = sorted(x for r in results for x in r["latencies"])
        from iccc.outreach.models import OutreachTask, TaskStatus

        done = OutreachTask.objects.filter(district=district, status=TaskStatus.DONE).count()
        return {
            "workers": mode,
            "claims": len(claimed),
            "tasks": tasks,
            "tasks_done": done,
            "double_claims": len(claimed) - len(set(claimed)),
            "seconds": round(elapsed, 3),
            "claims_per_s": round(len(claimed) / elapsed, 1) if elapsed > 0 else None,
            "claim_p50_ms": round(1000 * lat[len(lat) // 2], 2) if lat else None,
            "claim_p95_ms": round(1000 * lat[int(0.95 * (len(lat) - 1))], 2) if lat else None,
            "lock_retries": sum(r["retries"] for r in results),
        }
    finally:
        _teardown(district)


def run_outreach_bench(
    *,
    agents: int = 50,
    tasks: int | None = None,
    repeat: int = 3,
    plan_scale: float = 0.1,
    confirm_scale: float = 0.25,
    plan: bool = True,
    workers: str = "auto",
    seed: int = 2021,
    log: Callable[[str], None] = lambda _m: None,
) -> dict[str, Any]:
    """The queue figures (median of `repeat` runs) and the planner's, as one JSON-able dict."""
    from iccc.outreach import planner

    tasks = tasks or agents * 40
    runs = []
    for i in range(repeat):
        r = queue_run(agents, tasks, workers=workers)
        log(
            f"queue run {i + 1}/{repeat}: {r['claims_per_s']} claims/s, "
            f"{r['double_claims']} double claims ({r['workers']})"
        )
        runs.append(r)
    result: dict[str, Any] = {
        "benchmark": "outreach",
        "database": connection.vendor,
        "cores": os.cpu_count(),
        "agents": agents,
        "tasks": tasks,
        "claims_per_s": statistics.median(r["claims_per_s"] or 0 for r in runs),
        "double_claims": max(r["double_claims"] for r in runs),
        "claim_p50_ms": statistics.median(r["claim_p50_ms"] or 0 for r in runs),
        "claim_p95_ms": statistics.median(r["claim_p95_ms"] or 0 for r in runs),
        "runs": runs,
    }
    if plan:
        p = planner.PlanInput(agents=agents, scale=plan_scale, seed=seed)
        t0 = time.perf_counter()
        answer = planner.plan(p, confirm_scale=confirm_scale)
        log(f"planner: {time.perf_counter() - t0:.1f} s")
        sim = answer["simulation"]
        result.update(
            {
                "plan_scale": plan_scale,
                "median_first_contact_min": sim["median_first_contact_min"],
                "p90_first_contact_min": sim["p90_first_contact_min"],
                "pct_first_contact_in_sla": sim["pct_first_contact_in_sla"],
                "follow_up_adherence_pct": sim["follow_up_adherence_pct"],
                "erlang_c_p90_first_contact_min": answer["erlang_c"]["p90_first_contact_min"],
                "erlang_c_pct_in_sla": answer["erlang_c"]["pct_first_contact_in_sla"],
                "agents_needed_erlang_c": answer.get("agents_needed_erlang_c"),
                "agents_needed_for_p90_2h": answer.get("agents_needed_for_p90"),
                "agents_needed_confirmed": answer.get("agents_needed_confirmed"),
                "agents_needed_for_follow_ups": answer.get("agents_needed_for_follow_ups"),
                "plan": answer,
            }
        )
    else:
        result.update({"p90_first_contact_min": None, "agents_needed_for_p90_2h": None})
    return result
