"""Staffing planner: how fast are patients reached with N agents, and how many agents hold p90 ≤ 2 h?

Two answers side by side:

* **Simulation on the real queue code.** A day is replayed on a simulated clock: lab
  batches create cases and their first-contact tasks (`services.create_first_contact_tasks`),
  the day's follow-ups are scheduled (`services.schedule_follow_ups`), and N agents on a
  shift pattern call `services.claim_next_task(agent, now=t)` and
  `services.record_call_outcome(..., now=t + handling time)` — the same functions the
  console uses, so priorities, leases, retries (30 min apart, 3 tries, then a field
  visit) are the product's, not a model of it. Nothing sleeps. It runs in a scratch
  district inside a transaction that is rolled back, so the database is left as it was.
  SQLite has one writer at a time, so on SQLite the planner page runs it in a child
  process on a scratch database file (`simulate_day_isolated`): the live console never
  waits for a planning run.
* **Erlang-C (M/M/c) estimate**, hour by hour (stationary-independent-period): arrivals
  of the hour, the agents on shift that hour, exponential handling; the wait of each
  attempt is drawn from the Erlang-C waiting-time law, and the retry structure (reach
  probability, gap, tries) is applied on top, giving the distribution of the time to
  first contact. An hour whose calls exceed its agents' capacity builds a backlog that
  the next hours work off (a fluid carry-over; arrivals then wait behind it). It ignores
  the batching within an hour and lab batches' bursts, so it tends to be optimistic at
  the peak and pessimistic where a shift change follows a busy hour; the simulation is
  the reference.

"How many agents": the Erlang-C estimate is searched (fast) for the smallest N whose p90
is ≤ the target; simulations of the day's first contacts then check it: up by 10 % until
one meets the target, or down by 10 % while one still does (at most `confirm_runs`).

Defaults are Gurugram's peak day, 29 April 2021: 5,042 new positives, 35,879 people in
home isolation. Arrival profile (`ARRIVAL_PROFILE`): results reach the ICCC in lab
batches — twice an hour (at :00 and :30) — with hourly weights following the way the
ICMR portal line lists and private labs uploaded in 2021: little overnight, a build-up
through the morning, the peak late morning to mid-afternoon, a second smaller evening
peak. Handling times are lognormal (mean 6 min for a first contact, 4 for a follow-up,
coefficient of variation 0.5); a call reaches the patient with probability 0.75.
"""

from __future__ import annotations

import heapq
import itertools
import json
import math
import os
import random
import subprocess
import sys
import time as _time
import uuid
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction

# Relative weight of each hour of the day (local time) in the day's arrivals.
ARRIVAL_PROFILE: tuple[float, ...] = (
    1, 1, 0.5, 0.5, 0.5, 1,  # 00-05: stragglers from overnight lab runs
    2, 3, 5, 7, 8, 8,  # 06-11: morning uploads build up
    7, 7, 7, 6, 6, 6,  # 12-17: the day's main batches
    5, 5, 4, 4, 3, 2,  # 18-23: evening runs, tailing off
)  # fmt: skip
BATCHES_PER_HOUR = 2
IST = ZoneInfo("Asia/Kolkata")
PEAK_DAY = date(2021, 4, 29)
PEAK_ARRIVALS = 5042
PEAK_ISOLATED = 35879


@dataclass(frozen=True)
class Shift:
    """`share` of the agents work from `start` to `end` (hours, local; end may pass midnight)."""

    start: int
    end: int
    share: float

    def on(self, hour: float) -> bool:
        h = hour % 24
        return self.start <= h < self.end if self.start < self.end else h >= self.start or h < self.end


# Two 12-hour shifts: everyone by day, a quarter of them at night.
DEFAULT_SHIFTS: tuple[Shift, ...] = (Shift(8, 20, 1.0), Shift(20, 8, 0.25))


@dataclass
class PlanInput:
    agents: int = 50
    arrivals: int = PEAK_ARRIVALS
    isolated: int = PEAK_ISOLATED
    day: date = PEAK_DAY
    shifts: tuple[Shift, ...] = DEFAULT_SHIFTS
    first_contact_min: float = 6.0
    follow_up_min: float = 4.0
    handling_cv: float = 0.5
    reach_p: float = 0.75
    sla_min: int = 120
    retry_gap_min: int = 30
    tries: int = 3
    seed: int = 2021
    # Simulate `scale` of the arrivals, the isolated and the agents (1.0 = the whole day).
    scale: float = 1.0
    # Hours after midnight the simulation keeps going so that late arrivals are worked.
    drain_hours: int = 6

    def agents_at(self, hour: float, total: int | None = None) -> int:
        n = self.agents if total is None else total
        return sum(math.floor(n * s.share + 0.5) for s in self.shifts if s.on(hour))


@dataclass
class PlanResult:
    agents: int
    arrivals: int
    isolated: int
    scale: float
    median_first_contact_min: float | None
    p90_first_contact_min: float | None
    pct_first_contact_in_sla: float | None
    not_contacted_by_end: int
    follow_up_adherence_pct: float | None
    calls: int
    field_visits: int
    agent_utilisation_pct: float
    seconds: float
    erlang: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# ============================================================================ Erlang C


def erlang_c(c: int, load: float) -> float:
    """Probability an arrival waits in an M/M/c queue with offered load `load` (Erlangs); 1 if unstable."""
    if c <= 0 or load >= c:
        return 1.0
    b = 1.0  # Erlang B by recursion (numerically stable)
    for k in range(1, c + 1):
        b = load * b / (k + load * b)
    return c * b / (c - load * (1 - b))


def _hourly_arrivals(p: PlanInput, arrivals: float) -> list[float]:
    total = sum(ARRIVAL_PROFILE)
    return [arrivals * w / total for w in ARRIVAL_PROFILE]


def erlang_c_estimate(p: PlanInput, agents: int | None = None, *, samples: int = 20000) -> dict[str, Any]:
    """Time to first contact by the hour-by-hour Erlang-C model with retries (see the module docstring)."""
    n = p.agents if agents is None else agents
    rng = random.Random(p.seed)
    mu = 60 / p.first_contact_min  # calls per agent-hour
    per_hour = _hourly_arrivals(p, p.arrivals)
    # Each arrival makes on average 1 + q + q^2 … calls (q = 1 - reach), spread over the next hour or so.
    q = 1 - p.reach_p
    calls_per_case = sum(q**k for k in range(p.tries))
    hours = []
    for h in range(24):
        c = p.agents_at(h, n)
        lam = per_hour[h] * calls_per_case
        hours.append((c, lam, erlang_c(c, lam / mu)))
    # Hours whose load exceeds their agents build a backlog that later hours work off: a
    # fluid carry-over (two days, so midnight starts from the previous evening's queue).
    backlog = [0.0] * 24
    b = 0.0
    for h in range(48):
        if h >= 24:
            backlog[h - 24] = b
        c, lam, _pw = hours[h % 24]
        b = max(0.0, b + lam - c * mu)

    def wait(t: float) -> float:
        h, frac = int(t // 60) % 24, (t % 60) / 60
        c, lam, pw = hours[h]
        if c == 0:
            return math.inf
        queued = max(0.0, backlog[h] + (lam - c * mu) * frac)
        if queued > 0:
            return queued / (c * mu) * 60  # behind the backlog, first come first served
        if lam / mu >= c or rng.random() >= pw:
            return 0.0
        return rng.expovariate(c * mu - lam) * 60

    out = []
    weights = list(itertools.accumulate(per_hour))
    for _ in range(samples):
        h = rng.choices(range(24), cum_weights=weights)[0]
        t = rng.random() * 60  # minutes into the hour
        start = t
        for attempt in range(p.tries):
            w = wait(h * 60 + t)
            if not math.isfinite(w):
                out.append(math.inf)  # nobody on shift
                break
            t += w + rng.expovariate(1 / p.first_contact_min)
            if rng.random() < p.reach_p:
                out.append(t - start)
                break
            if attempt < p.tries - 1:
                t += p.retry_gap_min
        else:
            out.append(math.inf)  # a field visit: not reached by phone
    out.sort()
    finite = [x for x in out if math.isfinite(x)]
    p90 = out[int(0.9 * (len(out) - 1))]
    return {
        "agents": n,
        "median_first_contact_min": _r(out[len(out) // 2]),
        "p90_first_contact_min": _r(p90) if math.isfinite(p90) else None,
        "pct_first_contact_in_sla": _r(100 * sum(1 for x in finite if x <= p.sla_min) / len(out)),
        "peak_hour_utilisation_pct": _r(100 * max((lam / mu) / c if c else 1.0 for c, lam, _pw in hours)),
        "follow_up_adherence_pct": _follow_up_estimate(p, hours, mu, calls_per_case),
        "overloaded_hours": sum(1 for c, lam, _pw in hours if c == 0 or lam / mu >= c),
        "backlog_at_midnight_calls": round(backlog[0], 1),
    }


def _follow_up_estimate(
    p: PlanInput, hours: list[tuple[int, float, float]], mu: float, calls_per_case: float
) -> float | None:
    """% of the isolated reached today: agent time left after first contacts (07:00-24:00, at 90 %)
    over the follow-up calls needed, times the chance that one of the tries reaches them."""
    if not p.isolated:
        return None
    spare_min = sum(max(0.0, 0.9 * c * 60 - lam / mu * 60) for c, lam, _pw in hours[7:])
    needed_min = p.isolated * calls_per_case * p.follow_up_min
    reach = 1 - (1 - p.reach_p) ** p.tries
    return _r(100 * min(1.0, spare_min / needed_min) * reach)


def agents_needed_estimate(p: PlanInput, target_p90_min: float = 120, *, limit: int = 5000) -> int | None:
    """The smallest agent count whose Erlang-C p90 meets the target (bisection on the monotone estimate)."""

    def ok(n: int) -> bool:
        v = erlang_c_estimate(p, n, samples=5000)["p90_first_contact_min"]
        return v is not None and v <= target_p90_min

    lo, hi = 1, 8
    while not ok(hi):
        lo, hi = hi, hi * 2
        if hi > limit:
            return None
    while lo < hi:
        mid = (lo + hi) // 2
        if ok(mid):
            hi = mid
        else:
            lo = mid + 1
    return hi


def agents_for_workload(p: PlanInput, *, utilisation: float = 0.85) -> int:
    """Agents whose shift hours cover the day's whole call work (first contacts, follow-ups, retries).

    The p90 target needs only enough agents for the first contacts (they go first); this is
    the head-count at which every isolated patient can also be called, at `utilisation`.
    """
    q = 1 - p.reach_p
    calls_per_case = sum(q**k for k in range(p.tries))
    minutes = calls_per_case * (p.arrivals * p.first_contact_min + p.isolated * p.follow_up_min)
    hours_per_agent = sum(s.share * ((s.end - s.start) % 24 or 24) for s in p.shifts)
    return math.ceil(minutes / 60 / (hours_per_agent * utilisation))


def _r(v: float | None) -> float | None:
    return None if v is None else round(v, 1)


# ============================================================================ simulation


def _lognormal(rng: random.Random, mean: float, cv: float) -> float:
    sigma2 = math.log(1 + cv * cv)
    return rng.lognormvariate(math.log(mean) - sigma2 / 2, math.sqrt(sigma2))


class _Rollback(Exception):
    pass


def simulate_day(p: PlanInput) -> PlanResult:
    """Replay one day on the real queue code in a scratch district; everything is rolled back after."""
    started = _time.perf_counter()
    holder: dict[str, PlanResult] = {}
    try:
        with transaction.atomic():
            holder["r"] = _simulate(p)
            raise _Rollback
    except _Rollback:
        pass
    result = holder["r"]
    result.seconds = round(_time.perf_counter() - started, 2)
    return result


class PlannerError(RuntimeError):
    """The isolated planning run failed; the message says why."""


def simulate_day_isolated(p: PlanInput, *, timeout_s: float = 300) -> PlanResult:
    """`simulate_day`, never holding the live database's write lock for long.

    PostgreSQL: in this process (the scratch district's rows lock nobody else's). SQLite: in
    a child process on `var/planner-scratch.sqlite3`, migrated on first use, so the live
    file's single write lock stays free for the agents working the queue.
    """
    from django.conf import settings
    from django.db import connection

    if connection.vendor != "sqlite":
        return simulate_day(p)
    scratch = Path(settings.VAR_DIR) / "planner-scratch.sqlite3"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{scratch}"}
    try:
        done = subprocess.run(
            [sys.executable, "-m", "iccc.outreach.planner"],
            input=json.dumps(_input_to_json(p)),
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise PlannerError(f"the planning run took longer than {timeout_s:.0f} s") from exc
    if done.returncode != 0:
        raise PlannerError(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "planning run failed")
    return PlanResult(**json.loads(done.stdout))


def _input_to_json(p: PlanInput) -> dict[str, Any]:
    data = asdict(p)
    data["day"] = p.day.isoformat()
    return data


def _input_from_json(data: dict[str, Any]) -> PlanInput:
    data = dict(data)
    data["day"] = date.fromisoformat(data["day"])
    data["shifts"] = tuple(Shift(**s) for s in data["shifts"])
    return PlanInput(**data)


def _child_main() -> None:
    """Entry point of the isolated run: plan input as JSON on stdin, the result as JSON on stdout."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "iccc.config.settings")
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    result = simulate_day(_input_from_json(json.loads(sys.stdin.read())))
    sys.stdout.write(json.dumps(result.as_dict(), default=str))


def _scratch_district(tag: str) -> Any:
    from iccc.geo.models import District, Zone

    box = {"type": "Polygon", "coordinates": [[[0, 0], [0.1, 0], [0.1, 0.1], [0, 0.1], [0, 0]]]}
    d = District.objects.create(
        code=f"plan-{tag}", name=f"Planner {tag}", boundary=box, min_lon=0, min_lat=0, max_lon=0.1, max_lat=0.1
    )
    zone = Zone.objects.create(district=d, code="P", name="Planner", geometry=box, centroid_lat=0.05, centroid_lon=0.05)
    return d, zone


def _age(rng: random.Random) -> int:
    return int(min(95, max(1, rng.gauss(40, 17))))


def _bulk_cases(district: Any, zone: Any, n: int, *, received: list[datetime], rng: random.Random) -> list[Any]:
    from iccc.registry.models import Case, Person

    people = [
        Person(
            district=district, name=f"Patient {i}", name_key=f"patient {i}", age=_age(rng),
            phone=f"+9190000{i:05d}", phone_kind="mobile", zone=zone,
        )
        for i in range(n)
    ]  # fmt: skip
    Person.objects.bulk_create(people, batch_size=2000)
    tag = uuid.uuid4().hex[:6]
    cases = [
        Case(
            district=district, person=person, srf_id=f"P{tag}{i}", result_date=at.astimezone(IST).date(),
            result_received_at=at, zone=zone,
        )
        for i, (person, at) in enumerate(zip(people, received, strict=True))
    ]  # fmt: skip
    Case.objects.bulk_create(cases, batch_size=2000)
    return cases


def _simulate(p: PlanInput) -> PlanResult:
    from iccc.accounts.models import Role, User
    from iccc.outreach import kpis, services
    from iccc.outreach.models import CallOutcome, OutreachSettings, OutreachTask, TaskKind

    rng = random.Random(p.seed)
    tag = uuid.uuid4().hex[:8]
    district, zone = _scratch_district(tag)
    OutreachSettings.objects.create(
        district=district, sla_minutes=p.sla_min, retry_count=p.tries, retry_gap_minutes=p.retry_gap_min,
        lease_seconds=3600,
    )  # fmt: skip
    arrivals = max(1, round(p.arrivals * p.scale))
    isolated = round(p.isolated * p.scale)
    n_agents = max(1, math.floor(p.agents * p.scale + 0.5))
    day0 = datetime.combine(p.day, time(0), tzinfo=IST)

    # People already in home isolation (results of the previous 9 days): today's follow-ups.
    if isolated:
        earlier = [day0 - timedelta(days=rng.randint(1, 9), hours=rng.random() * 12) for _ in range(isolated)]
        _bulk_cases(district, zone, isolated, received=earlier, rng=rng)

    # The day's lab batches.
    per_hour = _hourly_arrivals(p, arrivals)
    batch_sizes: list[tuple[datetime, int]] = []
    carried = 0.0
    for h in range(24):
        for b in range(BATCHES_PER_HOUR):
            carried += per_hour[h] / BATCHES_PER_HOUR
            size = int(carried)
            carried -= size
            batch_sizes.append((day0 + timedelta(hours=h, minutes=60 * b / BATCHES_PER_HOUR), size))
    batch_sizes[-1] = (batch_sizes[-1][0], batch_sizes[-1][1] + round(carried))

    users = [
        User(username=f"plan-{tag}-{i}", role=Role.OPERATOR, district=district, district_wide=True, languages="en,hi")
        for i in range(n_agents)
    ]
    User.objects.bulk_create(users)
    users = list(User.objects.filter(username__startswith=f"plan-{tag}-").order_by("pk"))
    # Each agent works the shift their index falls in (the first `share` of agents by day, …).
    shift_of: list[list[Shift]] = [[] for _ in users]
    for s in p.shifts:
        for i in range(math.floor(n_agents * s.share + 0.5)):
            shift_of[i % n_agents].append(s)

    end = day0 + timedelta(days=1, hours=p.drain_hours)
    seq = itertools.count()
    events: list[tuple[datetime, int, str, Any]] = []
    for at, size in batch_sizes:
        if size:
            heapq.heappush(events, (at, next(seq), "batch", size))
    heapq.heappush(events, (day0 + timedelta(hours=7), next(seq), "follow_ups", None))
    for hour in range(0, 24 + p.drain_hours):
        heapq.heappush(events, (day0 + timedelta(hours=hour), next(seq), "shift", None))
    pending_cases = iter(
        _bulk_cases(district, zone, arrivals, received=[at for at, size in batch_sizes for _ in range(size)], rng=rng)
    )
    idle: set[int] = set(range(n_agents))
    busy_minutes = 0.0
    on_shift_minutes = 0.0
    calls = 0

    def working(i: int, at: datetime) -> bool:
        hour = (at - day0).total_seconds() / 3600
        return any(s.on(hour) for s in shift_of[i])

    def try_claim(i: int, at: datetime) -> bool:
        nonlocal busy_minutes, calls
        if not working(i, at):
            return False
        task = services.claim_next_task(users[i], now=at)
        if task is None:
            return False
        mean = p.follow_up_min if task.kind == TaskKind.FOLLOW_UP else p.first_contact_min
        handle = _lognormal(rng, mean, p.handling_cv)
        busy_minutes += handle
        calls += 1
        outcome = CallOutcome.REACHED if rng.random() < p.reach_p else CallOutcome.NOT_REACHABLE
        heapq.heappush(events, (at + timedelta(minutes=handle), next(seq), "done", (i, task, outcome)))
        return True

    def wake(at: datetime, how_many: int) -> None:
        for i in sorted(idle):
            if how_many <= 0:
                break
            if try_claim(i, at):
                idle.discard(i)
                how_many -= 1
            elif working(i, at):
                break  # nothing claimable for anyone (agents are alike): stop asking

    while events:
        at, _s, kind, data = heapq.heappop(events)
        if at > end:
            break
        if kind == "batch":
            cases = [next(pending_cases) for _ in range(data)]
            services.create_first_contact_tasks(
                [
                    services.NewCase(
                        case_id=str(c.pk), person_id=str(c.person_id), district_id=district.pk, zone_id=zone.pk,
                        result_received_at=c.result_received_at, age=c.person.age,
                    )
                    for c in cases
                ],
                now=at,
            )  # fmt: skip
            wake(at, data)
        elif kind == "follow_ups":
            created = services.schedule_follow_ups(p.day, district_id=district.pk, now=at).created
            wake(at, created)
        elif kind == "shift":
            on = sum(1 for i in range(n_agents) if working(i, at))
            on_shift_minutes += on * 60
            wake(at, n_agents)
        elif kind == "done":
            i, task, outcome = data
            services.record_call_outcome(users[i], task, outcome, idempotency_key=f"{tag}-{next(seq)}", now=at)
            if outcome != CallOutcome.REACHED and task.status == "open":
                heapq.heappush(events, (task.available_at, next(seq), "retry", None))
            if not try_claim(i, at):
                idle.add(i)
        elif kind == "retry":
            wake(at, 1)

    since, until = day0, day0 + timedelta(days=1)
    stats = kpis.first_contact_stats(district.pk, since=since, until=until, now=end)["overall"]
    adherence = kpis.follow_up_adherence(district.pk, p.day, tz=IST)
    visits = OutreachTask.objects.filter(district=district, kind=TaskKind.FIELD_VISIT).count()
    return PlanResult(
        agents=p.agents,
        arrivals=p.arrivals,
        isolated=p.isolated,
        scale=p.scale,
        median_first_contact_min=stats["median_min"],
        p90_first_contact_min=_p90_with_waiting(district.pk, since, until, end),
        pct_first_contact_in_sla=stats["pct_within_sla"],
        not_contacted_by_end=stats["waiting"],
        follow_up_adherence_pct=adherence["pct"],
        calls=calls,
        field_visits=visits,
        # Calls that run past a shift's end count in full: capped at 100 %.
        agent_utilisation_pct=round(min(100.0, 100 * busy_minutes / on_shift_minutes), 1) if on_shift_minutes else 0.0,
        seconds=0.0,
    )


def _p90_with_waiting(district_id: int, since: datetime, until: datetime, end: datetime) -> float | None:
    """p90 over every case of the day: one not reached by phone counts as reached at the end (censored)."""
    from iccc.outreach.kpis import percentile
    from iccc.outreach.models import OutreachTask, TaskKind

    rows = OutreachTask.objects.filter(
        district_id=district_id, kind=TaskKind.FIRST_CONTACT, clock_start__gte=since, clock_start__lt=until
    ).values_list("clock_start", "contacted_at")
    minutes = [((c or end) - s).total_seconds() / 60 for s, c in rows]
    return _r(percentile(minutes, 90))


# ============================================================================ the planner's answer


def plan(
    p: PlanInput,
    *,
    target_p90_min: float = 120,
    search: bool = True,
    confirm: bool = True,
    confirm_scale: float = 0.25,
    confirm_runs: int = 3,
) -> dict[str, Any]:
    """Simulate `p`, put the Erlang-C estimate beside it, and answer "how many agents for p90 ≤ target".

    The search runs on the Erlang-C estimate (instant); the answer is then confirmed by
    simulating the first contacts of the day at `confirm_scale` (agents scaled alike)
    without the follow-ups: they are served after first contacts, so they delay one by at
    most the follow-up call in progress. If the simulation disagrees, N grows by 10 %.
    """
    sim = simulate_day(p)
    out: dict[str, Any] = {"simulation": sim.as_dict(), "erlang_c": erlang_c_estimate(p)}
    if search:
        needed_est = agents_needed_estimate(p, target_p90_min)
        out["agents_needed_erlang_c"] = needed_est
        confirmations: list[dict[str, Any]] = []
        needed, confirmed = needed_est, False
        if confirm and needed_est is not None:
            n, step_down = needed_est, None
            for _ in range(confirm_runs):
                check = simulate_day(replace(p, agents=n, isolated=0, scale=confirm_scale))
                ok = check.p90_first_contact_min is not None and check.p90_first_contact_min <= target_p90_min
                confirmations.append(
                    {"agents": n, "scale": confirm_scale, "p90_first_contact_min": check.p90_first_contact_min,
                     "pct_first_contact_in_sla": check.pct_first_contact_in_sla, "meets_target": ok,
                     "seconds": check.seconds}
                )  # fmt: skip
                if step_down is None:
                    step_down = ok  # the first answer decides the direction of the search
                if ok:
                    needed, confirmed = n, True
                    if not step_down:
                        break
                    n = max(1, math.floor(n * 0.9))
                else:
                    if step_down:
                        break  # the last one that met the target stands
                    needed = n = math.ceil(n * 1.1)
        out["confirmations"] = confirmations
        out["agents_needed_for_p90"] = needed
        out["agents_needed_confirmed"] = confirmed
    out["agents_needed_for_follow_ups"] = agents_for_workload(p)
    return out


if __name__ == "__main__":
    _child_main()
