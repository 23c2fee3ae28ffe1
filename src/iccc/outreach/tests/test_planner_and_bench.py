"""The staffing planner (a simulated day on the real queue code, Erlang C beside it) and the bench smoke."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command

from iccc.outreach import planner, telephony
from iccc.outreach.models import OutreachTask
from iccc.outreach.planner import PlanInput, Shift
from iccc.outreach.tests.support import T0, make_task

SMALL: dict[str, Any] = {"arrivals": 60, "isolated": 40, "agents": 3, "drain_hours": 2, "shifts": (Shift(0, 24, 1.0),)}


@pytest.mark.django_db
def test_the_same_seed_simulates_the_same_day_and_leaves_nothing_behind() -> None:
    first = planner.simulate_day(PlanInput(**SMALL, seed=7)).as_dict()
    second = planner.simulate_day(PlanInput(**SMALL, seed=7)).as_dict()
    for r in (first, second):
        r.pop("seconds")
    assert first == second
    assert first["calls"] >= 60
    assert first["median_first_contact_min"] is not None
    assert first["follow_up_adherence_pct"] is not None
    assert OutreachTask.objects.count() == 0  # rolled back


@pytest.mark.django_db
def test_more_agents_reach_patients_sooner() -> None:
    few = planner.simulate_day(PlanInput(**{**SMALL, "agents": 1}, seed=3))
    many = planner.simulate_day(PlanInput(**{**SMALL, "agents": 8}, seed=3))
    assert many.p90_first_contact_min is not None
    assert few.p90_first_contact_min is not None
    assert many.p90_first_contact_min < few.p90_first_contact_min


def test_erlang_c_matches_textbook_values() -> None:
    # 2 servers, 1 Erlang: P(wait) = 1/3.
    assert planner.erlang_c(2, 1.0) == pytest.approx(1 / 3)
    assert planner.erlang_c(10, 8.0) == pytest.approx(0.4092, abs=1e-3)
    assert planner.erlang_c(3, 3.0) == 1.0  # overloaded


def test_the_erlang_estimate_and_the_agent_search_are_consistent() -> None:
    p = PlanInput()
    needed = planner.agents_needed_estimate(p)
    assert needed is not None
    assert planner.erlang_c_estimate(p, needed)["p90_first_contact_min"] <= 120
    short = planner.erlang_c_estimate(p, max(1, needed - 5))["p90_first_contact_min"]
    assert short is None or short > 120


@pytest.mark.django_db(transaction=True)
def test_bench_smoke_small_numbers(capsys: Any) -> None:
    small = ["--agents", "3", "--tasks", "30", "--plan-scale", "0.005", "--confirm-scale", "0.005"]
    call_command("bench", "outreach", *small, "--workers", "threads", "--json")
    import json

    out = json.loads(capsys.readouterr().out)
    keys = ("claims_per_s", "double_claims", "p90_first_contact_min", "agents_needed_for_p90_2h", "database", "cores")
    assert set(keys) <= set(out)
    assert out["double_claims"] == 0
    assert out["runs"][0]["tasks_done"] == 30
    assert OutreachTask.objects.count() == 0  # the scratch district is gone


def test_the_demo_bridge_masks_the_number_and_needs_the_lease(crew: Any) -> None:
    from django.core.exceptions import PermissionDenied

    from iccc.outreach.services import claim_next_task

    task = make_task(crew.district, crew.zone_a, phone="+919876543210")
    with pytest.raises(PermissionDenied):
        telephony.start_call(crew.operator_a, task)
    claimed = claim_next_task(crew.operator_a, now=T0 + timedelta(minutes=1))
    assert claimed is not None
    handle = telephony.start_call(crew.operator_a, claimed)
    assert handle.provider == "demo"
    assert handle.call_id.startswith("demo-")
    assert handle.display == "+91 98xxxxxx10"


def test_outreach_tick_command_runs(crew: Any, capsys: Any) -> None:
    call_command("outreach_tick")
    assert "leases released" in capsys.readouterr().out


@pytest.mark.django_db
def test_on_sqlite_the_planner_runs_in_a_child_process_and_leaves_the_live_database_untouched(settings, tmp_path):
    from django.db import connection

    from iccc.outreach.models import OutreachTask

    settings.VAR_DIR = tmp_path
    isolated = planner.simulate_day_isolated(PlanInput(**SMALL, seed=7))
    in_process = planner.simulate_day(PlanInput(**SMALL, seed=7))
    # Same code, same seed, same answer — wherever it ran.
    assert isolated.p90_first_contact_min == in_process.p90_first_contact_min
    assert isolated.calls == in_process.calls
    assert not OutreachTask.objects.exists()
    if connection.vendor == "sqlite":
        assert (tmp_path / "planner-scratch.sqlite3").exists()
