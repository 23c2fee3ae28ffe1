from datetime import UTC, date, datetime

from iccc.core.time import local_today


def test_today_is_the_districts_calendar_day_not_utcs():
    # 01:00 IST on 29 Apr 2021 is still 28 Apr in UTC.
    assert local_today(datetime(2021, 4, 28, 19, 30, tzinfo=UTC)) == date(2021, 4, 29)
    assert local_today(datetime(2021, 4, 28, 18, 0, tzinfo=UTC)) == date(2021, 4, 28)
