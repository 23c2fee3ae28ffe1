"""`iccc seed-demo`: everything the demo needs, and nothing twice."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from iccc.accounts.models import Organisation, Role, User
from iccc.capacity.models import BedCapacity, Facility
from iccc.core.models import AuditEntry, Event
from iccc.demo.services import DEMO_PASSWORD, DEMO_USERS, OPERATOR1_ZONES, demo_logins, format_logins, seed_demo
from iccc.geo.models import District, Zone
from iccc.registry.models import Case

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_zone_index() -> None:
    from iccc.geo import index

    index.invalidate()


def counts() -> dict[str, int]:
    out = {
        m.__name__: m.objects.count() for m in (District, Zone, Organisation, User, Facility, BedCapacity, Case, Event)
    }
    # The geo service records every load of a district, even one that changes nothing.
    out["AuditEntry"] = AuditEntry.objects.exclude(target_type="geo.district", action="import").count()
    return out


def test_seeding_twice_yields_the_same_counts() -> None:
    first = seed_demo(backlog_days=2)
    after_first = counts()
    second = seed_demo(backlog_days=2)
    assert counts() == after_first
    assert first.backlog_cases > 0
    assert second.backlog_cases == 0
    assert (second.users_created, second.organisations_created) == (0, 0)


def test_the_demo_has_the_agencies_partners_and_a_hospital_per_facility() -> None:
    seed_demo(backlog_days=0)
    names = set(Organisation.objects.values_list("name", flat=True))
    for name in (
        "Deputy Commissioner's Office Gurugram",
        "GMDA – Gurugram Metropolitan Development Authority",  # noqa: RUF001
        "MCG – Municipal Corporation of Gurugram",  # noqa: RUF001
        "WhatsApp",
        "MyUpchar",
        "Deepstrat",
        "The Dialogue",
        "Meddo",
        "Gurugram Citizen Volunteers",
    ):
        assert name in names
    hospitals = Facility.objects.filter(kind="hospital")
    assert hospitals.count() > 19
    assert not hospitals.filter(organisation__isnull=True).exists()
    # The demo opens with fresh bed figures, not "stale since 2021".
    assert not BedCapacity.objects.filter(updated_at__year=2021).exists()


def test_a_demo_user_for_every_role_with_their_scope() -> None:
    seed_demo(backlog_days=0)
    users = {u.username: u for u in User.objects.filter(username__in=[d.username for d in DEMO_USERS])}
    assert {u.role for u in users.values()} == set(Role)
    op1 = set(users["operator1"].zones.values_list("code", flat=True))
    op2 = set(users["operator2"].zones.values_list("code", flat=True))
    assert op1 == set(OPERATOR1_ZONES)
    assert not op1 & op2
    assert op1 | op2 == set(Zone.objects.values_list("code", flat=True))
    assert users["volunteer1"].zones.count() == 1
    assert users["partner1"].organisation.name == "MyUpchar"
    assert users["facility1"].organisation.facilities.get().name == "ESIC Hospital, Sector 9A"
    assert not any(u.must_change_password for u in users.values())
    assert Client().login(username="operator1", password=DEMO_PASSWORD)


def test_the_backlog_replays_the_start_of_the_wave() -> None:
    summary = seed_demo(backlog_days=3)
    # 1-3 April 2021: 381 + 398 + 606 real cases; at 0.05 about 69 results (a few are bad rows).
    assert 66 <= summary.backlog_cases <= 70
    # Dated the days they arrived (the last three days), not in 2021.
    today = timezone.localdate(timezone=ZoneInfo("Asia/Kolkata"))
    recent = Case.objects.filter(result_date__range=(today - timedelta(days=3), today)).count()
    assert recent == Case.objects.count() >= 60


def test_the_logins_table_names_every_user_and_says_the_password_is_for_the_demo() -> None:
    rows = demo_logins()
    assert [r["username"] for r in rows] == [u.username for u in DEMO_USERS]
    text = format_logins("http://localhost:8000/")
    assert "http://localhost:8000/" in text
    assert DEMO_PASSWORD in text
    assert "demo password" in text
    assert all(r["try"] for r in rows)


def test_the_seed_command_prints_the_sign_ins(capsys: Any) -> None:
    call_command("seed_demo", "--backlog-days", "0")
    out = capsys.readouterr().out
    assert "operator1" in out
    assert "facility1" in out
