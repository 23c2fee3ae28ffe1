"""Computing and storing a district's analyses: sources, suppression, bad data, failures, jobs, the command."""

from __future__ import annotations

import csv
import json
from datetime import date, timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import CommandError, call_command

from iccc.core.models import AuditEntry
from iccc.insight import pipeline, services
from iccc.insight.models import (
    HistoricalSeries,
    InsightResult,
    InsightRun,
    InsightSettings,
    ResultKind,
    RunStatus,
    RunTrigger,
    SeriesSource,
)
from iccc.insight.tests.conftest import AS_OF, NOW, Epidemic, add_beds, add_cases, growing
from iccc.testing.cast import Cast

EPI = Path(services.EPI_DATA)


def _results(run: InsightRun, zone: Any = None) -> dict[str, Any]:
    return services.results_of(run, zone_id=zone.pk if zone else None)


def test_a_run_stores_every_analysis_for_the_district_and_each_zone(computed: Epidemic) -> None:
    run, cast = computed.run, computed.cast
    district = _results(run)
    assert set(district) == {"epicurve", "rt", "growth", "forecast", "demand", "scenarios", "hotspots"}
    assert not any("error" in p for k, p in district.items() if k != "hotspots")
    assert set(_results(run, cast.zone_a)) == {"epicurve", "rt", "growth", "forecast"}
    assert run.as_of == AS_OF
    assert run.trigger == RunTrigger.SCHEDULE
    assert run.duration_ms is not None
    # The wave grows by a quarter a week: Rt is above 1 and the growth rate says so.
    rt = district["rt"]["latest"]
    assert rt["lower"] > 1
    assert rt["p_above_1"] > 0.99
    assert district["growth"]["doubling_days"] is not None
    assert len(district["forecast"]["forecasts"]) == 4
    assert len(district["forecast"]["forecasts"][0]["quantiles"]) == 23
    assert run.summary["rt"] == rt
    json.dumps([r.payload for r in InsightResult.objects.filter(run=run)], allow_nan=False)


def test_the_epicurve_nowcasts_results_still_to_come(computed: Epidemic) -> None:
    epi = _results(computed.run)["epicurve"]
    # A fifth of each day's results arrive the next day: the last day is incomplete on AS_OF.
    assert epi["incomplete_days"] >= 1
    assert epi["nowcast_median"][-1] >= epi["observed"][-1]
    assert epi["nowcast_upper"][-1] > epi["observed"][-1]
    # The curve the other analyses use is the nowcast's: the last week is counted as it will be.
    assert epi["last7_nowcast"] > epi["last7"]


def test_zone_counts_from_one_to_four_are_withheld(computed: Epidemic) -> None:
    epi_b = _results(computed.run, computed.cast.zone_b)["epicurve"]
    weekly = [w["cases"] for w in epi_b["weeks"]]
    assert None in weekly  # weeks with 1-4 cases
    assert all(v is None or v == 0 or v >= 5 for v in weekly)
    assert epi_b["last7"] is None or epi_b["last7"] == 0 or epi_b["last7"] >= 5
    spots = _results(computed.run)["hotspots"]
    b = next(z for z in spots["zones"] if z["code"] == "B")
    assert b["cases_recent"] is None
    assert b["rate"] is None
    assert b["smoothed_rate"] is None
    # Two zones cannot support a spatial test: said, not guessed.
    assert not spots["tested"]
    assert any("at least 5" in n for n in spots["notes"])


def test_demand_says_which_beds_are_not_on_record(computed: Epidemic) -> None:
    dem = _results(computed.run)["demand"]
    assert dem["pools"]["general"]["capacity"] == 300
    assert dem["pools"]["icu"]["occupied_reported"] == 35
    assert dem["pools"]["ventilator"]["capacity"] is None
    assert dem["pools"]["ventilator"]["run_out"] is None
    assert any("ventilator" in note for note in dem["notes"])


def test_scenarios_have_beds_under_each_rt(computed: Epidemic) -> None:
    sc = _results(computed.run)["scenarios"]
    assert [s["key"] for s in sc["scenarios"]] == ["current", "rt_1.5", "rt_1", "rt_0.8"]
    assert sc["change_on"] == "2021-04-26"
    lows = [s["cases_4w"]["median"] for s in sc["scenarios"][1:]]
    assert lows == sorted(lows, reverse=True)
    assert set(sc["scenarios"][0]["pools"]) == {"general", "icu", "ventilator"}


def test_rt_of_the_recorded_gurugram_series_matches_epiestim(cast: Cast) -> None:
    """The recorded series as the district's source: Rt equals EpiEstim's reference output."""
    services.load_historical_series(cast.district, "gurugram_daily.csv")
    services.configure_series_source(cast.district, SeriesSource.HISTORICAL)
    day = date(2021, 4, 15)
    run = services.compute_insight(cast.district, as_of=day, now=NOW)
    assert run.status == RunStatus.DONE, run.error
    with (EPI / "epiestim_reference" / "gurugram_parametric_mean4.7_sd2.9_weekly_R.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    start = date(2020, 4, 27)  # day 1 of the reference (the first difference)
    ref = next(r for r in rows if start + timedelta(days=int(r["t_end"]) - 1) == day)
    latest = run.summary["rt"]
    assert latest["mean"] == pytest.approx(float(ref["Mean(R)"]), abs=1e-3)
    assert latest["lower"] == pytest.approx(float(ref["Quantile.0.025(R)"]), abs=1e-3)
    assert run.source == SeriesSource.HISTORICAL
    assert any("gurugram_daily.csv" in n for n in run.summary["notes"])


def test_a_combined_source_counts_the_registry_from_the_switch_day(cast: Cast) -> None:
    services.load_historical_series(cast.district, "gurugram_daily.csv")
    switch = date(2021, 4, 10)
    services.configure_series_source(cast.district, SeriesSource.COMBINED, registry_from=switch)
    add_cases(cast.district, cast.zone_a, {switch + timedelta(days=i): 7 for i in range(5)})
    run = services.compute_insight(cast.district, as_of=switch + timedelta(days=4), now=NOW)
    epi = _results(run)["epicurve"]
    assert epi["observed"][-5:] == [7, 7, 7, 7, 7]
    assert epi["observed"][-6] > 100  # the recorded Gurugram count of 9 April


def test_fewer_days_than_a_window_is_explained_not_a_failure(cast: Cast) -> None:
    add_cases(cast.district, cast.zone_a, {AS_OF - timedelta(days=d): 3 for d in range(3)})
    run = services.compute_insight(cast.district, as_of=AS_OF, now=NOW)
    assert run.status == RunStatus.DONE
    district = _results(run)
    assert "too short" in district["rt"]["error"] or "at least" in district["rt"]["error"]
    assert "error" in district["forecast"]
    assert "error" in district["scenarios"]
    assert district["epicurve"]["last7"] == 9


def test_a_district_without_cases_gets_a_run_that_says_so(cast: Cast) -> None:
    run = services.compute_insight(cast.district, as_of=AS_OF, now=NOW)
    assert run.status == RunStatus.DONE
    assert _results(run)["rt"] == {"error": "no cases recorded up to this day"}
    assert _results(run, cast.zone_b)["rt"]["error"] == "no cases recorded in this zone"


def test_a_failing_analysis_marks_the_run_failed_and_keeps_the_last_good_one(
    computed: Epidemic, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(inputs: Any) -> Any:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(pipeline, "analyse", broken)
    failed = services.compute_insight(computed.cast.district, as_of=AS_OF, now=NOW)
    assert failed.status == RunStatus.FAILED
    assert "disk on fire" in failed.error
    assert services.latest_run(computed.cast.district.pk) == computed.run


def test_a_run_left_running_by_a_dead_worker_is_marked_failed(computed: Epidemic) -> None:
    stuck = InsightRun.objects.create(
        district=computed.cast.district, as_of=AS_OF, source="registry", trigger="schedule",
        started_at=NOW - timedelta(hours=2),
    )  # fmt: skip
    services.compute_insight(computed.cast.district, as_of=AS_OF, now=NOW)
    stuck.refresh_from_db()
    assert stuck.status == RunStatus.FAILED
    assert "did not finish" in stuck.error


def test_old_runs_are_pruned(epidemic: Cast, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(services, "KEEP_RUNS", 2)
    runs = [services.compute_insight(epidemic.district, as_of=AS_OF, now=NOW + timedelta(minutes=i)) for i in range(3)]
    kept = set(InsightRun.objects.values_list("pk", flat=True))
    assert kept == {runs[1].pk, runs[2].pk}
    assert not InsightResult.objects.filter(run=runs[0].pk).exists()


def test_every_run_is_audited(computed: Epidemic) -> None:
    entry = AuditEntry.objects.filter(target_type="insight.insightrun", target_id=str(computed.run.pk)).get()
    assert entry.action == "create"
    assert entry.changes["as_of"][1] == "2021-04-20"


def test_gathering_inputs_takes_the_same_queries_whatever_the_case_count(
    epidemic: Cast, django_assert_max_num_queries: Any
) -> None:
    with django_assert_max_num_queries(7):
        services.gather_inputs(epidemic.district, as_of=AS_OF, now=NOW)
    add_cases(epidemic.district, epidemic.zone_b, growing(60, 20, 1.1))
    with django_assert_max_num_queries(7):
        services.gather_inputs(epidemic.district, as_of=AS_OF, now=NOW)


def test_bad_demand_overrides_are_refused_by_the_form_and_ignored_by_the_job(epidemic: Cast) -> None:
    settings = InsightSettings(district=epidemic.district, demand_overrides={"icu": {"share": 3}})
    with pytest.raises(ValidationError) as err:
        settings.full_clean()
    assert "icu.share" in str(err.value.message_dict["demand_overrides"])
    settings.save()  # written past the form (a script): the job must still run
    run = services.compute_insight(epidemic.district, as_of=AS_OF, now=NOW)
    assert run.status == RunStatus.DONE
    assert any("demand overrides are invalid" in n for n in run.summary["notes"])


def test_district_overrides_reach_the_demand_model(epidemic: Cast) -> None:
    InsightSettings.objects.create(
        district=epidemic.district, demand_overrides={"icu": {"share": 0.05}, "oxygen_supply_tonnes_per_day": 2}
    )
    run = services.compute_insight(epidemic.district, as_of=AS_OF, now=NOW)
    dem = _results(run)["demand"]
    assert dem["params"]["icu"]["share"] == 0.05
    assert dem["oxygen"]["supply_tonnes"] == 2
    assert dem["oxygen"]["run_out"] is not None


def test_a_bad_history_file_is_refused_with_the_reason(cast: Cast, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("date,cases\n21/04/2021,5\n")
    with pytest.raises(services.InsightError, match="not an ISO date"):
        services.load_historical_series(cast.district, bad)
    with pytest.raises(services.InsightError, match="No such series file"):
        services.load_historical_series(cast.district, "nowhere.csv")
    with pytest.raises(services.InsightError, match="recorded series first"):
        services.configure_series_source(cast.district, SeriesSource.HISTORICAL)
    assert not HistoricalSeries.objects.exists()


def test_a_refresh_is_queued_once_while_a_run_is_in_progress(
    epidemic: Cast, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        assert services.request_refresh(epidemic.analyst)
    run = services.latest_run(epidemic.district.pk)
    assert run is not None
    assert run.trigger == RunTrigger.ON_DEMAND
    assert run.requested_by == epidemic.analyst
    InsightRun.objects.create(district=epidemic.district, as_of=AS_OF, source="registry", trigger="schedule",
                              started_at=run.started_at)  # fmt: skip
    assert services.request_refresh(epidemic.lead, now=run.started_at + timedelta(seconds=30)) is False
    with pytest.raises(PermissionDenied):
        services.request_refresh(epidemic.operator_a)


def test_districts_are_due_after_their_interval(computed: Epidemic) -> None:
    district = computed.cast.district
    assert district not in services.districts_due(now=computed.run.started_at + timedelta(minutes=30))
    assert district in services.districts_due(now=computed.run.started_at + timedelta(minutes=61))


def test_the_command_loads_a_history_and_computes(cast: Cast) -> None:
    out = StringIO()
    call_command(
        "insight_refresh", "--district", cast.district.code, "--history", "gurugram_daily.csv",
        "--as-of", "2021-05-01", "--json", stdout=out, stderr=StringIO(),
    )  # fmt: skip
    runs = json.loads(out.getvalue())["runs"]
    assert runs[0]["status"] == "done"
    assert runs[0]["as_of"] == "2021-05-01"
    assert runs[0]["summary"]["rt"]["mean"] > 0
    assert InsightSettings.objects.get(district=cast.district).source == SeriesSource.HISTORICAL


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--district", "atlantis"], "no district 'atlantis'"),
        (["--as-of", "20/04/2021"], "not a date"),
        (["--history", "gurugram_daily.csv"], "need --district"),
    ],
)
def test_the_command_refuses_bad_arguments(cast: Cast, args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        call_command("insight_refresh", *args, stdout=StringIO())


def test_the_background_task_computes_the_district(epidemic: Cast) -> None:
    from iccc.insight.tasks import refresh_insight_task

    result = refresh_insight_task.enqueue(epidemic.district.pk, as_of=AS_OF.isoformat())
    assert result.return_value is not None
    assert result.return_value["status"] == "done"
    assert InsightRun.objects.get().as_of == AS_OF


def test_beds_of_another_district_are_not_counted(computed: Epidemic) -> None:
    other = computed.cast.other_district_lead.district
    assert other is not None
    add_beds(other, general=(9999, 1))
    run = services.compute_insight(computed.cast.district, as_of=AS_OF, now=NOW)
    assert _results(run)["demand"]["pools"]["general"]["capacity"] == 300


def test_zone_results_are_kinds_per_zone(computed: Epidemic) -> None:
    rt = services.zone_results(computed.run, ResultKind.RT)
    assert set(rt) == {computed.cast.zone_a.pk, computed.cast.zone_b.pk}
    assert rt[computed.cast.zone_a.pk]["latest"]["mean"] > 1


def test_the_demo_replay_hook_loads_the_history_once_and_follows_the_calendar(
    cast: Cast, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        assert services.follow_replay(cast.district, date(2021, 4, 15))
    run = services.latest_run(cast.district.pk)
    assert run is not None
    assert run.as_of == date(2021, 4, 14)
    assert run.source == SeriesSource.HISTORICAL
    with django_capture_on_commit_callbacks(execute=True):
        assert services.follow_replay(cast.district, date(2021, 4, 15)) is False  # already as of that day
        assert services.follow_replay(cast.district, date(2021, 4, 16), queue=False)
    assert HistoricalSeries.objects.count() == 1
    assert services.latest_run(cast.district.pk).as_of == date(2021, 4, 15)  # type: ignore[union-attr]


def test_runs_are_visible_to_their_districts_analysts_and_leads_only(computed: Epidemic) -> None:
    cast = computed.cast
    for name in ("analyst", "lead"):
        assert list(InsightRun.objects.visible_to(getattr(cast, name))) == [computed.run]
    for name in ("operator_a", "doctor_a", "volunteer_a", "partner_staff", "facility_staff", "other_district_lead"):
        assert not InsightRun.objects.visible_to(getattr(cast, name)).exists(), name
    assert services.latest_run(cast.district.pk, user=cast.other_district_lead) is None
