"""Reading and cleaning daily case series: every bad input gets a clear message or a documented treatment."""

from __future__ import annotations

import io
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest

from iccc.insight.epi.series import (
    DailySeries,
    SeriesError,
    daily_from_counts,
    read_district_csv,
    read_raw_csv,
    read_series_csv,
)

EPI = Path(__file__).resolve().parents[2] / "data" / "epi"


def csv_text(text: str) -> io.StringIO:
    return io.StringIO(text.strip() + "\n")


def test_daily_file_is_read_as_incidence() -> None:
    s = read_series_csv(csv_text("date,cases\n2021-04-01,5\n2021-04-02,7\n2021-04-03,0"))
    assert s.start == date(2021, 4, 1)
    assert s.end == date(2021, 4, 3)
    assert s.cases.tolist() == [5.0, 7.0, 0.0]
    assert s.dates() == [date(2021, 4, 1), date(2021, 4, 2), date(2021, 4, 3)]
    assert s.notes == ()


def test_cumulative_file_is_differenced_and_its_first_row_gives_no_day() -> None:
    s = read_series_csv(csv_text("date,confirmed,recovered\n2021-04-01,100,5\n2021-04-02,110,6\n2021-04-03,125,8"))
    assert s.start == date(2021, 4, 2)
    assert s.cases.tolist() == [10.0, 15.0]


def test_epiestim_style_header_is_accepted() -> None:
    s = read_series_csv(EPI / "epiestim_reference" / "flu2009_incidence.csv")
    assert len(s) == 32
    assert s.start == date(2009, 4, 27)


def test_gap_in_cumulative_series_is_spread_evenly_and_noted() -> None:
    s = read_series_csv(csv_text("date,confirmed\n2021-04-01,100\n2021-04-02,110\n2021-04-05,140"))
    assert s.cases.tolist() == [10.0, 10.0, 10.0, 10.0]
    assert any("2021-04-03 … 2021-04-04" in n and "spread evenly" in n for n in s.notes)


def test_gap_in_daily_series_is_interpolated_and_noted() -> None:
    s = read_series_csv(csv_text("date,cases\n2021-04-01,10\n2021-04-03,20"))
    assert s.cases.tolist() == [10.0, 15.0, 20.0]
    assert any(n.startswith("2021-04-02") and "interpolation" in n for n in s.notes)


def test_blank_count_is_a_missing_day_not_a_nan() -> None:
    s = read_series_csv(csv_text("date,confirmed\n2021-04-01,100\n2021-04-02,\n2021-04-03,120"))
    assert np.all(np.isfinite(s.cases))
    assert s.cases.tolist() == [10.0, 10.0]
    assert any(n.startswith("2021-04-02") for n in s.notes)


def test_negative_daily_change_is_taken_back_from_earlier_days_keeping_the_total() -> None:
    # The cumulative count is revised down by 30 on 04-06 (a correction).
    s = read_series_csv(
        csv_text(
            "date,confirmed\n2021-04-01,0\n2021-04-02,20\n2021-04-03,40\n2021-04-04,60\n2021-04-05,80\n2021-04-06,50"
        )
    )
    assert np.all(s.cases >= 0)
    assert s.cases.sum() == pytest.approx(50.0)
    assert s.cases[-1] == 0.0
    assert any("2021-04-06: negative change of -30" in n for n in s.notes)


def test_negative_daily_count_in_incidence_file_is_a_correction_too() -> None:
    s = read_series_csv(csv_text("date,cases\n2021-04-01,10\n2021-04-02,10\n2021-04-03,-4"))
    assert s.cases.tolist() == pytest.approx([8.0, 8.0, 0.0])
    assert any("negative change of -4" in n for n in s.notes)


def test_zero_case_stretch_is_kept_as_zeros() -> None:
    s = read_series_csv(csv_text("date,cases\n2021-04-01,0\n2021-04-02,0\n2021-04-03,0\n2021-04-04,3"))
    assert s.cases.tolist() == [0.0, 0.0, 0.0, 3.0]
    assert s.notes == ()


@pytest.mark.parametrize("bad", ["26/04/2021", "2021-4-26", "April 26", "20210426"])
def test_non_iso_date_names_the_line(bad: str) -> None:
    with pytest.raises(SeriesError, match=r"line 3: date .* is not an ISO date \(YYYY-MM-DD\)"):
        read_series_csv(csv_text(f"date,cases\n2021-04-25,1\n{bad},2"))


def test_impossible_calendar_date_names_the_line() -> None:
    with pytest.raises(SeriesError, match="line 2: date '2021-02-30' is not a real calendar date"):
        read_series_csv(csv_text("date,cases\n2021-02-30,1"))


@pytest.mark.parametrize("bad", ["ten", "1,2", "inf", "1_000", "nan5"])
def test_non_numeric_count_names_the_line(bad: str) -> None:
    text = f'date,cases\n2021-04-25,1\n2021-04-26,"{bad}"'
    with pytest.raises(SeriesError, match=r"line 3: cases .* is not a (finite )?number"):
        read_series_csv(csv_text(text))


@pytest.mark.parametrize("text", ["", "\n\n", "   "])
def test_empty_file_gives_a_clear_message(text: str) -> None:
    with pytest.raises(SeriesError, match="the file is empty"):
        read_series_csv(io.StringIO(text))


def test_header_without_rows_gives_a_clear_message() -> None:
    with pytest.raises(SeriesError, match="header but no data rows"):
        read_series_csv(csv_text("date,cases"))


def test_missing_columns_are_named() -> None:
    with pytest.raises(SeriesError, match="no count column"):
        read_series_csv(csv_text("date,deaths\n2021-04-01,1"))
    with pytest.raises(SeriesError, match="no date column"):
        read_series_csv(csv_text("day,cases\n2021-04-01,1"))


def test_short_row_names_the_line() -> None:
    with pytest.raises(SeriesError, match="line 3: expected 2 columns, found 1"):
        read_series_csv(csv_text("date,cases\n2021-04-01,1\n2021-04-02"))


def test_conflicting_duplicate_dates_name_both_lines() -> None:
    with pytest.raises(SeriesError, match=r"line 3: date 2021-04-01 appears twice \(line 2\)"):
        read_series_csv(csv_text("date,cases\n2021-04-01,1\n2021-04-01,2"))


def test_identical_duplicate_row_is_dropped_with_a_note() -> None:
    s = read_series_csv(csv_text("date,cases\n2021-04-01,1\n2021-04-01,1\n2021-04-02,2"))
    assert s.cases.tolist() == [1.0, 2.0]
    assert any("duplicate row" in n for n in s.notes)


def test_rows_out_of_order_are_sorted_with_a_note() -> None:
    s = read_series_csv(csv_text("date,cases\n2021-04-02,2\n2021-04-01,1"))
    assert s.cases.tolist() == [1.0, 2.0]
    assert any("sorted" in n for n in s.notes)


def test_cumulative_series_of_one_row_is_refused() -> None:
    with pytest.raises(SeriesError, match="at least two days"):
        read_series_csv(csv_text("date,confirmed\n2021-04-01,5"))


def test_missing_file_is_a_series_error(tmp_path: Path) -> None:
    with pytest.raises(SeriesError, match="no such file"):
        read_series_csv(tmp_path / "nope.csv")


def test_non_utf8_file_is_a_series_error(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes(b"date,cases\n2021-04-01,\xff\xfe1\n")
    with pytest.raises(SeriesError, match="not UTF-8"):
        read_series_csv(path)


def test_gurugram_diwali_repeated_row_shares_its_cases_with_the_next_day() -> None:
    s = read_series_csv(EPI / "gurugram_daily.csv")
    diwali = s.index_of(date(2021, 11, 4))
    # Raw differences: 0 on 11-04 and 12 on 11-05; the repeated row was a missed report.
    assert s.cases[diwali] == pytest.approx(6.0)
    assert s.cases[diwali + 1] == pytest.approx(6.0)
    assert any(n.startswith("2021-11-04: the row repeats the previous day") for n in s.notes)
    assert len(s) == 674


def test_a_repeated_row_on_a_quiet_day_is_left_alone() -> None:
    # 16 cases, then a day with none, then 3: the next day does not carry two days' worth.
    s = read_series_csv(
        csv_text("date,confirmed,recovered\n2020-05-08,126,51\n2020-05-09,142,51\n2020-05-10,142,51\n2020-05-11,145,51")
    )
    assert s.cases.tolist() == [16.0, 0.0, 3.0]
    assert s.notes == ()


def test_series_as_known_on_a_day_ignores_later_corrections() -> None:
    text = "date,confirmed\n2021-04-01,0\n2021-04-02,20\n2021-04-03,40\n2021-04-04,10"
    raw = read_raw_csv(csv_text(text))
    assert raw.clean(until=date(2021, 4, 3)).cases.tolist() == [20.0, 20.0]
    assert raw.clean().cases[:2].sum() == pytest.approx(10.0)  # the correction reached back


def test_until_keeps_only_notes_about_earlier_days() -> None:
    s = read_series_csv(EPI / "gurugram_daily.csv")
    assert s.until(date(2021, 4, 30)).notes == ()
    assert s.until(date(2021, 12, 1)).notes == s.notes


def test_district_file_needs_a_district_and_drops_pseudo_districts() -> None:
    text = (
        "date,district,confirmed\n2021-04-01,A,1\n2021-04-02,A,3\n2021-04-01,Unknown,5\n2021-04-02,Unknown,9\n"
        "2021-04-01,B,0\n2021-04-02,B,2"
    )
    with pytest.raises(SeriesError, match="choose one district"):
        read_series_csv(csv_text(text))
    assert read_series_csv(csv_text(text), district="B").cases.tolist() == [2.0]
    assert sorted(read_district_csv(csv_text(text))) == ["A", "B"]
    with pytest.raises(SeriesError, match="no rows for district 'C'"):
        read_series_csv(csv_text(text), district="C")


def test_haryana_districts_are_all_readable_without_nan() -> None:
    districts = read_district_csv(EPI / "haryana_districts_daily.csv")
    assert len(districts) == 22
    assert not {"Italians", "Foreign Evacuees", "Unknown"} & set(districts)
    for s in districts.values():
        assert np.all(np.isfinite(s.cases))
        assert np.all(s.cases >= 0)
        assert s.end == date(2022, 3, 1)


def test_daily_series_refuses_nan_and_negative_values() -> None:
    with pytest.raises(SeriesError, match="NaN"):
        DailySeries(date(2021, 1, 1), np.array([1.0, np.nan]))
    with pytest.raises(SeriesError, match="negative"):
        DailySeries(date(2021, 1, 1), np.array([1.0, -1.0]))


def test_daily_from_counts_builds_from_python_values() -> None:
    days = [date(2021, 1, 1) + timedelta(days=i) for i in range(3)]
    s = daily_from_counts(days, [10, 12, 15], cumulative=True)
    assert s.start == date(2021, 1, 2)
    assert s.cases.tolist() == [2.0, 3.0]
    with pytest.raises(SeriesError, match="empty"):
        daily_from_counts([], [])
    with pytest.raises(SeriesError, match="cannot be negative"):
        daily_from_counts(days, [1, -1, 2], cumulative=True)
