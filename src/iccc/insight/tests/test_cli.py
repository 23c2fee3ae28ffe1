"""`iccc rt` and `iccc forecast run|evaluate`: JSON and tables, and clear errors for bad input."""

from __future__ import annotations

import csv
import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, ManagementUtility, call_command

EPI = Path(__file__).resolve().parents[2] / "data" / "epi"
REF = EPI / "epiestim_reference"


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_rt_json_reproduces_epiestim_with_1_based_windows() -> None:
    data = json.loads(run("rt", str(REF / "flu2009_incidence.csv"), "--si-mean", "2.6", "--si-sd", "1.5", "--json"))
    with (REF / "flu2009_parametric_mean2.6_sd1.5_weekly_R.csv").open(newline="") as fh:
        ref = list(csv.DictReader(fh))
    assert len(data["windows"]) == len(ref)
    first = data["windows"][0]
    assert set(first) >= {"t_start", "t_end", "mean", "std", "q025", "q05", "q25", "median", "q75", "q95", "q975"}
    for got, want in zip(data["windows"], ref, strict=True):
        assert got["t_start"] == int(want["t_start"])
        assert got["t_end"] == int(want["t_end"])
        assert got["date_end"] == want["date_end"]
        assert got["mean"] == pytest.approx(float(want["Mean(R)"]), rel=1e-6)
        assert got["q975"] == pytest.approx(float(want["Quantile.0.975(R)"]), rel=1e-6)
    assert any("imported" in note for note in data["notes"])


def test_rt_with_a_non_parametric_serial_interval_file() -> None:
    data = json.loads(
        run("rt", str(REF / "flu2009_incidence.csv"), "--si-file", str(REF / "flu2009_si_distr.csv"), "--json")
    )
    assert data["windows"][0]["mean"] == pytest.approx(1.735608909, rel=1e-6)


def test_rt_table_shows_the_window_end_dates() -> None:
    text = run("rt", str(EPI / "gurugram_daily.csv"), "--si-mean", "4.7", "--si-sd", "2.9", "--window", "14")
    assert "window ends" in text
    assert "2022-03-01" in text
    assert "2021-11-04: the row repeats" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--si-mean", "4.7"], "serial interval is needed"),
        (["--si-mean", "0.5", "--si-sd", "1"], "mean > 1"),
        (["--si-mean", "4.7", "--si-sd", "2.9", "--window", "0"], "at least one day"),
        (["--si-mean", "4.7", "--si-sd", "2.9", "--window", "900"], "too short for a 900-day window"),
        (["--si-mean", "4.7", "--si-sd", "2.9", "--si-file", "x.csv"], "not both"),
    ],
)
def test_rt_bad_options_are_clear_errors(args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        run("rt", str(EPI / "gurugram_daily.csv"), *args)


def test_rt_bad_file_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("date,cases\n2021-04-01,4\n01/04/2021,5\n")
    with pytest.raises(CommandError, match="line 3: date '01/04/2021' is not an ISO date"):
        run("rt", str(path), "--si-mean", "4.7", "--si-sd", "2.9")
    with pytest.raises(CommandError, match="no such file"):
        run("rt", str(tmp_path / "missing.csv"), "--si-mean", "4.7", "--si-sd", "2.9")


def test_forecast_run_json_is_in_hub_format() -> None:
    data = json.loads(run("forecast", "run", str(EPI / "gurugram_daily.csv"), "--as-of", "2021-04-24", "--json"))
    assert [f["horizon"] for f in data["forecasts"]] == [1, 2, 3, 4]
    assert [f["target_end_date"] for f in data["forecasts"]] == ["2021-05-01", "2021-05-08", "2021-05-15", "2021-05-22"]
    keys = list(data["forecasts"][0]["quantiles"])
    assert len(keys) == 23
    assert keys[0] == "0.01"
    assert keys[11] == "0.5"
    assert keys[-1] == "0.99"
    values = list(data["forecasts"][0]["quantiles"].values())
    assert values == sorted(values)
    assert data["notes"] == []  # the 2021-11-04 repair is after the forecast date


def test_forecast_run_table() -> None:
    text = run("forecast", "run", str(EPI / "gurugram_daily.csv"), "--as-of", "2021-04-24")
    assert "2021-05-22" in text
    assert "median" in text


def test_forecast_run_for_one_district_of_a_multi_district_file() -> None:
    data = json.loads(
        run(
            "forecast",
            "run",
            str(EPI / "haryana_districts_daily.csv"),
            "--district",
            "Nuh",
            "--as-of",
            "2021-05-01",
            "--json",
        )
    )
    assert data["forecasts"][0]["target_end_date"] == "2021-05-08"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--as-of", "24/04/2021"], "--as-of must be a date YYYY-MM-DD"),
        (["--as-of", "2020-05-01"], "a forecast needs at least 3"),
        (["--as-of", "2021-04-24", "--horizons", "0"], "between 1 and 12"),
    ],
)
def test_forecast_run_bad_options_are_clear_errors(args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        run("forecast", "run", str(EPI / "gurugram_daily.csv"), *args)


def test_forecast_evaluate_json_per_horizon() -> None:
    data = json.loads(run("forecast", "evaluate", str(EPI / "gurugram_daily.csv"), "--json"))
    assert [h["horizon"] for h in data["horizons"]] == [1, 2, 3, 4]
    for h in data["horizons"]:
        assert {"n", "wis", "baseline_wis", "relative_wis", "coverage_50", "coverage_95"} <= set(h)
        assert h["relative_wis"] == pytest.approx(h["wis"] / h["baseline_wis"])


def test_forecast_evaluate_a_multi_district_file(tmp_path: Path) -> None:
    lines = (EPI / "haryana_districts_daily.csv").read_text().splitlines()
    keep = [lines[0]] + [
        line for line in lines[1:] if line.split(",")[1] in ("Nuh", "Palwal", "Unknown") and line < "2021-03"
    ]
    path = tmp_path / "two.csv"
    path.write_text("\n".join(keep) + "\n")
    data = json.loads(run("forecast", "evaluate", str(path), "--json"))
    assert data["districts"] == ["Nuh", "Palwal"]  # the pseudo-district is dropped
    assert len(data["horizons"]) == 4
    mean_h1 = (data["per_district"]["Nuh"][0]["relative_wis"] + data["per_district"]["Palwal"][0]["relative_wis"]) / 2
    assert data["horizons"][0]["relative_wis"] == pytest.approx(mean_h1)
    text = run("forecast", "evaluate", str(path), "--district", "Nuh")
    assert "Rolling-origin evaluation: Nuh" in text
    assert "relative" in text


def test_forecast_evaluate_too_short_series_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "short.csv"
    path.write_text("date,cases\n" + "".join(f"2021-04-{d:02d},{d}\n" for d in range(1, 29)))
    with pytest.raises(CommandError, match="too few complete weeks"):
        run("forecast", "evaluate", str(path))


@pytest.mark.parametrize(
    "argv",
    [
        ["forecast", "run", "{empty}", "--as-of", "2021-04-24"],
        ["forecast", "evaluate", "{empty}"],
        ["rt", "{empty}", "--si-mean", "4.7", "--si-sd", "2.9"],
    ],
)
def test_bad_input_exits_non_zero_without_a_traceback(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    # The same path as the `iccc` console command: argument parsing, CommandError → message + exit code.
    utility = ManagementUtility(["iccc", *[a.replace("{empty}", str(empty)) for a in argv]])
    with pytest.raises(SystemExit) as exit_info:
        utility.execute()
    assert exit_info.value.code != 0
    err = capsys.readouterr().err
    assert "the file is empty" in err
    assert "Traceback" not in err
