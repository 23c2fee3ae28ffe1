"""The importer's idea of "today" is the district's calendar day, not UTC's."""

from datetime import UTC, date, datetime

from iccc.registry.models import Case
from iccc.registry.services import import_records
from iccc.registry.synthetic import generate_rows


def test_a_result_dated_today_in_india_is_accepted_before_utc_midnight(placed):
    # 29 Apr 2021, 01:00 IST is still 28 Apr in UTC: the lab's "29 Apr" is today, not the future.
    arrived = datetime(2021, 4, 28, 19, 30, tzinfo=UTC)
    rows = [r for r in generate_rows(20, seed=7, result_date=date(2021, 4, 29)) if r]
    summary = import_records(rows, district=placed.district, actor=None, source="test", received_at=arrived)
    future = [e for e in summary.errors if "future" in e["reason"]]
    assert future == []
    assert Case.objects.filter(result_date=date(2021, 4, 29)).count() == summary.new_cases > 0
